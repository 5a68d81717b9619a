// Hostile input: every case is a ProtocolError with the right offset and bytes, raised as soon as
// the bytes that prove it arrived (whole, byte by byte, and split at every boundary), after which
// the decoder refuses input.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MAGIC_REQ } from '../../lib/protocol/commands.js';
import { PacketDecoder, type PacketDecoderOptions } from '../../lib/protocol/decoder.js';
import { ProtocolError } from '../../lib/errors.js';
import {
  byteByByte,
  bytes,
  decodeChunks,
  header,
  line,
  pkt,
  rawPacket,
  render,
  req,
  res,
  splitAt,
  textLine,
  twoChunkCuts,
  type Decoded,
} from '../helpers/packets.js';

interface Hostile {
  name: string;
  bytes: Buffer;
  options?: PacketDecoderOptions;
  /** What is decoded before the bad part. */
  before: Decoded[];
  /** Stream offset of the bad packet or line. */
  offset: number;
  /** Stream position by which the error is certain: it must be thrown by the push that reaches it. */
  detectAt: number;
  message: RegExp;
  /** The error only comes from end() (truncation). */
  atEnd?: boolean;
}

const created = res('JOB_CREATED', 'H:vm:1');
const GIB4 = 0xffffffff;

const CASES: Hostile[] = [
  {
    name: 'bad magic at the start',
    bytes: rawPacket([0, 0x58, 0x59, 0x5a], 'NOOP'),
    before: [],
    offset: 0,
    detectAt: 4,
    message: /bad magic 0x0058595a \(expected \\0RES\)/,
  },
  {
    name: 'request magic mid-stream on a client decoder',
    bytes: bytes(created, req('ECHO_REQ', 'x'), res('NOOP')),
    before: [pkt('JOB_CREATED', 'H:vm:1')],
    offset: created.length,
    detectAt: created.length + 4,
    message: /bad magic 0x00524551 \(expected \\0RES\)/,
  },
  {
    name: 'response magic on a server-side decoder',
    bytes: bytes(req('GRAB_JOB_UNIQ'), res('NOOP')),
    options: { magic: MAGIC_REQ },
    before: [pkt('GRAB_JOB_UNIQ')],
    offset: 12,
    detectAt: 16,
    message: /bad magic 0x00524553 \(expected \\0REQ\)/,
  },
  {
    name: 'garbage text where a packet should start',
    bytes: bytes(created, Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n')),
    before: [pkt('JOB_CREATED', 'H:vm:1')],
    offset: created.length,
    detectAt: created.length + 4,
    message: /bad magic 0x48545450/,
  },
  {
    name: 'bad magic starting with NUL on a text-allowed decoder',
    bytes: bytes(textLine('OK 1.1.20+ds'), rawPacket([0, 0x72, 0x65, 0x73], 'ECHO_RES', 'x')),
    options: { allowText: true },
    before: [line('OK 1.1.20+ds')],
    offset: 13,
    detectAt: 17,
    message: /bad magic 0x00726573/,
  },
  ...[0, 5, 43, 0xffffffff].map(
    (type): Hostile => ({
      name: `unknown type ${type}`,
      bytes: bytes(created, rawPacket('RES', type, 'payload'), res('NOOP')),
      before: [pkt('JOB_CREATED', 'H:vm:1')],
      offset: created.length,
      detectAt: created.length + 12,
      message: new RegExp(`unknown packet type ${type} at offset ${created.length}`),
    }),
  ),
  {
    name: 'a size field of 4 GiB - 1',
    bytes: bytes(created, header('RES', 'WORK_COMPLETE', GIB4), Buffer.from('H:vm:1\0abc')),
    before: [pkt('JOB_CREATED', 'H:vm:1')],
    offset: created.length,
    detectAt: created.length + 12,
    message: /WORK_COMPLETE packet declares 4294967295 bytes, over maxPacketSize 268435456/,
  },
  {
    name: 'a size just over a configured maxPacketSize',
    bytes: res('ECHO_RES', 'x'.repeat(101)),
    options: { maxPacketSize: 100 },
    before: [],
    offset: 0,
    detectAt: 12,
    message: /ECHO_RES packet declares 101 bytes, over maxPacketSize 100/,
  },
  {
    name: 'a truncated packet, then the end of the stream',
    bytes: bytes(created, res('WORK_COMPLETE', 'H:vm:1', 'result').subarray(0, 17)),
    before: [pkt('JOB_CREATED', 'H:vm:1')],
    offset: created.length,
    detectAt: created.length + 17,
    message: new RegExp(`stream ended inside a packet: 17 byte\\(s\\) of an incomplete packet at offset ${created.length}`),
    atEnd: true,
  },
  {
    name: 'half a header, then the end of the stream',
    bytes: bytes(created, res('NOOP').subarray(0, 6)),
    before: [pkt('JOB_CREATED', 'H:vm:1')],
    offset: created.length,
    detectAt: created.length + 6,
    message: /stream ended inside a packet: 6 byte\(s\)/,
    atEnd: true,
  },
  {
    name: 'a text line without its newline, then the end of the stream',
    bytes: bytes(textLine('OK'), Buffer.from('OK 1.1.2')),
    options: { allowText: true },
    before: [line('OK')],
    offset: 3,
    detectAt: 11,
    message: /stream ended inside a packet: 8 byte\(s\) of an incomplete packet at offset 3/,
    atEnd: true,
  },
  {
    name: 'WORK_COMPLETE without the NUL after its handle',
    bytes: bytes(created, rawPacket('RES', 'WORK_COMPLETE', 'H:vm:1'), res('NOOP')),
    before: [pkt('JOB_CREATED', 'H:vm:1')],
    offset: created.length,
    detectAt: created.length + 18,
    message: /WORK_COMPLETE needs 2 arguments \(handle, data\) but its payload has 1/,
  },
  {
    name: 'STATUS_RES with one field missing',
    bytes: rawPacket('RES', 'STATUS_RES', 'H:1\x001\x000\x003'),
    before: [],
    offset: 0,
    detectAt: 12 + 9,
    message: /STATUS_RES needs 5 arguments .* but its payload has 4/,
  },
  {
    name: 'JOB_ASSIGN_UNIQ with an empty payload',
    bytes: bytes(res('NOOP'), rawPacket('RES', 'JOB_ASSIGN_UNIQ', '')),
    before: [pkt('NOOP')],
    offset: 12,
    detectAt: 24,
    message: /JOB_ASSIGN_UNIQ needs 4 arguments/,
  },
  {
    name: 'a zero-argument packet with a payload',
    bytes: bytes(res('NOOP'), rawPacket('RES', 'NOOP', 'x'), res('NOOP')),
    before: [pkt('NOOP')],
    offset: 12,
    detectAt: 25,
    message: /NOOP carries no arguments but has a 1-byte payload/,
  },
  {
    name: 'an overlong text line without a newline',
    bytes: bytes(textLine('OK'), Buffer.from('x'.repeat(40))),
    options: { allowText: true, maxLineLength: 16 },
    before: [line('OK')],
    offset: 3,
    detectAt: 3 + 17,
    message: /text line longer than maxLineLength 16 bytes at offset 3/,
  },
  {
    name: 'an overlong text line with its newline',
    bytes: bytes(textLine('OK'), textLine('y'.repeat(30)), textLine('OK')),
    options: { allowText: true, maxLineLength: 16 },
    before: [line('OK')],
    offset: 3,
    detectAt: 3 + 17,
    message: /text line longer than maxLineLength 16 bytes at offset 3/,
  },
];

/** The push that reaches `detectAt` is the one that must throw. */
function expectedThrowPoint(chunks: Buffer[], detectAt: number): number {
  let pushed = 0;
  for (const chunk of chunks) {
    pushed += chunk.length;
    if (pushed >= detectAt) return pushed;
  }
  return pushed;
}

function check(c: Hostile, chunks: Buffer[], how: string): void {
  const run = decodeChunks(chunks, c.options);
  const where = `${c.name} (${how})`;
  expect(run.error, where).toBeInstanceOf(ProtocolError);
  const error = run.error as ProtocolError;
  expect(error.code, where).toBe('PROTOCOL_ERROR');
  expect(error.message, where).toMatch(c.message);
  expect(error.message, where).toContain(`offset ${c.offset}`);
  expect(error.offset, where).toBe(c.offset);
  expect(run.fromEnd, where).toBe(c.atEnd === true);
  if (c.atEnd !== true) expect(run.pushedWhenThrown, where).toBe(expectedThrowPoint(chunks, c.detectAt));
  // The offending bytes: a copy of the stream from the offset, at least up to what proved the error.
  expect(Buffer.isBuffer(error.bytes), where).toBe(true);
  const got = error.bytes!;
  expect(got.length, where).toBeGreaterThan(0);
  expect(got.length, where).toBeLessThanOrEqual(64);
  expect(got.length, where).toBeGreaterThanOrEqual(Math.min(4, c.bytes.length - c.offset));
  expect(got.equals(c.bytes.subarray(c.offset, c.offset + got.length)), `${where}: bytes ${got.toString('hex')}`).toBe(true);
  expect(render(run.items), where).toEqual(render(c.before));
  // Refuses input afterwards, with the same error, and decodes nothing more.
  for (const more of [res('NOOP'), Buffer.from('OK\n'), Buffer.from([0])]) {
    expect(() => run.decoder.push(more), where).toThrow(error);
  }
  expect(() => run.decoder.end(), where).not.toThrow();
  expect(render(run.items), where).toEqual(render(c.before));
}

describe('hostile input', () => {
  for (const c of CASES) {
    describe(c.name, () => {
      it('whole', () => check(c, [Buffer.from(c.bytes)], 'whole'));
      it('byte by byte', () => check(c, byteByByte(c.bytes), 'byte by byte'));
      it('split in two at every boundary', () => {
        for (const cut of twoChunkCuts(c.bytes.length)) check(c, splitAt(c.bytes, cut), `cut at ${cut[0]}`);
      });
    });
  }

  it('a ProtocolError from end() keeps its bytes even if the decoder is reused after reset()', () => {
    // 12 bytes spread over chunks: the header is assembled in a reused scratch buffer.
    const decoder = new PacketDecoder({ onPacket: () => undefined });
    const partial = res('WORK_COMPLETE', 'H:1', 'data').subarray(0, 12);
    for (const chunk of byteByByte(partial)) decoder.push(chunk);
    let error: ProtocolError | undefined;
    try {
      decoder.end();
    } catch (err) {
      error = err as ProtocolError;
    }
    expect(error).toBeInstanceOf(ProtocolError);
    decoder.reset();
    for (const chunk of byteByByte(res('ECHO_RES', 'zzzzzzzzzz'))) decoder.push(chunk);
    expect(error!.bytes!.equals(partial)).toBe(true);
  });

  it('starts its messages with the label (the connection\'s host:port)', () => {
    const labelled = { label: 'gear.example:4730' };
    expect(String(decodeChunks([rawPacket('RES', 43, '')], labelled).error)).toMatch(/^ProtocolError: gear\.example:4730: unknown packet type 43 at offset 0$/);
    expect(String(decodeChunks([res('NOOP').subarray(0, 3)], labelled).error)).toMatch(/^ProtocolError: gear\.example:4730: stream ended inside a packet/);
  });

  it('reset() makes a failed decoder usable again from offset 0 (reconnect)', () => {
    const items: Decoded[] = [];
    const decoder = new PacketDecoder({ onPacket: (type, args) => items.push({ type, args }) });
    expect(() => decoder.push(rawPacket('RES', 5, ''))).toThrow(ProtocolError);
    decoder.reset();
    decoder.push(res('JOB_CREATED', 'H:2'));
    expect(render(items)).toEqual(render([pkt('JOB_CREATED', 'H:2')]));
    expect(decoder.offset).toBe(15);
  });
});

describe('a 4 GiB size field is refused without allocating it', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  function spyAllocations(): Array<{ calls: unknown[][] }> {
    return [
      vi.spyOn(Buffer, 'alloc').mock,
      vi.spyOn(Buffer, 'allocUnsafe').mock,
      vi.spyOn(Buffer, 'allocUnsafeSlow').mock,
    ] as Array<{ calls: unknown[][] }>;
  }

  function largest(spies: Array<{ calls: unknown[][] }>): number {
    let max = 0;
    for (const spy of spies) for (const call of spy.calls) max = Math.max(max, Number(call[0]));
    return max;
  }

  it('throws on the push that completes the 12-byte header, allocating nothing large', () => {
    const decoder = new PacketDecoder({ onPacket: () => undefined });
    const spies = spyAllocations();
    const head = header('RES', 'ECHO_RES', GIB4);
    for (let i = 0; i < 11; i++) decoder.push(head.subarray(i, i + 1));
    expect(decoder.bufferedBytes).toBe(11);
    expect(() => decoder.push(head.subarray(11))).toThrow(ProtocolError);
    expect(largest(spies)).toBeLessThan(1024);
  });

  it('with no size limit, buffers only what arrived and allocates nothing for the declared size', () => {
    const decoder = new PacketDecoder({ onPacket: () => undefined }, { maxPacketSize: GIB4 });
    const spies = spyAllocations();
    decoder.push(header('RES', 'ECHO_RES', GIB4));
    for (let i = 0; i < 100; i++) decoder.push(Buffer.alloc(1000, 1));
    expect(decoder.bufferedBytes).toBe(12 + 100_000);
    expect(largest(spies)).toBeLessThanOrEqual(1000);
    expect(() => decoder.end()).toThrow(/stream ended inside a packet: more than 32 byte\(s\) of an incomplete packet at offset 0/);
  });
});
