// Issue 9: one rule for "a connection dropped during a wait". A client call polls the connections
// its requests were sent on: when none of them is still connected, the call rejects with
// ServerUnavailable (`error.requests`, `timedOut` false); otherwise it resolves and the lost
// requests come back JOB_UNKNOWN with `timedOut`. Before the fix the outcome depended on other
// calls: a drop while another call was reconnecting resolved JOB_UNKNOWN + timedOut after a few
// ms of a 10 s pollTimeout, the same drop otherwise rejected.
import { afterEach, describe, expect, it } from 'vitest';
import { GearmanClient, GearmanJob, GearmanJobRequest, JOB_COMPLETE, JOB_CREATED, JOB_UNKNOWN, ServerUnavailable } from '../../lib/index.js';
import { CommandType } from '../../lib/protocol/commands.js';
import { FakeGearmanServer, type FakeConnection } from '../helpers/fake-server.js';
import { res } from '../helpers/packets.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

function rejection(p: Promise<unknown>): Promise<ServerUnavailable | undefined> {
  return p.then(
    () => undefined,
    (err: unknown) => err as ServerUnavailable,
  );
}

describe('a connection dropped during a wait', () => {
  it('rejects the call whose only connection dropped, even while another call reconnects that server', async () => {
    // Connection 0: 'held' is accepted and left running; 'retried' is left unanswered, then the
    // connection drops. 'retried' (maxRetries 1) reconnects at once; connection 1 serves it.
    const fake = await FakeGearmanServer.start((conn: FakeConnection, item) => {
      if (!('type' in item)) return;
      if (item.type === CommandType.OPTION_REQ) return conn.send(res('OPTION_RES', item.args[0] as string));
      if (item.type !== CommandType.SUBMIT_JOB) return;
      const data = String(item.args[2]);
      if (conn.index === 0 && data === 'held') conn.send(res('JOB_CREATED', 'H:fake:1'));
      else if (conn.index === 0) conn.close();
      else conn.send(res('JOB_CREATED', 'H:fake:2'), res('WORK_COMPLETE', 'H:fake:2', 'ok'));
    });
    cleanup.push(() => fake.close());
    const client = new GearmanClient([fake.address]);
    cleanup.push(() => client.shutdown());
    const held = new GearmanJobRequest(new GearmanJob(null, null, 't', null, 'held'));
    await client.submitMultipleRequests([held], { waitUntilComplete: false });
    expect(held.state).toBe(JOB_CREATED);
    const heldWait = rejection(client.waitUntilJobsCompleted([held], { pollTimeout: 10 }));
    const retried = client.submitJob('t', 'retried', { maxRetries: 1, pollTimeout: 10 });
    const started = Date.now();
    const error = await heldWait;
    // Red before the fix: it resolved (JOB_UNKNOWN, timedOut) because the other call's reconnect
    // counted as a live connection.
    expect(error).toBeInstanceOf(ServerUnavailable);
    expect(error!.requests).toEqual([held]);
    expect(held.state).toBe(JOB_UNKNOWN);
    expect(held.timedOut).toBe(false);
    expect(Date.now() - started).toBeLessThan(5000);
    const other = await retried;
    expect(other.state).toBe(JOB_COMPLETE);
  });

  it('resolves when another connection of the same call is still up: the lost request is JOB_UNKNOWN and timedOut', async () => {
    const script = (complete: boolean) => (conn: FakeConnection, item: Parameters<Parameters<typeof FakeGearmanServer.start>[0] & object>[1]) => {
      if (!('type' in item)) return;
      if (item.type === CommandType.OPTION_REQ) return conn.send(res('OPTION_RES', item.args[0] as string));
      if (item.type === CommandType.SUBMIT_JOB) conn.send(res('JOB_CREATED', complete ? 'H:good:1' : 'H:bad:1'));
    };
    const bad = await FakeGearmanServer.start(script(false));
    cleanup.push(() => bad.close());
    const good = await FakeGearmanServer.start(script(true));
    cleanup.push(() => good.close());
    const client = new GearmanClient([bad.address, good.address]);
    cleanup.push(() => client.shutdown());
    const onBad = new GearmanJobRequest(new GearmanJob(null, null, 't', null, 'a'));
    const onGood = new GearmanJobRequest(new GearmanJob(null, null, 't', null, 'b'));
    client.setRotation(onBad, [client.connectionList[0]!, client.connectionList[1]!]);
    client.setRotation(onGood, [client.connectionList[1]!, client.connectionList[0]!]);
    await client.submitMultipleRequests([onBad, onGood], { waitUntilComplete: false });
    const waiting = client.waitUntilJobsCompleted([onBad, onGood], { pollTimeout: 10 });
    (await bad.connection(0)).close();
    await new Promise<void>((resolve) => onBad.once('unknown', () => resolve()));
    (await good.connection(0)).send(res('WORK_COMPLETE', 'H:good:1', 'done'));
    const result = await waiting;
    expect(result.map((r) => [r.state, r.timedOut])).toEqual([
      [JOB_UNKNOWN, true],
      [JOB_COMPLETE, false],
    ]);
  });
});
