// Regression (issue 9, "getJobs()[i].queued is gearmand's 4th column under python-gearman's name for
// another column"): python-gearman's get_jobs() names show jobs' columns 2-4 queued, canceled,
// enabled; gearmand 1.1 prints retries, ignore_job, job_queued there. A line-by-line translation
// reading `job.queued` got the 4th column silently. JobRow is now { handle, retries, ignored,
// stored }: no name of python-gearman's, each checked here against gearadmin on a job re-queued
// after its worker was lost, a cancelled background job and a foreground job.
import net from 'node:net';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GearmanAdminClient, GearmanClient, type GearmanJobRequest } from '../../lib/index.js';
import { encodePacket } from '../../lib/protocol/encoder.js';
import { CommandType } from '../../lib/protocol/commands.js';
import { startGearmand, type Gearmand } from '../helpers/gearmand.mjs';
import { until } from '../helpers/env.js';

const run = promisify(execFile);
const T = CommandType;

async function showJobs(port: number): Promise<string[]> {
  const out = (await run('gearadmin', ['-h', '127.0.0.1', '-p', String(port), '--show-jobs'], { encoding: 'utf8' })).stdout.split('\n');
  return out.slice(0, out.indexOf('.'));
}

/** A worker that takes one job of `task` and disconnects without answering (gearmand re-queues it). */
async function takeAndVanish(port: number, task: string): Promise<string> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.write(Buffer.concat([encodePacket(T.CAN_DO, [task]), encodePacket(T.GRAB_JOB, [])]));
  const handle = await new Promise<string>((resolve, reject) => {
    let buf = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 12 || buf.length < 12 + buf.readUInt32BE(8)) return;
      if (buf.readUInt32BE(4) !== T.JOB_ASSIGN) reject(new Error(`expected JOB_ASSIGN, got packet type ${buf.readUInt32BE(4)}`));
      const body = buf.subarray(12, 12 + buf.readUInt32BE(8));
      resolve(body.subarray(0, body.indexOf(0)).toString());
    });
  });
  socket.destroy();
  return handle;
}

describe('admin client: getJobs column names', () => {
  let server: Gearmand;
  let client: GearmanClient;
  let admin: GearmanAdminClient;
  let retried: string;
  let cancelled: string;
  let foreground: GearmanJobRequest;

  beforeAll(async () => {
    server = await startGearmand();
    client = new GearmanClient([server.host]);
    admin = new GearmanAdminClient([server.host], { pollTimeout: 5 });
    const [bg] = await client.submitMultipleJobs([{ task: 'flaky', data: 'x', unique: 'r-1' }], { background: true });
    retried = bg!.job.handle!;
    expect(await takeAndVanish(server.port, 'flaky')).toBe(retried);
    await until(async () => (await showJobs(server.port)).includes(`${retried}\t1\t0\t1`));
    const [toCancel] = await client.submitMultipleJobs([{ task: 'nobody', data: 'x', unique: 'c-1' }], { background: true });
    cancelled = toCancel!.job.handle!;
    expect(await admin.cancelJob(cancelled)).toBe('OK');
    foreground = await client.submitJob('nobody', 'y', { unique: 'f-1', waitUntilComplete: false });
  });

  afterAll(async () => {
    admin?.shutdown();
    client?.shutdown();
    await server?.stop();
  });

  it('names the columns retries, ignored, stored, as gearmand 1.1 prints them', async () => {
    const rows = await admin.getJobs();
    const byHandle = new Map(rows.map((r) => [r.handle, r]));
    // Re-queued once after its worker vanished: retries is the 2nd column (python-gearman's 'queued').
    expect(byHandle.get(retried)).toEqual({ handle: retried, retries: 1, ignored: 0, stored: 1 });
    // Cancelled: ignored (3rd column, python-gearman's 'canceled') is 1; gearmand took it out of its
    // queue store, so stored (4th, python-gearman's 'enabled') is 0.
    expect(byHandle.get(cancelled)).toEqual({ handle: cancelled, retries: 0, ignored: 1, stored: 0 });
    // A foreground job never goes to the queue store.
    expect(byHandle.get(foreground.job.handle!)).toEqual({ handle: foreground.job.handle!, retries: 0, ignored: 0, stored: 0 });
    const printed = await showJobs(server.port);
    expect(rows.map((r) => `${r.handle}\t${r.retries}\t${r.ignored}\t${r.stored}`).sort()).toEqual(printed.sort());
  });

  it("a translation reading python-gearman's names gets undefined, not another column's number", async () => {
    for (const row of await admin.getJobs()) {
      expect(Object.keys(row).sort()).toEqual(['handle', 'ignored', 'retries', 'stored']);
      for (const pythonName of ['queued', 'canceled', 'enabled']) expect((row as unknown as Record<string, unknown>)[pythonName]).toBeUndefined();
    }
  });
});
