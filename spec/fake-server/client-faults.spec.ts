// GearmanClient against a FakeGearmanServer that misbehaves. Expected behaviour (API.md "Settled
// details", STYLE.md "Errors"): a ProtocolError closes that connection and its requests go
// JOB_UNKNOWN with the error on request.error; a wait with no other live connection rejects with
// ServerUnavailable carrying the requests; an ERROR reply fails only the request it answers;
// timeouts resolve with timedOut; nothing hangs and nothing is left as an unhandled rejection.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ConnectionError,
  ExceededConnectionAttempts,
  GearmanClient,
  GearmanJob,
  GearmanJobRequest,
  JOB_COMPLETE,
  JOB_CREATED,
  JOB_FAILED,
  JOB_PENDING,
  JOB_UNKNOWN,
  ProtocolError,
  ServerError,
  ServerUnavailable,
} from '../../lib/index.js';
import { CommandType } from '../../lib/protocol/commands.js';
import { FakeGearmanServer, recordingLogger, trackUnhandledRejections, type FakeConnection, type Received, type RecordingLogger } from '../helpers/fake-server.js';
import { bytes, header, rawPacket, req, res } from '../helpers/packets.js';

const T = CommandType;
const SUBMITS: ReadonlySet<number> = new Set([T.SUBMIT_JOB, T.SUBMIT_JOB_BG, T.SUBMIT_JOB_HIGH, T.SUBMIT_JOB_HIGH_BG, T.SUBMIT_JOB_LOW, T.SUBMIT_JOB_LOW_BG]);

/** What gearmand sends first on a client connection: the answer to OPTION_REQ exceptions. */
const OPTION_RES = res('OPTION_RES', 'exceptions');

function isSubmit(item: Received): item is { type: number; args: Array<string | Buffer> } {
  return 'type' in item && SUBMITS.has(item.type);
}

/**
 * A gearmand-like script for clients: OPTION_REQ is answered, every submission is handed to
 * `onSubmit` with its running number on that connection (0, 1, ...) and a fresh handle.
 */
function clientScript(onSubmit: (conn: FakeConnection, n: number, handle: string, item: { type: number; args: Array<string | Buffer> }) => void) {
  const counts = new Map<FakeConnection, number>();
  let handles = 0;
  return (conn: FakeConnection, item: Received): void => {
    if ('type' in item && item.type === T.OPTION_REQ) {
      conn.send(res('OPTION_RES', item.args[0] as string));
      return;
    }
    if (isSubmit(item)) {
      const n = counts.get(conn) ?? 0;
      counts.set(conn, n + 1);
      onSubmit(conn, n, `H:fake:${++handles}`, item);
    }
  };
}

function request(task = 'task', data = 'data', options: { background?: boolean; maxRetries?: number } = {}): GearmanJobRequest {
  return new GearmanJobRequest(new GearmanJob(null, null, task, null, data), {
    background: options.background ?? false,
    maxAttempts: (options.maxRetries ?? 0) + 1,
  });
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${String(value)}`);
    },
    (err: unknown) => err as Error,
  );
}

let server: FakeGearmanServer | undefined;
let client: GearmanClient | undefined;
let logger: RecordingLogger;
let unhandled: ReturnType<typeof trackUnhandledRejections>;

beforeEach(() => {
  logger = recordingLogger();
  unhandled = trackUnhandledRejections();
});

afterEach(async () => {
  client?.shutdown();
  client = undefined;
  await server?.close();
  server = undefined;
  await new Promise((resolve) => setImmediate(resolve));
  unhandled.stop();
  expect(unhandled.reasons).toEqual([]);
});

async function start(script: Parameters<typeof FakeGearmanServer.start>[0]): Promise<{ server: FakeGearmanServer; client: GearmanClient }> {
  server = await FakeGearmanServer.start(script);
  client = new GearmanClient([server.address], { logger });
  return { server, client };
}

/** Checks a request lost with its connection: JOB_UNKNOWN, the error kept, naming host:port. */
function expectLost(r: GearmanJobRequest, errorClass: typeof ProtocolError | typeof ConnectionError, address: string, text: RegExp): void {
  expect(r.state).toBe(JOB_UNKNOWN);
  expect(r.error).toBeInstanceOf(errorClass);
  expect(r.error!.message).toContain(address);
  expect(r.error!.message).toMatch(text);
}

/** Checks the rejection of a wait whose only connection died. */
function expectUnavailable(error: Error, address: string, requests: GearmanJobRequest[]): void {
  expect(error).toBeInstanceOf(ServerUnavailable);
  expect((error as ServerUnavailable).code).toBe('SERVER_UNAVAILABLE');
  expect(error.message).toContain(address);
  expect((error as ServerUnavailable).requests).toEqual(requests);
  expect(error.cause).toBe(requests[0]!.error);
}

/**
 * Submits one job that the server accepts (JOB_CREATED), starts the completion wait, then lets
 * `fault` break the connection.
 */
async function createdThen(fault: (conn: FakeConnection, handle: string) => void, options: { maxPacketSize?: number } = {}) {
  server = await FakeGearmanServer.start(clientScript((conn, _n, handle) => conn.send(res('JOB_CREATED', handle))));
  client = new GearmanClient([server.address], { logger, ...options });
  const r = request();
  await client.submitMultipleRequests([r], { waitUntilComplete: false });
  expect(r.state).toBe(JOB_CREATED);
  const waiting = client.waitUntilJobsCompleted([r]);
  fault(server.connections[0]!, r.job.handle!);
  const error = await rejection(waiting);
  return { server, client, r, error };
}

/** Bytes the client has read before the fault: OPTION_RES and JOB_CREATED. */
const BEFORE_FAULT = OPTION_RES.length + res('JOB_CREATED', 'H:fake:1').length;

describe('client: broken framing closes the connection', () => {
  it('garbage bytes: ProtocolError on the request, ServerUnavailable for the wait', async () => {
    const { server, r, error } = await createdThen((conn) => conn.send(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n')));
    expectUnavailable(error, server.address, [r]);
    expectLost(r, ProtocolError, server.address, /bad magic 0x48545450 \(expected \\0RES\)/);
    const perr = r.error as ProtocolError;
    expect(perr.offset).toBe(BEFORE_FAULT);
    expect(perr.bytes!.subarray(0, 4).toString()).toBe('HTTP');
    // The client closed the connection itself; the server did not have to.
    await server.connections[0]!.waitClosed();
    expect(logger.find(server.address, 'error').some((m) => m.includes('bad magic'))).toBe(true);
  });

  it('a bad magic mid-stream: earlier packets are delivered, the offset is the bad packet\'s', async () => {
    const { server, r, error } = await createdThen((conn, handle) =>
      conn.send(res('WORK_DATA', handle, 'part 1'), req('WORK_DATA', handle, 'part 2'), res('WORK_COMPLETE', handle, 'never')),
    );
    expectUnavailable(error, server.address, [r]);
    expect(r.dataUpdates.map(String)).toEqual(['part 1']);
    expectLost(r, ProtocolError, server.address, /bad magic 0x00524551/);
    expect((r.error as ProtocolError).offset).toBe(BEFORE_FAULT + res('WORK_DATA', 'H:fake:1', 'part 1').length);
  });

  it('a 4 GiB size field is refused as soon as its header arrives', async () => {
    // Only the header is sent and the server keeps the connection open: the client must not wait.
    const { server, r, error } = await createdThen((conn) => conn.send(header('RES', 'WORK_COMPLETE', 0xffffffff)));
    expectUnavailable(error, server.address, [r]);
    expectLost(r, ProtocolError, server.address, /WORK_COMPLETE packet declares 4294967295 bytes, over maxPacketSize/);
    expect((r.error as ProtocolError).offset).toBe(BEFORE_FAULT);
    await server.connections[0]!.waitClosed();
  });

  it('a size over a configured maxPacketSize is refused', async () => {
    const { server, r, error } = await createdThen((conn, handle) => conn.send(res('WORK_COMPLETE', handle, Buffer.alloc(2048))), { maxPacketSize: 1024 });
    expectUnavailable(error, server.address, [r]);
    expectLost(r, ProtocolError, server.address, /declares \d+ bytes, over maxPacketSize 1024/);
  });

  it('an unknown packet type closes the connection', async () => {
    const { server, r, error } = await createdThen((conn) => conn.send(rawPacket('RES', 43, 'what')));
    expectUnavailable(error, server.address, [r]);
    expectLost(r, ProtocolError, server.address, /unknown packet type 43/);
  });

  it('half a packet, then close: ConnectionError with the truncation as its cause', async () => {
    const { server, r, error } = await createdThen((conn, handle) => {
      conn.send(res('WORK_COMPLETE', handle, 'result').subarray(0, 15));
      conn.close();
    });
    expectUnavailable(error, server.address, [r]);
    expectLost(r, ConnectionError, server.address, /server closed the connection in the middle of a packet/);
    expect(r.error!.cause).toBeInstanceOf(ProtocolError);
  });

  it('a reset mid-job: ConnectionError, ServerUnavailable', async () => {
    const { server, r, error } = await createdThen((conn) => conn.reset());
    expectUnavailable(error, server.address, [r]);
    expectLost(r, ConnectionError, server.address, /ECONNRESET/);
  });

  it('a close mid-job: ConnectionError, ServerUnavailable', async () => {
    const { server, r, error } = await createdThen((conn) => conn.close());
    expectUnavailable(error, server.address, [r]);
    expectLost(r, ConnectionError, server.address, /server closed the connection$/);
  });

  it('garbage in place of JOB_CREATED: the accept phase re-sends on a new connection when maxRetries allows', async () => {
    const { server, client } = await start(
      clientScript((conn, _n, handle) => {
        if (conn.index === 0) conn.send(Buffer.from('\x01\x02garbage'));
        else conn.send(res('JOB_CREATED', handle), res('WORK_COMPLETE', handle, 'fine'));
      }),
    );
    const r = request('task', 'data', { maxRetries: 1 });
    await client.submitMultipleRequests([r]);
    expect(r.state).toBe(JOB_COMPLETE);
    expect(String(r.result)).toBe('fine');
    expect(r.connectionAttempts).toBe(2);
    expect(server.connections).toHaveLength(2);
    expect(server.connections[0]!.closed).toBe(true);
  });

  it('garbage in place of JOB_CREATED with maxRetries 0: ExceededConnectionAttempts naming the server and keeping the cause', async () => {
    const { server, client } = await start(clientScript((conn) => conn.send(Buffer.from('\x01\x02garbage'))));
    const r = request();
    const error = await rejection(client.submitMultipleRequests([r]));
    expect(error).toBeInstanceOf(ExceededConnectionAttempts);
    expectLost(r, ProtocolError, server.address, /bad magic/);
    expect(error.message).toContain(server.address);
    expect(error.cause).toBe(r.error);
  });

  it('a server that accepts and closes at once: every attempt is lost, then ExceededConnectionAttempts', async () => {
    server = await FakeGearmanServer.start(() => undefined);
    server.onConnection = (conn) => conn.close();
    client = new GearmanClient([server.address], { logger });
    const r = request('task', 'data', { maxRetries: 2 });
    const error = await rejection(client.submitMultipleRequests([r]));
    expect(error).toBeInstanceOf(ExceededConnectionAttempts);
    expect(r.connectionAttempts).toBe(3);
    expect(server.connections).toHaveLength(3);
    expectLost(r, ConnectionError, server.address, /server closed the connection/);
  });

  it('a request on another live server is not affected by a broken one', async () => {
    const bad = await FakeGearmanServer.start(clientScript((conn, _n, handle) => conn.send(res('JOB_CREATED', handle))));
    try {
      server = await FakeGearmanServer.start(clientScript((conn, _n, handle) => conn.send(res('JOB_CREATED', handle))));
      client = new GearmanClient([bad.address, server.address], { logger });
      const [onBad, onGood] = [request('a'), request('b')];
      client.setRotation(onBad, [client.connectionList[0]!, client.connectionList[1]!]);
      client.setRotation(onGood, [client.connectionList[1]!, client.connectionList[0]!]);
      await client.submitMultipleRequests([onBad, onGood], { waitUntilComplete: false });
      expect([onBad.state, onGood.state]).toEqual([JOB_CREATED, JOB_CREATED]);
      bad.connections[0]!.send(Buffer.from('junk'));
      // The completion wait sees the bad connection die; the good one is alive, so the lost
      // request comes back JOB_UNKNOWN (timed out) instead of rejecting, and the other is intact.
      await client.waitUntilJobsCompleted([onBad, onGood], { pollTimeout: 0.3 });
      expectLost(onBad, ProtocolError, bad.address, /bad magic/);
      expect(onGood.state).toBe(JOB_CREATED);
      expect(client.connectionList[1]!.connected).toBe(true);
    } finally {
      client?.shutdown();
      await bad.close();
    }
  });
});

describe('client: packets that do not fit its state', () => {
  it('WORK_COMPLETE for an unknown handle is ignored and logged; later packets are processed', async () => {
    const { server, client } = await start(
      clientScript((conn, _n, handle) => conn.send(res('JOB_CREATED', handle), res('WORK_COMPLETE', 'H:fake:999', 'stray'), res('WORK_DATA', 'H:other', 'x'), res('WORK_COMPLETE', handle, 'mine'))),
    );
    const r = await client.submitJob('task', 'data');
    expect(r.state).toBe(JOB_COMPLETE);
    expect(String(r.result)).toBe('mine');
    expect(r.dataUpdates).toEqual([]);
    expect(logger.find('WORK_COMPLETE for unknown handle H:fake:999 ignored', 'warn')).toHaveLength(1);
    expect(logger.find(server.address, 'warn').length).toBeGreaterThanOrEqual(2);
    expect(server.connections).toHaveLength(1);
    expect(server.connections[0]!.closed).toBe(false);
  });

  it('ERROR in place of JOB_CREATED fails that request with a ServerError; the next request on the connection works', async () => {
    const { server, client } = await start(
      clientScript((conn, n, handle) => {
        if (n === 0) conn.error('QUEUE_ERROR', 'Job queue is full');
        else conn.send(res('JOB_CREATED', handle), res('WORK_COMPLETE', handle, 'second'));
      }),
    );
    const r = request();
    const failed: unknown[] = [];
    r.on('failed', (err) => failed.push(err));
    await client.submitMultipleRequests([r]);
    expect(r.state).toBe(JOB_FAILED);
    expect(r.complete).toBe(true);
    expect(r.timedOut).toBe(false);
    expect(r.error).toBeInstanceOf(ServerError);
    const serr = r.error as ServerError;
    expect([serr.serverCode, serr.serverText]).toEqual(['QUEUE_ERROR', 'Job queue is full']);
    expect(serr.message).toContain(server.address);
    expect(failed).toEqual([r.error]);

    const next = await client.submitJob('task', 'again');
    expect(next.state).toBe(JOB_COMPLETE);
    expect(String(next.result)).toBe('second');
    expect(server.connections).toHaveLength(1);
  });

  it('ERROR in place of JOB_CREATED ends a background submission too', async () => {
    const { server, client } = await start(clientScript((conn) => conn.error('ARGUMENT_TOO_LARGE', 'Unique value too large')));
    const r = await client.submitJob('task', 'data', { background: true });
    expect(r.state).toBe(JOB_FAILED);
    expect(r.timedOut).toBe(false);
    expect(r.error).toBeInstanceOf(ServerError);
    expect((r.error as ServerError).serverCode).toBe('ARGUMENT_TOO_LARGE');
    expect(r.error!.message).toContain(server.address);
  });

  it('ERROR answers the oldest pipelined submission only', async () => {
    const { client } = await start(
      clientScript((conn, n, handle) => {
        if (n === 1) conn.error('QUEUE_ERROR', 'Job queue is full');
        else conn.send(res('JOB_CREATED', handle), res('WORK_COMPLETE', handle, `r${n}`));
      }),
    );
    const requests = await client.submitMultipleJobs([
      { task: 't', data: '0' },
      { task: 't', data: '1' },
      { task: 't', data: '2' },
    ]);
    expect(requests.map((r) => r.state)).toEqual([JOB_COMPLETE, JOB_FAILED, JOB_COMPLETE]);
    expect(requests.map((r) => String(r.result))).toEqual(['r0', 'null', 'r2']);
  });
});

describe('client: a server that never answers', () => {
  it('submitJob resolves when pollTimeout passes, with timedOut and the request still pending', async () => {
    const { server, client } = await start(clientScript(() => undefined));
    const started = Date.now();
    const r = await client.submitJob('task', 'data', { pollTimeout: 0.15 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(r.timedOut).toBe(true);
    expect(r.state).toBe(JOB_PENDING);
    expect(server.connections[0]!.closed).toBe(false);
  });

  it('a job that is created but never completes times out in the completion wait', async () => {
    const { client } = await start(clientScript((conn, _n, handle) => conn.send(res('JOB_CREATED', handle))));
    const r = await client.submitJob('task', 'data', { pollTimeout: 0.15 });
    expect(r.timedOut).toBe(true);
    expect(r.state).toBe(JOB_CREATED);
  });

  it('getJobStatus resolves with timedOut when STATUS_RES never comes', async () => {
    const { client } = await start(clientScript((conn, _n, handle) => conn.send(res('JOB_CREATED', handle))));
    const r = await client.submitJob('task', 'data', { background: true });
    expect(r.state).toBe(JOB_CREATED);
    await client.getJobStatus(r, { pollTimeout: 0.1 });
    expect(r.timedOut).toBe(true);
    expect(r.status.known).toBeUndefined();
  });
});

describe('client: answers split across reads', () => {
  it('decodes a reply delivered a few bytes at a time', async () => {
    const { client } = await start(
      clientScript((conn, _n, handle) => {
        const reply = bytes(res('JOB_CREATED', handle), res('WORK_DATA', handle, 'a\0b'), res('WORK_COMPLETE', handle, 'done'));
        void conn.sendSplit(reply, [1, 5, 11, 12, 13, 20, 30, 31, 45]);
      }),
    );
    const r = await client.submitJob('task', 'data');
    expect(r.state).toBe(JOB_COMPLETE);
    expect(r.dataUpdates.map((d) => (d as Buffer).toString('hex'))).toEqual([Buffer.from('a\0b').toString('hex')]);
    expect(String(r.result)).toBe('done');
  });
});

describe('client: the accept phase re-sends only what was lost before it was accepted', () => {
  it('a request lost after JOB_CREATED is not re-sent by the same call; one lost while pending is', async () => {
    // Connection 0 accepts the first submission, then dies before answering the second.
    const { server, client } = await start(
      clientScript((conn, n, handle) => {
        if (conn.index === 0) {
          if (n === 0) conn.send(res('JOB_CREATED', handle));
          else conn.close();
        } else conn.send(res('JOB_CREATED', handle));
      }),
    );
    const accepted = request('task', 'first', { maxRetries: 1 });
    const pending = request('task', 'second', { maxRetries: 1 });
    await client.submitMultipleRequests([accepted, pending], { waitUntilComplete: false, pollTimeout: 5 });
    // The one lost while pending was re-sent on a new connection and accepted there.
    expect(pending.state).toBe(JOB_CREATED);
    expect(pending.connectionAttempts).toBe(2);
    // The one that had been accepted may have run: it stays lost, for the caller to decide.
    expect(accepted.state).toBe(JOB_UNKNOWN);
    expect(accepted.connectionAttempts).toBe(1);
    expect(accepted.job.handle).toBe('H:fake:1');
    expect(server.connections).toHaveLength(2);
    expect(server.connections[1]!.received.filter(isSubmit)).toHaveLength(1);
    // Asked again, it is sent again.
    await client.submitMultipleRequests([accepted], { waitUntilComplete: false, pollTimeout: 5 });
    expect(accepted.state).toBe(JOB_CREATED);
    expect(accepted.connectionAttempts).toBe(2);
  });
});

