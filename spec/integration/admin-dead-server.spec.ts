// A dead server: ServerUnavailable naming host:port, whether gearmand was stopped before the call,
// between calls, or while a call waited; and the admin client works again once gearmand is back.
import { afterEach, describe, expect, it } from 'vitest';
import { GearmanAdminClient, ServerUnavailable } from '../../lib/index.js';
import { startGearmand, type Gearmand } from '../helpers/gearmand.mjs';
import { killGearmand, pauseGearmand } from '../helpers/gearmand-control.mjs';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function started(port?: number): Promise<Gearmand> {
  const server = await startGearmand(port === undefined ? {} : { port });
  cleanups.push(() => server.stop());
  return server;
}

function admin(host: string): GearmanAdminClient {
  const client = new GearmanAdminClient([host], { pollTimeout: 20 });
  cleanups.push(() => client.shutdown());
  return client;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
    },
    (err: unknown) => err,
  );
}

describe('GearmanAdminClient and a dead gearmand', () => {
  it('rejects every method with ServerUnavailable naming host:port when gearmand is stopped', async () => {
    const server = await started();
    await server.stop();
    const client = admin(server.host);
    const calls = [
      () => client.pingServer(),
      () => client.getStatus(),
      () => client.getVersion(),
      () => client.getWorkers(),
      () => client.sendMaxqueue('q', 1),
      () => client.sendShutdown(),
      () => client.getPid(),
      () => client.cancelJob('H:x:1'),
      () => client.getJobs(),
      () => client.getUniqueJobs(),
    ];
    for (const call of calls) {
      const error = await rejection(call());
      expect(error).toBeInstanceOf(ServerUnavailable);
      expect((error as ServerUnavailable).code).toBe('SERVER_UNAVAILABLE');
      expect((error as Error).message).toContain(`127.0.0.1:${server.port}`);
      expect((error as Error).message).toMatch(/ECONNREFUSED/);
      expect((error as Error).cause).toBeDefined();
    }
  });

  it('rejects with ServerUnavailable after gearmand stops between calls, and works again once it is back', async () => {
    const server = await started();
    const client = admin(server.host);
    expect(await client.getPid()).toBe(String(server.pid));
    await server.stop();
    const error = await rejection(client.getVersion());
    expect(error).toBeInstanceOf(ServerUnavailable);
    expect((error as Error).message).toContain(`127.0.0.1:${server.port}`);

    const again = await started(server.port);
    expect(await client.getPid()).toBe(String(again.pid));
    expect(await client.getVersion()).toBe(again.version);
  });

  it('rejects the calls waiting on gearmand with ServerUnavailable when it dies before answering', async () => {
    const server = await started();
    const client = admin(server.host);
    expect(await client.getPid()).toBe(String(server.pid));
    // Paused, gearmand takes the commands but cannot answer; then it is killed.
    await pauseGearmand(server);
    const waiting = Promise.allSettled([client.getStatus(), client.pingServer(), client.getWorkers()]);
    await client.currentConnection.whenFlushed();
    await killGearmand(server);
    const results = await waiting;
    for (const result of results) {
      expect(result.status).toBe('rejected');
      const reason = (result as PromiseRejectedResult).reason as Error;
      expect(reason).toBeInstanceOf(ServerUnavailable);
      expect(reason.message).toContain(`127.0.0.1:${server.port}: connection lost waiting for the answer to`);
    }
    expect(((results[0] as PromiseRejectedResult).reason as Error).message).toContain("'status'");
  });
});
