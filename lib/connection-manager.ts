/**
 * The connection manager: python-gearman's `GearmanConnectionManager`. It owns the connections,
 * gives every live connection a fresh command handler, routes packets between them, and runs the
 * explicit poll loop (`pollConnectionsOnce`, `pollConnectionsUntilStopped`).
 *
 * How the poll loop maps onto Node: sockets deliver data as events, and each packet is handed to
 * its handler as soon as it is decoded. A poll loop is a wait: it runs its callback once before
 * any I/O, then once per iteration (every socket event handled in one turn of the event loop),
 * until the callback returns false (resolves `false`), the timeout passes (resolves `true`), or no
 * polled connection is alive (rejects with {@link ServerUnavailable}). Many loops may wait on the
 * same sockets at once. A loop either wakes on any activity of its connections, or (for the
 * client's waits) only when something it watches changes, so a packet wakes only the calls it
 * concerns and the cost of a burst does not grow with the number of calls waiting.
 *
 * @module
 */
import { debuglog } from 'node:util';
import { GearmanConnection, type ConnectionEvents, type GearmanConnectionOptions } from './connection.js';
import type { CommandHandler } from './command-handler/command-handler.js';
import { NoopEncoder, checkEncoder, type DataEncoderLike } from './encoders.js';
import { ConnectionError, GearmanError, ServerUnavailable, type ServerError } from './errors.js';
import { parseHostList, type HostEntry } from './hosts.js';
import type { PacketArg } from './protocol/encoder.js';
import type { PacketArgs } from './protocol/decoder.js';

/** A console-like logger. */
export interface Logger {
  /** Connection losses, dropped duplicate answers: details for debugging. */
  debug(message: string, ...args: unknown[]): void;
  /** Not used by the library; accepted so `console` fits. */
  info?(message: string, ...args: unknown[]): void;
  /** Something was dropped or retried: a lost worker connection, a packet for an unknown handle. */
  warn(message: string, ...args: unknown[]): void;
  /** A server error nothing claimed, a connection closed for a protocol error. */
  error(message: string, ...args: unknown[]): void;
}

/** Options shared by the client, the worker and the admin client. */
export interface ConnectionManagerOptions {
  /** Converts job data to and from bytes. @default NoopEncoder */
  dataEncoder?: DataEncoderLike;
  /** How long a connect may take. @default 5000 */
  connectTimeoutMs?: number;
  /** TCP keepalive on every socket. @default true */
  keepAlive?: boolean;
  /** Largest packet accepted from a server, in bytes. @default 268435456 (256 MiB) */
  maxPacketSize?: number;
  /** Where diagnostics go. @default util.debuglog('gearman'): shown with NODE_DEBUG=gearman */
  logger?: Logger;
  /** Socket factory for test doubles (see GearmanConnectionOptions). @internal */
  createSocket?: GearmanConnectionOptions['createSocket'];
}

/** What one {@link ConnectionManager.pollConnectionsOnce} saw. */
export interface PollResult {
  /** Connections that delivered data. */
  readable: Set<GearmanConnection>;
  /** Connections that had bytes written. Node writes as soon as packets are queued, so this is
   * the set of connections flushed during the poll. */
  writable: Set<GearmanConnection>;
  /** Connections that failed or closed. */
  errored: Set<GearmanConnection>;
}

/** Extra options of a poll loop (beyond python-gearman's contract). */
export interface PollOptions {
  /**
   * Wake the loop only when {@link ConnectionManager.wake} is called on one of these targets (or a
   * polled connection is lost), instead of on every packet of its connections. The client's waits
   * use this so a packet wakes only the calls it concerns.
   */
  watch?: Iterable<object>;
  /**
   * With `watch`: also wake on any activity of the polled connections; a function is asked at
   * each read. @default false
   */
  wakeOnActivity?: boolean | (() => boolean);
}

/** An object poll loops can wait on: the manager keeps its waiting loops in `waiters`. @internal */
export interface Waitable {
  waiters: unknown;
}

function isWaitableList(watched: Waitable | readonly Waitable[]): watched is readonly Waitable[] {
  return Array.isArray(watched);
}

function onLoopTimeout(manager: ConnectionManager, loop: PollLoop): void {
  manager.onLoopTimeout(loop);
}

/**
 * One running wait of the poll loop. The manager calls `check` before any I/O and once per
 * iteration, then exactly one of `finish` (timed out or stopped) or `fail`. Subclasses hold the
 * wait's state in fields, so a wait costs one object and no closures.
 * @internal
 */
export abstract class PollLoop {
  /**
   * Bit flags: DIRTY, DONE, ANY, IO, UNTRACKED, COUNTED; bits from 64 up are the subclass's. One field:
   * thousands of loops may wait at once.
   */
  loopFlags = LOOP_DONE | LOOP_ANY;
  timer: NodeJS.Timeout | undefined = undefined;
  /** The polled connections; `null`: every connection of the manager, including later ones. */
  abstract readonly connections: ReadonlySet<GearmanConnection> | null;
  /** What it watches (see {@link PollOptions.watch}): one target or a list. */
  abstract readonly watched: Waitable | readonly Waitable[] | undefined;

  /** Marked for an iteration in this turn. */
  get dirty(): boolean {
    return (this.loopFlags & LOOP_DIRTY) !== 0;
  }

  set dirty(on: boolean) {
    this.loopFlags = on ? this.loopFlags | LOOP_DIRTY : this.loopFlags & ~LOOP_DIRTY;
  }

  /** Not running (never started, or ended). */
  get done(): boolean {
    return (this.loopFlags & LOOP_DONE) !== 0;
  }

  set done(on: boolean) {
    this.loopFlags = on ? this.loopFlags | LOOP_DONE : this.loopFlags & ~LOOP_DONE;
  }

  /** Wakes on any activity of its connections, not only on `wake()` of what it watches. */
  get any(): boolean {
    return (this.loopFlags & LOOP_ANY) !== 0;
  }

  set any(on: boolean) {
    this.loopFlags = on ? this.loopFlags | LOOP_ANY : this.loopFlags & ~LOOP_ANY;
  }

  /** Returns true to keep waiting. */
  abstract check(anyActivity: boolean): boolean;
  /** The wait ended: `timedOut` true when its time ran out, false when `check` stopped it. */
  abstract finish(timedOut: boolean): void;
  /** The wait failed (ServerUnavailable, shutdown, or what `check` threw). */
  abstract fail(error: unknown): void;

  /** Asked at each read of a polled connection (loops with `any` set): wake for it? */
  wantsActivity(): boolean {
    return true;
  }

  /** A polled connection was readable (`errored` false) or failed (true) in this turn. */
  noteActivity(connection: GearmanConnection, errored: boolean): void {
    void connection;
    void errored;
  }

  polls(connection: GearmanConnection): boolean {
    return this.connections === null || this.connections.has(connection);
  }
}

const LOOP_DIRTY = 1;
/** Not running. @internal */
export const LOOP_DONE = 2;
const LOOP_ANY = 4;
/** The pending iteration saw socket activity (a read or a failure), not only a `wake()`. */
const LOOP_IO = 8;
/**
 * Not kept in the manager's set of loops (a client call: the requests it watches wake it, and
 * shutdown() reaches it through them). Saves a set entry per call in flight.
 * @internal
 */
export const LOOP_UNTRACKED = 16;
/** An untracked loop that is counted in untrackedLoops (it got past its first check). */
const LOOP_COUNTED = 32;

/** A wait driven by a python-gearman style callback, settling a promise. */
class CallbackLoop extends PollLoop {
  connections: ReadonlySet<GearmanConnection> | null = null;
  watched: Waitable | readonly Waitable[] | undefined = undefined;
  resolve!: (timedOut: boolean) => void;
  reject!: (error: unknown) => void;
  readonly promise: Promise<boolean>;
  /** See {@link PollOptions.wakeOnActivity}. */
  activityFilter: (() => boolean) | undefined = undefined;
  /** Filled only for pollConnectionsOnce. */
  readable: Set<GearmanConnection> | undefined = undefined;
  errored: Set<GearmanConnection> | undefined = undefined;

  constructor(readonly callback: (anyActivity: boolean) => boolean) {
    super();
    this.promise = new Promise<boolean>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  check(anyActivity: boolean): boolean {
    return this.callback(anyActivity);
  }

  finish(timedOut: boolean): void {
    this.resolve(timedOut);
  }

  fail(error: unknown): void {
    this.reject(error);
  }

  override wantsActivity(): boolean {
    return this.activityFilter === undefined || this.activityFilter();
  }

  override noteActivity(connection: GearmanConnection, errored: boolean): void {
    (errored ? this.errored : this.readable)?.add(connection);
  }
}

function defaultLogger(): Logger {
  const log = debuglog('gearman');
  return { debug: log, info: log, warn: log, error: log };
}

function toGearmanError(err: unknown, connection: GearmanConnection): GearmanError {
  if (err instanceof GearmanError) return err;
  return new ConnectionError(`${connection.address}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}

/**
 * Base of {@link GearmanClient}, {@link GearmanWorker} and {@link GearmanAdminClient}.
 *
 * @typeParam H - the command handler class of the subclass
 *
 * @example
 * ```ts
 * // Wait up to 2 s for any activity on the worker's connections:
 * const timedOut = await worker.pollConnectionsUntilStopped(worker.connectionList, (any) => !any, 2);
 * ```
 */
export abstract class ConnectionManager<H extends CommandHandler = CommandHandler> implements ConnectionEvents {
  /** The connections, in host-list order. */
  readonly connectionList: GearmanConnection[] = [];
  /** Live connection → its handler. */
  readonly connectionToHandlerMap = new Map<GearmanConnection, H>();
  /** Live handler → its connection. */
  readonly handlerToConnectionMap = new Map<H, GearmanConnection>();
  /** Converts job data to and from bytes; a subclass may override the property. */
  dataEncoder: DataEncoderLike = NoopEncoder;
  /** Where diagnostics go. */
  logger: Logger;

  /** @internal */
  protected readonly connectionOptions: GearmanConnectionOptions;
  private readonly loops = new Set<PollLoop>();
  /** Loops that wake on any activity of their connections (not watch-based). */
  private readonly anyLoops = new Set<PollLoop>();
  private dirtyLoops: PollLoop[] = [];
  /** Running loops with LOOP_UNTRACKED (counted, for keeping the process alive). */
  private untrackedLoops = 0;
  /** Set while shutdown() runs: a loop woken then fails with it. */
  private shuttingDown: GearmanError | undefined = undefined;
  /** Watch-mode loops to iterate at the end of the current read (or in a microtask). */
  private watchDirty: PollLoop[] = [];
  private watchDrainScheduled = false;
  /** Inside handleRead: wakes are collected and run when the read is done. */
  private dispatching = 0;
  private readonly runWatchIterationsBound = (): void => this.runWatchIterations();
  private iterationScheduled = false;
  /** Reasons to keep the process alive besides running loops (a worker's `work()`). */
  private holds = 0;
  private refed = false;
  private readonly runIterationsBound = (): void => this.runIterations();

  /**
   * @param hostList - servers; none means `['localhost:4730']`
   * @param options - see {@link ConnectionManagerOptions}
   * @param allowText - connections accept admin text lines (admin client)
   * @throws {@link GearmanError} (code `'INVALID_HOST'`) for a malformed host entry
   */
  constructor(hostList?: HostEntry[] | null, options: ConnectionManagerOptions = {}, allowText = false) {
    const opts = (options ?? {}) as ConnectionManagerOptions;
    if (typeof opts !== 'object') throw new TypeError('options must be an object');
    this.connectionOptions = {
      connectTimeoutMs: positive(opts.connectTimeoutMs, 5000, 'connectTimeoutMs'),
      keepAlive: opts.keepAlive ?? true,
      maxPacketSize: positive(opts.maxPacketSize, 256 * 1024 * 1024, 'maxPacketSize'),
      allowText,
      ...(opts.createSocket === undefined ? {} : { createSocket: opts.createSocket }),
    };
    this.logger = opts.logger ?? defaultLogger();
    if (opts.dataEncoder !== undefined) this.dataEncoder = checkEncoder(opts.dataEncoder, this.constructor.name);
    for (const host of parseHostList(hostList)) this.addConnection(host);
  }

  /**
   * Creates the command handler for a newly established connection (python-gearman's
   * `command_handler_class`).
   */
  protected abstract createCommandHandler(connection: GearmanConnection): H;

  /**
   * Adds a server.
   *
   * @param entry - `'host'`, `'host:port'`, `'[v6]:port'` or `{ host, port?, tls? }`
   * @returns the new connection
   * @throws {@link GearmanError} for a malformed entry
   */
  addConnection(entry: HostEntry | { host: string; port: number; tls: import('node:tls').ConnectionOptions | undefined }): GearmanConnection {
    const parsed = typeof entry === 'object' && entry !== null && 'port' in entry && typeof entry.port === 'number' && !(entry.tls === true)
      ? { host: entry.host, port: entry.port, tls: entry.tls === undefined ? undefined : (entry.tls as import('node:tls').ConnectionOptions) }
      : parseHostList([entry])[0]!;
    const connection = new GearmanConnection(parsed.host, parsed.port, parsed.tls, this.connectionOptions);
    connection.events = this;
    connection.setRef(this.refed);
    this.connectionList.push(connection);
    return connection;
  }

  /**
   * Connects `connection` if it is not connected, and gives it a fresh command handler
   * (python-gearman's `establish_connection`).
   *
   * @returns the connection
   * @throws {@link ConnectionError} (rejects) if it cannot connect; the error names host:port
   */
  async establishConnection(connection: GearmanConnection): Promise<GearmanConnection> {
    if (connection.connected && connection.handler !== undefined) return connection;
    try {
      await connection.connect();
    } catch (err) {
      connection.lastError = toGearmanError(err, connection);
      throw connection.lastError;
    }
    if (connection.connected && connection.handler === undefined) this.registerHandler(connection);
    return connection;
  }

  private registerHandler(connection: GearmanConnection): H {
    const handler = this.createCommandHandler(connection);
    connection.handler = handler;
    connection.lastError = undefined;
    this.connectionToHandlerMap.set(connection, handler);
    this.handlerToConnectionMap.set(handler, connection);
    connection.setRef(this.refed);
    handler.initialState();
    return handler;
  }

  /** The live handler of `connection`, if any. */
  handlerOf(connection: GearmanConnection | null | undefined): H | undefined {
    return (connection?.handler as H | undefined) ?? undefined;
  }

  // ---------------------------------------------------------------------------------------------
  // The poll loop

  /**
   * Runs `callback` once before any I/O, then once per iteration with whether any of `connections`
   * saw activity, until it returns false or `timeout` seconds pass.
   *
   * @param connections - the connections to poll (python-gearman: the ones the wait concerns)
   * @param callback - returns true to keep polling
   * @param timeout - seconds; `null`/`undefined`: no limit; `0`: run the callback once and return
   * @param options - see {@link PollOptions}
   * @returns `true` if the timeout passed, `false` if the callback stopped the loop
   * @throws {@link ServerUnavailable} (rejects) when none of `connections` is alive (connected,
   * connecting, or about to reconnect) and the callback did not stop the loop; whatever the
   * callback throws
   */
  pollConnectionsUntilStopped(
    connections: Iterable<GearmanConnection>,
    callback: (anyActivity: boolean) => boolean,
    timeout?: number | null,
    options?: PollOptions,
  ): Promise<boolean> {
    if (timeout !== null && timeout !== undefined && (typeof timeout !== 'number' || Number.isNaN(timeout))) {
      return Promise.reject(new TypeError(`pollTimeout must be a number of seconds, null or undefined; got ${String(timeout)}`));
    }
    const loop = new CallbackLoop(callback);
    loop.connections = connections === this.connectionList ? null : new Set(connections);
    if (options?.watch !== undefined) {
      loop.watched = [...options.watch] as Waitable[];
      const wake = options.wakeOnActivity;
      loop.any = wake === true || typeof wake === 'function';
      if (typeof wake === 'function') loop.activityFilter = wake;
    }
    this.runLoop(loop, timeout);
    return loop.promise;
  }

  /**
   * Waits for one iteration with activity on `connections`, or `timeout` seconds.
   *
   * @param connections - the connections to poll
   * @param timeout - seconds; `null`/`undefined`: no limit; `0`: do not wait
   * @returns the connections that were readable, written to, and that failed (all empty on timeout)
   * @throws {@link ServerUnavailable} (rejects) when none of `connections` is alive
   */
  async pollConnectionsOnce(connections: Iterable<GearmanConnection>, timeout?: number | null): Promise<PollResult> {
    const set = new Set(connections);
    const writable = new Set<GearmanConnection>([...set].filter((c) => c.writable()));
    let first = true;
    const loop = new CallbackLoop((any) => {
      if (first) {
        first = false;
        return true;
      }
      return !any;
    });
    loop.connections = set;
    const readable = (loop.readable = new Set<GearmanConnection>());
    const errored = (loop.errored = new Set<GearmanConnection>());
    this.runLoop(loop, timeout);
    await loop.promise;
    return { readable, writable, errored };
  }

  /**
   * Starts `loop`: registers what it watches, runs `check(false)` before any I/O, and then one
   * iteration per turn with activity, until it stops, times out or fails. A loop object may be run
   * again after it ended.
   * @internal
   */
  runLoop(loop: PollLoop, timeout: number | null | undefined): void {
    loop.done = false;
    loop.loopFlags &= ~(LOOP_DIRTY | LOOP_IO);
    const watched = loop.watched;
    if (watched !== undefined) {
      if (isWaitableList(watched)) for (let i = 0; i < watched.length; i++) addWaiter(watched[i]!, loop);
      else addWaiter(watched, loop);
    }
    if (!this.iterate(loop, false)) return;
    if (timeout !== null && timeout !== undefined && !(timeout > 0)) {
      this.endLoop(loop);
      loop.finish(true);
      return;
    }
    if (loop.loopFlags & LOOP_UNTRACKED) {
      loop.loopFlags |= LOOP_COUNTED;
      if (++this.untrackedLoops === 1) this.updateRef();
    } else {
      this.loops.add(loop);
      if (loop.any) this.anyLoops.add(loop);
      if (this.loops.size === 1) this.updateRef();
    }
    // Beyond setTimeout's range (about 24.8 days) there is no practical limit.
    if (timeout !== null && timeout !== undefined && timeout * 1000 <= 2_147_483_647) {
      loop.timer = setTimeout(onLoopTimeout, Math.max(1, Math.round(timeout * 1000)), this, loop);
    }
  }

  /** @internal */
  onLoopTimeout(loop: PollLoop): void {
    loop.timer = undefined;
    if (loop.done) return;
    // As python-gearman: the poll that ran out of time still ends in one more callback
    // (with the activity of this turn, if any), then the loop reports the timeout.
    this.iterate(loop, (loop.loopFlags & LOOP_IO) !== 0);
    if (loop.done) return;
    this.endLoop(loop);
    loop.finish(true);
  }

  /**
   * One call of the loop's check. The loop ends when the check stops it (`finish(false)`), throws,
   * or leaves it with no live connection (the stop condition is checked first: python-gearman
   * bug 19.3). Returns whether the loop goes on.
   */
  private iterate(loop: PollLoop, anyActivity: boolean): boolean {
    loop.loopFlags &= ~(LOOP_DIRTY | LOOP_IO);
    let keepGoing: boolean;
    try {
      keepGoing = loop.check(anyActivity);
    } catch (err) {
      this.endLoop(loop);
      loop.fail(err);
      return false;
    }
    if (!keepGoing) {
      this.endLoop(loop);
      loop.finish(false);
      return false;
    }
    if (!this.anyAlive(loop)) {
      this.endLoop(loop);
      loop.fail(this.unavailable(loop.connections ?? this.connectionList));
      return false;
    }
    return true;
  }

  private endLoop(loop: PollLoop): void {
    if (loop.done) return;
    loop.done = true;
    if (loop.timer !== undefined) {
      clearTimeout(loop.timer);
      loop.timer = undefined;
    }
    const watched = loop.watched;
    if (watched !== undefined) {
      if (isWaitableList(watched)) for (let i = 0; i < watched.length; i++) removeWaiter(watched[i]!, loop);
      else removeWaiter(watched, loop);
    }
    if (loop.loopFlags & LOOP_COUNTED) {
      loop.loopFlags &= ~LOOP_COUNTED;
      if (--this.untrackedLoops === 0) this.updateRef();
    } else if (this.loops.delete(loop)) {
      this.anyLoops.delete(loop);
      if (this.loops.size === 0) this.updateRef();
    }
  }

  private anyAlive(loop: PollLoop): boolean {
    const connections = loop.connections ?? this.connectionList;
    for (const connection of connections) if (connection.alive) return true;
    return false;
  }

  /**
   * The error for "no polled connection is alive", naming every server and why it is down.
   * @internal
   */
  unavailable(connections: Iterable<GearmanConnection>, what = 'no server available'): ServerUnavailable {
    const list = [...connections];
    const causes = list.map((c) => c.lastError).filter((e): e is GearmanError => e !== undefined);
    const detail = list.length === 0 ? '(the host list is empty)' : list.map((c) => `${c.address} (${c.lastError?.message.replace(`${c.address}: `, '') ?? 'not connected'})`).join(', ');
    const cause = causes.length === 0 ? undefined : causes.length === 1 ? causes[0] : new AggregateError(causes, 'connection errors');
    return new ServerUnavailable(`${what}: ${detail}`, cause === undefined ? {} : { cause });
  }

  private markDirty(loop: PollLoop, io = false): void {
    if (io) loop.loopFlags |= LOOP_IO;
    if (loop.done) return;
    if (this.shuttingDown !== undefined) {
      // Woken by shutdown() closing its connections: the wait ends with shutdown's error.
      this.endLoop(loop);
      loop.fail(this.shuttingDown);
      return;
    }
    if (loop.dirty) return;
    loop.dirty = true;
    if (loop.any) {
      // Loops with a user-visible callback: one iteration per turn of the event loop.
      this.dirtyLoops.push(loop);
      if (!this.iterationScheduled) {
        this.iterationScheduled = true;
        setImmediate(this.runIterationsBound);
      }
      return;
    }
    // Waits that watch objects: at the end of the read that woke them, or in a microtask when
    // the wake did not come from a read.
    this.watchDirty.push(loop);
    if (this.dispatching === 0 && !this.watchDrainScheduled) {
      this.watchDrainScheduled = true;
      queueMicrotask(this.runWatchIterationsBound);
    }
  }

  private runWatchIterations(): void {
    this.watchDrainScheduled = false;
    // Iterations may wake further waits (a phase ending starts the next): run until none is left.
    while (this.watchDirty.length !== 0) {
      const list = this.watchDirty;
      this.watchDirty = [];
      this.iterateAll(list);
    }
  }

  /** One iteration of every loop that saw activity in this turn of the event loop. */
  private runIterations(): void {
    this.iterationScheduled = false;
    const list = this.dirtyLoops;
    this.dirtyLoops = [];
    this.iterateAll(list);
  }

  private iterateAll(list: PollLoop[]): void {
    for (let i = 0; i < list.length; i++) {
      const loop = list[i]!;
      if (loop.done || !loop.dirty) continue;
      this.iterate(loop, (loop.loopFlags & LOOP_IO) !== 0);
    }
  }

  /**
   * Wakes the loops watching `target` (see {@link PollOptions.watch}): each runs one iteration in
   * this turn of the event loop. O(number of loops watching `target`).
   */
  wake(target: object): void {
    const w = (target as Waitable).waiters;
    if (w === undefined) return;
    if (w instanceof PollLoop) this.markDirty(w);
    else for (const loop of w as PollLoop[]) this.markDirty(loop);
  }

  // ---------------------------------------------------------------------------------------------
  // Keeping the process alive

  /** Keep sockets referenced while loops run or a hold is taken (a worker's `work()`). @internal */
  protected hold(on: boolean): void {
    this.holds += on ? 1 : -1;
    this.updateRef();
  }

  private updateRef(): void {
    const want = this.loops.size > 0 || this.untrackedLoops > 0 || this.holds > 0;
    if (want === this.refed) return;
    this.refed = want;
    for (const connection of this.connectionList) connection.setRef(want);
  }

  // ---------------------------------------------------------------------------------------------
  // Activity routing (ConnectionEvents)

  /**
   * Bytes arrived on `connection`: decode them, hand each packet to the handler, and wake the
   * loops polling it. A decode or handler error closes that connection only.
   * @internal
   */
  handleRead(connection: GearmanConnection, chunk: Buffer): void {
    this.dispatching++;
    try {
      connection.decode(chunk);
    } catch (err) {
      const error = toGearmanError(err, connection);
      this.logger.error(`${connection.address}: closing connection: ${error.message}`);
      this.handleError(connection, error);
    } finally {
      this.dispatching--;
    }
    if (this.anyLoops.size !== 0) {
      for (const loop of this.anyLoops) {
        if (loop.polls(connection) && loop.wantsActivity()) {
          loop.noteActivity(connection, false);
          this.markDirty(loop, true);
        }
      }
    }
    // Waits woken by what this read changed run now: their callbacks are internal, and resolving
    // them here saves the client a second trip into JavaScript per read.
    if (this.watchDirty.length !== 0) this.runWatchIterations();
  }

  /** @internal */
  handlePacket(connection: GearmanConnection, type: number, args: PacketArgs): void {
    const handler = connection.handler as H | undefined;
    if (handler === undefined) return;
    handler.recvCommand(type, args);
  }

  /** @internal */
  handleText(connection: GearmanConnection, line: string, crlf: boolean): void {
    const handler = connection.handler as (H & { recvTextCommand?(line: string, crlf: boolean): void }) | undefined;
    if (handler === undefined) return;
    if (handler.recvTextCommand === undefined) {
      throw new GearmanError(`${connection.address}: ${handler.constructor.name} received a text line, which it does not handle`, { code: 'UNKNOWN_COMMAND' });
    }
    handler.recvTextCommand(line, crlf);
  }

  /**
   * Writes what is queued on `connection` now (normally done once per turn automatically).
   */
  handleWrite(connection: GearmanConnection): void {
    connection.flush();
  }

  /**
   * `connection` failed or closed: discard its handler (after `onIoError`), close it, and wake the
   * loops polling it.
   */
  handleError(connection: GearmanConnection, error: GearmanError): void {
    const handler = connection.handler as H | undefined;
    connection.lastError = error;
    this.dropHandler(connection);
    connection.close();
    if (handler !== undefined) {
      this.logger.debug(`${connection.address}: connection lost: ${error.message}`);
      try {
        handler.onIoError(error);
      } catch (err) {
        this.logger.error(`${connection.address}: onIoError failed: ${(err as Error).message}`);
      }
    }
    for (const loop of this.loops) {
      if (loop.polls(connection)) {
        loop.noteActivity(connection, true);
        this.markDirty(loop, true);
      }
    }
    this.onConnectionLost(connection, error);
  }

  private dropHandler(connection: GearmanConnection): void {
    const handler = connection.handler as H | undefined;
    connection.handler = undefined;
    if (handler !== undefined) {
      this.connectionToHandlerMap.delete(connection);
      this.handlerToConnectionMap.delete(handler);
    }
  }

  /** Hook: a connection was lost (the worker schedules its reconnect here). */
  protected onConnectionLost(connection: GearmanConnection, error: GearmanError): void {
    void connection;
    void error;
  }

  /**
   * Queues a packet on `handler`'s connection.
   *
   * @throws {@link ConnectionError} if that handler's connection is gone
   * @throws {@link ProtocolError} if the arguments do not fit the packet
   * @internal
   */
  sendCommand(handler: CommandHandler, type: number, args: readonly PacketArg[], validated = false): void {
    const connection = handler.connection;
    if (connection.handler !== handler) {
      throw new ConnectionError(`${connection.address}: connection lost`, connection.lastError === undefined ? {} : { cause: connection.lastError });
    }
    connection.sendCommand(type, args, validated);
  }

  /**
   * Queues an admin text line on `handler`'s connection.
   *
   * @throws {@link ConnectionError} if that handler's connection is gone
   * @internal
   */
  sendText(handler: CommandHandler, text: string): void {
    const connection = handler.connection;
    if (connection.handler !== handler) {
      throw new ConnectionError(`${connection.address}: connection lost`, connection.lastError === undefined ? {} : { cause: connection.lastError });
    }
    connection.sendText(text);
  }

  /**
   * A server ERROR that no request claimed: logged at error level (python-gearman's
   * `on_gearman_error`).
   */
  onGearmanError(handler: CommandHandler, error: ServerError): void {
    this.logger.error(`Received error from server ${handler.connection.address}: ${error.serverCode}: ${error.serverText}`);
  }

  /**
   * Closes every connection. Calls waiting on them reject with a {@link ConnectionError} (code
   * `'SHUTDOWN'`); the object can be used again (it reconnects).
   */
  shutdown(): void {
    const error = new ConnectionError('shutdown() closed the connections', { code: 'SHUTDOWN' });
    this.shuttingDown = error;
    try {
      for (const loop of [...this.loops]) {
        this.endLoop(loop);
        loop.fail(error);
      }
      // Loops the manager does not track are woken (and so failed) by the handlers, through the
      // requests they wait on.
      for (const connection of this.connectionList) {
        const handler = connection.handler as H | undefined;
        this.dropHandler(connection);
        connection.close();
        connection.lastError = undefined;
        if (handler !== undefined) {
          try {
            handler.onIoError(error);
          } catch (err) {
            this.logger.error(`${connection.address}: onIoError failed: ${(err as Error).message}`);
          }
        }
      }
    } finally {
      this.shuttingDown = undefined;
    }
  }
}

function addWaiter(target: Waitable, loop: PollLoop): void {
  const w = target.waiters;
  if (w === undefined) target.waiters = loop;
  else if (w instanceof PollLoop) target.waiters = [w, loop];
  else (w as PollLoop[]).push(loop);
}

function removeWaiter(target: Waitable, loop: PollLoop): void {
  const w = target.waiters;
  if (w === loop) target.waiters = undefined;
  else if (Array.isArray(w)) {
    const i = w.indexOf(loop);
    if (i !== -1) w.splice(i, 1);
    if (w.length === 1) target.waiters = w[0];
    else if (w.length === 0) target.waiters = undefined;
  }
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
    throw new TypeError(`${name} must be a positive number, got ${String(value)}`);
  }
  return value;
}
