// GearmanServer's own behaviour: lifecycle, options and limits, what it does beyond or apart from
// gearmand 1.1.20 (epoch wake-ups, counters, shutdown on request), and the timing-dependent paths
// (CAN_DO_TIMEOUT, job retries) that the side-by-side spec does not cover.
import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import { GearmanServer } from '../../lib/server/index.js';
import { GearmanAdminClient, GearmanClient, GearmanWorker } from '../../lib/index.js';
import { InvalidArgumentError } from '../../lib/errors.js';
import { req, header } from '../helpers/packets.js';
import { RawPeer } from './raw-peer.js';

const servers: GearmanServer[] = [];
const closers: Array<() => unknown> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
  for (const s of servers.splice(0)) await s.close();
});

async function start(options: ConstructorParameters<typeof GearmanServer>[0] = {}): Promise<GearmanServer> {
  const server = await GearmanServer.start({ port: 0, ...options });
  servers.push(server);
  return server;
}

function handleOf(reply: string): string {
  return JSON.parse(reply.split(' ')[1]!) as string;
}

describe('GearmanServer lifecycle', () => {
  it('start({ port: 0 }) picks a free port; hostList is ready for a client; close() releases the port', async () => {
    const server = await GearmanServer.start({ port: 0 });
    expect(server.port).toBeGreaterThan(0);
    expect(server.hostList).toEqual([`127.0.0.1:${server.port}`]);
    const peer = await RawPeer.connect(server.port);
    peer.send(req('ECHO_REQ', 'hi'));
    expect(await peer.more(1)).toEqual(['ECHO_RES "hi"']);
    await server.close();
    await peer.whenClosed();
    // The port is free again: we can listen on it ourselves.
    const again = net.createServer();
    await new Promise<void>((resolve, reject) => {
      again.once('error', reject);
      again.listen(server.port, '127.0.0.1', resolve);
    });
    await new Promise((resolve) => again.close(resolve));
    await server.close();
  });

  it('await using closes it', async () => {
    let port = 0;
    {
      await using server = await GearmanServer.start({ port: 0 });
      port = server.port;
      const peer = await RawPeer.connect(port);
      peer.close();
    }
    await expect(RawPeer.connect(port)).rejects.toThrow(/ECONNREFUSED/);
  });

  it('refuses unknown options with a suggestion, and bad values', () => {
    expect(() => new GearmanServer({ max_packet_size: 1 } as never)).toThrow(InvalidArgumentError);
    expect(() => new GearmanServer({ port: -1 })).toThrow(/port must be/);
    expect(() => new GearmanServer({ port: 70000 })).toThrow(/0 to 65535/);
    // Every packet carrying a handle would be framed wrongly: the server builds them unchecked.
    expect(() => new GearmanServer({ handlePrefix: 'H:a\0b' })).toThrow(InvalidArgumentError);
  });

  it('a port in use rejects start()', async () => {
    const server = await start();
    await expect(GearmanServer.start({ port: server.port })).rejects.toThrow(/EADDRINUSE/);
  });
});

describe('a real client, worker and admin client against it', () => {
  it('foreground, background, status, progress and results', async () => {
    const server = await start();
    const worker = new GearmanWorker(server.hostList);
    const client = new GearmanClient(server.hostList);
    closers.push(() => worker.shutdown(), () => client.shutdown());
    worker.registerTask('upper', async (w, job) => {
      await w.sendJobData(job, 'half');
      await w.sendJobStatus(job, 1, 2);
      return String(job.data).toUpperCase();
    });
    void worker.work({ pollTimeout: 0.05 }).catch(() => undefined);
    const request = await client.submitJob('upper', 'abc', { pollTimeout: 10 });
    expect(request.state).toBe('COMPLETE');
    expect(String(request.result)).toBe('ABC');
    expect(request.dataUpdates.map(String)).toEqual(['half']);
    expect(request.status).toMatchObject({ numerator: 1, denominator: 2 });
    const bg = await client.submitJob('upper', 'x', { background: true, waitUntilComplete: false });
    expect(bg.job.handle).toMatch(/^H:.+:\d+$/);
    const stats = server.stats();
    expect(stats.tasks.upper).toMatchObject({ submitted: 2, workers: 1 });
  });

  it('counters: completed, failed and exceptions per task in stats() and the `counters` admin command', async () => {
    const server = await start();
    const worker = new GearmanWorker(server.hostList);
    const client = new GearmanClient(server.hostList);
    closers.push(() => worker.shutdown(), () => client.shutdown());
    worker.registerTask('count', (_w, job) => {
      const what = String(job.data);
      if (what === 'fail') return false as never;
      if (what === 'throw') throw new Error('boom');
      return 'ok';
    });
    void worker.work({ pollTimeout: 0.05 }).catch(() => undefined);
    const requests = await client.submitMultipleJobs(
      ['ok', 'ok', 'throw'].map((data) => ({ task: 'count', data })),
      { pollTimeout: 10 },
    );
    expect(requests.map((r) => r.state)).toEqual(['COMPLETE', 'COMPLETE', 'FAILED']);
    expect(server.stats().tasks.count).toMatchObject({ submitted: 3, completed: 2 });
    const t = server.stats().tasks.count!;
    expect(t.failed + t.exceptions).toBe(1);
    const admin = await RawPeer.connect(server.port);
    const rows = await admin.admin('counters');
    expect(rows).toEqual([`text "count\\t3\\t2\\t${t.failed}\\t${t.exceptions}\\n"`, 'text ".\\n"']);
    admin.close();
  });

  it('the admin client reads status, workers, jobs and version', async () => {
    const server = await start({ version: '1.1.20+test' });
    const admin = new GearmanAdminClient(server.hostList);
    closers.push(() => admin.shutdown?.());
    const peer = await RawPeer.connect(server.port);
    peer.send(req('SET_CLIENT_ID', 'w one'), req('CAN_DO', 'a'), req('CAN_DO', 'b'), req('SUBMIT_JOB_BG', 'a', 'u1', 'x'));
    await peer.more(1);
    expect(await admin.getVersion()).toBe('1.1.20+test');
    expect(await admin.getPid()).toBe(String(process.pid));
    expect(await admin.getStatus()).toEqual(
      expect.arrayContaining([
        { task: 'a', queued: 1, running: 0, workers: 1 },
        { task: 'b', queued: 0, running: 0, workers: 1 },
      ]),
    );
    expect((await admin.getWorkers()).find((w) => w.clientId === 'w one')?.tasks).toEqual(['b', 'a']);
    expect(await admin.getUniqueJobs()).toEqual(['u1']);
    peer.close();
  });
});

describe('beyond gearmand 1.1.20, on purpose', () => {
  it('an epoch job becomes runnable at its time and wakes the sleeping worker', async () => {
    const server = await start();
    const w = await RawPeer.connect(server.port);
    const c = await RawPeer.connect(server.port);
    w.send(req('CAN_DO', 'later'), req('PRE_SLEEP'), req('ECHO_REQ', 'asleep'));
    await w.more(1);
    const when = Math.floor(Date.now() / 1000) + 2;
    c.send(req('SUBMIT_JOB_EPOCH', 'later', '', String(when), 'payload'));
    const [created] = await c.more(1);
    // Not runnable before its time.
    const probe = await RawPeer.connect(server.port);
    probe.send(req('CAN_DO', 'later'), req('GRAB_JOB'));
    expect(await probe.more(1)).toEqual(['NO_JOB']);
    probe.close();
    // Its time comes: the sleeping worker is woken (gearmand 1.1.20 leaves it asleep).
    expect(await w.more(1, 10_000)).toEqual(['NOOP']);
    expect(Date.now()).toBeGreaterThanOrEqual(when * 1000);
    w.send(req('GRAB_JOB'));
    expect(await w.more(1)).toEqual([`JOB_ASSIGN "${handleOf(created!)}" "later" "payload"`]);
    w.close();
    c.close();
  });

  it('shutdown is refused as gearmand refuses it, unless allowShutdown', async () => {
    const refusing = await start();
    const a = await RawPeer.connect(refusing.port);
    expect(await a.admin('shutdown')).toEqual(['text "ERR UNKNOWN_COMMAND Unknown+server+commandshutdown\\r\\n"']);
    a.close();
    const server = await start({ allowShutdown: true });
    const b = await RawPeer.connect(server.port);
    expect(await b.admin('shutdown')).toEqual(['text "OK\\n"']);
    await b.whenClosed();
    await expect(RawPeer.connect(server.port)).rejects.toThrow(/ECONNREFUSED/);
  });

  it('shutdown graceful stops listening, lets the running job finish, then closes', async () => {
    const server = await start({ allowShutdown: true });
    const w = await RawPeer.connect(server.port);
    const c = await RawPeer.connect(server.port);
    w.send(req('CAN_DO', 'g'));
    c.send(req('SUBMIT_JOB', 'g', '', 'x'));
    const [created] = await c.more(1);
    w.send(req('GRAB_JOB'));
    await w.more(1);
    const a = await RawPeer.connect(server.port);
    expect(await a.admin('shutdown graceful')).toEqual(['text "OK\\n"']);
    await expect(RawPeer.connect(server.port)).rejects.toThrow(/ECONNREFUSED/);
    w.send(req('WORK_COMPLETE', handleOf(created!), 'done'));
    expect(await c.more(1)).toEqual([`WORK_COMPLETE "${handleOf(created!)}" "done"`]);
    await c.whenClosed();
    await w.whenClosed();
  });

  it('a 64-byte unique reaches GRAB_JOB_UNIQ as its first 63 bytes with the data intact', async () => {
    const server = await start();
    const p = await RawPeer.connect(server.port);
    p.send(req('SUBMIT_JOB_BG', 'f', 'v'.repeat(64), 'a'), req('CAN_DO', 'f'), req('GRAB_JOB_UNIQ'));
    const [created, assign] = await p.more(2);
    expect(assign).toBe(`JOB_ASSIGN_UNIQ "${handleOf(created!)}" "f" "${'v'.repeat(63)}" "a"`);
    p.close();
  });

  it('GET_STATUS with a NUL in the handle answers for the part before it (a C string, as gearmand)', async () => {
    const server = await start();
    const p = await RawPeer.connect(server.port);
    p.send(req('GET_STATUS', 'H:x:1\0tail'), req('GET_STATUS_UNIQUE', 'u\0v'));
    expect(await p.more(2)).toEqual(['STATUS_RES "H:x:1" "0" "0" "0" "0"', 'STATUS_RES_UNIQUE "u" "0" "0" "0" "0" "0"']);
    p.close();
  });

  it('GET_STATUS with a handle of 64 bytes closes that connection only', async () => {
    const server = await start();
    const bad = await RawPeer.connect(server.port);
    const good = await RawPeer.connect(server.port);
    bad.send(req('GET_STATUS', 'H'.repeat(64)), req('ECHO_REQ', 'x'));
    await bad.whenClosed();
    expect(bad.replies).toEqual([]);
    good.send(req('ECHO_REQ', 'still here'));
    expect(await good.more(1)).toEqual(['ECHO_RES "still here"']);
    good.close();
  });
});

describe('workers', () => {
  it('several jobs in flight on one worker connection, completed out of order', async () => {
    const server = await start();
    const c = await RawPeer.connect(server.port);
    const w = await RawPeer.connect(server.port);
    c.send(req('SUBMIT_JOB', 'many', '', '1'), req('SUBMIT_JOB', 'many', '', '2'), req('SUBMIT_JOB', 'many', '', '3'));
    const created = (await c.more(3)).map(handleOf);
    w.send(req('CAN_DO', 'many'), req('GRAB_JOB'), req('GRAB_JOB'), req('GRAB_JOB'));
    expect((await w.more(3)).map(handleOf)).toEqual(created);
    expect(server.stats().tasks.many).toMatchObject({ running: 3, total: 3 });
    w.send(req('WORK_COMPLETE', created[2]!, 'c'), req('WORK_COMPLETE', created[0]!, 'a'), req('WORK_COMPLETE', created[1]!, 'b'));
    expect(await c.more(3)).toEqual([`WORK_COMPLETE "${created[2]}" "c"`, `WORK_COMPLETE "${created[0]}" "a"`, `WORK_COMPLETE "${created[1]}" "b"`]);
    c.close();
    w.close();
  });

  it('CAN_DO_TIMEOUT re-queues a job its worker holds too long; a late result is JOB_NOT_FOUND', async () => {
    const server = await start();
    const c = await RawPeer.connect(server.port);
    const slow = await RawPeer.connect(server.port);
    slow.send(req('CAN_DO_TIMEOUT', 'tmo', '1000'), req('ECHO_REQ', 'x'));
    await slow.more(1);
    c.send(req('SUBMIT_JOB', 'tmo', '', 'x'));
    const handle = handleOf((await c.more(1))[0]!);
    slow.send(req('GRAB_JOB'));
    await slow.more(1);
    const a = await RawPeer.connect(server.port);
    for (;;) {
      const rows = await a.admin('show jobs');
      if (rows[0] === `text "${handle}\\t1\\t0\\t0\\n"`) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const next = await RawPeer.connect(server.port);
    next.send(req('CAN_DO', 'tmo'), req('GRAB_JOB'));
    expect(handleOf((await next.more(1))[0]!)).toBe(handle);
    slow.send(req('WORK_COMPLETE', handle, 'late'));
    expect(await slow.more(1)).toEqual(['ERROR "JOB_NOT_FOUND" "Job given in work result not found"']);
    next.send(req('WORK_COMPLETE', handle, 'on time'));
    expect(await c.more(1)).toEqual([`WORK_COMPLETE "${handle}" "on time"`]);
    for (const p of [c, slow, a, next]) p.close();
  });

  it('jobRetries: the N-th lost worker fails the job (WORK_FAIL), as gearmand --job-retries', async () => {
    const server = await start({ jobRetries: 2 });
    const c = await RawPeer.connect(server.port);
    c.send(req('SUBMIT_JOB', 'retry', '', 'x'));
    const handle = handleOf((await c.more(1))[0]!);
    for (let i = 0; i < 2; i++) {
      const w = await RawPeer.connect(server.port);
      w.send(req('CAN_DO', 'retry'), req('GRAB_JOB'));
      expect(handleOf((await w.more(1))[0]!)).toBe(handle);
      w.close();
      await w.whenClosed();
    }
    expect(await c.more(1)).toEqual([`WORK_FAIL "${handle}"`]);
    expect(server.stats().tasks.retry).toMatchObject({ total: 0, failed: 1 });
    c.close();
  });

  it('exceptions: true sends WORK_EXCEPTION to every client without OPTION_REQ', async () => {
    const server = await start({ exceptions: true });
    const c = await RawPeer.connect(server.port);
    const w = await RawPeer.connect(server.port);
    c.send(req('SUBMIT_JOB', 'ex', '', 'x'));
    const handle = handleOf((await c.more(1))[0]!);
    w.send(req('CAN_DO', 'ex'), req('GRAB_JOB'));
    await w.more(1);
    w.send(req('WORK_EXCEPTION', handle, 'boom'));
    expect(await c.more(1)).toEqual([`WORK_EXCEPTION "${handle}" "boom"`]);
    c.close();
    w.close();
  });
});

describe('limits', () => {
  it('maxQueuedJobs refuses with gearmand\'s QUEUE_ERROR', async () => {
    const server = await start({ maxQueuedJobs: 2 });
    const c = await RawPeer.connect(server.port);
    c.send(req('SUBMIT_JOB_BG', 'q', '', '1'), req('SUBMIT_JOB_BG', 'q', '', '2'), req('SUBMIT_JOB_BG', 'q', '', '3'));
    const replies = await c.more(3);
    expect(replies[2]).toBe('ERROR "QUEUE_ERROR" "Job queue is full"');
    c.close();
  });

  it('maxConnections closes connections past the limit at accept; the others keep working', async () => {
    const server = await start({ maxConnections: 2 });
    const a = await RawPeer.connect(server.port);
    const b = await RawPeer.connect(server.port);
    a.send(req('ECHO_REQ', 'a'));
    await a.more(1);
    b.send(req('ECHO_REQ', 'b'));
    await b.more(1);
    const c = await RawPeer.connect(server.port);
    await c.whenClosed();
    a.send(req('ECHO_REQ', 'still'));
    expect(await a.more(1)).toEqual(['ECHO_RES "still"']);
    a.close();
    b.close();
  });

  it('maxPacketSize closes a connection that declares more, at the header', async () => {
    const server = await start({ maxPacketSize: 1024 });
    const p = await RawPeer.connect(server.port);
    p.send(header('REQ', 'ECHO_REQ', 2048));
    await p.whenClosed();
    const q = await RawPeer.connect(server.port);
    q.send(req('ECHO_REQ', 'x'.repeat(1000)));
    expect((await q.more(1))[0]).toMatch(/^ECHO_RES/);
    q.close();
  });

  it('maxOutputBytes closes a connection whose peer does not read its answers, and logs why', async () => {
    const warnings: string[] = [];
    const logger = { debug: () => undefined, warn: (m: string) => warnings.push(m), error: (m: string) => warnings.push(m) };
    const server = await start({ maxOutputBytes: 1024 * 1024, logger });
    const s = net.connect({ host: '127.0.0.1', port: server.port });
    await new Promise((resolve) => s.once('connect', resolve));
    s.on('error', () => undefined);
    s.pause();
    const echo = req('ECHO_REQ', Buffer.alloc(64 * 1024, 1));
    const gone = new Promise((resolve) => s.once('close', resolve));
    for (let i = 0; i < 400 && !s.destroyed; i++) s.write(echo);
    // Still not reading: the server gives up on this connection.
    while (!warnings.some((w) => /written and not read by the peer/.test(w))) await new Promise((resolve) => setTimeout(resolve, 20));
    s.resume();
    await gone;
    expect(warnings.some((w) => /written and not read by the peer/.test(w))).toBe(true);
    const q = await RawPeer.connect(server.port);
    q.send(req('ECHO_REQ', 'fine'));
    expect(await q.more(1)).toEqual(['ECHO_RES "fine"']);
    q.close();
  });

  it('stallTimeoutMs closes a connection whose packet stops arriving', async () => {
    const server = await start({ stallTimeoutMs: 200 });
    const p = await RawPeer.connect(server.port);
    p.send(header('REQ', 'ECHO_REQ', 100), Buffer.from('only part'));
    await p.whenClosed();
    expect(server.stats().connections).toBe(0);
  });
});
