// Servers that go away under a working worker: it keeps working, reconnects with the retryStrategy
// back-off, registers its client id and abilities again, and serves again. Each test runs its own
// gearmand, killed and restarted on the same port.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { GearmanClient, GearmanWorker, JOB_COMPLETE, ServerUnavailable, type Logger } from '../../lib/index.js';
import { freePort, startGearmand, type Gearmand } from '../helpers/gearmand.mjs';
import { taskName, until } from '../helpers/env.js';

const run = promisify(execFile);

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, debug() {}, info() {}, warn: (m: string) => void warnings.push(m), error() {} };
}

async function workersListing(port: number): Promise<string[]> {
  const { stdout } = await run('gearadmin', ['-h', '127.0.0.1', '-p', String(port), '--workers'], { timeout: 5000 });
  return stdout.split('\n');
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function server(port?: number): Promise<Gearmand> {
  const g = await startGearmand(port === undefined ? {} : { port });
  cleanups.push(() => g.stop());
  return g;
}

function start(worker: GearmanWorker, pollTimeout: number | null = 60): { working: Promise<void>; settled: () => boolean } {
  let done = false;
  const working = worker.work({ pollTimeout });
  working.then(
    () => (done = true),
    () => (done = true),
  );
  cleanups.push(async () => {
    worker.shutdown();
    await working.catch(() => undefined);
  });
  return { working, settled: () => done };
}

async function submit(g: Gearmand, task: string, data: string) {
  const client = new GearmanClient([g.host]);
  try {
    return await client.submitJob(task, data, { pollTimeout: 10 });
  } finally {
    client.shutdown();
  }
}

describe('GearmanWorker surviving server restarts', () => {
  it('serves again after its server is killed and restarted on the same port, with client id and abilities re-sent', async () => {
    const task = taskName('restart');
    const id = `restart-${task}`;
    let g = await server();
    const port = g.port;
    const attempts: number[] = [];
    const logger = recordingLogger();
    const worker = new GearmanWorker([g.host], {
      logger,
      retryStrategy: (attempt) => {
        attempts.push(attempt);
        return Math.min(20 * 2 ** attempt, 200);
      },
    });
    worker.setClientId(id);
    worker.registerTask(task, (_w, job) => `served:${String(job.data)}`);
    const { working, settled } = start(worker);

    const before = await submit(g, task, 'before');
    expect(before.state).toBe(JOB_COMPLETE);
    expect(String(before.result)).toBe('served:before');

    await g.stop();
    await until(() => attempts.length >= 3); // several reconnect attempts while the port is closed
    expect(attempts.slice(0, 3)).toEqual([0, 1, 2]);
    expect(settled()).toBe(false);
    expect(logger.warnings.join('\n')).toMatch(new RegExp(`127\\.0\\.0\\.1:${port}.*(lost its connection|could not connect)`));

    g = await server(port);
    await until(async () => (await workersListing(port)).some((line) => line.includes(` ${id} : ${task}`)), 10_000);
    const after = await submit(g, task, 'after');
    expect(after.state).toBe(JOB_COMPLETE);
    expect(String(after.result)).toBe('served:after');
    expect(settled()).toBe(false);

    // The back-off starts again from 0 after a successful reconnect.
    const seen = attempts.length;
    await g.stop();
    await until(() => attempts.length > seen);
    expect(attempts[seen]).toBe(0);
    worker.shutdown();
    await working;
  });

  it('does not end work() while every server is down, and connects once one comes up', async () => {
    const task = taskName('late-server');
    const port = await freePort();
    const attempts: number[] = [];
    const worker = new GearmanWorker([`127.0.0.1:${port}`], {
      logger: recordingLogger(),
      retryStrategy: (attempt) => {
        attempts.push(attempt);
        return 30;
      },
    });
    worker.registerTask(task, () => 'finally');
    const { settled } = start(worker, 0.1); // several poll cycles pass during the outage
    await until(() => attempts.length >= 5);
    expect(settled()).toBe(false);
    const g = await server(port);
    const request = await submit(g, task, 'x');
    expect(request.state).toBe(JOB_COMPLETE);
    expect(String(request.result)).toBe('finally');
    expect(settled()).toBe(false);
  });

  it('drops updates for a job whose connection died (logged, no rejection), releases the lock, and serves after the restart', async () => {
    const task = taskName('mid-job');
    let g = await server();
    const port = g.port;
    const logger = recordingLogger();
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const outcomes: string[] = [];
    const worker = new GearmanWorker([g.host], { logger, retryStrategy: () => 30 });
    worker.registerTask(task, async (w, job) => {
      if (String(job.data) !== 'first') return 'second done';
      outcomes.push('started');
      await gate;
      await w.sendJobData(job, 'lost').then(() => outcomes.push('data resolved'));
      await w.sendJobWarning(job, 'lost').then(() => outcomes.push('warning resolved'));
      await w.sendJobException(job, 'lost').then(() => outcomes.push('exception resolved'));
      return 'lost too';
    });
    const { settled } = start(worker);
    const client = new GearmanClient([g.host], { logger: recordingLogger() });
    cleanups.push(() => client.shutdown());
    void client.submitJob(task, 'first').catch(() => undefined);
    await until(() => outcomes.length === 1);
    await g.stop();
    await until(() => worker.connectionList.every((c) => !c.connected));
    open();
    await until(() => outcomes.length === 4);
    expect(outcomes).toEqual(['started', 'data resolved', 'warning resolved', 'exception resolved']);
    const warnings = logger.warnings.join('\n');
    expect(warnings).toMatch(/WORK_DATA for job .* dropped: its connection 127\.0\.0\.1:\d+ is gone/);
    expect(warnings).toMatch(/WORK_WARNING for job .* dropped/);
    expect(warnings).toMatch(/WORK_EXCEPTION for job .* dropped/);
    await until(() => !worker.hasJobLock());

    g = await server(port);
    const next = await submit(g, task, 'second');
    expect(next.state).toBe(JOB_COMPLETE);
    expect(String(next.result)).toBe('second done');
    expect(settled()).toBe(false);
  });

  it('rejects work() with ServerUnavailable only when retryStrategy gives up on every server', async () => {
    const port = await freePort();
    const worker = new GearmanWorker([`127.0.0.1:${port}`], { logger: recordingLogger(), retryStrategy: () => null });
    worker.registerTask(taskName('give-up'), () => '');
    await expect(worker.work()).rejects.toBeInstanceOf(ServerUnavailable);
    expect(worker.connectionList.every((c) => !c.connected && !c.connecting && !c.reconnectPending)).toBe(true);
  });
});
