// Issue 9: error messages name the real cause first. Before the fix a server speaking HTTP gave
// "exceeded 1 connection attempt(s) ... pass maxRetries >= 1" with the real cause (bad magic)
// last.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ExceededConnectionAttempts, GearmanClient, ProtocolError } from '../../lib/index.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

describe('a server speaking HTTP', () => {
  it('rejects with a message whose first words are the protocol error', async () => {
    const http = net.createServer((socket) => {
      socket.on('error', () => undefined);
      socket.once('data', () => socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n'));
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise<void>((resolve) => http.close(() => resolve())));
    const address = `127.0.0.1:${(http.address() as net.AddressInfo).port}`;
    const client = new GearmanClient([address]);
    cleanup.push(() => client.shutdown());
    const error = await client.submitJob('t', 'x').then(() => undefined, (err: unknown) => err as ExceededConnectionAttempts);
    expect(error).toBeInstanceOf(ExceededConnectionAttempts);
    expect(error!.cause).toBeInstanceOf(ProtocolError);
    // Red before the fix: it began with "exceeded 1 connection attempt(s)".
    expect(error!.message.startsWith(`${address}: bad magic`)).toBe(true);
    expect(error!.message).toMatch(/gave up on t .* after 1 attempt\(s\); pass maxRetries >= 1/);
  });
});
