// Issue 9: registerTask('L'.repeat(9000)) and setClientId of 9000 bytes were accepted; at work()
// the worker logged "could not connect" (it was connected), the tasks after the long one were
// never advertised, their jobs timed out, and work() never rejected; while working, registerTask
// threw but kept the task, and every later registerTask threw too. Names are now checked at the
// call (one rule with the client: lib/arguments.ts), and a refused call changes nothing.
import { afterEach, describe, expect, it } from 'vitest';
import { GearmanClient, GearmanWorker, JOB_COMPLETE, InvalidArgumentError } from '../../lib/index.js';
import { recordingLogger } from '../helpers/fake-server.js';
import { sharedHosts, taskName } from '../helpers/env.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('regression: task names and client ids are checked where they are given', () => {
  it('refuses a 9000-byte task name and a 9000-byte client id, keeping nothing of them', () => {
    const worker = new GearmanWorker(sharedHosts());
    expect(() => worker.registerTask('L'.repeat(9000), () => 'x')).toThrow(InvalidArgumentError);
    expect(() => worker.setClientId('C'.repeat(9000))).toThrow(InvalidArgumentError);
    expect(worker.abilities()).toEqual([]);
    expect(worker.workerClientId).toBeNull();
  });

  it.each([
    ['a tab', 'a\tb'],
    ['a newline', 'a\nb'],
    ['a space', 'a b'],
    ['a carriage return', 'a\rb'],
    ['NUL', 'a\0b'],
    ['nothing', ''],
  ])('refuses a task name with %s (gearmand listings could not show it)', (_what, name) => {
    const worker = new GearmanWorker(sharedHosts());
    expect(() => worker.registerTask(name, () => 'x')).toThrow(InvalidArgumentError);
    expect(worker.abilities()).toEqual([]);
  });

  it('while working, a refused registerTask keeps nothing, and later registrations are served', async () => {
    const logger = recordingLogger();
    const worker = new GearmanWorker(sharedHosts(), { logger });
    const client = new GearmanClient(sharedHosts());
    const first = taskName('first');
    worker.registerTask(first, () => 'one');
    const working = worker.work({ pollTimeout: 5 });
    cleanups.push(async () => {
      worker.shutdown();
      await working;
      client.shutdown();
    });
    expect((await client.submitJob(first, 'x', { pollTimeout: 10 })).state).toBe(JOB_COMPLETE);
    expect(() => worker.registerTask('L'.repeat(9000), () => 'x')).toThrow(/task name is 9000 bytes/);
    expect(() => worker.setClientId('C'.repeat(9000))).toThrow(/clientId is 9000 bytes/);
    expect(worker.abilities()).toEqual([first]);
    const later = taskName('later');
    expect(worker.registerTask(later, () => 'two')).toBe(later);
    const request = await client.submitJob(later, 'y', { pollTimeout: 10 });
    expect(request.state).toBe(JOB_COMPLETE);
    expect(String(request.result)).toBe('two');
    expect(logger.find('could not connect')).toEqual([]);
    expect(logger.find(/closing connection/)).toEqual([]);
  });
});
