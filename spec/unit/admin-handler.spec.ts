// AdminClientCommandHandler driven with gearmand 1.1.20's real answers (protocol.md §3.2
// transcript, mixed \n and \r\n endings, an ECHO_RES among the lines), fed through the real
// PacketDecoder whole, byte by byte, and split at every boundary.
import { describe, expect, it } from 'vitest';
import { AdminClientCommandHandler, type AdminCommand } from '../../lib/command-handler/admin-handler.js';
import type { ConnectionManager } from '../../lib/connection-manager.js';
import type { GearmanConnection } from '../../lib/connection.js';
import { PacketDecoder } from '../../lib/protocol/decoder.js';
import { encodePacket } from '../../lib/protocol/encoder.js';
import { CommandType, MAGIC_RES } from '../../lib/protocol/commands.js';
import { ConnectionError, InvalidAdminClientState, ServerError } from '../../lib/errors.js';
import { parseJobs, parseStatus, parseWorkers } from '../../lib/protocol/admin.js';

interface Recorder {
  sent: string[];
  packets: Array<[number, unknown[]]>;
  woken: object[];
  serverErrors: ServerError[];
}

function setup(): { handler: AdminClientCommandHandler; rec: Recorder; decoder: PacketDecoder } {
  const rec: Recorder = { sent: [], packets: [], woken: [], serverErrors: [] };
  const connection = { address: '127.0.0.1:4730' } as unknown as GearmanConnection;
  const manager = {
    sendText: (_h: unknown, text: string) => rec.sent.push(text),
    sendCommand: (_h: unknown, type: number, args: unknown[]) => rec.packets.push([type, args]),
    wake: (target: object) => rec.woken.push(target),
    onGearmanError: (_h: unknown, error: ServerError) => rec.serverErrors.push(error),
  } as unknown as ConnectionManager<AdminClientCommandHandler>;
  const handler = new AdminClientCommandHandler(manager, connection);
  const decoder = new PacketDecoder(
    {
      onPacket: (type, args) => handler.recvCommand(type, args),
      onText: (line) => handler.recvTextCommand(line),
    },
    { magic: MAGIC_RES, allowText: true },
  );
  return { handler, rec, decoder };
}

// What gearmand 1.1.20 answered, byte for byte, to the commands of the transcript.
const ANSWERS = {
  status: 'email\t1\t1\t1\nresize\t3\t0\t1\n.\n',
  workers: '38 127.0.0.1 worker-1 : email resize\n39 127.0.0.1 - :\n40 127.0.0.1 - :\n.\n',
  showJobs: 'H:vm:1\t0\t0\t1\nH:vm:2\t0\t0\t1\nH:vm:4\t0\t0\t0\nH:vm:3\t0\t0\t1\n.\n',
  showUniqueJobs: '\nimg-1\nimg-2\nimg-3\n.\n',
  version: 'OK 1.1.20+ds\n',
  getpid: 'OK 12876\n',
  maxqueue: 'OK\r\n',
  cancelUnknown: 'ERR UNKNOWN_JOB\r\n',
  showExtra: 'ERR UNKNOWN_SHOW_ARGUMENTS\r\n',
  shutdown: 'ERR UNKNOWN_COMMAND Unknown+server+commandshutdown\r\n',
  emptyStatus: '.\n',
};

const STREAM = Buffer.concat([
  Buffer.from(ANSWERS.status + ANSWERS.workers + ANSWERS.showJobs + ANSWERS.showUniqueJobs + ANSWERS.version),
  encodePacket(CommandType.ECHO_RES, ['ping? pong!'], MAGIC_RES),
  Buffer.from(ANSWERS.getpid + ANSWERS.maxqueue + ANSWERS.cancelUnknown + ANSWERS.showExtra + ANSWERS.shutdown + ANSWERS.emptyStatus),
]);

function sendAll(handler: AdminClientCommandHandler): AdminCommand[] {
  return [
    handler.sendTextCommand(['status'], 'list'),
    handler.sendTextCommand(['workers'], 'list'),
    handler.sendTextCommand(['show', 'jobs'], 'list'),
    handler.sendTextCommand(['show', 'unique', 'jobs'], 'list'),
    handler.sendTextCommand(['version'], 'line'),
    handler.sendEchoRequest('ping? pong!'),
    handler.sendTextCommand(['getpid'], 'line'),
    handler.sendTextCommand(['maxqueue', 'resize', '10'], 'line'),
    handler.sendTextCommand(['cancel', 'job', 'H:vm:999'], 'line'),
    handler.sendTextCommand(['show', 'jobs', 'extra'], 'list'),
    handler.sendTextCommand(['shutdown'], 'line'),
    handler.sendTextCommand(['status'], 'list'),
  ];
}

function checkAll(commands: AdminCommand[], handler: AdminClientCommandHandler): void {
  const [status, workers, jobs, uniques, version, echo, pid, maxqueue, cancel, showExtra, shutdown, emptyStatus] = commands as [
    AdminCommand, AdminCommand, AdminCommand, AdminCommand, AdminCommand, AdminCommand,
    AdminCommand, AdminCommand, AdminCommand, AdminCommand, AdminCommand, AdminCommand,
  ];
  for (const command of commands) expect(command.done).toBe(true);
  expect(handler.pendingCount).toBe(0);
  expect(parseStatus(status.lines)).toEqual([
    { task: 'email', queued: 1, running: 1, workers: 1 },
    { task: 'resize', queued: 3, running: 0, workers: 1 },
  ]);
  expect(parseWorkers(workers.lines).map((w) => [w.clientId, w.tasks])).toEqual([
    ['worker-1', ['email', 'resize']],
    ['-', []],
    ['-', []],
  ]);
  expect(parseJobs(jobs.lines).map((j) => j.handle)).toEqual(['H:vm:1', 'H:vm:2', 'H:vm:4', 'H:vm:3']);
  expect(uniques.lines).toEqual(['', 'img-1', 'img-2', 'img-3']);
  expect(version.result).toBe('OK 1.1.20+ds');
  expect(Buffer.isBuffer(echo.result) && echo.result.toString()).toBe('ping? pong!');
  expect(pid.result).toBe('OK 12876');
  expect(maxqueue.result).toBe('OK');
  expect(maxqueue.error).toBeUndefined();
  expect(cancel.error).toBeInstanceOf(ServerError);
  expect((cancel.error as ServerError).serverCode).toBe('UNKNOWN_JOB');
  expect(showExtra.error).toBeInstanceOf(ServerError);
  expect((showExtra.error as ServerError).serverCode).toBe('UNKNOWN_SHOW_ARGUMENTS');
  expect(showExtra.lines).toEqual([]);
  expect((shutdown.error as ServerError).serverCode).toBe('UNKNOWN_COMMAND');
  expect((shutdown.error as ServerError).serverText).toBe('Unknown server commandshutdown');
  expect(shutdown.error?.message).toContain("127.0.0.1:4730 'shutdown'");
  expect(emptyStatus.lines).toEqual([]);
  expect(emptyStatus.error).toBeUndefined();
}

describe('AdminClientCommandHandler on the gearmand transcript', () => {
  it('sends each command as one \\r\\n line and ECHO_REQ as a packet', () => {
    const { handler, rec } = setup();
    sendAll(handler);
    expect(rec.sent).toEqual([
      'status\r\n', 'workers\r\n', 'show jobs\r\n', 'show unique jobs\r\n', 'version\r\n', 'getpid\r\n',
      'maxqueue resize 10\r\n', 'cancel job H:vm:999\r\n', 'show jobs extra\r\n', 'shutdown\r\n', 'status\r\n',
    ]);
    expect(rec.packets).toEqual([[CommandType.ECHO_REQ, ['ping? pong!']]]);
  });

  it('matches every answer to its command, in one chunk', () => {
    const { handler, rec, decoder } = setup();
    const commands = sendAll(handler);
    decoder.push(STREAM);
    checkAll(commands, handler);
    expect(rec.woken).toEqual(commands);
  });

  it('matches every answer to its command, byte by byte', () => {
    const { handler, decoder } = setup();
    const commands = sendAll(handler);
    for (let i = 0; i < STREAM.length; i++) decoder.push(STREAM.subarray(i, i + 1));
    checkAll(commands, handler);
  });

  it('matches every answer to its command, split at every boundary', () => {
    for (let cut = 1; cut < STREAM.length; cut++) {
      const { handler, decoder } = setup();
      const commands = sendAll(handler);
      decoder.push(STREAM.subarray(0, cut));
      decoder.push(STREAM.subarray(cut));
      checkAll(commands, handler);
    }
  });

  it('finishes a listing only at its "." line', () => {
    const { handler, decoder } = setup();
    const status = handler.sendTextCommand(['status'], 'list');
    decoder.push(Buffer.from('email\t1\t1\t1\nresize\t3\t0\t1\n'));
    expect(status.done).toBe(false);
    decoder.push(Buffer.from('.\n'));
    expect(status.done).toBe(true);
  });

  it("ends a listing on the Perl server's ERR line, which has no '.' after it", () => {
    const { handler, decoder } = setup();
    const jobs = handler.sendTextCommand(['show', 'jobs'], 'list');
    const version = handler.sendTextCommand(['version'], 'line');
    decoder.push(Buffer.from('ERR unknown_command \r\nv1.130.1\n'));
    expect((jobs.error as ServerError).serverCode).toBe('unknown_command');
    expect(version.result).toBe('v1.130.1');
  });

  it('keeps listing rows that only look like errors', () => {
    const { handler, decoder } = setup();
    const uniques = handler.sendTextCommand(['show', 'unique', 'jobs'], 'list');
    decoder.push(Buffer.from('ERR is a unique here\nERR UNKNOWN_JOB\n.\n'));
    expect(uniques.error).toBeUndefined();
    expect(uniques.lines).toEqual(['ERR is a unique here', 'ERR UNKNOWN_JOB']);
  });

  it('lets the line ending decide when the decoder reports it', () => {
    const { handler } = setup();
    const uniques = handler.sendTextCommand(['show', 'unique', 'jobs'], 'list');
    handler.recvTextCommand('ERR UNKNOWN_JOB', false);
    handler.recvTextCommand('.', false);
    expect(uniques.lines).toEqual(['ERR UNKNOWN_JOB']);
    const jobs = handler.sendTextCommand(['show', 'jobs'], 'list');
    handler.recvTextCommand('ERR UNKNOWN_SHOW_ARGUMENTS', true);
    expect((jobs.error as ServerError).serverCode).toBe('UNKNOWN_SHOW_ARGUMENTS');
  });

  it('fails an echo with an ERROR packet in its place', () => {
    const { handler, decoder } = setup();
    const echo = handler.sendEchoRequest('x');
    const version = handler.sendTextCommand(['version'], 'line');
    decoder.push(Buffer.concat([encodePacket(CommandType.ERROR, ['INVALID_COMMAND', 'Command not expected'], MAGIC_RES), Buffer.from('OK 1.1.20+ds\n')]));
    expect(echo.error).toBeInstanceOf(ServerError);
    expect((echo.error as ServerError).serverCode).toBe('INVALID_COMMAND');
    expect((echo.error as ServerError).serverText).toBe('Command not expected');
    expect(version.result).toBe('OK 1.1.20+ds');
  });

  it('reports an ERROR packet no command awaits to the manager', () => {
    const { rec, decoder } = setup();
    decoder.push(encodePacket(CommandType.ERROR, ['JOB_NOT_FOUND', 'gone'], MAGIC_RES));
    expect(rec.serverErrors.map((e) => e.serverCode)).toEqual(['JOB_NOT_FOUND']);
  });
});

describe('AdminClientCommandHandler out of step', () => {
  it('refuses a line no command awaits', () => {
    const { decoder } = setup();
    expect(() => decoder.push(Buffer.from('OK 1.1.20+ds\n'))).toThrow(InvalidAdminClientState);
    expect(() => setup().handler.recvTextCommand('x')).toThrow(/no command awaits an answer/);
  });

  it('refuses a text line where an ECHO_RES is due, and an ECHO_RES where text is due', () => {
    const a = setup();
    a.handler.sendEchoRequest('x');
    expect(() => a.handler.recvTextCommand('OK 1.1.20+ds')).toThrow(/an ECHO_RES was expected/);
    const b = setup();
    b.handler.sendTextCommand(['status'], 'list');
    expect(() => b.decoder.push(encodePacket(CommandType.ECHO_RES, ['x'], MAGIC_RES))).toThrow(/'status' awaits a text answer/);
  });
});

describe('AdminClientCommandHandler when the connection goes', () => {
  it('fails every waiting command with the connection error, and wakes it', () => {
    const { handler, rec } = setup();
    const status = handler.sendTextCommand(['status'], 'list');
    const version = handler.sendTextCommand(['version'], 'line');
    const error = new ConnectionError('127.0.0.1:4730: server closed the connection');
    handler.onIoError(error);
    expect([status.done, version.done]).toEqual([true, true]);
    expect([status.error, version.error]).toEqual([error, error]);
    expect(rec.woken).toEqual([status, version]);
    expect(handler.pendingCount).toBe(0);
  });

  it('resolves a shutdown the server answered by closing, when it was the oldest command', () => {
    const { handler } = setup();
    const shutdown = handler.sendTextCommand(['shutdown'], 'line');
    const after = handler.sendTextCommand(['version'], 'line');
    const error = new ConnectionError('127.0.0.1:4730: server closed the connection');
    handler.onIoError(error);
    expect(shutdown.error).toBeUndefined();
    expect(shutdown.result).toBeNull();
    expect(after.error).toBe(error);
  });

  it('fails a shutdown still behind another command, or cut by shutdown()', () => {
    const a = setup();
    a.handler.sendTextCommand(['version'], 'line');
    const queued = a.handler.sendTextCommand(['shutdown', 'graceful'], 'line');
    a.handler.onIoError(new ConnectionError('closed'));
    expect(queued.error).toBeInstanceOf(ConnectionError);
    const b = setup();
    const local = b.handler.sendTextCommand(['shutdown'], 'line');
    b.handler.onIoError(new ConnectionError('shutdown() closed the connections', { code: 'SHUTDOWN' }));
    expect(local.error?.code).toBe('SHUTDOWN');
  });
});
