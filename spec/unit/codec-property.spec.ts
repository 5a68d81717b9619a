// Property-based checks of the codec (fast-check), beside the hand-written fixtures of
// codec-roundtrip, codec-hostile and admin-protocol:
// - any sequence of valid packets of every type of the packet table, under either magic, encoded
//   and cut into chunks at any points, decodes to exactly those packets; with admin text allowed,
//   text lines mixed in between packets too;
// - any bytes (random, header-shaped, or a valid stream mutated, truncated or with bytes spliced
//   in) give only the codec's own ProtocolError, after which the decoder refuses input; no single
//   allocation of the decoder is larger than the bytes received so far, the bytes it holds are
//   exactly those received and not yet decoded, and the total it allocates grows with the bytes
//   and chunks received, not with what a header declares;
// - a sink that throws leaves the decoder consistent: what was delivered is a prefix of the
//   stream and the offset points just past it;
// - the admin text parsers give rows or a ProtocolError for any line, and read back rows written
//   in gearmand's formats.
//
// Packet types per magic come from `typesFor()`: when the packet table gains a direction, it is
// the one place to narrow (a \0REQ decoder then only gets request types, and the random-bytes
// properties stay as they are since a refused direction is a ProtocolError too).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COMMANDS, MAGIC_REQ, MAGIC_RES, type CommandSpec } from '../../lib/protocol/commands.js';
import { PacketDecoder, type PacketDecoderOptions } from '../../lib/protocol/decoder.js';
import { encodePacket } from '../../lib/protocol/encoder.js';
import { isErrLine, parseErrLine, parseJobs, parseStatus, parseWorkers } from '../../lib/protocol/admin.js';
import { ProtocolError, ServerError } from '../../lib/errors.js';
import { binary, header, packet, pkt, render, splitAt, type Decoded } from '../helpers/packets.js';

/** Runs per property: enough to reach every packet type many times, fast enough for the unit tier. */
const RUNS = Number(process.env.CODEC_PROPERTY_RUNS ?? 300);
const SEED = process.env.CODEC_PROPERTY_SEED === undefined ? undefined : Number(process.env.CODEC_PROPERTY_SEED);
const params = { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }) };

const TABLE: readonly CommandSpec[] = COMMANDS.filter((spec): spec is CommandSpec => spec !== undefined);

/** The packet types a decoder expecting `magic` accepts. Today: every type under both magics. */
function typesFor(_magic: number): readonly CommandSpec[] {
  return TABLE;
}

// ------------------------------------------------------------------------------------------------
// Generators

/** A text argument before the last: no NUL; at most 12 code points, so a unique stays within 63 bytes. */
const textArg = fc.string({ unit: 'binary', maxLength: 12 }).filter((s) => !s.includes('\0'));
/** A text last argument: it may hold NUL bytes (nothing follows it). */
const lastText = fc.string({ unit: 'binary', maxLength: 12 });
/** Opaque data: mostly small; sometimes over the decoder's 16 KiB copy threshold. */
const data = fc.oneof(
  { weight: 12, arbitrary: fc.uint8Array({ maxLength: 80 }) },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 16 * 1024 - 2, max: 40 * 1024 }), fc.nat(255)).map(([n, seed]) => new Uint8Array(binary(n, seed))) },
);

interface Pkt {
  spec: CommandSpec;
  args: Array<string | Uint8Array>;
}

function packetOf(spec: CommandSpec): fc.Arbitrary<Pkt> {
  const n = spec.args.length;
  const args: Array<fc.Arbitrary<string | Uint8Array>> = [];
  for (let i = 0; i < n; i++) args.push(i < n - 1 ? textArg : spec.binaryLast ? data : lastText);
  return fc.tuple(...args).map((a) => ({ spec, args: a }));
}

function packetFor(magic: number): fc.Arbitrary<Pkt> {
  return fc.oneof(...typesFor(magic).map(packetOf));
}

interface Line {
  line: string;
  ending: '\n' | '\r\n';
}

/** An admin text line: not starting with NUL (that starts a packet), no `\n`, not ending in `\r`. */
const textLine: fc.Arbitrary<Line> = fc.record({
  line: fc.string({ unit: 'binary', maxLength: 40 }).filter((s) => !s.includes('\n') && !s.startsWith('\0') && !s.endsWith('\r')),
  ending: fc.constantFrom('\n' as const, '\r\n' as const),
});

type Item = Pkt | Line;

function itemBytes(item: Item, magic: number): Buffer {
  return 'line' in item ? Buffer.from(item.line + item.ending, 'utf8') : encodePacket(item.spec.type, item.args, magic);
}

function expected(item: Item): Decoded & { crlf?: boolean } {
  return 'line' in item ? { line: item.line, crlf: item.ending === '\r\n' } : pkt(item.spec.type, ...item.args);
}

/** Cut points for a stream of `length` bytes: `cuts` are reduced into range, sorted, deduplicated. */
function cutsOf(raw: readonly number[], length: number): number[] {
  if (length < 2) return [];
  return [...new Set(raw.map((c) => 1 + (c % (length - 1))))].sort((a, b) => a - b);
}

/** How a stream is cut: random points (often many), or one byte per chunk. */
const cutting = fc.oneof(
  { weight: 4, arbitrary: fc.array(fc.nat(), { maxLength: 40 }).map((raw) => ({ raw, byteByByte: false })) },
  { weight: 1, arbitrary: fc.constant({ raw: [] as number[], byteByByte: true }) },
);

function chunksOf(stream: Buffer, cut: { raw: readonly number[]; byteByByte: boolean }): Buffer[] {
  // Each chunk gets its own memory (Buffer.alloc never uses the shared pool), as socket reads do.
  const own = (b: Buffer): Buffer => {
    const copy = Buffer.alloc(b.length);
    b.copy(copy);
    return copy;
  };
  if (cut.byteByByte && stream.length <= 4096) {
    const chunks: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) chunks.push(own(stream.subarray(i, i + 1)));
    return chunks;
  }
  return splitAt(stream, cutsOf(cut.raw, stream.length)).map(own);
}

// ------------------------------------------------------------------------------------------------
// A decoder under observation

/** Buffer factories the decoder may allocate through; each is wrapped to record sizes. */
const ALLOCATORS = ['alloc', 'allocUnsafe', 'allocUnsafeSlow'] as const;

interface Observed {
  items: Array<Decoded & { crlf?: boolean }>;
  /** The first error thrown by push() or end(). */
  error: unknown;
  fromEnd: boolean;
  /** Bytes pushed up to and including the push that threw, or all of them. */
  received: number;
  pushes: number;
  /** Every allocation the decoder made, and the bytes received when it made it. */
  allocations: Array<{ size: number; received: number }>;
  /** Invariant violations seen after pushes (checked as they happen, reported at the end). */
  violations: string[];
  decoder: PacketDecoder;
}

/**
 * Pushes `chunks` into a new decoder, then calls end() (unless told not to), recording what the
 * sink got, every Buffer allocation made inside push()/end(), and after every push that the bytes
 * held equal the bytes received minus the decoded offset. `throwOn`: indices of items whose
 * delivery throws from the sink.
 */
function observe(chunks: readonly Buffer[], options: PacketDecoderOptions, opts: { end?: boolean; throwOn?: ReadonlySet<number>; continueAfterSinkThrow?: boolean } = {}): Observed {
  const items: Observed['items'] = [];
  const throwOn = opts.throwOn ?? new Set<number>();
  const sinkError = new Error('sink throws');
  let inside = false;
  // The sink's own copies of what it receives are not the decoder's allocations.
  const deliver = (make: () => Decoded & { crlf?: boolean }): void => {
    const index = items.length;
    inside = false;
    try {
      items.push(make());
    } finally {
      inside = true;
    }
    if (throwOn.has(index)) throw sinkError;
  };
  const decoder = new PacketDecoder(
    {
      onPacket: (type, args) => deliver(() => ({ type, args: args.map((a) => (typeof a === 'string' ? a : Buffer.from(a))) })),
      onText: (line, crlf) => deliver(() => ({ line, crlf })),
    },
    options,
  );
  const obs: Observed = { items, error: undefined, fromEnd: false, received: 0, pushes: 0, allocations: [], violations: [], decoder };
  const originals = ALLOCATORS.map((name) => [name, Buffer[name]] as const);
  for (const [name, original] of originals) {
    (Buffer as unknown as Record<string, unknown>)[name] = function (this: unknown, size: number, ...rest: unknown[]) {
      if (inside) obs.allocations.push({ size, received: obs.received });
      return (original as (...a: unknown[]) => Buffer).call(this, size, ...rest);
    };
  }
  try {
    for (const chunk of chunks) {
      obs.received += chunk.length;
      obs.pushes++;
      inside = true;
      try {
        decoder.push(chunk);
      } catch (error) {
        if (error === sinkError) {
          if (opts.continueAfterSinkThrow) continue;
          obs.error = error;
          return obs;
        }
        obs.error = error;
        return obs;
      } finally {
        inside = false;
      }
      if (decoder.bufferedBytes !== obs.received - decoder.offset) {
        obs.violations.push(`after ${obs.received} bytes: bufferedBytes ${decoder.bufferedBytes}, received - offset ${obs.received - decoder.offset}`);
      }
    }
    if (opts.end !== false) {
      inside = true;
      try {
        decoder.end();
      } catch (error) {
        obs.error = error;
        obs.fromEnd = true;
      } finally {
        inside = false;
      }
    }
    return obs;
  } finally {
    for (const [name, original] of originals) (Buffer as unknown as Record<string, unknown>)[name] = original;
  }
}

/**
 * The decoder's memory contract: no allocation larger than what had been received when it was
 * made (a declared size never allocates up front), and in all at most the bytes received plus a
 * constant per push (a packet spanning chunks is copied once; per push, at most a header or the
 * error excerpt is copied). Re-concatenating the backlog per push breaks the second bound.
 */
function checkMemory(obs: Observed): void {
  expect(obs.violations).toEqual([]);
  for (const a of obs.allocations) expect(a.size, `an allocation of ${a.size} bytes after ${a.received} received`).toBeLessThanOrEqual(a.received);
  const total = obs.allocations.reduce((sum, a) => sum + a.size, 0);
  expect(total, `allocated ${total} bytes for ${obs.received} bytes in ${obs.pushes} pushes`).toBeLessThanOrEqual(obs.received + 32 * obs.pushes);
}

/** Decoded items rendered for comparison, with the line ending kind of text lines. */
function rendered(items: ReadonlyArray<Decoded & { crlf?: boolean }>): string[] {
  return items.map((item) => render([item])[0]! + ('line' in item ? (item.crlf ? ' crlf' : ' lf') : ''));
}

const MAGICS = [
  ['\\0REQ', MAGIC_REQ],
  ['\\0RES', MAGIC_RES],
] as const;

// ------------------------------------------------------------------------------------------------

describe('codec properties: valid streams cut anywhere', () => {
  for (const [name, magic] of MAGICS) {
    it(`any sequence of ${name} packets of every type decodes to the same packets however it is cut`, () => {
      fc.assert(
        fc.property(fc.array(packetFor(magic), { maxLength: 12 }), cutting, (packets, cut) => {
          const encoded = packets.map((p) => itemBytes(p, magic));
          // The encoder writes what the independent builder of spec/helpers/packets.ts writes.
          packets.forEach((p, i) => expect(encoded[i]!.equals(packet(magic, p.spec.type, p.args))).toBe(true));
          const stream = Buffer.concat(encoded);
          const obs = observe(chunksOf(stream, cut), { magic });
          expect(obs.error).toBeUndefined();
          expect(rendered(obs.items)).toEqual(rendered(packets.map(expected)));
          expect(obs.decoder.offset).toBe(stream.length);
          expect(obs.decoder.bufferedBytes).toBe(0);
          checkMemory(obs);
        }),
        params,
      );
    });

    it(`with admin text allowed, ${name} packets and text lines in any order decode the same however they are cut`, () => {
      fc.assert(
        fc.property(fc.array(fc.oneof(packetFor(magic), textLine), { maxLength: 16 }), cutting, (items, cut) => {
          const stream = Buffer.concat(items.map((item) => itemBytes(item, magic)));
          const obs = observe(chunksOf(stream, cut), { magic, allowText: true });
          expect(obs.error).toBeUndefined();
          expect(rendered(obs.items)).toEqual(rendered(items.map(expected)));
          expect(obs.decoder.bufferedBytes).toBe(0);
          checkMemory(obs);
        }),
        params,
      );
    });
  }

  it('delivered packets do not change as later chunks arrive, and small payloads pin no socket chunk', () => {
    fc.assert(
      fc.property(fc.array(packetFor(MAGIC_RES), { minLength: 1, maxLength: 8 }), cutting, (packets, cut) => {
        const stream = Buffer.concat(packets.map((p) => itemBytes(p, MAGIC_RES)));
        const chunks = chunksOf(stream, cut);
        const pristine = chunks.map((c) => Buffer.from(c));
        const seen: Array<{ type: number; args: Array<string | Buffer> }> = [];
        const atDelivery: string[] = [];
        const decoder = new PacketDecoder({
          onPacket: (type, args) => {
            seen.push({ type, args });
            atDelivery.push(rendered([{ type, args }])[0]!);
          },
        });
        for (const chunk of chunks) decoder.push(chunk);
        // The decoder never writes into what it was given, nor into what it delivered.
        chunks.forEach((c, i) => expect(c.equals(pristine[i]!)).toBe(true));
        expect(rendered(seen)).toEqual(atDelivery);
        expect(atDelivery).toEqual(rendered(packets.map(expected)));
        // Payloads under 1 KiB are copies: overwriting the chunks (as a pooled reader could) leaves them.
        for (const chunk of chunks) chunk.fill(0xee);
        const small = (items: ReadonlyArray<{ type: number; args: ReadonlyArray<string | Uint8Array> }>) =>
          rendered(items.filter((p) => p.args.every((a) => typeof a === 'string' || a.length < 1024)).map((p) => pkt(p.type, ...p.args)));
        expect(small(seen)).toEqual(small(packets.map((p) => ({ type: p.spec.type, args: p.args }))));
      }),
      { ...params, numRuns: Math.ceil(RUNS / 2) },
    );
  });
});

// ------------------------------------------------------------------------------------------------
// Hostile bytes

const u32 = fc.oneof(
  fc.integer({ min: 0, max: 45 }),
  fc.constantFrom(0, 5, 43, 0x7fffffff, 0x80000000, 0xffffffff),
  fc.integer({ min: 0, max: 0xffffffff }),
);

/** 12 bytes shaped like a header: a real or nearly real magic, a type and a size of any kind. */
const headerish = fc
  .tuple(
    fc.oneof(fc.constantFrom<'REQ' | 'RES'>('REQ', 'RES'), fc.uint8Array({ minLength: 4, maxLength: 4 })),
    u32,
    fc.oneof(fc.integer({ min: 0, max: 64 }), u32),
    fc.uint8Array({ maxLength: 96 }),
  )
  .map(([magic, type, size, payload]) => Buffer.concat([header(magic, type, size), payload]));

/** A valid stream (packets and lines) with bytes overwritten, spliced in, or cut off. */
const mutated = fc
  .tuple(
    fc.constantFrom(MAGIC_REQ, MAGIC_RES),
    fc.array(fc.oneof(packetFor(MAGIC_RES), textLine), { minLength: 1, maxLength: 8 }),
    fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 6 }),
    fc.option(fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 24 }))),
    fc.option(fc.nat()),
  )
  .map(([magic, items, flips, splice, truncate]) => {
    let stream = Buffer.concat(items.map((item) => itemBytes(item, magic)));
    stream = Buffer.from(stream);
    for (const [at, byte] of flips) if (stream.length > 0) stream[at % stream.length] = byte;
    if (splice !== null) {
      const at = splice[0] % (stream.length + 1);
      stream = Buffer.concat([stream.subarray(0, at), splice[1], stream.subarray(at)]);
    }
    if (truncate !== null && stream.length > 0) stream = stream.subarray(0, truncate % stream.length);
    return stream;
  });

const hostileBytes = fc.oneof(
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
  fc.array(headerish, { minLength: 1, maxLength: 4 }).map((parts) => Buffer.concat(parts)),
  mutated,
);

/** Decoder options: either magic, text or not, default limits or small ones. */
const decoderOptions: fc.Arbitrary<PacketDecoderOptions> = fc.record({
  magic: fc.constantFrom(MAGIC_REQ, MAGIC_RES),
  allowText: fc.boolean(),
  maxPacketSize: fc.oneof(fc.constant(256 * 1024 * 1024), fc.integer({ min: 0, max: 64 })),
  maxLineLength: fc.oneof(fc.constant(1024 * 1024), fc.integer({ min: 0, max: 64 })),
});

describe('codec properties: hostile bytes', () => {
  it('any bytes, cut anywhere, give packets, lines or a ProtocolError; nothing else is thrown, memory stays bounded', () => {
    fc.assert(
      fc.property(hostileBytes, cutting, decoderOptions, (stream, cut, options) => {
        const chunks = chunksOf(stream, cut);
        const obs = observe(chunks, options);
        if (obs.error !== undefined) {
          expect(obs.error).toBeInstanceOf(ProtocolError);
          const error = obs.error as ProtocolError;
          expect(error.code).toBe('PROTOCOL_ERROR');
          expect(error.offset).toBeGreaterThanOrEqual(0);
          expect(error.offset!).toBeLessThanOrEqual(obs.received);
          expect(error.bytes!.length).toBeLessThanOrEqual(32);
          // Refused from now on, with the same error.
          expect(() => obs.decoder.push(Buffer.from([0]))).toThrow(error);
        } else {
          expect(obs.decoder.bufferedBytes).toBe(0);
          expect(obs.decoder.offset).toBe(stream.length);
        }
        checkMemory(obs);
      }),
      { ...params, numRuns: RUNS * 3 },
    );
  });

  it('the same bytes give the same outcome however they are cut', () => {
    fc.assert(
      fc.property(hostileBytes, cutting, decoderOptions, (stream, cut, options) => {
        const whole = observe([Buffer.from(stream)], options);
        const split = observe(chunksOf(stream, cut), options);
        expect(rendered(split.items)).toEqual(rendered(whole.items));
        expect(split.error === undefined).toBe(whole.error === undefined);
        if (whole.error !== undefined) {
          expect((split.error as ProtocolError).message).toBe((whole.error as ProtocolError).message);
          expect((split.error as ProtocolError).offset).toBe((whole.error as ProtocolError).offset);
        }
      }),
      { ...params, numRuns: RUNS * 2 },
    );
  });

  it('a header declaring up to maxPacketSize allocates nothing for it before its bytes arrive', () => {
    // Measured outside the allocation hooks too: the process's ArrayBuffer memory must not grow by
    // the declared size (256 MiB - 1 here) while a few KiB of it trickle in.
    fc.assert(
      fc.property(fc.constantFrom(MAGIC_REQ, MAGIC_RES), fc.integer({ min: 1, max: 40 }), (magic, pieces) => {
        const before = process.memoryUsage().arrayBuffers;
        const chunks = [Buffer.from(header(magic === MAGIC_REQ ? 'REQ' : 'RES', 'ECHO_RES', 256 * 1024 * 1024 - 1))];
        for (let i = 0; i < pieces; i++) chunks.push(Buffer.alloc(1024, i));
        const obs = observe(chunks, { magic }, { end: false });
        expect(obs.error).toBeUndefined();
        expect(obs.decoder.bufferedBytes).toBe(12 + 1024 * pieces);
        checkMemory(obs);
        expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 1024 * 1024);
      }),
      { ...params, numRuns: 20 },
    );
  });

  it('a sink that throws leaves the decoder consistent: a prefix delivered, the offset right after it', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(packetFor(MAGIC_RES), textLine), { minLength: 1, maxLength: 12 }),
        cutting,
        fc.uniqueArray(fc.nat(15), { maxLength: 4 }),
        (items, cut, throwAt) => {
          const encoded = items.map((item) => itemBytes(item, MAGIC_RES));
          const stream = Buffer.concat(encoded);
          const obs = observe(chunksOf(stream, cut), { allowText: true }, { end: false, throwOn: new Set(throwAt), continueAfterSinkThrow: true });
          expect(obs.error).toBeUndefined();
          const want = rendered(items.map(expected));
          const got = rendered(obs.items);
          expect(got).toEqual(want.slice(0, got.length));
          const decodedBytes = encoded.slice(0, got.length).reduce((sum, b) => sum + b.length, 0);
          expect(obs.decoder.offset).toBe(decodedBytes);
          expect(obs.decoder.bufferedBytes).toBe(stream.length - decodedBytes);
          // One more push (of nothing new but a line end the stream does not have) decodes the rest.
          if (got.length < want.length) {
            const rest: string[] = [];
            const again = new PacketDecoder({
              onPacket: (type, args) => rest.push(rendered([{ type, args }])[0]!),
              onText: (line, crlf) => rest.push(rendered([{ line, crlf }])[0]!),
            }, { allowText: true });
            again.push(stream.subarray(decodedBytes));
            expect(rest).toEqual(want.slice(got.length));
          }
          checkMemory(obs);
        },
      ),
      params,
    );
  });
});

// ------------------------------------------------------------------------------------------------
// Admin text parsers

const anyLine = fc.string({ unit: 'binary', maxLength: 60 });
/** Lines that are almost well-formed: tabs, digits, spaces, colons and a few letters. */
const nearLine = fc.string({ unit: fc.constantFrom('\t', ' ', ':', '-', '0', '1', '9', 'a', 'H', '.', '+', 'E', 'R'), maxLength: 30 });
const lines = fc.array(fc.oneof(anyLine, nearLine), { maxLength: 6 });

function rowsOrProtocolError(parse: () => unknown[]): void {
  try {
    parse();
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
  }
}

/** A name gearmand's listings can show: no tab, no line break, no NUL (tests of today's rules). */
const listedName = fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }).filter((s) => !/[\t\n\r\0]/.test(s));
/** A word of the `workers` listing: no whitespace at all. */
const word = fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }).filter((s) => !/[\s\0]/.test(s));
const count = fc.nat(1_000_000);

describe('admin text parsers: any line gives rows or a ProtocolError', () => {
  it('status, workers and show jobs listings of any lines: rows or a ProtocolError, nothing else', () => {
    fc.assert(
      fc.property(lines, (ls) => {
        rowsOrProtocolError(() => parseStatus(ls));
        rowsOrProtocolError(() => parseWorkers(ls));
        rowsOrProtocolError(() => parseJobs(ls));
      }),
      { ...params, numRuns: RUNS * 2 },
    );
  });

  it('ERR lines: any line is a ServerError or none, never a throw; a strict ERR line is an ERR line', () => {
    fc.assert(
      fc.property(fc.oneof(anyLine, nearLine, nearLine.map((s) => 'ERR ' + s)), (line) => {
        const error = parseErrLine(line, '127.0.0.1:4730: status');
        expect(error === undefined || error instanceof ServerError).toBe(true);
        expect(error !== undefined).toBe(isErrLine(line));
        if (isErrLine(line, true)) expect(isErrLine(line)).toBe(true);
      }),
      { ...params, numRuns: RUNS * 2 },
    );
  });

  it('rows written in gearmand formats read back as they were', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ task: listedName, queued: count, running: count, workers: count }), { maxLength: 5 }),
        fc.array(fc.record({ handle: listedName, retries: count, ignored: fc.nat(1), stored: fc.nat(1) }), { maxLength: 5 }),
        fc.array(
          fc.record({
            fileDescriptor: fc.nat(65535).map(String),
            ip: fc.constantFrom('127.0.0.1', '::1', '10.0.0.7'),
            clientId: fc.oneof(fc.constant('-'), word, fc.tuple(word, word).map(([a, b]) => `${a} ${b}`)),
            tasks: fc.array(word.filter((w) => w !== ':'), { maxLength: 4 }),
          }),
          { maxLength: 5 },
        ),
        (status, jobs, workers) => {
          expect(parseStatus(status.map((r) => `${r.task}\t${r.queued}\t${r.running}\t${r.workers}`))).toEqual(status);
          expect(parseJobs(jobs.map((r) => `${r.handle}\t${r.retries}\t${r.ignored}\t${r.stored}`))).toEqual(jobs);
          // gearmand: "FD IP CLIENT_ID : TASK TASK ..." with a space after the colon even with no task.
          expect(parseWorkers(workers.map((r) => `${r.fileDescriptor} ${r.ip} ${r.clientId} :${r.tasks.map((t) => ' ' + t).join('')}`))).toEqual(workers);
        },
      ),
      params,
    );
  });
});
