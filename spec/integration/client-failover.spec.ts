// Specs that kill, restart or leave out servers: each starts its own gearmand.
import { afterEach, describe, expect, it } from 'vitest';
import {
  ExceededConnectionAttempts,
  GearmanClient,
  JOB_COMPLETE,
  JOB_CREATED,
  JOB_UNKNOWN,
  ServerUnavailable,
  type GearmanJobRequest,
} from '../../lib/index.js';
import { freePort, startGearmand, type Gearmand } from '../helpers/gearmand.mjs';
import { taskName, until } from '../helpers/env.js';
import { deferred, echo, startWorker, type TestWorker } from '../helpers/workers.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function server(port?: number): Promise<Gearmand> {
  const s = await startGearmand(port === undefined ? {} : { port });
  cleanup.push(() => s.stop());
  return s;
}

function client(hosts: string[]): GearmanClient {
  const c = new GearmanClient(hosts);
  cleanup.push(() => c.shutdown());
  return c;
}

function worker(hosts: string[], tasks: Parameters<typeof startWorker>[1]): TestWorker {
  const w = startWorker(hosts, tasks, { retryStrategy: () => 50 });
  cleanup.push(() => w.stop());
  return w;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );
}

describe('client connection failures', () => {
  it('fails over past a dead server: every request completes, failed connects are not attempts', async () => {
    const live = await server();
    const dead = `127.0.0.1:${await freePort()}`;
    const task = taskName('failover');
    worker([live.host], { [task]: echo });
    const c = client([dead, live.host]);
    const requests = await c.submitMultipleJobs(
      Array.from({ length: 20 }, (_, i) => ({ task, data: `f${i}` })),
      { pollTimeout: 10 },
    );
    for (const r of requests) {
      expect(r.state).toBe(JOB_COMPLETE);
      expect(r.connectionAttempts).toBe(1);
      expect(r.job.connection!.address).toBe(live.host);
    }
    expect(c.connectionList[0]!.lastError?.message).toMatch(/ECONNREFUSED/);
  });

  it('rejects promptly with ServerUnavailable naming every server when none is reachable', async () => {
    const hosts = [`127.0.0.1:${await freePort()}`, `127.0.0.1:${await freePort()}`];
    const c = client(hosts);
    const started = Date.now();
    const err = await rejection(c.submitJob('anything', 'x'));
    expect(Date.now() - started).toBeLessThan(2000);
    expect(err).toBeInstanceOf(ServerUnavailable);
    const e = err as ServerUnavailable;
    for (const host of hosts) expect(e.message).toContain(host);
    expect(e.message).toMatch(/ECONNREFUSED/);
    expect(e.cause).toBeDefined();
    expect((e.requests as GearmanJobRequest[])[0]!.state).toBe(JOB_UNKNOWN);
    expect((e.requests as GearmanJobRequest[])[0]!.connectionAttempts).toBe(0);
  });

  it('recovers requests lost with a killed server: JOB_UNKNOWN, then submitMultipleRequests on the restarted server', async () => {
    const s = await server();
    const task = taskName('recover');
    const gate = deferred();
    const running = deferred();
    let calls = 0;
    worker([s.host], {
      [task]: async (_w, job) => {
        calls++;
        if (calls === 1) {
          running.resolve();
          await gate.promise;
        }
        return job.data;
      },
    });
    const c = client([s.host]);
    const pending = rejection(c.submitMultipleJobs([{ task, data: 'survivor' }], { maxRetries: 1 }));
    await running.promise;
    await s.stop();
    const err = await pending;
    expect(err).toBeInstanceOf(ServerUnavailable);
    const failed = (err as ServerUnavailable).requests as GearmanJobRequest[];
    expect(failed.map((r) => r.state)).toEqual([JOB_UNKNOWN]);
    expect(failed[0]!.error?.message).toContain(s.host);
    gate.resolve();

    await server(s.port);
    const retried = await c.submitMultipleRequests(failed, { waitUntilComplete: true, pollTimeout: 10 });
    expect(retried).toBe(failed);
    expect(failed[0]!.state).toBe(JOB_COMPLETE);
    expect(String(failed[0]!.result)).toBe('survivor');
    expect(failed[0]!.connectionAttempts).toBe(2);
    expect(failed[0]!.timedOut).toBe(false);
  });

  it('raises ExceededConnectionAttempts when a lost request has no retries left', async () => {
    const s = await server();
    const task = taskName('noretry');
    const c = client([s.host]);
    const [request] = await c.submitMultipleJobs([{ task, data: 'once' }], { waitUntilComplete: false });
    expect(request!.state).toBe(JOB_CREATED);
    const waiting = rejection(c.waitUntilJobsCompleted([request!]));
    await s.stop();
    const err = await waiting;
    expect(err).toBeInstanceOf(ServerUnavailable);
    const failed = (err as ServerUnavailable).requests as GearmanJobRequest[];
    expect(failed).toEqual([request]);
    expect(request!.state).toBe(JOB_UNKNOWN);
    await server(s.port);
    await expect(c.submitMultipleRequests(failed)).rejects.toBeInstanceOf(ExceededConnectionAttempts);
    expect(failed[0]!.connectionAttempts).toBe(1);
  });

  it('keeps finished requests finished when their connection dies later', async () => {
    const s = await server();
    const task = taskName('finished');
    const w = worker([s.host], { [task]: echo });
    const c = client([s.host]);
    const fg = await c.submitJob(task, 'done');
    const bg = await c.submitJob(task, 'bg', { background: true });
    expect(fg.state).toBe(JOB_COMPLETE);
    await w.stop();
    await s.stop();
    await until(() => !c.connectionList[0]!.connected);
    expect(fg.state).toBe(JOB_COMPLETE);
    expect(fg.complete).toBe(true);
    expect(bg.state).toBe(JOB_CREATED);
    expect(bg.complete).toBe(true);
  });

  it('with two servers, requests lost on one come back JOB_UNKNOWN and timedOut while the other finishes its jobs', async () => {
    const a = await server();
    const b = await server();
    const task = taskName('split');
    const gate = deferred();
    worker([a.host, b.host], { [task]: async (_w, job) => (await gate.promise, job.data) });
    const c = client([a.host, b.host]);
    const requests = await c.submitMultipleJobs(
      Array.from({ length: 12 }, (_, i) => ({ task, data: `s${i}` })),
      { waitUntilComplete: false },
    );
    const onA = requests.filter((r) => r.job.connection!.address === a.host);
    const onB = requests.filter((r) => r.job.connection!.address === b.host);
    expect(onA.length + onB.length).toBe(12);
    expect(onA.length).toBeGreaterThan(0);
    expect(onB.length).toBeGreaterThan(0);
    const waiting = c.waitUntilJobsCompleted(requests, { pollTimeout: 20 });
    await a.stop();
    await until(() => onA.every((r) => r.state === JOB_UNKNOWN));
    gate.resolve();
    await waiting;
    for (const r of onA) {
      expect(r.state).toBe(JOB_UNKNOWN);
      expect(r.timedOut).toBe(true);
    }
    for (const r of onB) {
      expect(r.state).toBe(JOB_COMPLETE);
      expect(r.timedOut).toBe(false);
    }
  });

  it('re-sends a lost request under a fresh generated unique, so it does not join the abandoned job', async () => {
    // gearmand 1.1.20 keeps a queued job whose client left, attaches a new submission with the
    // same unique to it, and then hands it to no worker: the re-sent request would wait forever.
    const s = await server();
    const proxy = await startTcpProxy(s.port);
    cleanup.push(() => proxy.close());
    const task = taskName('abandoned');
    const c = client([proxy.host]);
    const [request] = await c.submitMultipleJobs([{ task, data: 'again' }], { waitUntilComplete: false, maxRetries: 1 });
    const firstUnique = request!.job.unique;
    const waiting = rejection(c.waitUntilJobsCompleted([request!]));
    proxy.cut();
    expect(await waiting).toBeInstanceOf(ServerUnavailable);
    expect(request!.state).toBe(JOB_UNKNOWN);
    worker([s.host], { [task]: echo });
    await c.submitMultipleRequests([request!], { pollTimeout: 10 });
    expect(request!.state).toBe(JOB_COMPLETE);
    expect(String(request!.result)).toBe('again');
    expect(request!.job.unique).not.toBe(firstUnique);
    expect(request!.job.unique).toMatch(/^[0-9a-f]{32}$/);
  });
});
