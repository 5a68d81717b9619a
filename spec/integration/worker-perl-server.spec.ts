// The Perl job server (Debian gearman-server, /usr/bin/gearmand) has no GRAB_JOB_UNIQ: it answers
// it with `ERROR server_error`. The worker falls back to GRAB_JOB on that connection and serves
// jobs there; a failure is WORK_EXCEPTION followed by WORK_FAIL (the Perl server does not end a
// job with WORK_EXCEPTION), and CAN_DO_TIMEOUT goes in seconds (its unit).
import { afterAll, beforeAll, afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { GearmanClient, GearmanWorker, JOB_COMPLETE, JOB_FAILED } from '../../lib/index.js';
import { recordingLogger } from '../helpers/fake-server.js';
import { adminLine, freePort } from '../helpers/gearmand.mjs';
import { taskName, until } from '../helpers/env.js';
import { CommandType } from '../../lib/protocol/commands.js';
import type { PacketArg } from '../../lib/protocol/encoder.js';
import type { CommandHandler } from '../../lib/command-handler/command-handler.js';

const T = CommandType;
const PERL_GEARMAND = '/usr/bin/gearmand';

let perl: ChildProcess;
let host: string;

beforeAll(async () => {
  if (!existsSync(PERL_GEARMAND)) throw new Error(`${PERL_GEARMAND} (the Perl job server) is missing: sudo apt-get install -y gearman-server`);
  const port = await freePort();
  host = `127.0.0.1:${port}`;
  perl = spawn(PERL_GEARMAND, [`--port=${port}`, '--listen=127.0.0.1'], { stdio: 'ignore' });
  await until(async () => {
    if (perl.exitCode !== null) throw new Error(`${PERL_GEARMAND} exited with ${perl.exitCode}`);
    return (await adminLine(port, 'version'))?.startsWith('v') === true;
  }, 15_000, 50);
});

afterAll(async () => {
  if (perl.exitCode !== null) return;
  const exited = new Promise((resolve) => perl.once('exit', resolve));
  perl.kill('SIGTERM');
  await exited;
});

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

class RecordingWorker extends GearmanWorker {
  readonly sent: Array<[number, string[]]> = [];
  override sendCommand(handler: CommandHandler, type: number, args: readonly PacketArg[], validated?: boolean): void {
    this.sent.push([type, args.map((a) => Buffer.from(a).toString())]);
    super.sendCommand(handler, type, args, validated);
  }
}

function setup(options: ConstructorParameters<typeof GearmanWorker>[1] = {}) {
  const logger = recordingLogger();
  const worker = new RecordingWorker([host], { logger, ...options });
  const client = new GearmanClient([host]);
  let working: Promise<void> | undefined;
  cleanups.push(async () => {
    worker.shutdown();
    await working;
    client.shutdown();
  });
  return { worker, client, logger, start: () => (working = worker.work({ pollTimeout: 5 })) };
}

describe('GearmanWorker against the Perl Gearman::Server', () => {
  it('falls back to GRAB_JOB after the ERROR for GRAB_JOB_UNIQ and serves jobs, several at once', async () => {
    const { worker, client, logger, start } = setup({ concurrency: 3 });
    const task = taskName('perl');
    let now = 0;
    let most = 0;
    worker.registerTask(task, async (_w, job) => {
      most = Math.max(most, ++now);
      await new Promise((resolve) => setTimeout(resolve, 20));
      now--;
      return `perl:${String(job.data)}:${job.unique === null ? 'no-unique' : 'unique'}`;
    });
    // Queued before the worker starts, so its first GRABs all find work.
    const submitted = await client.submitMultipleJobs(
      Array.from({ length: 6 }, (_, i) => ({ task, data: `j${i}` })),
      { waitUntilComplete: false },
    );
    start();
    const requests = await client.waitUntilJobsCompleted(submitted, { pollTimeout: 20 });
    expect(requests.every((r) => r.state === JOB_COMPLETE)).toBe(true);
    expect(requests.map((r) => String(r.result))).toEqual(Array.from({ length: 6 }, (_, i) => `perl:j${i}:no-unique`));
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(3);
    expect(worker.sent.some(([type]) => type === T.GRAB_JOB)).toBe(true);
    expect(worker.handlerOf(worker.connectionList[0])?.legacyServer).toBe(true);
    expect(logger.find(/closing connection|lost its connection/)).toEqual([]);
    expect(logger.lines.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('a failure reaches the client as the exception, and the job ends (WORK_EXCEPTION then WORK_FAIL)', async () => {
    const { worker, client, start } = setup();
    const task = taskName('perl-exc');
    worker.registerTask(task, () => {
      throw new Error('perl sees this');
    });
    start();
    const done = await client.submitJob(task, 'x', { pollTimeout: 20 });
    expect(done.state).toBe(JOB_FAILED);
    expect(String(done.exception)).toBe('perl sees this');
    const types = worker.sent.map(([type]) => type);
    expect(types.indexOf(T.WORK_FAIL)).toBeGreaterThan(types.indexOf(T.WORK_EXCEPTION));
  });

  it('sends CAN_DO_TIMEOUT in seconds once it knows the server is the Perl one', async () => {
    const { worker, client, start } = setup();
    const task = taskName('perl-tmo');
    worker.registerTask(task, () => 'quick', { timeoutMs: 2500 });
    start();
    const done = await client.submitJob(task, 'x', { pollTimeout: 20 });
    expect(done.state).toBe(JOB_COMPLETE);
    expect(worker.sent).toContainEqual([T.CAN_DO_TIMEOUT, [task, '3']]);
  });
});
