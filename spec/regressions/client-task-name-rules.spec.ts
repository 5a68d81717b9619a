// Issue 9: one rule, one error class for task names and uniques, on the client as on the worker
// (lib/arguments.ts checkTaskName / checkUnique). Before the fix the client accepted an empty
// task name (the job was queued, no worker can register it) and a NUL in a task name was a
// ProtocolError on the client but a TypeError on the worker.
import { afterEach, describe, expect, it } from 'vitest';
import { GearmanClient, GearmanJob, GearmanJobRequest, InvalidArgumentError } from '../../lib/index.js';
import { checkTaskName } from '../../lib/arguments.js';
import { sharedHosts } from '../helpers/env.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

function reason(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a throw');
}

describe('task names and uniques on the client', () => {
  it('an empty task name and a NUL are the InvalidArgumentError of the shared rule, and nothing is sent', async () => {
    const client = new GearmanClient(sharedHosts());
    cleanup.push(() => client.shutdown());
    for (const bad of ['', 'a\0b', 'with space', 'tab\there']) {
      const error = await client.submitJob(bad, 'x').then(() => undefined, (err: unknown) => err as Error);
      // Red before the fix: '' was queued; 'a\0b' was a ProtocolError.
      expect(error).toBeInstanceOf(InvalidArgumentError);
      const rule = reason(() => checkTaskName(bad, 'submitJob'));
      expect(error!.message).toBe(rule.message);
    }
    await expect(client.submitMultipleJobs([{ task: '', data: 'x' }])).rejects.toThrow(InvalidArgumentError);
    await expect(client.submitMultipleRequests([new GearmanJobRequest(new GearmanJob(null, null, '', null, 'x'))])).rejects.toThrow(InvalidArgumentError);
    expect(client.connectionList[0]!.connected).toBe(false);
  });

  it("a unique with NUL or a line break, or '.', is an InvalidArgumentError", async () => {
    const client = new GearmanClient(sharedHosts());
    cleanup.push(() => client.shutdown());
    for (const unique of ['a\0b', 'line\nbreak', '.', 'u'.repeat(64)]) {
      await expect(client.submitJob('t', 'x', { unique })).rejects.toThrow(InvalidArgumentError);
    }
  });
});
