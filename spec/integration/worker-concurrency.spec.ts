// concurrency: N jobs at once in one worker, never more (what the worker counts and what
// gearmand's admin `status` shows as running), grabbed only while a slot is free, so a second
// worker gets the queued work while the first is full.
import { afterEach, describe, expect, it } from 'vitest';
import { GearmanAdminClient, GearmanClient, GearmanWorker, JOB_COMPLETE, JOB_CREATED } from '../../lib/index.js';
import { recordingLogger } from '../helpers/fake-server.js';
import { sharedHosts, taskName, until } from '../helpers/env.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A gate each job waits on; `open(n)` lets n of them finish. */
function gates() {
  const waiting: Array<() => void> = [];
  return {
    get waiting() {
      return waiting.length;
    },
    wait: () => new Promise<void>((resolve) => waiting.push(resolve)),
    open(n = Infinity) {
      for (let i = 0; i < n && waiting.length > 0; i++) waiting.shift()!();
    },
  };
}

function startWorker(concurrency: number, task: string, run: (data: string) => Promise<unknown>) {
  const worker = new GearmanWorker(sharedHosts(), { concurrency, logger: recordingLogger() });
  worker.registerTask(task, (_w, job) => run(String(job.data)));
  const working = worker.work({ pollTimeout: 5 });
  cleanups.push(async () => {
    worker.shutdown();
    await working;
  });
  return { worker, working };
}

function newClient(): GearmanClient {
  const client = new GearmanClient(sharedHosts());
  cleanups.push(() => client.shutdown());
  return client;
}

function newAdmin(): GearmanAdminClient {
  const admin = new GearmanAdminClient(sharedHosts());
  cleanups.push(() => admin.shutdown());
  return admin;
}

async function running(admin: GearmanAdminClient, task: string): Promise<number> {
  return (await admin.getStatus()).find((row) => row.task === task)?.running ?? 0;
}

describe('GearmanWorker concurrency', () => {
  it('runs N jobs at once and never more; gearmand shows N running while the rest stay queued', async () => {
    const task = taskName('conc');
    const gate = gates();
    let now = 0;
    let most = 0;
    const { worker } = startWorker(3, task, async () => {
      most = Math.max(most, ++now);
      await gate.wait();
      now--;
      return 'ok';
    });
    let afterJobs = 0;
    worker.afterJob = () => (++afterJobs, true);
    const client = newClient();
    const admin = newAdmin();
    const requests = await client.submitMultipleJobs(
      Array.from({ length: 7 }, (_, i) => ({ task, data: `j${i}` })),
      { background: true, waitUntilComplete: false },
    );
    expect(requests.every((r) => r.state === JOB_CREATED)).toBe(true);
    await until(() => gate.waiting === 3);
    await until(async () => (await running(admin, task)) === 3);
    expect(worker.runningJobCount).toBe(3);
    expect(worker.hasJobLock()).toBe(true);
    // Polled while jobs finish one by one: never more than 3 running, here or at the server.
    const seen: number[] = [];
    for (let done = 0; done < 7; ) {
      const n = await running(admin, task);
      seen.push(n);
      if (gate.waiting > 0) {
        gate.open(1);
        done++;
      }
      await until(() => gate.waiting === Math.min(3, 7 - done) || done === 7);
    }
    await until(async () => (await admin.getStatus()).find((row) => row.task === task)?.queued === 0);
    expect(Math.max(...seen)).toBeLessThanOrEqual(3);
    expect(most).toBe(3);
    expect(afterJobs).toBe(7);
    expect(worker.runningJobCount).toBe(0);
  });

  it('grabs only while a slot is free: a second worker gets the job the first has no room for', async () => {
    const task = taskName('conc-fair');
    const gate = gates();
    const ranOn: string[] = [];
    startWorker(2, task, async (data) => {
      ranOn.push(`A:${data}`);
      await gate.wait();
      return 'A';
    });
    const client = newClient();
    const first = await client.submitMultipleJobs(
      [
        { task, data: '1' },
        { task, data: '2' },
      ],
      { waitUntilComplete: false },
    );
    await until(() => gate.waiting === 2);
    // The first worker is full: a third job waits in the queue, not in its hands.
    const third = client.submitJob(task, '3', { pollTimeout: 20 });
    const admin = newAdmin();
    await until(async () => (await admin.getStatus()).find((row) => row.task === task)?.queued === 3);
    startWorker(1, task, async (data) => {
      ranOn.push(`B:${data}`);
      return 'B';
    });
    const done = await third;
    expect(done.state).toBe(JOB_COMPLETE);
    expect(String(done.result)).toBe('B');
    expect(ranOn.sort()).toEqual(['A:1', 'A:2', 'B:3']);
    gate.open();
    await client.waitUntilJobsCompleted(first, { pollTimeout: 10 });
    expect(first.map((r) => String(r.result))).toEqual(['A', 'A']);
  });

  it('serves two servers with one pool of slots', async () => {
    const { startGearmand } = await import('../helpers/gearmand.mjs');
    const g1 = await startGearmand();
    const g2 = await startGearmand();
    cleanups.push(() => g1.stop(), () => g2.stop());
    const task = taskName('conc-two');
    const gate = gates();
    let now = 0;
    let most = 0;
    const worker = new GearmanWorker([g1.host, g2.host], { concurrency: 2, logger: recordingLogger() });
    worker.registerTask(task, async () => {
      most = Math.max(most, ++now);
      await gate.wait();
      now--;
      return 'ok';
    });
    const working = worker.work({ pollTimeout: 5 });
    cleanups.push(async () => {
      worker.shutdown();
      await working;
    });
    const c1 = new GearmanClient([g1.host]);
    const c2 = new GearmanClient([g2.host]);
    cleanups.push(() => c1.shutdown(), () => c2.shutdown());
    const jobs = (c: GearmanClient) => Array.from({ length: 3 }, (_, i) => ({ task, data: String(i) }));
    const r1 = await c1.submitMultipleJobs(jobs(c1), { waitUntilComplete: false });
    const r2 = await c2.submitMultipleJobs(jobs(c2), { waitUntilComplete: false });
    for (let i = 0; i < 6; i++) {
      await until(() => gate.waiting > 0);
      gate.open(1);
    }
    await c1.waitUntilJobsCompleted(r1, { pollTimeout: 10 });
    await c2.waitUntilJobsCompleted(r2, { pollTimeout: 10 });
    expect([...r1, ...r2].every((r) => r.state === JOB_COMPLETE)).toBe(true);
    expect(most).toBeLessThanOrEqual(2);
  });
});
