// Issue 9: `timedOut` is true on every request that did not reach the state the call waited for,
// and false where the call rejects. Before the fix, a submitMultipleJobs whose accept phase used
// up the pollTimeout skipped the completion phase, so a request that was CREATED (accepted, not
// complete) came back with timedOut false and the retry filter `filter(r => r.timedOut)` lost
// it; and a call that rejected because its only server died set timedOut true.
import { afterEach, describe, expect, it } from 'vitest';
import { GearmanClient, GearmanJob, GearmanJobRequest, JOB_CREATED, JOB_PENDING, JOB_UNKNOWN, ServerUnavailable } from '../../lib/index.js';
import { CommandType } from '../../lib/protocol/commands.js';
import { FakeGearmanServer } from '../helpers/fake-server.js';
import { res } from '../helpers/packets.js';
import { startGearmand } from '../helpers/gearmand.mjs';
import { taskName } from '../helpers/env.js';
import { deferred, startWorker } from '../helpers/workers.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

describe('timedOut', () => {
  it('is true on a CREATED request when the accept phase used up the pollTimeout of a waitUntilComplete call', async () => {
    // A slow server: it accepts the first submission and leaves the second unanswered.
    let submits = 0;
    const fake = await FakeGearmanServer.start((conn, item) => {
      if (!('type' in item)) return;
      if (item.type === CommandType.OPTION_REQ) conn.send(res('OPTION_RES', item.args[0] as string));
      if (item.type === CommandType.SUBMIT_JOB && ++submits === 1) conn.send(res('JOB_CREATED', 'H:fake:1'));
    });
    cleanup.push(() => fake.close());
    const client = new GearmanClient([fake.address]);
    cleanup.push(() => client.shutdown());
    const [created, pending] = await client.submitMultipleJobs([{ task: 't', data: 'a' }, { task: 't', data: 'b' }], { pollTimeout: 0.3 });
    expect(created!.state).toBe(JOB_CREATED);
    expect(pending!.state).toBe(JOB_PENDING);
    // Red before the fix: created.timedOut was false.
    expect([created!.timedOut, pending!.timedOut]).toEqual([true, true]);
  });

  it('stays false when the call rejects because its only server died during a foreground wait', async () => {
    const g = await startGearmand();
    cleanup.push(() => g.stop());
    const task = taskName('held');
    const running = deferred();
    const w = startWorker([g.host], {
      [task]: () => {
        running.resolve();
        return new Promise(() => undefined); // never answers
      },
    }, { retryStrategy: () => 50 });
    cleanup.push(() => w.stop());
    const client = new GearmanClient([g.host]);
    cleanup.push(() => client.shutdown());
    // Kill the server only once the worker runs the job AND the client has its JOB_CREATED (the
    // embedded server may write the worker's JOB_ASSIGN a turn before the client's JOB_CREATED):
    // the call is then in its completion wait, which is what this spec is about.
    const submitted = new GearmanJobRequest(new GearmanJob(null, null, task, null, 'x'));
    const created = new Promise<void>((resolve) => submitted.once('created', () => resolve()));
    const call = client.submitMultipleRequests([submitted], { pollTimeout: 30 });
    await Promise.all([running.promise, created]);
    g.child.kill('SIGKILL');
    const error = await call.then(
      () => undefined,
      (err: unknown) => err as ServerUnavailable,
    );
    expect(error).toBeInstanceOf(ServerUnavailable);
    const [request] = error!.requests!;
    expect(request!.state).toBe(JOB_UNKNOWN);
    // Red before the fix: timedOut was true though the call never timed out.
    expect(request!.timedOut).toBe(false);
  });
});
