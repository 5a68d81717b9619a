/**
 * One accepted connection of the embedded server: a server-side {@link PacketStream} around the
 * socket, and what the server knows of the peer (client id, registered functions, sleep state,
 * the jobs it runs and the jobs it listens to). Packets go to {@link ServerConnectionHost}, which
 * owns the job table; this file decides nothing about jobs.
 *
 * @module
 * @internal
 */
import type net from 'node:net';
import { PacketStream } from '../protocol/packet-stream.js';
import type { PacketArgs } from '../protocol/decoder.js';
import type { PacketArg } from '../protocol/encoder.js';
import { CommandType as T } from '../protocol/commands.js';
import type { ProtocolError } from '../errors.js';
import type { ServerFunction, ServerJob } from './jobs.js';

/** What a {@link ServerConnection} needs from the server. @internal */
export interface ServerConnectionHost {
  handlePacket(conn: ServerConnection, type: number, args: PacketArgs): void;
  handleRefused(conn: ServerConnection, type: number, reason: 'direction' | 'magic'): void;
  handleText(conn: ServerConnection, line: string): void;
  handleClose(conn: ServerConnection, reason: string | undefined): void;
}

/** Limits a connection's stream applies. @internal */
export interface ServerConnectionLimits {
  maxPacketSize: number;
  stallTimeoutMs: number;
  maxLineLength: number;
  maxOutputBytes: number;
}

/** @internal */
export type AnyJob = ServerJob<ServerConnection, ServerConnection>;
/** @internal */
export type AnyFunction = ServerFunction<ServerConnection, ServerConnection>;

/** One peer of the server: client, worker, admin client, or all at once. @internal */
export class ServerConnection {
  readonly stream: PacketStream;
  /** `workers` listing's first column (gearmand prints the file descriptor). */
  readonly id: number;
  /** Peer address as `workers` prints it. */
  readonly ip: string;
  /** SET_CLIENT_ID, '' when unset. */
  clientId = '';
  /** OPTION_REQ exceptions was sent (or the server runs with `exceptions`). */
  exceptions: boolean;
  /** Registered functions, in registration order (the most recent last). */
  abilities: AnyFunction[] = [];
  /** CAN_DO_TIMEOUT per function, in ms. */
  timeouts: Map<AnyFunction, number> | undefined;
  /** PRE_SLEEP received and no GRAB since. */
  sleeping = false;
  /** A NOOP was sent for this sleep. */
  noopSent = false;
  /** Jobs assigned to this connection and not finished. */
  readonly running = new Set<AnyJob>();
  /** Jobs this connection submitted in the foreground and still listens to. */
  readonly listening = new Set<AnyJob>();
  closed = false;
  private readonly maxOutputBytes: number;

  constructor(
    readonly socket: net.Socket,
    readonly host: ServerConnectionHost,
    id: number,
    limits: ServerConnectionLimits,
    exceptions: boolean,
  ) {
    this.id = id;
    this.exceptions = exceptions;
    this.maxOutputBytes = limits.maxOutputBytes;
    const address = socket.remoteAddress ?? '';
    this.ip = address.startsWith('::ffff:') ? address.slice(7) : address;
    const label = socket.remoteFamily === 'IPv6' ? `[${address}]:${socket.remotePort}` : `${address}:${socket.remotePort}`;
    this.stream = new PacketStream(
      {
        onPacket: (type, args) => host.handlePacket(this, type, args),
        onText: (line) => host.handleText(this, line),
        onRefused: (type, reason) => host.handleRefused(this, type, reason),
        onStall: (error: ProtocolError) => this.close(error.message),
      },
      { side: 'server', label, maxPacketSize: limits.maxPacketSize, allowText: true, maxLineLength: limits.maxLineLength, stallTimeoutMs: limits.stallTimeoutMs, flushOn: 'immediate', reuseOutput: true },
    );
    socket.setNoDelay(true);
    this.stream.attach(socket);
    socket.on('data', (chunk: Buffer) => {
      if (this.closed) return;
      try {
        this.stream.push(chunk);
      } catch (err) {
        this.close((err as Error).message);
      }
    });
    socket.on('error', () => undefined);
    socket.on('end', () => {
      // A half-closed peer still reads what we queued; gearmand closes at once.
      this.close(undefined);
    });
    socket.on('close', () => this.close(undefined));
  }

  /** Queues one packet (written once per turn). */
  send(type: number, args: readonly PacketArg[]): void {
    if (this.closed) return;
    // A peer that does not read its answers must not grow our memory without bound: checked on
    // the first packet of each batch (what earlier batches left unwritten).
    if (this.stream.queuedBytes === 0 && this.socket.writableLength > this.maxOutputBytes) {
      this.destroy(`more than ${this.maxOutputBytes} bytes written and not read by the peer`);
      return;
    }
    // Every packet the server builds is wire-valid by construction: handles are made of the
    // prefix (checked at construction) and a counter, the rest are arguments it was sent, as
    // framed by the decoder, or its own constants.
    this.stream.writePacket(type, args, true);
  }

  /** Queues admin answer text. */
  sendText(text: string): void {
    if (!this.closed) this.stream.writeText(text);
  }

  /** `ERROR code text`. */
  sendError(code: string, text: string): void {
    this.send(T.ERROR, [code, text]);
  }

  /**
   * Ends the connection: what is queued is written first, then the socket closes; the host
   * releases the peer's jobs.
   * @param reason - why (logged), or undefined for a normal close
   */
  close(reason: string | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.stream.flush();
    this.stream.detach();
    this.socket.end();
    this.socket.destroySoon();
    // A peer that does not read must not keep the socket open.
    setTimeout(() => this.socket.destroy(), 1000).unref();
    this.host.handleClose(this, reason);
  }

  /** Closes without writing what is queued. */
  destroy(reason?: string): void {
    if (this.closed) return;
    this.closed = true;
    this.stream.detach();
    this.socket.destroy();
    this.host.handleClose(this, reason);
  }
}
