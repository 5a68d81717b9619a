// The job lock across two servers: one job at a time, both servers served, a wake-up that arrives
// while the lock is held elsewhere is remembered (no NOOP / PRE_SLEEP ping-pong), and the lock is
// held until the callback settles even when the job's server goes away.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GearmanClient, GearmanWorker, JOB_COMPLETE, protocol, type Logger } from '../../lib/index.js';
import type { GearmanConnection } from '../../lib/internal.js';
import type { PacketArgs } from '../../lib/protocol/decoder.js';
import { startGearmand, type Gearmand } from '../helpers/gearmand.mjs';
import { taskName, until } from '../helpers/env.js';

const NOOP = protocol.CommandType.NOOP;

/** Counts the packets each connection receives, by type. */
class CountingWorker extends GearmanWorker {
  readonly received = new Map<GearmanConnection, Map<number, number>>();
  override handlePacket(connection: GearmanConnection, type: number, args: PacketArgs): void {
    let counts = this.received.get(connection);
    if (counts === undefined) this.received.set(connection, (counts = new Map()));
    counts.set(type, (counts.get(type) ?? 0) + 1);
    super.handlePacket(connection, type, args);
  }
  count(connection: GearmanConnection, type?: number): number {
    const counts = this.received.get(connection);
    if (counts === undefined) return 0;
    if (type !== undefined) return counts.get(type) ?? 0;
    let all = 0;
    for (const n of counts.values()) all += n;
    return all;
  }
}

function quietLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, debug() {}, info() {}, warn: (m: string) => void warnings.push(m), error() {} };
}

let a: Gearmand;
let b: Gearmand;
const cleanups: Array<() => unknown> = [];

beforeEach(async () => {
  [a, b] = await Promise.all([startGearmand(), startGearmand()]);
  cleanups.push(() => a.stop(), () => b.stop());
});

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

function client(server: Gearmand): GearmanClient {
  const c = new GearmanClient([server.host]);
  cleanups.push(() => c.shutdown());
  return c;
}

function start(worker: GearmanWorker): Promise<void> {
  const working = worker.work();
  working.catch(() => undefined);
  cleanups.push(async () => {
    worker.shutdown();
    await working.catch(() => undefined);
  });
  return working;
}

function connectionTo(worker: GearmanWorker, server: Gearmand): GearmanConnection {
  return worker.connectionList.find((c) => c.port === server.port)!;
}

describe('GearmanWorker job lock across two servers', () => {
  it('runs one job at a time and serves the jobs of both servers', async () => {
    const task = taskName('lock');
    let active = 0;
    let maxActive = 0;
    const servedBy = new Map<number, number>();
    const worker = new GearmanWorker([a.host, b.host]);
    worker.registerTask(task, async (_w, job) => {
      active++;
      maxActive = Math.max(maxActive, active);
      await new Promise((resolve) => setTimeout(resolve, 5)); // some asynchronous work
      servedBy.set(job.connection!.port, (servedBy.get(job.connection!.port) ?? 0) + 1);
      active--;
      return `${job.connection!.port}:${String(job.data)}`;
    });
    start(worker);
    const jobs = Array.from({ length: 8 }, (_, i) => ({ task, data: `job-${i}` }));
    const [fromA, fromB] = await Promise.all([client(a).submitMultipleJobs(jobs), client(b).submitMultipleJobs(jobs)]);
    expect(fromA.map((r) => String(r.result))).toEqual(jobs.map((j) => `${a.port}:${j.data}`));
    expect(fromB.map((r) => String(r.result))).toEqual(jobs.map((j) => `${b.port}:${j.data}`));
    expect(maxActive).toBe(1);
    expect(servedBy.get(a.port)).toBe(8);
    expect(servedBy.get(b.port)).toBe(8);
  });

  it('remembers a wake-up that arrives while the other server\'s job runs: no NOOP ping-pong, and its job runs right after', async () => {
    const task = taskName('pingpong');
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const order: string[] = [];
    let aStarted = false;
    const worker = new CountingWorker([a.host, b.host]);
    worker.registerTask(task, async (_w, job) => {
      order.push(`start ${String(job.data)}`);
      if (String(job.data) === 'long') {
        aStarted = true;
        await gate;
        // The rest of a long job: time in which a worker that answered every NOOP with PRE_SLEEP
        // would exchange thousands of packets with server B.
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
      order.push(`end ${String(job.data)}`);
      return String(job.data);
    });
    let polls = 0;
    worker.afterPoll = () => {
      polls++;
      return true;
    };
    start(worker);
    const onB = connectionTo(worker, b);
    const long = client(a).submitJob(task, 'long');
    long.catch(() => undefined);
    await until(() => aStarted);
    const cpuBefore = process.cpuUsage();
    const queued = client(b).submitJob(task, 'queued');
    queued.catch(() => undefined);
    await until(() => worker.count(onB, NOOP) >= 1);
    const wokeWhileLocked = worker.handlerOf(onB)?.wakePending;
    const packetsOnB = worker.count(onB);
    const noopsOnB = worker.count(onB, NOOP);
    const pollsBefore = polls;
    const started = performance.now();
    open();
    const [doneA, doneB] = await Promise.all([long, queued]);
    const cpu = process.cpuUsage(cpuBefore);
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    expect(doneA.state).toBe(JOB_COMPLETE);
    expect(doneB.state).toBe(JOB_COMPLETE);
    expect(order).toEqual(['start long', 'end long', 'start queued', 'end queued']);
    expect(noopsOnB).toBe(1);
    expect(wokeWhileLocked).toBe(true);
    // While the long job ran: no NOOP on B (the wake-up was not answered with PRE_SLEEP), then
    // JOB_ASSIGN_UNIQ for the queued job and NO_JOB after it (or NOOP if B was back to sleep).
    expect(worker.count(onB, NOOP)).toBeLessThanOrEqual(noopsOnB + 1);
    expect(worker.count(onB) - packetsOnB).toBeLessThanOrEqual(3);
    expect(polls - pollsBefore).toBeLessThan(20);
    // A busy loop would burn about as much CPU time as wall time.
    expect((cpu.user + cpu.system) / 1000).toBeLessThan(250);
  });

  it('holds the lock until the callback settles even when its server dies mid-job', async () => {
    const task = taskName('dies');
    const logger = quietLogger();
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const events: string[] = [];
    let lateUpdate: Promise<void> | undefined;
    const worker = new GearmanWorker([a.host, b.host], { logger, retryStrategy: () => 50 });
    worker.registerTask(task, async (w, job) => {
      events.push(`start ${String(job.data)}`);
      if (String(job.data) === 'on-a') {
        await gate;
        // The job's connection is gone: dropped with a warning, never a rejection.
        lateUpdate = w.sendJobData(job, 'too late');
        await lateUpdate;
        await w.sendJobStatus(job, 1, 1);
      }
      events.push(`end ${String(job.data)}`);
      return 'result';
    });
    start(worker);
    const onB = connectionTo(worker, b);
    const clientA = new GearmanClient([a.host], { logger: quietLogger() });
    cleanups.push(() => clientA.shutdown());
    void clientA.submitJob(task, 'on-a').catch(() => undefined);
    await until(() => events.length === 1);
    await a.stop();
    await until(() => !connectionTo(worker, a).connected);
    const queued = client(b).submitJob(task, 'on-b');
    await until(() => worker.handlerOf(onB)?.wakePending === true);
    // B woke up while the job of the dead connection still runs: B's job must wait for it.
    expect(events).toEqual(['start on-a']);
    open();
    const done = await queued;
    expect(done.state).toBe(JOB_COMPLETE);
    expect(events).toEqual(['start on-a', 'end on-a', 'start on-b', 'end on-b']);
    await expect(lateUpdate).resolves.toBeUndefined();
    const warnings = logger.warnings.join('\n');
    expect(warnings).toMatch(/WORK_DATA for job .* dropped/);
    expect(warnings).toMatch(/WORK_STATUS for job .* dropped/);
    expect(warnings).toMatch(/WORK_COMPLETE for job .* dropped/);
  });
});
