// 'connect' / 'disconnect' events with the address (and the error), so a service can report its
// health; an outage is reported once (warn and event), not at every reconnect attempt.
import { afterEach, describe, expect, it } from 'vitest';
import { GearmanWorker, type GearmanError } from '../../lib/index.js';
import { recordingLogger } from '../helpers/fake-server.js';
import { startGearmand } from '../helpers/gearmand.mjs';
import { taskName, until } from '../helpers/env.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("GearmanWorker 'connect' and 'disconnect'", () => {
  it('reports connect, a lost server once with its error, and connect again when it is back', async () => {
    const g = await startGearmand();
    let current = g;
    cleanups.push(() => current.stop());
    const logger = recordingLogger();
    let attempts = 0;
    const worker = new GearmanWorker([g.host], {
      logger,
      retryStrategy: () => {
        attempts++;
        return 20;
      },
    });
    const events: Array<[string, string, GearmanError | undefined]> = [];
    worker.on('connect', (address) => events.push(['connect', address, undefined]));
    worker.on('disconnect', (address, error) => events.push(['disconnect', address, error]));
    worker.registerTask(taskName('events'), () => 'x');
    const working = worker.work({ pollTimeout: 5 });
    cleanups.push(async () => {
      worker.shutdown();
      await working;
    });
    await until(() => events.length === 1);
    expect(events[0]).toEqual(['connect', g.host, undefined]);
    await g.stop();
    await until(() => attempts >= 5, 20_000); // several failed attempts in one outage
    expect(events.filter(([what]) => what === 'disconnect')).toHaveLength(1);
    const [, address, error] = events[1]!;
    expect(address).toBe(g.host);
    expect(error).toBeInstanceOf(Error);
    expect(logger.find(g.host, 'warn')).toHaveLength(1);
    current = await startGearmand({ port: g.port });
    await until(() => events.length === 3, 20_000);
    expect(events[2]).toEqual(['connect', g.host, undefined]);
    expect(logger.find('connected again', 'warn')).toHaveLength(1);
  });

  it('a listener that throws is logged and does not break the worker', async () => {
    const g = await startGearmand();
    cleanups.push(() => g.stop());
    const logger = recordingLogger();
    const worker = new GearmanWorker([g.host], { logger });
    let called = false;
    worker.on('connect', () => {
      called = true;
      throw new Error('listener bug');
    });
    worker.registerTask(taskName('events-throw'), () => 'x');
    const working = worker.work({ pollTimeout: 5 });
    await until(() => called);
    await until(() => logger.find(/'connect' listener threw: Error: listener bug/, 'error').length === 1);
    expect(worker.connectionList[0]!.connected).toBe(true);
    await worker.stop();
    await working;
  });
});
