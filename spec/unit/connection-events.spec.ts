import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConnectionAnnouncer } from '../../lib/connection-events.js';
import { ConnectionError } from '../../lib/errors.js';
import type { GearmanConnection } from '../../lib/connection.js';

const fakeConnection = (address: string): GearmanConnection => ({ address, connected: true, handler: {} }) as unknown as GearmanConnection;
const microtasks = (): Promise<void> => new Promise((resolve) => queueMicrotask(resolve));

describe('ConnectionAnnouncer', () => {
  afterEach(() => vi.restoreAllMocks());

  it('announces a connect in a microtask, once, and a loss only after a connect', async () => {
    const announcer = new ConnectionAnnouncer();
    const events: unknown[] = [];
    announcer.on('connect', (a) => events.push(['connect', a]));
    announcer.on('disconnect', (a, e) => events.push(['disconnect', a, e?.message]));
    const c = fakeConnection('h:1');
    announcer.lost(c, new ConnectionError('never connected'));
    announcer.connected(c);
    announcer.connected(c);
    expect(events).toEqual([]);
    await microtasks();
    expect(events).toEqual([['connect', 'h:1']]);
    announcer.lost(c, new ConnectionError('h:1: reset'));
    announcer.lost(c);
    expect(events).toEqual([['connect', 'h:1'], ['disconnect', 'h:1', 'h:1: reset']]);
  });

  it('does not announce a connection that went down before the microtask ran', async () => {
    const announcer = new ConnectionAnnouncer();
    const events: string[] = [];
    announcer.on('connect', (a) => events.push(a));
    const c = fakeConnection('h:2');
    announcer.connected(c);
    (c as { connected: boolean }).connected = false;
    await microtasks();
    expect(events).toEqual([]);
  });

  it('a listener that throws is rethrown on nextTick; the others still run', async () => {
    const ticks: Array<() => void> = [];
    vi.spyOn(process, 'nextTick').mockImplementation(((fn: () => void) => void ticks.push(fn)) as typeof process.nextTick);
    const announcer = new ConnectionAnnouncer();
    const heard: string[] = [];
    announcer.on('connect', () => {
      throw new Error('listener bug');
    });
    announcer.on('connect', (a) => heard.push(a));
    announcer.connected(fakeConnection('h:3'));
    await microtasks();
    vi.restoreAllMocks();
    expect(heard).toEqual(['h:3']);
    expect(ticks).toHaveLength(1);
    expect(() => ticks[0]!()).toThrow('listener bug');
  });

  it('a once listener hears one event; off() stops a listener', async () => {
    const announcer = new ConnectionAnnouncer();
    const heard: string[] = [];
    const keep = (a: string): void => void heard.push(`keep ${a}`);
    announcer.on('connect', (a) => heard.push(`once ${a}`), true);
    announcer.on('connect', keep);
    const c = fakeConnection('h:4');
    announcer.connected(c);
    await microtasks();
    announcer.lost(c);
    announcer.off('connect', keep);
    announcer.connected(c);
    await microtasks();
    expect(heard).toEqual(['once h:4', 'keep h:4']);
    expect(announcer.count('connect')).toBe(0);
    expect(() => announcer.on('connected' as 'connect', keep)).toThrow(TypeError);
    expect(() => announcer.on('connect', 'x' as unknown as () => void)).toThrow(TypeError);
  });
});
