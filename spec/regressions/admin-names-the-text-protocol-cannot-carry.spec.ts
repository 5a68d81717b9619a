// Regression (issue 9, "Names the admin text protocol cannot carry"): a task with a tab (submitted
// by another library) made every getStatus reject; with a line break it also closed the admin
// connection; a unique '.' made getUniqueJobs return [] (and the rows after it broke the next
// answer); getWorkers and client ids with spaces. This library's client and worker now refuse such
// names (checkTaskName), the admin client's arguments follow the same rules, and the parsers read
// whatever gearmand 1.1.20 prints for names other libraries gave it: listings end at a fence, rows
// are read from the right, and the admin connection stays open throughout.
import net from 'node:net';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GearmanAdminClient, GearmanWorker, InvalidArgumentError } from '../../lib/index.js';
import { encodePacket } from '../../lib/protocol/encoder.js';
import { CommandType } from '../../lib/protocol/commands.js';
import { startGearmand, type Gearmand } from '../helpers/gearmand.mjs';
import { until } from '../helpers/env.js';

const run = promisify(execFile);
const T = CommandType;

/** A raw connection that sends packets another library could send. */
async function rawConnection(port: number, packets: Buffer[]): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.write(Buffer.concat(packets));
  return socket;
}

/** Submits background jobs over a raw socket and waits for their JOB_CREATED. */
async function submitRaw(port: number, jobs: Array<[task: string, unique: string]>): Promise<void> {
  const socket = await rawConnection(port, jobs.map(([task, unique]) => encodePacket(T.SUBMIT_JOB_BG, [task, unique, 'x'])));
  try {
    await new Promise<void>((resolve, reject) => {
      let buf = Buffer.alloc(0);
      let created = 0;
      socket.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 12 && buf.length >= 12 + buf.readUInt32BE(8)) {
          if (buf.readUInt32BE(4) !== T.JOB_CREATED) reject(new Error(`expected JOB_CREATED, got packet type ${buf.readUInt32BE(4)}`));
          buf = buf.subarray(12 + buf.readUInt32BE(8));
          if (++created === jobs.length) resolve();
        }
      });
      socket.once('error', reject);
    });
  } finally {
    socket.destroy();
  }
}

async function gearadmin(port: number, flag: string): Promise<string> {
  return (await run('gearadmin', ['-h', '127.0.0.1', '-p', String(port), flag], { encoding: 'latin1' })).stdout;
}

describe('admin client: names the admin text protocol cannot carry', () => {
  let server: Gearmand;
  let admin: GearmanAdminClient;
  let foreignWorker: net.Socket;
  let worker: GearmanWorker;
  let working: Promise<void>;

  beforeAll(async () => {
    server = await startGearmand();
    await submitRaw(server.port, [
      ['tab\ttask', '.'],
      ['nl\n.\nx', 'u2'],
      ['plain', 'ERR X'],
      ['plain', 'a b'],
    ]);
    // Another library's worker: a client id with ' : ' in it, and a task name with a space.
    foreignWorker = await rawConnection(server.port, [
      encodePacket(T.SET_CLIENT_ID, ['web 1 : 42']),
      encodePacket(T.CAN_DO, ['resize']),
      encodePacket(T.CAN_DO, ['sp ace']),
    ]);
    worker = new GearmanWorker([server.host]);
    worker.setClientId('worker 1');
    worker.registerTask('email', () => 'sent');
    working = worker.work();
    await until(async () => {
      const printed = await gearadmin(server.port, '--workers');
      return printed.includes(' worker 1 : email\n') && printed.includes(' web 1 : 42 : sp ace resize\n');
    });
    admin = new GearmanAdminClient([server.host], { pollTimeout: 5 });
  });

  afterAll(async () => {
    admin?.shutdown();
    foreignWorker?.destroy();
    worker?.shutdown();
    await working;
    await server?.stop();
  });

  it('getStatus reads task names with a tab or line breaks whole, as gearadmin prints them', async () => {
    const rows = await admin.getStatus();
    const socket = admin.currentConnection.socket;
    expect(rows.find((r) => r.task === 'tab\ttask')).toEqual({ task: 'tab\ttask', queued: 1, running: 0, workers: 0 });
    expect(rows.find((r) => r.task === 'nl\n.\nx')).toEqual({ task: 'nl\n.\nx', queued: 1, running: 0, workers: 0 });
    expect(rows.find((r) => r.task === 'plain')).toEqual({ task: 'plain', queued: 2, running: 0, workers: 0 });
    expect(rows.find((r) => r.task === 'email')).toEqual({ task: 'email', queued: 0, running: 0, workers: 1 });
    const printed = await gearadmin(server.port, '--status');
    for (const row of rows) expect(printed).toContain(`${row.task}\t${row.queued}\t${row.running}\t${row.workers}\n`);
    // The same connection answers the next call: nothing was closed.
    expect(await admin.getVersion()).toBe(server.version);
    expect(admin.currentConnection.socket).toBe(socket);
  });

  it('getPriorityStatus reads the same names', async () => {
    const rows = await admin.getPriorityStatus();
    expect(rows.find((r) => r.task === 'nl\n.\nx')).toEqual({ task: 'nl\n.\nx', high: 0, normal: 1, low: 0, workers: 0 });
    expect(rows.find((r) => r.task === 'tab\ttask')).toEqual({ task: 'tab\ttask', high: 0, normal: 1, low: 0, workers: 0 });
  });

  it("getUniqueJobs keeps a unique '.' and one that looks like an error, and stays in step", async () => {
    const socket = admin.currentConnection.socket;
    const uniques = await admin.getUniqueJobs();
    expect([...uniques].sort()).toEqual(['.', 'ERR X', 'a b', 'u2']);
    const printed = (await gearadmin(server.port, '--show-unique-jobs')).split('\n');
    // gearadmin stops at the first '.', which here is the job's unique, not the end.
    expect(printed.slice(0, printed.indexOf('.')).length).toBeLessThan(uniques.length);
    expect(await admin.getPid()).toBe(String(server.pid));
    expect(admin.currentConnection.socket).toBe(socket);
  });

  it("getWorkers: client ids with spaces and ' : ', tasks as registered", async () => {
    const rows = await admin.getWorkers();
    expect(rows.filter((r) => r.clientId === 'worker 1').map((r) => r.tasks)).toEqual([['email']]);
    // The task 'sp ace' reads as two: the protocol cannot tell (this library's worker refuses it).
    expect(rows.filter((r) => r.clientId === 'web 1 : 42').map((r) => r.tasks)).toEqual([['sp', 'ace', 'resize']]);
  });

  it("refuses at the call what gearmand's listings cannot show, with the client's and worker's rules, sending nothing", async () => {
    const socket = admin.currentConnection.socket;
    const calls: Array<[() => Promise<unknown>, RegExp]> = [
      [() => admin.sendMaxqueue('tab\ttask', 1), /^sendMaxqueue: task "tab\\ttask" contains whitespace, NUL or a control character/],
      [() => admin.sendMaxqueue('two words', 1), /^sendMaxqueue: task "two words" contains whitespace/],
      [() => admin.sendMaxqueue('', 1), /^sendMaxqueue: task must be a non-empty string/],
      [() => admin.sendMaxqueue('L'.repeat(600), 1), /^sendMaxqueue: task name is 600 bytes; at most 512/],
      [() => admin.cancelJob('H:vm:1 extra'), /^cancelJob: handle "H:vm:1 extra" contains whitespace/],
      [() => admin.cancelJob('H:vm:1\r\nshutdown'), /^cancelJob: handle .* contains whitespace/],
    ];
    for (const [call, message] of calls) {
      const error = await call().then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error).toBeInstanceOf(TypeError);
      expect((error as InvalidArgumentError).code).toBe('INVALID_ARGUMENT');
      expect((error as Error).message).toMatch(message);
    }
    // Nothing reached the server: 'plain' has no limit, the connection is the same.
    expect(await admin.sendMaxqueue('plain', 0)).toBe('OK');
    expect(admin.currentConnection.socket).toBe(socket);
  });

  it('the client and worker of this library refuse such names at the source', async () => {
    // checkTaskName (lib/arguments.ts) is the one rule; the admin client applies it too.
    const { checkTaskName, checkUnique } = await import('../../lib/arguments.js');
    expect(() => checkTaskName('tab\ttask', 'submitJob')).toThrow(InvalidArgumentError);
    expect(() => checkTaskName('nl\nx', 'registerTask')).toThrow(InvalidArgumentError);
    expect(() => checkUnique('.', 'submitJob')).toThrow(/would end gearmand's 'show unique jobs' listing/);
  });
});
