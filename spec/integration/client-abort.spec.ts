// Cancellation (#12): `signal` on every call that waits. An abort ends the wait within the turn
// of abort() and rejects with the signal's reason; the requests keep the state they had reached
// (a Gearman client cannot withdraw a job it submitted).
import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GearmanAdminClient, GearmanClient, GearmanJob, GearmanJobRequest, InvalidArgumentError, JOB_COMPLETE, JOB_CREATED, JOB_PENDING } from '../../lib/index.js';
import { CommandType } from '../../lib/protocol/commands.js';
import { FakeGearmanServer } from '../helpers/fake-server.js';
import { startTlsProxy } from '../helpers/tls-proxy.js';
import { sharedHosts, taskName, until } from '../helpers/env.js';
import { echo, startWorker } from '../helpers/workers.js';

/** Aborts with `reason` and checks the call has settled, with that reason, before the next turn. */
async function abortSettlesAtOnce(call: Promise<unknown>, controller: AbortController, reason: unknown = new Error('stop')): Promise<void> {
  let outcome: unknown = 'pending';
  call.then(
    () => (outcome = 'resolved'),
    (error: unknown) => (outcome = error),
  );
  controller.abort(reason);
  await new Promise((resolve) => setImmediate(resolve));
  expect(outcome).toBe(reason);
}

describe('client calls with an AbortSignal', () => {
  const clients: Array<GearmanClient | GearmanAdminClient> = [];
  const closers: Array<() => Promise<void> | void> = [];
  const track = <T extends GearmanClient | GearmanAdminClient>(c: T): T => {
    clients.push(c);
    return c;
  };
  afterEach(async () => {
    for (const c of clients.splice(0)) c.shutdown();
    for (const close of closers.splice(0)) await close();
  });

  it('connect phase: a TLS handshake that never completes', async () => {
    // A listener that accepts and never answers: the TLS handshake hangs.
    const sockets: net.Socket[] = [];
    const silent = net.createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    closers.push(() => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => silent.close(() => resolve()));
    });
    const port = (silent.address() as net.AddressInfo).port;
    const client = track(new GearmanClient([{ host: '127.0.0.1', port, tls: { rejectUnauthorized: false } }], { connectTimeoutMs: 60_000 }));
    const controller = new AbortController();
    const call = client.submitJob(taskName('abort-connect'), 'x', { signal: controller.signal });
    await until(() => sockets.length > 0);
    await abortSettlesAtOnce(call, controller);
  });

  it('connect phase: once aborted, nothing is sent when the connection comes up later', async () => {
    // client --TLS--> gate (holds each connection until released) --> TLS proxy --> fake server
    const server = await FakeGearmanServer.start((conn, item) => {
      if ('type' in item && item.type === CommandType.GET_STATUS_UNIQUE) conn.reply(['STATUS_RES_UNIQUE', String(item.args[0]), '0', '0', '0', '0', '0']);
    });
    const proxy = await startTlsProxy(server.port);
    const held: net.Socket[] = [];
    const piped: net.Socket[] = [];
    const gate = net.createServer((down) => {
      down.pause();
      held.push(down);
    });
    await new Promise<void>((resolve) => gate.listen(0, '127.0.0.1', resolve));
    closers.push(async () => {
      for (const s of [...held, ...piped]) s.destroy();
      await new Promise<void>((resolve) => gate.close(() => resolve()));
      await proxy.close();
      await server.close();
    });
    const release = (): void => {
      for (const down of held.splice(0)) {
        const up = net.connect(proxy.port, '127.0.0.1');
        piped.push(up, down);
        up.on('error', () => undefined);
        down.on('error', () => undefined);
        down.pipe(up).pipe(down);
        down.resume();
      }
    };
    const port = (gate.address() as net.AddressInfo).port;
    const client = track(new GearmanClient([{ host: '127.0.0.1', port, tls: { ca: proxy.ca, servername: 'localhost' } }], { exceptions: false, connectTimeoutMs: 60_000 }));
    const controller = new AbortController();
    const request = new GearmanJobRequest(new GearmanJob(null, null, 'abort-late-connect', null, 'x'));
    const call = client.submitMultipleRequests([request], { signal: controller.signal });
    await until(() => held.length === 1);
    await abortSettlesAtOnce(call, controller);
    release();
    // A later call on the same connection: its packet follows anything the aborted call sent.
    expect((await client.getJobStatusByUnique('marker')).known).toBe(false);
    const conn = await server.connection(0);
    expect(conn.received.map((item) => ('type' in item ? item.type : item.line))).toEqual([CommandType.GET_STATUS_UNIQUE]);
    expect(request.state).not.toBe(JOB_PENDING);
    expect(request.connectionAttempts).toBe(0);
  });

  it('accept phase: a server that never answers the submission', async () => {
    const server = await FakeGearmanServer.start(() => undefined);
    closers.push(() => server.close());
    const client = track(new GearmanClient([server.address], { exceptions: false }));
    const controller = new AbortController();
    const request = new GearmanJobRequest(new GearmanJob(null, null, 'abort-accept', null, 'x'));
    const call = client.submitMultipleRequests([request], { signal: controller.signal });
    const conn = await server.connection(0);
    await conn.waitForPacket(CommandType.SUBMIT_JOB);
    await abortSettlesAtOnce(call, controller);
    // Left as it was: sent, not accepted. The wait's own bookkeeping did not run.
    expect(request.state).toBe(JOB_PENDING);
    expect(request.timedOut).toBe(false);
  });

  it('complete phase: the job stays queued on gearmand and can still be waited for', async () => {
    const client = track(new GearmanClient(sharedHosts()));
    const admin = track(new GearmanAdminClient(sharedHosts()));
    const task = taskName('abort-complete');
    const controller = new AbortController();
    const request = new GearmanJobRequest(new GearmanJob(null, null, task, null, 'still here'));
    const created = new Promise((resolve) => request.once('created', resolve));
    const call = client.submitMultipleRequests([request], { signal: controller.signal });
    await created;
    const reason = new DOMException('user gave up', 'AbortError');
    await abortSettlesAtOnce(call, controller, reason);
    expect(request.state).toBe(JOB_CREATED);
    expect((await admin.getStatus()).find((row) => row.task === task)?.queued).toBe(1);
    // Not withdrawn: a worker that comes later runs it, and a new wait sees the result.
    const worker = startWorker(sharedHosts(), { [task]: echo });
    closers.push(() => worker.stop());
    await client.waitUntilJobsCompleted([request], { pollTimeout: 20 });
    expect(request.state).toBe(JOB_COMPLETE);
    expect(String(request.result)).toBe('still here');
  });

  it('complete phase of submitJob rejects with an AbortError from a plain abort()', async () => {
    const client = track(new GearmanClient(sharedHosts()));
    const admin = track(new GearmanAdminClient(sharedHosts()));
    const task = taskName('abort-submitjob');
    const controller = new AbortController();
    const call = client.submitJob(task, 'x', { signal: controller.signal });
    await until(async () => (await admin.getStatus()).some((row) => row.task === task && row.queued === 1));
    let outcome: unknown;
    call.catch((e: unknown) => (outcome = e));
    controller.abort();
    await new Promise((resolve) => setImmediate(resolve));
    expect(outcome).toBeInstanceOf(DOMException);
    expect((outcome as DOMException).name).toBe('AbortError');
  });

  it('status phase: a server that never answers GET_STATUS', async () => {
    const server = await FakeGearmanServer.start((conn, item) => {
      if ('type' in item && item.type === CommandType.SUBMIT_JOB_BG) conn.reply(['JOB_CREATED', 'H:fake:1']);
    });
    closers.push(() => server.close());
    const client = track(new GearmanClient([server.address], { exceptions: false }));
    const request = await client.submitJob('abort-status', 'x', { background: true });
    expect(request.state).toBe(JOB_CREATED);
    const controller = new AbortController();
    const call = client.getJobStatus(request, { signal: controller.signal });
    await (await server.connection(0)).waitForPacket(CommandType.GET_STATUS);
    await abortSettlesAtOnce(call, controller);
    expect(request.state).toBe(JOB_CREATED);
  });

  it('status by unique: a server that never answers GET_STATUS_UNIQUE', async () => {
    const server = await FakeGearmanServer.start(() => undefined);
    closers.push(() => server.close());
    const client = track(new GearmanClient([server.address], { exceptions: false }));
    const controller = new AbortController();
    const call = client.getJobStatusByUnique('u-abort', { signal: controller.signal });
    await (await server.connection(0)).waitForPacket(CommandType.GET_STATUS_UNIQUE);
    await abortSettlesAtOnce(call, controller);
  });

  it('waitUntilJobsAccepted and waitUntilJobsCompleted take a signal', async () => {
    const server = await FakeGearmanServer.start((conn, item) => {
      if ('type' in item && item.type === CommandType.SUBMIT_JOB) conn.reply(['JOB_CREATED', `H:fake:${conn.received.length}`]);
    });
    closers.push(() => server.close());
    const client = track(new GearmanClient([server.address], { exceptions: false }));
    const requests = await client.submitMultipleJobs([{ task: 'a', data: '1' }], { waitUntilComplete: false });
    const controller = new AbortController();
    await abortSettlesAtOnce(client.waitUntilJobsCompleted(requests, { signal: controller.signal }), controller);
    expect(requests[0]!.state).toBe(JOB_CREATED);

    const hung = await FakeGearmanServer.start(() => undefined);
    closers.push(() => hung.close());
    const other = track(new GearmanClient([hung.address], { exceptions: false }));
    const pending = [new GearmanJobRequest(new GearmanJob(null, null, 'b', null, '2'))];
    const second = new AbortController();
    const accepting = other.waitUntilJobsAccepted(pending, { signal: second.signal });
    await (await hung.connection(0)).waitForPacket(CommandType.SUBMIT_JOB);
    await abortSettlesAtOnce(accepting, second);
    expect(pending[0]!.state).toBe(JOB_PENDING);
  });

  it('an already aborted signal rejects before anything is sent', async () => {
    const server = await FakeGearmanServer.start(() => undefined);
    closers.push(() => server.close());
    const client = track(new GearmanClient([server.address]));
    const reason = new Error('too late');
    await expect(client.submitJob('t', 'x', { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    await expect(client.submitMultipleJobs([{ task: 't', data: 'x' }], { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    await expect(client.getJobStatusByUnique('u', { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(server.connections).toHaveLength(0);
  });

  it('AbortSignal.timeout() rejects with a TimeoutError', async () => {
    const client = track(new GearmanClient(sharedHosts()));
    const error = await client.submitJob(taskName('abort-timeout'), 'x', { signal: AbortSignal.timeout(50) }).catch((e: unknown) => e);
    expect((error as DOMException).name).toBe('TimeoutError');
  });

  it('a signal that is not an AbortSignal is an InvalidArgumentError', async () => {
    const client = track(new GearmanClient(sharedHosts()));
    await expect(client.submitJob('t', 'x', { signal: 'stop' as unknown as AbortSignal })).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('a call that ends normally removes its abort listener', async () => {
    const client = track(new GearmanClient(sharedHosts()));
    const task = taskName('abort-normal');
    const worker = startWorker(sharedHosts(), { [task]: echo });
    closers.push(() => worker.stop());
    const controller = new AbortController();
    let added = 0;
    let removed = 0;
    const { signal } = controller;
    const add = signal.addEventListener.bind(signal);
    const remove = signal.removeEventListener.bind(signal);
    signal.addEventListener = ((...args: Parameters<typeof add>) => (added++, add(...args))) as typeof add;
    signal.removeEventListener = ((...args: Parameters<typeof remove>) => (removed++, remove(...args))) as typeof remove;
    const request = await client.submitJob(task, 'fine', { signal });
    expect(String(request.result)).toBe('fine');
    expect(added).toBeGreaterThan(0);
    expect(removed).toBe(added);
    controller.abort();
    expect(request.state).toBe(JOB_COMPLETE);
  });
});
