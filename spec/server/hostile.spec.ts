// Hostile input: whatever one peer sends, the server keeps serving everyone else, and its memory
// stays bounded. Each case runs beside a well-behaved client that must still get its results.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { GearmanServer } from '../../lib/server/index.js';
import { GearmanClient, GearmanWorker } from '../../lib/index.js';
import { header, req } from '../helpers/packets.js';
import { RawPeer } from './raw-peer.js';

let server: GearmanServer;
let worker: GearmanWorker;
let client: GearmanClient;

beforeAll(async () => {
  server = await GearmanServer.start({ port: 0 });
  worker = new GearmanWorker(server.hostList);
  worker.registerTask('echo-job', (_w, job) => job.data);
  void worker.work({ pollTimeout: 0.05 }).catch(() => undefined);
  client = new GearmanClient(server.hostList);
});
afterAll(async () => {
  client.shutdown();
  worker.shutdown();
  await server.close();
});

/** The well-behaved client still gets a job done. */
async function stillServing(tag: string): Promise<void> {
  const request = await client.submitJob('echo-job', `still ${tag}`, { pollTimeout: 10 });
  expect(request.state).toBe('COMPLETE');
  expect(String(request.result)).toBe(`still ${tag}`);
}

function connect(): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port: server.port }, () => resolve(socket));
    socket.once('error', reject);
  });
}

function closed(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) resolve();
    else socket.once('close', () => resolve());
  });
}

describe('hostile peers', () => {
  it('binary garbage (NUL first, bad magic) closes that connection only', async () => {
    for (let i = 0; i < 20; i++) {
      const s = await connect();
      s.on('error', () => undefined);
      const junk = randomBytes(4096);
      junk[0] = 0;
      junk[1] = 0x99; // never a valid magic
      s.write(junk);
      await closed(s);
    }
    await stillServing('after garbage');
  });

  it('text garbage without a newline is bounded by the admin line limit', async () => {
    const p = await RawPeer.connect(server.port);
    p.send(Buffer.alloc(64 * 1024, 'x'));
    await p.whenClosed();
    await stillServing('after a long line');
  });

  it('a 4 GiB size field is refused at the header, nothing allocated', async () => {
    const before = process.memoryUsage().rss;
    const p = await RawPeer.connect(server.port);
    p.send(header('REQ', 'SUBMIT_JOB', 0xffffffff), Buffer.from('f\0\0partial'));
    await p.whenClosed();
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
    await stillServing('after 4 GiB');
  });

  it('half packets then close: no job appears', async () => {
    const jobsBefore = server.stats().jobs;
    const whole = req('SUBMIT_JOB_BG', 'half-task', '', 'data that never completes');
    for (const cut of [3, 11, 12, 20, whole.length - 1]) {
      const s = await connect();
      s.on('error', () => undefined);
      s.end(whole.subarray(0, cut));
      await closed(s);
    }
    expect(server.stats().jobs).toBe(jobsBefore);
    expect(server.stats().tasks['half-task']).toBeUndefined();
    await stillServing('after half packets');
  });

  it('10,000 connections opened and dropped: all released, memory bounded', async () => {
    const rssBefore = process.memoryUsage().rss;
    const total = 10_000;
    const batch = 500;
    for (let done = 0; done < total; done += batch) {
      const sockets = await Promise.all(Array.from({ length: batch }, () => connect()));
      // Half send a partial packet first, half nothing at all.
      sockets.forEach((s, i) => {
        s.on('error', () => undefined);
        if (i % 2 === 0) s.write(header('REQ', 'ECHO_REQ', 100));
        s.destroy();
      });
      await Promise.all(sockets.map(closed));
    }
    const deadline = Date.now() + 20_000;
    // The server sees each close in its own callback; wait for the last ones.
    while (server.stats().connections > 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(server.stats().connections).toBe(2); // the worker and the client
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(128 * 1024 * 1024);
    await stillServing('after 10,000 connections');
  }, 180_000);

  it('workers that grab and disappear: each job is re-queued and completed by the real worker', async () => {
    const requests = await client.submitMultipleJobs(
      Array.from({ length: 20 }, (_, i) => ({ task: 'grab-and-vanish', data: `job ${i}` })),
      { waitUntilComplete: false },
    );
    // Twenty thieves, each grabbing one job and closing without a word.
    for (let i = 0; i < 20; i++) {
      const thief = await RawPeer.connect(server.port);
      thief.send(req('CAN_DO', 'grab-and-vanish'), req('GRAB_JOB'));
      const [assign] = await thief.more(1);
      expect(assign).toMatch(/^JOB_ASSIGN /);
      thief.close();
      await thief.whenClosed();
    }
    const honest = new GearmanWorker(server.hostList);
    honest.registerTask('grab-and-vanish', (_w, job) => `done ${job.data}`);
    void honest.work({ pollTimeout: 0.05 }).catch(() => undefined);
    try {
      const finished = await client.waitUntilJobsCompleted(requests, { pollTimeout: 15 });
      expect(finished.map((r) => r.state)).toEqual(Array(20).fill('COMPLETE'));
      expect(finished.map((r) => String(r.result))).toEqual(Array.from({ length: 20 }, (_, i) => `done job ${i}`));
    } finally {
      honest.shutdown();
    }
    await stillServing('after vanishing workers');
  });

  it('a client that submits and never reads does not hold others up', async () => {
    const s = await connect();
    s.on('error', () => undefined);
    s.pause();
    const burst = Buffer.concat(Array.from({ length: 2000 }, () => req('ECHO_REQ', 'x'.repeat(1000))));
    s.write(burst);
    await stillServing('beside a client that does not read');
    s.destroy();
  });
});
