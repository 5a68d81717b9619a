// getPriorityStatus against gearmand 1.1.20, checked with `gearadmin --priority-status`.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GearmanAdminClient, GearmanClient, PRIORITY_HIGH, PRIORITY_LOW } from '../../lib/index.js';
import { startGearmand, type Gearmand } from '../helpers/gearmand.mjs';

const run = promisify(execFile);

describe('getPriorityStatus against gearmand, as gearadmin --priority-status', () => {
  let server: Gearmand;
  let client: GearmanClient;
  let admin: GearmanAdminClient;

  beforeAll(async () => {
    server = await startGearmand();
    client = new GearmanClient([server.host]);
    admin = new GearmanAdminClient([server.host], { pollTimeout: 5 });
    await client.submitMultipleJobs(
      [
        { task: 'resize', data: 'h1', priority: PRIORITY_HIGH },
        { task: 'resize', data: 'n1' },
        { task: 'resize', data: 'n2' },
        { task: 'resize', data: 'l1', priority: PRIORITY_LOW },
        { task: 'email', data: 'l2', priority: PRIORITY_LOW },
      ],
      { background: true },
    );
  });

  afterAll(async () => {
    admin?.shutdown();
    client?.shutdown();
    await server?.stop();
  });

  it('one typed row per function: HIGH, NORMAL, LOW queued jobs and WORKERS', async () => {
    const rows = await admin.getPriorityStatus();
    const out = (await run('gearadmin', ['-h', '127.0.0.1', '-p', String(server.port), '--priority-status'], { encoding: 'utf8' })).stdout.split('\n');
    const printed = out.slice(0, out.indexOf('.')).map((line) => {
      const [task, high, normal, low, workers] = line.split('\t');
      return { task: task!, high: Number(high), normal: Number(normal), low: Number(low), workers: Number(workers) };
    });
    const byTask = (a: { task: string }, b: { task: string }) => (a.task < b.task ? -1 : 1);
    expect([...rows].sort(byTask)).toEqual(printed.sort(byTask));
    expect([...rows].sort(byTask)).toEqual([
      { task: 'email', high: 0, normal: 0, low: 1, workers: 0 },
      { task: 'resize', high: 1, normal: 2, low: 1, workers: 0 },
    ]);
    // status counts the same jobs in its TOTAL column.
    expect((await admin.getStatus()).find((r) => r.task === 'resize')?.queued).toBe(4);
  });
});
