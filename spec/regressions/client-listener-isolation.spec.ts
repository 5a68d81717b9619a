// Issue 9: user code called from the client's decode path never breaks the library. Before the
// fix a throwing request listener was treated as a connection failure: the socket closed, the
// other requests in flight became JOB_UNKNOWN, and the wait rejected ServerUnavailable ("bug in
// a 'complete' listener") though the server was fine. Now the listener's error is rethrown on
// process.nextTick (it surfaces as an uncaught exception of its own) and a throwing decode fails
// only its request.
import { afterEach, describe, expect, it } from 'vitest';
import { DataEncoder, GearmanClient, GearmanJob, GearmanJobRequest, JOB_COMPLETE, JOB_FAILED } from '../../lib/index.js';
import { CommandType } from '../../lib/protocol/commands.js';
import { FakeGearmanServer } from '../helpers/fake-server.js';
import { res } from '../helpers/packets.js';
import { sharedHosts, taskName } from '../helpers/env.js';
import { startWorker } from '../helpers/workers.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** Captures uncaught exceptions (in place of the runner's handler) until the cleanup runs. */
function captureUncaught(): unknown[] {
  const caught: unknown[] = [];
  const saved = process.listeners('uncaughtException');
  process.removeAllListeners('uncaughtException');
  const mine = (err: unknown): void => {
    caught.push(err);
  };
  process.on('uncaughtException', mine);
  cleanup.push(() => {
    process.off('uncaughtException', mine);
    for (const l of saved) process.on('uncaughtException', l);
  });
  return caught;
}

describe('user code on the client', () => {
  it("a throwing 'complete' or 'status' listener touches neither the connection nor the other requests; its error is rethrown on its own tick", async () => {
    const task = taskName('iso');
    const w = startWorker(sharedHosts(), {
      [task]: async (worker, job) => {
        await worker.sendJobStatus(job, 1, 2);
        return job.data;
      },
    });
    cleanup.push(() => w.stop());
    const client = new GearmanClient(sharedHosts());
    cleanup.push(() => client.shutdown());
    const caught = captureUncaught();
    const requests = Array.from({ length: 20 }, (_, i) => new GearmanJobRequest(new GearmanJob(null, null, task, null, `d${i}`)));
    requests[0]!.on('complete', () => {
      throw new Error('bug in a complete listener');
    });
    requests[1]!.on('status', () => {
      throw new Error('bug in a status listener');
    });
    const connectionBefore = client.connectionList[0]!;
    const done = await client.submitMultipleRequests(requests, { pollTimeout: 20 });
    // Red before the fix: the wait rejected ServerUnavailable and the others were JOB_UNKNOWN.
    expect(done.map((r) => r.state)).toEqual(requests.map(() => JOB_COMPLETE));
    expect(done.map((r) => String(r.result))).toEqual(requests.map((_, i) => `d${i}`));
    expect(connectionBefore.connected).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(caught.map((e) => (e as Error).message).sort()).toEqual(['bug in a complete listener', 'bug in a status listener']);
    // The same connection serves the next call.
    const next = await client.submitJob(task, 'after');
    expect(String(next.result)).toBe('after');
    expect(client.connectionList[0]!.connected).toBe(true);
  });

  it('a throwing decode fails only its request; the connection and the other requests go on', async () => {
    class Picky extends DataEncoder {
      static override encode(value: unknown): string {
        return String(value);
      }
      static override decode(data: Buffer): unknown {
        if (data.toString() === 'poison') throw new Error('cannot decode poison');
        return data.toString();
      }
    }
    const fake = await FakeGearmanServer.start((conn, item) => {
      if (!('type' in item)) return;
      if (item.type === CommandType.OPTION_REQ) return conn.send(res('OPTION_RES', item.args[0] as string));
      if (item.type === CommandType.SUBMIT_JOB) {
        const data = String(item.args[2]);
        const handle = `H:fake:${data}`;
        conn.send(res('JOB_CREATED', handle), res('WORK_COMPLETE', handle, data));
      }
    });
    cleanup.push(() => fake.close());
    const client = new GearmanClient([fake.address], { dataEncoder: Picky });
    cleanup.push(() => client.shutdown());
    const [bad, good] = await client.submitMultipleJobs([{ task: 't', data: 'poison' }, { task: 't', data: 'fine' }], { pollTimeout: 10 });
    expect(bad!.state).toBe(JOB_FAILED);
    expect(bad!.error?.code).toBe('DECODE_ERROR');
    expect(good!.state).toBe(JOB_COMPLETE);
    expect(good!.result).toBe('fine');
    expect(fake.connections).toHaveLength(1);
    expect(fake.connections[0]!.closed).toBe(false);
  });
});
