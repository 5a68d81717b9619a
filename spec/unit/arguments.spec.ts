import { describe, expect, it } from 'vitest';
import { checkClientId, checkOptions, checkPollTimeout, checkTaskName, checkUnique, describeValue } from '../../lib/arguments.js';
import { GearmanError, InvalidArgumentError } from '../../lib/errors.js';

describe('argument checks', () => {
  it('names an unknown option key and the camelCase one it most likely meant', () => {
    expect(() => checkOptions({ poll_timeout: 1 } as never, ['pollTimeout', 'waitUntilComplete'], 'submitJob')).toThrow(
      /submitJob: unknown option 'poll_timeout'; did you mean 'pollTimeout'\?/,
    );
    expect(() => checkOptions({ wait_until_complete: false } as never, ['pollTimeout', 'waitUntilComplete'], 'submitJob')).toThrow(
      /did you mean 'waitUntilComplete'/,
    );
    expect(() => checkOptions({ pollTimout: 1 } as never, ['pollTimeout'], 'x')).toThrow(/did you mean 'pollTimeout'/);
    expect(() => checkOptions({ zzz: 1 } as never, ['pollTimeout'], 'x')).toThrow(/unknown option 'zzz'; known options: pollTimeout/);
  });

  it('refuses a positional argument where an options object belongs', () => {
    expect(() => checkOptions(5 as never, ['pollTimeout'], 'work')).toThrow(/work: expected an options object \{ pollTimeout \}, got number 5/);
    expect(() => checkOptions('HIGH' as never, ['priority'], 'x')).toThrow(InvalidArgumentError);
    expect(() => checkOptions([] as never, ['priority'], 'x')).toThrow(/got array/);
    expect(() => checkOptions(new Date() as never, ['priority'], 'x')).toThrow(/plain options object/);
    expect(checkOptions(undefined, ['a'], 'x')).toEqual({});
    expect(checkOptions(null, ['a'], 'x')).toEqual({});
    expect(checkOptions(Object.create(null) as object, ['a'], 'x')).toEqual({});
  });

  it('InvalidArgumentError is a TypeError and, through hasInstance, a GearmanError', () => {
    const err = new InvalidArgumentError('bad');
    expect(err).toBeInstanceOf(TypeError);
    expect(err).toBeInstanceOf(GearmanError);
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(new TypeError('x')).not.toBeInstanceOf(GearmanError);
    expect(new GearmanError('x')).toBeInstanceOf(GearmanError);
  });

  it('has one pollTimeout rule', () => {
    expect(checkPollTimeout(undefined, 'x')).toBeNull();
    expect(checkPollTimeout(null, 'x')).toBeNull();
    expect(checkPollTimeout(Infinity, 'x')).toBeNull();
    expect(checkPollTimeout(0, 'x')).toBe(0);
    expect(checkPollTimeout(0.5, 'x')).toBe(0.5);
    for (const bad of [-1, Number.NaN, '1', {}]) expect(() => checkPollTimeout(bad, 'work')).toThrow(/work: pollTimeout must be a number of seconds >= 0/);
  });

  it('has one task name rule', () => {
    expect(checkTaskName('reverse', 'x')).toBe('reverse');
    for (const bad of ['', 'a b', 'a\tb', 'a\nb', 'a\0b', 'L'.repeat(513), 42]) expect(() => checkTaskName(bad, 'registerTask')).toThrow(InvalidArgumentError);
    expect(() => checkTaskName('L'.repeat(9000), 'registerTask')).toThrow(/9000 bytes; at most 512/);
  });

  it('has one unique rule and one client id rule', () => {
    expect(checkUnique('', 'x')).toBeNull();
    expect(checkUnique('-', 'x')).toBe('-');
    for (const bad of ['.', 'a\nb', 'u'.repeat(64), 7]) expect(() => checkUnique(bad, 'submitJob')).toThrow(InvalidArgumentError);
    expect(checkClientId('my worker', 'x')).toBe('my worker');
    for (const bad of ['', 'a : b', 'a\nb', 'c'.repeat(128)]) expect(() => checkClientId(bad, 'setClientId')).toThrow(InvalidArgumentError);
  });

  it('describes values', () => {
    expect(describeValue(null)).toBe('null');
    expect(describeValue(5)).toBe('number 5');
    expect(describeValue('x'.repeat(50))).toMatch(/^string "x{40}\.\.\."$/);
    expect(describeValue(Buffer.alloc(1))).toBe('Buffer');
    expect(describeValue({})).toBe('object');
  });
});

describe('host lists', () => {
  it('no list and an empty list both mean localhost:4730, on all three classes', async () => {
    const { GearmanClient, GearmanWorker, GearmanAdminClient } = await import('../../lib/index.js');
    for (const list of [undefined, null, []]) {
      const client = new GearmanClient(list);
      const worker = new GearmanWorker(list);
      const admin = new GearmanAdminClient(list);
      for (const o of [client, worker, admin]) expect(o.connectionList.map((c) => c.address)).toEqual(['localhost:4730']);
      client.shutdown();
      worker.shutdown();
      admin.shutdown();
    }
  });
});
