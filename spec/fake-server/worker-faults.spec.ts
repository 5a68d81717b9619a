// GearmanWorker against a FakeGearmanServer that misbehaves. A broken stream closes that
// connection (logged with host:port); the worker reconnects with its retryStrategy, registers
// again and goes on serving; work() never rejects for it, and shutdown() ends it.
import { beforeEach, describe, expect, it } from 'vitest';
import { GearmanWorker } from '../../lib/index.js';
import { CommandType } from '../../lib/protocol/commands.js';
import { FakeGearmanServer, useFakeServer, type FakeConnection, type Received } from '../helpers/fake-server.js';
import { header, rawPacket, req, res } from '../helpers/packets.js';

const T = CommandType;

interface Job {
  handle: string;
  task: string;
  unique: string;
  data: string;
}

/**
 * gearmand's side of the worker protocol: a job queue; PRE_SLEEP is answered with NOOP when jobs
 * are queued (or when one is added later), GRAB_JOB_UNIQ with JOB_ASSIGN_UNIQ or NO_JOB.
 * `intercept` sees every item first and may answer it itself (return true).
 */
class JobServer {
  readonly queue: Job[] = [];
  private readonly sleeping = new Set<FakeConnection>();
  intercept: ((conn: FakeConnection, item: Received) => boolean) | undefined;

  add(job: Job): void {
    this.queue.push(job);
    for (const conn of this.sleeping) conn.reply(['NOOP']);
    this.sleeping.clear();
  }

  readonly script = (conn: FakeConnection, item: Received): void => {
    if (this.intercept?.(conn, item) === true) return;
    if (!('type' in item)) return;
    if (item.type === T.PRE_SLEEP) {
      if (this.queue.length > 0) conn.reply(['NOOP']);
      else this.sleeping.add(conn);
    } else if (item.type === T.GRAB_JOB_UNIQ) {
      this.sleeping.delete(conn);
      const job = this.queue.shift();
      if (job === undefined) conn.reply(['NO_JOB']);
      else conn.reply(['JOB_ASSIGN_UNIQ', job.handle, job.task, job.unique, job.data]);
    }
  };
}

function job(n: number): Job {
  return { handle: `H:fake:${n}`, task: 'reverse', unique: `u${n}`, data: `data ${n}` };
}

function isPacket(type: number, first?: string) {
  return (item: Received): boolean => 'type' in item && item.type === type && (first === undefined || item.args[0] === first);
}

/** Resolves with the WORK_COMPLETE for `handle` on `conn`, as [handle, result]. */
async function completion(conn: FakeConnection, handle: string): Promise<[string, string]> {
  const item = (await conn.waitFor(isPacket(T.WORK_COMPLETE, handle))) as { args: Array<string | Buffer> };
  return [item.args[0] as string, String(item.args[1])];
}

let server: FakeGearmanServer | undefined;
let worker: GearmanWorker | undefined;
let working: Promise<void> | undefined;
let jobs: JobServer;
let retries: number[];
const { logger } = useFakeServer({
  stop: async () => {
    worker?.shutdown();
    if (working !== undefined) await working;
    working = undefined;
    worker = undefined;
    server = undefined;
  },
});

beforeEach(async () => {
  jobs = new JobServer();
  retries = [];
  server = await FakeGearmanServer.start(jobs.script);
  worker = new GearmanWorker([server.address], {
    logger,
    retryStrategy: (attempt) => {
      retries.push(attempt);
      return 0;
    },
  });
  worker.registerTask('reverse', (_w, j) => Buffer.from(j.data as Buffer).reverse());
});

/** Starts work(); resolves with the first connection once the worker has registered on it. */
async function startWorking(): Promise<FakeConnection> {
  working = worker!.work({ pollTimeout: 30 });
  const conn = await server!.connection(0);
  await conn.waitFor(isPacket(T.CAN_DO, 'reverse'));
  return conn;
}

/** The worker registered again on connection `index` and serves a job there. */
async function servesOn(index: number, n: number): Promise<FakeConnection> {
  const conn = await server!.connection(index);
  await conn.waitFor(isPacket(T.CAN_DO, 'reverse'));
  jobs.add(job(n));
  expect(await completion(conn, `H:fake:${n}`)).toEqual([`H:fake:${n}`, `${n} atad`]);
  return conn;
}

describe('worker: a broken stream closes the connection, and the worker reconnects', () => {
  const FAULTS: Array<[name: string, fault: (conn: FakeConnection) => void, logged: RegExp]> = [
    ['garbage bytes', (conn) => conn.send(Buffer.from('\r\n<html>502 Bad Gateway</html>\r\n')), /closing connection: .*bad magic 0x0d0a3c68/],
    ['a bad magic mid-stream', (conn) => conn.send(res('NOOP'), req('NOOP'), res('NOOP')), /closing connection: .*bad magic 0x00524551 \(expected \\0RES\) at offset 12/],
    ['a 4 GiB size field', (conn) => conn.send(header('RES', 'JOB_ASSIGN_UNIQ', 0xffffffff)), /closing connection: .*JOB_ASSIGN_UNIQ packet declares 4294967295 bytes/],
    ['an unknown packet type', (conn) => conn.send(rawPacket('RES', 0, '')), /closing connection: .*unknown packet type 0/],
    ['a zero-argument packet with a payload', (conn) => conn.send(rawPacket('RES', 'NOOP', 'surprise')), /closing connection: .*NOOP carries no arguments but has a 8-byte payload/],
    ['a job that was not asked for', (conn) => conn.reply(['JOB_ASSIGN_UNIQ', 'H:fake:0', 'reverse', 'u0', 'x']), /closing connection: .*received job H:fake:0 \(reverse\) when none was asked for/],
    [
      'half a packet, then close',
      (conn) => {
        conn.send(res('JOB_ASSIGN_UNIQ', 'H:fake:0', 'reverse', 'u', 'data').subarray(0, 20));
        conn.close();
      },
      /lost its connection \(.*server closed the connection in the middle of a packet\)/,
    ],
    ['a reset', (conn) => conn.reset(), /lost its connection \(.*ECONNRESET\)/],
    ['a close', (conn) => conn.close(), /lost its connection \(.*server closed the connection\)/],
  ];

  for (const [name, fault, logged] of FAULTS) {
    it(`${name}: logged with host:port, then served on a new connection`, async () => {
      const first = await startWorking();
      await first.waitFor(isPacket(T.PRE_SLEEP));
      fault(first);
      await first.waitClosed();
      await servesOn(1, 1);
      const lines = logger.find(server!.address).filter((m) => logged.test(m));
      expect(lines, logger.lines.map((l) => l.message).join('\n')).toHaveLength(1);
      expect(lines[0]!.startsWith(server!.address)).toBe(true);
      expect(retries).toEqual([0]);
      expect(server!.connections).toHaveLength(2);
    });
  }
});

describe('worker: faults around a running job', () => {
  it('a reset while a job runs: the result is dropped, the lock is kept until the job settles, then the next job runs on the new connection', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    worker!.registerTask('reverse', async (_w, j) => {
      if (j.handle === 'H:fake:1') {
        started();
        await gate;
      }
      return `done ${j.handle}`;
    });
    jobs.add(job(1));
    const first = await startWorking();
    await running;
    first.reset();
    const second = await server!.connection(1);
    await second.waitFor(isPacket(T.PRE_SLEEP));
    // Wait until the NOOP for job 2 has reached the worker, whose job lock job 1 still holds.
    const woken = new Promise<void>((resolve) => {
      worker!.afterPoll = () => {
        if (worker!.handlerOf(worker!.connectionList[0])?.wakePending === true) resolve();
        return true;
      };
    });
    jobs.add(job(2));
    await woken;
    expect(second.received.some(isPacket(T.GRAB_JOB_UNIQ))).toBe(false);
    release();
    expect(await completion(second, 'H:fake:2')).toEqual(['H:fake:2', 'done H:fake:2']);
    expect(second.received.some(isPacket(T.WORK_COMPLETE, 'H:fake:1'))).toBe(false);
    expect(logger.find('WORK_COMPLETE for job H:fake:1 (reverse) dropped', 'warn')).toHaveLength(1);
  });

  it('ERROR packets on a worker connection are logged and change nothing', async () => {
    jobs.intercept = (conn, item) => {
      if (conn.index === 0 && isPacket(T.PRE_SLEEP)(item) && conn.received.filter(isPacket(T.PRE_SLEEP)).length === 1) {
        conn.error('JOB_NOT_FOUND', 'Job given in work result not found');
        conn.error('SERVER_ERROR', 'something odd');
      }
      return false;
    };
    const first = await startWorking();
    await first.waitFor(isPacket(T.PRE_SLEEP));
    jobs.add(job(1));
    expect(await completion(first, 'H:fake:1')).toEqual(['H:fake:1', '1 atad']);
    expect(server!.connections).toHaveLength(1);
    expect(logger.find(`Received error from server ${server!.address}: SERVER_ERROR: something odd`, 'error')).toHaveLength(1);
    expect(logger.find('JOB_NOT_FOUND', 'error')).toEqual([]);
  });

  it('a server that accepts and closes at once: the worker keeps reconnecting with its retryStrategy, then serves', async () => {
    server!.onConnection = (conn) => {
      if (conn.index < 3) conn.close();
    };
    working = worker!.work({ pollTimeout: 30 });
    await servesOn(3, 1);
    // Connections that do not stay up do not reset the back-off: the attempts keep counting.
    expect(retries.slice(0, 3)).toEqual([0, 1, 2]);
    expect(server!.connections.slice(0, 3).every((c) => c.closed)).toBe(true);
  });

  it('a server that never answers: work() cycles on pollTimeout and ends when afterPoll says so', async () => {
    jobs.intercept = (conn) => {
      conn.hang();
      return true;
    };
    const calls: boolean[] = [];
    worker!.afterPoll = (any) => {
      calls.push(any);
      return calls.length < 4;
    };
    working = worker!.work({ pollTimeout: 0.05 });
    await working;
    expect(calls).toEqual([false, false, false, false]);
    expect(server!.connections[0]!.received.some(isPacket(T.CAN_DO, 'reverse'))).toBe(true);
  });
});
