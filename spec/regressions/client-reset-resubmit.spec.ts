// Issue 9: reset() then re-submitting with new data never delivers the old job's result. Before
// the fix the connection handler still mapped the old handle to the request (and a generated
// unique was kept, so gearmand coalesced the new submission onto the old job), and reset() kept
// the attempt count, so the re-send was refused with the default maxRetries.
import { afterEach, describe, expect, it } from 'vitest';
import { GearmanClient, GearmanJob, GearmanJobRequest, JOB_COMPLETE, JOB_CREATED } from '../../lib/index.js';
import { sharedHosts, taskName } from '../helpers/env.js';
import { deferred, startWorker } from '../helpers/workers.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

describe('reset() and re-submit', () => {
  it('delivers the new job\'s result, never the old one, with the default maxRetries', async () => {
    const task = taskName('reset');
    const started = { old: deferred(), new: deferred() };
    const release = { old: deferred(), new: deferred() };
    const serve = async (_w: unknown, job: GearmanJob): Promise<string> => {
      const which = String(job.data) as 'old' | 'new';
      started[which].resolve();
      await release[which].promise;
      return `${which}-result`;
    };
    // Two workers: each holds one job, so the old job can finish while the new one runs.
    for (let i = 0; i < 2; i++) {
      const w = startWorker(sharedHosts(), { [task]: serve });
      cleanup.push(() => w.stop());
    }
    const client = new GearmanClient(sharedHosts());
    cleanup.push(() => client.shutdown());

    const request = new GearmanJobRequest(new GearmanJob(null, null, task, null, 'old'));
    await client.submitMultipleRequests([request], { waitUntilComplete: false });
    expect(request.state).toBe(JOB_CREATED);
    await started.old.promise;

    // An observer on the same connection, coalesced onto the old job (same unique): its
    // completion tells when the old job's WORK_COMPLETE has been handled by this client.
    const observer = new GearmanJobRequest(new GearmanJob(null, null, task, request.job.unique, 'old'));
    await client.submitMultipleRequests([observer], { waitUntilComplete: false });
    expect(observer.job.handle).toBe(request.job.handle);

    request.reset();
    expect(request.connectionAttempts).toBe(0);
    request.job.data = 'new';
    // Red before the fix: ExceededConnectionAttempts (the attempt count survived reset()).
    await client.submitMultipleRequests([request], { waitUntilComplete: false });
    expect(request.state).toBe(JOB_CREATED);
    // Red before the fix: the generated unique was kept and gearmand coalesced onto the old job.
    await started.new.promise;

    const waiting = client.waitUntilJobsCompleted([request], { pollTimeout: 20 });
    release.old.resolve(); // the old job's WORK_COMPLETE arrives first, for the old handle
    await client.waitUntilJobsCompleted([observer], { pollTimeout: 20 });
    expect(String(observer.result)).toBe('old-result');
    expect(request.state).toBe(JOB_CREATED); // red before the fix: COMPLETE with 'old-result'
    release.new.resolve();
    await waiting;
    expect(request.state).toBe(JOB_COMPLETE);
    expect(String(request.result)).toBe('new-result');
  });
});
