// GearmanWorker against the shared gearmand: what a client sees of every send* method, sync and
// async callbacks, failures, the hooks, registration, the admin view, the C CLI, and what work()
// leaves behind.
import { execFile } from 'node:child_process';
import net from 'node:net';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import {
  GearmanClient,
  GearmanJob,
  GearmanJobRequest,
  GearmanWorker,
  InvalidWorkerState,
  JOB_COMPLETE,
  JOB_CREATED,
  JOB_FAILED,
  JsonEncoder,
  defaultRetryStrategy,
  protocol,
  type Logger,
} from '../../lib/index.js';
import type { GearmanConnection } from '../../lib/internal.js';
import type { PacketArgs } from '../../lib/protocol/decoder.js';
import { sharedHosts, sharedPort, taskName, until } from '../helpers/env.js';
import { freePort } from '../helpers/gearmand.mjs';

const run = promisify(execFile);

/** A logger that keeps what it is given. */
function recordingLogger(): Logger & { warnings: string[]; errors: string[] } {
  const warnings: string[] = [];
  const errors: string[] = [];
  return {
    warnings,
    errors,
    debug() {},
    info() {},
    warn: (message: string) => void warnings.push(message),
    error: (message: string) => void errors.push(message),
  };
}

/** One admin command on a raw socket; resolves with the listing's lines (up to the `.`). */
function adminListing(port: number, command: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    socket.setTimeout(3000, () => {
      socket.destroy();
      reject(new Error(`admin ${command}: no answer`));
    });
    socket.on('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk) => {
      text += chunk.toString('utf8');
      const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
      const end = lines.indexOf('.');
      if (end !== -1) {
        socket.destroy();
        resolve(lines.slice(0, end));
      }
    });
    socket.on('error', reject);
  });
}

/** The admin `status` row of `task`, or undefined. */
async function statusOf(task: string): Promise<{ queued: number; running: number; workers: number } | undefined> {
  const row = (await adminListing(sharedPort(), 'status')).map((l) => l.split('\t')).find((cols) => cols[0] === task);
  return row === undefined ? undefined : { queued: Number(row[1]), running: Number(row[2]), workers: Number(row[3]) };
}

/** Counts decoded packets by type; can hold NOOPs back to order a race deterministically. */
class CountingWorker extends GearmanWorker {
  packets = new Map<number, number>();
  holdNoops = false;
  heldNoops: Array<() => void> = [];
  override handlePacket(connection: GearmanConnection, type: number, args: PacketArgs): void {
    this.packets.set(type, (this.packets.get(type) ?? 0) + 1);
    if (this.holdNoops && type === protocol.CommandType.NOOP) {
      this.heldNoops.push(() => super.handlePacket(connection, type, args));
      return;
    }
    super.handlePacket(connection, type, args);
  }
  releaseNoops(): void {
    this.holdNoops = false;
    for (const deliver of this.heldNoops.splice(0)) deliver();
  }
  count(type: number): number {
    return this.packets.get(type) ?? 0;
  }
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** Starts `worker.work()` and registers its shutdown for the end of the test. */
function startWorker<W extends GearmanWorker>(worker: W, pollTimeout: number | null = 60): { worker: W; working: Promise<void> } {
  const working = worker.work({ pollTimeout });
  working.catch(() => undefined);
  cleanups.push(async () => {
    worker.shutdown();
    await working.catch(() => undefined);
  });
  return { worker, working };
}

function newClient(options: ConstructorParameters<typeof GearmanClient>[1] = {}): GearmanClient {
  const client = new GearmanClient(sharedHosts(), options);
  cleanups.push(() => client.shutdown());
  return client;
}

const text = (value: unknown): string => String(value);

describe('GearmanWorker: what a client sees', () => {
  it('delivers sendJobData, sendJobWarning, sendJobStatus and sendJobComplete to the client, in order', async () => {
    const task = taskName('send');
    const worker = new GearmanWorker(sharedHosts());
    worker.registerTask(task, async (w, job) => {
      await w.sendJobData(job, 'data-1');
      await w.sendJobWarning(job, 'careful');
      await w.sendJobStatus(job, 1, 3);
      await w.sendJobData(job, Buffer.from('data-2'));
      await w.sendJobStatus(job, 3, 3);
      await w.sendJobComplete(job, 'finished');
      return 'not sent: the job was already answered';
    });
    startWorker(worker);
    const client = newClient();
    const request = new GearmanJobRequest(new GearmanJob(null, null, task, null, 'in'));
    const events: string[] = [];
    request.on('data', (d) => events.push(`data:${text(d)}`));
    request.on('warning', (d) => events.push(`warning:${text(d)}`));
    request.on('status', (s) => events.push(`status:${s.numerator}/${s.denominator}`));
    request.on('complete', (r) => events.push(`complete:${text(r)}`));
    await client.submitMultipleRequests([request]);

    expect(request.state).toBe(JOB_COMPLETE);
    expect(text(request.result)).toBe('finished');
    expect(request.dataUpdates.map(text)).toEqual(['data-1', 'data-2']);
    expect(request.warningUpdates.map(text)).toEqual(['careful']);
    expect(request.status).toMatchObject({ numerator: 3, denominator: 3 });
    expect(events).toEqual(['data:data-1', 'warning:careful', 'status:1/3', 'data:data-2', 'status:3/3', 'complete:finished']);
  });

  it('sendJobFailure fails the request', async () => {
    const task = taskName('fail');
    const worker = new GearmanWorker(sharedHosts());
    worker.registerTask(task, async (w, job) => {
      await w.sendJobFailure(job);
    });
    startWorker(worker);
    const request = await newClient().submitJob(task, 'x');
    expect(request.state).toBe(JOB_FAILED);
    expect(request.exception).toBeNull();
  });

  it('sendJobException reaches a client that asked for exceptions (JOB_FAILED, request.exception), and the worker goes on', async () => {
    const task = taskName('exception');
    const logger = recordingLogger();
    const worker = new GearmanWorker(sharedHosts(), { logger });
    worker.registerTask(task, async (w, job) => {
      if (text(job.data) === 'bad') {
        await w.sendJobException(job, 'it broke');
        return 'ignored';
      }
      return 'fine';
    });
    startWorker(worker);
    const client = newClient();
    const failed = await client.submitJob(task, 'bad');
    expect(failed.state).toBe(JOB_FAILED);
    expect(text(failed.exception)).toBe('it broke');
    // gearmand answers the WORK_FAIL that follows WORK_EXCEPTION with ERROR JOB_NOT_FOUND: ignored.
    const next = await client.submitJob(task, 'good');
    expect(next.state).toBe(JOB_COMPLETE);
    expect(text(next.result)).toBe('fine');
    expect(logger.errors).toEqual([]);
  });

  it('an onJobException override can send the error as WORK_EXCEPTION', async () => {
    const task = taskName('on-exception');
    class ReportingWorker extends GearmanWorker {
      override async onJobException(job: GearmanJob, error: unknown): Promise<boolean> {
        await this.sendJobException(job, `caught: ${(error as Error).message}`);
        return false;
      }
    }
    const worker = new ReportingWorker(sharedHosts(), { logger: recordingLogger() });
    worker.registerTask(task, () => {
      throw new Error('no way');
    });
    startWorker(worker);
    const request = await newClient().submitJob(task, 'x');
    expect(request.state).toBe(JOB_FAILED);
    expect(text(request.exception)).toBe('caught: no way');
  });
});

describe('GearmanWorker: callbacks', () => {
  it('sends what sync and async callbacks return or resolve with', async () => {
    const syncTask = taskName('sync');
    const asyncTask = taskName('async');
    const worker = new GearmanWorker(sharedHosts());
    worker.registerTask(syncTask, (_w, job) => [...text(job.data)].reverse().join(''));
    worker.registerTask(asyncTask, async (_w, job) => {
      await new Promise((resolve) => setImmediate(resolve));
      return Buffer.from(`async:${text(job.data)}`);
    });
    startWorker(worker);
    const client = newClient();
    const [a, b] = await Promise.all([client.submitJob(syncTask, 'héllo'), client.submitJob(asyncTask, 'x')]);
    expect(a.state).toBe(JOB_COMPLETE);
    expect(text(a.result)).toBe('olléh');
    expect(b.state).toBe(JOB_COMPLETE);
    expect(text(b.result)).toBe('async:x');
  });

  it('passes the job: handle, task, unique and data as a Buffer with the default encoder', async () => {
    const task = taskName('job');
    let seen: GearmanJob | undefined;
    const worker = new GearmanWorker(sharedHosts());
    worker.registerTask(task, (w, job) => {
      expect(w).toBe(worker);
      seen = job;
      return '';
    });
    startWorker(worker);
    const request = await newClient().submitJob(task, Buffer.from([0, 1, 2, 255]), { unique: 'my-unique' });
    expect(request.state).toBe(JOB_COMPLETE);
    expect(seen!.task).toBe(task);
    expect(seen!.unique).toBe('my-unique');
    expect(seen!.handle).toBe(request.job.handle);
    expect(Buffer.isBuffer(seen!.data)).toBe(true);
    expect([...(seen!.data as Buffer)]).toEqual([0, 1, 2, 255]);
    expect(seen!.toDict()).toMatchObject({ task, jobHandle: request.job.handle, unique: 'my-unique' });
  });

  it('with exceptions: false, answers WORK_FAIL for a throw and for a rejection, logs them, and keeps working', async () => {
    const task = taskName('throws');
    const logger = recordingLogger();
    const worker = new GearmanWorker(sharedHosts(), { logger, exceptions: false });
    worker.registerTask(task, async (_w, job) => {
      const what = text(job.data);
      if (what === 'reject') throw new Error('rejected on purpose');
      return 'ok';
    });
    const syncTask = taskName('throws-sync');
    worker.registerTask(syncTask, () => {
      throw new RangeError('thrown on purpose');
    });
    startWorker(worker);
    const client = newClient();
    const rejected = await client.submitJob(task, 'reject');
    const thrown = await client.submitJob(syncTask, 'x');
    const ok = await client.submitJob(task, 'fine');
    expect(rejected.state).toBe(JOB_FAILED);
    expect(rejected.exception).toBeNull(); // WORK_FAIL, not WORK_EXCEPTION
    expect(thrown.state).toBe(JOB_FAILED);
    expect(ok.state).toBe(JOB_COMPLETE);
    expect(logger.warnings.join('\n')).toMatch(/rejected on purpose/);
    expect(logger.warnings.join('\n')).toMatch(/RangeError: thrown on purpose/);
  });

  it('sends undefined and null results as an empty result', async () => {
    const task = taskName('empty');
    const worker = new GearmanWorker(sharedHosts());
    worker.registerTask(task, async (_w, job) => (text(job.data) === 'null' ? null : undefined));
    const syncTask = taskName('empty-sync');
    worker.registerTask(syncTask, () => undefined);
    startWorker(worker);
    const client = newClient();
    for (const request of [await client.submitJob(task, 'null'), await client.submitJob(task, 'undefined'), await client.submitJob(syncTask, 'x')]) {
      expect(request.state).toBe(JOB_COMPLETE);
      expect(Buffer.isBuffer(request.result)).toBe(true);
      expect((request.result as Buffer).length).toBe(0);
    }
  });

  it('answers WORK_FAIL for a result the encoder cannot encode, logs it, and keeps working', async () => {
    const task = taskName('unencodable');
    const logger = recordingLogger();
    const worker = new GearmanWorker(sharedHosts(), { logger });
    worker.registerTask(task, (_w, job) => (text(job.data) === 'number' ? 42 : 'fine'));
    const asyncTask = taskName('unencodable-async');
    worker.registerTask(asyncTask, async () => ({ an: 'object' }));
    startWorker(worker);
    const client = newClient();
    const syncBad = await client.submitJob(task, 'number');
    const asyncBad = await client.submitJob(asyncTask, 'x');
    const good = await client.submitJob(task, 'text');
    expect(syncBad.state).toBe(JOB_FAILED);
    expect(asyncBad.state).toBe(JOB_FAILED);
    expect(good.state).toBe(JOB_COMPLETE);
    expect(text(good.result)).toBe('fine');
    expect(logger.errors.join('\n')).toMatch(/NoopEncoder expects a string or bytes/);
  });

  it('decodes job data and encodes results with its dataEncoder; data it cannot decode fails that job only', async () => {
    const task = taskName('json');
    class JsonWorker extends GearmanWorker {
      override dataEncoder = JsonEncoder;
    }
    class JsonClient extends GearmanClient {
      override dataEncoder = JsonEncoder;
    }
    const logger = recordingLogger();
    const worker = new JsonWorker(sharedHosts(), { logger });
    worker.registerTask(task, (_w, job) => {
      const { numbers } = job.data as { numbers: number[] };
      return { sum: numbers.reduce((a, b) => a + b, 0) };
    });
    startWorker(worker);
    const jsonClient = new JsonClient(sharedHosts());
    cleanups.push(() => jsonClient.shutdown());
    const request = await jsonClient.submitJob(task, { numbers: [1, 2, 3.5] });
    expect(request.state).toBe(JOB_COMPLETE);
    expect(request.result).toEqual({ sum: 6.5 });

    const notJson = await newClient().submitJob(task, '{not json');
    expect(notJson.state).toBe(JOB_FAILED);
    expect(logger.warnings.join('\n')).toMatch(/dataEncoder\.decode failed/);
    const again = await jsonClient.submitJob(task, { numbers: [2] });
    expect(again.result).toEqual({ sum: 2 });
  });

  it('rejects bad sendJobStatus arguments and foreign objects without sending anything', async () => {
    const task = taskName('bad-status');
    const outcomes: string[] = [];
    const worker = new GearmanWorker(sharedHosts());
    worker.registerTask(task, async (w, job) => {
      await w.sendJobStatus(job, 1.5, 3).catch((err: Error) => outcomes.push(`${err.name}: ${err.message}`));
      await w.sendJobData({} as GearmanJob, 'x').catch((err: Error) => outcomes.push(err.name));
      await w.sendJobData(job, 12 as unknown as string).catch((err: Error) => outcomes.push(err.name));
      await w.sendJobStatus(job, 2, 3);
      return 'done';
    });
    startWorker(worker);
    const request = await newClient().submitJob(task, 'x');
    expect(request.state).toBe(JOB_COMPLETE);
    expect(request.status).toMatchObject({ numerator: 2, denominator: 3 });
    expect(request.dataUpdates).toEqual([]);
    expect(outcomes).toEqual([expect.stringMatching(/^InvalidArgumentError: .*integers/), 'InvalidArgumentError', 'InvalidArgumentError']);
  });
});

describe('GearmanWorker: hooks and the work loop', () => {
  it('afterPoll returning false stops work(); it is called once at the start and with activity after a job', async () => {
    const task = taskName('after-poll');
    const calls: boolean[] = [];
    class StoppingWorker extends GearmanWorker {
      done = false;
      override afterPoll(anyActivity: boolean): boolean {
        calls.push(anyActivity);
        return !this.done;
      }
    }
    const worker = new StoppingWorker(sharedHosts());
    worker.registerTask(task, (w) => {
      (w as StoppingWorker).done = true;
      return 'last';
    });
    const { working } = startWorker(worker);
    expect(calls).toEqual([false]); // before any I/O, as python-gearman
    const request = await newClient().submitJob(task, 'x');
    await working;
    expect(request.state).toBe(JOB_COMPLETE);
    expect(text(request.result)).toBe('last');
    expect(calls.at(-1)).toBe(true);
    expect(calls.slice(1).every((c) => c)).toBe(true);
    expect(worker.connectionList.every((c) => !c.connected)).toBe(true);
  });

  it('a graceful stop while an async job runs lets it finish and answer before work() resolves', async () => {
    const task = taskName('graceful');
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let started = false;
    let stopSeen = false;
    class StopSoon extends GearmanWorker {
      leaving = false;
      override afterPoll(): boolean {
        if (this.leaving) stopSeen = true;
        return !this.leaving;
      }
    }
    const worker = new StopSoon(sharedHosts());
    worker.registerTask(task, async () => {
      started = true;
      await gate;
      return 'finished after the stop';
    });
    let resolved = false;
    const { working } = startWorker(worker, 0.05);
    void working.then(() => (resolved = true));
    const client = newClient();
    const request = client.submitJob(task, 'x', { pollTimeout: 10 });
    await until(() => started);
    worker.leaving = true;
    await until(() => stopSeen); // the loop has ended; the job is still running
    expect(resolved).toBe(false);
    open();
    await working;
    const done = await request;
    expect(done.state).toBe(JOB_COMPLETE);
    expect(text(done.result)).toBe('finished after the stop');
  });

  it('afterPoll returning false at the start ends work() at once', async () => {
    class NeverWorker extends GearmanWorker {
      override afterPoll(): boolean {
        return false;
      }
    }
    const worker = new NeverWorker(sharedHosts());
    worker.registerTask(taskName('never'), () => '');
    await worker.work();
    expect(worker.connectionList.every((c) => !c.connected && !c.connecting)).toBe(true);
  });

  it('calls afterPoll once per poll iteration: one call per quiet pollTimeout cycle, not two', async () => {
    const calls: Array<{ activity: boolean; at: number }> = [];
    class CountingPolls extends GearmanWorker {
      override afterPoll(anyActivity: boolean): boolean {
        calls.push({ activity: anyActivity, at: performance.now() });
        return calls.length < 5;
      }
    }
    const worker = new CountingPolls(sharedHosts());
    worker.registerTask(taskName('quiet'), () => '');
    const started = performance.now();
    await worker.work({ pollTimeout: 0.1 });
    const elapsed = performance.now() - started;
    // The start of work() and four quiet 100 ms cycles. With a second call at each cycle boundary
    // (python-gearman), the fifth call would come after two cycles.
    expect(calls.map((c) => c.activity)).toEqual([false, false, false, false, false]);
    expect(elapsed).toBeGreaterThanOrEqual(380);
    for (let i = 2; i < calls.length; i++) expect(calls[i]!.at - calls[i - 1]!.at).toBeGreaterThanOrEqual(80);
  });

  it('calls afterJob once per job it ran: not after NO_JOB, not on other loop passes', async () => {
    const task = taskName('after-job');
    let executed = 0;
    let afterJobCalls = 0;
    let polls = 0;
    class JobCounting extends CountingWorker {
      override afterJob(): boolean {
        afterJobCalls++;
        return true;
      }
      override afterPoll(): boolean {
        polls++;
        return true;
      }
    }
    const worker = new JobCounting(sharedHosts());
    worker.registerTask(task, async (_w, job) => {
      executed++;
      return text(job.data).toUpperCase();
    });
    // A competitor takes the first job while our worker's wake-up is held back, so our grab gets NO_JOB.
    let releaseCompetitor!: () => void;
    const competitorGate = new Promise<void>((resolve) => (releaseCompetitor = resolve));
    let competitorStarted = false;
    const competitor = new GearmanWorker(sharedHosts());
    competitor.registerTask(task, async () => {
      competitorStarted = true;
      await competitorGate;
      return 'COMPETITOR';
    });
    worker.holdNoops = true;
    startWorker(worker, 0.1);
    const { working: competitorWorking } = startWorker(competitor);
    await until(async () => (await statusOf(task))?.workers === 2);
    const client = newClient();
    const taken = client.submitJob(task, 'taken');
    await until(() => competitorStarted && worker.heldNoops.length > 0);
    worker.releaseNoops();
    await until(() => worker.count(protocol.CommandType.NO_JOB) >= 1);
    releaseCompetitor();
    expect(text((await taken).result)).toBe('COMPETITOR');
    competitor.shutdown();
    await competitorWorking;
    expect(afterJobCalls).toBe(0);

    const requests = await client.submitMultipleJobs(['a', 'b', 'c'].map((data) => ({ task, data })));
    expect(requests.map((r) => text(r.result))).toEqual(['A', 'B', 'C']);
    await until(() => afterJobCalls === 3);
    const pollsAfterJobs = polls;
    // More loop passes (quiet 100 ms cycles), no more jobs: afterJob stays at one call per job.
    await until(() => polls >= pollsAfterJobs + 2);
    expect(executed).toBe(3);
    expect(afterJobCalls).toBe(3);
  });

  it('afterJob returning false stops work() after that job, whose result still reaches the client', async () => {
    const task = taskName('one-shot');
    const client = newClient();
    // Both queued before the worker starts: it must run the first and not ask for the second.
    const first = await client.submitJob(task, 'first', { waitUntilComplete: false });
    const second = await client.submitJob(task, 'second', { background: true });
    expect(second.state).toBe(JOB_CREATED);
    const ran: string[] = [];
    class OneShot extends GearmanWorker {
      override afterJob(): boolean {
        return false;
      }
    }
    const worker = new OneShot(sharedHosts());
    worker.registerTask(task, async (_w, job) => {
      ran.push(text(job.data));
      await new Promise((resolve) => setImmediate(resolve));
      return `done:${text(job.data)}`;
    });
    await worker.work();
    expect(ran).toEqual(['first']);
    await client.waitUntilJobsCompleted([first], { pollTimeout: 5 });
    expect(first.state).toBe(JOB_COMPLETE);
    expect(text(first.result)).toBe('done:first');
    expect(await statusOf(task)).toMatchObject({ queued: 1, running: 0 });

    // Drain the background job with another one-shot run.
    await worker.work();
    expect(ran).toEqual(['first', 'second']);
  });

  it('unregisterTask stops advertising a task; the others are still served', async () => {
    const kept = taskName('kept');
    const dropped = taskName('dropped');
    const worker = new GearmanWorker(sharedHosts());
    worker.registerTask(kept, () => 'kept');
    worker.registerTask(dropped, () => 'dropped');
    startWorker(worker);
    await until(async () => (await statusOf(dropped))?.workers === 1 && (await statusOf(kept))?.workers === 1);
    expect(worker.unregisterTask(dropped)).toBe(dropped);
    expect(worker.unregisterTask('never-registered')).toBe('never-registered');
    expect(worker.abilities()).toEqual([kept]);
    await until(async () => ((await statusOf(dropped))?.workers ?? 0) === 0);
    const client = newClient();
    const ok = await client.submitJob(kept, 'x');
    expect(text(ok.result)).toBe('kept');
    const waiting = await client.submitJob(dropped, 'x', { pollTimeout: 0.3 });
    expect(waiting.timedOut).toBe(true);
    expect(waiting.state).toBe(JOB_CREATED);
    // Registering it again serves the queued job.
    worker.registerTask(dropped, () => 'back');
    await client.waitUntilJobsCompleted([waiting], { pollTimeout: 5 });
    expect(text(waiting.result)).toBe('back');
  });

  it('setClientId shows in the admin workers listing, before and during work()', async () => {
    const task = taskName('client-id');
    const id = `id-${task}`;
    const worker = new GearmanWorker(sharedHosts());
    expect(worker.setClientId(id)).toBe(id);
    worker.registerTask(task, () => '');
    startWorker(worker);
    const workerLine = async (): Promise<string | undefined> => {
      const { stdout } = await run('gearadmin', ['-h', '127.0.0.1', '-p', String(sharedPort()), '--workers'], { timeout: 5000 });
      return stdout.split('\n').find((line) => line.includes(`: ${task}`));
    };
    await until(async () => (await workerLine())?.includes(` ${id} : ${task}`) === true);
    worker.setClientId(`${id}-renamed`);
    await until(async () => (await workerLine())?.includes(` ${id}-renamed : ${task}`) === true);
  });

  it('serves a job submitted with the C gearman CLI', async () => {
    const task = taskName('cli');
    const worker = new GearmanWorker(sharedHosts());
    worker.registerTask(task, (_w, job) => [...text(job.data)].reverse().join(''));
    startWorker(worker);
    const { stdout } = await run('gearman', ['-h', '127.0.0.1', '-p', String(sharedPort()), '-f', task, 'hello from the C client'], { timeout: 10_000 });
    expect(stdout.trim()).toBe('tneilc C eht morf olleh');
  });

  it('rejects a second concurrent work() and a non-positive pollTimeout', async () => {
    const worker = new GearmanWorker(sharedHosts());
    worker.registerTask(taskName('twice'), () => '');
    await expect(worker.work({ pollTimeout: 0 })).rejects.toThrow(TypeError);
    await expect(worker.work({ pollTimeout: -1 })).rejects.toThrow(TypeError);
    startWorker(worker);
    await expect(worker.work()).rejects.toBeInstanceOf(InvalidWorkerState);
  });

  it('leaves no socket or timer behind once work() returns (after shutdown(), and after afterJob false)', async () => {
    const task = taskName('handles');
    // Resources that keep a process alive. This spec file runs in a process of its own, and the
    // earlier tests closed what they opened, so once the worker and the client are done, none is left.
    const watched = (): Record<string, number> => {
      const counts: Record<string, number> = {};
      for (const r of process.getActiveResourcesInfo()) if (r === 'TCPSocketWrap' || r === 'Timeout' || r === 'TLSWrap') counts[r] = (counts[r] ?? 0) + 1;
      return counts;
    };
    // A dead server in the list keeps a reconnect timer pending while work() runs.
    const dead = `127.0.0.1:${await freePort()}`;
    class OneShot extends GearmanWorker {
      override afterJob(): boolean {
        return false;
      }
    }
    for (const stop of ['shutdown', 'afterJob'] as const) {
      // After its first failed connect, the dead server waits a minute for the next attempt.
      const options = { retryStrategy: () => 60_000, logger: recordingLogger() };
      const worker = stop === 'shutdown' ? new GearmanWorker([...sharedHosts(), dead], options) : new OneShot([...sharedHosts(), dead], options);
      let during: Record<string, number> = {};
      worker.registerTask(task, () => {
        during = watched(); // while the job runs: sockets, the worker's poll timer, the reconnect timer
        return 'ok';
      });
      const working = worker.work({ pollTimeout: 30 });
      await until(() => worker.connectionList[1]!.reconnectPending);
      const client = new GearmanClient(sharedHosts());
      const request = await client.submitJob(task, stop);
      client.shutdown();
      expect(request.state).toBe(JOB_COMPLETE);
      expect(during.TCPSocketWrap ?? 0).toBeGreaterThanOrEqual(1);
      expect(during.Timeout ?? 0).toBeGreaterThanOrEqual(2);
      if (stop === 'shutdown') worker.shutdown();
      await working;
      await until(() => Object.keys(watched()).length === 0, 2000);
    }
  });

  it('defaultRetryStrategy backs off exponentially from 100 ms, capped at 10 s', () => {
    for (let attempt = 0; attempt < 40; attempt++) {
      const delay = defaultRetryStrategy(attempt);
      const base = Math.min(10_000, 100 * 2 ** attempt);
      expect(delay).toBeGreaterThanOrEqual(base);
      expect(delay).toBeLessThanOrEqual(Math.min(10_000, base * 1.25));
    }
  });
});
