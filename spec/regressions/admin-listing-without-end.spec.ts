// Regression (issue 9, "A server that streams an admin listing without its '.' line grows the
// heap"): the admin client kept every row until the heap ran out (300 MiB in 2 s, then an
// out-of-memory abort). A listing is now bounded by maxListingRows and maxListingBytes: past
// either, the call rejects with a ListingTooLargeError (code 'LISTING_TOO_LARGE'), the connection
// is reset, the calls behind it reject with ServerUnavailable, and the next call connects anew.
import { afterEach, describe, expect, it } from 'vitest';
import { GearmanAdminClient, InvalidAdminClientState, ServerUnavailable } from '../../lib/index.js';
import { DEFAULT_MAX_LISTING_BYTES, DEFAULT_MAX_LISTING_ROWS } from '../../lib/admin-client.js';
import { ListingTooLargeError } from '../../lib/errors.js';
import { CommandType } from '../../lib/protocol/commands.js';
import { FakeGearmanServer, recordingLogger, type FakeConnection } from '../helpers/fake-server.js';
import { res, textLine } from '../helpers/packets.js';

let server: FakeGearmanServer | undefined;
let admin: GearmanAdminClient | undefined;

afterEach(async () => {
  admin?.shutdown();
  admin = undefined;
  await server?.close();
  server = undefined;
});

/**
 * Writes `chunk` over and over (waiting for the socket to drain) until `totalBytes` are written or
 * the connection closes; never a '.' line. The budget keeps a client without a bound from taking
 * the whole machine's memory: it then waits for a '.' that never comes.
 */
async function stream(conn: FakeConnection, chunk: Buffer, totalBytes: number): Promise<number> {
  let written = 0;
  while (written < totalBytes && !conn.socket.destroyed) {
    written += chunk.length;
    if (!conn.socket.write(chunk)) {
      await new Promise<void>((resolve) => {
        conn.socket.once('drain', resolve);
        conn.socket.once('close', resolve);
      });
    }
  }
  return written;
}

/** A server that answers `status` with rows that never end (the first connection only). */
async function endlessStatus(row: string, totalBytes: number): Promise<FakeGearmanServer> {
  const chunk = Buffer.from(row.repeat(Math.max(1, Math.floor(65536 / row.length))));
  return FakeGearmanServer.start((conn, item) => {
    if ('line' in item) {
      if (item.line === 'status' && conn.index === 0) void stream(conn, chunk, totalBytes);
      else if (item.line === 'status') conn.send(textLine('resize\t1\t0\t1'), textLine('.'));
      else if (item.line === 'version') conn.send(textLine('OK 1.1.20+ds'));
      return;
    }
    // Still streaming the listing, the first connection never gets to the ECHO_REQ behind it.
    if (item.type === CommandType.ECHO_REQ && conn.index !== 0) conn.send(res('ECHO_RES', item.args[0] as Buffer));
  });
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
    },
    (err: unknown) => err as Error,
  );
}

describe('admin client: a listing without its end', () => {
  it('past maxListingRows: ListingTooLargeError, the connection reset, the calls behind it ServerUnavailable', async () => {
    // 200,000 rows at most, then silence: far past the limit of 5,000.
    server = await endlessStatus('task\t1\t0\t0\n', 200_000 * 12);
    const logger = recordingLogger();
    admin = new GearmanAdminClient([server.address], { pollTimeout: 20, maxListingRows: 5000, logger });
    const status = rejection(admin.getStatus());
    const behind = rejection(admin.getVersion());
    const error = await status;
    expect(error).toBeInstanceOf(ListingTooLargeError);
    expect(error).toBeInstanceOf(InvalidAdminClientState);
    expect(error).toMatchObject({ code: 'LISTING_TOO_LARGE', limit: 'maxListingRows' });
    expect((error as ListingTooLargeError).rows).toBe(5002);
    expect(error.message).toBe(`${server.address} 'status': listing passed maxListingRows (5000 rows) before its end; connection reset`);
    const second = await behind;
    expect(second).toBeInstanceOf(ServerUnavailable);
    expect(second.message).toMatch(new RegExp(`^${server.address.replace(/\./g, '\\.')}: connection lost waiting for the answer to 'version': .*connection reset: 'status': listing passed maxListingRows`));
    await server.connections[0]!.waitClosed();
    expect(logger.find('closing connection', 'error')).toHaveLength(1);
    // Usable again: the next call connects anew and gets its own answer.
    expect(await admin.getStatus()).toEqual([{ task: 'resize', queued: 1, running: 0, workers: 1 }]);
    expect(server.connections).toHaveLength(2);
  });

  it('past the default maxListingBytes (64 MiB) with long rows: the call rejects once 64 MiB are held, not later', async () => {
    expect(DEFAULT_MAX_LISTING_BYTES).toBe(64 * 1024 * 1024);
    expect(DEFAULT_MAX_LISTING_ROWS).toBe(1_000_000);
    // Rows of 64 KiB: the byte limit comes long before the row limit. 96 MiB at most, then silence.
    const row = `${'x'.repeat(65_530)}\t1\t0\t0\n`;
    server = await endlessStatus(row, 96 * 1024 * 1024);
    admin = new GearmanAdminClient([server.address], { pollTimeout: 60 });
    const error = await rejection(admin.getStatus());
    expect(error).toBeInstanceOf(ListingTooLargeError);
    expect(error).toMatchObject({ limit: 'maxListingBytes' });
    const { bytes, rows } = error as ListingTooLargeError;
    expect(bytes).toBeGreaterThan(DEFAULT_MAX_LISTING_BYTES);
    expect(bytes).toBeLessThanOrEqual(DEFAULT_MAX_LISTING_BYTES + row.length);
    expect(rows).toBe(Math.ceil((DEFAULT_MAX_LISTING_BYTES + 1) / row.length));
    await server.connections[0]!.waitClosed();
  });

  it('a listing within the limits is unaffected', async () => {
    server = await FakeGearmanServer.start((conn, item) => {
      if ('line' in item && item.line === 'status') conn.send(Buffer.from('a\t0\t0\t0\nb\t0\t0\t0\nc\t0\t0\t0\n.\n'));
      else if ('type' in item && item.type === CommandType.ECHO_REQ) conn.send(res('ECHO_RES', item.args[0] as Buffer));
    });
    admin = new GearmanAdminClient([server.address], { maxListingRows: 3, maxListingBytes: 26 });
    expect((await admin.getStatus()).map((r) => r.task)).toEqual(['a', 'b', 'c']);
  });
});
