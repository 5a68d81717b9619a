// GearmanAdminClient against small scripted TCP servers on 127.0.0.1 (port 0): behaviour that
// gearmand 1.1 cannot show (the Perl server's `shutdown` answers, a wrong echo, garbage), argument
// checks that must not reach any server, and the default pollTimeout on a fake clock. The same
// client against gearmand is in spec/integration/admin*.spec.ts.
import net from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { GearmanAdminClient } from '../../lib/admin-client.js';
import { ConnectionError, GearmanError, InvalidAdminClientState, InvalidArgumentError, ProtocolError } from '../../lib/errors.js';
import { encodePacket } from '../../lib/protocol/encoder.js';
import { CommandType, MAGIC_RES } from '../../lib/protocol/commands.js';

interface Scripted {
  port: number;
  host: string;
  /** Connections accepted so far. */
  connections: net.Socket[];
  /** Every byte received, per connection. */
  received: string[];
  /** Resolves with the next complete line received on any connection. */
  nextLine(): Promise<string>;
  close(): Promise<void>;
}

/** A TCP server that calls `onLine` for each line it receives (and `onPacket` for binary bytes). */
async function scripted(onLine: (line: string, socket: net.Socket) => void, onBinary?: (data: Buffer, socket: net.Socket) => void): Promise<Scripted> {
  const connections: net.Socket[] = [];
  const received: string[] = [];
  const lineWaiters: Array<(line: string) => void> = [];
  const server = net.createServer((socket) => {
    const index = connections.push(socket) - 1;
    received[index] = '';
    let buf = '';
    socket.on('data', (d) => {
      received[index] += d.toString('latin1');
      if (d[0] === 0 && onBinary) return onBinary(d, socket);
      buf += d.toString('latin1');
      for (let nl = buf.indexOf('\n'); nl !== -1; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl).replace(/\r$/, '');
        buf = buf.slice(nl + 1);
        lineWaiters.shift()?.(line);
        onLine(line, socket);
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    host: `127.0.0.1:${port}`,
    connections,
    received,
    nextLine: () => new Promise((resolve) => lineWaiters.push(resolve)),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of connections) s.destroy();
        server.close(() => resolve());
      }),
  };
}

const open: Array<{ close(): unknown }> = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const item of open.splice(0).reverse()) await item.close();
});

function admin(host: string, options?: ConstructorParameters<typeof GearmanAdminClient>[1]): GearmanAdminClient {
  const client = new GearmanAdminClient([host], options);
  open.push({ close: () => client.shutdown() });
  return client;
}

describe('GearmanAdminClient construction', () => {
  it('takes exactly one server', () => {
    expect(() => new GearmanAdminClient(['127.0.0.1:1', '127.0.0.1:2'])).toThrow(InvalidArgumentError);
    expect(() => new GearmanAdminClient(['127.0.0.1:1', '127.0.0.1:2'])).toThrow(GearmanError);
    try {
      new GearmanAdminClient(['127.0.0.1:1', '127.0.0.1:2']);
    } catch (err) {
      expect((err as GearmanError).code).toBe('INVALID_HOST');
    }
    expect(new GearmanAdminClient().currentConnection.address).toBe('localhost:4730');
  });

  it('waits 10 s by default and checks pollTimeout', () => {
    expect(new GearmanAdminClient(['127.0.0.1:1']).pollTimeout).toBe(10);
    expect(new GearmanAdminClient(['127.0.0.1:1'], { pollTimeout: null }).pollTimeout).toBeNull();
    expect(new GearmanAdminClient(['127.0.0.1:1'], { pollTimeout: 0.25 }).pollTimeout).toBe(0.25);
    expect(() => new GearmanAdminClient(['127.0.0.1:1'], { pollTimeout: -1 })).toThrow(TypeError);
    expect(() => new GearmanAdminClient(['127.0.0.1:1'], { pollTimeout: Number.NaN })).toThrow(TypeError);
    expect(() => new GearmanAdminClient(['127.0.0.1:1'], { pollTimeout: '5' as unknown as number })).toThrow(TypeError);
  });

  it('times out after 10 s by default, not before', async () => {
    const server = await scripted(() => {});
    open.push(server);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const client = admin(server.host);
    const sent = server.nextLine();
    let settled: unknown;
    const call = client.getVersion().then(
      (v) => (settled = v),
      (err: unknown) => (settled = err),
    );
    expect(await sent).toBe('version');
    await vi.advanceTimersByTimeAsync(9_990);
    expect(settled).toBeUndefined();
    await vi.advanceTimersByTimeAsync(20);
    await call;
    expect(settled).toBeInstanceOf(InvalidAdminClientState);
    expect((settled as Error).message).toContain('timed out after 10 second(s)');
  });
});

describe('GearmanAdminClient arguments', () => {
  it('rejects, without connecting, what the text protocol cannot carry', async () => {
    const server = await scripted(() => {});
    open.push(server);
    const client = admin(server.host);
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['task with a space', () => client.sendMaxqueue('two words', 1)],
      ['task with a newline', () => client.sendMaxqueue('a\r\nshutdown', 1)],
      ['task with a tab', () => client.sendMaxqueue('a\tb', 1)],
      ['empty task', () => client.sendMaxqueue('', 1)],
      ['fractional size', () => client.sendMaxqueue('resize', 1.5)],
      ['NaN size', () => client.sendMaxqueue('resize', Number.NaN)],
      ['string size', () => client.sendMaxqueue('resize', '10' as unknown as number)],
      ['handle with a space', () => client.cancelJob('H:vm:1 H:vm:2')],
      ['handle with a newline', () => client.cancelJob('H:vm:1\nversion')],
      ['handle with NUL', () => client.cancelJob('H:vm:1\0')],
      ['line too long', () => client.cancelJob('H'.repeat(9000))],
    ];
    for (const [what, call] of calls) {
      const error = await call().then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(error, what).toBeInstanceOf(InvalidArgumentError);
      expect(error, what).toBeInstanceOf(GearmanError);
      expect((error as GearmanError).code, what).toBe('INVALID_ARGUMENT');
    }
    expect(client.currentConnection.connected).toBe(false);
    expect(server.connections).toHaveLength(0);
  });

  it('sends nothing for a bad argument on a live connection, and stays in step', async () => {
    const server = await scripted((line, socket) => socket.write(line === 'version' ? 'OK 1.1.20+ds\n' : line.startsWith('maxqueue') ? 'OK\r\n' : 'ERR UNKNOWN_COMMAND x\r\n'));
    open.push(server);
    const client = admin(server.host);
    expect(await client.getVersion()).toBe('1.1.20+ds');
    await expect(client.sendMaxqueue('x\nversion', 3)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await client.sendMaxqueue('x', 3)).toBe('OK');
    expect(server.received).toEqual(['version\r\nmaxqueue x 3\r\n']);
  });
});

describe("GearmanAdminClient with the Perl server's shutdown", () => {
  it("resolves with the server's OK", async () => {
    const server = await scripted((line, socket) => {
      if (line === 'shutdown graceful') socket.write('OK\n');
    });
    open.push(server);
    expect(await admin(server.host).sendShutdown()).toBe('OK');
    expect(server.received).toEqual(['shutdown graceful\r\n']);
  });

  it('resolves with null when the server closes the connection instead of answering, and reconnects after', async () => {
    const server = await scripted((line, socket) => {
      if (line === 'shutdown') socket.destroy();
      if (line === 'version') socket.write('v1.130.1\n');
    });
    open.push(server);
    const client = admin(server.host);
    expect(await client.sendShutdown(false)).toBeNull();
    expect(await client.getVersion()).toBe('v1.130.1');
    expect(server.connections).toHaveLength(2);
  });
});

describe('GearmanAdminClient against a misbehaving server', () => {
  it('rejects a ping whose echo differs', async () => {
    const server = await scripted(
      () => {},
      (_data, socket) => socket.write(encodePacket(CommandType.ECHO_RES, ['pong? ping!'], MAGIC_RES)),
    );
    open.push(server);
    await expect(admin(server.host).pingServer()).rejects.toThrow(/echo mismatch/);
  });

  it('rejects the waiting calls with a ProtocolError on bytes that break the framing, and reconnects after', async () => {
    let first = true;
    const server = await scripted((line, socket) => {
      if (first) {
        first = false;
        socket.write(Buffer.from('\0XYZ\0\0\0\x11\0\0\0\0'));
      } else if (line === 'version') socket.write('OK 1.1.20+ds\n');
    });
    open.push(server);
    const client = admin(server.host);
    const [status, version] = await Promise.allSettled([client.getStatus(), client.getVersion()]);
    expect(status.status === 'rejected' && status.reason).toBeInstanceOf(ProtocolError);
    expect(version.status === 'rejected' && version.reason).toBeInstanceOf(ProtocolError);
    expect(await client.getVersion()).toBe('1.1.20+ds');
  });

  it('rejects the waiting calls with ConnectionError SHUTDOWN on shutdown(), and works again after', async () => {
    const server = await scripted((line, socket) => {
      if (line === 'getpid') socket.write('OK 4242\n');
    });
    open.push(server);
    const client = admin(server.host);
    const sent = server.nextLine();
    const pending = client.getStatus();
    expect(await sent).toBe('status');
    client.shutdown();
    const error = await pending.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as ConnectionError).code).toBe('SHUTDOWN');
    expect(await client.getPid()).toBe('4242');
  });
});
