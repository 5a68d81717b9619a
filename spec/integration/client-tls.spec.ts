// TLS host entries for the client, through a TLS-terminating proxy in front of gearmand (the
// Debian gearmand speaks plaintext only).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GearmanClient, JOB_COMPLETE, ServerUnavailable } from '../../lib/index.js';
import { sharedHosts, sharedPort, taskName, until } from '../helpers/env.js';
import { startTlsProxy, type TlsProxy } from '../helpers/tls-proxy.js';
import { echo, startWorker, type TestWorker } from '../helpers/workers.js';

describe('client over TLS', () => {
  const task = taskName('tls');
  let proxy: TlsProxy;
  let worker: TestWorker;

  beforeAll(async () => {
    proxy = await startTlsProxy(sharedPort());
    worker = startWorker(sharedHosts(), { [task]: echo });
  });
  afterAll(async () => {
    await worker.stop();
    await proxy.close();
  });

  it('submits jobs through a TLS host entry that trusts the server certificate', async () => {
    const client = new GearmanClient([{ host: '127.0.0.1', port: proxy.port, tls: { ca: proxy.ca } }]);
    try {
      const before = proxy.secureConnections;
      const request = await client.submitJob(task, 'over tls');
      expect(request.state).toBe(JOB_COMPLETE);
      expect(String(request.result)).toBe('over tls');
      const requests = await client.submitMultipleJobs([1, 2, 3].map((i) => ({ task, data: `t${i}` })));
      expect(requests.map((r) => String(r.result))).toEqual(['t1', 't2', 't3']);
      expect(proxy.secureConnections).toBe(before + 1);
      expect(proxy.lastProtocol).toBe('TLSv1.3');
    } finally {
      client.shutdown();
    }
  });

  it('checks the host name: localhost matches the certificate too', async () => {
    const client = new GearmanClient([{ host: 'localhost', port: proxy.port, tls: { ca: proxy.ca } }]);
    try {
      const request = await client.submitJob(task, 'by name');
      expect(String(request.result)).toBe('by name');
    } finally {
      client.shutdown();
    }
  });

  it('refuses a server it cannot verify, and never falls back to plaintext', async () => {
    const client = new GearmanClient([{ host: '127.0.0.1', port: proxy.port, tls: true }]);
    const errorsBefore = proxy.tlsErrors;
    try {
      const err = await client.submitJob(task, 'x').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ServerUnavailable);
      expect((err as Error).message).toContain(`127.0.0.1:${proxy.port}`);
      expect((err as Error).message).toMatch(/certificate/i);
      // The proxy saw a failed handshake, and no plaintext Gearman traffic reached gearmand.
      await until(() => proxy.tlsErrors > errorsBefore);
    } finally {
      client.shutdown();
    }
  });

  it('a TLS entry against the plaintext port fails instead of speaking plaintext', async () => {
    const client = new GearmanClient([{ host: '127.0.0.1', port: sharedPort(), tls: { ca: proxy.ca } }], { connectTimeoutMs: 2000 });
    try {
      await expect(client.submitJob(task, 'x')).rejects.toBeInstanceOf(ServerUnavailable);
    } finally {
      client.shutdown();
    }
  });
});
