/**
 * The byte-level half of a Gearman connection, shared by both ends: an incremental decoder for
 * what arrives, an output buffer flushed once per turn of the event loop for what leaves, and a
 * stall timer for a packet that starts and never completes. The side (`'client'` or `'server'`)
 * picks the magic written and expected, and which packet types may be received.
 *
 * {@link GearmanConnection} dials and hands its socket to one; the embedded server wraps each
 * accepted socket in one. The stream never listens on the socket itself: its owner feeds
 * {@link PacketStream.push} from `'data'`, so the owner decides what a decode error means.
 *
 * @module
 * @internal
 */
import type net from 'node:net';
import { PacketDecoder, type PacketSink } from './decoder.js';
import { PacketWriter, type PacketArg } from './encoder.js';
import { sendMagic, type PacketSide } from './commands.js';
import { ProtocolError } from '../errors.js';

/** What a {@link PacketStream} reports, beyond the decoder's packets and lines. @internal */
export interface PacketStreamSink extends PacketSink {
  /**
   * A packet (or text line) started and no byte of it arrived for `stallTimeoutMs`. The owner
   * closes the connection; the stream has already discarded the partial bytes.
   */
  onStall?(error: ProtocolError): void;
}

/** Options of a {@link PacketStream}. @internal */
export interface PacketStreamOptions {
  /** Which end this stream is: picks the magic written and expected, and the accepted types. */
  side: PacketSide;
  /** `host:port` of the peer, for error messages. */
  label?: string;
  /** Largest payload accepted. @default 268435456 (256 MiB) */
  maxPacketSize?: number;
  /** Accept admin text lines. @default false */
  allowText?: boolean;
  /** Longest admin text line. @default 1048576 */
  maxLineLength?: number;
  /**
   * How long an incomplete packet may go without a new byte before {@link PacketStreamSink.onStall}.
   * 0 disables the check.
   * @default 0
   */
  stallTimeoutMs?: number;
  /**
   * When queued packets are written: `'tick'` at the end of the current callback (and its
   * microtasks), `'immediate'` after every read the event loop has ready, so that one write per
   * connection carries the answers to all of them (the server's choice: under load it turns
   * many small writes into a few large ones).
   * @default 'tick'
   */
  flushOn?: 'tick' | 'immediate';
  /**
   * Write straight from the stream's output buffer and reuse it whenever the socket took every
   * byte at once (see PacketWriter.writeTo). Only for plain TCP sockets.
   * @default false
   */
  reuseOutput?: boolean;
}

// Writes are deferred with process.nextTick: it runs once the current callback is done and, when
// packets were queued from promise continuations, once the microtask queue has drained. So a burst
// of packets queued by one callback and the continuations it resumes goes out in one write per
// stream, without waiting for another turn of the event loop.
let pendingFlushes: PacketStream[] = [];
let flushScheduled = false;

function runFlushes(): void {
  flushScheduled = false;
  const list = pendingFlushes;
  pendingFlushes = [];
  for (let i = 0; i < list.length; i++) list[i]!.flush();
}

let pendingImmediate: PacketStream[] = [];
let immediateScheduled = false;

function scheduleImmediateFlushes(): void {
  if (!immediateScheduled) {
    immediateScheduled = true;
    setImmediate(runImmediateFlushes);
  }
}

function runImmediateFlushes(): void {
  immediateScheduled = false;
  const list = pendingImmediate;
  pendingImmediate = [];
  // Streams marked flushFirst (the server's workers) are written first. On a busy machine each
  // write can hand the CPU to the peer it wakes: a worker woken first runs its job while the
  // others wait, and when one was written, the others are written on the next turn of the loop
  // instead (once), with what that worker answered by then (a client's WORK_COMPLETE joins its
  // JOB_CREATED): fewer writes, and fewer wake-ups of the peers, per job.
  let wroteFirst = false;
  for (let i = 0; i < list.length; i++) {
    const stream = list[i]!;
    if (stream.flushFirst && stream.flushQueued) {
      wroteFirst = true;
      stream.flush();
    }
  }
  for (let i = 0; i < list.length; i++) {
    const stream = list[i]!;
    if (!stream.flushQueued) continue;
    if (wroteFirst && !stream.flushDeferred) {
      stream.flushDeferred = true;
      pendingImmediate.push(stream);
      scheduleImmediateFlushes();
    } else stream.flush();
  }
}

/** Queued bytes that are written at once rather than at the end of the callback. */
const EARLY_FLUSH_BYTES = 16 * 1024;

/**
 * One side of a packet connection over a socket the owner attaches.
 *
 * @example
 * ```ts
 * const stream = new PacketStream({ onPacket: (type, args) => reply(type, args) }, { side: 'server' });
 * stream.attach(socket);
 * socket.on('data', (chunk) => stream.push(chunk));
 * stream.writePacket(CommandType.NOOP, []);
 * ```
 * @internal
 */
export class PacketStream {
  /** The attached socket; packets written while none is attached wait for one. */
  socket: net.Socket | undefined;
  /** Which end this stream is. */
  readonly side: PacketSide;

  private readonly writer = new PacketWriter();
  private readonly decoder: PacketDecoder;
  private readonly magic: number;
  private readonly stallTimeoutMs: number;
  private readonly label: string;
  private readonly immediate: boolean;
  private readonly reuseOutput: boolean;
  /** Queued for the next flush. */
  flushQueued = false;
  /**
   * With `flushOn: 'immediate'`: written before the other streams of the same turn, which then
   * wait one more turn of the event loop (see runImmediateFlushes).
   */
  flushFirst = false;
  /** Already put off by one turn since it was last written. */
  flushDeferred = false;
  private flushWaiters: Array<() => void> | undefined;
  private stallTimer: NodeJS.Timeout | undefined;

  /**
   * @param sink - receives packets, lines, refused packets and stalls
   * @param options - see {@link PacketStreamOptions}
   */
  constructor(
    private readonly sink: PacketStreamSink,
    options: PacketStreamOptions,
  ) {
    this.side = options.side;
    this.magic = sendMagic(options.side);
    this.stallTimeoutMs = options.stallTimeoutMs ?? 0;
    this.label = options.label ?? '';
    this.immediate = options.flushOn === 'immediate';
    this.reuseOutput = options.reuseOutput ?? false;
    this.decoder = new PacketDecoder(sink, {
      side: options.side,
      ...(options.label === undefined ? {} : { label: options.label }),
      maxPacketSize: options.maxPacketSize ?? 256 * 1024 * 1024,
      allowText: options.allowText ?? false,
      ...(options.maxLineLength === undefined ? {} : { maxLineLength: options.maxLineLength }),
    });
  }

  /** Bytes queued but not yet handed to the socket. */
  get queuedBytes(): number {
    return this.writer.length;
  }

  /** Bytes received but not yet decoded (an incomplete packet or line). */
  get bufferedBytes(): number {
    return this.decoder.bufferedBytes;
  }

  /** Starts writing to `socket` (and flushes what was queued before). */
  attach(socket: net.Socket): void {
    this.socket = socket;
    if (this.writer.length > 0) this.scheduleFlush();
  }

  /**
   * Forgets the socket (the owner destroys it), everything queued and everything buffered;
   * {@link whenFlushed} waiters are released. The stream can be attached again.
   */
  detach(): void {
    this.socket = undefined;
    this.writer.clear();
    this.decoder.reset();
    this.clearStall();
    this.releaseFlushWaiters();
  }

  /**
   * Decodes received bytes; the sink is called for each complete packet or line.
   *
   * @throws {@link ProtocolError} for framing errors (the owner closes the connection); errors
   * thrown by the sink propagate
   */
  push(chunk: Buffer): void {
    try {
      this.decoder.push(chunk);
    } finally {
      if (this.stallTimeoutMs > 0) this.watchStall();
    }
  }

  /**
   * The peer closed its side.
   *
   * @throws {@link ProtocolError} if an incomplete packet or line was left
   */
  end(): void {
    this.clearStall();
    this.decoder.end();
  }

  /** Forgets what was buffered for decoding and any decode failure (for a new socket). */
  resetDecoder(): void {
    this.decoder.reset();
    this.clearStall();
  }

  private watchStall(): void {
    if (this.decoder.bufferedBytes === 0) {
      this.clearStall();
      return;
    }
    if (this.stallTimer !== undefined) {
      this.stallTimer.refresh();
      return;
    }
    this.stallTimer = setTimeout(() => {
      this.stallTimer = undefined;
      const buffered = this.decoder.bufferedBytes;
      this.decoder.reset();
      const prefix = this.label === '' ? '' : `${this.label}: `;
      this.sink.onStall?.(
        new ProtocolError(`${prefix}an incomplete packet (${buffered} byte(s) so far) got no further byte for ${this.stallTimeoutMs} ms`),
      );
    }, this.stallTimeoutMs);
    this.stallTimer.unref();
  }

  private clearStall(): void {
    if (this.stallTimer !== undefined) {
      clearTimeout(this.stallTimer);
      this.stallTimer = undefined;
    }
  }

  /**
   * Queues one packet with this side's magic; it is written with everything else queued in this
   * turn of the event loop.
   *
   * @param validated - the caller already validated these exact arguments
   * @throws {@link ProtocolError} if the arguments do not fit the packet (nothing is queued)
   */
  writePacket(type: number, args: readonly PacketArg[], validated = false): void {
    this.writer.writePacket(type, args, this.magic, validated);
    if (this.socket !== undefined) {
      // A large burst (thousands of submissions in one call) is written in slices as it is
      // encoded, so the peer starts on the first ones while the rest are still being encoded.
      if (this.writer.length >= EARLY_FLUSH_BYTES) this.flush();
      else if (!this.flushQueued) this.scheduleFlush();
    }
  }

  /** Queues raw text (an admin command line or answer). */
  writeText(text: string): void {
    this.writer.writeRaw(text);
    if (this.socket !== undefined && !this.flushQueued) this.scheduleFlush();
  }

  private scheduleFlush(): void {
    this.flushQueued = true;
    if (this.immediate) {
      pendingImmediate.push(this);
      scheduleImmediateFlushes();
      return;
    }
    pendingFlushes.push(this);
    if (!flushScheduled) {
      flushScheduled = true;
      process.nextTick(runFlushes);
    }
  }

  /** Writes everything queued in one `socket.write`. Called once per turn; safe any time. */
  flush(): void {
    this.flushQueued = false;
    this.flushDeferred = false;
    if (this.socket !== undefined && this.writer.length > 0) {
      if (this.reuseOutput) this.writer.writeTo(this.socket);
      else this.socket.write(this.writer.take());
    }
    if (this.flushWaiters !== undefined) this.releaseFlushWaiters();
  }

  /**
   * Resolves once what is queued now has been handed to the socket (or dropped by
   * {@link detach}).
   */
  whenFlushed(): Promise<void> {
    if (this.writer.length === 0) return Promise.resolve();
    return new Promise((resolve) => (this.flushWaiters ??= []).push(resolve));
  }

  private releaseFlushWaiters(): void {
    const waiters = this.flushWaiters;
    if (waiters === undefined) return;
    this.flushWaiters = undefined;
    for (const resolve of waiters) resolve();
  }
}
