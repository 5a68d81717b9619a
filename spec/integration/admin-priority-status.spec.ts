// getPriorityStatus against gearmand 1.1.20, checked with `gearadmin --priority-status`; and the
// listing fence (each listing command is followed by an ECHO_REQ) against both gearmand and the
// Perl Gearman::Server, which answers listings it lacks with an ERR line and no '.'.
import { spawn } from 'node:child_process';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GearmanAdminClient, GearmanClient, PRIORITY_HIGH, PRIORITY_LOW, ServerError } from '../../lib/index.js';
import { freePort, startGearmand, type Gearmand } from '../helpers/gearmand.mjs';
import { until } from '../helpers/env.js';

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

const PERL_GEARMAND = '/usr/bin/gearmand';

describe('listings against the Perl Gearman::Server (installed: /usr/bin/gearmand)', () => {
  let port: number;
  let child: ReturnType<typeof spawn>;
  let admin: GearmanAdminClient;

  beforeAll(async () => {
    port = await freePort();
    child = spawn('perl', [PERL_GEARMAND, `--port=${port}`, '--listen=127.0.0.1'], { stdio: 'ignore' });
    admin = new GearmanAdminClient([`127.0.0.1:${port}`], { pollTimeout: 5 });
    await until(async () => admin.getVersion().then(() => true, () => false), 10_000, 50);
  });

  afterAll(() => {
    admin?.shutdown();
    child?.kill('SIGTERM');
  });

  it('status and workers end at their fence', async () => {
    const client = new GearmanClient([`127.0.0.1:${port}`]);
    try {
      await client.submitJob('perl-task', 'x', { background: true });
      expect((await admin.getStatus()).find((r) => r.task === 'perl-task')).toEqual({ task: 'perl-task', queued: 1, running: 0, workers: 0 });
      const workers = await admin.getWorkers();
      expect(workers.length).toBeGreaterThanOrEqual(1);
      expect(await admin.getVersion()).toMatch(/^v?1\./);
    } finally {
      client.shutdown();
    }
  });

  it('a listing the Perl server lacks rejects with its ERR line, and the client stays in step', async () => {
    for (const call of [() => admin.getPriorityStatus(), () => admin.getJobs(), () => admin.getUniqueJobs()]) {
      const error = await call().then(() => undefined, (err: unknown) => err);
      expect(error).toBeInstanceOf(ServerError);
      expect((error as ServerError).serverCode).toBe('unknown_command');
    }
    expect(await admin.getVersion()).toMatch(/^v?1\./);
  });
});
