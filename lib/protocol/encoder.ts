/**
 * Binary packet encoder. Arguments are validated against the packet table and gearmand's limits
 * before a byte is written, so a bad argument fails the one call that gave it.
 *
 * @module
 */
import { CommandType, COMMANDS, HEADER_SIZE, MAGIC_REQ, MAGIC_RES, commandName, type CommandSpec } from './commands.js';
import { ProtocolError } from '../errors.js';

/** One packet argument: text (sent as UTF-8) or raw bytes. */
export type PacketArg = string | Uint8Array;

/** gearmand stores at most 63 bytes of a unique (protocol.md §4.11). */
export const MAX_UNIQUE_BYTES = 63;
/** gearmand silently ignores GET_STATUS for a handle of 64 bytes or more (protocol.md §4.12). */
export const MAX_HANDLE_BYTES = 63;
/** gearmand's receive buffer: the header and every non-data argument must fit (protocol.md §1.1). */
export const SERVER_BUFFER_BYTES = 8192;

const T = CommandType;
const UNIQUE_LIMITED: ReadonlySet<number> = new Set([
  T.SUBMIT_JOB, T.SUBMIT_JOB_BG, T.SUBMIT_JOB_HIGH, T.SUBMIT_JOB_HIGH_BG, T.SUBMIT_JOB_LOW,
  T.SUBMIT_JOB_LOW_BG, T.SUBMIT_JOB_EPOCH, T.SUBMIT_JOB_SCHED, T.GET_STATUS_UNIQUE,
]);
const HANDLE_LIMITED: ReadonlySet<number> = new Set([T.GET_STATUS]);

function byteLength(arg: PacketArg): number {
  return typeof arg === 'string' ? Buffer.byteLength(arg, 'utf8') : arg.byteLength;
}

function hasNul(arg: PacketArg): boolean {
  if (typeof arg === 'string') return arg.indexOf('\0') !== -1;
  return arg.indexOf(0) !== -1;
}

/**
 * Checks `args` against the packet table (what any receiver can frame) and gearmand's receive
 * limits (what gearmand accepts from a client or worker). Everything a client sends goes through
 * this; the embedded server checks only {@link validateWire}, as gearmand sends what it was sent.
 *
 * @returns the table row of `type`
 * @throws {@link ProtocolError} for an unknown type, a wrong argument count, a value that is not
 * a string or bytes, a NUL in any argument but the last, a unique over 63 bytes, a GET_STATUS
 * handle over 63 bytes, or non-data arguments beyond gearmand's 8 KiB receive buffer
 * @internal
 */
export function validatePacket(type: number, args: readonly PacketArg[]): CommandSpec {
  const spec = validateWire(type, args);
  checkReceiveLimits(spec, args);
  return spec;
}

/**
 * Wire validity only: a known type, its exact argument count, strings or bytes, no NUL in any
 * argument but the last. A packet that passes is framed the same by every receiver.
 *
 * @returns the table row of `type`
 * @throws {@link ProtocolError} naming the packet and the argument
 * @internal
 */
export function validateWire(type: number, args: readonly PacketArg[]): CommandSpec {
  const spec = COMMANDS[type];
  if (spec === undefined) throw new ProtocolError(`cannot encode packet type ${type}: not a Gearman packet type`);
  const n = spec.args.length;
  if (args.length !== n) {
    throw new ProtocolError(`${spec.name} takes ${n} argument(s) (${spec.args.join(', ')}), got ${args.length}`);
  }
  for (let i = 0; i < n; i++) {
    const arg = args[i];
    if (typeof arg !== 'string' && !(arg instanceof Uint8Array)) {
      throw new ProtocolError(`${spec.name} argument ${spec.args[i]} must be a string or bytes, got ${describe(arg)}`);
    }
    if (i < n - 1 && hasNul(arg)) {
      throw new ProtocolError(`${spec.name} argument ${spec.args[i]} must not contain a NUL byte`);
    }
  }
  return spec;
}

/**
 * gearmand 1.1.20's receive limits (protocol.md §1.1, §1.2) for a packet that passed
 * {@link validateWire}: uniques and GET_STATUS handles of at most 63 bytes, the header and every
 * non-data argument within its 8 KiB receive buffer.
 *
 * @throws {@link ProtocolError} naming the limit
 * @internal
 */
export function checkReceiveLimits(spec: CommandSpec, args: readonly PacketArg[]): void {
  const type = spec.type;
  const n = spec.args.length;
  // Upper bound of the bytes gearmand must buffer before it finds the packet's data.
  let headBound = HEADER_SIZE;
  for (let i = 0; i < n; i++) {
    if (i < n - 1 || !spec.binaryLast) {
      const arg = args[i]!;
      headBound += (typeof arg === 'string' ? arg.length * 3 : arg.byteLength) + 1;
    }
  }
  if (UNIQUE_LIMITED.has(type)) {
    const unique = (type === T.GET_STATUS_UNIQUE ? args[0] : args[1])!;
    const len = byteLength(unique);
    if (len > MAX_UNIQUE_BYTES) {
      throw new ProtocolError(`${spec.name}: unique is ${len} bytes; gearmand keeps at most ${MAX_UNIQUE_BYTES}`);
    }
  } else if (HANDLE_LIMITED.has(type)) {
    const len = byteLength(args[0]!);
    if (len > MAX_HANDLE_BYTES) {
      throw new ProtocolError(`${spec.name}: handle is ${len} bytes; gearmand answers none over ${MAX_HANDLE_BYTES}`);
    }
  }
  if (headBound > SERVER_BUFFER_BYTES) {
    let exact = HEADER_SIZE;
    for (let i = 0; i < n; i++) if (i < n - 1 || !spec.binaryLast) exact += byteLength(args[i]!) + 1;
    if (exact > SERVER_BUFFER_BYTES) {
      throw new ProtocolError(
        `${spec.name}: its non-data arguments take ${exact} bytes; gearmand closes the connection over ${SERVER_BUFFER_BYTES}`,
      );
    }
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return typeof value;
}

/**
 * Encodes one packet, allocating exactly once.
 *
 * @param type - packet type number ({@link CommandType})
 * @param args - the arguments in wire order; strings are sent as UTF-8
 * @param magic - {@link MAGIC_REQ} (default) or `MAGIC_RES` (what a server sends)
 * @returns the packet bytes
 * @throws {@link ProtocolError} if the arguments do not fit the packet (see validatePacket; with
 * `MAGIC_RES`, what a server sends, wire validity only)
 *
 * @example
 * ```ts
 * encodePacket(CommandType.SUBMIT_JOB, ['reverse', '', 'test']);
 * ```
 */
export function encodePacket(type: number, args: readonly PacketArg[] = [], magic: number = MAGIC_REQ): Buffer {
  if (magic === MAGIC_RES) validateWire(type, args);
  else validatePacket(type, args);
  let size = args.length > 0 ? args.length - 1 : 0;
  for (const arg of args) size += byteLength(arg);
  const buf = Buffer.allocUnsafe(HEADER_SIZE + size);
  writeArgs(buf, 0, type, args, magic);
  return buf;
}

/**
 * Writes `text` as UTF-8 at `pos` and returns the end offset. Short ASCII text (task names,
 * handles, uniques) is copied in a loop, cheaper than a call into the native encoder.
 */
function writeString(buf: Buffer, pos: number, text: string): number {
  const len = text.length;
  if (len <= 64) {
    let j = 0;
    for (; j < len; j++) {
      const c = text.charCodeAt(j);
      if (c >= 0x80) break;
      buf[pos + j] = c;
    }
    if (j === len) return pos + len;
  }
  return pos + buf.write(text, pos, 'utf8');
}

/** Writes header and arguments at `offset`; `buf` must have room. Returns the end offset. */
function writeArgs(buf: Buffer, offset: number, type: number, args: readonly PacketArg[], magic: number): number {
  let pos = offset + HEADER_SIZE;
  for (let i = 0; i < args.length; i++) {
    if (i > 0) buf[pos++] = 0;
    const arg = args[i]!;
    if (typeof arg === 'string') pos = writeString(buf, pos, arg);
    else {
      buf.set(arg, pos);
      pos += arg.byteLength;
    }
  }
  buf.writeUInt32BE(magic, offset);
  buf.writeUInt32BE(type, offset + 4);
  buf.writeUInt32BE(pos - offset - HEADER_SIZE, offset + 8);
  return pos;
}

/**
 * A growable output buffer that packets are encoded into directly, so that everything queued in
 * one turn of the event loop goes out in one socket write without a copy per packet.
 *
 * @internal
 */
export class PacketWriter {
  private buf: Buffer;
  /** Bytes written so far. */
  length = 0;

  constructor(private readonly initialSize = 16 * 1024) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  private ensure(extra: number): void {
    const need = this.length + extra;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  /**
   * Validates and appends one packet.
   *
   * @throws {@link ProtocolError} as {@link encodePacket}; nothing is appended then
   */
  writePacket(type: number, args: readonly PacketArg[], magic: number = MAGIC_REQ, validated = false): void {
    // `validated`: the caller already ran validatePacket on these exact arguments. What a server
    // writes (RES magic) is held to wire validity only: gearmand's receive limits are not its own.
    if (!validated) {
      if (magic === MAGIC_RES) validateWire(type, args);
      else validatePacket(type, args);
    }
    // Worst case 3 bytes per UTF-16 code unit; avoids a second pass over every string.
    let bound = HEADER_SIZE + args.length;
    for (let i = 0; i < args.length; i++) {
      const arg = args[i]!;
      bound += typeof arg === 'string' ? arg.length * 3 : arg.byteLength;
    }
    this.ensure(bound);
    this.length = writeArgs(this.buf, this.length, type, args, magic);
  }

  /** Appends raw bytes (an admin text line). */
  writeRaw(data: string | Uint8Array): void {
    if (typeof data === 'string') {
      this.ensure(data.length * 3);
      this.length += this.buf.write(data, this.length, 'utf8');
    } else {
      this.ensure(data.byteLength);
      this.buf.set(data, this.length);
      this.length += data.byteLength;
    }
  }

  /**
   * Takes everything written so far as one buffer the caller owns, and empties the writer.
   * Small contents are copied out so the writer's buffer is reused; large ones are handed over.
   */
  take(): Buffer {
    const len = this.length;
    this.length = 0;
    if (len <= 4096) return Buffer.from(this.buf.subarray(0, len));
    const out = this.buf.subarray(0, len);
    this.buf = Buffer.allocUnsafe(this.initialSize);
    return out;
  }

  /**
   * Writes everything queued to `socket` straight from the writer's buffer, without the copy of
   * {@link take}, and empties the writer. The buffer is written into again only when the socket
   * took every byte at once (`writableLength` 0: nothing of it is still referenced); otherwise the
   * socket keeps it and the writer starts a new one. For plain TCP sockets (a TLS socket may hold
   * plaintext until its handshake is done).
   */
  writeTo(socket: { write(data: Uint8Array): boolean; readonly writableLength: number }): void {
    const len = this.length;
    this.length = 0;
    socket.write(this.buf.subarray(0, len));
    if (socket.writableLength !== 0) this.buf = Buffer.allocUnsafe(this.initialSize);
  }

  /** Drops everything written so far. */
  clear(): void {
    this.length = 0;
  }
}

/** Name of a packet type for messages. @internal */
export { commandName };
