// registerTask(task, callback, { timeoutMs }) sends CAN_DO_TIMEOUT in gearmand's unit (ms). When
// the time passes, gearmand re-queues the job (it tells nobody); the worker aborts job.signal,
// does not send the late result (gearmand would answer it with ERROR JOB_NOT_FOUND), and the
// re-queued job is served again.
import { afterEach, describe, expect, it } from 'vitest';
import { GearmanClient, GearmanWorker, JOB_COMPLETE } from '../../lib/index.js';
import { recordingLogger } from '../helpers/fake-server.js';
import { sharedHosts, taskName } from '../helpers/env.js';
import { CommandType } from '../../lib/protocol/commands.js';
import type { PacketArg } from '../../lib/protocol/encoder.js';
import type { CommandHandler } from '../../lib/command-handler/command-handler.js';

const T = CommandType;
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

describe('registerTask with timeoutMs (CAN_DO_TIMEOUT)', () => {
  it('registers in ms; past it the signal aborts, the late result is not sent, and the re-queued job is served again', async () => {
    const task = taskName('tmo');
    const logger = recordingLogger();
    const worker = new RecordingWorker(sharedHosts(), { logger, concurrency: 4 });
    const reasons: unknown[] = [];
    let runs = 0;
    worker.registerTask(
      task,
      async (_w, job) => {
        runs++;
        if (runs === 1) {
          await new Promise((resolve) => job.signal.addEventListener('abort', resolve));
          reasons.push(job.signal.reason);
          return 'too late';
        }
        return `served on run ${runs}`;
      },
      { timeoutMs: 1200 },
    );
    const working = worker.work({ pollTimeout: 5 });
    const client = new GearmanClient(sharedHosts());
    cleanups.push(async () => {
      worker.shutdown();
      await working;
      client.shutdown();
    });
    const done = await client.submitJob(task, 'x', { pollTimeout: 20 });
    expect(done.state).toBe(JOB_COMPLETE);
    expect(String(done.result)).toBe('served on run 2');
    expect(worker.sent).toContainEqual([T.CAN_DO_TIMEOUT, [task, '1200']]);
    expect(reasons).toHaveLength(1);
    expect((reasons[0] as Error).name).toBe('TimeoutError');
    const completions = worker.sent.filter(([type]) => type === T.WORK_COMPLETE).map(([, args]) => args[1]);
    expect(completions).toEqual(['served on run 2']);
    expect(logger.find(/ran past its CAN_DO_TIMEOUT of 1200 ms/, 'warn')).toHaveLength(1);
    expect(logger.find('JOB_NOT_FOUND')).toEqual([]);
  });

  it('with concurrency 3 runs 3 timed jobs at once, one per connection (gearmand keeps one timer per connection)', async () => {
    const task = taskName('tmo-conc');
    const worker = new GearmanWorker(sharedHosts(), { logger: recordingLogger(), concurrency: 3 });
    let now = 0;
    let most = 0;
    const release: Array<() => void> = [];
    const aborted: boolean[] = [];
    worker.registerTask(
      task,
      async (_w, job) => {
        most = Math.max(most, ++now);
        await new Promise<void>((resolve) => release.push(resolve));
        now--;
        aborted.push(job.signal.aborted);
        return 'in time';
      },
      { timeoutMs: 20_000 },
    );
    const working = worker.work({ pollTimeout: 5 });
    const client = new GearmanClient(sharedHosts());
    cleanups.push(async () => {
      worker.shutdown();
      await working;
      client.shutdown();
    });
    const requests = await client.submitMultipleJobs(
      Array.from({ length: 3 }, (_, i) => ({ task, data: String(i) })),
      { waitUntilComplete: false },
    );
    const { until } = await import('../helpers/env.js');
    await until(() => release.length === 3, 20_000);
    expect(worker.connectionList).toHaveLength(3);
    expect(worker.connectionList.every((c) => c.port === worker.connectionList[0]!.port)).toBe(true);
    for (const r of release) r();
    const done = await client.waitUntilJobsCompleted(requests, { pollTimeout: 20 });
    expect(done.every((r) => r.state === JOB_COMPLETE)).toBe(true);
    expect(most).toBe(3);
    expect(aborted).toEqual([false, false, false]);
  });

  it('a timeout below 1000 ms counts as 1000 ms, as gearmand raises it', async () => {
    const worker = new GearmanWorker(sharedHosts());
    worker.registerTask('t', () => 1, { timeoutMs: 10 });
    const handler = new (await import('../../lib/command-handler/worker-handler.js')).WorkerCommandHandler(worker, worker.connectionList[0]!);
    expect(handler.effectiveTimeoutMs(10)).toBe(1000);
    expect(handler.effectiveTimeoutMs(2500)).toBe(2500);
  });
});
