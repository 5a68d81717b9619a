// Health (#12): 'connect' / 'disconnect' events with the address (and the error) on the client
// and the admin client across a gearmand restart, and `await using` on both.
import { afterEach, describe, expect, it } from 'vitest';
import { GearmanAdminClient, GearmanClient, GearmanError, JOB_CREATED } from '../../lib/index.js';
import { startGearmand, type Gearmand } from '../helpers/gearmand.mjs';
import { taskName, until } from '../helpers/env.js';

type Event = [kind: 'connect' | 'disconnect', address: string, error?: GearmanError];

function record(target: GearmanClient | GearmanAdminClient): Event[] {
  const events: Event[] = [];
  target.on('connect', (address) => events.push(['connect', address]));
  target.on('disconnect', (address, error) => events.push(error === undefined ? ['disconnect', address] : ['disconnect', address, error]));
  return events;
}

describe('connect and disconnect events', () => {
  const servers: Gearmand[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.stop();
  });

  it('the client announces each connection, its loss with the error, and the reconnect after a restart', async () => {
    const first = await startGearmand({ threads: 1 });
    servers.push(first);
    const client = new GearmanClient([first.host]);
    const events = record(client);
    try {
      await client.submitJob(taskName('ev'), 'x', { background: true });
      await until(() => events.length === 1);
      expect(events).toEqual([['connect', first.host]]);

      await first.stop();
      await until(() => events.length === 2);
      expect(events[1]![0]).toBe('disconnect');
      expect(events[1]![1]).toBe(first.host);
      expect(events[1]![2]).toBeInstanceOf(GearmanError);

      const second = await startGearmand({ threads: 1, port: first.port });
      servers.push(second);
      const request = await client.submitJob(taskName('ev'), 'y', { background: true });
      expect(request.state).toBe(JOB_CREATED);
      await until(() => events.length === 3);
      expect(events[2]).toEqual(['connect', first.host]);
    } finally {
      client.shutdown();
    }
    // A deliberate close is a disconnect without an error.
    expect(events.at(-1)).toEqual(['disconnect', first.host]);
  });

  it('a failed connect is no event; once() listens once; off() stops listening', async () => {
    const server = await startGearmand({ threads: 1 });
    servers.push(server);
    const dead = await startGearmand({ threads: 1 });
    await dead.stop();
    const client = new GearmanClient([dead.host]);
    const events = record(client);
    await expect(client.submitJob('t', 'x', { background: true })).rejects.toThrow();
    expect(events).toEqual([]);
    client.shutdown();

    const live = new GearmanClient([server.host]);
    const onces: string[] = [];
    const all: string[] = [];
    const listener = (address: string): void => void all.push(address);
    live.once('connect', (address) => onces.push(address));
    live.on('connect', listener);
    await live.submitJob('t', 'x', { background: true });
    await until(() => all.length === 1);
    live.off('connect', listener);
    live.shutdown();
    await live.submitJob('t', 'x', { background: true });
    // The second connect: the once() listener and the removed one heard nothing.
    await new Promise((resolve) => setImmediate(resolve));
    expect(onces).toEqual([server.host]);
    expect(all).toEqual([server.host]);
    live.shutdown();
    expect(() => live.on('connected' as 'connect', () => undefined)).toThrow(TypeError);
  });

  it('the admin client announces its connection and its loss across a restart', async () => {
    const first = await startGearmand({ threads: 1 });
    servers.push(first);
    const admin = new GearmanAdminClient([first.host]);
    const events = record(admin);
    try {
      expect(await admin.getVersion()).toBe(first.version);
      await until(() => events.length === 1);
      expect(events).toEqual([['connect', first.host]]);
      await first.stop();
      await until(() => events.length === 2);
      expect(events[1]!.slice(0, 2)).toEqual(['disconnect', first.host]);
      expect(events[1]![2]).toBeInstanceOf(GearmanError);
      const second = await startGearmand({ threads: 1, port: first.port });
      servers.push(second);
      await admin.getStatus();
      await until(() => events.length === 3);
      expect(events[2]).toEqual(['connect', first.host]);
    } finally {
      admin.shutdown();
    }
  });

  it('await using closes the client and the admin client at the end of the block', async () => {
    const server = await startGearmand({ threads: 1 });
    servers.push(server);
    let clientEvents: Event[] = [];
    let adminEvents: Event[] = [];
    let kept: { client?: GearmanClient; admin?: GearmanAdminClient } = {};
    {
      await using client = new GearmanClient([server.host]);
      await using admin = new GearmanAdminClient([server.host]);
      clientEvents = record(client);
      adminEvents = record(admin);
      kept = { client, admin };
      await client.submitJob(taskName('using'), 'x', { background: true });
      await admin.getVersion();
      await until(() => clientEvents.length === 1 && adminEvents.length === 1);
    }
    expect(clientEvents.at(-1)).toEqual(['disconnect', server.host]);
    expect(adminEvents.at(-1)).toEqual(['disconnect', server.host]);
    expect(kept.client!.connectionList.every((c) => !c.connected)).toBe(true);
    expect(kept.admin!.connectionList.every((c) => !c.connected)).toBe(true);
    // gearmand sees no connection of theirs any more (only the admin asking).
    const check = new GearmanAdminClient([server.host]);
    try {
      await until(async () => (await check.getWorkers()).length === 1);
    } finally {
      check.shutdown();
    }
  });
});
