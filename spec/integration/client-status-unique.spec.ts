// Status by unique (#12): GET_STATUS_UNIQUE / STATUS_RES_UNIQUE against gearmand, for queued,
// running and unknown uniques, with the count of clients waiting on the job. gearmand answers
// `unique\0known\0running\0numerator\0denominator\0waiting-clients` (protocol.md 4.12): the
// unique comes first, not a handle. The first spec checks that order on the raw wire.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { GearmanClient, GearmanWorker, InvalidArgumentError, type UniqueStatus } from '../../lib/index.js';
import { CommandType } from '../../lib/protocol/commands.js';
import { PacketDecoder } from '../../lib/protocol/decoder.js';
import { req } from '../helpers/packets.js';
import { sharedHosts, sharedPort, taskName, until } from '../helpers/env.js';
import { deferred } from '../helpers/workers.js';

/** Sends one raw GET_STATUS_UNIQUE and returns the STATUS_RES_UNIQUE arguments as gearmand sent them. */
function rawStatusUnique(unique: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(sharedPort(), '127.0.0.1');
    const decoder = new PacketDecoder({
      onPacket: (type, args) => {
        socket.destroy();
        if (type !== CommandType.STATUS_RES_UNIQUE) reject(new Error(`got packet ${type}`));
        else resolve(args.map((a) => String(a)));
      },
    });
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    socket.on('error', reject);
    socket.on('connect', () => socket.write(req('GET_STATUS_UNIQUE', unique)));
  });
}

describe('getJobStatusByUnique against gearmand', () => {
  let client: GearmanClient;
  let other: GearmanClient;
  beforeAll(() => {
    client = new GearmanClient(sharedHosts());
    other = new GearmanClient(sharedHosts());
  });
  afterAll(() => {
    client.shutdown();
    other.shutdown();
  });

  it('gearmand leads STATUS_RES_UNIQUE with the unique, then known, running, numerator, denominator, waiting clients', async () => {
    const task = taskName('su-raw');
    const unique = `raw-${task}`;
    await client.submitJob(task, 'x', { background: true, unique });
    expect(await rawStatusUnique(unique)).toEqual([unique, '1', '0', '0', '0', '0']);
    expect(await rawStatusUnique(`never-${task}`)).toEqual([`never-${task}`, '0', '0', '0', '0', '0']);
  });

  it('a queued background job: known, not running, no waiting client', async () => {
    const task = taskName('su-bg');
    const unique = `bg-${task}`;
    await client.submitJob(task, 'x', { background: true, unique });
    const status = await client.getJobStatusByUnique(unique);
    expectTypeOf(status).toEqualTypeOf<UniqueStatus>();
    expect(status).toEqual({ unique, known: true, running: false, numerator: 0, denominator: 0, waitingClients: 0, timedOut: false });
  });

  it('a queued foreground job counts the clients waiting on it, coalesced ones included', async () => {
    const task = taskName('su-fg');
    const unique = `fg-${task}`;
    const first = client.submitJob(task, 'x', { unique, pollTimeout: 30 });
    await until(async () => (await client.getJobStatusByUnique(unique)).known);
    expect((await client.getJobStatusByUnique(unique)).waitingClients).toBe(1);
    const second = other.submitJob(task, 'x', { unique, pollTimeout: 30 });
    await until(async () => (await client.getJobStatusByUnique(unique)).waitingClients === 2);
    const status = await other.getJobStatusByUnique(unique);
    expect(status).toMatchObject({ unique, known: true, running: false, waitingClients: 2 });
    // Let both waits end: a worker runs the job once for both.
    const worker = new GearmanWorker(sharedHosts());
    worker.registerTask(task, () => 'ran once');
    const working = worker.work({ pollTimeout: 1 });
    try {
      const [a, b] = await Promise.all([first, second]);
      expect(a.job.handle).toBe(b.job.handle);
      expect(String(a.result)).toBe('ran once');
      expect(String(b.result)).toBe('ran once');
    } finally {
      worker.shutdown();
      await working;
    }
  });

  it('a running job with progress: known, running, numerator/denominator from WORK_STATUS', async () => {
    const task = taskName('su-run');
    const unique = `run-${task}`;
    const gate = deferred();
    const reported = deferred();
    const worker = new GearmanWorker(sharedHosts());
    worker.registerTask(task, async (w, job) => {
      await w.sendJobStatus(job, 3, 10);
      reported.resolve();
      await gate.promise;
      return 'end';
    });
    const working = worker.work({ pollTimeout: 1 });
    try {
      const done = client.submitJob(task, 'x', { unique });
      await reported.promise;
      await until(async () => (await client.getJobStatusByUnique(unique)).numerator === 3);
      expect(await client.getJobStatusByUnique(unique)).toEqual({ unique, known: true, running: true, numerator: 3, denominator: 10, waitingClients: 1, timedOut: false });
      gate.resolve();
      expect(String((await done).result)).toBe('end');
      expect(await client.getJobStatusByUnique(unique)).toMatchObject({ known: false, running: false });
    } finally {
      gate.resolve();
      worker.shutdown();
      await working;
    }
  });

  it('an unknown unique: not known, zeros', async () => {
    const unique = `unknown-${taskName('su')}`;
    expect(await client.getJobStatusByUnique(unique)).toEqual({ unique, known: false, running: false, numerator: 0, denominator: 0, waitingClients: 0, timedOut: false });
  });

  it('refuses uniques gearmand would not answer (empty, 64 bytes or more, NUL)', async () => {
    for (const unique of ['', 'u'.repeat(64), 'a\0b', 42 as unknown as string]) {
      await expect(client.getJobStatusByUnique(unique)).rejects.toBeInstanceOf(InvalidArgumentError);
    }
    expect((await client.getJobStatusByUnique('u'.repeat(63))).known).toBe(false);
  });

  it('many queries in flight on one connection each get their own answer', async () => {
    const task = taskName('su-many');
    const uniques = Array.from({ length: 20 }, (_, i) => `m${i}-${task}`);
    await client.submitMultipleJobs(uniques.filter((_, i) => i % 2 === 0).map((unique) => ({ task, data: 'x', unique })), { background: true });
    const answers = await Promise.all(uniques.map((u) => client.getJobStatusByUnique(u)));
    expect(answers.map((a) => a.unique)).toEqual(uniques);
    expect(answers.map((a) => a.known)).toEqual(uniques.map((_, i) => i % 2 === 0));
  });
});
