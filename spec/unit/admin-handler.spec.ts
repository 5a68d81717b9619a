// AdminClientCommandHandler driven directly, through an AdminHandlerHost that records what it is
// asked: gearmand 1.1.20's real answers (protocol.md §3.2 transcript, mixed \n and \r\n endings,
// each listing's fence echoed in order, as gearmand does) fed through the real PacketDecoder whole,
// byte by byte, and split at every boundary; rows that look like errors or like the end; limits.
import { describe, expect, it } from 'vitest';
import { AdminClientCommandHandler, type AdminCommand, type AdminHandlerHost } from '../../lib/command-handler/admin-handler.js';
import type { GearmanConnection } from '../../lib/connection.js';
import { PacketDecoder } from '../../lib/protocol/decoder.js';
import { encodePacket } from '../../lib/protocol/encoder.js';
import { CommandType, MAGIC_RES } from '../../lib/protocol/commands.js';
import { ConnectionError, InvalidAdminClientState, ListingTooLargeError, ProtocolError, ServerError, UnknownCommandError } from '../../lib/errors.js';
import { parseJobs, parsePriorityStatus, parseStatus, parseWorkers } from '../../lib/protocol/admin.js';

/** What the handler put on the wire, in order: text lines and ECHO_REQ payloads. */
type Sent = { text: string } | { echo: string };

interface Recorder {
  wire: Sent[];
  woken: object[];
  serverErrors: ServerError[];
}

/** An AdminHandlerHost that records what the handler asks of it. */
function setup(limits: { maxListingRows?: number; maxListingBytes?: number } = {}): { handler: AdminClientCommandHandler; rec: Recorder; decoder: PacketDecoder } {
  const rec: Recorder = { wire: [], woken: [], serverErrors: [] };
  const connection = { address: '127.0.0.1:4730' } as GearmanConnection;
  const host: AdminHandlerHost = {
    maxListingRows: limits.maxListingRows ?? 1000,
    maxListingBytes: limits.maxListingBytes ?? 1 << 20,
    sendText: (_h, text) => void rec.wire.push({ text }),
    sendCommand: (_h, type, args) => {
      expect(type).toBe(CommandType.ECHO_REQ);
      rec.wire.push({ echo: Buffer.from(args[0] as string | Uint8Array).toString() });
    },
    wake: (target) => void rec.woken.push(target),
    onGearmanError: (_h, error) => void rec.serverErrors.push(error),
  };
  const handler = new AdminClientCommandHandler(host, connection);
  const decoder = new PacketDecoder(
    {
      onPacket: (type, args) => handler.recvCommand(type, args),
      onText: (line) => handler.recvTextCommand(line),
    },
    { magic: MAGIC_RES, allowText: true },
  );
  return { handler, rec, decoder };
}

/** An ECHO_RES packet. */
function echoRes(payload: string): Buffer {
  return encodePacket(CommandType.ECHO_RES, [payload], MAGIC_RES);
}

/**
 * What a server answers to everything on the wire, in order: `answers` gives the text for each
 * command line (without its \r\n); each ECHO_REQ is echoed, as gearmand does, in order.
 */
function serverAnswer(wire: readonly Sent[], answers: Record<string, string>): Buffer {
  return Buffer.concat(
    wire.map((item) => {
      if ('echo' in item) return echoRes(item.echo);
      const line = item.text.replace(/\r\n$/, '');
      const answer = answers[line];
      if (answer === undefined) throw new Error(`no answer scripted for ${JSON.stringify(line)}`);
      return Buffer.from(answer, 'latin1');
    }),
  );
}

// What gearmand 1.1.20 answered, byte for byte, to the commands of the transcript.
const ANSWERS: Record<string, string> = {
  status: 'email\t1\t1\t1\nresize\t3\t0\t1\n.\n',
  prioritystatus: 'email\t0\t0\t0\t1\nresize\t1\t2\t0\t1\n.\n',
  workers: '38 127.0.0.1 worker-1 : email resize\n39 127.0.0.1 - :\n40 127.0.0.1 - :\n.\n',
  'show jobs': 'H:vm:1\t0\t0\t1\nH:vm:2\t0\t0\t1\nH:vm:4\t0\t0\t0\nH:vm:3\t0\t0\t1\n.\n',
  'show unique jobs': '\nimg-1\nimg-2\nimg-3\n.\n',
  version: 'OK 1.1.20+ds\n',
  getpid: 'OK 12876\n',
  'maxqueue resize 10': 'OK\r\n',
  'cancel job H:vm:999': 'ERR UNKNOWN_JOB\r\n',
  'show jobs extra': 'ERR UNKNOWN_SHOW_ARGUMENTS\r\n',
  shutdown: 'ERR UNKNOWN_COMMAND Unknown+server+commandshutdown\r\n',
};

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
    handler.sendTextCommand(['prioritystatus'], 'list'),
  ];
}

function checkAll(commands: AdminCommand[], handler: AdminClientCommandHandler): void {
  const [status, workers, jobs, uniques, version, echo, pid, maxqueue, cancel, showExtra, shutdown, priority] = commands as [
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
  expect(parsePriorityStatus(priority.lines)).toEqual([
    { task: 'email', high: 0, normal: 0, low: 0, workers: 1 },
    { task: 'resize', high: 1, normal: 2, low: 0, workers: 1 },
  ]);
}

describe('AdminClientCommandHandler on the gearmand transcript', () => {
  it('sends each command as one \\r\\n line, each listing followed by its fence (an ECHO_REQ)', () => {
    const { handler, rec } = setup();
    sendAll(handler);
    const fences = rec.wire.filter((w): w is { echo: string } => 'echo' in w && w.echo !== 'ping? pong!').map((w) => w.echo);
    expect(new Set(fences).size).toBe(6);
    let fence = 0;
    const next = () => ({ echo: fences[fence++]! });
    expect(rec.wire).toEqual([
      { text: 'status\r\n' }, next(), { text: 'workers\r\n' }, next(), { text: 'show jobs\r\n' }, next(),
      { text: 'show unique jobs\r\n' }, next(), { text: 'version\r\n' }, { echo: 'ping? pong!' }, { text: 'getpid\r\n' },
      { text: 'maxqueue resize 10\r\n' }, { text: 'cancel job H:vm:999\r\n' }, { text: 'show jobs extra\r\n' }, next(),
      { text: 'shutdown\r\n' }, { text: 'prioritystatus\r\n' }, next(),
    ]);
  });

  it('matches every answer to its command, in one chunk', () => {
    const { handler, rec, decoder } = setup();
    const commands = sendAll(handler);
    decoder.push(serverAnswer(rec.wire, ANSWERS));
    checkAll(commands, handler);
    expect(rec.woken).toEqual(commands);
  });

  it('matches every answer to its command, byte by byte', () => {
    const { handler, rec, decoder } = setup();
    const commands = sendAll(handler);
    const stream = serverAnswer(rec.wire, ANSWERS);
    for (let i = 0; i < stream.length; i++) decoder.push(stream.subarray(i, i + 1));
    checkAll(commands, handler);
  });

  it('matches every answer to its command, split at every boundary', () => {
    const { rec: probe, handler: probeHandler } = setup();
    sendAll(probeHandler);
    const length = serverAnswer(probe.wire, ANSWERS).length;
    for (let cut = 1; cut < length; cut++) {
      const { handler, rec, decoder } = setup();
      const commands = sendAll(handler);
      const stream = serverAnswer(rec.wire, ANSWERS);
      decoder.push(stream.subarray(0, cut));
      decoder.push(stream.subarray(cut));
      checkAll(commands, handler);
    }
  });

  it('finishes a listing only at its fence, after the "." line', () => {
    const { handler, rec, decoder } = setup();
    const status = handler.sendTextCommand(['status'], 'list');
    decoder.push(Buffer.from('email\t1\t1\t1\nresize\t3\t0\t1\n.\n'));
    expect(status.done).toBe(false);
    decoder.push(echoRes((rec.wire[1] as { echo: string }).echo));
    expect(status.done).toBe(true);
    expect(status.lines).toEqual(['email\t1\t1\t1', 'resize\t3\t0\t1']);
  });

  it("ends a listing on the Perl server's ERR line, which has no '.' after it", () => {
    const { handler, rec, decoder } = setup();
    const jobs = handler.sendTextCommand(['show', 'jobs'], 'list');
    const version = handler.sendTextCommand(['version'], 'line');
    decoder.push(serverAnswer(rec.wire, { 'show jobs': 'ERR unknown_command \r\n', version: 'v1.130.1\n' }));
    expect((jobs.error as ServerError).serverCode).toBe('unknown_command');
    expect(jobs.lines).toEqual([]);
    expect(version.result).toBe('v1.130.1');
  });

  it('keeps listing rows that look like errors or like the end: uniques "ERR ..." and "."', () => {
    const { handler, rec, decoder } = setup();
    // gearmand 1.1.20 printed 'u2\nERR X\n.\na b\nu\tv\n.\n' for jobs with these uniques.
    const uniques = handler.sendTextCommand(['show', 'unique', 'jobs'], 'list');
    const only = handler.sendTextCommand(['show', 'unique', 'jobs'], 'list');
    const dot = handler.sendTextCommand(['show', 'unique', 'jobs'], 'list');
    const answers = ['u2\nERR X\n.\na b\nu\tv\n.\n', 'ERR UNKNOWN_JOB\n.\n', '.\n.\n'];
    let i = 0;
    decoder.push(Buffer.concat(rec.wire.map((w) => ('echo' in w ? echoRes(w.echo) : Buffer.from(answers[i++]!)))));
    expect(uniques.error).toBeUndefined();
    expect(uniques.lines).toEqual(['u2', 'ERR X', '.', 'a b', 'u\tv']);
    expect(only.error).toBeUndefined();
    expect(only.lines).toEqual(['ERR UNKNOWN_JOB']);
    expect(dot.lines).toEqual(['.']);
  });

  it("fails a listing that ends without '.' with a ProtocolError, and stays in step", () => {
    const { handler, rec, decoder } = setup();
    const status = handler.sendTextCommand(['status'], 'list');
    const version = handler.sendTextCommand(['version'], 'line');
    decoder.push(serverAnswer(rec.wire, { status: 'email\t1\t1\t1\n', version: 'OK 1.1.20+ds\n' }));
    expect(status.error).toBeInstanceOf(ProtocolError);
    expect(status.error?.message).toBe(`127.0.0.1:4730 'status': listing ended without its '.' line (1 line(s), the last "email\\t1\\t1\\t1")`);
    expect(version.result).toBe('OK 1.1.20+ds');
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

  it('reports an ERROR packet no command awaits to its host', () => {
    const { rec, decoder } = setup();
    decoder.push(encodePacket(CommandType.ERROR, ['JOB_NOT_FOUND', 'gone'], MAGIC_RES));
    expect(rec.serverErrors.map((e) => e.serverCode)).toEqual(['JOB_NOT_FOUND']);
  });

  it('dispatches only the packets an admin command is answered with', () => {
    const { handler } = setup();
    expect(() => handler.recvCommand(CommandType.NOOP, [])).toThrow(UnknownCommandError);
    expect(() => handler.recvCommand(CommandType.JOB_ASSIGN, ['H:1', 'f', Buffer.alloc(0)])).toThrow(/received packet type 11, which no admin command is answered with/);
  });
});

describe('AdminClientCommandHandler out of step', () => {
  it('refuses a line no command awaits', () => {
    const { decoder } = setup();
    expect(() => decoder.push(Buffer.from('OK 1.1.20+ds\n'))).toThrow(InvalidAdminClientState);
    expect(() => setup().handler.recvTextCommand('x')).toThrow(/no command awaits an answer/);
  });

  it('refuses a text line where an ECHO_RES is due, and an ECHO_RES that is not the fence sent', () => {
    const a = setup();
    a.handler.sendEchoRequest('x');
    expect(() => a.handler.recvTextCommand('OK 1.1.20+ds')).toThrow(/an ECHO_RES was expected/);
    const b = setup();
    b.handler.sendTextCommand(['status'], 'list');
    expect(() => b.decoder.push(echoRes('x'))).toThrow(/'status': the listing's fence came back as "x"/);
    const c = setup();
    c.handler.sendTextCommand(['version'], 'line');
    expect(() => c.decoder.push(echoRes('x'))).toThrow(/'version' awaits a text answer/);
  });
});

describe('AdminClientCommandHandler listing limits', () => {
  it('lets a listing of exactly maxListingRows rows through', () => {
    const { handler, rec, decoder } = setup({ maxListingRows: 3 });
    const status = handler.sendTextCommand(['status'], 'list');
    decoder.push(serverAnswer(rec.wire, { status: 'a\t0\t0\t0\nb\t0\t0\t0\nc\t0\t0\t0\n.\n' }));
    expect(status.lines).toHaveLength(3);
  });

  it('throws a ListingTooLargeError at the first row past maxListingRows, keeping nothing', () => {
    const { handler, decoder } = setup({ maxListingRows: 3 });
    const status = handler.sendTextCommand(['status'], 'list');
    decoder.push(Buffer.from('a\t0\t0\t0\nb\t0\t0\t0\nc\t0\t0\t0\nd\t0\t0\t0\n'));
    let thrown: unknown;
    try {
      decoder.push(Buffer.from('e\t0\t0\t0\n'));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ListingTooLargeError);
    expect(thrown).toBeInstanceOf(InvalidAdminClientState);
    expect(thrown).toMatchObject({ code: 'LISTING_TOO_LARGE', limit: 'maxListingRows', rows: 5, bytes: 40 });
    expect((thrown as Error).message).toBe("127.0.0.1:4730 'status': listing passed maxListingRows (3 rows) before its end; connection reset");
    expect(status.lines).toEqual([]);
  });

  it('throws a ListingTooLargeError past maxListingBytes', () => {
    const { handler } = setup({ maxListingBytes: 100 });
    handler.sendTextCommand(['show', 'unique', 'jobs'], 'list');
    handler.recvTextCommand('x'.repeat(98));
    expect(() => handler.recvTextCommand('y')).toThrow(ListingTooLargeError);
  });

  it('fails the listing with the error and the commands behind it with a ConnectionError caused by it', () => {
    const { handler } = setup({ maxListingRows: 1 });
    const status = handler.sendTextCommand(['status'], 'list');
    const version = handler.sendTextCommand(['version'], 'line');
    handler.recvTextCommand('a\t0\t0\t0');
    handler.recvTextCommand('b\t0\t0\t0');
    let error: ListingTooLargeError | undefined;
    try {
      handler.recvTextCommand('c\t0\t0\t0');
    } catch (err) {
      error = err as ListingTooLargeError;
    }
    // What the connection manager does with an error thrown from the decode path.
    handler.onIoError(error!);
    expect(status.error).toBe(error);
    expect(version.error).toBeInstanceOf(ConnectionError);
    expect(version.error?.message).toBe("127.0.0.1:4730: connection reset: 'status': listing passed maxListingRows (1 rows) before its end; connection reset");
    expect(version.error?.cause).toBe(error);
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
