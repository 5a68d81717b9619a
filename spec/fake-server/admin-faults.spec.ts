// GearmanAdminClient against a FakeGearmanServer that misbehaves. A broken stream closes the
// connection and the pending call rejects with that error (ProtocolError) or, for a lost
// connection, ServerUnavailable; a server that never answers gives InvalidAdminClientState; ERROR
// and ERR answers are ServerErrors. Every message names host:port; the client stays usable.
import { describe, expect, it } from 'vitest';
import { ConnectionError, GearmanAdminClient, InvalidAdminClientState, ProtocolError, ServerError, ServerUnavailable } from '../../lib/index.js';
import { CommandType } from '../../lib/protocol/commands.js';
import { FakeGearmanServer, useFakeServer, type FakeConnection, type Received } from '../helpers/fake-server.js';
import { header, rawPacket, res, textLine, textLines } from '../helpers/packets.js';

const T = CommandType;
const STATUS = textLines(['reverse\t3\t1\t2', 'email\t0\t0\t1', '.']);

/**
 * gearmand's admin answers; `override` may answer an item itself (return true) to inject a fault.
 */
function adminScript(override?: (conn: FakeConnection, item: Received) => boolean) {
  return (conn: FakeConnection, item: Received): void => {
    if (override?.(conn, item) === true) return;
    if ('type' in item) {
      if (item.type === T.ECHO_REQ) conn.send(res('ECHO_RES', item.args[0] as Buffer));
      return;
    }
    if (item.line === 'version') conn.send(textLine('OK 1.1.20+ds'));
    else if (item.line === 'status') conn.send(STATUS);
    else if (item.line === 'getpid') conn.send(textLine('OK 4242'));
    else conn.send(textLine(`ERR UNKNOWN_COMMAND Unknown+server+command${item.line.split(' ')[0]}`, '\r\n'));
  };
}

function isLine(text: string) {
  return (item: Received): boolean => 'line' in item && item.line === text;
}

let server: FakeGearmanServer | undefined;
let admin: GearmanAdminClient | undefined;
const { logger } = useFakeServer({
  stop: () => {
    admin?.shutdown();
    admin = undefined;
    server = undefined;
  },
});

async function start(override?: (conn: FakeConnection, item: Received) => boolean, pollTimeout = 5): Promise<{ server: FakeGearmanServer; admin: GearmanAdminClient }> {
  server = await FakeGearmanServer.start(adminScript(override));
  admin = new GearmanAdminClient([server.address], { logger, pollTimeout });
  return { server, admin };
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
    },
    (err: unknown) => err as Error,
  );
}

describe('admin client: broken framing', () => {
  const PROTOCOL_FAULTS: Array<[name: string, bytes: Buffer, message: RegExp]> = [
    ['binary garbage', Buffer.from([0, 1, 2, 3, 4, 5, 6, 7]), /bad magic 0x00010203 \(expected \\0RES\) at offset 0/],
    ['a request magic', rawPacket('REQ', 'ECHO_RES', 'x'), /bad magic 0x00524551/],
    ['a 4 GiB size field', header('RES', 'ECHO_RES', 0xffffffff), /ECHO_RES packet declares 4294967295 bytes, over maxPacketSize/],
    ['an unknown packet type', rawPacket('RES', 0xffffffff, ''), /unknown packet type 4294967295/],
  ];

  for (const [name, bytes, message] of PROTOCOL_FAULTS) {
    it(`${name} in place of an answer: the call rejects with the ProtocolError, the connection is closed`, async () => {
      const { server, admin } = await start((conn, item) => {
        if (isLine('status')(item) && conn.index === 0) {
          conn.send(bytes);
          return true;
        }
        return false;
      });
      const error = await rejection(admin.getStatus());
      expect(error).toBeInstanceOf(ProtocolError);
      expect(error.message).toMatch(message);
      expect(error.message).toContain(server.address);
      await server.connections[0]!.waitClosed();
      // Usable again: the next call connects anew.
      expect(await admin.getStatus()).toEqual([
        { task: 'reverse', queued: 3, running: 1, workers: 2 },
        { task: 'email', queued: 0, running: 0, workers: 1 },
      ]);
      expect(server.connections).toHaveLength(2);
    });
  }

  it('a bad magic right after an answer: the answer is kept, the offset counts the line', async () => {
    const { server, admin } = await start((conn, item) => {
      if (isLine('version')(item)) {
        conn.send(textLine('OK 1.1.20+ds'), Buffer.from('\0XYZ'));
        return true;
      }
      return false;
    });
    // The answer is decoded (and its call settled) before the bad bytes behind it are.
    expect(await admin.getVersion()).toBe('1.1.20+ds');
    await server.connections[0]!.waitClosed();
    const logged = logger.find(`${server.address}: closing connection`, 'error');
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatch(/bad magic 0x0058595a \(expected \\0RES\) at offset 13/);
  });

  it('half a packet then close: ServerUnavailable naming the server, caused by the truncation', async () => {
    const { server, admin } = await start((conn, item) => {
      if ('type' in item && item.type === T.ECHO_REQ) {
        conn.send(res('ECHO_RES', 'ping? pong!').subarray(0, 14));
        conn.close();
        return true;
      }
      return false;
    });
    const error = await rejection(admin.pingServer());
    expect(error).toBeInstanceOf(ServerUnavailable);
    expect(error.message).toContain(server.address);
    expect(error.message).toContain('ECHO_REQ');
    expect(error.cause).toBeInstanceOf(ConnectionError);
    expect((error.cause as Error).message).toMatch(/server closed the connection in the middle of a packet/);
    expect((error.cause as Error).cause).toBeInstanceOf(ProtocolError);
  });

  it('a reset in place of an answer: ServerUnavailable caused by ECONNRESET', async () => {
    const { server, admin } = await start((conn, item) => {
      if (isLine('status')(item)) {
        conn.reset();
        return true;
      }
      return false;
    });
    const error = await rejection(admin.getStatus());
    expect(error).toBeInstanceOf(ServerUnavailable);
    expect(error.message).toContain(server.address);
    expect((error.cause as Error).message).toMatch(new RegExp(`^${server.address.replace(/\./g, '\\.')}: .*ECONNRESET`));
  });

  it('a server that accepts and closes at once: ServerUnavailable naming the server', async () => {
    const { server, admin } = await start();
    server.onConnection = (conn) => conn.close();
    const error = await rejection(admin.getVersion());
    expect(error).toBeInstanceOf(ServerUnavailable);
    expect(error.message).toContain(server.address);
    expect(error.cause).toBeInstanceOf(ConnectionError);
  });

  it('an admin line nobody asked for closes the connection (logged); the next call reconnects', async () => {
    const { server, admin } = await start((conn, item) => {
      if (isLine('version')(item) && conn.index === 0) {
        conn.send(textLine('OK 1.1.20+ds'), textLine('surprise'));
        return true;
      }
      return false;
    });
    expect(await admin.getVersion()).toBe('1.1.20+ds');
    await server.connections[0]!.waitClosed();
    expect(logger.find(`${server.address}: closing connection: ${server.address}: unexpected admin line "surprise"`, 'error')).toHaveLength(1);
    expect(await admin.getPid()).toBe('4242');
  });
});

describe('admin client: answers that are errors', () => {
  it('ERROR in place of ECHO_RES: ServerError; the connection stays usable', async () => {
    const { server, admin } = await start((conn, item) => {
      if ('type' in item && item.type === T.ECHO_REQ) {
        conn.error('INVALID_COMMAND', 'Command not expected');
        return true;
      }
      return false;
    });
    const error = await rejection(admin.pingServer());
    expect(error).toBeInstanceOf(ServerError);
    expect([(error as ServerError).serverCode, (error as ServerError).serverText]).toEqual(['INVALID_COMMAND', 'Command not expected']);
    expect(error.message).toContain(server.address);
    expect(await admin.getVersion()).toBe('1.1.20+ds');
    expect(server.connections).toHaveLength(1);
  });

  it('an ERR line: ServerError with the +-decoded text; the next call works', async () => {
    const { server, admin } = await start();
    const error = await rejection(admin.sendShutdown());
    expect(error).toBeInstanceOf(ServerError);
    expect((error as ServerError).serverCode).toBe('UNKNOWN_COMMAND');
    expect((error as ServerError).serverText).toBe('Unknown server commandshutdown');
    expect(error.message).toContain(server.address);
    expect(await admin.getStatus()).toHaveLength(2);
  });
});

describe('admin client: a server that never answers', () => {
  it('rejects with InvalidAdminClientState naming the server and the command, after pollTimeout', async () => {
    const { server, admin } = await start((conn) => {
      conn.hang();
      return true;
    }, 0.15);
    const started = Date.now();
    const error = await rejection(admin.getVersion());
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(error).toBeInstanceOf(InvalidAdminClientState);
    expect((error as InvalidAdminClientState).code).toBe('INVALID_ADMIN_CLIENT_STATE');
    expect(error.message).toContain(server.address);
    expect(error.message).toContain("'version'");
  });

  it('a late answer to a timed-out call is never taken for the next call\'s answer', async () => {
    let held: FakeConnection | undefined;
    const { admin } = await start((conn, item) => {
      if (isLine('version')(item)) {
        held = conn;
        return true;
      }
      if (isLine('getpid')(item)) {
        // The late answer to 'version' first (on the connection it was asked on), then the pid.
        held!.send(textLine('OK 1.1.20+ds'));
        conn.send(textLine('OK 4242'));
        return true;
      }
      return false;
    }, 0.1);
    await expect(admin.getVersion()).rejects.toBeInstanceOf(InvalidAdminClientState);
    expect(held).toBeDefined();
    expect(await admin.getPid()).toBe('4242');
    expect(await admin.getStatus()).toHaveLength(2);
  });
});

describe('admin client: answers split across reads', () => {
  it('parses a listing delivered one byte per write, mixed with an ECHO_RES', async () => {
    // Answers go out in request order, as gearmand sends them: each waits for the one before.
    let previous = Promise.resolve();
    const inOrder = (send: () => Promise<void>): void => {
      previous = previous.then(send);
    };
    const { admin } = await start((conn, item) => {
      if (isLine('status')(item)) {
        inOrder(() => conn.sendSplit(STATUS, Array.from({ length: STATUS.length - 1 }, (_, i) => i + 1)));
        return true;
      }
      if ('type' in item && item.type === T.ECHO_REQ) {
        const echo = res('ECHO_RES', item.args[0] as Buffer);
        inOrder(() => conn.sendSplit(echo, [3, 12, 13]));
        return true;
      }
      return false;
    });
    expect(await admin.getStatus()).toEqual([
      { task: 'reverse', queued: 3, running: 1, workers: 2 },
      { task: 'email', queued: 0, running: 0, workers: 1 },
    ]);
    expect(await admin.pingServer()).toBeGreaterThan(0);
    expect(await admin.getStatus()).toHaveLength(2);
  });
});
