// Issue 9: a status query for a handle issued on a connection that has since been lost does not
// ask the new server process. Before the fix it did, and a restarted gearmand reported another
// job under the same handle (seen: known: true, 7/9 of a stranger's job). Now the request's
// status says plainly that nothing is known: { known: false, stale: true }, and nothing is sent.
import { afterEach, describe, expect, it } from 'vitest';
import { GearmanClient } from '../../lib/index.js';
import { startGearmand, type Gearmand } from '../helpers/gearmand.mjs';
import { taskName, until } from '../helpers/env.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

describe('status of a handle from a lost connection', () => {
  it('is known false and stale, without asking the restarted server (which reuses the handle)', async () => {
    let g: Gearmand = await startGearmand();
    cleanup.push(() => g.stop());
    const task = taskName('stale');
    const client = new GearmanClient([g.host]);
    cleanup.push(() => client.shutdown());
    const mine = await client.submitJob(task, 'mine', { background: true });
    const handle = mine.job.handle!;

    const port = g.port;
    await g.stop();
    await until(() => !client.connectionList[0]!.connected);
    g = await startGearmand({ port });
    // A stranger's job on the new server process gets the same handle.
    const stranger = new GearmanClient([g.host]);
    cleanup.push(() => stranger.shutdown());
    const theirs = await stranger.submitJob(task, 'theirs', { background: true });
    expect(theirs.job.handle).toBe(handle);

    const answered = await client.getJobStatus(mine, { pollTimeout: 5 });
    // Red before the fix: known true (the stranger's job).
    expect(answered.status).toMatchObject({ handle, known: false, running: false, stale: true });
    expect(answered.timedOut).toBe(false);
  });
});
