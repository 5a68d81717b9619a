/**
 * One server connection: dials a `net` or `tls` socket and hands it to a client-side
 * {@link PacketStream} (the decoder, the output buffer flushed once per turn, the stall timer).
 * Like python-gearman's `GearmanConnection`, it outlives its socket and can reconnect.
 *
 * @module
 */
import net from 'node:net';
import tls from 'node:tls';
import type { PacketArgs } from './protocol/decoder.js';
import type { PacketArg } from './protocol/encoder.js';
import { PacketStream } from './protocol/packet-stream.js';
import { ConnectionError, ConnectTimeoutError, GearmanError, type ProtocolError } from './errors.js';
import { DEFAULT_GEARMAN_PORT } from './hosts.js';

/** What a connection reports to its owner (the {@link ConnectionManager}, which implements it). */
export interface ConnectionEvents {
  /** Bytes arrived on the socket. */
  handleRead(connection: GearmanConnection, chunk: Buffer): void;
  /** A packet was decoded. */
  handlePacket(connection: GearmanConnection, type: number, args: PacketArgs): void;
  /** An admin text line was decoded. */
  handleText(connection: GearmanConnection, line: string, crlf: boolean): void;
  /** The socket closed or failed after it was connected. */
  handleError(connection: GearmanConnection, error: GearmanError): void;
}

/** Socket options of a connection. */
export interface GearmanConnectionOptions {
  /** @default 5000 */
  connectTimeoutMs?: number;
  /** TCP keepalive. @default true */
  keepAlive?: boolean;
  /** Largest packet accepted from the server. @default 268435456 */
  maxPacketSize?: number;
  /** Accept admin text lines (admin client connections). @default false */
  allowText?: boolean;
  /**
   * How long a packet the server started may go without a new byte before the connection is
   * closed as failed. 0 = no limit.
   * @default 60000
   */
  stallTimeoutMs?: number;
  /**
   * Creates the socket instead of `net.connect`/`tls.connect` (test doubles). It must call
   * `onConnect` once connected, or emit `'error'`/`'close'`.
   * @internal
   */
  createSocket?: (host: string, port: number, tlsOptions: tls.ConnectionOptions | undefined, onConnect: () => void) => net.Socket;
}

/**
 * One connection to one Gearman server.
 *
 * @example
 * ```ts
 * const conn = new GearmanConnection('127.0.0.1', 4730);
 * await conn.connect();
 * ```
 */
export class GearmanConnection {
  /** Host name or address. */
  readonly host: string;
  /** TCP port. */
  readonly port: number;
  /** TLS options, or `undefined` for plain TCP. */
  readonly tls: tls.ConnectionOptions | undefined;
  /** True once the socket is connected (and the TLS handshake done), until it closes. */
  connected = false;
  /** True while a connect is under way. */
  connecting = false;
  /** The live socket, if any. @internal */
  socket: net.Socket | undefined;
  /** Set by the worker while a reconnect is scheduled, so its poll loop counts this as alive. @internal */
  reconnectPending = false;
  /** The owner notified of reads, packets and failures. @internal */
  events: ConnectionEvents | undefined;
  /** The command handler of the current socket (set by the manager). @internal */
  handler: unknown;
  /** Until when (ms since the epoch) a failed server is tried after the others. @internal */
  retryAt = 0;
  /** Why the connection last failed (connect error or loss), until it connects again. */
  lastError: GearmanError | undefined;

  private readonly connectTimeoutMs: number;
  private readonly createSocket: GearmanConnectionOptions['createSocket'];
  private readonly keepAlive: boolean;
  private readonly stream: PacketStream;
  private connectPromise: Promise<void> | undefined;
  private refed = true;
  private abortConnect: ((error: GearmanError) => void) | undefined;
  /** Bumped on every new socket so events of an old socket are ignored. */
  private generation = 0;

  /**
   * @param host - host name or address
   * @param port - TCP port (default 4730)
   * @param tlsOptions - `node:tls` options, or `undefined` for plain TCP
   * @param options - socket options
   */
  constructor(host: string, port: number = DEFAULT_GEARMAN_PORT, tlsOptions?: tls.ConnectionOptions, options: GearmanConnectionOptions = {}) {
    this.host = host;
    this.port = port || DEFAULT_GEARMAN_PORT;
    this.tls = tlsOptions;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 5000;
    this.keepAlive = options.keepAlive ?? true;
    this.createSocket = options.createSocket;
    this.stream = new PacketStream(this, {
      side: 'client',
      label: this.address,
      maxPacketSize: options.maxPacketSize ?? 256 * 1024 * 1024,
      allowText: options.allowText ?? false,
      stallTimeoutMs: options.stallTimeoutMs ?? 60_000,
    });
  }

  /** `host:port` (IPv6 in brackets). */
  get address(): string {
    return this.host.includes(':') ? `[${this.host}]:${this.port}` : `${this.host}:${this.port}`;
  }

  /** Alive for a poll loop: connected, connecting, or about to reconnect. */
  get alive(): boolean {
    return this.connected || this.connecting || this.reconnectPending;
  }

  /** python-gearman's `readable()`: the socket can deliver data. */
  readable(): boolean {
    return this.connected;
  }

  /** python-gearman's `writable()`: connected with bytes waiting to be written. */
  writable(): boolean {
    return this.connected && this.stream.queuedBytes > 0;
  }

  /** Bytes queued but not yet handed to the socket. */
  get queuedBytes(): number {
    return this.stream.queuedBytes;
  }

  /** @returns `<GearmanConnection host:port connected=…>` */
  toString(): string {
    return `<GearmanConnection ${this.address} connected=${this.connected}>`;
  }

  /**
   * Opens the socket (a no-op when connected; joins a connect under way).
   *
   * @returns a promise that resolves once connected (and, for TLS, once the handshake is done)
   * @throws {@link ConnectionError} (rejects) naming host:port, with the socket error as `cause`;
   * a {@link ConnectTimeoutError} (code `'CONNECT_TIMEOUT'`) after `connectTimeoutMs`
   */
  connect(): Promise<void> {
    if (this.connected) return Promise.resolve();
    if (this.connectPromise !== undefined) return this.connectPromise;
    this.connecting = true;
    this.reconnectPending = false;
    const generation = ++this.generation;
    this.stream.resetDecoder();
    this.connectPromise = new Promise<void>((resolve, reject) => {
      let socket: net.Socket;
      let settled = false;
      const fail = (error: GearmanError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        if (this.generation === generation) {
          this.connecting = false;
          this.connectPromise = undefined;
          this.abortConnect = undefined;
          this.socket = undefined;
          this.stream.detach();
        }
        reject(error);
      };
      const timer = setTimeout(() => {
        fail(new ConnectTimeoutError(`${this.address}: connect timed out after ${this.connectTimeoutMs} ms`));
      }, this.connectTimeoutMs);
      const onConnected = (): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.removeListener('error', onConnectError);
        this.abortConnect = undefined;
        if (this.generation !== generation) {
          socket.destroy();
          reject(new ConnectionError(`${this.address}: connection closed while connecting`, { code: 'SHUTDOWN' }));
          return;
        }
        this.attach(socket, generation);
        resolve();
      };
      const onConnectError = (err: Error): void => {
        fail(new ConnectionError(`${this.address}: connect failed: ${err.message}`, { cause: err }));
      };
      try {
        if (this.createSocket !== undefined) {
          socket = this.createSocket(this.host, this.port, this.tls, onConnected);
        } else if (this.tls !== undefined) {
          const servername = this.tls.servername ?? (net.isIP(this.host) === 0 ? this.host : undefined);
          socket = tls.connect({ ...this.tls, host: this.host, port: this.port, ...(servername === undefined ? {} : { servername }) }, onConnected);
        } else {
          socket = net.connect({ host: this.host, port: this.port, noDelay: true }, onConnected);
        }
      } catch (err) {
        settled = true;
        clearTimeout(timer);
        this.connecting = false;
        this.connectPromise = undefined;
        reject(new ConnectionError(`${this.address}: connect failed: ${(err as Error).message}`, { cause: err }));
        return;
      }
      this.socket = socket;
      this.abortConnect = fail;
      socket.once('error', onConnectError);
      socket.once('close', () => {
        if (!settled) fail(new ConnectionError(`${this.address}: connection closed while connecting`));
      });
    });
    return this.connectPromise;
  }

  private attach(socket: net.Socket, generation: number): void {
    this.connecting = false;
    this.connected = true;
    this.connectPromise = undefined;
    socket.setNoDelay(true);
    // A connect keeps the process alive (a call is waiting on it); afterwards the owner decides.
    if (!this.refed) socket.unref();
    if (this.keepAlive) socket.setKeepAlive(true, 30_000);
    let socketError: Error | undefined;
    socket.on('data', (chunk: Buffer) => {
      if (this.generation === generation) this.events?.handleRead(this, chunk);
    });
    socket.on('error', (err: Error) => {
      socketError = err;
    });
    socket.on('close', () => {
      if (this.generation !== generation) return;
      let error: GearmanError;
      if (socketError !== undefined) {
        error = new ConnectionError(`${this.address}: ${socketError.message}`, { cause: socketError });
      } else {
        let cause: unknown;
        try {
          this.stream.end();
        } catch (err) {
          cause = err;
        }
        error = new ConnectionError(
          cause === undefined ? `${this.address}: server closed the connection` : `${this.address}: server closed the connection in the middle of a packet`,
          cause === undefined ? {} : { cause },
        );
      }
      this.detach();
      this.events?.handleError(this, error);
    });
    this.stream.attach(socket);
  }

  private detach(): void {
    this.generation++;
    this.connected = false;
    this.connecting = false;
    this.connectPromise = undefined;
    const socket = this.socket;
    this.socket = undefined;
    this.stream.detach();
    socket?.destroy();
  }

  /**
   * Feeds received bytes to the decoder, which calls {@link onPacket}/{@link onText} for each
   * complete packet or line.
   *
   * @throws {@link ProtocolError} for framing errors (the caller closes the connection)
   * @internal
   */
  decode(chunk: Buffer): void {
    this.stream.push(chunk);
  }

  /** @internal stream sink: the server started a packet and stopped sending. */
  onStall(error: ProtocolError): void {
    if (!this.connected) return;
    this.detach();
    this.events?.handleError(this, new ConnectionError(`${error.message}; closing the connection`, { cause: error }));
  }

  /** @internal decoder sink */
  onPacket(type: number, args: PacketArgs): void {
    this.events?.handlePacket(this, type, args);
  }

  /** @internal decoder sink */
  onText(line: string, crlf: boolean): void {
    this.events?.handleText(this, line, crlf);
  }

  /**
   * Queues one packet; it is written with everything else queued in this turn of the event loop.
   * Packets queued while connecting are written once connected.
   *
   * @throws {@link ProtocolError} if the arguments do not fit the packet (nothing is queued)
   * @throws {@link ConnectionError} if the connection is neither connected nor connecting
   */
  sendCommand(type: number, args: readonly PacketArg[], validated = false): void {
    if (!this.connected && !this.connecting) {
      throw new ConnectionError(`${this.address}: cannot send, not connected`);
    }
    this.stream.writePacket(type, args, validated);
  }

  /**
   * Queues raw text (one admin command line, newline included).
   *
   * @throws {@link ConnectionError} if the connection is neither connected nor connecting
   */
  sendText(text: string): void {
    if (!this.connected && !this.connecting) {
      throw new ConnectionError(`${this.address}: cannot send, not connected`);
    }
    this.stream.writeText(text);
  }

  /**
   * Writes everything queued in one `socket.write`. Called once per turn; safe to call any time.
   * @internal
   */
  flush(): void {
    this.stream.flush();
  }

  /**
   * Resolves once what is queued now has been handed to the socket (or dropped because the
   * connection closed).
   * @internal
   */
  whenFlushed(): Promise<void> {
    return this.stream.whenFlushed();
  }

  /**
   * Keeps the process alive (or not) for this connection's socket and timers.
   * @internal
   */
  setRef(ref: boolean): void {
    if (this.refed === ref) return;
    this.refed = ref;
    if (this.socket !== undefined) {
      if (ref) this.socket.ref();
      else this.socket.unref();
    }
  }

  /**
   * Closes the socket and discards anything queued. The connection can connect again later. A
   * connect under way is rejected with a {@link ConnectionError} (code `'SHUTDOWN'`).
   */
  close(): void {
    const abort = this.abortConnect;
    this.abortConnect = undefined;
    abort?.(new ConnectionError(`${this.address}: connection closed while connecting`, { code: 'SHUTDOWN' }));
    this.detach();
    this.reconnectPending = false;
  }
}
