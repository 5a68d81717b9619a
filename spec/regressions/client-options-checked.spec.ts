// Issue 9 (python-gearman habits): every options object of the client is checked. Before the fix
// unknown keys were ignored ({ poll_timeout: 1 } never timed out, { wait_until_complete: false }
// still waited), python's positional GearmanJobRequest arguments were accepted, and a
// `static dataEncoder` on a GearmanClient subclass (a python class attribute translated
// literally) was ignored.
import { afterEach, describe, expect, it } from 'vitest';
import { GearmanClient, GearmanJob, GearmanJobRequest, InvalidArgumentError, JsonEncoder, PRIORITY_HIGH } from '../../lib/index.js';
import { sharedHosts, taskName } from '../helpers/env.js';
import { startWorker } from '../helpers/workers.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

function client(): GearmanClient {
  const c = new GearmanClient(sharedHosts());
  cleanup.push(() => c.shutdown());
  return c;
}

describe('client options', () => {
  it('an unknown key is an InvalidArgumentError naming it and suggesting the camelCase key', async () => {
    const c = client();
    await expect(c.submitJob('t', 'x', { poll_timeout: 1 } as never)).rejects.toThrow(InvalidArgumentError);
    await expect(c.submitJob('t', 'x', { poll_timeout: 1 } as never)).rejects.toThrow(/'poll_timeout'.*'pollTimeout'/);
    await expect(c.submitMultipleJobs([{ task: 't', data: 'x' }], { wait_until_complete: false } as never)).rejects.toThrow(/'waitUntilComplete'/);
    await expect(c.submitMultipleJobs([{ task: 't', data: 'x', priorty: PRIORITY_HIGH } as never])).rejects.toThrow(/'priority'/);
    await expect(c.submitMultipleRequests([], { poll_timeout: 1 } as never)).rejects.toThrow(InvalidArgumentError);
    await expect(c.waitUntilJobsCompleted([], { timeout: 1 } as never)).rejects.toThrow(InvalidArgumentError);
    await expect(c.waitUntilJobsAccepted([], { timeout: 1 } as never)).rejects.toThrow(InvalidArgumentError);
    await expect(c.getJobStatuses([], { poll_timeout: 1 } as never)).rejects.toThrow(/'pollTimeout'/);
    await expect(c.submitJob('t', 'x', 5 as never)).rejects.toThrow(/options object/);
    expect(() => new GearmanClient(sharedHosts(), { connect_timeout_ms: 10 } as never)).toThrow(/'connectTimeoutMs'/);
    expect(() => new GearmanClient(sharedHosts(), { connect_timeout_ms: 10 } as never)).toThrow(TypeError);
  });

  it('pollTimeout has one rule: a negative number or a string is an InvalidArgumentError', async () => {
    const c = client();
    await expect(c.submitJob('t', 'x', { pollTimeout: -1 })).rejects.toThrow(InvalidArgumentError);
    await expect(c.submitJob('t', 'x', { pollTimeout: 'soon' as never })).rejects.toThrow(/pollTimeout must be a number of seconds >= 0/);
  });

  it("python-gearman's positional GearmanJobRequest(job, priority, background, max_attempts) is an InvalidArgumentError", () => {
    const job = new GearmanJob(null, null, 't', null, 'x');
    expect(() => new (GearmanJobRequest as unknown as new (...a: unknown[]) => GearmanJobRequest)(job, PRIORITY_HIGH, true, 3)).toThrow(InvalidArgumentError);
    expect(() => new (GearmanJobRequest as unknown as new (...a: unknown[]) => GearmanJobRequest)(job, null, true, 3)).toThrow(/positional/);
    expect(() => new GearmanJobRequest(job, { max_attempts: 3 } as never)).toThrow(/'maxAttempts'/);
    expect(new GearmanJobRequest(job, { priority: PRIORITY_HIGH, maxAttempts: 3 }).maxConnectionAttempts).toBe(3);
  });

  it('a static dataEncoder on a GearmanClient subclass is honoured, as the instance field is', async () => {
    const task = taskName('json');
    const w = startWorker(sharedHosts(), { [task]: (_w, job) => Buffer.from(JSON.stringify({ got: JSON.parse(String(job.data)) })) });
    cleanup.push(() => w.stop());
    class StaticJsonClient extends GearmanClient {
      static dataEncoder = JsonEncoder;
    }
    class FieldJsonClient extends GearmanClient {
      override dataEncoder = JsonEncoder;
    }
    for (const Client of [StaticJsonClient, FieldJsonClient]) {
      const c = new Client(sharedHosts());
      cleanup.push(() => c.shutdown());
      // Red before the fix for the static form: NoopEncoder refused the object.
      const request = await c.submitJob(task, { n: 1 }, { pollTimeout: 10 });
      expect(request.result).toEqual({ got: { n: 1 } });
    }
  });
});
