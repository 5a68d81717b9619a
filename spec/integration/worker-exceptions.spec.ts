// A callback that throws or rejects answers WORK_EXCEPTION with the error's message by default:
// our client (which asks for exceptions) sees request.exception; a client that did not ask gets
// gearmand's WORK_FAIL. `exceptions: false` keeps python-gearman's WORK_FAIL only, which is what
// the C `gearman` client needs (see the last specs). No stray ERROR JOB_NOT_FOUND (the job is
// answered once), and the failure is logged at warn.
import { afterEach, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { GearmanClient, GearmanWorker, JOB_COMPLETE, JOB_FAILED, JsonEncoder } from '../../lib/index.js';
import { recordingLogger, type RecordingLogger } from '../helpers/fake-server.js';
import { sharedHosts, sharedPort, taskName } from '../helpers/env.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function startWorker(options: ConstructorParameters<typeof GearmanWorker>[1] = {}): { worker: GearmanWorker; logger: RecordingLogger } {
  const logger = recordingLogger();
  const worker = new GearmanWorker(sharedHosts(), { logger, ...options });
  cleanups.push(async () => {
    worker.shutdown();
    await working;
  });
  let working: Promise<void> | undefined;
  queueMicrotask(() => (working = worker.work({ pollTimeout: 5 })));
  return { worker, logger };
}

function client(options: ConstructorParameters<typeof GearmanClient>[1] = {}): GearmanClient {
  const c = new GearmanClient(sharedHosts(), options);
  cleanups.push(() => c.shutdown());
  return c;
}

function run(cmd: string, args: string[], timeoutMs = 15_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr });
    });
  });
}

describe('GearmanWorker: exceptions', () => {
  it('a throw and a rejection reach our client as request.exception (WORK_EXCEPTION), logged at warn, with no stray ERROR', async () => {
    const task = taskName('exc');
    const { worker, logger } = startWorker();
    worker.registerTask(task, async (_w, job) => {
      if (String(job.data) === 'reject') throw new Error('disk full on /data');
      if (String(job.data) === 'value') throw 'a thrown string'; // eslint-disable-line no-throw-literal
      return 'ok';
    });
    const sync = taskName('exc-sync');
    worker.registerTask(sync, () => {
      throw new RangeError('index 7 out of range');
    });
    const c = client();
    const rejected = await c.submitJob(task, 'reject', { pollTimeout: 10 });
    const thrown = await c.submitJob(sync, 'x', { pollTimeout: 10 });
    const value = await c.submitJob(task, 'value', { pollTimeout: 10 });
    const ok = await c.submitJob(task, 'fine', { pollTimeout: 10 });
    expect(rejected.state).toBe(JOB_FAILED);
    expect(String(rejected.exception)).toBe('disk full on /data');
    expect(thrown.state).toBe(JOB_FAILED);
    expect(String(thrown.exception)).toBe('index 7 out of range');
    expect(String(value.exception)).toBe('a thrown string');
    expect(ok.state).toBe(JOB_COMPLETE);
    expect(logger.find(/failed: Error: disk full on \/data/, 'warn')).toHaveLength(1);
    expect(logger.find(/failed: RangeError: index 7 out of range/, 'warn')).toHaveLength(1);
    expect(logger.find('JOB_NOT_FOUND')).toEqual([]);
  });

  it('sendJobException answers the job once: no WORK_FAIL after it, so no ERROR JOB_NOT_FOUND', async () => {
    const task = taskName('exc-explicit');
    const { worker, logger } = startWorker();
    worker.registerTask(task, async (w, job) => {
      await w.sendJobException(job, 'told the client');
      return 'not sent';
    });
    const done = await client().submitJob(task, 'x', { pollTimeout: 10 });
    expect(done.state).toBe(JOB_FAILED);
    expect(String(done.exception)).toBe('told the client');
    // One more job through the same connection: an ERROR for the first would have arrived by now.
    const next = taskName('exc-next');
    worker.registerTask(next, () => 'ok');
    expect((await client().submitJob(next, 'y', { pollTimeout: 10 })).state).toBe(JOB_COMPLETE);
    expect(logger.find('JOB_NOT_FOUND')).toEqual([]);
  });

  it('the message is encoded with the dataEncoder, so a JSON client decodes it', async () => {
    const task = taskName('exc-json');
    const { worker } = startWorker({ dataEncoder: JsonEncoder });
    worker.registerTask(task, () => {
      throw new Error('bad input');
    });
    const done = await client({ dataEncoder: JsonEncoder }).submitJob(task, { a: 1 }, { pollTimeout: 10 });
    expect(done.state).toBe(JOB_FAILED);
    expect(done.exception).toBe('bad input');
  });

  it('a client that did not ask for exceptions gets WORK_FAIL', async () => {
    const task = taskName('exc-noask');
    const { worker } = startWorker();
    worker.registerTask(task, () => {
      throw new Error('no reason shown');
    });
    const done = await client({ exceptions: false }).submitJob(task, 'x', { pollTimeout: 10 });
    expect(done.state).toBe(JOB_FAILED);
    expect(done.exception).toBeNull();
  });

  it('exceptions: false answers WORK_FAIL only (python-gearman), even to a client that asked', async () => {
    const task = taskName('exc-off');
    const { worker } = startWorker({ exceptions: false });
    worker.registerTask(task, () => {
      throw new Error('hidden');
    });
    const done = await client().submitJob(task, 'x', { pollTimeout: 10 });
    expect(done.state).toBe(JOB_FAILED);
    expect(done.exception).toBeNull();
  });

  it('the C gearman client sees a failed job ("Job failed", exit 1) from a worker with exceptions: false', async () => {
    const task = taskName('exc-c');
    const { worker } = startWorker({ exceptions: false });
    worker.registerTask(task, () => {
      throw new Error('boom');
    });
    const result = await run('gearman', ['-h', '127.0.0.1', '-p', String(sharedPort()), '-f', task, 'x']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/Job failed/);
  });

  it('the PHP gearman extension sees GEARMAN_WORK_EXCEPTION from the default worker', async () => {
    const task = taskName('exc-php');
    const { worker } = startWorker();
    worker.registerTask(task, () => {
      throw new Error('boom');
    });
    const php = `$c = new GearmanClient(); $c->addServer('127.0.0.1', ${sharedPort()}); $c->doNormal(${JSON.stringify(task)}, 'x'); echo $c->error(), "\\n";`;
    const result = await run('php', ['-r', php]);
    if (/Class "GearmanClient" not found|ENOENT/.test(result.stderr + result.stdout)) throw new Error('php with the gearman extension is needed: sudo apt-get install -y php-cli php-gearman');
    expect(result.stdout).toMatch(/GEARMAN_WORK_EXCEPTION/);
  });

  it("gearmand 1.1.20 turns WORK_EXCEPTION into 'WORK_FAIL handle\\0' for clients that did not ask: Perl's client reports an unknown handle", async () => {
    // Why `exceptions: false` matters when libgearman or Perl clients submit without asking for
    // exceptions: the handle in gearmand's converted WORK_FAIL carries a trailing NUL.
    const task = taskName('exc-perl');
    const { worker } = startWorker();
    worker.registerTask(task, () => {
      throw new Error('boom');
    });
    const perl = `use Gearman::Client; my $c = Gearman::Client->new; $c->job_servers('127.0.0.1:${sharedPort()}'); my $r = eval { $c->do_task(${JSON.stringify(task)}, 'x') }; print $@ ? "died: $@" : "returned\\n";`;
    const result = await run('perl', ['-e', perl]);
    if (/Can't locate Gearman\/Client\.pm/.test(result.stderr)) throw new Error("Perl's Gearman::Client is needed: sudo apt-get install -y libgearman-client-perl");
    expect(result.stdout).toMatch(/died: .*work_fail for unknown handle/);
  });
});
