// Regression (issue 9, python-gearman habits: unknown option keys silently ignored, positional
// arguments where an options object belongs), for the admin client: its constructor options and
// each call's options go through checkOptions / checkPollTimeout (lib/arguments.ts), so
// `{ poll_timeout: 1 }` and `new GearmanAdminClient(hosts, 5)` are InvalidArgumentErrors (a
// TypeError) that name the key and the camelCase one, and nothing is sent for a bad call.
import { afterEach, describe, expect, it } from 'vitest';
import { GearmanAdminClient, GearmanError, InvalidArgumentError } from '../../lib/index.js';
import { FakeGearmanServer } from '../helpers/fake-server.js';
import { textLine } from '../helpers/packets.js';

let server: FakeGearmanServer | undefined;
let admin: GearmanAdminClient | undefined;

afterEach(async () => {
  admin?.shutdown();
  admin = undefined;
  await server?.close();
  server = undefined;
});

function thrown(make: () => unknown): InvalidArgumentError {
  try {
    make();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err).toBeInstanceOf(TypeError);
    expect(err).toBeInstanceOf(GearmanError);
    expect((err as InvalidArgumentError).code).toBe('INVALID_ARGUMENT');
    return err as InvalidArgumentError;
  }
  throw new Error('expected a throw');
}

async function rejected(promise: Promise<unknown>): Promise<InvalidArgumentError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InvalidArgumentError);
  expect((err as InvalidArgumentError).code).toBe('INVALID_ARGUMENT');
  return err as InvalidArgumentError;
}

describe('admin client: options are checked', () => {
  it("rejects python-gearman's snake_case keys with the camelCase one", () => {
    expect(thrown(() => new GearmanAdminClient(['127.0.0.1:4730'], { poll_timeout: 1 } as never)).message).toBe(
      "GearmanAdminClient options: unknown option 'poll_timeout'; did you mean 'pollTimeout'?",
    );
    expect(thrown(() => new GearmanAdminClient(['127.0.0.1:4730'], { maxListingRow: 5 } as never)).message).toBe(
      "GearmanAdminClient options: unknown option 'maxListingRow'; did you mean 'maxListingRows'?",
    );
  });

  it('rejects a positional poll timeout (python-gearman: GearmanAdminClient(host_list, poll_timeout))', () => {
    expect(thrown(() => new GearmanAdminClient(['127.0.0.1:4730'], 5 as never)).message).toMatch(
      /^GearmanAdminClient options: expected an options object \{ pollTimeout, .* \}, got number 5; arguments after the first ones are named options/,
    );
  });

  it('checks pollTimeout with the one rule, in the constructor and when it is set', () => {
    for (const bad of [-1, Number.NaN, '10']) {
      expect(thrown(() => new GearmanAdminClient(['127.0.0.1:4730'], { pollTimeout: bad as number })).message).toMatch(
        /^GearmanAdminClient options: pollTimeout must be a number of seconds >= 0, null or undefined; got /,
      );
    }
    const client = new GearmanAdminClient(['127.0.0.1:4730'], { pollTimeout: Infinity });
    expect(client.pollTimeout).toBeNull();
    expect(thrown(() => (client.pollTimeout = -2)).message).toBe('GearmanAdminClient.pollTimeout: pollTimeout must be a number of seconds >= 0, null or undefined; got number -2');
    client.pollTimeout = 0.25;
    expect(client.pollTimeout).toBe(0.25);
    expect(new GearmanAdminClient(['127.0.0.1:4730']).pollTimeout).toBe(10);
  });

  it('checks the listing limits', () => {
    expect(thrown(() => new GearmanAdminClient(['127.0.0.1:4730'], { maxListingRows: 0 })).message).toBe(
      'GearmanAdminClient options: maxListingRows must be a positive integer, got number 0',
    );
    expect(thrown(() => new GearmanAdminClient(['127.0.0.1:4730'], { maxListingBytes: 1.5 })).message).toBe(
      'GearmanAdminClient options: maxListingBytes must be a positive integer, got number 1.5',
    );
  });

  it("checks each call's options and arguments before anything is sent", async () => {
    server = await FakeGearmanServer.start((conn, item) => {
      if ('line' in item && item.line === 'version') conn.send(textLine('OK 1.1.20+ds'));
    });
    admin = new GearmanAdminClient([server.address], { pollTimeout: 5 });
    expect((await rejected(admin.getStatus({ poll_timeout: 1 } as never))).message).toBe("getStatus: unknown option 'poll_timeout'; did you mean 'pollTimeout'?");
    expect((await rejected(admin.getWorkers(1 as never))).message).toMatch(/^getWorkers: expected an options object \{ pollTimeout \}, got number 1/);
    expect((await rejected(admin.getJobs({ pollTimeout: -1 }))).message).toBe('getJobs: pollTimeout must be a number of seconds >= 0, null or undefined; got number -1');
    expect((await rejected(admin.sendShutdown('yes' as never))).message).toBe('sendShutdown: graceful must be a boolean, got string "yes"');
    expect((await rejected(admin.sendMaxqueue('resize', '10' as never))).message).toBe('sendMaxqueue: maxSize must be an integer, got string "10"');
    expect((await rejected(admin.cancelJob(undefined as never))).message).toBe('cancelJob: handle must be a non-empty string, got undefined');
    expect(server.connections).toHaveLength(0);
    // A call's own pollTimeout applies to that call.
    expect(await admin.getVersion({ pollTimeout: 2 })).toBe('1.1.20+ds');
    expect(server.connections[0]!.received).toEqual([{ line: 'version' }]);
  });
});
