// Every fixture decodes to the same items whole, byte by byte, and split at every boundary (all
// two-chunk splits; all three-chunk splits for short streams).
import { describe, expect, it } from 'vitest';
import { MAGIC_REQ } from '../../lib/protocol/commands.js';
import type { PacketDecoderOptions } from '../../lib/protocol/decoder.js';
import {
  binary,
  byteByByte,
  bytes,
  decodeChunks,
  line,
  pkt,
  render,
  req,
  res,
  splitAt,
  textLine,
  threeChunkCuts,
  twoChunkCuts,
  type Decoded,
} from '../helpers/packets.js';

interface Fixture {
  name: string;
  bytes: Buffer;
  items: Decoded[];
  options?: PacketDecoderOptions;
}

const MIB = 1024 * 1024;
const big = binary(MIB, 7);
const mid = binary(20_000, 3); // over the decoder's copy threshold: handed out without a copy
const withNuls = Buffer.from([0, 1, 0, 0, 255, 0]);
const text = { allowText: true } as const;

const FIXTURES: Fixture[] = [
  // single packets
  { name: 'JOB_CREATED', bytes: res('JOB_CREATED', 'H:vm:1'), items: [pkt('JOB_CREATED', 'H:vm:1')] },
  { name: 'NOOP (no arguments)', bytes: res('NOOP'), items: [pkt('NOOP')] },
  { name: 'ERROR', bytes: res('ERROR', 'QUEUE_ERROR', 'Job queue is full'), items: [pkt('ERROR', 'QUEUE_ERROR', 'Job queue is full')] },
  {
    name: 'STATUS_RES',
    bytes: res('STATUS_RES', 'H:vm:3', '1', '1', '3', '10'),
    items: [pkt('STATUS_RES', 'H:vm:3', '1', '1', '3', '10')],
  },
  {
    name: 'JOB_ASSIGN_UNIQ with non-ASCII text',
    bytes: res('JOB_ASSIGN_UNIQ', 'H:vm:9', 'rëvérse', 'ünique-€', 'data'),
    items: [pkt('JOB_ASSIGN_UNIQ', 'H:vm:9', 'rëvérse', 'ünique-€', Buffer.from('data'))],
  },
  { name: 'WORK_FAIL with a trailing NUL', bytes: res('WORK_FAIL', 'H:vm:1\0'), items: [pkt('WORK_FAIL', 'H:vm:1\0')] },
  // empty last arguments
  { name: 'WORK_COMPLETE, empty result', bytes: res('WORK_COMPLETE', 'H:vm:7', ''), items: [pkt('WORK_COMPLETE', 'H:vm:7', Buffer.alloc(0))] },
  { name: 'ECHO_RES, empty data (size 0)', bytes: res('ECHO_RES', ''), items: [pkt('ECHO_RES', Buffer.alloc(0))] },
  {
    name: 'JOB_ASSIGN_UNIQ, empty unique and data',
    bytes: res('JOB_ASSIGN_UNIQ', 'H:1', 'f', '', ''),
    items: [pkt('JOB_ASSIGN_UNIQ', 'H:1', 'f', '', Buffer.alloc(0))],
  },
  { name: 'STATUS_RES, empty fields', bytes: res('STATUS_RES', '', '0', '0', '', ''), items: [pkt('STATUS_RES', '', '0', '0', '', '')] },
  // binary data with NULs
  { name: 'WORK_DATA, data of NULs', bytes: res('WORK_DATA', 'H:2', withNuls), items: [pkt('WORK_DATA', 'H:2', withNuls)] },
  { name: 'ECHO_RES, 600 binary bytes', bytes: res('ECHO_RES', binary(600)), items: [pkt('ECHO_RES', binary(600))] },
  // streams of several packets
  {
    name: 'a foreground job, start to end',
    bytes: bytes(
      res('JOB_CREATED', 'H:vm:5'),
      res('WORK_DATA', 'H:vm:5', 'part\0one'),
      res('WORK_STATUS', 'H:vm:5', '1', '2'),
      res('WORK_WARNING', 'H:vm:5', ''),
      res('WORK_COMPLETE', 'H:vm:5', withNuls),
    ),
    items: [
      pkt('JOB_CREATED', 'H:vm:5'),
      pkt('WORK_DATA', 'H:vm:5', Buffer.from('part\0one')),
      pkt('WORK_STATUS', 'H:vm:5', '1', '2'),
      pkt('WORK_WARNING', 'H:vm:5', Buffer.alloc(0)),
      pkt('WORK_COMPLETE', 'H:vm:5', withNuls),
    ],
  },
  {
    name: 'worker wake-up cycle',
    bytes: bytes(res('NOOP'), res('NO_JOB'), res('NOOP'), res('JOB_ASSIGN_UNIQ', 'H:a:1', 't', 'u', withNuls), res('NOOP')),
    items: [pkt('NOOP'), pkt('NO_JOB'), pkt('NOOP'), pkt('JOB_ASSIGN_UNIQ', 'H:a:1', 't', 'u', withNuls), pkt('NOOP')],
  },
  {
    name: 'three empty-data packets back to back',
    bytes: bytes(res('ECHO_RES', ''), res('WORK_COMPLETE', 'H:1', ''), res('ECHO_RES', '')),
    items: [pkt('ECHO_RES', Buffer.alloc(0)), pkt('WORK_COMPLETE', 'H:1', Buffer.alloc(0)), pkt('ECHO_RES', Buffer.alloc(0))],
  },
  {
    name: 'a 20000-byte result between small packets',
    bytes: bytes(res('JOB_CREATED', 'H:1'), res('WORK_COMPLETE', 'H:1', mid), res('NOOP')),
    items: [pkt('JOB_CREATED', 'H:1'), pkt('WORK_COMPLETE', 'H:1', mid), pkt('NOOP')],
  },
  {
    name: 'a 1 MiB result between small packets',
    bytes: bytes(res('WORK_STATUS', 'H:1', '0', '1'), res('WORK_COMPLETE', 'H:1', big), res('ECHO_RES', 'after')),
    items: [pkt('WORK_STATUS', 'H:1', '0', '1'), pkt('WORK_COMPLETE', 'H:1', big), pkt('ECHO_RES', Buffer.from('after'))],
  },
  // request magic (what the fake server decodes)
  {
    name: 'requests under \\0REQ',
    bytes: bytes(req('SUBMIT_JOB', 'reverse', '', 'test'), req('GRAB_JOB_UNIQ'), req('CAN_DO_TIMEOUT', 'f', '1500'), req('ECHO_REQ', withNuls)),
    items: [pkt('SUBMIT_JOB', 'reverse', '', Buffer.from('test')), pkt('GRAB_JOB_UNIQ'), pkt('CAN_DO_TIMEOUT', 'f', '1500'), pkt('ECHO_REQ', withNuls)],
    options: { magic: MAGIC_REQ },
  },
  // admin text mixed with binary packets
  {
    name: 'admin lines (\\n) around an ECHO_RES',
    bytes: bytes(textLine('OK 1.1.20+ds'), res('ECHO_RES', 'ping? pong!'), textLine('fn\t1\t0\t1'), textLine('.')),
    items: [line('OK 1.1.20+ds'), pkt('ECHO_RES', Buffer.from('ping? pong!')), line('fn\t1\t0\t1'), line('.')],
    options: text,
  },
  {
    name: 'admin lines (\\r\\n), empty lines and UTF-8 around binary packets',
    bytes: bytes(
      res('ECHO_RES', withNuls),
      textLine('OK', '\r\n'),
      textLine('', '\r\n'),
      textLine(''),
      res('ERROR', 'INVALID_MAGIC', 'Request magic expected'),
      textLine('ERR UNKNOWN_COMMAND Unknown+server+commandshutdown', '\r\n'),
      textLine('38 127.0.0.1 wörker-€ : email'),
      res('ECHO_RES', ''),
    ),
    items: [
      pkt('ECHO_RES', withNuls),
      line('OK'),
      line(''),
      line(''),
      pkt('ERROR', 'INVALID_MAGIC', 'Request magic expected'),
      line('ERR UNKNOWN_COMMAND Unknown+server+commandshutdown'),
      line('38 127.0.0.1 wörker-€ : email'),
      pkt('ECHO_RES', Buffer.alloc(0)),
    ],
    options: text,
  },
  {
    name: 'a lone \\r inside a line is kept',
    bytes: bytes(textLine('a\rb'), textLine('c\r', '\r\n')),
    items: [line('a\rb'), line('c\r')],
    options: text,
  },
  {
    name: 'admin command lines and requests under \\0REQ',
    bytes: bytes(textLine('status', '\r\n'), req('ECHO_REQ', 'x'), textLine('version')),
    items: [line('status'), pkt('ECHO_REQ', Buffer.from('x')), line('version')],
    options: { magic: MAGIC_REQ, allowText: true },
  },
];

/** Where each packet or line of a fixture starts (and where the bytes end). */
function boundaries(fixture: Fixture): number[] {
  const marks = new Set<number>();
  let off = 0;
  const b = fixture.bytes;
  while (off < b.length) {
    marks.add(off);
    if (b[off] !== 0) {
      off = b.indexOf(10, off) + 1;
      continue;
    }
    off += 12 + b.readUInt32BE(off + 8);
  }
  marks.add(b.length);
  return [...marks].sort((x, y) => x - y);
}

/** The cuts to try: every one for fixtures up to 4 KiB; otherwise around every boundary and a stride. */
function cutsFor(fixture: Fixture): number[][] {
  const n = fixture.bytes.length;
  if (n <= 4096) return twoChunkCuts(n);
  const cuts = new Set<number>();
  for (const mark of boundaries(fixture)) for (let d = -40; d <= 40; d++) cuts.add(mark + d);
  for (let i = 1; i < n; i += 65521) cuts.add(i);
  return [...cuts].filter((c) => c > 0 && c < n).sort((x, y) => x - y).map((c) => [c]);
}

function expectDecodes(fixture: Fixture, chunks: Buffer[], how: string): void {
  const run = decodeChunks(chunks, fixture.options);
  if (run.error !== undefined) throw new Error(`${fixture.name} (${how}): ${String(run.error)}`);
  const got = render(run.items);
  const want = render(fixture.items);
  // Compare without vitest's deep diff on megabyte strings.
  if (got.length !== want.length || got.some((g, i) => g !== want[i])) {
    expect.fail(`${fixture.name} (${how}): got ${got.length} item(s) ${got.map((g) => g.slice(0, 60)).join(' | ')}`);
  }
  expect(run.decoder.bufferedBytes).toBe(0);
  expect(run.decoder.offset).toBe(fixture.bytes.length);
}

describe('codec fixtures', () => {
  for (const fixture of FIXTURES) {
    describe(fixture.name, () => {
      it('decodes whole', () => {
        expectDecodes(fixture, [Buffer.from(fixture.bytes)], 'whole');
      });

      it('decodes byte by byte', () => {
        expectDecodes(fixture, byteByByte(fixture.bytes), 'byte by byte');
      });

      it('decodes split in two at every boundary', () => {
        const cuts = cutsFor(fixture);
        expect(cuts.length).toBeGreaterThan(0);
        for (const cut of cuts) expectDecodes(fixture, splitAt(fixture.bytes, cut), `cut at ${cut.join(',')}`);
      });

      if (fixture.bytes.length <= 120) {
        it('decodes split in three at every pair of boundaries', () => {
          for (const cut of threeChunkCuts(fixture.bytes.length)) expectDecodes(fixture, splitAt(fixture.bytes, cut), `cut at ${cut.join(',')}`);
        });
      }
    });
  }

  it('decodes all fixtures of one magic as one stream, in irregular chunks', () => {
    const resFixtures = FIXTURES.filter((f) => f.options === undefined || (f.options.magic === undefined && f.options.allowText));
    const stream = Buffer.concat(resFixtures.map((f) => f.bytes));
    const items = resFixtures.flatMap((f) => f.items);
    const cuts: number[] = [];
    for (let at = 1, step = 1; at < stream.length; step = (step * 7 + 3) % 9001 + 1, at += step) cuts.push(at);
    expectDecodes({ name: 'all', bytes: stream, items, options: text }, splitAt(stream, cuts), 'irregular chunks');
  });
});

describe('decoded payloads do not alias the socket chunk', () => {
  it('small data copied out of a whole chunk stays unchanged when the chunk is rewritten', () => {
    const chunk = bytes(res('JOB_CREATED', 'H:1'), res('WORK_COMPLETE', 'H:1', 'result bytes'), res('ECHO_RES', withNuls));
    const run = decodeChunks([chunk]);
    chunk.fill(0xaa);
    expect(render(run.items)).toEqual(render([pkt('JOB_CREATED', 'H:1'), pkt('WORK_COMPLETE', 'H:1', Buffer.from('result bytes')), pkt('ECHO_RES', withNuls)]));
    const data = (run.items[1] as { args: Buffer[] }).args[1]!;
    expect(data.buffer === chunk.buffer && data.byteOffset >= chunk.byteOffset && data.byteOffset < chunk.byteOffset + chunk.length).toBe(false);
  });

  it('small data of a packet that sits in a buffered chunk is copied too', () => {
    // The first chunk ends mid-header; the second holds the rest of that packet and a whole one.
    const first = res('WORK_DATA', 'H:1', 'aaaa');
    const second = res('WORK_COMPLETE', 'H:1', 'bbbb');
    const stream = bytes(first, second);
    const chunks = splitAt(stream, [5, first.length + 3]);
    const run = decodeChunks(chunks);
    for (const c of chunks) c.fill(0x55);
    expect(render(run.items)).toEqual(render([pkt('WORK_DATA', 'H:1', Buffer.from('aaaa')), pkt('WORK_COMPLETE', 'H:1', Buffer.from('bbbb'))]));
  });

  it('data of one packet is not overwritten by decoding the next', () => {
    const run = decodeChunks(byteByByte(bytes(res('ECHO_RES', 'first'), res('ECHO_RES', 'second'), res('ECHO_RES', 'third'))));
    expect(render(run.items)).toEqual(render(['first', 'second', 'third'].map((d) => pkt('ECHO_RES', Buffer.from(d)))));
  });
});
