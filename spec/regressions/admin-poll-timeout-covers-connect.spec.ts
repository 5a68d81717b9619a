// Regression (issue 9, "pollTimeout does not bound the connect phase", admin client): against a
// listener whose accept queue is full, or a TLS handshake nobody answers, getStatus() with
// pollTimeout 0.5 took connectTimeoutMs (5 s by default) to reject. The call's deadline now covers
// the connect: it rejects with InvalidAdminClientState after its pollTimeout, saying it timed out
// connecting, and the abandoned connect is stopped once no call waits for it.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { GearmanAdminClient, InvalidAdminClientState } from '../../lib/index.js';

/** A listener (backlog 0) that never accepts, its queue filled by one connection. */
interface FullListener {
  port: number;
  close(): void;
}

const cleanups: Array<() => void> = [];

afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

async function fullListener(): Promise<FullListener> {
  // Node accepts every connection as soon as it can, so the listener is a child process stopped
  // (SIGSTOP) once it listens: nothing accepts. With backlog 1, Linux queues two connections (the
  // fillers) and drops the SYNs of the next ones, whose connect then never completes. (Node reads
  // a backlog of 0 as its default, 511.)
  const child: ChildProcess = spawn(
    process.execPath,
    ['-e', "const s = require('net').createServer(); s.listen({ host: '127.0.0.1', port: 0, backlog: 1 }, () => console.log(s.address().port));"],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim())));
    child.once('error', reject);
  });
  child.kill('SIGSTOP');
  const fillers = [net.connect(port, '127.0.0.1'), net.connect(port, '127.0.0.1')];
  const listener = {
    port,
    close: () => {
      for (const filler of fillers) filler.destroy();
      child.kill('SIGKILL');
    },
  };
  cleanups.push(listener.close);
  await Promise.all(fillers.map((filler) => new Promise<void>((resolve, reject) => filler.once('connect', () => resolve()).once('error', reject))));
  return listener;
}

/** A TCP server that accepts and never says a word: a TLS handshake with it never ends. */
async function silentServer(): Promise<{ port: number; accepted: Promise<void> }> {
  const sockets: net.Socket[] = [];
  let onAccept!: () => void;
  const accepted = new Promise<void>((resolve) => (onAccept = resolve));
  const server = net.createServer((socket) => {
    sockets.push(socket);
    onAccept();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  cleanups.push(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return { port: (server.address() as net.AddressInfo).port, accepted };
}

async function timed<T>(promise: Promise<T>): Promise<{ error: unknown; seconds: number }> {
  const start = performance.now();
  const error = await promise.then(
    (value) => new Error(`expected a rejection, got ${JSON.stringify(value)}`),
    (err: unknown) => err,
  );
  return { error, seconds: (performance.now() - start) / 1000 };
}

describe('admin client: pollTimeout covers the connect', () => {
  it('a listener that never accepts: getStatus with pollTimeout 0.5 rejects after about 0.5 s, not connectTimeoutMs', async () => {
    const listener = await fullListener();
    const admin = new GearmanAdminClient([`127.0.0.1:${listener.port}`], { pollTimeout: 0.5, connectTimeoutMs: 60_000 });
    cleanups.push(() => admin.shutdown());
    const { error, seconds } = await timed(admin.getStatus());
    expect(error).toBeInstanceOf(InvalidAdminClientState);
    expect((error as Error).message).toBe(`127.0.0.1:${listener.port}: admin client timed out after 0.5 second(s) connecting, before sending 'status'`);
    expect(seconds).toBeGreaterThanOrEqual(0.45);
    expect(seconds).toBeLessThan(5);
    // Nobody waits for the connect any more: it was stopped, so nothing keeps the process alive.
    expect(admin.currentConnection.connecting).toBe(false);
    expect(admin.currentConnection.connected).toBe(false);
  });

  it("each call keeps its own deadline; the connect is stopped when the last one gives up", async () => {
    const listener = await fullListener();
    const admin = new GearmanAdminClient([`127.0.0.1:${listener.port}`], { pollTimeout: 0.3, connectTimeoutMs: 60_000 });
    cleanups.push(() => admin.shutdown());
    const short = timed(admin.getVersion());
    const long = timed(admin.getStatus({ pollTimeout: 4 }));
    const first = await short;
    expect((first.error as Error).message).toMatch(/timed out after 0\.3 second\(s\) connecting, before sending 'version'$/);
    // The longer call still waits on the same connect.
    expect(admin.currentConnection.connecting).toBe(true);
    const second = await long;
    expect(second.error).toBeInstanceOf(InvalidAdminClientState);
    expect((second.error as Error).message).toMatch(/timed out after 4 second\(s\) connecting, before sending 'status'$/);
    expect(second.seconds).toBeGreaterThanOrEqual(3.9);
    expect(second.seconds).toBeLessThan(10);
    expect(admin.currentConnection.connecting).toBe(false);
  });

  it('a TLS handshake nobody answers: getStatus with pollTimeout 0.5 rejects after about 0.5 s', async () => {
    const server = await silentServer();
    const admin = new GearmanAdminClient([{ host: '127.0.0.1', port: server.port, tls: { rejectUnauthorized: false } }], {
      pollTimeout: 0.5,
      connectTimeoutMs: 60_000,
    });
    cleanups.push(() => admin.shutdown());
    const call = timed(admin.getStatus());
    await server.accepted;
    const { error, seconds } = await call;
    expect(error).toBeInstanceOf(InvalidAdminClientState);
    expect((error as Error).message).toBe(`127.0.0.1:${server.port}: admin client timed out after 0.5 second(s) connecting, before sending 'status'`);
    expect(seconds).toBeLessThan(5);
    expect(admin.currentConnection.connecting).toBe(false);
  });

  it('a server that accepts but never answers: the wait for the answer times out, within the same deadline', async () => {
    // A server that accepts at once but never answers: the wait, not the connect, times out, and
    // the whole call still ends after its pollTimeout.
    const server = await silentServer();
    const admin = new GearmanAdminClient([`127.0.0.1:${server.port}`], { pollTimeout: 0.5 });
    cleanups.push(() => admin.shutdown());
    const { error, seconds } = await timed(admin.getStatus());
    expect((error as Error).message).toBe(`127.0.0.1:${server.port}: admin client timed out after 0.5 second(s) waiting for the answer to 'status'`);
    expect(seconds).toBeLessThan(5);
  });
});
