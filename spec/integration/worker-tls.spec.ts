// A worker whose host entry is TLS, through a TLS-terminating proxy in front of the shared gearmand
// (the Debian gearmand has no TLS of its own). The certificates are made by the helper with
// openssl in a temporary directory.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GearmanClient, GearmanWorker, JOB_COMPLETE, type Logger } from '../../lib/index.js';
import { startTlsProxy, type TlsProxy } from '../helpers/tls-proxy.js';
import { sharedHosts, sharedPort, taskName, until } from '../helpers/env.js';

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, debug() {}, info() {}, warn: (m: string) => void warnings.push(m), error() {} };
}

let proxy: TlsProxy;
let client: GearmanClient;

beforeAll(async () => {
  proxy = await startTlsProxy(sharedPort());
  client = new GearmanClient(sharedHosts());
});

afterAll(async () => {
  client?.shutdown();
  await proxy?.close();
});

describe('GearmanWorker over TLS', () => {
  it('serves jobs through a TLS connection that verifies the server against the CA, and reconnects over TLS', async () => {
    const task = taskName('tls');
    const logger = recordingLogger();
    const worker = new GearmanWorker([{ host: '127.0.0.1', port: proxy.port, tls: { ca: proxy.ca } }], { logger, retryStrategy: () => 20 });
    worker.setClientId('tls-worker');
    worker.registerTask(task, (_w, job) => `secure:${String(job.data)}`);
    const sessionsBefore = proxy.secureConnections;
    const working = worker.work();
    try {
      const request = await client.submitJob(task, 'hello', { pollTimeout: 10 });
      expect(request.state).toBe(JOB_COMPLETE);
      expect(String(request.result)).toBe('secure:hello');
      expect(proxy.secureConnections).toBe(sessionsBefore + 1);
      expect(proxy.lastProtocol).toMatch(/^TLSv1\.[23]$/);
      expect(worker.connectionList[0]!.socket?.constructor.name).toBe('TLSSocket');

      // The TLS connection drops (as in a proxy or server restart): a new TLS session, served again.
      proxy.dropConnections();
      await until(() => proxy.secureConnections === sessionsBefore + 2);
      const again = await client.submitJob(task, 'again', { pollTimeout: 10 });
      expect(again.state).toBe(JOB_COMPLETE);
      expect(String(again.result)).toBe('secure:again');
      expect(logger.warnings.join('\n')).toMatch(/lost its connection/);
    } finally {
      worker.shutdown();
      await working;
    }
  });

  it('refuses a server certificate it cannot verify, and keeps retrying instead of ending work()', async () => {
    const worker = new GearmanWorker([{ host: '127.0.0.1', port: proxy.port, tls: true }], { logger: recordingLogger(), retryStrategy: () => 20 });
    worker.registerTask(taskName('untrusted'), () => '');
    const errorsBefore = proxy.tlsErrors;
    let settled = false;
    const working = worker.work().finally(() => (settled = true));
    try {
      await until(() => proxy.tlsErrors >= errorsBefore + 2);
      const connection = worker.connectionList[0]!;
      expect(connection.connected).toBe(false);
      expect(connection.lastError?.message).toMatch(/certificate/);
      expect(settled).toBe(false);
    } finally {
      worker.shutdown();
      await working;
    }
  });
});
