// The packet stream and the packet table's direction: each side writes its own magic, refuses the
// packet types only it sends, and (server side, as gearmand) reports a request carrying the
// response magic as a refused packet instead of failing the stream.
import { describe, expect, it } from 'vitest';
import { CommandType as T, COMMANDS, MAGIC_REQ, MAGIC_RES } from '../../lib/protocol/commands.js';
import { PacketDecoder } from '../../lib/protocol/decoder.js';
import { encodePacket, validatePacket, validateWire } from '../../lib/protocol/encoder.js';
import { PacketStream } from '../../lib/protocol/packet-stream.js';
import { ProtocolError } from '../../lib/errors.js';
import { req, res, header } from '../helpers/packets.js';

describe('the packet table direction', () => {
  it('marks WORK_* as both, submissions REQ, assignments RES', () => {
    expect(COMMANDS[T.WORK_COMPLETE]!.direction).toBe('both');
    expect(COMMANDS[T.WORK_EXCEPTION]!.direction).toBe('both');
    expect(COMMANDS[T.SUBMIT_JOB]!.direction).toBe('REQ');
    expect(COMMANDS[T.GRAB_JOB_ALL]!.direction).toBe('REQ');
    expect(COMMANDS[T.JOB_ASSIGN_UNIQ]!.direction).toBe('RES');
    expect(COMMANDS[T.NOOP]!.direction).toBe('RES');
    const counts = { REQ: 0, RES: 0, both: 0 };
    for (const spec of COMMANDS) if (spec !== undefined) counts[spec.direction]++;
    expect(counts).toEqual({ REQ: 24, RES: 11, both: 6 });
  });
});

describe('a side-aware decoder', () => {
  it('server side: JOB_ASSIGN_UNIQ is refused by direction, the next packet still decodes', () => {
    const seen: string[] = [];
    const decoder = new PacketDecoder(
      { onPacket: (type) => seen.push(`packet ${type}`), onRefused: (type, reason) => seen.push(`refused ${type} ${reason}`) },
      { side: 'server' },
    );
    decoder.push(Buffer.concat([packetWithMagic('REQ', T.JOB_ASSIGN_UNIQ, 'H:1\0f\0u\0data'), req('ECHO_REQ', 'x')]));
    expect(seen).toEqual([`refused ${T.JOB_ASSIGN_UNIQ} direction`, `packet ${T.ECHO_REQ}`]);
  });

  it('server side: a request with the response magic is refused by magic (gearmand: INVALID_MAGIC)', () => {
    const seen: string[] = [];
    const decoder = new PacketDecoder(
      { onPacket: (type) => seen.push(`packet ${type}`), onRefused: (type, reason) => seen.push(`refused ${type} ${reason}`) },
      { side: 'server' },
    );
    decoder.push(Buffer.concat([res('ECHO_REQ', 'abc'), req('ECHO_REQ', 'x')]));
    expect(seen).toEqual([`refused ${T.ECHO_REQ} magic`, `packet ${T.ECHO_REQ}`]);
  });

  it('server side: any other magic is still a ProtocolError', () => {
    const decoder = new PacketDecoder({ onPacket: () => undefined, onRefused: () => undefined }, { side: 'server' });
    expect(() => decoder.push(header(0x00585958, 'ECHO_REQ', 0))).toThrow(ProtocolError);
  });

  it('client side: SUBMIT_JOB from a server is a ProtocolError naming the packet', () => {
    const decoder = new PacketDecoder({ onPacket: () => undefined }, { side: 'client' });
    expect(() => decoder.push(packetWithMagic('RES', T.SUBMIT_JOB, 'f\0\0data'))).toThrow(/unexpected SUBMIT_JOB packet/);
  });

  it('client side: WORK_COMPLETE (both directions) decodes', () => {
    const got: unknown[] = [];
    const decoder = new PacketDecoder({ onPacket: (type, args) => got.push([type, ...args]) }, { side: 'client' });
    decoder.push(res('WORK_COMPLETE', 'H:1', 'ok'));
    expect(got).toEqual([[T.WORK_COMPLETE, 'H:1', Buffer.from('ok')]]);
  });
});

describe('wire validity apart from gearmand receive limits', () => {
  it('a 64-byte unique passes the wire check and fails the receive limits', () => {
    const args = ['f', 'u'.repeat(64), 'd'];
    expect(() => validateWire(T.SUBMIT_JOB, args)).not.toThrow();
    expect(() => validatePacket(T.SUBMIT_JOB, args)).toThrow(/gearmand keeps at most 63/);
  });

  it('a server may send a JOB_ASSIGN whose function name is over gearmand\'s 8 KiB buffer', () => {
    const big = 'f'.repeat(9000);
    expect(encodePacket(T.JOB_ASSIGN, ['H:1', big, 'x'], MAGIC_RES).length).toBe(12 + 3 + 1 + 9000 + 1 + 1);
    expect(() => encodePacket(T.CAN_DO, [big], MAGIC_REQ)).toThrow(/8192/);
  });

  it('a NUL inside a non-final argument fails both', () => {
    expect(() => validateWire(T.JOB_ASSIGN, ['H\0', 'f', 'x'])).toThrow(/NUL/);
  });
});

describe('PacketStream', () => {
  it('writes its side\'s magic and batches one turn into one write', async () => {
    const writes: Buffer[] = [];
    const fakeSocket = { write: (b: Buffer) => writes.push(Buffer.from(b)) } as unknown as import('node:net').Socket;
    const stream = new PacketStream({ onPacket: () => undefined }, { side: 'server' });
    stream.attach(fakeSocket);
    stream.writePacket(T.NOOP, []);
    stream.writePacket(T.JOB_CREATED, ['H:x:1']);
    await stream.whenFlushed();
    expect(writes).toHaveLength(1);
    expect(writes[0]!.readUInt32BE(0)).toBe(MAGIC_RES);
    expect(writes[0]!.readUInt32BE(12)).toBe(MAGIC_RES);
  });

  it('reuseOutput: the buffer is reused only when the socket took every byte, never while it holds one', async () => {
    const writes: Buffer[] = [];
    let holding = false;
    const fakeSocket = {
      write: (b: Buffer) => writes.push(b),
      get writableLength() {
        return holding ? writes[writes.length - 1]!.length : 0;
      },
    } as unknown as import('node:net').Socket;
    const stream = new PacketStream({ onPacket: () => undefined }, { side: 'server', reuseOutput: true });
    stream.attach(fakeSocket);
    stream.writePacket(T.JOB_CREATED, ['H:x:1']);
    await stream.whenFlushed();
    const first = Buffer.from(writes[0]!);
    expect(first.equals(res('JOB_CREATED', 'H:x:1'))).toBe(true);
    // Taken at once: the same memory is written into for the next turn.
    holding = true;
    stream.writePacket(T.JOB_CREATED, ['H:x:2']);
    await stream.whenFlushed();
    expect(writes[1]!.buffer).toBe(writes[0]!.buffer);
    expect(writes[1]!.equals(res('JOB_CREATED', 'H:x:2'))).toBe(true);
    // The socket still holds the second write: the third goes to new memory, the second stays intact.
    holding = false;
    stream.writePacket(T.JOB_CREATED, ['H:x:3']);
    await stream.whenFlushed();
    expect(writes[2]!.buffer).not.toBe(writes[1]!.buffer);
    expect(writes[1]!.equals(res('JOB_CREATED', 'H:x:2'))).toBe(true);
    expect(writes[2]!.equals(res('JOB_CREATED', 'H:x:3'))).toBe(true);
  });

  it("flushOn 'immediate': a flushFirst stream is written first, the others one turn later", async () => {
    const order: string[] = [];
    const socketFor = (name: string) => ({ write: () => order.push(name), writableLength: 0 }) as unknown as import('node:net').Socket;
    const client = new PacketStream({ onPacket: () => undefined }, { side: 'server', flushOn: 'immediate' });
    const worker = new PacketStream({ onPacket: () => undefined }, { side: 'server', flushOn: 'immediate' });
    worker.flushFirst = true;
    client.attach(socketFor('client'));
    worker.attach(socketFor('worker'));
    client.writePacket(T.JOB_CREATED, ['H:x:1']);
    worker.writePacket(T.NOOP, []);
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(order).toEqual(['worker']);
    // What is queued meanwhile joins the deferred write.
    client.writePacket(T.WORK_COMPLETE, ['H:x:1', 'ok']);
    await client.whenFlushed();
    expect(order).toEqual(['worker', 'client']);
    // No worker written in a turn: nothing waits.
    client.writePacket(T.JOB_CREATED, ['H:x:2']);
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(order).toEqual(['worker', 'client', 'client']);
  });

  it('reports a packet that stops arriving after stallTimeoutMs', async () => {
    const stalled = new Promise<ProtocolError>((resolve) => {
      const stream = new PacketStream({ onPacket: () => undefined, onStall: resolve }, { side: 'server', stallTimeoutMs: 50, label: 'peer' });
      stream.push(Buffer.concat([header('REQ', 'ECHO_REQ', 100), Buffer.alloc(10)]));
    });
    const error = await stalled;
    expect(error).toBeInstanceOf(ProtocolError);
    expect(error.message).toMatch(/^peer: an incomplete packet \(22 byte\(s\) so far\) got no further byte for 50 ms/);
  });
});

function packetWithMagic(magic: 'REQ' | 'RES', type: number, payload: string): Buffer {
  return Buffer.concat([header(magic, type, Buffer.byteLength(payload)), Buffer.from(payload)]);
}
