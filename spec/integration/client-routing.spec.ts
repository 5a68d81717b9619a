// Routing by unique (#12): serverSelection 'unique-hash' sends each unique to one server of the
// list (a consistent hash over the addresses), so two clients coalesce on one job across a
// cluster, and a server that is down moves only its own uniques. Three private gearmands; each
// server's admin `status` shows where the jobs really went.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GearmanAdminClient, GearmanClient, GearmanWorker, InvalidArgumentError, JOB_COMPLETE, JOB_CREATED, type GearmanJobRequest } from '../../lib/index.js';
import { startGearmand, type Gearmand } from '../helpers/gearmand.mjs';
import { taskName } from '../helpers/env.js';

describe("serverSelection: 'unique-hash' over three gearmands", () => {
  let servers: Gearmand[];
  let hosts: string[];
  const clients: Array<GearmanClient | GearmanAdminClient> = [];
  const track = <T extends GearmanClient | GearmanAdminClient>(c: T): T => (clients.push(c), c);
  const uniques = Array.from({ length: 48 }, (_, i) => `key-${i}`);

  beforeAll(async () => {
    servers = await Promise.all([startGearmand({ threads: 1 }), startGearmand({ threads: 1 }), startGearmand({ threads: 1 })]);
    hosts = servers.map((s) => s.host);
  });
  afterAll(async () => {
    for (const c of clients) c.shutdown();
    await Promise.all(servers.map((s) => s.stop()));
  });

  /** Queued jobs of `task` on each server, by address, from each server's admin `status`. */
  async function queuedOn(task: string): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const host of hosts) {
      const admin = track(new GearmanAdminClient([host]));
      out.set(host, (await admin.getStatus()).find((row) => row.task === task)?.queued ?? 0);
      admin.shutdown();
    }
    return out;
  }

  function countBy(requests: GearmanJobRequest[]): Map<string, number> {
    const out = new Map<string, number>(hosts.map((h) => [h, 0]));
    for (const r of requests) out.set(r.job.connection!.address, out.get(r.job.connection!.address)! + 1);
    return out;
  }

  it('refuses an unknown serverSelection; shuffle stays the default', () => {
    expect(() => new GearmanClient(hosts, { serverSelection: 'random' as 'shuffle' })).toThrow(InvalidArgumentError);
    const plain = track(new GearmanClient(hosts));
    expect(plain.serverSelection).toBe('shuffle');
  });

  it('sends the same unique to the same server, for two clients listing the servers in other orders', async () => {
    const task = taskName('route');
    const a = track(new GearmanClient(hosts, { serverSelection: 'unique-hash' }));
    const b = track(new GearmanClient([...hosts].reverse(), { serverSelection: 'unique-hash' }));
    const fromA = await a.submitMultipleJobs(uniques.map((unique) => ({ task, data: 'a', unique })), { background: true });
    expect(fromA.every((r) => r.state === JOB_CREATED)).toBe(true);
    const where = countBy(fromA);
    // Every server got some of the keys, and each server's own status agrees with the client.
    for (const n of where.values()) expect(n).toBeGreaterThan(0);
    expect(await queuedOn(task)).toEqual(where);

    // The same uniques from the other client: gearmand coalesces each on its existing job.
    const fromB = await b.submitMultipleJobs(uniques.map((unique) => ({ task, data: 'b', unique })), { background: true });
    expect(fromB.map((r) => r.job.connection!.address)).toEqual(fromA.map((r) => r.job.connection!.address));
    expect(fromB.map((r) => r.job.handle)).toEqual(fromA.map((r) => r.job.handle));
    expect(await queuedOn(task)).toEqual(where);
  });

  it('two clients coalesce foreground jobs across the cluster: the worker runs each once', async () => {
    const task = taskName('route-fg');
    const a = track(new GearmanClient(hosts, { serverSelection: 'unique-hash' }));
    const b = track(new GearmanClient([hosts[2]!, hosts[0]!, hosts[1]!], { serverSelection: 'unique-hash' }));
    const keys = uniques.slice(0, 12);
    const ra = await a.submitMultipleJobs(keys.map((unique) => ({ task, data: unique, unique })), { waitUntilComplete: false });
    const rb = await b.submitMultipleJobs(keys.map((unique) => ({ task, data: unique, unique })), { waitUntilComplete: false });
    expect(rb.map((r) => r.job.handle)).toEqual(ra.map((r) => r.job.handle));
    let runs = 0;
    const worker = new GearmanWorker(hosts);
    worker.registerTask(task, (_w, job) => {
      runs++;
      return `ran ${String(job.data)}`;
    });
    const working = worker.work({ pollTimeout: 1 });
    try {
      await Promise.all([a.waitUntilJobsCompleted(ra, { pollTimeout: 20 }), b.waitUntilJobsCompleted(rb, { pollTimeout: 20 })]);
      expect([...ra, ...rb].every((r) => r.state === JOB_COMPLETE)).toBe(true);
      expect(rb.map((r) => String(r.result))).toEqual(keys.map((k) => `ran ${k}`));
      expect(runs).toBe(keys.length);
    } finally {
      worker.shutdown();
      await working;
    }
  });

  it('a status query goes to the server that issued the handle; a status by unique to the unique\'s server', async () => {
    const task = taskName('route-status');
    const client = track(new GearmanClient(hosts, { serverSelection: 'unique-hash' }));
    const requests = await client.submitMultipleJobs(uniques.map((unique) => ({ task, data: 'x', unique })), { background: true });
    await client.getJobStatuses(requests);
    expect(requests.every((r) => r.status.known === true && r.timedOut === false)).toBe(true);
    const byUnique = await Promise.all(uniques.map((u) => client.getJobStatusByUnique(u)));
    expect(byUnique.every((s) => s.known)).toBe(true);
  });

  it("with 'shuffle', a status by unique asks every server and the one holding the job answers", async () => {
    const task = taskName('route-shuffle-status');
    const pinned = track(new GearmanClient([hosts[2]!]));
    await pinned.submitJob(task, 'x', { background: true, unique: `only-on-third-${task}` });
    const client = track(new GearmanClient(hosts));
    expect(await client.getJobStatusByUnique(`only-on-third-${task}`)).toMatchObject({ known: true, running: false, waitingClients: 0 });
    expect((await client.getJobStatusByUnique(`nowhere-${task}`)).known).toBe(false);
  });

  it('with a server down, only its uniques move, each to the next server of its fixed order', async () => {
    const task = taskName('route-down');
    const before = track(new GearmanClient(hosts, { serverSelection: 'unique-hash' }));
    const first = await before.submitMultipleJobs(uniques.map((unique) => ({ task, data: 'x', unique })), { background: true });
    const home = new Map(first.map((r) => [r.job.unique!, r.job.connection!.address]));
    const down = servers[1]!;
    await down.stop();
    const moved = taskName('route-moved');
    const c1 = track(new GearmanClient(hosts, { serverSelection: 'unique-hash' }));
    const c2 = track(new GearmanClient([...hosts].reverse(), { serverSelection: 'unique-hash' }));
    const after1 = await c1.submitMultipleJobs(uniques.map((unique) => ({ task: moved, data: 'x', unique })), { background: true });
    const after2 = await c2.submitMultipleJobs(uniques.map((unique) => ({ task: moved, data: 'x', unique })), { background: true });
    let movedKeys = 0;
    for (const r of after1) {
      const was = home.get(r.job.unique!)!;
      const now = r.job.connection!.address;
      expect(now).not.toBe(down.host);
      if (was === down.host) movedKeys++;
      else expect(now).toBe(was);
    }
    expect(movedKeys).toBeGreaterThan(0);
    // Both clients fell over to the same server for every key, so they still coalesce.
    expect(after2.map((r) => r.job.connection!.address)).toEqual(after1.map((r) => r.job.connection!.address));
    expect(after2.map((r) => r.job.handle)).toEqual(after1.map((r) => r.job.handle));
    const live = await Promise.all(
      hosts
        .filter((h) => h !== down.host)
        .map(async (host) => {
          const admin = track(new GearmanAdminClient([host]));
          return (await admin.getStatus()).find((row) => row.task === moved)?.queued ?? 0;
        }),
    );
    expect(live.reduce((x, y) => x + y, 0)).toBe(uniques.length);
  });
});
