// Scheduled jobs (#12): `when` sends SUBMIT_JOB_EPOCH (background only). gearmand 1.1.20 does not
// wake a sleeping worker when the time comes (gearmand issue #343): the job is handed out at the
// next GRAB, which any submission for a function the worker can do brings about. The spec shows
// the documented workaround: submit a no-op job at the due time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GearmanAdminClient, GearmanClient, GearmanWorker, InvalidArgumentError, JOB_CREATED, PRIORITY_HIGH } from '../../lib/index.js';
import { sharedHosts, taskName, until } from '../helpers/env.js';
import { deferred } from '../helpers/workers.js';

describe('scheduled jobs (SUBMIT_JOB_EPOCH)', () => {
  let client: GearmanClient;
  let admin: GearmanAdminClient;
  beforeAll(() => {
    client = new GearmanClient(sharedHosts());
    admin = new GearmanAdminClient(sharedHosts());
  });
  afterAll(() => {
    client.shutdown();
    admin.shutdown();
  });

  function startWorker(tasks: Record<string, (data: string) => void>): { stop: () => Promise<void> } {
    const worker = new GearmanWorker(sharedHosts());
    for (const [task, run] of Object.entries(tasks)) {
      worker.registerTask(task, (_w, job) => {
        run(String(job.data));
        return '';
      });
    }
    const working = worker.work({ pollTimeout: 1 });
    return {
      async stop() {
        worker.shutdown();
        await working;
      },
    };
  }

  it('a time in the past (epoch seconds) runs at once', async () => {
    const task = taskName('epoch-past');
    const ran = deferred<string>();
    const worker = startWorker({ [task]: (data) => ran.resolve(data) });
    try {
      const request = await client.submitJob(task, 'past', { background: true, when: Math.floor(Date.now() / 1000) - 60 });
      expect(request.state).toBe(JOB_CREATED);
      expect(request.job.handle).toMatch(/^H:/);
      expect(await ran.promise).toBe('past');
    } finally {
      await worker.stop();
    }
  });

  it('a Date in the future: created, queued, and run no earlier than its time once the worker is nudged', async () => {
    const task = taskName('epoch-future');
    const wake = taskName('epoch-wake');
    const when = new Date(Date.now() + 2500);
    const request = await client.submitJob(task, 'later', { background: true, when });
    expect(request.state).toBe(JOB_CREATED);
    expect(request.when).toBe(Math.ceil(when.getTime() / 1000));
    expect((await admin.getStatus()).find((row) => row.task === task)?.queued).toBe(1);

    const ran = deferred<number>();
    const worker = startWorker({ [task]: () => ran.resolve(Date.now()), [wake]: () => undefined });
    try {
      // The workaround for gearmand #343: at the due time, any job for a function the sleeping
      // worker registered wakes it, and its next GRAB gets the scheduled job too.
      const nudge = setTimeout(() => void client.submitJob(wake, '', { background: true }), request.when! * 1000 - Date.now() + 100);
      const at = await ran.promise;
      clearTimeout(nudge);
      expect(at).toBeGreaterThanOrEqual(request.when! * 1000 - 1000);
      await until(async () => !(await admin.getStatus()).some((row) => row.task === task && row.queued > 0));
    } finally {
      await worker.stop();
    }
  });

  it('submitMultipleJobs takes `when` per job', async () => {
    const task = taskName('epoch-multi');
    const seen: string[] = [];
    const worker = startWorker({ [task]: (data) => seen.push(data) });
    try {
      const past = Math.floor(Date.now() / 1000) - 5;
      const requests = await client.submitMultipleJobs(
        [
          { task, data: 'one', when: past },
          { task, data: 'two', when: new Date(past * 1000) },
        ],
        { background: true },
      );
      expect(requests.map((r) => r.state)).toEqual([JOB_CREATED, JOB_CREATED]);
      await until(() => seen.length === 2, 10_000);
      expect(seen.sort()).toEqual(['one', 'two']);
    } finally {
      await worker.stop();
    }
  });

  it('refuses `when` on a foreground job, with a priority, or as a time that is not one', async () => {
    const task = taskName('epoch-bad');
    await expect(client.submitJob(task, 'x', { when: Date.now() / 1000 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(client.submitJob(task, 'x', { when: Date.now() / 1000 })).rejects.toThrow(/background/);
    await expect(client.submitJob(task, 'x', { background: true, priority: PRIORITY_HIGH, when: 1 })).rejects.toThrow(/priority/);
    for (const when of [Number.NaN, -1, Infinity, '1700000000', new Date(Number.NaN)]) {
      await expect(client.submitJob(task, 'x', { background: true, when: when as number })).rejects.toBeInstanceOf(InvalidArgumentError);
    }
    expect((await admin.getStatus()).some((row) => row.task === task)).toBe(false);
  });
});
