// The poll loop of ConnectionManager (python-gearman's poll_connections_until_stopped and
// poll_connections_once) over fake sockets, with a tiny manager whose handler records ECHO_RES.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConnectionManager, PollLoop, type Logger } from '../../lib/connection-manager.js';
import { CommandHandler } from '../../lib/command-handler/command-handler.js';
import type { GearmanConnection } from '../../lib/connection.js';
import type { PacketArgs } from '../../lib/protocol/decoder.js';
import { CommandType } from '../../lib/protocol/commands.js';
import { ConnectionError, ServerUnavailable } from '../../lib/errors.js';
import { FakeNetwork, type FakeSocket } from '../helpers/fake-socket.js';
import { bytes, req, res } from '../helpers/packets.js';

class TinyHandler extends CommandHandler {
  declare readonly connectionManager: TinyManager;

  recvEchoRes(args: PacketArgs): void {
    const data = (args[0] as Buffer).toString('utf8');
    this.connectionManager.echoes.push({ connection: this.connection, data });
    const target = this.connectionManager.targets.get(data);
    if (target !== undefined) this.connectionManager.wake(target);
  }

  recvNoop(): void {}
}

class TinyManager extends ConnectionManager<TinyHandler> {
  echoes: Array<{ connection: GearmanConnection; data: string }> = [];
  /** Echo data -> the object a watching loop waits on. */
  targets = new Map<string, object>();

  protected createCommandHandler(connection: GearmanConnection): TinyHandler {
    return new TinyHandler(this as unknown as ConnectionManager<CommandHandler>, connection);
  }

  saw(data: string): boolean {
    return this.echoes.some((e) => e.data === data);
  }
}

function quietLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log = (message: string): void => {
    lines.push(message);
  };
  return { lines, debug: log, info: log, warn: log, error: log };
}

const HOSTS = ['fake-a:4001', 'fake-b:4002'];

let net: FakeNetwork;
let managers: TinyManager[];

beforeEach(() => {
  net = new FakeNetwork();
  managers = [];
});

afterEach(() => {
  // Every test leaves the poll core consistent (ConnectionManager's invariants), before and after shutdown.
  for (const m of managers) m.assertInvariants();
  for (const m of managers) m.shutdown();
  for (const m of managers) m.assertInvariants();
  net.destroyAll();
  vi.useRealTimers();
});

function manager(hosts = HOSTS.slice(0, 1)): TinyManager {
  const m = new TinyManager(hosts, { createSocket: net.createSocket, logger: quietLogger() });
  managers.push(m);
  return m;
}

/** Connects every connection of `m`; returns their fake sockets, in host order. */
async function connectAll(m: TinyManager): Promise<FakeSocket[]> {
  const sockets: FakeSocket[] = [];
  for (const connection of m.connectionList) {
    const next = net.nextSocket(connection.port);
    await m.establishConnection(connection);
    sockets.push(await next);
  }
  return sockets;
}

/** A callback that records its calls and resolves `called(n)` when it has been called n times. */
function recorder(decide: (anyActivity: boolean, call: number) => boolean) {
  const calls: boolean[] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const callback = (anyActivity: boolean): boolean => {
    calls.push(anyActivity);
    const result = decide(anyActivity, calls.length);
    for (const w of waiters.splice(0)) {
      if (calls.length >= w.n) w.resolve();
      else waiters.push(w);
    }
    return result;
  };
  const called = (n: number): Promise<void> =>
    calls.length >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }));
  return { calls, callback, called };
}

function settledFlag(p: Promise<unknown>): { settled: boolean } {
  const flag = { settled: false };
  p.then(
    () => (flag.settled = true),
    () => (flag.settled = true),
  );
  return flag;
}

describe('pollConnectionsUntilStopped', () => {
  it('runs the callback once, synchronously, before any I/O; packets it queues go out after', async () => {
    const m = manager();
    const [sock] = await connectAll(m);
    const handler = m.handlerOf(m.connectionList[0])!;
    let inCall = true;
    let firstCallWasSynchronous = false;
    let writtenAtFirstCall = -1;
    const rec = recorder((_any, call) => {
      if (call === 1) {
        firstCallWasSynchronous = inCall;
        writtenAtFirstCall = sock!.written.length;
        handler.sendCommand(CommandType.ECHO_REQ, ['ping']);
        return true;
      }
      return !m.saw('ping');
    });
    const loop = m.pollConnectionsUntilStopped(m.connectionList, rec.callback);
    inCall = false;
    expect(rec.calls).toEqual([false]);
    expect(firstCallWasSynchronous).toBe(true);
    expect(writtenAtFirstCall).toBe(0);
    expect((await sock!.waitForBytes(16)).equals(req('ECHO_REQ', 'ping'))).toBe(true);
    sock!.deliver(res('ECHO_RES', 'ping'));
    expect(await loop).toBe(false);
    expect(rec.calls).toEqual([false, true]);
  });

  it('resolves false at once when the first callback returns false, even with no live connection', async () => {
    const m = manager();
    const rec = recorder(() => false);
    expect(await m.pollConnectionsUntilStopped(m.connectionList, rec.callback)).toBe(false);
    expect(rec.calls).toEqual([false]);
  });

  it('resolves false when the callback stops the loop after activity', async () => {
    const m = manager();
    const [sock] = await connectAll(m);
    const rec = recorder(() => !m.saw('done'));
    const loop = m.pollConnectionsUntilStopped(m.connectionList, rec.callback, 30);
    sock!.deliver(res('ECHO_RES', 'not yet'));
    await rec.called(2);
    sock!.deliver(res('ECHO_RES', 'done'));
    expect(await loop).toBe(false);
    expect(rec.calls).toEqual([false, true, true]);
  });

  describe('with fake timers', () => {
    beforeEach(() => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    });

    it('resolves true only when the timeout passes, after one more callback(false)', async () => {
      const m = manager();
      await connectAll(m);
      const rec = recorder(() => true);
      const loop = m.pollConnectionsUntilStopped(m.connectionList, rec.callback, 2.5);
      const flag = settledFlag(loop);
      await vi.advanceTimersByTimeAsync(2499);
      expect(flag.settled).toBe(false);
      expect(rec.calls).toEqual([false]);
      await vi.advanceTimersByTimeAsync(1);
      expect(await loop).toBe(true);
      expect(rec.calls).toEqual([false, false]);
    });

    it('activity does not move the deadline', async () => {
      const m = manager();
      const [sock] = await connectAll(m);
      const rec = recorder(() => true);
      const loop = m.pollConnectionsUntilStopped(m.connectionList, rec.callback, 2);
      const flag = settledFlag(loop);
      await vi.advanceTimersByTimeAsync(1500);
      sock!.deliver(res('ECHO_RES', 'a'));
      await rec.called(2);
      expect(rec.calls).toEqual([false, true]);
      await vi.advanceTimersByTimeAsync(499);
      expect(flag.settled).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(await loop).toBe(true);
      expect(rec.calls).toEqual([false, true, false]);
    });

    it('a callback that stops at the deadline call makes the loop resolve false', async () => {
      const m = manager();
      await connectAll(m);
      const rec = recorder((_any, call) => call < 2);
      const loop = m.pollConnectionsUntilStopped(m.connectionList, rec.callback, 1);
      await vi.advanceTimersByTimeAsync(1000);
      expect(await loop).toBe(false);
      expect(rec.calls).toEqual([false, false]);
    });

    it('pollConnectionsOnce resolves with empty sets when its timeout passes', async () => {
      const m = manager();
      await connectAll(m);
      const once = m.pollConnectionsOnce(m.connectionList, 1);
      const flag = settledFlag(once);
      await vi.advanceTimersByTimeAsync(999);
      expect(flag.settled).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      const result = await once;
      expect([result.readable.size, result.writable.size, result.errored.size]).toEqual([0, 0, 0]);
    });
  });

  it('timeout 0 (or negative) runs the callback once and resolves true without waiting', async () => {
    const m = manager();
    await connectAll(m);
    for (const timeout of [0, -1]) {
      const rec = recorder(() => true);
      const loop = m.pollConnectionsUntilStopped(m.connectionList, rec.callback, timeout);
      const flag = settledFlag(loop);
      await Promise.resolve();
      await Promise.resolve();
      expect(flag.settled).toBe(true);
      expect(await loop).toBe(true);
      expect(rec.calls).toEqual([false]);
    }
  });

  it('rejects a timeout that is not a number', async () => {
    const m = manager();
    await expect(m.pollConnectionsUntilStopped(m.connectionList, () => true, 'soon' as unknown as number)).rejects.toThrow(TypeError);
  });

  it('rejects with the callback\'s own error', async () => {
    const m = manager();
    const [sock] = await connectAll(m);
    const boom = new Error('callback failed');
    const loop = m.pollConnectionsUntilStopped(m.connectionList, (any) => {
      if (any) throw boom;
      return true;
    });
    sock!.deliver(res('NOOP'));
    await expect(loop).rejects.toBe(boom);
  });

  describe('ServerUnavailable', () => {
    it('rejects right after the first callback when no polled connection was ever connected', async () => {
      const m = manager();
      const rec = recorder(() => true);
      const error = await m.pollConnectionsUntilStopped(m.connectionList, rec.callback).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(error).toBeInstanceOf(ServerUnavailable);
      expect((error as ServerUnavailable).code).toBe('SERVER_UNAVAILABLE');
      expect((error as Error).message).toContain('fake-a:4001 (not connected)');
      expect(rec.calls).toEqual([false]);
    });

    it('names the connect error of a refused server and keeps it as cause', async () => {
      net.set(4001, 'refuse');
      const m = manager();
      await expect(m.establishConnection(m.connectionList[0]!)).rejects.toThrow(/fake-a:4001: connect failed: connect ECONNREFUSED/);
      const error = await m.pollConnectionsUntilStopped(m.connectionList, () => true).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(ServerUnavailable);
      expect((error as Error).message).toMatch(/fake-a:4001 \(connect failed: connect ECONNREFUSED/);
      expect((error as Error).cause).toBeInstanceOf(ConnectionError);
    });

    it('rejects when the last polled connection is lost, naming it and why', async () => {
      const m = manager();
      const [sock] = await connectAll(m);
      const rec = recorder(() => true);
      const loop = m.pollConnectionsUntilStopped(m.connectionList, rec.callback);
      sock!.serverClose();
      const error = await loop.catch((err: unknown) => err);
      expect(error).toBeInstanceOf(ServerUnavailable);
      expect((error as Error).message).toContain('fake-a:4001 (server closed the connection)');
      expect((error as Error).cause).toBeInstanceOf(ConnectionError);
      expect(rec.calls).toEqual([false, true]);
    });

    it('goes on while another polled connection is alive, and rejects when that one goes too', async () => {
      const m = manager(HOSTS);
      const [a, b] = await connectAll(m);
      const rec = recorder(() => true);
      const loop = m.pollConnectionsUntilStopped(m.connectionList, rec.callback);
      const flag = settledFlag(loop);
      a!.serverReset();
      await rec.called(2);
      expect(flag.settled).toBe(false);
      expect(m.connectionList[0]!.connected).toBe(false);
      b!.serverClose();
      const error = await loop.catch((err: unknown) => err);
      expect(error).toBeInstanceOf(ServerUnavailable);
      expect((error as Error).message).toContain('fake-a:4001 (read ECONNRESET)');
      expect((error as Error).message).toContain('fake-b:4002 (server closed the connection)');
      expect(rec.calls).toEqual([false, true, true]);
    });

    it('only counts the polled connections: a live connection outside the set does not keep the loop up', async () => {
      const m = manager(HOSTS);
      const [a] = await connectAll(m);
      const loop = m.pollConnectionsUntilStopped([m.connectionList[0]!], () => true);
      a!.serverClose();
      const error = await loop.catch((err: unknown) => err);
      expect(error).toBeInstanceOf(ServerUnavailable);
      expect((error as Error).message).not.toContain('fake-b');
      expect(m.connectionList[1]!.connected).toBe(true);
    });

    it('is not raised when the callback stops in the iteration that lost the last connection (python-gearman bug 19.3)', async () => {
      const m = manager();
      const [sock] = await connectAll(m);
      const rec = recorder(() => !m.saw('result'));
      const loop = m.pollConnectionsUntilStopped(m.connectionList, rec.callback);
      // The answer and the reset arrive in the same turn: one iteration sees both.
      sock!.deliver(res('ECHO_RES', 'result'));
      sock!.serverReset();
      expect(await loop).toBe(false);
      expect(rec.calls).toEqual([false, true]);
      expect(m.connectionList[0]!.connected).toBe(false);
    });
  });

  it('several concurrent loops on one connection each see the activity they wait for', async () => {
    const m = manager();
    const [sock] = await connectAll(m);
    const wanted = ['c', 'a', 'b', 'a'];
    const recs = wanted.map((w) => recorder(() => !m.saw(w)));
    const loops = recs.map((r) => m.pollConnectionsUntilStopped(m.connectionList, r.callback, 30));
    const flags = loops.map(settledFlag);
    sock!.deliver(res('ECHO_RES', 'a'));
    await recs[0]!.called(2);
    expect(flags.map((f) => f.settled)).toEqual([false, false, false, false]);
    await Promise.all([loops[1], loops[3]]);
    expect(flags[2]!.settled).toBe(false);
    sock!.deliver(res('ECHO_RES', 'b'), res('ECHO_RES', 'c'));
    expect(await Promise.all(loops)).toEqual([false, false, false, false]);
    // Every loop ran one iteration per turn with activity, until it stopped.
    expect(recs.map((r) => r.calls.length)).toEqual([3, 2, 3, 2]);
  });

  it('a burst of packets in one chunk is one iteration for every loop', async () => {
    const m = manager();
    const [sock] = await connectAll(m);
    const recs = [recorder(() => !m.saw('3')), recorder(() => !m.saw('3'))];
    const loops = recs.map((r) => m.pollConnectionsUntilStopped(m.connectionList, r.callback));
    sock!.deliver(bytes(res('ECHO_RES', '1'), res('ECHO_RES', '2'), res('ECHO_RES', '3')));
    expect(await Promise.all(loops)).toEqual([false, false]);
    expect(recs.map((r) => r.calls)).toEqual([
      [false, true],
      [false, true],
    ]);
  });

  it('two sockets delivering data in the same turn give one iteration', async () => {
    const m = manager(HOSTS);
    const [a, b] = await connectAll(m);
    const seen: number[] = [];
    const rec = recorder((any) => {
      if (any) seen.push(m.echoes.length);
      return m.echoes.length < 2;
    });
    const loop = m.pollConnectionsUntilStopped(m.connectionList, rec.callback);
    a!.deliver(res('ECHO_RES', 'from a'));
    b!.deliver(res('ECHO_RES', 'from b'));
    expect(await loop).toBe(false);
    expect(rec.calls).toEqual([false, true]);
    expect(seen).toEqual([2]);
    expect(m.echoes.map((e) => e.connection.port)).toEqual([4001, 4002]);
  });

  describe('a loop with watch', () => {
    it('wakes on wake(target), not on other packets of its connections', async () => {
      const m = manager();
      const [sock] = await connectAll(m);
      const target = {};
      m.targets.set('mine', target);
      const rec = recorder(() => !m.saw('mine'));
      const loop = m.pollConnectionsUntilStopped(m.connectionList, rec.callback, null, { watch: [target] });
      // An any-activity poll iterates in the same pass as every other loop that was woken.
      const once = m.pollConnectionsOnce(m.connectionList);
      sock!.deliver(res('ECHO_RES', 'other'), res('NOOP'));
      const result = await once;
      expect(result.readable.has(m.connectionList[0]!)).toBe(true);
      expect(m.saw('other')).toBe(true);
      expect(rec.calls).toEqual([false]);
      sock!.deliver(res('ECHO_RES', 'mine'));
      expect(await loop).toBe(false);
      // One iteration, woken by wake(); anyActivity there is the manager's choice.
      expect(rec.calls).toHaveLength(2);
    });

    it('wakes once per turn however many times its target is woken', async () => {
      const m = manager();
      const [sock] = await connectAll(m);
      const target = {};
      m.targets.set('x', target);
      const rec = recorder(() => m.echoes.length < 3);
      const loop = m.pollConnectionsUntilStopped(m.connectionList, rec.callback, null, { watch: [target] });
      sock!.deliver(bytes(res('ECHO_RES', 'x'), res('ECHO_RES', 'x'), res('ECHO_RES', 'x')));
      expect(await loop).toBe(false);
      // One iteration, woken by wake(); anyActivity there is the manager's choice.
      expect(rec.calls).toHaveLength(2);
    });

    it('wakes when a polled connection is lost', async () => {
      const m = manager();
      const [sock] = await connectAll(m);
      const rec = recorder(() => true);
      const loop = m.pollConnectionsUntilStopped(m.connectionList, rec.callback, null, { watch: [{}] });
      sock!.serverClose();
      await expect(loop).rejects.toBeInstanceOf(ServerUnavailable);
      expect(rec.calls).toEqual([false, true]);
    });

    it('with wakeOnActivity, also wakes on any packet', async () => {
      const m = manager();
      const [sock] = await connectAll(m);
      const rec = recorder(() => !m.saw('any'));
      const loop = m.pollConnectionsUntilStopped(m.connectionList, rec.callback, null, { watch: [{}], wakeOnActivity: true });
      sock!.deliver(res('ECHO_RES', 'any'));
      expect(await loop).toBe(false);
      expect(rec.calls).toEqual([false, true]);
    });
  });
});

describe('pollConnectionsOnce', () => {
  it('reports the readable connections, and the ones with bytes queued as writable', async () => {
    const m = manager(HOSTS);
    const [, b] = await connectAll(m);
    const [connA, connB] = m.connectionList as [GearmanConnection, GearmanConnection];
    m.handlerOf(connA)!.sendCommand(CommandType.ECHO_REQ, ['queued']);
    const once = m.pollConnectionsOnce(m.connectionList);
    b!.deliver(res('ECHO_RES', 'b'));
    const result = await once;
    expect([...result.readable]).toEqual([connB]);
    expect([...result.writable]).toEqual([connA]);
    expect([...result.errored]).toEqual([]);
  });

  it('reports a lost connection as errored while another is alive', async () => {
    const m = manager(HOSTS);
    const [a] = await connectAll(m);
    const once = m.pollConnectionsOnce(m.connectionList);
    a!.serverReset();
    const result = await once;
    expect([...result.errored]).toEqual([m.connectionList[0]]);
    expect(result.readable.size).toBe(0);
  });

  it('reports data and loss of one connection in the same turn together', async () => {
    const m = manager(HOSTS);
    const [a] = await connectAll(m);
    const once = m.pollConnectionsOnce(m.connectionList);
    a!.deliver(res('ECHO_RES', 'last words'));
    a!.serverClose();
    const result = await once;
    expect([...result.readable]).toEqual([m.connectionList[0]]);
    expect([...result.errored]).toEqual([m.connectionList[0]]);
    expect(m.saw('last words')).toBe(true);
  });

  it('rejects with ServerUnavailable when none of its connections is alive', async () => {
    const m = manager();
    await expect(m.pollConnectionsOnce(m.connectionList)).rejects.toBeInstanceOf(ServerUnavailable);
  });
});

describe('shutdown()', () => {
  it('rejects every waiting loop with ConnectionError SHUTDOWN, closes the sockets, and the manager can reconnect', async () => {
    const m = manager(HOSTS);
    const sockets = await connectAll(m);
    const loops = [
      m.pollConnectionsUntilStopped(m.connectionList, () => true),
      m.pollConnectionsUntilStopped(m.connectionList, () => true, 60, { watch: [{}] }),
      m.pollConnectionsOnce(m.connectionList),
    ];
    m.shutdown();
    for (const loop of loops) {
      const error = await (loop as Promise<unknown>).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(ConnectionError);
      expect((error as ConnectionError).code).toBe('SHUTDOWN');
    }
    await Promise.all(sockets.map((s) => s.whenClosed()));
    expect(m.connectionList.every((c) => !c.connected)).toBe(true);
    expect(m.connectionToHandlerMap.size).toBe(0);

    const [again] = await connectAll(m);
    expect(again).not.toBe(sockets[0]);
    const loop = m.pollConnectionsUntilStopped([m.connectionList[0]!], () => !m.saw('back'));
    again!.deliver(res('ECHO_RES', 'back'));
    expect(await loop).toBe(false);
  });

  it('a connect under way is rejected with SHUTDOWN', async () => {
    net.set(4001, 'hang');
    const m = manager();
    const connecting = m.establishConnection(m.connectionList[0]!);
    expect(net.socketsFor(4001)).toHaveLength(1);
    m.shutdown();
    const error = await connecting.catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as ConnectionError).code).toBe('SHUTDOWN');
  });
});

describe('sockets set up by the connection', () => {
  it('sets TCP_NODELAY and keepalive, and unrefs idle sockets', async () => {
    const m = manager();
    const [sock] = await connectAll(m);
    expect(sock!.noDelay).toBe(true);
    expect(sock!.keepAlive).toBe(true);
    expect(sock!.refed).toBe(false);
    const loop = m.pollConnectionsUntilStopped(m.connectionList, () => !m.saw('x'));
    expect(sock!.refed).toBe(true);
    sock!.deliver(res('ECHO_RES', 'x'));
    await loop;
    expect(sock!.refed).toBe(false);
  });
});

describe('the poll core (named states, one scheduler, the watch registry)', () => {
  /** A minimal watch-only loop, to drive the manager's loop API directly. */
  class ProbeLoop extends PollLoop {
    readonly connections = null;
    readonly wakesOnActivity = false;
    checks = 0;
    ended: string | undefined;
    constructor(
      readonly watched: object | object[] | undefined,
      private readonly keepGoing: () => boolean = () => true,
    ) {
      super();
    }
    check(): boolean {
      this.checks++;
      return this.keepGoing();
    }
    finish(timedOut: boolean): void {
      this.ended = timedOut ? 'timeout' : 'stopped';
    }
    fail(error: unknown): void {
      this.ended = `failed: ${(error as Error).message}`;
    }
  }

  it('a loop runs once: starting it again is an invariant error, not a second wait', async () => {
    const m = manager();
    await connectAll(m);
    const loop = new ProbeLoop({}, () => false);
    m.runLoop(loop, null);
    expect([loop.state, loop.ended]).toEqual(['ended', 'stopped']);
    expect(() => m.runLoop(loop, null)).toThrow(/invariant broken: runLoop of a loop that is ended/);
  });

  it("wakes are coalesced: a loop is 'queued' once however many of its targets are woken, and iterates once", async () => {
    const m = manager();
    await connectAll(m);
    const a = {};
    const b = {};
    const loop = new ProbeLoop([a, b]);
    m.runLoop(loop, null);
    expect([loop.state, loop.checks]).toEqual(['waiting', 1]);
    m.wake(a);
    m.wake(b);
    m.wake(a);
    expect(loop.state).toBe('queued');
    m.assertInvariants();
    await Promise.resolve();
    expect([loop.state, loop.checks]).toEqual(['waiting', 2]);
    m.shutdown();
    expect(loop.ended).toMatch(/^failed: shutdown\(\)/);
    // Ended: unregistered from both targets; waking them does nothing.
    m.wake(a);
    await Promise.resolve();
    expect(loop.checks).toBe(2);
    m.assertInvariants();
  });

  it('two loops on one target: each is woken, and one ending leaves the other registered', async () => {
    const m = manager();
    await connectAll(m);
    const target = {};
    let stopFirst = false;
    const first = new ProbeLoop(target, () => !stopFirst);
    const second = new ProbeLoop(target);
    m.runLoop(first, null);
    m.runLoop(second, null);
    stopFirst = true;
    m.wake(target);
    await Promise.resolve();
    expect([first.state, first.ended, second.state, second.checks]).toEqual(['ended', 'stopped', 'waiting', 2]);
    m.assertInvariants();
    m.wake(target);
    await Promise.resolve();
    expect(second.checks).toBe(3);
  });

  it('a timeout that fires while the loop is queued runs that iteration once, then times out', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const m = manager();
    await connectAll(m);
    const target = {};
    const loop = new ProbeLoop(target);
    m.runLoop(loop, 1);
    m.wake(target);
    expect(loop.state).toBe('queued');
    vi.advanceTimersByTime(1000);
    expect([loop.state, loop.ended, loop.checks]).toEqual(['ended', 'timeout', 2]);
    await Promise.resolve(); // the stale queue entry is skipped
    expect(loop.checks).toBe(2);
    m.assertInvariants();
  });

  it('the sockets are referenced exactly while a loop waits, whatever kind of loop it is', async () => {
    const m = manager();
    const [sock] = await connectAll(m);
    expect(sock!.refed).toBe(false);
    const target = {};
    let stop = false;
    const watching = new ProbeLoop(target, () => !stop);
    m.runLoop(watching, null);
    expect(sock!.refed).toBe(true);
    const callback = m.pollConnectionsUntilStopped(m.connectionList, () => !stop);
    stop = true;
    m.wake(target);
    await Promise.resolve();
    expect(watching.state).toBe('ended');
    expect(sock!.refed).toBe(true); // the callback loop still waits
    sock!.deliver(res('NOOP'));
    expect(await callback).toBe(false);
    expect(sock!.refed).toBe(false);
    m.assertInvariants();
  });
});
