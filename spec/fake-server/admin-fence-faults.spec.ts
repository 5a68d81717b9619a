// The listing fence (an ECHO_REQ sent behind every listing command) against servers that get it
// wrong: a fence never answered is a timeout like any unanswered command; a fence answered with
// other bytes means the stream is out of step, so the connection is closed; a listing without
// its '.' before a correct fence fails that call only, on a connection that stays in step.
import { afterEach, describe, expect, it } from 'vitest';
import { GearmanAdminClient, InvalidAdminClientState, ProtocolError } from '../../lib/index.js';
import { CommandType } from '../../lib/protocol/commands.js';
import { FakeGearmanServer, type FakeConnection, type Received } from '../helpers/fake-server.js';
import { res, textLine } from '../helpers/packets.js';

let server: FakeGearmanServer | undefined;
let admin: GearmanAdminClient | undefined;

afterEach(async () => {
  admin?.shutdown();
  admin = undefined;
  await server?.close();
  server = undefined;
});

/** gearmand's answers, with `fence` deciding what the first connection does with an ECHO_REQ. */
async function start(fence: (conn: FakeConnection, payload: Buffer) => void, status = 'resize\t1\t0\t1\n.\n'): Promise<GearmanAdminClient> {
  server = await FakeGearmanServer.start((conn: FakeConnection, item: Received) => {
    if ('type' in item) {
      if (item.type !== CommandType.ECHO_REQ) return;
      if (conn.index === 0) fence(conn, item.args[0] as Buffer);
      else conn.send(res('ECHO_RES', item.args[0] as Buffer));
      return;
    }
    if (item.line === 'status') conn.send(Buffer.from(conn.index === 0 ? status : 'resize\t1\t0\t1\n.\n'));
    else if (item.line === 'version') conn.send(textLine('OK 1.1.20+ds'));
  });
  admin = new GearmanAdminClient([server.address], { pollTimeout: 0.5 });
  return admin;
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
    },
    (err: unknown) => err as Error,
  );
}

describe('admin client: the listing fence', () => {
  it('a fence never answered: the listing times out and the connection is reset', async () => {
    const admin = await start(() => undefined);
    const error = await rejection(admin.getStatus());
    expect(error).toBeInstanceOf(InvalidAdminClientState);
    expect(error.message).toBe(`${server!.address}: admin client timed out after 0.5 second(s) waiting for the answer to 'status'`);
    await server!.connections[0]!.waitClosed();
    expect(await admin.getStatus()).toEqual([{ task: 'resize', queued: 1, running: 0, workers: 1 }]);
  });

  it('a fence echoed with other bytes: out of step, the call rejects and the connection is closed', async () => {
    const admin = await start((conn) => conn.send(res('ECHO_RES', 'something else')));
    const error = await rejection(admin.getStatus());
    expect(error).toBeInstanceOf(InvalidAdminClientState);
    expect(error.message).toMatch(new RegExp(`^${server!.address.replace(/\./g, '\\.')} 'status': the listing's fence came back as "something else", not "gearman-ts listing \\d+"$`));
    await server!.connections[0]!.waitClosed();
    expect(await admin.getVersion()).toBe('1.1.20+ds');
    expect(server!.connections).toHaveLength(2);
  });

  it("a listing without its '.' before the fence: a ProtocolError for that call, the connection stays", async () => {
    const admin = await start((conn, payload) => conn.send(res('ECHO_RES', payload)), 'resize\t1\t0\t1\n');
    const error = await rejection(admin.getStatus());
    expect(error).toBeInstanceOf(ProtocolError);
    expect(error.message).toBe(`${server!.address} 'status': listing ended without its '.' line (1 line(s), the last "resize\\t1\\t0\\t1")`);
    expect(await admin.getVersion()).toBe('1.1.20+ds');
    expect(server!.connections).toHaveLength(1);
    expect(server!.connections[0]!.closed).toBe(false);
  });
});
