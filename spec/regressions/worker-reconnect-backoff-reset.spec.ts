// Issue 9: the reconnect back-off reset on any bytes from the server: a server that sends an
// unasked JOB_ASSIGN at every connect (and is dropped for it) was re-dialled 26 times in 3 s.
// The count now restarts only when a server answers what the worker asked (a GRAB), or the
// connection stayed up 5 s. Also: the worker's "could not connect" line printed the host twice.
import { afterEach, describe, expect, it } from 'vitest';
import { GearmanWorker } from '../../lib/index.js';
import { CommandType } from '../../lib/protocol/commands.js';
import { FakeGearmanServer, recordingLogger, type FakeConnection } from '../helpers/fake-server.js';
import { freePort } from '../helpers/gearmand.mjs';
import { until } from '../helpers/env.js';

const T = CommandType;
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('regression: the reconnect back-off', () => {
  it('keeps growing against a server that greets every connection with an unasked JOB_ASSIGN', async () => {
    const server = await FakeGearmanServer.start();
    server.on('connection', (conn: FakeConnection) => conn.reply(['JOB_ASSIGN_UNIQ', 'H:fake:1', 'reverse', 'u', 'x']));
    const attempts: number[] = [];
    const worker = new GearmanWorker([server.address], {
      logger: recordingLogger(),
      retryStrategy: (attempt) => {
        attempts.push(attempt);
        return 5;
      },
    });
    worker.registerTask('reverse', () => 'x');
    const working = worker.work({ pollTimeout: 30 });
    cleanups.push(async () => {
      worker.shutdown();
      await working;
      await server.close();
    });
    await until(() => attempts.length >= 6, 20_000);
    expect(attempts.slice(0, 6)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('starts again from 0 once a server answered a GRAB', async () => {
    let connections = 0;
    const server = await FakeGearmanServer.start((conn, item) => {
      if ('type' in item && item.type === T.PRE_SLEEP) conn.reply(['NOOP']);
      if ('type' in item && item.type === T.GRAB_JOB_UNIQ) {
        conn.reply(['NO_JOB']);
        // A working connection, then lost: the next reconnect is attempt 0 again.
        setImmediate(() => conn.close());
      }
    });
    server.on('connection', () => connections++);
    const attempts: number[] = [];
    const worker = new GearmanWorker([server.address], {
      logger: recordingLogger(),
      retryStrategy: (attempt) => {
        attempts.push(attempt);
        return 5;
      },
    });
    worker.registerTask('reverse', () => 'x');
    const working = worker.work({ pollTimeout: 30 });
    cleanups.push(async () => {
      worker.shutdown();
      await working;
      await server.close();
    });
    await until(() => attempts.length >= 3, 20_000);
    expect(attempts.slice(0, 3)).toEqual([0, 0, 0]);
    expect(connections).toBeGreaterThanOrEqual(3);
  });

  it('names the server once in the line that says it cannot be reached, and says it once per outage', async () => {
    const port = await freePort();
    const address = `127.0.0.1:${port}`;
    const logger = recordingLogger();
    let attempts = 0;
    const worker = new GearmanWorker([address], {
      logger,
      retryStrategy: () => {
        attempts++;
        return 5;
      },
    });
    const downs: Array<[string, unknown]> = [];
    worker.on('disconnect', (addr, error) => downs.push([addr, error]));
    worker.registerTask('reverse', () => 'x');
    const working = worker.work({ pollTimeout: 30 });
    cleanups.push(async () => {
      worker.shutdown();
      await working;
    });
    await until(() => attempts >= 4, 20_000);
    const warned = logger.find('cannot reach', 'warn');
    expect(warned).toHaveLength(1);
    expect(warned[0]!.split(address).length - 1).toBe(1);
    expect(warned[0]).toMatch(/ECONNREFUSED/);
    expect(downs).toHaveLength(1);
    expect(downs[0]![0]).toBe(address);
    expect(downs[0]![1]).toBeInstanceOf(Error);
  });
});
