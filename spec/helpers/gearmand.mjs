// Starts and stops a private gearmand (the C server from Debian's gearman-job-server) on a free
// loopback port. Used by the integration specs' globalSetup, by specs that kill or restart their
// own server, by examples/with-gearmand.mjs and by the benchmark. Plain ESM so that all of them
// can import it without a build step.
//
// With GEARMAN_TEST_SERVER=embedded, startGearmand() starts the embedded GearmanServer instead, in
// its own process (spec/helpers/embedded-server.mjs), with the same shape: a port, a pid to signal,
// a log. So every integration spec runs against either server unchanged.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const EMBEDDED_SCRIPT = fileURLToPath(new URL('./embedded-server.mjs', import.meta.url));

/**
 * Which server the specs run against: 'embedded' or 'gearmand' (GEARMAN_TEST_SERVER, default
 * gearmand).
 * @returns {'embedded' | 'gearmand'}
 */
export function testServerKind() {
  return process.env.GEARMAN_TEST_SERVER === 'embedded' ? 'embedded' : 'gearmand';
}

/**
 * The C gearmand's path if it is installed (GEARMAND overrides the search), else undefined.
 * @returns {string | undefined}
 */
export function findGearmand() {
  try {
    const path = gearmandPath();
    return existsSync(path) ? path : undefined;
  } catch {
    return undefined;
  }
}

const CANDIDATES = ['/usr/sbin/gearmand', '/usr/local/sbin/gearmand'];

/**
 * Path of the C gearmand. The Perl `gearman-server` package installs another `gearmand` in
 * /usr/bin, so a bare `gearmand` on PATH is not trusted.
 * @returns {string}
 */
export function gearmandPath() {
  if (process.env.GEARMAND) return process.env.GEARMAND;
  for (const path of CANDIDATES) if (existsSync(path)) return path;
  try {
    const listed = execFileSync('dpkg', ['-L', 'gearman-job-server'], { encoding: 'utf8' });
    const found = listed.split('\n').find((line) => /bin\/gearmand$/.test(line));
    if (found) return found;
  } catch {
    // dpkg missing or package not installed: fall through
  }
  throw new Error(
    'gearmand (the C server) was not found. Install it with: sudo apt-get install -y gearman-job-server gearman-tools ' +
      '(or set GEARMAND=/path/to/gearmand)',
  );
}

/**
 * A port that was free a moment ago on 127.0.0.1.
 * @returns {Promise<number>}
 */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {net.AddressInfo} */ (server.address());
      server.close(() => resolve(port));
    });
  });
}

/**
 * Sends one admin line and resolves with the first line of the answer, or null.
 * @param {number} port
 * @param {string} line
 * @param {number} [timeoutMs]
 * @returns {Promise<string | null>}
 */
export function adminLine(port, line, timeoutMs = 500) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let buf = '';
    const done = (value) => {
      socket.destroy();
      resolve(value);
    };
    socket.setTimeout(timeoutMs, () => done(null));
    socket.on('connect', () => socket.write(line + '\r\n'));
    socket.on('data', (d) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl !== -1) done(buf.slice(0, nl).replace(/\r$/, ''));
    });
    socket.on('error', () => done(null));
  });
}

/**
 * @typedef {object} Gearmand
 * @property {number} port
 * @property {string} host  '127.0.0.1:<port>'
 * @property {number} pid
 * @property {string} dir   its run directory (log file: dir/gearmand.log)
 * @property {string} version
 * @property {import('node:child_process').ChildProcess} child
 * @property {() => Promise<void>} stop  SIGTERM, then SIGKILL after 3 s
 * @property {() => string} log
 */

/**
 * Starts gearmand on 127.0.0.1 and waits until it answers `version` (the embedded server instead
 * under GEARMAN_TEST_SERVER=embedded, unless `server` says which).
 * @param {{ port?: number, args?: string[], threads?: number, server?: 'gearmand' | 'embedded' }} [options]
 * @returns {Promise<Gearmand>}
 */
export async function startGearmand(options = {}) {
  if ((options.server ?? testServerKind()) === 'embedded') return startEmbedded(options);
  const bin = gearmandPath();
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'gearmand-'));
  const child = spawn(
    bin,
    [
      '--listen=127.0.0.1',
      `--port=${port}`,
      `--threads=${options.threads ?? 4}`,
      '--config-file=/dev/null',
      `--log-file=${join(dir, 'gearmand.log')}`,
      '--verbose=INFO',
      `--pid-file=${join(dir, 'gearmand.pid')}`,
      ...(options.args ?? []),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const log = () => {
    try {
      return readFileSync(join(dir, 'gearmand.log'), 'utf8');
    } catch {
      return '';
    }
  };
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`gearmand exited with status ${child.exitCode} on port ${port}: ${stderr}${log()}`);
    }
    const reply = await adminLine(port, 'version');
    if (reply?.startsWith('OK ')) {
      return { port, host: `127.0.0.1:${port}`, pid: /** @type {number} */ (child.pid), dir, version: reply.slice(3), child, stop, log };
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`gearmand did not answer on 127.0.0.1:${port} within 10 s: ${stderr}${log()}`);
}

/**
 * Starts the embedded server in its own process, as startGearmand does gearmand (dist/ must be
 * built). gearmand options with a counterpart (--job-retries, --exceptions, --job-handle-prefix)
 * are passed on.
 * @param {{ port?: number, args?: string[] }} [options]
 * @returns {Promise<Gearmand>}
 */
export async function startEmbedded(options = {}) {
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'gearman-ts-server-'));
  const child = spawn(process.execPath, [EMBEDDED_SCRIPT, `--port=${port}`, ...(options.args ?? [])], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGCONT');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the embedded server exited with status ${child.exitCode} on port ${port}: ${stderr}`);
    const reply = await adminLine(port, 'version');
    if (reply?.startsWith('OK ')) {
      return { port, host: `127.0.0.1:${port}`, pid: /** @type {number} */ (child.pid), dir, version: reply.slice(3), child, stop, log: () => stderr };
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`the embedded server did not answer on 127.0.0.1:${port} within 20 s: ${stderr}`);
}
