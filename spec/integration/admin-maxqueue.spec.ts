// sendMaxqueue against a private gearmand, and its effect: a full queue makes a client's
// submission fail with the server's QUEUE_ERROR. Queue sizes are read back with gearadmin --status.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GearmanAdminClient, GearmanClient, JOB_CREATED, JOB_FAILED, ServerError } from '../../lib/index.js';
import { adminLine, startGearmand, type Gearmand } from '../helpers/gearmand.mjs';

const run = promisify(execFile);

/** gearmand's TOTAL for `task` as gearadmin --status prints it, or undefined if not listed. */
async function printedTotal(port: number, task: string): Promise<number | undefined> {
  const { stdout } = await run('gearadmin', ['-h', '127.0.0.1', '-p', String(port), '--status'], { encoding: 'utf8' });
  const line = stdout.split('\n').find((l) => l.split('\t')[0] === task);
  return line === undefined ? undefined : Number(line.split('\t')[1]);
}

describe('GearmanAdminClient.sendMaxqueue against gearmand', () => {
  let server: Gearmand;
  let admin: GearmanAdminClient;
  let client: GearmanClient;

  beforeAll(async () => {
    server = await startGearmand();
    admin = new GearmanAdminClient([server.host], { pollTimeout: 5 });
    client = new GearmanClient([server.host]);
  });

  afterAll(async () => {
    admin?.shutdown();
    client?.shutdown();
    await server?.stop();
  });

  it('answers OK, as gearmand answers the raw line', async () => {
    expect(await adminLine(server.port, 'maxqueue raw-check 5')).toBe('OK');
    expect(await admin.sendMaxqueue('raw-check', 5)).toBe('OK');
  });

  it('limits a known function: a submission past the limit fails with QUEUE_ERROR; 0 lifts the limit', async () => {
    const first = await client.submitJob('limited', 'one', { background: true });
    expect(first.state).toBe(JOB_CREATED);
    expect(await printedTotal(server.port, 'limited')).toBe(1);

    expect(await admin.sendMaxqueue('limited', 1)).toBe('OK');
    const refused = await client.submitJob('limited', 'two', { background: true });
    expect(refused.state).toBe(JOB_FAILED);
    expect(refused.error).toBeInstanceOf(ServerError);
    expect((refused.error as ServerError).serverCode).toBe('QUEUE_ERROR');
    expect((refused.error as ServerError).serverText).toBe('Job queue is full');
    const refusedForeground = await client.submitJob('limited', 'three', { pollTimeout: 5 });
    expect(refusedForeground.state).toBe(JOB_FAILED);
    expect((refusedForeground.error as ServerError).serverCode).toBe('QUEUE_ERROR');
    expect(await printedTotal(server.port, 'limited')).toBe(1);

    expect(await admin.sendMaxqueue('limited', 0)).toBe('OK');
    const accepted = await client.submitJob('limited', 'four', { background: true });
    expect(accepted.state).toBe(JOB_CREATED);
    expect(await printedTotal(server.port, 'limited')).toBe(2);
    expect((await admin.getStatus()).find((r) => r.task === 'limited')).toEqual({ task: 'limited', queued: 2, running: 0, workers: 0 });
  });

  it('answers OK for a function gearmand does not know yet, and limits nothing', async () => {
    expect(await printedTotal(server.port, 'fresh')).toBeUndefined();
    expect(await admin.sendMaxqueue('fresh', 1)).toBe('OK');
    const requests = await client.submitMultipleJobs(
      [
        { task: 'fresh', data: 'a' },
        { task: 'fresh', data: 'b' },
      ],
      { background: true },
    );
    expect(requests.map((r) => r.state)).toEqual([JOB_CREATED, JOB_CREATED]);
    expect(await printedTotal(server.port, 'fresh')).toBe(2);
  });

  it('rejects a task or size the text protocol cannot carry, before sending anything', async () => {
    await client.submitJob('guarded', 'x', { background: true });
    for (const [task, size] of [
      ['guarded 1', 1],
      ['guarded\n', 1],
      ['guarded', 1.5],
      ['guarded', Number.POSITIVE_INFINITY],
      ['guarded', '1'],
    ] as Array<[string, number]>) {
      await expect(admin.sendMaxqueue(task, size)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    // None of them reached gearmand: 'guarded' still takes more jobs.
    const next = await client.submitJob('guarded', 'y', { background: true });
    expect(next.state).toBe(JOB_CREATED);
    expect(await printedTotal(server.port, 'guarded')).toBe(2);
  });
});
