// Every example of the python-gearman client docs, run as a user would run it.
import { describe, expect, it } from 'vitest';
import { runExample } from '../helpers/run-example.js';

const HEX = '[0-9a-f]{32}';

describe('client examples', () => {
  it('client-submit-job: a simple job as a blocking call', async () => {
    const run = await runExample('examples/client-submit-job.mjs');
    expect(run.stderr).not.toMatch(/Error/);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^Job ${HEX} finished!  Result: COMPLETE - processed 21 bytes$`, 'm'));
  });

  it('client-background-high: a high priority background job, complete once accepted', async () => {
    const run = await runExample('examples/client-background-high.mjs');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^Job ${HEX} finished!  Result: CREATED - null$`, 'm'));
    expect(run.stdout).toMatch(/^handle H:[^:]+:\d+$/m);
  });

  it('client-multiple-jobs: submit without waiting, then wait for the results', async () => {
    const run = await runExample('examples/client-multiple-jobs.mjs');
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n').filter((l) => l.startsWith('Job '));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/Result: COMPLETE - BINARY DATA$/);
    expect(lines[1]).toMatch(/Result: COMPLETE - data binary other$/);
  });

  it('client-recover: requests lost with their server are re-sent and complete', async () => {
    const run = await runExample('examples/client-recover.mjs');
    expect(run.stderr).not.toMatch(/Assertion failed/);
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n').filter((l) => l.startsWith('Job '));
    expect(lines.some((l) => l.endsWith('timed out!'))).toBe(true);
    expect(lines).toContainEqual(expect.stringMatching(/finished!  Result: COMPLETE - task binary string done$/));
    expect(lines).toContainEqual(expect.stringMatching(/finished!  Result: COMPLETE - other binary string done$/));
  });

  it('client-data-encoder: objects through a JSON data encoder', async () => {
    const run = await runExample('examples/client-data-encoder.mjs');
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe('COMPLETE {"received":{"hello":"there"},"keys":["hello"]}');
  });

  it('reverse: a worker and a client doing real work', async () => {
    const run = await runExample('examples/reverse.mjs');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('COMPLETE: !namraeG ,olleH (status 1/2)');
    for (const [word, reversed] of [['alpha', 'ahpla'], ['beta', 'ateb'], ['gamma', 'ammag'], ['delta', 'atled']]) {
      expect(run.stdout).toContain(`${word} -> ${reversed}`);
    }
    expect(run.stdout).toMatch(/background job H:[^:]+:\d+: CREATED, complete=true/);
  });

  it('npm run demo (examples/demo.mjs): the embedded server, a worker and a client, every result right', async () => {
    const { execFile } = await import('node:child_process');
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.GEARMAN_SERVERS;
    const run = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      execFile(process.execPath, ['examples/demo.mjs'], { env, timeout: 60_000 }, (error, stdout) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout }),
      );
    });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^embedded job server listening on 127\.0\.0\.1:\d+$/m);
    // pi(x) for the demo's limits: a wrong count is a wrong result.
    for (const [count, limit] of [[1229, 10000], [9592, 100000], [33860, 400000]]) expect(run.stdout).toMatch(new RegExp(`\\b${count} primes below ${limit}\\b`));
    expect(run.stdout).toMatch(/^8\/8 jobs complete in \d+ ms, \d+ progress updates received$/m);
    expect(run.stdout).toContain('server counters: submitted 8, completed 8, failed 0');
  });
});
