// No answer within pollTimeout: InvalidAdminClientState, and a later call gets its own answer.
// First against a plain TCP server that accepts and never answers, then against a private
// gearmand paused with SIGSTOP (it answers the stale command once resumed).
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { GearmanAdminClient, InvalidAdminClientState } from '../../lib/index.js';
import { startGearmand, type Gearmand } from '../helpers/gearmand.mjs';
import { pauseGearmand, resumeGearmand } from '../helpers/gearmand-control.mjs';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A TCP server on 127.0.0.1 that accepts connections and never writes. */
async function silentServer(): Promise<{ port: number; sockets: net.Socket[]; received: () => string; nextClose: () => Promise<void> }> {
  const sockets: net.Socket[] = [];
  let data = '';
  const closeWaiters: Array<() => void> = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    socket.on('data', (d) => (data += d.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => closeWaiters.shift()?.());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return {
    port: (server.address() as net.AddressInfo).port,
    sockets,
    received: () => data,
    nextClose: () => new Promise<void>((resolve) => closeWaiters.push(resolve)),
  };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
    },
    (err: unknown) => err,
  );
}

describe('GearmanAdminClient pollTimeout against a server that never answers', () => {
  it('rejects every method with InvalidAdminClientState naming host:port and the timeout', async () => {
    const server = await silentServer();
    const admin = new GearmanAdminClient([`127.0.0.1:${server.port}`], { pollTimeout: 0.2 });
    cleanups.push(() => admin.shutdown());
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['ECHO_REQ', () => admin.pingServer()],
      ['status', () => admin.getStatus()],
      ['version', () => admin.getVersion()],
      ['workers', () => admin.getWorkers()],
      ['maxqueue q 1', () => admin.sendMaxqueue('q', 1)],
      ['shutdown graceful', () => admin.sendShutdown()],
      ['getpid', () => admin.getPid()],
      ['cancel job H:x:1', () => admin.cancelJob('H:x:1')],
      ['show jobs', () => admin.getJobs()],
      ['show unique jobs', () => admin.getUniqueJobs()],
    ];
    for (const [name, call] of calls) {
      const error = await rejection(call());
      expect(error, name).toBeInstanceOf(InvalidAdminClientState);
      expect((error as InvalidAdminClientState).code).toBe('INVALID_ADMIN_CLIENT_STATE');
      expect((error as Error).message).toBe(
        `127.0.0.1:${server.port}: admin client timed out after 0.2 second(s) waiting for the answer to '${name}'`,
      );
    }
    // Each timeout closed the connection, so each call had its own.
    expect(server.sockets).toHaveLength(calls.length);
    expect(server.received()).toContain('show unique jobs\r\n');
  });

  it('closes the connection on a timeout, failing the calls queued behind, and reconnects for the next call', async () => {
    const server = await silentServer();
    const admin = new GearmanAdminClient([`127.0.0.1:${server.port}`], { pollTimeout: 0.2 });
    cleanups.push(() => admin.shutdown());
    const closed = server.nextClose();
    const results = await Promise.allSettled([admin.getStatus(), admin.getVersion(), admin.pingServer()]);
    for (const result of results) {
      expect(result.status).toBe('rejected');
      expect((result as PromiseRejectedResult).reason).toBeInstanceOf(InvalidAdminClientState);
    }
    // One call's timeout (which one fires first is the timers' order) closes the connection, and
    // the calls queued on it fail with that reset.
    const messages = results.map((r) => String((r as PromiseRejectedResult).reason.message));
    expect(messages.filter((m) => /timed out after 0\.2 second\(s\) waiting for the answer to '(status|version|ECHO_REQ)'/.test(m))).toHaveLength(1);
    expect(messages.filter((m) => /connection reset: no answer to '(status|version|ECHO_REQ)' within 0\.2 second\(s\)/.test(m))).toHaveLength(2);
    await closed;
    expect(server.sockets).toHaveLength(1);
    expect(await rejection(admin.getPid())).toBeInstanceOf(InvalidAdminClientState);
    expect(server.sockets).toHaveLength(2);
  });
});

describe('GearmanAdminClient pollTimeout against a paused gearmand', () => {
  it('times out while gearmand is stopped; once it runs again, a later call gets its own answer, not the stale one', async () => {
    const server: Gearmand = await startGearmand();
    cleanups.push(() => server.stop());
    cleanups.push(() => resumeGearmand(server));
    const admin = new GearmanAdminClient([server.host], { pollTimeout: 0.3 });
    cleanups.push(() => admin.shutdown());
    expect(await admin.getPid()).toBe(String(server.pid));

    // Resolves once the kernel reports every thread stopped, or they may still answer the calls below.
    await pauseGearmand(server);
    const results = await Promise.allSettled([admin.getVersion(), admin.getStatus(), admin.pingServer()]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    for (const r of results) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(InvalidAdminClientState);
    await resumeGearmand(server);

    // gearmand now answers 'version', 'status' and the echo that timed out; none of those may be
    // taken for these answers.
    expect(await admin.getPid()).toBe(String(server.pid));
    expect(await admin.getUniqueJobs()).toEqual([]);
    expect(await admin.getVersion()).toBe(server.version);
    expect(await admin.pingServer()).toBeGreaterThan(0);
  });
});
