// ClientCommandHandler driven directly, as python-gearman's own handler tests do: packets are
// injected with recvCommand (the decoded form), and what the handler sends and wakes is recorded
// by a ClientHandlerHost of the spec's own. No socket, no manager.
import { afterEach, describe, expect, it } from 'vitest';
import { ClientCommandHandler, StatusQuery, type ClientHandlerHost } from '../../lib/command-handler/client-handler.js';
import type { GearmanConnection } from '../../lib/connection.js';
import { CommandType } from '../../lib/protocol/commands.js';
import { GearmanJob, GearmanJobRequest } from '../../lib/job.js';
import { JOB_COMPLETE, JOB_CREATED, JOB_FAILED, JOB_PENDING, JOB_UNKNOWN, PRIORITY_HIGH, PRIORITY_LOW } from '../../lib/constants.js';
import { ConnectionError, GearmanError, InvalidClientState, ServerError, UnknownCommandError } from '../../lib/errors.js';
import { NoopEncoder, type DataEncoderLike } from '../../lib/encoders.js';
import type { PacketArgs } from '../../lib/protocol/decoder.js';

const T = CommandType;

interface Host extends ClientHandlerHost {
  sent: Array<[number, unknown[]]>;
  woken: object[];
  losses: number;
  warnings: string[];
  serverErrors: ServerError[];
}

function host(options: { exceptions?: boolean; dataEncoder?: DataEncoderLike } = {}): Host {
  const h: Host = {
    sent: [],
    woken: [],
    losses: 0,
    warnings: [],
    serverErrors: [],
    exceptions: options.exceptions ?? false,
    dataEncoder: options.dataEncoder ?? NoopEncoder,
    logger: { debug: () => undefined, warn: (m: string) => void h.warnings.push(m), error: () => undefined },
    sendCommand: (_handler, type, args) => void h.sent.push([type, [...args]]),
    sendText: () => undefined,
    wake: (target) => void h.woken.push(target),
    noteLoss: () => void h.losses++,
    onGearmanError: (_handler, error) => void h.serverErrors.push(error),
  };
  return h;
}

const connection = { address: '127.0.0.1:4730' } as unknown as GearmanConnection;

function setup(options: Parameters<typeof host>[0] = {}): { h: Host; handler: ClientCommandHandler } {
  const h = host(options);
  const handler = new ClientCommandHandler(h, connection);
  handler.initialState();
  return { h, handler };
}

/** A request as the client prepares it (data encoded, unique validated), sent on `handler`. */
function submit(handler: ClientCommandHandler, data: string, options: { unique?: string; background?: boolean; priority?: typeof PRIORITY_HIGH | typeof PRIORITY_LOW } = {}): GearmanJobRequest {
  const request = new GearmanJobRequest(new GearmanJob(null, null, 'task', options.unique ?? `u-${data}`, data), {
    background: options.background ?? false,
    ...(options.priority === undefined ? {} : { priority: options.priority }),
  });
  request.wire.encoded = data;
  request.wire.encodedFrom = data;
  request.wire.validatedUnique = request.job.unique;
  request.job.connection = connection;
  handler.sendJobRequest(request);
  return request;
}

function recv(handler: ClientCommandHandler, type: number, ...args: Array<string | Buffer>): void {
  handler.recvCommand(type, args as PacketArgs);
}

const restore: Array<() => void> = [];
afterEach(() => {
  for (const fn of restore.splice(0)) fn();
});

describe('ClientCommandHandler: submissions', () => {
  it('sends SUBMIT_JOB [task, unique, data] and takes the handle from JOB_CREATED, waking the request', () => {
    const { h, handler } = setup();
    const r = submit(handler, 'hello');
    expect(h.sent).toEqual([[T.SUBMIT_JOB, ['task', 'u-hello', 'hello']]]);
    expect(r.state).toBe(JOB_PENDING);
    recv(handler, T.JOB_CREATED, 'H:x:1');
    expect([r.state, r.job.handle]).toEqual([JOB_CREATED, 'H:x:1']);
    expect(h.woken).toEqual([r.wire]);
  });

  it('picks the submit packet from background and priority', () => {
    const { h, handler } = setup();
    submit(handler, 'a', { background: true });
    submit(handler, 'b', { priority: PRIORITY_HIGH });
    submit(handler, 'c', { priority: PRIORITY_HIGH, background: true });
    submit(handler, 'd', { priority: PRIORITY_LOW });
    submit(handler, 'e', { priority: PRIORITY_LOW, background: true });
    expect(h.sent.map(([type]) => type)).toEqual([T.SUBMIT_JOB_BG, T.SUBMIT_JOB_HIGH, T.SUBMIT_JOB_HIGH_BG, T.SUBMIT_JOB_LOW, T.SUBMIT_JOB_LOW_BG]);
  });

  it('asks for exceptions first; OPTION_RES answers it, then JOB_CREATED answers the submission', () => {
    const { h, handler } = setup({ exceptions: true });
    const r = submit(handler, 'x');
    expect(h.sent.map(([type]) => type)).toEqual([T.OPTION_REQ, T.SUBMIT_JOB]);
    recv(handler, T.OPTION_RES, 'exceptions');
    recv(handler, T.JOB_CREATED, 'H:x:1');
    expect(r.state).toBe(JOB_CREATED);
    expect(handler.pendingReplies).toBe(0);
  });

  it('an ERROR in place of JOB_CREATED fails that request; the next JOB_CREATED goes to the next one', () => {
    const { handler } = setup();
    const [a, b] = [submit(handler, 'a'), submit(handler, 'b')];
    recv(handler, T.ERROR, 'QUEUE_ERROR', 'full');
    recv(handler, T.JOB_CREATED, 'H:x:2');
    expect([a.state, b.state]).toEqual([JOB_FAILED, JOB_CREATED]);
    expect(a.error).toBeInstanceOf(ServerError);
    expect((a.error as ServerError).serverCode).toBe('QUEUE_ERROR');
  });

  it('a reply with nothing awaiting it is an InvalidClientState; an ERROR with nothing awaiting goes to onGearmanError', () => {
    const { h, handler } = setup();
    expect(() => recv(handler, T.JOB_CREATED, 'H:x:1')).toThrow(InvalidClientState);
    submit(handler, 'a');
    expect(() => recv(handler, T.STATUS_RES, 'H:x:1', '1', '0', '0', '0')).toThrow(InvalidClientState);
    recv(handler, T.ERROR, 'X', 'unclaimed');
    expect(h.serverErrors.map((e) => e.serverCode)).toEqual(['X']);
  });

  it('a packet it has no entry for in its dispatch table is an UnknownCommandError', () => {
    const { handler } = setup();
    expect(() => recv(handler, T.NO_JOB)).toThrow(UnknownCommandError);
    expect(() => recv(handler, T.JOB_ASSIGN, 'H:x:1', 'f', Buffer.from('d'))).toThrow(/ClientCommandHandler received JOB_ASSIGN/);
  });
});

describe('ClientCommandHandler: updates', () => {
  it('WORK_DATA, WORK_WARNING, WORK_STATUS and WORK_COMPLETE reach the request, each waking it', () => {
    const { h, handler } = setup();
    const r = submit(handler, 'x');
    recv(handler, T.JOB_CREATED, 'H:x:1');
    const events: string[] = [];
    for (const e of ['data', 'warning', 'status', 'complete'] as const) r.on(e, () => void events.push(e));
    h.woken.length = 0;
    recv(handler, T.WORK_DATA, 'H:x:1', Buffer.from('d1'));
    recv(handler, T.WORK_WARNING, 'H:x:1', Buffer.from('w1'));
    recv(handler, T.WORK_STATUS, 'H:x:1', '3', '7');
    recv(handler, T.WORK_COMPLETE, 'H:x:1', Buffer.from('done'));
    expect(r.dataUpdates.map(String)).toEqual(['d1']);
    expect(r.warningUpdates.map(String)).toEqual(['w1']);
    expect(r.status).toMatchObject({ handle: 'H:x:1', known: true, running: true, numerator: 3, denominator: 7 });
    expect([r.state, String(r.result)]).toEqual([JOB_COMPLETE, 'done']);
    expect(events).toEqual(['data', 'warning', 'status', 'complete']);
    expect(h.woken).toHaveLength(4);
    // The terminal packet removed the handle: a stray copy is logged and ignored.
    recv(handler, T.WORK_COMPLETE, 'H:x:1', Buffer.from('again'));
    expect(String(r.result)).toBe('done');
    expect(h.warnings.some((w) => w.includes('WORK_COMPLETE for unknown handle H:x:1'))).toBe(true);
  });

  it('WORK_FAIL (its handle may end in a NUL) and WORK_EXCEPTION fail the request', () => {
    const { handler } = setup();
    const [a, b] = [submit(handler, 'a'), submit(handler, 'b')];
    recv(handler, T.JOB_CREATED, 'H:x:1');
    recv(handler, T.JOB_CREATED, 'H:x:2');
    const failed: string[] = [];
    a.on('failed', () => void failed.push('a'));
    b.on('failed', () => void failed.push('b'));
    recv(handler, T.WORK_FAIL, 'H:x:1\0');
    recv(handler, T.WORK_EXCEPTION, 'H:x:2', Buffer.from('boom'));
    expect([a.state, b.state, String(b.exception)]).toEqual([JOB_FAILED, JOB_FAILED, 'boom']);
    expect(failed).toEqual(['a', 'b']);
  });

  it('coalescing: requests sharing a handle each get every update once; gearmand\'s extra copies are dropped', () => {
    const { handler } = setup();
    const [a, b] = [submit(handler, 'x', { unique: 'same' }), submit(handler, 'x', { unique: 'same' })];
    recv(handler, T.JOB_CREATED, 'H:x:1');
    recv(handler, T.JOB_CREATED, 'H:x:1');
    // gearmand sends one copy per submission.
    for (let i = 0; i < 2; i++) recv(handler, T.WORK_DATA, 'H:x:1', Buffer.from('d'));
    for (let i = 0; i < 2; i++) recv(handler, T.WORK_STATUS, 'H:x:1', '1', '2');
    for (let i = 0; i < 2; i++) recv(handler, T.WORK_COMPLETE, 'H:x:1', Buffer.from('r'));
    for (const r of [a, b]) {
      expect(r.dataUpdates.map(String)).toEqual(['d']);
      expect([r.state, String(r.result)]).toEqual([JOB_COMPLETE, 'r']);
    }
  });

  it('a request reset and re-submitted gets nothing of its old handle', () => {
    const { handler } = setup();
    const r = submit(handler, 'old');
    recv(handler, T.JOB_CREATED, 'H:x:1');
    r.reset();
    r.job.unique = 'u-new';
    r.wire.encoded = 'new';
    r.wire.validatedUnique = 'u-new';
    r.job.connection = connection;
    handler.sendJobRequest(r);
    recv(handler, T.JOB_CREATED, 'H:x:2');
    recv(handler, T.WORK_COMPLETE, 'H:x:1', Buffer.from('old-result'));
    expect(r.state).toBe(JOB_CREATED);
    recv(handler, T.WORK_COMPLETE, 'H:x:2', Buffer.from('new-result'));
    expect([r.state, String(r.result)]).toEqual([JOB_COMPLETE, 'new-result']);
  });

  it('a decode that throws fails only that request, with a DECODE_ERROR', () => {
    const picky: DataEncoderLike = {
      encode: (v) => String(v),
      decode: (d) => {
        if (d.toString() === 'bad') throw new Error('undecodable');
        return d.toString();
      },
    };
    const { handler } = setup({ dataEncoder: picky });
    const [a, b] = [submit(handler, 'a'), submit(handler, 'b')];
    recv(handler, T.JOB_CREATED, 'H:x:1');
    recv(handler, T.JOB_CREATED, 'H:x:2');
    recv(handler, T.WORK_COMPLETE, 'H:x:1', Buffer.from('bad'));
    recv(handler, T.WORK_COMPLETE, 'H:x:2', Buffer.from('good'));
    expect([a.state, (a.error as GearmanError).code]).toEqual([JOB_FAILED, 'DECODE_ERROR']);
    expect([b.state, b.result]).toEqual([JOB_COMPLETE, 'good']);
  });

  it('a throwing listener is rethrown on process.nextTick, after the state changed and the request was woken', async () => {
    const caught: unknown[] = [];
    const saved = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    const mine = (err: unknown): void => void caught.push(err);
    process.on('uncaughtException', mine);
    restore.push(() => {
      process.off('uncaughtException', mine);
      for (const l of saved) process.on('uncaughtException', l);
    });
    const { h, handler } = setup();
    const [a, b] = [submit(handler, 'a'), submit(handler, 'b')];
    recv(handler, T.JOB_CREATED, 'H:x:1');
    recv(handler, T.JOB_CREATED, 'H:x:2');
    a.on('complete', () => {
      throw new Error('listener bug');
    });
    h.woken.length = 0;
    expect(() => recv(handler, T.WORK_COMPLETE, 'H:x:1', Buffer.from('r1'))).not.toThrow();
    recv(handler, T.WORK_COMPLETE, 'H:x:2', Buffer.from('r2'));
    expect([a.state, b.state]).toEqual([JOB_COMPLETE, JOB_COMPLETE]);
    expect(h.woken).toEqual([a.wire, b.wire]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(caught.map((e) => (e as Error).message)).toEqual(['listener bug']);
  });
});

describe('ClientCommandHandler: status queries', () => {
  it('STATUS_RES answers the oldest GET_STATUS: status replaced, query answered, state unchanged', () => {
    const { h, handler } = setup();
    const r = submit(handler, 'x', { background: true });
    recv(handler, T.JOB_CREATED, 'H:x:1');
    const query = new StatusQuery(r);
    handler.sendGetStatus(query);
    expect(h.sent.at(-1)).toEqual([T.GET_STATUS, ['H:x:1']]);
    recv(handler, T.STATUS_RES, 'H:x:1', '1', '1', '4', '9');
    expect(query.answered).toBe(true);
    expect(r.status).toMatchObject({ handle: 'H:x:1', known: true, running: true, numerator: 4, denominator: 9 });
    expect(r.state).toBe(JOB_CREATED);
  });

  it('an ERROR answering GET_STATUS ends the query with request.error', () => {
    const { handler } = setup();
    const r = submit(handler, 'x', { background: true });
    recv(handler, T.JOB_CREATED, 'H:x:1');
    const query = new StatusQuery(r);
    handler.sendGetStatus(query);
    recv(handler, T.ERROR, 'ERR', 'no');
    expect(query.answered).toBe(true);
    expect(r.error).toBeInstanceOf(ServerError);
  });
});

describe('ClientCommandHandler: the connection goes', () => {
  it('unfinished requests become JOB_UNKNOWN with the error, finished ones stay, queries end, the host counts a loss', () => {
    const { h, handler } = setup();
    const [pending, created, done, bg] = [submit(handler, 'p'), submit(handler, 'c'), submit(handler, 'd'), submit(handler, 'b', { background: true })];
    recv(handler, T.JOB_CREATED, 'H:x:1'); // p
    recv(handler, T.JOB_CREATED, 'H:x:2'); // c
    recv(handler, T.JOB_CREATED, 'H:x:3'); // d
    recv(handler, T.JOB_CREATED, 'H:x:4'); // b
    recv(handler, T.WORK_COMPLETE, 'H:x:3', Buffer.from('r'));
    const late = submit(handler, 'late');
    const query = new StatusQuery(bg);
    handler.sendGetStatus(query);
    const unknown: string[] = [];
    for (const r of [pending, created, done, bg, late]) r.on('unknown', () => void unknown.push(String(r.job.data)));
    const error = new ConnectionError('127.0.0.1:4730: connection reset');
    handler.onIoError(error);
    expect([pending.state, created.state, done.state, bg.state, late.state]).toEqual([JOB_UNKNOWN, JOB_UNKNOWN, JOB_COMPLETE, JOB_CREATED, JOB_UNKNOWN]);
    expect(late.error).toBe(error);
    expect(query.answered).toBe(true);
    expect(h.losses).toBe(1);
    expect(unknown.sort()).toEqual(['c', 'late', 'p']);
  });
});
