// The examples of "Client features beyond python-gearman" (#12), run as a user runs them.
import { describe, expect, it } from 'vitest';
import { runExample } from '../helpers/run-example.js';

describe('client feature examples', () => {
  it('client-progress: callbacks, then the iterator, in order', async () => {
    const run = await runExample('examples/client-progress.mjs');
    expect(run.stderr).not.toMatch(/Error/);
    expect(run.code).toBe(0);
    expect(run.stdout.split('\n').filter(Boolean)).toEqual([
      'data chunk 1',
      'status 1/3',
      'data chunk 2',
      'status 2/3',
      'data chunk 3',
      'status 3/3',
      'result resized cat.png',
      'progress 33%',
      'progress 67%',
      'progress 100%',
      'done resized dog.png',
    ]);
  });

  it('client-abort: a timeout signal and an abort() end the waits', async () => {
    const run = await runExample('examples/client-abort.mjs');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('gave up: TimeoutError');
    expect(run.stdout).toContain('aborted: AbortError');
    expect(run.stdout).toContain('status of an unknown unique: known=false');
  });

  it('client-epoch: the scheduled job runs after its time, with the nudge', async () => {
    const run = await runExample('examples/client-epoch.mjs');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^scheduled H:\S+ for epoch \d+$/m);
    const after = Number(/ran reminder #1 after ([\d.]+) s/.exec(run.stdout)?.[1]);
    expect(after).toBeGreaterThanOrEqual(1.5);
  });

  it('client-status-unique: two waiting clients, then an unknown unique', async () => {
    const run = await runExample('examples/client-status-unique.mjs');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/waitingClients: 2/);
    expect(run.stdout).toMatch(/known: true/);
    expect(run.stdout.trim().split('\n').at(-1)).toBe('false');
  });
});
