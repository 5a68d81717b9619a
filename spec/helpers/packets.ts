// Packet builders for spec fixtures. They assemble bytes independently of lib/protocol's encoder
// (no validation at all), so a fixture can also be malformed on purpose, and the encoder can be
// checked against them.
import { createHash } from 'node:crypto';
import { CommandType, type CommandName } from '../../lib/protocol/commands.js';
import { PacketDecoder, type PacketDecoderOptions } from '../../lib/protocol/decoder.js';

/** A magic: `'REQ'` (`\0REQ`), `'RES'` (`\0RES`), a 32-bit number, or exactly 4 raw bytes. */
export type MagicSpec = 'REQ' | 'RES' | number | Uint8Array | readonly number[];

/** A packet type: its number (anything, even invalid) or its PROTOCOL name. */
export type TypeSpec = number | CommandName;

/** One argument: text (UTF-8) or bytes. */
export type Arg = string | Uint8Array;

function magicBytes(magic: MagicSpec): Buffer {
  if (magic === 'REQ') return Buffer.from([0, 0x52, 0x45, 0x51]);
  if (magic === 'RES') return Buffer.from([0, 0x52, 0x45, 0x53]);
  if (typeof magic === 'number') {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(magic >>> 0, 0);
    return b;
  }
  const b = Buffer.from(magic as Uint8Array);
  if (b.length !== 4) throw new Error(`a magic is 4 bytes, got ${b.length}`);
  return b;
}

function typeNumber(type: TypeSpec): number {
  return typeof type === 'number' ? type : CommandType[type];
}

function argBytes(arg: Arg): Buffer {
  return typeof arg === 'string' ? Buffer.from(arg, 'utf8') : Buffer.from(arg);
}

/**
 * A raw 12-byte header: any magic, any type, any declared size (up to 2^32 - 1).
 */
export function header(magic: MagicSpec, type: TypeSpec, size: number): Buffer {
  const b = Buffer.alloc(12);
  magicBytes(magic).copy(b, 0);
  b.writeUInt32BE(typeNumber(type) >>> 0, 4);
  b.writeUInt32BE(size >>> 0, 8);
  return b;
}

/** A header whose size field is the length of `payload`, followed by `payload`. */
export function rawPacket(magic: MagicSpec, type: TypeSpec, payload: Arg = ''): Buffer {
  const body = argBytes(payload);
  return Buffer.concat([header(magic, type, body.length), body]);
}

/** The payload of `args`: the arguments joined by single NUL bytes. */
export function payload(args: readonly Arg[]): Buffer {
  const parts: Buffer[] = [];
  args.forEach((arg, i) => {
    if (i > 0) parts.push(Buffer.from([0]));
    parts.push(argBytes(arg));
  });
  return Buffer.concat(parts);
}

/** A packet of `type` with `args` joined by NUL, under any magic. No checks. */
export function packet(magic: MagicSpec, type: TypeSpec, args: readonly Arg[] = []): Buffer {
  return rawPacket(magic, type, payload(args));
}

/** A `\0REQ` packet (what clients and workers send). */
export function req(type: TypeSpec, ...args: Arg[]): Buffer {
  return packet('REQ', type, args);
}

/** A `\0RES` packet (what the server sends). */
export function res(type: TypeSpec, ...args: Arg[]): Buffer {
  return packet('RES', type, args);
}

/** An admin text line with its ending (`'\n'` by default, or `'\r\n'`). */
export function textLine(line: string, ending: '\n' | '\r\n' = '\n'): Buffer {
  return Buffer.from(line + ending, 'utf8');
}

/** Several lines, each with `ending`. */
export function textLines(lines: readonly string[], ending: '\n' | '\r\n' = '\n'): Buffer {
  return Buffer.concat(lines.map((line) => textLine(line, ending)));
}

/** Concatenates byte fixtures. */
export function bytes(...parts: Arg[]): Buffer {
  return Buffer.concat(parts.map(argBytes));
}

/** `n` bytes cycling through 0..255 (so NULs are included), different for each `seed`. */
export function binary(n: number, seed = 0): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

/** Splits `buf` into chunks at the given offsets (sorted, within the buffer), copying each chunk. */
export function splitAt(buf: Buffer, cuts: readonly number[]): Buffer[] {
  const chunks: Buffer[] = [];
  let last = 0;
  for (const cut of cuts) {
    chunks.push(Buffer.from(buf.subarray(last, cut)));
    last = cut;
  }
  chunks.push(Buffer.from(buf.subarray(last)));
  return chunks;
}

/** Every one-byte chunk of `buf`. */
export function byteByByte(buf: Buffer): Buffer[] {
  const chunks: Buffer[] = new Array(buf.length);
  for (let i = 0; i < buf.length; i++) chunks[i] = buf.subarray(i, i + 1);
  return chunks;
}

// ------------------------------------------------------------------------------------------------
// Decoding fixtures


/** What a decoder produced: a packet (type and arguments) or an admin text line. */
export type Decoded = { type: number; args: Array<string | Buffer> } | { line: string };

/**
 * A comparable rendering of decoded items: text arguments as `s:<json>`, bytes as `b:<hex>`, so
 * that a string never equals bytes with the same content.
 */
export function render(items: readonly Decoded[]): string[] {
  return items.map((item) =>
    'line' in item
      ? `line ${JSON.stringify(item.line)}`
      : `${item.type} ${item.args.map((a) => (typeof a === 'string' ? `s:${JSON.stringify(a)}` : renderBytes(a))).join(' ')}`,
  );
}

function renderBytes(b: Buffer): string {
  // Large payloads by length and digest, so comparing megabyte fixtures stays cheap.
  if (b.length > 1024) return `b:${b.length}:${createHash('sha256').update(b).digest('hex')}`;
  return `b:${b.toString('hex')}`;
}

/** The items a fixture should decode to, built from their definitions. */
export function pkt(type: TypeSpec, ...args: Array<string | Uint8Array>): Decoded {
  return { type: typeNumber(type), args: args.map((a) => (typeof a === 'string' ? a : Buffer.from(a))) };
}

/** A text line item. */
export function line(text: string): Decoded {
  return { line: text };
}

/** Result of feeding chunks to a fresh decoder. */
export interface DecodeRun {
  items: Decoded[];
  decoder: PacketDecoder;
  /** The first error thrown by push() or end(), if any. */
  error: unknown;
  /** Bytes pushed up to and including the push that threw (or all of them). */
  pushedWhenThrown: number;
  /** Whether the error came from end(). */
  fromEnd: boolean;
}

/** Feeds `chunks` to a new decoder, then calls end() if nothing threw (unless `end` is false). */
export function decodeChunks(chunks: readonly Buffer[], options: PacketDecoderOptions = {}, end = true): DecodeRun {
  const items: Decoded[] = [];
  const decoder = new PacketDecoder(
    {
      onPacket: (type, args) => items.push({ type, args: args.slice() }),
      onText: (text) => items.push({ line: text }),
    },
    options,
  );
  let pushed = 0;
  for (const chunk of chunks) {
    pushed += chunk.length;
    try {
      decoder.push(chunk);
    } catch (error) {
      return { items, decoder, error, pushedWhenThrown: pushed, fromEnd: false };
    }
  }
  if (end) {
    try {
      decoder.end();
    } catch (error) {
      return { items, decoder, error, pushedWhenThrown: pushed, fromEnd: true };
    }
  }
  return { items, decoder, error: undefined, pushedWhenThrown: pushed, fromEnd: false };
}

/** Every way to cut `length` bytes into two non-empty chunks: [[1], [2], ..., [length - 1]]. */
export function twoChunkCuts(length: number): number[][] {
  const cuts: number[][] = [];
  for (let i = 1; i < length; i++) cuts.push([i]);
  return cuts;
}

/** Every way to cut `length` bytes into three non-empty chunks. */
export function threeChunkCuts(length: number): number[][] {
  const cuts: number[][] = [];
  for (let i = 1; i < length; i++) for (let j = i + 1; j < length; j++) cuts.push([i, j]);
  return cuts;
}
