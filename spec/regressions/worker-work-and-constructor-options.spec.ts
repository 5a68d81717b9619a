// Issue 9: `work({ poll_timeout: 0.2 })` and `work(5)` ran 60 s cycles (the key and the number
// were ignored). Options objects are now checked: an unknown key is an InvalidArgumentError (a
// TypeError) naming it and the camelCase key meant; a positional argument is one too. The
// GearmanWorker constructor's options are checked the same way.
import { describe, expect, it } from 'vitest';
import { GearmanWorker, InvalidArgumentError } from '../../lib/index.js';
import { sharedHosts } from '../helpers/env.js';

describe('regression: work() and GearmanWorker options are checked', () => {
  it("work({ poll_timeout: 0.2 }) rejects, suggesting 'pollTimeout'", async () => {
    const worker = new GearmanWorker(sharedHosts());
    const error = await worker.work({ poll_timeout: 0.2 } as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(/unknown option 'poll_timeout'; did you mean 'pollTimeout'\?/);
    expect(worker.connectionList.every((c) => !c.alive)).toBe(true);
  });

  it('work(5) rejects: an options object belongs there', async () => {
    const worker = new GearmanWorker(sharedHosts());
    await expect(worker.work(5 as never)).rejects.toThrow(/work: expected an options object \{ pollTimeout \}, got number 5/);
  });

  it('work({ pollTimeout: 0 }) and a negative pollTimeout reject', async () => {
    const worker = new GearmanWorker(sharedHosts());
    await expect(worker.work({ pollTimeout: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(worker.work({ pollTimeout: -1 })).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('the constructor refuses unknown keys, positional arguments and bad values', () => {
    expect(() => new GearmanWorker(sharedHosts(), { retry_strategy: () => 1 } as never)).toThrow(/unknown option 'retry_strategy'; did you mean 'retryStrategy'\?/);
    expect(() => new GearmanWorker(sharedHosts(), { concurency: 2 } as never)).toThrow(/did you mean 'concurrency'\?/);
    expect(() => new GearmanWorker(sharedHosts(), 5 as never)).toThrow(InvalidArgumentError);
    expect(() => new GearmanWorker(sharedHosts(), { concurrency: 0 })).toThrow(/concurrency must be an integer >= 1/);
    expect(() => new GearmanWorker(sharedHosts(), { concurrency: 1.5 })).toThrow(InvalidArgumentError);
    expect(() => new GearmanWorker(sharedHosts(), { exceptions: 'yes' as never })).toThrow(InvalidArgumentError);
    expect(() => new GearmanWorker(sharedHosts(), { retryStrategy: 5 as never })).toThrow(InvalidArgumentError);
  });

  it('stop() and registerTask() options are checked too', async () => {
    const worker = new GearmanWorker(sharedHosts());
    expect(() => worker.registerTask('t', () => 1, { timeout: 5 } as never)).toThrow(/did you mean 'timeoutMs'\?/);
    expect(() => worker.registerTask('t', () => 1, { timeoutMs: 0 })).toThrow(InvalidArgumentError);
    expect(worker.abilities()).toEqual([]);
    expect(() => worker.stop({ timeout_ms: 5 } as never)).toThrow(/did you mean 'timeoutMs'\?/);
  });
});
