// FakeGearmanServer: a scriptable Gearman server on 127.0.0.1 (port 0) for fault specs. It decodes
// what the library sends (\0REQ packets and admin text lines) with lib/protocol's PacketDecoder and
// hands each one to the spec's script, which answers with packets, raw or split bytes, or an ERROR,
// or hangs, closes or resets the connection.
import net from 'node:net';
import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, expect } from 'vitest';
import { MAGIC_REQ } from '../../lib/protocol/commands.js';
import { PacketDecoder } from '../../lib/protocol/decoder.js';
import { res, type Decoded } from './packets.js';

/** One received item: a packet (`type`, `args`) or an admin `line`. */
export type Received = Decoded;

/** Called for every packet or line a connection receives. */
export type Script = (conn: FakeConnection, item: Received) => void | Promise<void>;

/** One accepted connection, as the script sees it. */
export class FakeConnection extends EventEmitter {
  /** What the library sent on this connection, in order. */
  readonly received: Received[] = [];
  /** Set when the library's bytes could not be decoded (the connection is then destroyed). */
  decodeError: unknown = undefined;
  /** The script ignores this connection from now on. */
  hung = false;
  /** True once the socket has closed, whoever closed it. */
  closed = false;
  private readonly decoder: PacketDecoder;
  private readonly whenClosed: Promise<void>;

  constructor(
    readonly server: FakeGearmanServer,
    readonly socket: net.Socket,
    /** 0 for the first connection the server accepted, 1 for the next... */
    readonly index: number,
  ) {
    super();
    socket.setNoDelay(true);
    this.decoder = new PacketDecoder(
      {
        onPacket: (type, args) => this.receive({ type, args: args.slice() }),
        onText: (line) => this.receive({ line }),
      },
      { magic: MAGIC_REQ, allowText: true },
    );
    this.whenClosed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => {
      if (this.decodeError !== undefined) return;
      try {
        this.decoder.push(chunk);
      } catch (err) {
        this.decodeError = err;
        socket.destroy();
      }
    });
    // A reset by the library, or our own resetAndDestroy(), surfaces here; it is not a failure.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      this.emit('closed');
    });
  }

  private receive(item: Received): void {
    this.received.push(item);
    this.emit('item', item);
    if (this.hung) return;
    this.server.runScript(this, item);
  }

  /** Writes bytes (several buffers go out in one write). */
  send(...chunks: Buffer[]): void {
    if (this.socket.destroyed) return;
    this.socket.write(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
  }

  /** Writes `\0RES` packets built from `[type, ...args]`. */
  reply(...packets: Array<[type: Parameters<typeof res>[0], ...args: Array<string | Uint8Array>]>): void {
    this.send(...packets.map(([type, ...args]) => res(type, ...args)));
  }

  /** Sends an ERROR packet. */
  error(code: string, text: string): void {
    this.send(res('ERROR', code, text));
  }

  /** Writes `data` in pieces cut at `cuts`, one write per piece, a turn of the event loop apart. */
  async sendSplit(data: Buffer, cuts: readonly number[]): Promise<void> {
    let last = 0;
    for (const cut of [...cuts, data.length]) {
      if (this.socket.destroyed) return;
      const piece = data.subarray(last, cut);
      last = cut;
      if (piece.length === 0) continue;
      await new Promise<void>((resolve) => this.socket.write(piece, () => resolve()));
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** Ignore everything this connection sends from now on (no answers). */
  hang(): void {
    this.hung = true;
  }

  /** Closes our end (FIN) after what was written. */
  close(): void {
    this.socket.end();
  }

  /**
   * Resets the connection (RST). Use it with nothing written just before: TCP may drop bytes
   * still in flight, or the peer may see them followed by a plain close instead of the reset.
   */
  reset(): void {
    if (!this.socket.destroyed) this.socket.resetAndDestroy();
  }

  /** Resolves once the socket has closed. */
  waitClosed(): Promise<void> {
    return this.whenClosed;
  }

  /** Resolves with the first received item (already received or future) that matches. */
  waitFor(predicate: (item: Received) => boolean): Promise<Received> {
    const found = this.received.find(predicate);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const onItem = (item: Received): void => {
        if (!predicate(item)) return;
        cleanup();
        resolve(item);
      };
      const onClosed = (): void => {
        cleanup();
        reject(new Error(`connection ${this.index} closed before the awaited packet arrived; got ${describe(this.received)}`));
      };
      const cleanup = (): void => {
        this.off('item', onItem);
        this.off('closed', onClosed);
      };
      this.on('item', onItem);
      if (this.closed) onClosed();
      else this.once('closed', onClosed);
    });
  }

  /** Resolves with the first received packet of `type`. */
  waitForPacket(type: number): Promise<{ type: number; args: Array<string | Buffer> }> {
    return this.waitFor((item) => 'type' in item && item.type === type) as Promise<{ type: number; args: Array<string | Buffer> }>;
  }

  /** Received packet types and lines, for messages. */
  describe(): string {
    return describe(this.received);
  }
}

function describe(items: readonly Received[]): string {
  return items.map((i) => ('line' in i ? JSON.stringify(i.line) : String(i.type))).join(', ') || '(nothing)';
}

/**
 * A scriptable Gearman server.
 *
 * @example
 * ```ts
 * const server = await FakeGearmanServer.start((conn, item) => {
 *   if ('type' in item && item.type === CommandType.SUBMIT_JOB) conn.reply(['JOB_CREATED', 'H:fake:1']);
 * });
 * try { ... new GearmanClient([server.address]) ... } finally { await server.close(); }
 * ```
 */
export class FakeGearmanServer extends EventEmitter {
  readonly connections: FakeConnection[] = [];
  /** What every packet or line is answered with; may be replaced at any time. */
  script: Script;
  /** Called with every new connection before it receives anything (e.g. to close it at once). */
  onConnection: ((conn: FakeConnection) => void) | undefined;
  /** Errors thrown by the script; close() rethrows the first. */
  readonly scriptErrors: unknown[] = [];
  private readonly server: net.Server;
  private closing = false;

  private constructor(script: Script) {
    super();
    this.script = script;
    this.server = net.createServer((socket) => {
      if (this.closing) {
        socket.destroy();
        return;
      }
      const conn = new FakeConnection(this, socket, this.connections.length);
      this.connections.push(conn);
      this.onConnection?.(conn);
      this.emit('connection', conn);
    });
  }

  /**
   * Starts a server on 127.0.0.1, on a port picked by the system. Within a spec of a file that
   * calls {@link useFakeServer}, the server is closed after the spec.
   */
  static async start(script: Script = () => undefined): Promise<FakeGearmanServer> {
    const server = new FakeGearmanServer(script);
    startedInSpec?.push(server);
    await new Promise<void>((resolve, reject) => {
      server.server.once('error', reject);
      server.server.listen(0, '127.0.0.1', () => {
        server.server.off('error', reject);
        resolve();
      });
    });
    return server;
  }

  /** The port the server listens on. */
  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** `127.0.0.1:<port>`, for host lists and for matching error messages. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** @internal runs the script for one item, recording (not throwing) its errors. */
  runScript(conn: FakeConnection, item: Received): void {
    try {
      const result = this.script(conn, item);
      if (result !== undefined && typeof (result as Promise<void>).then === 'function') {
        (result as Promise<void>).then(undefined, (err: unknown) => this.scriptFailed(conn, err));
      }
    } catch (err) {
      this.scriptFailed(conn, err);
    }
  }

  private scriptFailed(conn: FakeConnection, err: unknown): void {
    this.scriptErrors.push(err);
    conn.socket.destroy();
  }

  /** Resolves with connection number `index` (0-based) once it has been accepted. */
  connection(index: number): Promise<FakeConnection> {
    const existing = this.connections[index];
    if (existing !== undefined) return Promise.resolve(existing);
    return new Promise((resolve) => {
      const onConnection = (conn: FakeConnection): void => {
        if (conn.index !== index) return;
        this.off('connection', onConnection);
        resolve(conn);
      };
      this.on('connection', onConnection);
    });
  }

  /**
   * Stops accepting and destroys every connection; rethrows the script's first error. Closing
   * again (a spec's own close, then its fixture's) waits for the same close.
   */
  close(): Promise<void> {
    if (this.closed !== undefined) return this.closed.then(() => undefined);
    this.closing = true;
    for (const conn of this.connections) conn.socket.destroy();
    const closed = (async () => {
      await new Promise<void>((resolve) => this.server.close(() => resolve()));
      await Promise.all(this.connections.map((c) => c.waitClosed()));
    })();
    this.closed = closed;
    return closed.then(() => {
      if (this.scriptErrors.length > 0) throw this.scriptErrors[0];
    });
  }

  private closed: Promise<void> | undefined;
}

/** Servers started during the current spec of a file using {@link useFakeServer}. */
let startedInSpec: FakeGearmanServer[] | undefined;

/** What {@link useFakeServer} gives a spec file. */
export interface FakeServerFixture {
  /**
   * The logger to hand to the library objects under test; one object for the whole file, emptied
   * before each spec.
   */
  readonly logger: RecordingLogger;
  /** Unhandled promise rejections seen so far in the current spec (there must be none). */
  readonly unhandledRejections: readonly unknown[];
  /** The servers started in the current spec, in order. */
  readonly servers: readonly FakeGearmanServer[];
}

/**
 * The setup every fake-server spec file shares: call it once at the top of the file.
 *
 * Before each spec: the logger is emptied and unhandled rejections are tracked. After each spec:
 * `stop` runs first (shut down the clients, workers and admin clients under test, and await what
 * must end, such as `work()`), then every {@link FakeGearmanServer} started during the spec is
 * closed (rethrowing its script's first error), one more turn of the event loop passes, and the
 * spec fails if any promise rejection went unhandled.
 *
 * @example
 * ```ts
 * let server: FakeGearmanServer | undefined;
 * let client: GearmanClient | undefined;
 * const { logger } = useFakeServer({ stop: () => client?.shutdown() });
 *
 * it('...', async () => {
 *   server = await FakeGearmanServer.start(script);
 *   client = new GearmanClient([server.address], { logger });
 * });
 * ```
 */
export function useFakeServer(options: { stop?: () => unknown } = {}): FakeServerFixture {
  const logger = recordingLogger();
  let tracker: ReturnType<typeof trackUnhandledRejections> | undefined;
  let servers: FakeGearmanServer[] = [];
  beforeEach(() => {
    logger.lines.length = 0;
    tracker = trackUnhandledRejections();
    servers = [];
    startedInSpec = servers;
  });
  afterEach(async () => {
    try {
      await options.stop?.();
      startedInSpec = undefined;
      const closing = await Promise.allSettled(servers.map((server) => server.close()));
      const failed = closing.find((result): result is PromiseRejectedResult => result.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      startedInSpec = undefined;
      tracker?.stop();
    }
    expect(tracker!.reasons).toEqual([]);
  });
  return {
    logger,
    get unhandledRejections() {
      return tracker?.reasons ?? [];
    },
    get servers() {
      return servers;
    },
  };
}

/** A console-like logger that keeps every line, for asserting what the library logged. */
export interface RecordingLogger {
  lines: Array<{ level: 'debug' | 'info' | 'warn' | 'error'; message: string }>;
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /** The messages logged at `level` (or any level) that contain `text`. */
  find(text: string | RegExp, level?: 'debug' | 'info' | 'warn' | 'error'): string[];
}

/** Creates a {@link RecordingLogger}. */
export function recordingLogger(): RecordingLogger {
  const lines: RecordingLogger['lines'] = [];
  const at =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (message: string): void => {
      lines.push({ level, message });
    };
  return {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    find: (text, level) =>
      lines
        .filter((l) => (level === undefined || l.level === level) && (typeof text === 'string' ? l.message.includes(text) : text.test(l.message)))
        .map((l) => l.message),
  };
}

/** Collects unhandled promise rejections while a spec runs (there must be none). */
export function trackUnhandledRejections(): { readonly reasons: unknown[]; stop(): void } {
  const reasons: unknown[] = [];
  const onRejection = (reason: unknown): void => {
    reasons.push(reason);
  };
  process.on('unhandledRejection', onRejection);
  return { reasons, stop: () => process.off('unhandledRejection', onRejection) };
}
