// `gearman-ts submit` (one job) and `gearman-ts work` against gearmand: results on stdout,
// updates on stderr, exit codes, 1 MiB payloads, a failing command, --concurrency, SIGTERM.
import { mkdtempSync, existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { GearmanAdminClient, GearmanClient, GearmanWorker } from 'gearman-ts';
import { sharedHosts, taskName, until } from '../helpers/env.js';
import { CliProcess, runCli } from '../cli/run-cli.js';

const servers = () => sharedHosts()[0]!;
const started: CliProcess[] = [];
const dirs: string[] = [];

function startWork(args: string[]): CliProcess {
  const p = new CliProcess(['work', '--servers', servers(), ...args]);
  started.push(p);
  return p;
}

/** Resolves once `task` has `n` workers registered on the shared gearmand. */
async function workersOf(task: string, n: number): Promise<void> {
  const admin = new GearmanAdminClient(sharedHosts());
  try {
    await until(async () => ((await admin.getStatus()).find((r) => r.task === task)?.workers ?? 0) >= n, 15_000, 20);
  } finally {
    admin.shutdown();
  }
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cli-work-'));
  dirs.push(dir);
  return dir;
}

afterEach(async () => {
  for (const p of started.splice(0)) await p.stop('SIGKILL');
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('gearman-ts submit', { timeout: 90_000 }, () => {
  it('sends the argument or stdin as data and prints the result on stdout', async () => {
    const task = taskName('cli-rev');
    startWork([task, '--', 'rev']);
    await workersOf(task, 1);
    const arg = await runCli(['submit', task, 'hello', '--servers', servers()]);
    expect(arg).toMatchObject({ code: 0, stdout: 'olleh' });
    const stdin = await runCli(['submit', task, '--servers', servers()], { input: 'from stdin\n' });
    expect(stdin).toMatchObject({ code: 0, stdout: 'nidts morf\n' });
  });

  it('shows the worker data, warnings and status on stderr as they arrive, the result on stdout', async () => {
    const task = taskName('cli-updates');
    const worker = new GearmanWorker(sharedHosts());
    worker.registerTask(task, async (w, job) => {
      await w.sendJobData(job, 'partial');
      await w.sendJobWarning(job, 'careful');
      await w.sendJobStatus(job, 1, 4);
      return `done:${String(job.data)}`;
    });
    const working = worker.work({ pollTimeout: 1 });
    try {
      await workersOf(task, 1);
      const run = await runCli(['submit', task, 'x', '--servers', servers()]);
      expect(run.code).toBe(0);
      expect(run.stdout).toBe('done:x');
      expect(run.stderr).toBe('data: partial\nwarning: careful\nstatus: 1/4 (25%)\n');
    } finally {
      worker.shutdown();
      await working;
    }
  });

  it('--background prints the handle; --priority and --unique reach the server', async () => {
    const task = taskName('cli-bg');
    const bg = await runCli(['submit', '--background', '--priority', 'high', '--unique', 'u-1', task, 'x', '--servers', servers()]);
    expect(bg.code).toBe(0);
    expect(bg.stdout).toMatch(/^H:\S+:\d+\n$/);
    // The same unique coalesces into the queued job: the same handle comes back.
    const again = await runCli(['submit', '-b', '-u', 'u-1', task, 'y', '--servers', servers()]);
    expect(again.stdout).toBe(bg.stdout);
    // High priority runs first: a worker started now takes the high job before a low one.
    await runCli(['submit', '-b', '-p', 'low', task, 'low', '--servers', servers()]);
    const seen: string[] = [];
    const worker = new GearmanWorker(sharedHosts());
    worker.registerTask(task, (_w, job) => {
      seen.push(String(job.data));
      return '';
    });
    worker.afterJob = () => seen.length < 2;
    await worker.work({ pollTimeout: 1 });
    expect(seen).toEqual(['x', 'low']);
  });

  it('--timeout with no worker: exit 1 and a message naming the task', async () => {
    const task = taskName('cli-nobody');
    const run = await runCli(['submit', '--timeout', '0.5', task, 'x', '--servers', servers()]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`timed out after 0.5 s waiting for ${task}`);
  });

  it('--when holds a background job until its time (where the client has scheduled jobs)', async () => {
    const task = taskName('cli-when');
    const run = await runCli(['submit', '--when', '+3600', task, 'later', '--servers', servers()]);
    const { GearmanClient: Client } = await import('gearman-ts');
    if (typeof (Client.prototype as unknown as Record<string, unknown>).getJobStatusByUnique !== 'function') {
      // A client without `when` would run the job at once: the tool refuses instead.
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('--when needs a client with scheduled jobs');
      return;
    }
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^H:\S+\n$/);
    // A worker runs a job submitted after it, and the scheduled one stays queued.
    startWork([task, '--', 'cat']);
    await workersOf(task, 1);
    expect(await runCli(['submit', task, 'now', '--servers', servers()])).toMatchObject({ code: 0, stdout: 'now' });
    const status = JSON.parse((await runCli(['status', '--json', task, '--servers', servers()])).stdout);
    expect(status).toEqual([{ server: servers(), task, queued: 1, running: 0, workers: 1 }]);
  });

  it('bad arguments exit 2', async () => {
    expect((await runCli(['submit', '--servers', servers()])).code).toBe(2);
    expect((await runCli(['submit', '--when', '+10', '-p', 'high', 't', 'x', '--servers', servers()])).code).toBe(2);
    expect((await runCli(['submit', 't', 'a', 'b', '--servers', servers()])).code).toBe(2);
    const prio = await runCli(['submit', '-p', 'urgent', 't', 'x', '--servers', servers()]);
    expect(prio.code).toBe(2);
    expect(prio.stderr).toContain('--priority must be high, normal or low');
    expect((await runCli(['submit', '--timeout', 'soon', 't', 'x', '--servers', servers()])).code).toBe(2);
    expect((await runCli(['submit', '--when', 'tomorrowish', 't', 'x', '--servers', servers()])).code).toBe(2);
  });
});

describe('gearman-ts work', { timeout: 90_000 }, () => {
  it('passes 1 MiB payloads both ways (no pipe deadlock)', async () => {
    const task = taskName('cli-big');
    startWork([task, '--', 'cat']);
    await workersOf(task, 1);
    const payload = randomBytes(1024 * 1024);
    const run = await runCli(['submit', task, '--servers', servers()], { input: payload });
    expect(run.code).toBe(0);
    expect(run.stdoutBytes.equals(payload)).toBe(true);
    // And a command that writes 1 MiB to stderr and stdout while its stdin is still coming.
    const task2 = taskName('cli-big-err');
    startWork([task2, '--', 'sh', '-c', 'head -c 1048576 /dev/zero | tr "\\0" "e" >&2; cat']);
    await workersOf(task2, 1);
    const client = new GearmanClient(sharedHosts());
    try {
      const request = await client.submitJob(task2, payload);
      expect(request.state).toBe('COMPLETE');
      expect((request.result as Buffer).equals(payload)).toBe(true);
      // One stderr line without a newline: one warning of 1 MiB.
      expect(request.warningUpdates.map((w) => (w as Buffer).length)).toEqual([1024 * 1024]);
    } finally {
      client.shutdown();
    }
  });

  it('a failing command fails the job with the stderr tail as the exception; stderr lines are warnings', async () => {
    const task = taskName('cli-fail');
    startWork([task, '--', 'sh', '-c', 'cat >/dev/null; echo "step one" >&2; echo "it broke: $GEARMAN_TASK" >&2; exit 3']);
    await workersOf(task, 1);
    const client = new GearmanClient(sharedHosts());
    try {
      const request = await client.submitJob(task, 'x');
      expect(request.state).toBe('FAILED');
      expect(String(request.exception)).toBe(`step one\nit broke: ${task}`);
      expect(request.warningUpdates.map(String)).toEqual(['step one', `it broke: ${task}`]);
    } finally {
      client.shutdown();
    }
    const run = await runCli(['submit', task, 'x', '--servers', servers()]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`(${task}) failed: step one\nit broke: ${task}`);
  });

  it('a GEARMAN_STATUS N/D line on stderr is sent as the job status, other lines as warnings', async () => {
    const task = taskName('cli-status');
    startWork([task, '--', 'sh', '-c', 'echo "GEARMAN_STATUS 1/2" >&2; echo "half way" >&2; echo "GEARMAN_STATUS 2/2" >&2; cat']);
    await workersOf(task, 1);
    const run = await runCli(['submit', task, 'x', '--servers', servers()]);
    expect(run).toMatchObject({ code: 0, stdout: 'x' });
    expect(run.stderr).toBe('status: 1/2 (50%)\nwarning: half way\nstatus: 2/2 (100%)\n');
  });

  it('a command that cannot start fails the job, and the worker keeps serving', async () => {
    const task = taskName('cli-enoent');
    startWork([task, '--', '/nonexistent/command']);
    await workersOf(task, 1);
    for (let i = 0; i < 2; i++) {
      const run = await runCli(['submit', task, 'x', '--servers', servers()]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('cannot run /nonexistent/command');
    }
  });

  it('--concurrency N runs N jobs at once, never more', async () => {
    const task = taskName('cli-conc');
    const dir = tempDir();
    // Each job marks itself started, then waits for the spec's go file.
    const work = startWork([task, '--concurrency', '3', '--', 'sh', '-c', `touch "${dir}/$GEARMAN_UNIQUE"; while [ ! -e "${dir}/go" ]; do sleep 0.02; done; cat`]);
    // One worker connection with three slots.
    await workersOf(task, 1);
    const client = new GearmanClient(sharedHosts());
    const admin = new GearmanAdminClient(sharedHosts());
    try {
      const all = client.submitMultipleJobs([1, 2, 3, 4, 5].map((i) => ({ task, data: `j${i}`, unique: `u${i}` })));
      await until(() => readdirSync(dir).length >= 3, 15_000, 20);
      const status = (await admin.getStatus()).find((r) => r.task === task)!;
      expect(status).toMatchObject({ running: 3, workers: 1 });
      expect(readdirSync(dir)).toHaveLength(3);
      writeFileSync(join(dir, 'go'), '');
      const requests = await all;
      expect(requests.map((r) => String(r.result))).toEqual(['j1', 'j2', 'j3', 'j4', 'j5']);
    } finally {
      client.shutdown();
      admin.shutdown();
    }
    expect(work.child.exitCode).toBe(null);
  });

  it('SIGTERM stops gracefully: the running job finishes and answers, then it exits 0', async () => {
    const task = taskName('cli-term');
    const dir = tempDir();
    const work = startWork([task, '--', 'sh', '-c', `touch "${dir}/started"; while [ ! -e "${dir}/go" ]; do sleep 0.02; done; cat`]);
    await workersOf(task, 1);
    const client = new GearmanClient(sharedHosts());
    try {
      const pending = client.submitJob(task, 'finish me');
      await until(() => existsSync(join(dir, 'started')), 15_000, 20);
      work.child.kill('SIGTERM');
      await work.waitFor(/SIGTERM: finishing running jobs/);
      writeFileSync(join(dir, 'go'), '');
      const request = await pending;
      expect(request.state).toBe('COMPLETE');
      expect(String(request.result)).toBe('finish me');
      const end = await work.exited;
      expect(end.code).toBe(0);
    } finally {
      client.shutdown();
    }
  });

  it('--grace: past it the running command is ended, the job re-queued, and work exits 1', async () => {
    const task = taskName('cli-grace');
    const dir = tempDir();
    const work = startWork([task, '--grace', '0.3', '--', 'sh', '-c', `touch "${dir}/started"; exec sleep 600`]);
    await workersOf(task, 1);
    const client = new GearmanClient(sharedHosts());
    const admin = new GearmanAdminClient(sharedHosts());
    try {
      await client.submitJob(task, 'slow', { background: true });
      await until(() => existsSync(join(dir, 'started')), 15_000, 20);
      work.child.kill('SIGTERM');
      const end = await work.exited;
      expect(end.code).toBe(1);
      expect(end.stderr).toContain('1 running job(s) were aborted; the server re-queues them');
      // Back in the queue, with no worker left: queued 1, running 0.
      await until(async () => {
        const row = (await admin.getStatus()).find((r) => r.task === task);
        return row?.queued === 1 && row.running === 0 && row.workers === 0;
      }, 15_000, 20);
    } finally {
      client.shutdown();
      admin.shutdown();
    }
  });

  it('bad arguments exit 2', async () => {
    const noCommand = await runCli(['work', 't', '--servers', servers()]);
    expect(noCommand.code).toBe(2);
    expect(noCommand.stderr).toContain('expected -- COMMAND');
    expect((await runCli(['work', '--', 'cat', '--servers', servers()])).code).toBe(2);
    expect((await runCli(['work', 't', '-c', '0', '--servers', servers(), '--', 'cat'])).code).toBe(2);
  });
});
