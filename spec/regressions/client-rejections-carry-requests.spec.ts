// Issue 9: every rejection of a call that holds requests carries them in `error.requests`.
// Before the fix, ExceededConnectionAttempts had none (a server that closes the connection on
// SUBMIT_JOB reproduces it every time), so the recovery recipe had nothing to re-submit.
import { afterEach, describe, expect, it } from 'vitest';
import { ExceededConnectionAttempts, GearmanClient, JOB_UNKNOWN, ShutdownError } from '../../lib/index.js';
import { CommandType } from '../../lib/protocol/commands.js';
import { FakeGearmanServer } from '../helpers/fake-server.js';
import { res } from '../helpers/packets.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function closingOnSubmit(): Promise<FakeGearmanServer> {
  const fake = await FakeGearmanServer.start((conn, item) => {
    if (!('type' in item)) return;
    if (item.type === CommandType.OPTION_REQ) conn.send(res('OPTION_RES', item.args[0] as string));
    else conn.close();
  });
  cleanup.push(() => fake.close());
  return fake;
}

function rejection(p: Promise<unknown>): Promise<Error & { requests?: unknown[] }> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err as Error,
  );
}

describe('error.requests', () => {
  it('ExceededConnectionAttempts of submitJob holds the request', async () => {
    const fake = await closingOnSubmit();
    const client = new GearmanClient([fake.address]);
    cleanup.push(() => client.shutdown());
    const error = await rejection(client.submitJob('t', 'x'));
    expect(error).toBeInstanceOf(ExceededConnectionAttempts);
    // Red before the fix: undefined.
    expect(error.requests).toHaveLength(1);
    expect((error.requests![0] as { state: string }).state).toBe(JOB_UNKNOWN);
  });

  it('ExceededConnectionAttempts of submitMultipleJobs and submitMultipleRequests hold all the requests, ready to re-submit', async () => {
    const fake = await closingOnSubmit();
    const client = new GearmanClient([fake.address]);
    cleanup.push(() => client.shutdown());
    const first = await rejection(client.submitMultipleJobs([{ task: 't', data: 'a' }, { task: 't', data: 'b' }], { maxRetries: 1 }));
    expect(first).toBeInstanceOf(ExceededConnectionAttempts);
    expect(first.requests).toHaveLength(2);
    const again = await rejection(client.submitMultipleRequests(first.requests as never));
    expect(again).toBeInstanceOf(ExceededConnectionAttempts);
    expect(again.requests).toBe(first.requests);
  });

  it('a shutdown() during a call holds its requests too', async () => {
    const fake = await FakeGearmanServer.start(() => undefined);
    cleanup.push(() => fake.close());
    const client = new GearmanClient([fake.address]);
    const call = rejection(client.submitJob('t', 'x'));
    await fake.connection(0);
    client.shutdown();
    const error = await call;
    expect((error as ShutdownError).code).toBe('SHUTDOWN');
    expect(error.requests).toHaveLength(1);
  });
});
