// Issue 9: "A declared packet that stalls is buffered up to maxPacketSize (256 MiB)". A server that
// declares a packet and stops sending it now fails the connection after the stall timeout, with a
// message naming the stall, instead of holding the partial packet for ever.
import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import { GearmanConnection, type ConnectionEvents } from '../../lib/connection.js';
import type { GearmanError } from '../../lib/errors.js';
import { header } from '../helpers/packets.js';

let listener: net.Server | undefined;
afterEach(() => listener?.close());

describe('a declared packet that stalls', () => {
  it('closes the client connection after stallTimeoutMs, naming the stall', async () => {
    listener = net.createServer((socket) => {
      socket.on('error', () => undefined);
      // A WORK_COMPLETE declaring 1 MiB, of which 20 bytes ever arrive.
      socket.write(Buffer.concat([header('RES', 'WORK_COMPLETE', 1024 * 1024), Buffer.from('H:x:1\0partial-result')]));
    });
    await new Promise<void>((resolve) => listener!.listen(0, '127.0.0.1', resolve));
    const port = (listener.address() as net.AddressInfo).port;
    const conn = new GearmanConnection('127.0.0.1', port, undefined, { stallTimeoutMs: 300 });
    const failed = new Promise<GearmanError>((resolve) => {
      const events: ConnectionEvents = {
        handleRead: (c, chunk) => c.decode(chunk),
        handlePacket: () => undefined,
        handleText: () => undefined,
        handleError: (_c, error) => resolve(error),
      };
      conn.events = events;
    });
    await conn.connect();
    const error = await failed;
    expect(error.message).toMatch(/incomplete packet \(32 byte\(s\) so far\) got no further byte for 300 ms/);
    expect(conn.connected).toBe(false);
    conn.close();
  });
});
