// stop({ timeoutMs }): grabs nothing more (without CANT_DO / RESET_ABILITIES, which would make
// gearmand drop the running job's result), lets the running jobs finish and answer, then closes;
// an idle worker stops at once; past timeoutMs job.signal is aborted and the worker closes as
// shutdown() does. Also: shutdown() aborts job.signal, and the SIGTERM recipe of the README,
// proved on a worker process: a job running when SIGTERM arrives completes once, on that worker.
import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { GearmanAdminClient, GearmanClient, GearmanWorker, JOB_COMPLETE, ShutdownError } from '../../lib/index.js';
import type { WorkerJob } from '../../lib/worker.js';
import { recordingLogger } from '../helpers/fake-server.js';
import { sharedHosts, sharedPort, taskName, until } from '../helpers/env.js';
import { CommandType } from '../../lib/protocol/commands.js';
import type { PacketArg } from '../../lib/protocol/encoder.js';
import type { CommandHandler } from '../../lib/command-handler/command-handler.js';

const T = CommandType;
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Records the packet types the worker sends. */
class RecordingWorker extends GearmanWorker {
  readonly sent: number[] = [];
  override sendCommand(handler: CommandHandler, type: number, args: readonly PacketArg[], validated?: boolean): void {
    this.sent.push(type);
    super.sendCommand(handler, type, args, validated);
  }
}

function newClient(): GearmanClient {
  const client = new GearmanClient(sharedHosts());
  cleanups.push(() => client.shutdown());
  return client;
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('GearmanWorker.stop()', () => {
  it('lets a running job finish and answer once, grabs nothing more, and sends no CANT_DO or RESET_ABILITIES', async () => {
    const task = taskName('stop-running');
    const started = deferred();
    const release = deferred();
    let runs = 0;
    const worker = new RecordingWorker(sharedHosts(), { logger: recordingLogger() });
    worker.registerTask(task, async () => {
      runs++;
      started.resolve();
      await release.promise;
      return 'finished';
    });
    const working = worker.work({ pollTimeout: 60 });
    cleanups.push(async () => {
      worker.shutdown();
      await working;
    });
    const client = newClient();
    const first = client.submitJob(task, '1', { pollTimeout: 20 });
    await started.promise;
    const second = await client.submitJob(task, '2', { background: true });
    const sentBefore = worker.sent.length;
    let stopped = false;
    const stopping = worker.stop().then(() => (stopped = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false);
    release.resolve();
    await stopping;
    await working;
    const done = await first;
    expect(done.state).toBe(JOB_COMPLETE);
    expect(String(done.result)).toBe('finished');
    expect(runs).toBe(1);
    const after = worker.sent.slice(sentBefore);
    expect(after).toContain(T.WORK_COMPLETE);
    expect(after).not.toContain(T.CANT_DO);
    expect(after).not.toContain(T.RESET_ABILITIES);
    expect(after).not.toContain(T.GRAB_JOB_UNIQ);
    // The second job was never taken: it is still queued for another worker.
    const admin = new GearmanAdminClient(sharedHosts());
    cleanups.push(() => admin.shutdown());
    const row = (await admin.getStatus()).find((r) => r.task === task);
    expect(row).toMatchObject({ queued: 1, running: 0 });
    expect(second.state).toBe('CREATED');
    expect(worker.connectionList.every((c) => !c.connected)).toBe(true);
  });

  it('stops an idle worker at once, not at the end of its pollTimeout cycle', async () => {
    const worker = new GearmanWorker(sharedHosts(), { logger: recordingLogger() });
    worker.registerTask(taskName('idle'), () => 'x');
    const connected = new Promise<void>((resolve) => worker.once('connect', () => resolve()));
    const working = worker.work({ pollTimeout: 600 });
    await connected;
    await worker.stop();
    await working; // a 600 s cycle: this spec's 30 s timeout fails if stop() waits for it
    expect(worker.connectionList.every((c) => !c.alive)).toBe(true);
  });

  it('resolves at once when work() is not running', async () => {
    const worker = new GearmanWorker(sharedHosts());
    await worker.stop();
  });

  it('past timeoutMs aborts job.signal and closes as shutdown() does; gearmand re-queues the job', async () => {
    const task = taskName('stop-grace');
    const started = deferred();
    let signal: AbortSignal | undefined;
    const worker = new GearmanWorker(sharedHosts(), { logger: recordingLogger() });
    worker.registerTask(task, async (_w, job) => {
      signal = job.signal;
      started.resolve();
      await new Promise((resolve) => job.signal.addEventListener('abort', resolve));
      return 'late';
    });
    const working = worker.work({ pollTimeout: 60 });
    const client = newClient();
    await client.submitJob(task, 'x', { background: true });
    await started.promise;
    await worker.stop({ timeoutMs: 50 });
    await working;
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBeInstanceOf(ShutdownError);
    // Re-queued by gearmand: another worker gets it.
    const again = deferred();
    const second = new GearmanWorker(sharedHosts(), { logger: recordingLogger() });
    second.registerTask(task, () => {
      again.resolve();
      return 'ok';
    });
    const working2 = second.work({ pollTimeout: 5 });
    cleanups.push(async () => {
      second.shutdown();
      await working2;
    });
    await again.promise;
  });

  it('shutdown() aborts the signal of a running job', async () => {
    const task = taskName('shutdown-signal');
    const started = deferred();
    let job: WorkerJob | undefined;
    const worker = new GearmanWorker(sharedHosts(), { logger: recordingLogger() });
    worker.registerTask(task, async (_w, j) => {
      job = j;
      started.resolve();
      await new Promise((resolve) => j.signal.addEventListener('abort', resolve));
    });
    const working = worker.work({ pollTimeout: 60 });
    const client = newClient();
    await client.submitJob(task, 'x', { background: true });
    await started.promise;
    expect(job!.signal.aborted).toBe(false);
    worker.shutdown();
    await working;
    expect(job!.signal.aborted).toBe(true);
    expect(job!.signal.reason).toBeInstanceOf(ShutdownError);
    // Let the re-queued job go: a worker that answers it.
    const cleanup = new GearmanWorker(sharedHosts(), { logger: recordingLogger() });
    cleanup.registerTask(task, () => 'ok');
    const w2 = cleanup.work({ pollTimeout: 5 });
    const admin = new GearmanAdminClient(sharedHosts());
    cleanups.push(async () => {
      cleanup.shutdown();
      await w2;
      admin.shutdown();
    });
    await until(async () => (await admin.getStatus()).find((r) => r.task === task)?.queued === 0, 10_000);
  });
});

describe('the SIGTERM recipe (README: Running a worker as a service)', () => {
  it('a job running when SIGTERM arrives completes once, on this worker, and the process exits 0', async () => {
    const task = taskName('sigterm');
    // The job waits until the process got SIGTERM, so it is surely running when the signal arrives.
    const script = `
      import { GearmanWorker } from 'gearman-ts';
      const worker = new GearmanWorker(['127.0.0.1:${sharedPort()}'], { concurrency: 2 });
      const sigterm = new Promise((resolve) => process.once('SIGTERM', resolve));
      let runs = 0;
      worker.registerTask(${JSON.stringify(task)}, async (w, job) => {
        runs++;
        await w.sendJobStatus(job, 1, 2);
        await sigterm;
        await new Promise((resolve) => setTimeout(resolve, 50));
        return 'done by ' + process.pid + ' after ' + runs + ' run(s)';
      });
      process.once('SIGTERM', () => void worker.stop({ timeoutMs: 30000 }));
      worker.once('connect', () => console.log('ready'));
      await worker.work();
      console.log('stopped');
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    cleanups.push(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    await until(() => out.includes('ready'), 20_000);
    const client = newClient();
    const req = await client.submitJob(task, 'x', { pollTimeout: 25, waitUntilComplete: false });
    // The job runs once its WORK_STATUS arrives (the client reads it without a wait running).
    if (req.status.numerator !== 1) await new Promise<void>((resolve) => req.once('status', () => resolve()));
    child.kill('SIGTERM');
    const [done] = await client.waitUntilJobsCompleted([req], { pollTimeout: 25 });
    expect(await exited).toBe(0);
    expect(done!.state).toBe(JOB_COMPLETE);
    expect(String(done!.result)).toBe(`done by ${child.pid} after 1 run(s)`);
    expect(out).toContain('stopped');
  });
});
