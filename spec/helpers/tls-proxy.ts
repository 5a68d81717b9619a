// A TLS-terminating proxy in front of a gearmand port, for TLS specs: the Debian gearmand has no
// TLS code (see shared/reference/gearmand-how-to-run.md), so TLS clients and workers connect to
// this proxy, which forwards the plaintext to gearmand on loopback. The CA and the server
// certificate (for 127.0.0.1 and localhost) are made with openssl in a temporary directory, which
// close() removes.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A running proxy. */
export interface TlsProxy {
  /** Where the proxy listens (TLS). */
  host: '127.0.0.1';
  port: number;
  /** The test CA certificate (PEM): trust it with `tls: { ca }`. */
  ca: Buffer;
  /** TLS sessions established (handshake done) so far. */
  secureConnections: number;
  /** Handshakes that failed (e.g. a client that did not trust the CA). */
  tlsErrors: number;
  /** Sockets currently open through the proxy. */
  readonly openConnections: number;
  /** Protocol of the last session, e.g. `'TLSv1.3'`. */
  lastProtocol: string | null;
  /** Drops every open connection (both sides), as a server restart would; keeps listening. */
  dropConnections(): void;
  /** Stops listening, drops every open connection and removes the certificates. */
  close(): Promise<void>;
}

/** Makes a throwaway CA and a server certificate for localhost / 127.0.0.1 in `dir`. */
async function makeCertificates(dir: string): Promise<{ ca: Buffer; key: Buffer; cert: Buffer }> {
  const p = (name: string): string => join(dir, name);
  const openssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  await openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', p('ca.key'));
  await openssl('req', '-x509', '-new', '-key', p('ca.key'), '-sha256', '-days', '2', '-subj', '/CN=gearman-ts test CA', '-out', p('ca.pem'));
  await writeFile(
    p('server_ext.cnf'),
    'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n',
  );
  await openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', p('server.key'));
  await openssl('req', '-new', '-key', p('server.key'), '-subj', '/CN=localhost', '-out', p('server.req'));
  await openssl(
    'x509', '-req', '-in', p('server.req'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial',
    '-out', p('server.pem'), '-days', '2', '-sha256', '-extfile', p('server_ext.cnf'),
  );
  const [ca, key, cert] = await Promise.all([readFile(p('ca.pem')), readFile(p('server.key')), readFile(p('server.pem'))]);
  return { ca, key, cert };
}

/**
 * Starts a TLS server on a free loopback port that forwards every connection to
 * `targetHost:targetPort` in plaintext.
 */
export async function startTlsProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TlsProxy> {
  const dir = await mkdtemp(join(tmpdir(), 'gearman-tls-'));
  let certs: { ca: Buffer; key: Buffer; cert: Buffer };
  try {
    certs = await makeCertificates(dir);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  const server = tls.createServer({ key: certs.key, cert: certs.cert }, (secure) => {
    proxy.secureConnections++;
    proxy.lastProtocol = secure.getProtocol();
    track(secure);
    const upstream = net.connect(targetPort, targetHost);
    track(upstream);
    secure.pipe(upstream);
    upstream.pipe(secure);
    secure.on('error', () => upstream.destroy());
    upstream.on('error', () => secure.destroy());
    secure.on('close', () => upstream.destroy());
    upstream.on('close', () => secure.destroy());
  });
  server.on('tlsClientError', (_err, socket) => {
    proxy.tlsErrors++;
    socket.destroy();
  });
  server.on('connection', track);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const proxy: TlsProxy = {
    host: '127.0.0.1',
    port: (server.address() as net.AddressInfo).port,
    ca: certs.ca,
    secureConnections: 0,
    tlsErrors: 0,
    get openConnections() {
      return sockets.size;
    },
    lastProtocol: null,
    dropConnections() {
      for (const socket of sockets) socket.destroy();
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
      await rm(dir, { recursive: true, force: true });
    },
  };
  return proxy;
}
