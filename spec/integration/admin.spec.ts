// Every GearmanAdminClient method against a private gearmand in a known state, each result checked
// against what the C `gearadmin` prints for the same server at the same moment.
import net from 'node:net';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GearmanAdminClient, GearmanClient, GearmanWorker, InvalidArgumentError, JOB_CREATED, ServerError, type GearmanJobRequest } from '../../lib/index.js';
import { encodePacket } from '../../lib/protocol/encoder.js';
import { CommandType, MAGIC_RES } from '../../lib/protocol/commands.js';
import { adminLine, startGearmand, type Gearmand } from '../helpers/gearmand.mjs';
import { until } from '../helpers/env.js';

const run = promisify(execFile);

/** What `gearadmin` prints (stdout and stderr) for these flags against `port`. */
async function gearadmin(port: number, ...flags: string[]): Promise<{ stdout: string; stderr: string }> {
  return run('gearadmin', ['-h', '127.0.0.1', '-p', String(port), ...flags], { encoding: 'utf8' });
}

/** The rows of a gearadmin listing, without the final '.'. */
async function listing(port: number, flag: string): Promise<string[]> {
  const lines = (await gearadmin(port, flag)).stdout.split('\n');
  const dot = lines.indexOf('.');
  expect(dot, `gearadmin ${flag} ends its listing with '.'`).toBeGreaterThanOrEqual(0);
  return lines.slice(0, dot);
}

/** Submits a background job with an empty unique over a raw socket (GearmanClient always sends one). */
async function submitWithoutUnique(port: number, task: string): Promise<string> {
  const socket = net.connect(port, '127.0.0.1');
  try {
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    socket.write(encodePacket(CommandType.SUBMIT_JOB_BG, [task, '', 'no unique']));
    const reply = await new Promise<Buffer>((resolve, reject) => {
      let buf = Buffer.alloc(0);
      socket.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 12 && buf.length >= 12 + buf.readUInt32BE(8)) resolve(buf);
      });
      socket.once('error', reject);
    });
    expect(reply.readUInt32BE(0)).toBe(MAGIC_RES);
    expect(reply.readUInt32BE(4)).toBe(CommandType.JOB_CREATED);
    return reply.toString('utf8', 12, 12 + reply.readUInt32BE(8));
  } finally {
    socket.destroy();
  }
}

function workerLine(w: { fileDescriptor: string; ip: string; clientId: string; tasks: string[] }): string {
  return `${w.fileDescriptor} ${w.ip} ${w.clientId} :${w.tasks.map((t) => ' ' + t).join('')}`;
}

const byTask = (a: { task: string }, b: { task: string }) => (a.task < b.task ? -1 : a.task > b.task ? 1 : 0);
const byHandle = (a: { handle: string }, b: { handle: string }) => (a.handle < b.handle ? -1 : a.handle > b.handle ? 1 : 0);

describe('GearmanAdminClient against gearmand, checked with gearadmin', () => {
  let server: Gearmand;
  let admin: GearmanAdminClient;
  let client: GearmanClient;
  let worker: GearmanWorker;
  let working: Promise<void>;
  let background: GearmanJobRequest[];
  let foreground: GearmanJobRequest;
  let noUniqueHandle: string;

  beforeAll(async () => {
    server = await startGearmand();
    // A worker with a client id containing a space, registered for two tasks.
    worker = new GearmanWorker([server.host]);
    worker.setClientId('worker 1');
    worker.registerTask('resize', () => 'resized');
    worker.registerTask('email', () => 'sent');
    working = worker.work();
    // Jobs nobody works on: two background jobs with uniques, one without, one foreground job
    // whose client stays connected.
    client = new GearmanClient([server.host]);
    background = await client.submitMultipleJobs(
      [
        { task: 'queued', data: 'a', unique: 'img-1' },
        { task: 'queued', data: 'b', unique: 'img-2' },
      ],
      { background: true },
    );
    noUniqueHandle = await submitWithoutUnique(server.port, 'queued');
    foreground = await client.submitJob('queued', 'c', { unique: 'fg-1', waitUntilComplete: false });
    expect([...background, foreground].map((r) => r.state)).toEqual([JOB_CREATED, JOB_CREATED, JOB_CREATED]);
    await until(async () => (await gearadmin(server.port, '--workers')).stdout.includes(' worker 1 : '));
    admin = new GearmanAdminClient([server.host], { pollTimeout: 5 });
  });

  afterAll(async () => {
    admin?.shutdown();
    client?.shutdown();
    worker?.shutdown();
    await working;
    await server?.stop();
  });

  it('getStatus: one typed row per function, as gearadmin --status', async () => {
    const rows = await admin.getStatus();
    const printed = (await listing(server.port, '--status')).map((line) => {
      const [task, queued, running, workers] = line.split('\t');
      return { task: task!, queued: Number(queued), running: Number(running), workers: Number(workers) };
    });
    expect([...rows].sort(byTask)).toEqual(printed.sort(byTask));
    expect(rows.find((r) => r.task === 'queued')).toEqual({ task: 'queued', queued: 4, running: 0, workers: 0 });
    expect(rows.find((r) => r.task === 'resize')).toEqual({ task: 'resize', queued: 0, running: 0, workers: 1 });
    expect(rows.find((r) => r.task === 'email')).toEqual({ task: 'email', queued: 0, running: 0, workers: 1 });
  });

  it('getWorkers: every connection, client id with its space, tasks as an array, as gearadmin --workers', async () => {
    const rows = await admin.getWorkers();
    const ours = rows.map(workerLine);
    const printed = await listing(server.port, '--workers');
    // gearadmin ran after our call, so its listing has every connection ours has, plus its own.
    expect(ours.filter((line) => !printed.includes(line))).toEqual([]);
    const onlyPrinted = printed.filter((line) => !ours.includes(line));
    expect(onlyPrinted).toHaveLength(1);
    expect(onlyPrinted[0]).toMatch(/^\d+ 127\.0\.0\.1 - :$/);
    // Connections that registered nothing: the client's and this admin client's own.
    expect(rows.filter((r) => r.clientId === '-' && r.tasks.length === 0).length).toBeGreaterThanOrEqual(2);
    expect(rows.filter((r) => r.clientId === 'worker 1')).toEqual([
      { fileDescriptor: expect.stringMatching(/^\d+$/), ip: '127.0.0.1', clientId: 'worker 1', tasks: ['email', 'resize'] },
    ]);
  });

  it('getVersion: the version without OK, as gearadmin --server-version', async () => {
    const version = await admin.getVersion();
    expect(version).toBe((await gearadmin(server.port, '--server-version')).stdout.trim());
    expect(version).toBe(server.version);
    expect(version).toMatch(/^1\.1\./);
  });

  it("getPid: the server's pid without OK, as gearadmin --getpid", async () => {
    const pid = await admin.getPid();
    expect(pid).toBe((await gearadmin(server.port, '--getpid')).stdout.trim());
    expect(pid).toBe(String(server.pid));
  });

  it('getJobs: handle, retries, ignored, stored as numbers, as gearadmin --show-jobs', async () => {
    const rows = await admin.getJobs();
    const printed = (await listing(server.port, '--show-jobs')).map((line) => {
      const [handle, retries, ignored, stored] = line.split('\t');
      return { handle: handle!, retries: Number(retries), ignored: Number(ignored), stored: Number(stored) };
    });
    expect([...rows].sort(byHandle)).toEqual(printed.sort(byHandle));
    const expected = [
      ...background.map((r) => ({ handle: r.job.handle!, retries: 0, ignored: 0, stored: 1 })),
      { handle: noUniqueHandle, retries: 0, ignored: 0, stored: 1 },
      { handle: foreground.job.handle!, retries: 0, ignored: 0, stored: 0 },
    ];
    expect([...rows].sort(byHandle)).toEqual(expected.sort(byHandle));
  });

  it("getUniqueJobs: strings, '' for the job without one, as gearadmin --show-unique-jobs", async () => {
    const uniques = await admin.getUniqueJobs();
    expect([...uniques].sort()).toEqual((await listing(server.port, '--show-unique-jobs')).sort());
    expect([...uniques].sort()).toEqual(['', 'fg-1', 'img-1', 'img-2']);
  });

  it('cancelJob: OK for a queued job (shown ignored after), ServerError UNKNOWN_JOB as gearadmin reports', async () => {
    const [request] = await client.submitMultipleJobs([{ task: 'cancel-me', data: 'x', unique: 'cancel-1' }], { background: true });
    const handle = request!.job.handle!;
    expect(await admin.cancelJob(handle)).toBe('OK');
    const row = (await admin.getJobs()).find((j) => j.handle === handle);
    // gearmand clears job_queued (the 4th column) when it cancels a background job.
    expect(row).toEqual({ handle, retries: 0, ignored: 1, stored: 0 });
    expect(await listing(server.port, '--show-jobs')).toContain(`${handle}\t0\t1\t0`);

    const unknown = 'H:nowhere:999999';
    const error = await admin.cancelJob(unknown).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(ServerError);
    expect((error as ServerError).serverCode).toBe('UNKNOWN_JOB');
    expect((error as ServerError).serverText).toBe('');
    expect((error as ServerError).message).toContain(`127.0.0.1:${server.port} 'cancel job ${unknown}'`);
    const printed = await gearadmin(server.port, '--cancel-job', unknown);
    expect(printed.stdout + printed.stderr).toContain('Error: UNKNOWN_JOB');
    // The client stays in step: the next answer is the next call's.
    expect(await admin.getPid()).toBe(String(server.pid));
  });

  it('sendShutdown: gearmand 1.1 answers ERR UNKNOWN_COMMAND, which rejects at once; the server runs on', async () => {
    expect(await adminLine(server.port, 'shutdown')).toBe('ERR UNKNOWN_COMMAND Unknown+server+commandshutdown');
    for (const graceful of [true, false]) {
      const error = await admin.sendShutdown(graceful).then(
        () => undefined,
        (err: unknown) => err,
      );
      // A ServerError, not InvalidAdminClientState: the ERR line ended the wait, not pollTimeout.
      expect(error).toBeInstanceOf(ServerError);
      expect((error as ServerError).code).toBe('SERVER_ERROR');
      expect((error as ServerError).serverCode).toBe('UNKNOWN_COMMAND');
      expect((error as ServerError).serverText).toBe('Unknown server commandshutdown');
      expect((error as ServerError).message).toContain(graceful ? "'shutdown graceful'" : "'shutdown'");
    }
    expect((await gearadmin(server.port, '--getpid')).stdout.trim()).toBe(String(server.pid));
    expect(await admin.getVersion()).toBe(server.version);
  });

  it('pingServer: the seconds an ECHO round trip took', async () => {
    const before = performance.now();
    const seconds = await admin.pingServer();
    const elapsed = (performance.now() - before) / 1000;
    expect(typeof seconds).toBe('number');
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThanOrEqual(elapsed);
  });

  it('answers many overlapping calls, text and ECHO mixed, each with its own answer', async () => {
    const expected = {
      status: [...(await admin.getStatus())].sort(byTask),
      workers: (await admin.getWorkers()).map(workerLine).sort(),
      jobs: [...(await admin.getJobs())].sort(byHandle),
      uniques: [...(await admin.getUniqueJobs())].sort(),
    };
    const round = () => [
      admin.getStatus().then((r) => expect([...r].sort(byTask)).toEqual(expected.status)),
      admin.pingServer().then((s) => expect(s).toBeGreaterThan(0)),
      admin.getVersion().then((v) => expect(v).toBe(server.version)),
      admin.getWorkers().then((r) => expect(r.map(workerLine).sort()).toEqual(expected.workers)),
      admin.getPid().then((p) => expect(p).toBe(String(server.pid))),
      admin.cancelJob('H:nowhere:1').then(
        () => expect.unreachable(),
        (err: ServerError) => expect(err.serverCode).toBe('UNKNOWN_JOB'),
      ),
      admin.getJobs().then((r) => expect([...r].sort(byHandle)).toEqual(expected.jobs)),
      admin.sendMaxqueue('no-such-function', 3).then((ok) => expect(ok).toBe('OK')),
      admin.getUniqueJobs().then((r) => expect([...r].sort()).toEqual(expected.uniques)),
      admin.sendShutdown().then(
        () => expect.unreachable(),
        (err: ServerError) => expect(err.serverCode).toBe('UNKNOWN_COMMAND'),
      ),
    ];
    const calls = Array.from({ length: 30 }, round).flat();
    const settled = await Promise.allSettled(calls);
    expect(settled.filter((s) => s.status === 'rejected')).toEqual([]);
    expect(settled).toHaveLength(300);
  });

  it('rejects arguments the text protocol cannot carry without sending them, and stays in step', async () => {
    for (const call of [
      () => admin.sendMaxqueue('queued\r\nshutdown', 1),
      () => admin.sendMaxqueue('two words', 1),
      () => admin.sendMaxqueue('queued', 0.5),
      () => admin.cancelJob(`${foreground.job.handle} extra`),
    ]) {
      const error = await call().then(() => undefined, (err: unknown) => err);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error).toBeInstanceOf(TypeError);
      expect(error).toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    // Had the first one been sent, gearmand would have limited 'queued' to 1 job.
    expect((await admin.getStatus()).find((r) => r.task === 'queued')?.queued).toBe(4);
    expect(await admin.getPid()).toBe(String(server.pid));
  });
});

describe('GearmanAdminClient: listing rows that look like errors', () => {
  it('a first listing row starting with "ERR " is a row (gearmand ends ERR answers with \\r\\n, rows with \\n)', async () => {
    const server = await startGearmand();
    const client = new GearmanClient([server.host]);
    const admin = new GearmanAdminClient([server.host]);
    try {
      const unique = 'ERR UNKNOWN_JOB x';
      await client.submitJob('looks-like-an-error', 'x', { unique, background: true });
      expect(await admin.getUniqueJobs()).toEqual([unique]);
      // Still in step: the next answer is the next command's.
      expect(await admin.getVersion()).toBe(server.version);
    } finally {
      admin.shutdown();
      client.shutdown();
      await server.stop();
    }
  });
});

