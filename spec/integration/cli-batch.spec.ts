// `gearman-ts submit --jsonl`: 10,000 jobs served by `gearman-ts work`, every result present and
// correct, through a restart of the private gearmand mid-batch; failures, bad lines, progress.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startGearmand, type Gearmand } from '../helpers/gearmand.mjs';
import { taskName, until } from '../helpers/env.js';
import { GearmanAdminClient } from 'gearman-ts';
import { CliProcess, runCli } from '../cli/run-cli.js';

interface ResultLine {
  line: number;
  task: string;
  unique: string;
  handle: string | null;
  state: string;
  result?: string;
  exception?: string;
  error?: string;
}

const parse = (stdout: string): ResultLine[] =>
  stdout
    .trimEnd()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as ResultLine);

/** Resolves once `task` has a worker on `host`. */
async function workersOf(host: string, task: string): Promise<void> {
  const admin = new GearmanAdminClient([host]);
  try {
    await until(async () => ((await admin.getStatus()).find((r) => r.task === task)?.workers ?? 0) >= 1, 15_000, 20);
  } finally {
    admin.shutdown();
  }
}

describe('gearman-ts submit --jsonl', { timeout: 90_000 }, () => {
  let gearmand: Gearmand;
  let dir: string;
  const processes: CliProcess[] = [];

  beforeAll(async () => {
    gearmand = await startGearmand({ threads: 2 });
    dir = mkdtempSync(join(tmpdir(), 'cli-batch-'));
  });

  afterAll(async () => {
    for (const p of processes) await p.stop('SIGKILL');
    await gearmand?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('10,000 jobs with a worker started by work, through a gearmand restart mid-batch', async () => {
    const task = taskName('cli-upper');
    const count = 10_000;
    const file = join(dir, 'jobs.jsonl');
    writeFileSync(file, Array.from({ length: count }, (_, i) => JSON.stringify({ task, data: `job-${i}-abc` })).join('\n') + '\n');
    const work = new CliProcess(['work', task, '--concurrency', '8', '--servers', gearmand.host, '--', 'tr', 'a-z', 'A-Z']);
    processes.push(work);
    const batch = new CliProcess(['submit', '--jsonl', file, '--window', '500', '--servers', gearmand.host]);
    processes.push(batch);
    // Once the first windows' results are out, kill gearmand and start it again on the same port.
    await batch.waitFor(/"line":1000,/, 'stdout', 120_000);
    expect(batch.child.exitCode).toBe(null);
    gearmand.child.kill('SIGKILL');
    await new Promise((resolve) => gearmand.child.once('exit', resolve));
    gearmand = await startGearmand({ threads: 2, port: gearmand.port });
    const end = await batch.exited;
    expect(end.code).toBe(0);
    const results = parse(end.stdout);
    expect(results).toHaveLength(count);
    const lines = results.map((r) => r.line);
    expect(lines).toEqual(Array.from({ length: count }, (_, i) => i + 1));
    for (let i = 0; i < count; i++) {
      const r = results[i]!;
      if (r.state !== 'COMPLETE' || r.result !== `JOB-${i}-ABC`) throw new Error(`line ${i + 1}: ${JSON.stringify(r)}`);
    }
    // Both server instances accepted jobs: the second one numbers its handles from 1 again.
    expect(new Set(results.map((r) => r.handle)).size).toBeLessThan(count);
    expect(end.stderr).toMatch(new RegExp(`${count} job\\(s\\): ${count} complete, 0 failed, 0 timed out`));
    // Not a terminal: plain progress lines, no bar.
    expect(end.stderr).not.toContain('\r');
  }, 240_000);

  it('failed jobs and timeouts: one result each, a summary, exit 1; stdin as input', async () => {
    const task = taskName('cli-mixed');
    const work = new CliProcess(['work', task, '--servers', gearmand.host, '--', 'sh', '-c', 'read x; if [ "$x" = bad ]; then echo "no good" >&2; exit 1; fi; printf "ok:%s" "$x"']);
    processes.push(work);
    await workersOf(gearmand.host, task);
    const input = [
      { task, data: 'one' },
      { task, data: 'bad' },
      { data: 'two' }, // the default task
      { task: taskName('cli-nobody'), data: 'never runs' },
    ]
      .map((j) => JSON.stringify(j))
      .join('\n');
    const run = await runCli(['submit', '--jsonl', '-', task, '--timeout', '5', '--servers', gearmand.host], { input });
    expect(run.code).toBe(1);
    const results = parse(run.stdout);
    expect(results.map((r) => [r.line, r.state, r.result ?? r.exception ?? null])).toEqual([
      [1, 'COMPLETE', 'ok:one'],
      [2, 'FAILED', 'no good'],
      [3, 'COMPLETE', 'ok:two'],
      [4, 'TIMEOUT', null],
    ]);
    expect(run.stderr).toContain('4 job(s): 2 complete, 1 failed, 1 timed out');
  });

  it('--background: one handle per job', async () => {
    const task = taskName('cli-bgbatch');
    const input = Array.from({ length: 5 }, (_, i) => JSON.stringify({ data: `b${i}`, priority: i % 2 ? 'high' : 'low' })).join('\n');
    const run = await runCli(['submit', '--jsonl', '-', task, '--background', '-q', '--servers', gearmand.host], { input });
    expect(run.code).toBe(0);
    const results = parse(run.stdout);
    expect(results).toHaveLength(5);
    for (const r of results) expect(r).toMatchObject({ state: 'CREATED', handle: expect.stringMatching(/^H:/) });
    const status = JSON.parse((await runCli(['status', '--json', task, '--servers', gearmand.host])).stdout);
    expect(status).toEqual([{ server: gearmand.host, task, queued: 5, running: 0, workers: 0 }]);
  });

  it('a bad line exits 2 naming it, before anything is sent', async () => {
    const task = taskName('cli-badline');
    const run = await runCli(['submit', '--jsonl', '-', '--servers', gearmand.host], { input: `{"task":"${task}","data":"x"}\n{"task": oops}\n` });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('line 2: not JSON');
    const unknownField = await runCli(['submit', '--jsonl', '-', '--servers', gearmand.host], { input: `{"task":"${task}","payload":"x"}\n` });
    expect(unknownField.code).toBe(2);
    expect(unknownField.stderr).toContain('unknown field "payload"');
    const noTask = await runCli(['submit', '--jsonl', '-', '--servers', gearmand.host], { input: `{"data":"x"}\n` });
    expect(noTask.code).toBe(2);
    const status = JSON.parse((await runCli(['status', '--json', task, '--servers', gearmand.host])).stdout);
    expect(status).toEqual([]);
    // No server reachable from the start: a wrong address, reported at once with exit 3.
    const port = await freePort();
    const dead = await runCli(['submit', '--jsonl', '-', '--servers', `127.0.0.1:${port}`], { input: `{"task":"${task}","data":"x"}\n` });
    expect(dead.code).toBe(3);
    expect(dead.stderr).toContain(`127.0.0.1:${port}`);
    const missing = await runCli(['submit', '--jsonl', join(dir, 'missing.jsonl'), '--servers', gearmand.host]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read');
  });
});
