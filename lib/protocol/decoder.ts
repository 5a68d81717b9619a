/**
 * Incremental packet decoder.
 *
 * Bytes are kept as the chunks the socket delivered plus a count; nothing is re-concatenated per
 * read. Magic, type and size are checked as soon as a header is complete, so a hostile size is
 * refused before any of its bytes are waited for, and a packet's memory is only allocated (when it
 * spans chunks) once all of it has arrived.
 *
 * @module
 */
import { COMMANDS, HEADER_SIZE, MAGIC_REQ, MAGIC_RES, commandName, receivableBy, receiveMagic, sendMagic, type PacketSide } from './commands.js';
import { ProtocolError } from '../errors.js';

/** Decoded packet arguments: text arguments as strings, opaque data as a `Buffer`. */
export type PacketArgs = Array<string | Buffer>;

/** Receives what a {@link PacketDecoder} decodes. */
export interface PacketSink {
  /**
   * One binary packet.
   * @param type - its packet type number (`CommandType`)
   * @param args - its arguments, as many as the packet table says
   */
  onPacket(type: number, args: PacketArgs): void;
  /**
   * One admin text line, without its line ending; `crlf` tells whether it ended in `\r\n`
   * (gearmand ends `ERR` and `OK` answers so, listing rows with a bare `\n`). Only called when
   * text is allowed.
   * @param line - the line, without `\n` or `\r\n`
   * @param crlf - whether it ended in `\r\n`
   */
  onText?(line: string, crlf: boolean): void;
  /**
   * A whole packet this side must not receive, consumed without decoding its arguments:
   * `'direction'` for a type the other side sends (a server receiving JOB_ASSIGN_UNIQ),
   * `'magic'` for a header carrying the sender's own magic (`\0RES` sent to a server). Only
   * called when the decoder has a `side`; without this method such packets are a
   * {@link ProtocolError}. gearmand answers both with an ERROR and keeps the connection.
   * @param type - the refused packet's type number
   * @param reason - `'direction'` or `'magic'`, as above
   */
  onRefused?(type: number, reason: 'direction' | 'magic'): void;
}

/** Options of a {@link PacketDecoder}. */
export interface PacketDecoderOptions {
  /**
   * Expected magic.
   * @default MAGIC_RES (what a server sends), or the other side's magic when `side` is given
   */
  magic?: number;
  /**
   * The end of the connection this decoder reads for. When given, packets of a type only this
   * side sends (SUBMIT_JOB read by a client, JOB_ASSIGN_UNIQ read by a server) are refused, and
   * a header with this side's own magic goes to the sink's `onRefused` when it has one.
   * @default none (any packet type in the table is accepted)
   */
  side?: PacketSide;
  /**
   * Largest payload accepted; a header announcing more is a {@link ProtocolError} at once.
   * @default 268435456 (256 MiB)
   */
  maxPacketSize?: number;
  /**
   * Accept admin text lines: a non-NUL byte at a packet boundary starts a line.
   * @default false
   */
  allowText?: boolean;
  /**
   * Longest admin text line accepted.
   * @default 1048576
   */
  maxLineLength?: number;
  /**
   * Where the bytes come from (a connection's `host:port`): error messages start with it.
   * @default none
   */
  label?: string;
}

/** Per side, per type: may it be received. */
const RECEIVABLE: Record<PacketSide | 'any', readonly boolean[]> = {
  any: COMMANDS.map((spec) => spec !== undefined),
  client: COMMANDS.map((spec) => spec !== undefined && receivableBy(spec, 'client')),
  server: COMMANDS.map((spec) => spec !== undefined && receivableBy(spec, 'server')),
};

/** Payloads shorter than this are copied out of the socket chunk so they do not pin it. */
const COPY_BELOW = 16 * 1024;
const NO_ARGS: PacketArgs = [];
const ERROR_BYTES = 32;

/**
 * Incremental decoder of binary packets (and, optionally, admin text lines).
 *
 * @example
 * ```ts
 * const decoder = new PacketDecoder({ onPacket: (type, args) => console.log(type, args) });
 * socket.on('data', (chunk) => decoder.push(chunk));
 * ```
 */
export class PacketDecoder {
  private readonly magic: number;
  /** The magic refused packet by packet (not fatal), or -1. */
  private readonly ownMagic: number;
  /** Per type: may this side receive it (all true without a side). */
  private readonly receivable: readonly boolean[];
  private readonly maxPacketSize: number;
  private readonly allowText: boolean;
  private readonly maxLineLength: number;
  private readonly prefix: string;
  /** Unread chunks; the first one starts at the next unread byte. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Stream offset of the first unread byte. */
  private consumed = 0;
  private failure: ProtocolError | undefined;
  private readonly scratch = Buffer.allocUnsafe(HEADER_SIZE);
  /** Length of the packet at the head of `pending` once its header is validated, else 0: until
   * that many bytes are buffered a push has nothing to decode. */
  private awaiting = 0;
  /** Pending chunks (and their bytes) already searched for the newline of the line at the head. */
  private lineScanChunks = 0;
  private lineScanBytes = 0;

  /**
   * Makes a decoder that hands what it decodes to `sink`.
   *
   * @param sink - receives each packet and line
   * @param options - see {@link PacketDecoderOptions}
   */
  constructor(
    private readonly sink: PacketSink,
    options: PacketDecoderOptions = {},
  ) {
    const side = options.side;
    this.magic = options.magic ?? (side === undefined ? MAGIC_RES : receiveMagic(side));
    this.ownMagic = side !== undefined && sink.onRefused !== undefined ? sendMagic(side) : -1;
    this.receivable = RECEIVABLE[side ?? 'any'];
    this.maxPacketSize = options.maxPacketSize ?? 256 * 1024 * 1024;
    this.allowText = options.allowText ?? false;
    this.maxLineLength = options.maxLineLength ?? 1024 * 1024;
    this.prefix = options.label === undefined ? '' : `${options.label}: `;
  }

  /** Bytes received but not yet decoded (a partial packet or line). */
  get bufferedBytes(): number {
    return this.pendingBytes;
  }

  /** Bytes decoded so far: the stream offset of the next packet. */
  get offset(): number {
    return this.consumed;
  }

  /**
   * Decodes every complete packet in what has arrived so far, calling the sink for each.
   *
   * @param chunk - bytes as read from the socket; the decoder keeps a reference, never a copy
   * @throws {@link ProtocolError} on bad magic, an unknown type, a size over `maxPacketSize`, an
   * argument count that does not match the type, or an overlong text line; the decoder then refuses
   * further input. Errors thrown by the sink propagate; the decoder stays consistent.
   */
  push(chunk: Buffer): void {
    if (this.failure !== undefined) throw this.failure;
    if (chunk.length === 0) return;
    if (this.pendingBytes === 0) {
      this.parseChunk(chunk);
      return;
    }
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    // A large packet arriving in many chunks: nothing to do until all of it is here.
    if (this.pendingBytes < this.awaiting) return;
    this.drainPending();
  }

  /**
   * Declares the end of the stream.
   *
   * @throws {@link ProtocolError} if a partial packet or line was left undecoded; the decoder then
   * refuses further input (until {@link reset})
   */
  end(): void {
    if (this.failure !== undefined || this.pendingBytes === 0) return;
    const buffered = this.pendingBytes;
    // A copy: peek() may return the reused header scratch buffer.
    const head = Buffer.from(this.peek(Math.min(buffered, ERROR_BYTES)));
    const at = this.consumed;
    this.pending = [];
    this.pendingBytes = 0;
    this.failure = new ProtocolError(
      `${this.prefix}stream ended inside a packet: ${head.length === buffered ? head.length : 'more than ' + head.length} byte(s) of an incomplete packet at offset ${at}`,
      { bytes: head, offset: at },
    );
    throw this.failure;
  }

  /** Forgets everything buffered and any failure (for a reconnect). */
  reset(): void {
    this.pending = [];
    this.pendingBytes = 0;
    this.consumed = 0;
    this.failure = undefined;
    this.awaiting = 0;
    this.lineScanChunks = 0;
    this.lineScanBytes = 0;
  }

  /** Fast path: decode straight out of one chunk; keep only the unread tail. */
  private parseChunk(buf: Buffer): void {
    const end = buf.length;
    let off = 0;
    this.awaiting = 0;
    try {
      while (off < end) {
        if (buf[off] !== 0 && this.allowText) {
          const nl = buf.indexOf(10, off);
          this.checkLineLength((nl === -1 ? end : nl) - off, buf, off);
          if (nl === -1) break;
          const start = off;
          off = nl + 1;
          this.consumed += off - start;
          const crlf = nl > start && buf[nl - 1] === 13;
          this.emitLine(buf.toString('utf8', start, crlf ? nl - 1 : nl), crlf);
          continue;
        }
        if (end - off < HEADER_SIZE) {
          // Check the magic early: a stream that will never be valid fails now, not at close.
          if (end - off >= 4) this.checkMagic(buf.readUInt32BE(off), buf, off);
          break;
        }
        const size = this.checkHeader(buf, off);
        const total = HEADER_SIZE + size;
        if (end - off < total) {
          this.awaiting = total;
          break;
        }
        const type = buf.readUInt32BE(off + 4);
        const start = off;
        off += total;
        this.consumed += total;
        this.emitPacket(type, buf, start + HEADER_SIZE, off, false, start);
      }
    } finally {
      if (off < end) {
        this.pending.push(off === 0 ? buf : buf.subarray(off));
        this.pendingBytes += end - off;
      }
    }
  }

  /** Slow path: the next packet may span several chunks. */
  private drainPending(): void {
    while (this.pendingBytes > 0) {
      if (this.pending.length === 1) {
        const only = this.pending[0]!;
        this.pending = [];
        this.pendingBytes = 0;
        this.lineScanChunks = 0;
        this.lineScanBytes = 0;
        this.parseChunk(only);
        return;
      }
      const first = this.pending[0]!;
      if (first[0] !== 0 && this.allowText) {
        if (!this.drainLine()) return;
        continue;
      }
      if (this.pendingBytes < HEADER_SIZE) {
        if (this.pendingBytes >= 4) {
          const head = this.peek(4);
          this.checkMagic(head.readUInt32BE(0), head, 0);
        }
        return;
      }
      const header = this.peek(HEADER_SIZE);
      const size = this.checkHeader(header, 0);
      const total = HEADER_SIZE + size;
      if (this.pendingBytes < total) {
        this.awaiting = total;
        return;
      }
      this.awaiting = 0;
      const type = header.readUInt32BE(4);
      const start = this.consumed;
      if (first.length >= total) {
        // The whole packet sits in the first chunk: no copy.
        this.consume(total);
        this.emitPacket(type, first, HEADER_SIZE, total, false, 0, start);
      } else {
        const packet = this.take(total);
        this.emitPacket(type, packet, HEADER_SIZE, total, true, 0, start);
      }
    }
  }

  /** Decodes one line spanning chunks; false if its newline has not arrived. */
  private drainLine(): boolean {
    // Chunks searched by an earlier push hold no newline: search only the new ones, so a long
    // line arriving in many small chunks costs linear time.
    const pending = this.pending;
    let len = this.lineScanBytes;
    for (let i = this.lineScanChunks; i < pending.length; i++) {
      const chunk = pending[i]!;
      const nl = chunk.indexOf(10);
      if (nl !== -1) {
        if (len + nl > this.maxLineLength) this.checkLineLength(len + nl, this.peek(Math.min(this.pendingBytes, ERROR_BYTES)), 0);
        const line = this.take(len + nl + 1);
        const crlf = line.length >= 2 && line[line.length - 2] === 13;
        this.emitLine(line.toString('utf8', 0, crlf ? line.length - 2 : line.length - 1), crlf);
        return true;
      }
      len += chunk.length;
    }
    this.lineScanChunks = pending.length;
    this.lineScanBytes = len;
    const head = this.peek(Math.min(this.pendingBytes, ERROR_BYTES));
    this.checkLineLength(this.pendingBytes, head, 0);
    return false;
  }

  private emitLine(line: string, crlf: boolean): void {
    if (this.sink.onText === undefined) return;
    this.sink.onText(line, crlf);
  }

  /** `length`: bytes of the line before its `\n` (all buffered bytes if none arrived yet). */
  private checkLineLength(length: number, buf: Buffer, off: number): void {
    if (length > this.maxLineLength) {
      this.fail(`text line longer than maxLineLength ${this.maxLineLength} bytes`, buf, off, this.consumed);
    }
  }

  private checkMagic(magic: number, buf: Buffer, off: number): void {
    if (magic !== this.magic && magic !== this.ownMagic) {
      const expected = this.magic === MAGIC_RES ? '\\0RES' : this.magic === MAGIC_REQ ? '\\0REQ' : `0x${this.magic.toString(16)}`;
      this.fail(`bad magic 0x${magic.toString(16).padStart(8, '0')} (expected ${expected})`, buf, off, this.consumed);
    }
  }

  /** Validates magic, type and size of the header at `off`; returns the payload size. */
  private checkHeader(buf: Buffer, off: number): number {
    this.checkMagic(buf.readUInt32BE(off), buf, off);
    const type = buf.readUInt32BE(off + 4);
    // A server refuses the unused slot 5 as it refuses a response type (gearmand: ERROR), and
    // closes on 0 and anything past the table.
    if (COMMANDS[type] === undefined && !(this.ownMagic !== -1 && type > 0 && type < COMMANDS.length)) {
      this.fail(`unknown packet type ${type}`, buf, off, this.consumed);
    }
    const size = buf.readUInt32BE(off + 8);
    if (size > this.maxPacketSize) {
      this.fail(
        `${commandName(type)} packet declares ${size} bytes, over maxPacketSize ${this.maxPacketSize}`,
        buf,
        off,
        this.consumed,
      );
    }
    return size;
  }

  private fail(message: string, buf: Buffer, off: number, streamOffset: number): never {
    const bytes = Buffer.from(buf.subarray(off, Math.min(buf.length, off + ERROR_BYTES)));
    this.failure = new ProtocolError(`${this.prefix}${message} at offset ${streamOffset}`, { bytes, offset: streamOffset });
    throw this.failure;
  }

  /**
   * Splits the payload `buf[start, end)` into the type's arguments and hands them to the sink.
   * `owned`: the buffer holds only this packet, so data may alias it without pinning anything else.
   */
  private emitPacket(type: number, buf: Buffer, start: number, end: number, owned: boolean, headerAt: number, streamOffset = this.consumed - (end - start) - HEADER_SIZE): void {
    const spec = COMMANDS[type]!;
    if (!this.receivable[type] || (this.ownMagic !== -1 && buf.readUInt32BE(headerAt) !== this.magic)) {
      const reason = this.ownMagic !== -1 && buf.readUInt32BE(headerAt) !== this.magic ? 'magic' : 'direction';
      if (this.sink.onRefused !== undefined) {
        this.sink.onRefused(type, reason);
        return;
      }
      this.fail(`unexpected ${spec.name} packet (only ${spec.direction === 'REQ' ? 'clients and workers send it' : 'a server sends it'})`, buf, headerAt, streamOffset);
    }
    const n = spec.args.length;
    if (n === 0) {
      if (end !== start) {
        this.fail(`${spec.name} carries no arguments but has a ${end - start}-byte payload`, buf, headerAt, streamOffset);
      }
      this.sink.onPacket(type, NO_ARGS);
      return;
    }
    const args: PacketArgs = new Array(n);
    let pos = start;
    for (let i = 0; i < n - 1; i++) {
      const nul = buf.indexOf(0, pos);
      if (nul === -1 || nul >= end) {
        this.fail(`${spec.name} needs ${n} arguments (${spec.args.join(', ')}) but its payload has ${i + 1}`, buf, headerAt, streamOffset);
      }
      args[i] = buf.toString('utf8', pos, nul);
      pos = nul + 1;
    }
    if (!spec.binaryLast) args[n - 1] = buf.toString('utf8', pos, end);
    else if (owned || end - pos >= COPY_BELOW) args[n - 1] = buf.subarray(pos, end);
    else {
      const data = Buffer.allocUnsafe(end - pos);
      buf.copy(data, 0, pos, end);
      args[n - 1] = data;
    }
    this.sink.onPacket(type, args);
  }

  /** Copies the first `n` pending bytes (without consuming them). */
  private peek(n: number): Buffer {
    const first = this.pending[0]!;
    if (first.length >= n) return first.subarray(0, n);
    const out = n === HEADER_SIZE ? this.scratch : Buffer.allocUnsafe(n);
    let filled = 0;
    for (const chunk of this.pending) {
      const k = Math.min(chunk.length, n - filled);
      chunk.copy(out, filled, 0, k);
      filled += k;
      if (filled === n) break;
    }
    return out;
  }

  /** Drops the first `n` pending bytes. */
  private consume(n: number): void {
    this.pendingBytes -= n;
    this.consumed += n;
    this.lineScanChunks = 0;
    this.lineScanBytes = 0;
    while (n > 0) {
      const first = this.pending[0]!;
      if (first.length <= n) {
        n -= first.length;
        this.pending.shift();
      } else {
        this.pending[0] = first.subarray(n);
        n = 0;
      }
    }
  }

  /** Copies out and consumes the first `n` pending bytes. */
  private take(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    const pending = this.pending;
    let filled = 0;
    let used = 0;
    while (filled < n) {
      const chunk = pending[used]!;
      const k = Math.min(chunk.length, n - filled);
      chunk.copy(out, filled, 0, k);
      filled += k;
      if (k === chunk.length) used++;
      else pending[used] = chunk.subarray(k);
    }
    // One splice, not a shift per chunk: a packet that arrived in many chunks stays linear.
    if (used === 1) pending.shift();
    else if (used === pending.length) pending.length = 0;
    else if (used > 1) pending.splice(0, used);
    this.pendingBytes -= n;
    this.consumed += n;
    this.lineScanChunks = 0;
    this.lineScanBytes = 0;
    return out;
  }
}
