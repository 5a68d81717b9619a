// Issue 9: pollTimeout bounds the whole call, connect included. Before the fix the deadline timer
// was armed only once the connect was awaited: against a listener that never accepts,
// submitJob(..., { pollTimeout: 0.5 }) rejected after connectTimeoutMs (5 s), or was still pending
// at 4 s with connectTimeoutMs 20000; an unanswered TLS handshake did the same; and a connect that
// finished after the deadline still sent the job.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { GearmanClient, GearmanJob, GearmanJobRequest, JOB_UNKNOWN } from '../../lib/index.js';
import { CommandType } from '../../lib/protocol/commands.js';
import { FakeGearmanServer } from '../helpers/fake-server.js';
import { res } from '../helpers/packets.js';
import { startTlsProxy } from '../helpers/tls-proxy.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/**
 * A listener whose accept queue is full: a process that listens with backlog 0 and never calls
 * accept(), plus filler connections that fill the queue, so the kernel drops further SYNs.
 */
async function fullListener(): Promise<number> {
  const child: ChildProcess = spawn('python3', [
    '-c',
    'import socket,sys,time\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\nsys.stdin.read()',
  ], { stdio: ['pipe', 'pipe', 'inherit'] });
  cleanup.push(() => child.kill('SIGKILL'));
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
    child.once('error', reject);
  });
  // Fill the accept queue: wait for the fillers that complete their handshake (the queue's
  // capacity); the rest stay unanswered, as the client's SYN will.
  const fillers: net.Socket[] = [];
  let connected = 0;
  await new Promise<void>((resolve) => {
    for (let i = 0; i < 8; i++) {
      const s = net.connect(port, '127.0.0.1');
      s.on('error', () => undefined);
      s.on('connect', () => {
        if (++connected === 1) resolve();
      });
      fillers.push(s);
    }
  });
  cleanup.push(() => fillers.forEach((s) => s.destroy()));
  return port;
}

/**
 * A TCP gate: accepts connections and holds their bytes (both ways) until `open()`, then
 * forwards them to `targetPort`. In front of a TLS server it stalls the handshake.
 */
async function gate(targetPort: number): Promise<{ port: number; open(): void }> {
  let opened = false;
  const pending: Array<() => void> = [];
  const server = net.createServer((down) => {
    down.on('error', () => undefined);
    const start = (): void => {
      const up = net.connect(targetPort, '127.0.0.1');
      up.on('error', () => undefined);
      down.pipe(up).pipe(down);
      down.on('close', () => up.destroy());
      up.on('close', () => down.destroy());
    };
    down.pause();
    if (opened) start();
    else pending.push(start);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  cleanup.push(() => server.getConnections(() => undefined));
  return {
    port: (server.address() as net.AddressInfo).port,
    open() {
      opened = true;
      for (const start of pending.splice(0)) start();
    },
  };
}

describe('pollTimeout covers the connect', () => {
  it('a listener that never accepts: submitJob resolves at its pollTimeout, timedOut, not sent', async () => {
    const port = await fullListener();
    const client = new GearmanClient([`127.0.0.1:${port}`], { connectTimeoutMs: 20_000 });
    cleanup.push(() => client.shutdown());
    const started = Date.now();
    const request = await client.submitJob('never_sent', 'x', { pollTimeout: 0.5 });
    const elapsed = Date.now() - started;
    // Red before the fix: the call was still pending here (connectTimeoutMs 20 s).
    expect(elapsed).toBeLessThan(4000);
    expect(request.timedOut).toBe(true);
    expect(request.state).toBe(JOB_UNKNOWN);
    expect(request.connectionAttempts).toBe(0);
  });

  it('submitMultipleJobs: every request of a call whose connect outlives the deadline is timedOut', async () => {
    const port = await fullListener();
    const client = new GearmanClient([`127.0.0.1:${port}`], { connectTimeoutMs: 20_000 });
    cleanup.push(() => client.shutdown());
    const requests = await client.submitMultipleJobs(
      [{ task: 'never_sent', data: 'a' }, { task: 'never_sent', data: 'b' }],
      { pollTimeout: 0.3, waitUntilComplete: false },
    );
    expect(requests.map((r) => [r.state, r.timedOut, r.connectionAttempts])).toEqual([
      [JOB_UNKNOWN, true, 0],
      [JOB_UNKNOWN, true, 0],
    ]);
  });

  it('getJobStatus: the connect for the query is bounded by its pollTimeout too', async () => {
    const port = await fullListener();
    const client = new GearmanClient([`127.0.0.1:${port}`], { connectTimeoutMs: 20_000 });
    cleanup.push(() => client.shutdown());
    const request = new GearmanJobRequest(new GearmanJob(client.connectionList[0]!, 'H:somewhere:1', 't', 'u', 'x'));
    const started = Date.now();
    const answered = await client.getJobStatus(request, { pollTimeout: 0.3 });
    expect(Date.now() - started).toBeLessThan(4000);
    expect(answered.timedOut).toBe(true);
  });

  it('an unanswered TLS handshake is bounded too, and a connect that completes after the deadline sends nothing', async () => {
    const submits: string[] = [];
    const fake = await FakeGearmanServer.start((conn, item) => {
      if (!('type' in item)) return;
      if (item.type === CommandType.OPTION_REQ) conn.send(res('OPTION_RES', item.args[0] as string));
      if (item.type === CommandType.SUBMIT_JOB) {
        submits.push(String(item.args[2]));
        conn.send(res('JOB_CREATED', `H:fake:${submits.length}`));
        conn.send(res('WORK_COMPLETE', `H:fake:${submits.length}`, 'done'));
      }
    });
    cleanup.push(() => fake.close());
    const tlsProxy = await startTlsProxy(fake.port);
    cleanup.push(() => tlsProxy.close());
    const g = await gate(tlsProxy.port);
    const client = new GearmanClient([{ host: '127.0.0.1', port: g.port, tls: { ca: tlsProxy.ca } }], { connectTimeoutMs: 20_000 });
    cleanup.push(() => client.shutdown());

    const started = Date.now();
    const late = await client.submitJob('late', 'sent after the deadline?', { pollTimeout: 0.5 });
    expect(Date.now() - started).toBeLessThan(4000);
    expect(late.timedOut).toBe(true);
    expect(late.state).toBe(JOB_UNKNOWN);

    // The handshake now completes (the same connect, still under way). A later call goes out on
    // that connection; the first submission the server sees must be that call's, not the late one.
    g.open();
    const next = await client.submitJob('next', 'the next call');
    expect(String(next.result)).toBe('done');
    expect(submits).toEqual(['the next call']);
    expect(late.state).toBe(JOB_UNKNOWN);
    expect(late.connectionAttempts).toBe(0);
  });
});
