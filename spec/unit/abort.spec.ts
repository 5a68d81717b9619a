import { describe, expect, it } from 'vitest';
import { abortReason, checkSignal, raceAbort } from '../../lib/abort.js';
import { InvalidArgumentError } from '../../lib/errors.js';

/** Counts the signal's abort listeners through add/removeEventListener. */
function counted(signal: AbortSignal): { signal: AbortSignal; listeners: () => number } {
  let n = 0;
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = ((...args: Parameters<typeof add>) => {
    n++;
    add(...args);
  }) as AbortSignal['addEventListener'];
  signal.removeEventListener = ((...args: Parameters<typeof remove>) => {
    n--;
    remove(...args);
  }) as AbortSignal['removeEventListener'];
  return { signal, listeners: () => n };
}

describe('abort helpers', () => {
  it('checkSignal accepts a signal or nothing, refuses anything else', () => {
    const signal = new AbortController().signal;
    expect(checkSignal(signal, 'submitJob')).toBe(signal);
    expect(checkSignal(undefined, 'submitJob')).toBeUndefined();
    expect(checkSignal(null, 'submitJob')).toBeUndefined();
    expect(() => checkSignal(true, 'submitJob')).toThrow(InvalidArgumentError);
    expect(() => checkSignal({}, 'submitJob')).toThrow(/submitJob: signal must be an AbortSignal/);
  });

  it('abortReason is the reason given, or an AbortError', () => {
    const c = new AbortController();
    c.abort();
    expect(abortReason(c.signal)).toMatchObject({ name: 'AbortError' });
    const d = new AbortController();
    d.abort('why');
    expect(abortReason(d.signal)).toBe('why');
  });

  it('raceAbort rejects within the turn of abort(), calls onAbort first, and removes its listener', async () => {
    const c = new AbortController();
    const { signal, listeners } = counted(c.signal);
    const stopped: unknown[] = [];
    const race = raceAbort(new Promise(() => {}), signal, (reason) => stopped.push(reason));
    expect(listeners()).toBe(1);
    let settled: unknown;
    race.catch((e: unknown) => (settled = e));
    const reason = new Error('stop');
    c.abort(reason);
    expect(stopped).toEqual([reason]);
    await Promise.resolve();
    await Promise.resolve();
    expect(settled).toBe(reason);
  });

  it('raceAbort settles as the wait does and removes its listener', async () => {
    const c = new AbortController();
    const { signal, listeners } = counted(c.signal);
    await expect(raceAbort(Promise.resolve(7), signal)).resolves.toBe(7);
    await expect(raceAbort(Promise.reject(new Error('no')), signal)).rejects.toThrow('no');
    expect(listeners()).toBe(0);
  });

  it('raceAbort with an aborted signal rejects at once, stops the wait, and swallows its later rejection', async () => {
    const stopped: unknown[] = [];
    let rejectWait!: (e: unknown) => void;
    const wait = new Promise((_, reject) => (rejectWait = reject));
    const signal = AbortSignal.abort();
    await expect(raceAbort(wait, signal, (r) => stopped.push(r))).rejects.toMatchObject({ name: 'AbortError' });
    expect(stopped).toHaveLength(1);
    rejectWait(new Error('late'));
    await new Promise((resolve) => setImmediate(resolve));
  });

  it('raceAbort without a signal is the wait itself', () => {
    const p = Promise.resolve(1);
    expect(raceAbort(p, undefined)).toBe(p);
  });
});
