// Issue 9: an unawaited `worker.sendJobStatus(job, 1.5, 3)` in a sync callback killed the whole
// process (an unhandled rejection). A sendJob* misuse now rejects where awaited, and where it is
// not awaited it is logged and fails the job; the process never sees an unhandled rejection.
import { afterEach, describe, expect, it } from 'vitest';
import { GearmanClient, GearmanWorker, JOB_COMPLETE, JOB_FAILED, InvalidArgumentError } from '../../lib/index.js';
import { recordingLogger, trackUnhandledRejections } from '../helpers/fake-server.js';
import { sharedHosts, taskName } from '../helpers/env.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function setup() {
  const unhandled = trackUnhandledRejections();
  const logger = recordingLogger();
  const worker = new GearmanWorker(sharedHosts(), { logger });
  const client = new GearmanClient(sharedHosts());
  let working: Promise<void> | undefined;
  cleanups.push(async () => {
    worker.shutdown();
    await working;
    client.shutdown();
    unhandled.stop();
  });
  return {
    unhandled,
    logger,
    worker,
    client,
    start: () => (working = worker.work({ pollTimeout: 5 })),
  };
}

/** Lets any unhandled rejection surface (Node reports them after the microtask queue drains). */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('regression: an unawaited sendJob* misuse', () => {
  it('in a sync callback fails the job, is logged, and is no unhandled rejection', async () => {
    const { unhandled, logger, worker, client, start } = setup();
    const task = taskName('unawaited-status');
    worker.registerTask(task, (w, job) => {
      void w.sendJobStatus(job, 1.5, 3); // not awaited, as a sync callback must
      return 'would have completed';
    });
    const next = taskName('after');
    worker.registerTask(next, () => 'still serving');
    start();
    const request = await client.submitJob(task, 'x', { pollTimeout: 10 });
    expect(request.state).toBe(JOB_FAILED);
    expect(String(request.exception)).toMatch(/sendJobStatus: numerator and denominator must be integers/);
    expect(logger.find(/failed: InvalidArgumentError: sendJobStatus/, 'warn')).toHaveLength(1);
    const after = await client.submitJob(next, 'y', { pollTimeout: 10 });
    expect(after.state).toBe(JOB_COMPLETE);
    await settle();
    expect(unhandled.reasons).toEqual([]);
  });

  it('in an async callback that does not await it fails the job too', async () => {
    const { unhandled, worker, client, start } = setup();
    const task = taskName('unawaited-async');
    worker.registerTask(task, async (w, job) => {
      void w.sendJobData(job, 12); // the default encoder takes strings and bytes only
      await new Promise((resolve) => setImmediate(resolve));
      return 'would have completed';
    });
    start();
    const request = await client.submitJob(task, 'x', { pollTimeout: 10 });
    expect(request.state).toBe(JOB_FAILED);
    await settle();
    expect(unhandled.reasons).toEqual([]);
  });

  it('rejects where it is awaited; a callback that catches it completes the job', async () => {
    const { unhandled, worker, client, start } = setup();
    const task = taskName('awaited-status');
    const caught: unknown[] = [];
    worker.registerTask(task, async (w, job) => {
      await w.sendJobStatus(job, 1.5, 3).catch((err: unknown) => caught.push(err));
      try {
        await w.sendJobStatus(job, 1, Number.NaN);
      } catch (err) {
        caught.push(err);
      }
      return 'done';
    });
    start();
    const request = await client.submitJob(task, 'x', { pollTimeout: 10 });
    expect(request.state).toBe(JOB_COMPLETE);
    expect(caught).toHaveLength(2);
    expect(caught.every((e) => e instanceof InvalidArgumentError)).toBe(true);
    await settle();
    expect(unhandled.reasons).toEqual([]);
  });
});
