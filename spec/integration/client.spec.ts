import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  ConnectionError,
  GearmanClient,
  GearmanError,
  GearmanJob,
  GearmanJobRequest,
  InvalidArgumentError,
  InvalidClientState,
  JOB_COMPLETE,
  JOB_CREATED,
  JOB_FAILED,
  JOB_PENDING,
  PRIORITY_HIGH,
  PRIORITY_LOW,
  PRIORITY_NONE,
  ProtocolError,
  ServerError,
  type Priority,
} from '../../lib/index.js';
import { adminLine } from '../helpers/gearmand.mjs';
import { sharedHosts, sharedPort, taskName, until } from '../helpers/env.js';
import { deferred, echo, startWorker, type TestWorker } from '../helpers/workers.js';

const priorities: Array<[string, Priority]> = [
  ['PRIORITY_NONE', PRIORITY_NONE],
  ['PRIORITY_LOW', PRIORITY_LOW],
  ['PRIORITY_HIGH', PRIORITY_HIGH],
];

describe('GearmanClient against gearmand', () => {
  const echoTask = taskName('echo');
  let worker: TestWorker;
  let client: GearmanClient;

  beforeAll(() => {
    worker = startWorker(sharedHosts(), { [echoTask]: echo });
    client = new GearmanClient(sharedHosts());
  });
  afterAll(async () => {
    client.shutdown();
    await worker.stop();
  });

  it.each(priorities)('submits a blocking foreground job with %s', async (_name, priority) => {
    const request = await client.submitJob(echoTask, `fg ${String(priority)}`, { priority });
    expect(request.state).toBe(JOB_COMPLETE);
    expect(request.complete).toBe(true);
    expect(request.timedOut).toBe(false);
    expect(request.priority).toBe(priority);
    expect(String(request.result)).toBe(`fg ${String(priority)}`);
    expect(request.job.handle).toMatch(/^H:/);
    expect(request.job.unique).toMatch(/^[0-9a-f]{32}$/);
    expect(request.connectionAttempts).toBe(1);
  });

  it.each(priorities)('submits a background job with %s: complete once accepted, then run by the worker', async (_name, priority) => {
    const data = `bg ${String(priority)} ${Math.random()}`;
    const request = await client.submitJob(echoTask, data, { priority, background: true });
    expect(request.state).toBe(JOB_CREATED);
    expect(request.complete).toBe(true);
    expect(request.result).toBeNull();
    await until(() => worker.seen.includes(`${echoTask}:${data}`));
  });

  it('round-trips binary payloads with NUL bytes', async () => {
    const data = Buffer.from(Array.from({ length: 512 }, (_, i) => i % 256));
    const request = await client.submitJob(echoTask, data);
    expect(Buffer.compare(request.result as Buffer, data)).toBe(0);
    const nulOnly = await client.submitJob(echoTask, Buffer.alloc(3));
    expect(nulOnly.result).toEqual(Buffer.alloc(3));
    const empty = await client.submitJob(echoTask, '');
    expect((empty.result as Buffer).length).toBe(0);
  });

  it('round-trips a payload of several MiB', async () => {
    const data = Buffer.alloc(6 * 1024 * 1024);
    for (let i = 0; i < data.length; i += 4096) data.writeUInt32BE(i, i);
    const request = await client.submitJob(echoTask, data);
    expect(request.state).toBe(JOB_COMPLETE);
    expect(Buffer.compare(request.result as Buffer, data)).toBe(0);
  });

  it('submits a batch without waiting, then waits until the jobs are completed', async () => {
    const jobs = Array.from({ length: 20 }, (_, i) => ({ task: echoTask, data: `batch ${i}` }));
    const requests = await client.submitMultipleJobs(jobs, { background: false, waitUntilComplete: false });
    expect(requests.map((r) => r.state).every((s) => s === JOB_CREATED || s === JOB_COMPLETE)).toBe(true);
    const same = await client.waitUntilJobsCompleted(requests, { pollTimeout: 5 });
    expect(same).toBe(requests);
    expect(requests.map((r) => String(r.result))).toEqual(jobs.map((j) => j.data));
    expect(requests.every((r) => r.complete && !r.timedOut)).toBe(true);
  });

  it('times out (resolving, with timedOut set), then a longer wait completes', async () => {
    const task = taskName('gated');
    const gate = deferred();
    const gated = startWorker(sharedHosts(), { [task]: async (_w, job) => (await gate.promise, job.data) });
    try {
      const request = await client.submitJob(task, 'slow', { pollTimeout: 0.3 });
      expect(request.state).toBe(JOB_CREATED);
      expect(request.timedOut).toBe(true);
      expect(request.complete).toBe(false);
      gate.resolve();
      await client.waitUntilJobsCompleted([request], { pollTimeout: 5 });
      expect(request.state).toBe(JOB_COMPLETE);
      expect(request.timedOut).toBe(false);
      expect(String(request.result)).toBe('slow');
    } finally {
      await gated.stop();
    }
  });

  it('with pollTimeout 0 sends the job and returns at once, still pending', async () => {
    const task = taskName('nobody');
    const request = await client.submitJob(task, 'x', { pollTimeout: 0 });
    expect(request.state).toBe(JOB_PENDING);
    expect(request.timedOut).toBe(true);
    await client.waitUntilJobsAccepted([request], { pollTimeout: 5 });
    expect(request.state).toBe(JOB_CREATED);
    expect(request.timedOut).toBe(false);
  });

  it('reports the status of a running background job and of a finished one', async () => {
    const task = taskName('status');
    const gate = deferred();
    const started = deferred();
    const w = startWorker(sharedHosts(), {
      [task]: async (wk, job) => {
        await wk.sendJobStatus(job, 3, 10);
        started.resolve();
        await gate.promise;
        return 'ok';
      },
    });
    try {
      const request = await client.submitJob(task, 'status please', { background: true });
      await started.promise;
      await until(async () => {
        await client.getJobStatus(request, { pollTimeout: 5 });
        return request.status.numerator === 3;
      });
      expect(request.timedOut).toBe(false);
      expect(request.status).toMatchObject({ handle: request.job.handle, known: true, running: true, numerator: 3, denominator: 10 });
      expect(request.status.timeReceived).toBeGreaterThan(Date.now() / 1000 - 60);
      gate.resolve();
      await until(async () => {
        await client.getJobStatus(request, { pollTimeout: 5 });
        return request.status.known === false;
      });
      expect(request.status).toMatchObject({ known: false, running: false, numerator: 0, denominator: 0 });
      expect(request.state).toBe(JOB_CREATED);
    } finally {
      gate.resolve();
      await w.stop();
    }
  });

  it('queries the status of several requests at once', async () => {
    const task = taskName('queued');
    const requests = await client.submitMultipleJobs(
      [1, 2, 3].map((i) => ({ task, data: `q${i}` })),
      { background: true },
    );
    await client.getJobStatuses(requests, { pollTimeout: 5 });
    for (const request of requests) {
      expect(request.timedOut).toBe(false);
      expect(request.status).toMatchObject({ handle: request.job.handle, known: true, running: false });
    }
    const drain = startWorker(sharedHosts(), { [task]: echo });
    await until(() => drain.seen.length === 3);
    await drain.stop();
  });

  it('rejects a status query for a request that has no handle', async () => {
    const request = new GearmanJobRequest(new GearmanJob(null, null, echoTask, null, 'x'));
    await expect(client.getJobStatus(request)).rejects.toBeInstanceOf(InvalidClientState);
  });

  it('coalesces requests with one unique across connections: one job, every request gets the result', async () => {
    const task = taskName('coalesce');
    const gate = deferred();
    const w = startWorker(sharedHosts(), { [task]: async (_w, job) => (await gate.promise, `done ${job.unique}`) });
    const other = new GearmanClient(sharedHosts());
    try {
      const a = await client.submitJob(task, 'first', { unique: 'shared-key', waitUntilComplete: false });
      const b = await other.submitJob(task, 'second', { unique: 'shared-key', waitUntilComplete: false });
      expect(b.job.handle).toBe(a.job.handle);
      gate.resolve();
      await Promise.all([client.waitUntilJobsCompleted([a], { pollTimeout: 5 }), other.waitUntilJobsCompleted([b], { pollTimeout: 5 })]);
      expect(String(a.result)).toBe('done shared-key');
      expect(String(b.result)).toBe('done shared-key');
      expect(w.seen.filter((s) => s.startsWith(task))).toHaveLength(1);
    } finally {
      gate.resolve();
      other.shutdown();
      await w.stop();
    }
  });

  it('coalesces requests with one unique on one connection: each gets every update exactly once', async () => {
    const task = taskName('coalesce1');
    const gate = deferred();
    const w = startWorker(sharedHosts(), {
      [task]: async (wk, job) => {
        await gate.promise;
        await wk.sendJobData(job, 'part');
        await wk.sendJobStatus(job, 1, 2);
        await wk.sendJobWarning(job, 'careful');
        return 'whole';
      },
    });
    const logger = { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() };
    const single = new GearmanClient(sharedHosts(), { logger });
    try {
      const jobs = [1, 2, 3].map((i) => ({ task, data: `copy ${i}`, unique: 'same-unique' }));
      const pending = single.submitMultipleJobs(jobs, { pollTimeout: 10 });
      await until(() => w.worker.hasJobLock());
      gate.resolve();
      const requests = await pending;
      expect(new Set(requests.map((r) => r.job.handle)).size).toBe(1);
      for (const r of requests) {
        expect(r.state).toBe(JOB_COMPLETE);
        expect(String(r.result)).toBe('whole');
        expect(r.dataUpdates.map(String)).toEqual(['part']);
        expect(r.warningUpdates.map(String)).toEqual(['careful']);
        expect(r.status).toMatchObject({ numerator: 1, denominator: 2 });
      }
      expect(w.seen.filter((s) => s.startsWith(task))).toHaveLength(1);
      expect(logger.warn).not.toHaveBeenCalled();
      expect(logger.error).not.toHaveBeenCalled();
      // The connection is still in step: a further job works.
      const next = await single.submitJob(echoTask, 'after');
      expect(String(next.result)).toBe('after');
    } finally {
      gate.resolve();
      single.shutdown();
      await w.stop();
    }
  });

  it('runs HIGH before NONE before LOW within a task', async () => {
    const task = taskName('prio');
    const order: Array<[string, Priority]> = [
      ['low-1', PRIORITY_LOW],
      ['none-1', PRIORITY_NONE],
      ['high-1', PRIORITY_HIGH],
      ['low-2', PRIORITY_LOW],
      ['high-2', PRIORITY_HIGH],
      ['none-2', PRIORITY_NONE],
    ];
    for (const [data, priority] of order) await client.submitJob(task, data, { priority, background: true });
    const w = startWorker(sharedHosts(), { [task]: echo });
    try {
      await until(() => w.seen.length === order.length);
      expect(w.seen.map((s) => s.slice(task.length + 1))).toEqual(['high-1', 'high-2', 'none-1', 'none-2', 'low-1', 'low-2']);
    } finally {
      await w.stop();
    }
  });

  it('emits the updates of a request as they arrive', async () => {
    const task = taskName('events');
    const w = startWorker(sharedHosts(), {
      [task]: async (wk, job) => {
        await wk.sendJobStatus(job, 1, 3);
        await wk.sendJobData(job, 'd1');
        await wk.sendJobWarning(job, 'w1');
        return 'end';
      },
    });
    try {
      const request = new GearmanJobRequest(new GearmanJob(null, null, task, null, 'x'));
      const events: string[] = [];
      request.on('created', (handle) => events.push(`created ${handle === request.job.handle}`));
      request.on('status', (s) => events.push(`status ${s.numerator}/${s.denominator}`));
      request.on('data', (d) => events.push(`data ${String(d)}`));
      request.on('warning', (d) => events.push(`warning ${String(d)}`));
      request.on('complete', (r) => events.push(`complete ${String(r)}`));
      await client.submitMultipleRequests([request], { pollTimeout: 5 });
      expect(events).toEqual(['created true', 'status 1/3', 'data d1', 'warning w1', 'complete end']);
    } finally {
      await w.stop();
    }
  });

  it('sees a worker exception: request.exception set and JOB_FAILED', async () => {
    const task = taskName('exception');
    const w = startWorker(sharedHosts(), {
      [task]: async (wk, job) => {
        await wk.sendJobException(job, 'it broke');
        return undefined;
      },
    });
    try {
      const request = await client.submitJob(task, 'x', { pollTimeout: 5 });
      expect(request.state).toBe(JOB_FAILED);
      expect(String(request.exception)).toBe('it broke');
      expect(request.complete).toBe(true);
    } finally {
      await w.stop();
    }
  });

  it('sees a failing job as JOB_FAILED', async () => {
    const task = taskName('fail');
    const w = startWorker(sharedHosts(), {
      [task]: () => {
        throw new Error('nope');
      },
    });
    try {
      const request = await client.submitJob(task, 'x', { pollTimeout: 5 });
      expect(request.state).toBe(JOB_FAILED);
      expect(request.complete).toBe(true);
      expect(request.result).toBeNull();
    } finally {
      await w.stop();
    }
  });

  it('fails a request the server refuses with ERROR (a full queue), and keeps working', async () => {
    const task = taskName('full');
    // maxqueue applies only to a function gearmand knows: queue one job first.
    const first = await client.submitJob(task, 'one', { background: true });
    expect(first.state).toBe(JOB_CREATED);
    expect(await adminLine(sharedPort(), `maxqueue ${task} 1`)).toBe('OK');
    const refused = await client.submitJob(task, 'two', { background: true, pollTimeout: 5 });
    expect(refused.state).toBe(JOB_FAILED);
    expect(refused.complete).toBe(true);
    expect(refused.timedOut).toBe(false);
    expect(refused.error).toBeInstanceOf(ServerError);
    expect((refused.error as ServerError).serverCode).toBe('QUEUE_ERROR');
    expect(refused.error!.message).toContain(`127.0.0.1:${sharedPort()}`);
    const foreground = await client.submitJob(task, 'three', { pollTimeout: 5 });
    expect(foreground.state).toBe(JOB_FAILED);
    const next = await client.submitJob(echoTask, 'still fine');
    expect(String(next.result)).toBe('still fine');
    expect(await adminLine(sharedPort(), `maxqueue ${task} 0`)).toBe('OK');
    const drain = startWorker(sharedHosts(), { [task]: echo });
    await until(() => drain.seen.length === 1);
    await drain.stop();
  });

  it('runs 1,000 concurrent submitJob calls on one client, each with its own result', async () => {
    const n = 1000;
    const results = await Promise.all(Array.from({ length: n }, (_, i) => client.submitJob(echoTask, `job ${i}`)));
    results.forEach((request, i) => {
      expect(request.state).toBe(JOB_COMPLETE);
      expect(String(request.result)).toBe(`job ${i}`);
    });
    expect(new Set(results.map((r) => r.job.handle)).size).toBe(n);
  });

  describe('bad input', () => {
    it('rejects data the default encoder cannot send with a TypeError, before connecting', async () => {
      const fresh = new GearmanClient(sharedHosts());
      for (const data of [42, { a: 1 }, null, undefined, true]) {
        await expect(fresh.submitJob(echoTask, data)).rejects.toBeInstanceOf(TypeError);
      }
      expect(fresh.connectionList[0]!.connected).toBe(false);
      expect(fresh.connectionList[0]!.connecting).toBe(false);
      const ok = await fresh.submitJob(echoTask, 'fine');
      expect(String(ok.result)).toBe('fine');
      fresh.shutdown();
    });

    it('rejects a NUL in the task name, an overlong unique and an unknown priority; the client keeps working', async () => {
      // The task-name rule is the worker's (checkTaskName): an InvalidArgumentError, sent nothing.
      await expect(client.submitJob('bad\0task', 'x')).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(client.submitJob(echoTask, 'x', { unique: 'u'.repeat(64) })).rejects.toThrow(/63/);
      await expect(client.submitJob(echoTask, 'x', { priority: 'MEDIUM' as unknown as Priority })).rejects.toBeInstanceOf(GearmanError);
      await expect(client.submitJob(42 as unknown as string, 'x')).rejects.toBeInstanceOf(TypeError);
      await expect(client.submitMultipleJobs([{ task: echoTask, data: 'ok' }, { task: echoTask, data: 7 }])).rejects.toBeInstanceOf(TypeError);
      await expect(client.submitJob(echoTask, 'x', { pollTimeout: 'soon' as unknown as number })).rejects.toBeInstanceOf(TypeError);
      await expect(client.submitJob(echoTask, 'x', { maxRetries: -1 })).rejects.toBeInstanceOf(TypeError);
      const ok = await client.submitJob(echoTask, 'x', { unique: 'u'.repeat(63) });
      expect(ok.state).toBe(JOB_COMPLETE);
    });

    it('throws from the constructor for malformed hosts', () => {
      for (const bad of [['a:b:c'], ['host:notaport'], ['host:70000'], [42], [{ port: 1 }], 'localhost:4730', [''], ['[::1']]) {
        expect(() => new GearmanClient(bad as never)).toThrow(GearmanError);
      }
      expect(() => new GearmanClient(['[::1]:4730', { host: 'h', port: 1, tls: true }, 'h'])).not.toThrow();
    });
  });

  it('shutdown() rejects pending calls with ConnectionError SHUTDOWN; the client can be used again', async () => {
    const task = taskName('never');
    const other = new GearmanClient(sharedHosts());
    const pending = other.submitJob(task, 'wait forever');
    await until(() => other.connectionList[0]!.connected);
    other.shutdown();
    const err = await pending.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as ConnectionError).code).toBe('SHUTDOWN');
    const again = await other.submitJob(echoTask, 'again');
    expect(String(again.result)).toBe('again');
    other.shutdown();
  });
});
