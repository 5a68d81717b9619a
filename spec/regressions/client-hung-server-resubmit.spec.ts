// Issue 9: with one of two servers hung (SIGSTOP), a request whose server did not answer within
// its pollTimeout is re-sent elsewhere when the caller re-submits it, and new submissions prefer
// the server that answers. Before the fix half of the new submissions kept going to the hung
// server and timed out, and submitMultipleRequests never moved them (they were JOB_PENDING, so
// it only waited again).
import { afterEach, describe, expect, it } from 'vitest';
import { GearmanClient, JOB_COMPLETE, JOB_PENDING } from '../../lib/index.js';
import { startGearmand, adminLine, type Gearmand } from '../helpers/gearmand.mjs';
import { taskName, until } from '../helpers/env.js';
import { echo, startWorker } from '../helpers/workers.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function server(): Promise<Gearmand> {
  const g = await startGearmand();
  cleanup.push(() => g.stop());
  return g;
}

/** Stops the process and waits until the kernel reports it stopped (state T). */
async function hang(g: Gearmand): Promise<void> {
  g.child.kill('SIGSTOP');
  cleanup.push(() => g.child.kill('SIGCONT'));
  const { readFile } = await import('node:fs/promises');
  await until(async () => /^State:\s+T/m.test(await readFile(`/proc/${g.pid}/status`, 'utf8')));
}

describe('one of two servers hung', () => {
  it('re-submitted requests move to the live server, and new submissions prefer it', async () => {
    const live = await server();
    const hung = await server();
    const task = taskName('hung');
    // The worker only serves the live server (the hung one would stall its connect).
    const w = startWorker([live.host], { [task]: echo });
    cleanup.push(() => w.stop());
    await until(async () => ((await adminLine(live.port, 'status')) ?? '').includes(task));
    const client = new GearmanClient([live.host, hung.host]);
    cleanup.push(() => client.shutdown());
    // Connect both servers first, then hang one.
    for (const connection of client.connectionList) await client.establishConnection(connection);
    await hang(hung);

    const jobs = Array.from({ length: 24 }, (_, i) => ({ task, data: `j${i}` }));
    const first = await client.submitMultipleJobs(jobs, { pollTimeout: 1, maxRetries: 1 });
    const onHung = first.filter((r) => r.job.connection!.address === hung.host);
    // With 24 shuffled rotations over two servers, some went to the hung one.
    expect(onHung.length).toBeGreaterThan(0);
    expect(onHung.every((r) => r.state === JOB_PENDING && r.timedOut)).toBe(true);

    // The recipe: re-submit what timed out (on a loaded machine a few live ones may be among
    // them; those are only waited for). Red before the fix: the ones on the hung server stayed
    // JOB_PENDING there and timed out again.
    const stuck = first.filter((r) => r.timedOut);
    const again = await client.submitMultipleRequests(stuck, { pollTimeout: 10 });
    expect(again.map((r) => [r.state, r.timedOut, r.job.connection!.address])).toEqual(stuck.map(() => [JOB_COMPLETE, false, live.host]));
    expect(again.map((r) => String(r.result))).toEqual(stuck.map((r) => String(r.job.data)));

    // New submissions go to the server that answers.
    const next = await client.submitMultipleJobs(jobs, { pollTimeout: 10 });
    expect(next.filter((r) => r.state !== JOB_COMPLETE)).toEqual([]);
    expect(new Set(next.map((r) => r.job.connection!.address))).toEqual(new Set([live.host]));
  });
});
