// A fake socket for unit specs: a stream.Duplex with the net.Socket methods GearmanConnection
// calls (setNoDelay, setKeepAlive, ref, unref, destroy), plus a FakeNetwork whose createSocket is
// injected through the internal `createSocket` option of ConnectionManager / GearmanConnection.
import { Duplex } from 'node:stream';
import type net from 'node:net';
import type tls from 'node:tls';

/** What happens when a connection dials an address of a {@link FakeNetwork}. */
export type DialOutcome = 'accept' | 'refuse' | 'hang';

/**
 * One end of a fake TCP connection: what the library writes is recorded in {@link written};
 * what the "server" sends is pushed with {@link deliver}.
 */
export class FakeSocket extends Duplex {
  /** Every chunk the library wrote, in order (one entry per `socket.write`). */
  readonly written: Buffer[] = [];
  noDelay = false;
  keepAlive = false;
  keepAliveDelay: number | undefined;
  refed = true;
  private writeWaiters: Array<() => void> = [];

  constructor(
    readonly host: string,
    readonly port: number,
    readonly tlsOptions: tls.ConnectionOptions | undefined,
  ) {
    super({ allowHalfOpen: false });
  }

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.written.push(Buffer.from(chunk));
    const waiters = this.writeWaiters;
    this.writeWaiters = [];
    for (const resolve of waiters) resolve();
    callback();
  }

  /** All bytes written so far. */
  get writtenBytes(): Buffer {
    return Buffer.concat(this.written);
  }

  /** Resolves once at least `n` bytes in all have been written. */
  async waitForBytes(n: number): Promise<Buffer> {
    while (this.writtenBytes.length < n) {
      if (this.destroyed) throw new Error(`socket destroyed after ${this.writtenBytes.length} of ${n} bytes were written`);
      await new Promise<void>((resolve) => this.writeWaiters.push(resolve));
    }
    return this.writtenBytes;
  }

  setNoDelay(noDelay = true): this {
    this.noDelay = noDelay;
    return this;
  }

  setKeepAlive(enable = false, initialDelay?: number): this {
    this.keepAlive = enable;
    this.keepAliveDelay = initialDelay;
    return this;
  }

  ref(): this {
    this.refed = true;
    return this;
  }

  unref(): this {
    this.refed = false;
    return this;
  }

  /** The server sends bytes (each argument is one chunk, as one socket read). */
  deliver(...chunks: Buffer[]): void {
    for (const chunk of chunks) this.push(chunk);
  }

  /** The server closes its end (FIN): the socket ends and closes. */
  serverClose(): void {
    this.push(null);
  }

  /** The connection is reset: `'error'` (ECONNRESET) then `'close'`. */
  serverReset(message = 'read ECONNRESET'): void {
    const error = Object.assign(new Error(message), { code: 'ECONNRESET', errno: -104, syscall: 'read' });
    this.destroy(error);
  }

  /** Resolves when the socket has closed (destroyed by either side). */
  whenClosed(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => this.once('close', () => resolve()));
  }
}

/**
 * Creates {@link FakeSocket}s for connections, per address: accepted (connected on the next turn),
 * refused (ECONNREFUSED), or left hanging.
 */
export class FakeNetwork {
  /** Every socket created, in order. */
  readonly sockets: FakeSocket[] = [];
  private readonly outcomes = new Map<string, DialOutcome>();
  private waiters: Array<{ port: number | undefined; resolve: (socket: FakeSocket) => void }> = [];

  /** Sets what dialing `port` does from now on (default: accept). */
  set(port: number, outcome: DialOutcome): void {
    this.outcomes.set(String(port), outcome);
  }

  /** The `createSocket` option of ConnectionManager / GearmanConnection. */
  readonly createSocket = (host: string, port: number, tlsOptions: tls.ConnectionOptions | undefined, onConnect: () => void): net.Socket => {
    const socket = new FakeSocket(host, port, tlsOptions);
    this.sockets.push(socket);
    const outcome = this.outcomes.get(String(port)) ?? 'accept';
    // Connecting takes a turn of the event loop, as a real connect does.
    setImmediate(() => {
      if (socket.destroyed) return;
      if (outcome === 'accept') onConnect();
      else if (outcome === 'refuse') {
        socket.destroy(Object.assign(new Error(`connect ECONNREFUSED ${host}:${port}`), { code: 'ECONNREFUSED', syscall: 'connect' }));
      }
    });
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) {
      if (w.port === undefined || w.port === port) w.resolve(socket);
      else this.waiters.push(w);
    }
    return socket as unknown as net.Socket;
  };

  /** Resolves with the next socket created (for `port`, if given). */
  nextSocket(port?: number): Promise<FakeSocket> {
    return new Promise((resolve) => this.waiters.push({ port, resolve }));
  }

  /** The sockets created for `port`. */
  socketsFor(port: number): FakeSocket[] {
    return this.sockets.filter((s) => s.port === port);
  }

  /** Destroys every socket still open. */
  destroyAll(): void {
    for (const socket of this.sockets) if (!socket.destroyed) socket.destroy();
  }
}
