// examples/worker-service.mjs, run as a user would run the service: it serves jobs with progress
// reports, and on SIGTERM finishes the jobs running at that moment (once, on this worker), then
// exits 0.
import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { GearmanClient, JOB_COMPLETE, type GearmanJobRequest } from '../../lib/index.js';
import { sharedHosts, taskName, until } from '../helpers/env.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('examples/worker-service.mjs', () => {
  it('runs two jobs at once with progress; SIGTERM lets both finish, then it exits 0', async () => {
    if (!existsSync(`${root}/dist/index.js`)) throw new Error('dist/ is missing: run `npm run build` first');
    const task = taskName('service');
    const child = spawn(process.execPath, ['examples/worker-service.mjs'], {
      cwd: root,
      env: { ...process.env, GEARMAN_SERVERS: sharedHosts().join(','), GEARMAN_TASK: task, WORKER_CONCURRENCY: '2', WORKER_STEPS: '4', WORKER_STEP_MS: '150' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    cleanups.push(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    await until(() => out.includes('connected to'), 20_000);
    const client = new GearmanClient(sharedHosts());
    cleanups.push(() => client.shutdown());
    const requests = await client.submitMultipleJobs(
      [
        { task, data: 'a.jpg' },
        { task, data: 'b.jpg' },
      ],
      { waitUntilComplete: false },
    );
    // Both are running once each has reported progress.
    const progressed = (r: GearmanJobRequest) => (r.status.numerator ?? 0) >= 1 || new Promise<void>((resolve) => r.once('status', () => resolve()));
    await Promise.all(requests.map(progressed));
    child.kill('SIGTERM');
    const done = await client.waitUntilJobsCompleted(requests, { pollTimeout: 25 });
    expect(await exited).toBe(0);
    expect(done.map((r) => r.state)).toEqual([JOB_COMPLETE, JOB_COMPLETE]);
    expect(done.map((r) => String(r.result))).toEqual([`a.jpg: done in 4 steps by ${child.pid}`, `b.jpg: done in 4 steps by ${child.pid}`]);
    expect(out).toMatch(/SIGTERM: finishing 2 running job\(s\)/);
    expect(out).toContain('stopped');
  });
});
