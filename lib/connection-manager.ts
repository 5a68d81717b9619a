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
import { ConnectionError, GearmanError, InvalidArgumentError, ServerUnavailable, ShutdownError, UnknownCommandError, type ServerError } from './errors.js';
import { checkPollTimeout, describeValue } from './arguments.js';
import { parseHostList, type HostEntry } from './hosts.js';
import type { PacketArg } from './protocol/encoder.js';
import type { PacketArgs } from './protocol/decoder.js';

/** A console-like logger. */
export interface Logger {
  /**
   * Connection losses, dropped duplicate answers: details for debugging.
   * @param message - one line, naming the server (`host:port: ...`)
   * @param args - extra values, as `console.debug`'s
   */
  debug(message: string, ...args: unknown[]): void;
  /**
   * Not used by the client, the worker or the admin client; the embedded server logs each
   * connection opened and closed here.
   * @param message - one line
   * @param args - extra values, as `console.info`'s
   */
  info?(message: string, ...args: unknown[]): void;
  /**
   * Something was dropped or retried: a lost worker connection, a packet for an unknown handle.
   * @param message - one line, naming the server (`host:port: ...`)
   * @param args - extra values, as `console.warn`'s
   */
  warn(message: string, ...args: unknown[]): void;
  /**
   * A server error nothing claimed, a connection closed for a protocol error.
   * @param message - one line, naming the server (`host:port: ...`)
   * @param args - extra values, as `console.error`'s
   */
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
   * Wake the loop only when one of these targets is woken (the client's requests are woken by the
   * packets that change them), or a polled connection is lost, instead of on every packet of its
   * connections. The client's waits use this so a packet wakes only the calls it concerns.
   * @default none: the loop wakes on every packet of its connections
   */
  watch?: Iterable<object>;
  /**
   * With `watch`: also wake on any activity of the polled connections; a function is asked at
   * each read. @default false
   */
  wakeOnActivity?: boolean | (() => boolean);
}

/**
 * Where a {@link PollLoop} is in its life. A loop runs once: a new wait (a client call's next
 * phase, say) is a new loop object.
 * - `'idle'`: made, not started.
 * - `'waiting'`: started by {@link ConnectionManager.runLoop}; its check runs once per iteration.
 * - `'queued'`: waiting, and in the scheduler's queue for its next iteration (at most once).
 * - `'ended'`: finished (stopped or timed out) or failed; the manager no longer knows it.
 * @internal
 */
export type LoopState = 'idle' | 'waiting' | 'queued' | 'ended';

/**
 * When a woken loop runs its next iteration:
 * - `'turn'`: once per turn of the event loop (a `setImmediate`), with every socket event of that
 *   turn handled first: python-gearman's "one iteration per poll", for loops with a user-visible
 *   callback that wake on any activity of their connections.
 * - `'read'`: at the end of the socket read that woke it (or in a microtask when the wake did not
 *   come from a read): for waits that only watch targets and whose checks are internal (the
 *   client's calls), so a burst costs one pass, not one turn, per call woken.
 * @internal
 */
export type LoopCadence = 'turn' | 'read';

function onLoopTimeout(manager: ConnectionManager, loop: PollLoop): void {
  manager.onLoopTimeout(loop);
}

/**
 * One running wait of the poll loop. The manager calls `check` before any I/O and once per
 * iteration, then exactly one of `finish` (timed out or stopped) or `fail`. Subclasses hold the
 * wait's state in fields, so a wait costs one object and no closures.
 *
 * A loop's bookkeeping fields (`state`, `prevWaiting`, `nextWaiting`, `timer`) are written only
 * by the manager; see the invariants at {@link ConnectionManager}.
 * @internal
 */
export abstract class PollLoop {
  /** See {@link LoopState}. */
  state: LoopState = 'idle';
  /** Neighbours in the manager's list of waiting loops (invariant 2). */
  prevWaiting: PollLoop | undefined = undefined;
  nextWaiting: PollLoop | undefined = undefined;
  timer: NodeJS.Timeout | undefined = undefined;
  /** The polled connections; `null`: every connection of the manager, including later ones. */
  abstract readonly connections: ReadonlySet<GearmanConnection> | null;
  /** What it watches (see {@link PollOptions.watch}): one target or a list; the manager keeps the reverse map. */
  abstract readonly watched: object | readonly object[] | undefined;
  /** Wakes on any activity of its connections, not only on `wake()` of what it watches. */
  abstract readonly wakesOnActivity: boolean;

  /**
   * How many targets it watches; the manager reads them with {@link watchedAt}. The base reads
   * {@link watched}; a loop that derives its targets from its own fields (a client call, from its
   * requests) overrides both, so a wait needs no array of targets.
   */
  watchCount(): number {
    const w = this.watched;
    return w === undefined ? 0 : Array.isArray(w) ? w.length : 1;
  }

  /** The `i`-th target it watches (`0 <= i < watchCount()`). */
  watchedAt(i: number): object {
    const w = this.watched as object | readonly object[];
    return Array.isArray(w) ? (w[i] as object) : w;
  }

  /** See {@link LoopCadence}: loops that wake on activity iterate once per turn. */
  get cadence(): LoopCadence {
    return this.wakesOnActivity ? 'turn' : 'read';
  }

  /** Returns true to keep waiting. */
  abstract check(anyActivity: boolean): boolean;
  /** The wait ended: `timedOut` true when its time ran out, false when `check` stopped it. */
  abstract finish(timedOut: boolean): void;
  /** The wait failed (ServerUnavailable, shutdown, or what `check` threw). */
  abstract fail(error: unknown): void;

  /** Asked at each read of a polled connection (loops that wake on activity): wake for it? */
  wantsActivity(): boolean {
    return true;
  }

  /**
   * A polled connection was readable (`errored` false) or failed (true) since the last
   * iteration. The base keeps no record (the client's waits do not need one): loops whose check
   * wants `anyActivity` override this and {@link takeActivity}.
   */
  noteActivity(connection: GearmanConnection, errored: boolean): void {
    void connection; // deliberately unused in the base, see above
    void errored;
  }

  /** Whether activity was noted since the last iteration; clears it. */
  takeActivity(): boolean {
    return false;
  }

  /** Whether activity was noted since the last iteration (without clearing it). */
  peekActivity(): boolean {
    return false;
  }

  polls(connection: GearmanConnection): boolean {
    return this.connections === null || this.connections.has(connection);
  }
}

/**
 * The manager's slot for the waits on one target, for targets made in large numbers (a client's
 * requests, through their side object): the registry keeps their waits here instead of in its map.
 * Only the manager reads or writes `waits`. Measured on the bench's 10,000-request batches, a map
 * entry per request cost 25-40 MB of peak RSS (its backing stores are large objects, regrown and
 * shrunk every batch); a slot costs one field.
 * @internal
 */
export class WaitSlot {
  /** The waiting loops that watch this target (one, a list of two or more, or none). */
  waits: PollLoop | PollLoop[] | undefined = undefined;
}

/** A wait driven by a python-gearman style callback, settling a promise. */
class CallbackLoop extends PollLoop {
  readonly promise: Promise<boolean>;
  resolve!: (timedOut: boolean) => void;
  reject!: (error: unknown) => void;
  /** The pending iteration saw socket activity (a read or a failure), not only a `wake()`. */
  sawActivity = false;
  /** Filled only for pollConnectionsOnce. */
  readable: Set<GearmanConnection> | undefined = undefined;
  errored: Set<GearmanConnection> | undefined = undefined;

  constructor(
    readonly callback: (anyActivity: boolean) => boolean,
    readonly connections: ReadonlySet<GearmanConnection> | null,
    readonly watched: readonly object[] | undefined,
    readonly wakesOnActivity: boolean,
    /** See {@link PollOptions.wakeOnActivity}. */
    readonly activityFilter: (() => boolean) | undefined,
  ) {
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
    this.sawActivity = true;
    (errored ? this.errored : this.readable)?.add(connection);
  }

  override takeActivity(): boolean {
    const saw = this.sawActivity;
    this.sawActivity = false;
    return saw;
  }

  override peekActivity(): boolean {
    return this.sawActivity;
  }
}

/**
 * Decides when woken loops iterate (see `LoopCadence`): one queue per cadence, one entry
 * point ({@link schedule}), one way to run a queue ({@link runQueue}). The manager brackets every
 * socket read with {@link beginRead}/{@link endRead}.
 * @internal
 */
class IterationScheduler {
  private turnQueue: PollLoop[] = [];
  private turnScheduled = false;
  private readQueue: PollLoop[] = [];
  private readDrainScheduled = false;
  /** Inside a socket read: `'read'` loops run when it ends. */
  private reading = 0;
  private readonly runTurnBound = (): void => {
    this.turnScheduled = false;
    const list = this.turnQueue;
    this.turnQueue = [];
    this.runQueue(list);
  };
  private readonly drainReadBound = (): void => {
    this.readDrainScheduled = false;
    this.drainReadQueue();
  };

  constructor(private readonly iterate: (loop: PollLoop) => void) {}

  /** Queues one iteration of a waiting `loop` (a no-op if it is queued already). */
  schedule(loop: PollLoop): void {
    if (loop.state !== 'waiting') return; // queued already, or ended
    loop.state = 'queued';
    if (loop.cadence === 'turn') {
      this.turnQueue.push(loop);
      if (!this.turnScheduled) {
        this.turnScheduled = true;
        setImmediate(this.runTurnBound);
      }
      return;
    }
    this.readQueue.push(loop);
    if (this.reading === 0 && !this.readDrainScheduled) {
      this.readDrainScheduled = true;
      queueMicrotask(this.drainReadBound);
    }
  }

  beginRead(): void {
    this.reading++;
  }

  endRead(): void {
    if (--this.reading === 0 && this.readQueue.length !== 0) this.drainReadQueue();
  }

  /** Iterations may wake further waits (a phase ending starts the next): run until none is left. */
  private drainReadQueue(): void {
    while (this.readQueue.length !== 0) {
      const list = this.readQueue;
      this.readQueue = [];
      this.runQueue(list);
    }
  }

  private runQueue(list: PollLoop[]): void {
    for (let i = 0; i < list.length; i++) {
      const loop = list[i]!;
      if (loop.state !== 'queued') continue; // ended meanwhile
      loop.state = 'waiting';
      this.iterate(loop);
    }
  }
}

/** Whether the (cheap) invariant checks of the whole poll core run after every iteration pass. */
const CHECK_INVARIANTS = /\bgearman-invariants\b/.test(process.env['NODE_DEBUG'] ?? '');

/** A broken invariant of the poll core: a bug of this library, never a user error. */
function invariant(condition: boolean, what: string): asserts condition {
  if (!condition) broken(what);
}

/**
 * Throws for a broken invariant. The checks on the hot path (every loop's start, iteration and
 * end) call it behind their own test, so that their message is built only when it is thrown.
 */
function broken(what: string): never {
  throw new Error(`gearman-ts poll core invariant broken: ${what}`);
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
 * ## The poll core's invariants
 * Written here, checked by `assertInvariants()` (run after every iteration
 * pass with `NODE_DEBUG=gearman-invariants`, and by the unit specs); the cheap ones are asserted
 * where they could break.
 * 1. A loop's `state` only moves forward: `'idle'` → `'waiting'` (only in `runLoop`) → `'ended'`
 *    (only in `endLoop`), with `'waiting'` ↔ `'queued'` in between (only the scheduler). A loop
 *    object runs once; its `finish` or `fail` is called exactly once, right after it ends.
 * 2. Every waiting (or queued) loop is in the manager's list of waiting loops (`firstWaiting`,
 *    linked through the loops: no allocation per wait), `waitingCount` long; `activityLoops` holds
 *    exactly those that wake on activity; each is registered under every target it watches. An
 *    ended loop is in no list, registered nowhere, and has no timer.
 * 3. The watch registry maps a target to the waiting loops that watch it (one loop, or a list of
 *    two or more); a target with none has no entry. It lives in `watchers`, or, for a target that
 *    is a `WaitSlot` (a client request's side object), in that slot, which only the manager
 *    touches. Admin commands and a worker's stop signal carry nothing of the poll loop.
 * 4. A `'queued'` loop is in one of the scheduler's queues; a loop is queued at most once until
 *    its iteration, so a burst of wakes is one iteration. A queue entry whose loop is no longer
 *    `'queued'` (it ended, or its timeout ran the iteration first) is skipped.
 * 5. The sockets are referenced (keep the process alive) exactly while a loop waits or a hold is
 *    taken (`refed === (waitingCount > 0 || holds > 0)`), checked once the `finish` or `fail` of
 *    an ended loop has returned (a phase starts the next one there).
 * 6. The connection ↔ handler relation is written only by `bindHandler`/`unbindHandler`:
 *    `connection.handler`, `connectionToHandlerMap` and `handlerToConnectionMap` agree.
 *
 * Which way the arrows point: connections report to the manager (`ConnectionEvents`); the
 * manager hands packets to the handler of their connection and wakes the loops; handlers change
 * their requests and call `wake(target)`; loops never touch sockets.
 *
 * @typeParam H - the command handler class of the subclass
 *
 * @example
 * ```ts
 * // Wait up to 2 s for any activity on the worker's connections:
 * const timedOut = await worker.pollConnectionsUntilStopped(worker.connectionList, (any) => !any, 2);
 * ```
 */
export abstract class ConnectionManager<H extends CommandHandler = CommandHandler> {
  /** The connections, in host-list order. */
  readonly connectionList: GearmanConnection[] = [];
  /** Live connection → its handler (written only by the manager; see invariant 6). */
  readonly connectionToHandlerMap = new Map<GearmanConnection, H>();
  /** Live handler → its connection (written only by the manager; see invariant 6). */
  readonly handlerToConnectionMap = new Map<H, GearmanConnection>();
  /** Converts job data to and from bytes; a subclass may override the property. */
  dataEncoder: DataEncoderLike = NoopEncoder;
  /** Where diagnostics go. */
  logger: Logger;

  /** @internal */
  protected readonly connectionOptions: GearmanConnectionOptions;
  /** The list of waiting loops, linked through `prevWaiting`/`nextWaiting` (invariant 2). */
  private firstWaiting: PollLoop | undefined = undefined;
  /** Its length. */
  private waitingCount = 0;
  /** The waiting loops that wake on any activity of their connections (invariant 2). */
  private readonly activityLoops = new Set<PollLoop>();
  /**
   * Target → the waiting loops watching it, for targets that are not a `WaitSlot`
   * (invariant 3). Entries go when their loops end.
   */
  private readonly watchers = new Map<object, PollLoop | PollLoop[]>();
  private readonly scheduler = new IterationScheduler((loop) => this.iterate(loop, loop.takeActivity()));
  /** Reasons to keep the process alive besides running loops (a worker's `work()`). */
  private holds = 0;
  private refed = false;

  /**
   * @param hostList - servers; none (or an empty list) means `['localhost:4730']`
   * @param options - see {@link ConnectionManagerOptions}
   * @param allowText - connections accept admin text lines (admin client)
   * @throws {@link InvalidArgumentError} (code `'INVALID_HOST'`) for a malformed host entry
   */
  constructor(hostList?: HostEntry[] | null, options: ConnectionManagerOptions = {}, allowText = false) {
    const opts = (options ?? {}) as ConnectionManagerOptions;
    if (typeof opts !== 'object') throw new InvalidArgumentError(`${new.target.name}: options must be an object, got ${typeof opts}`);
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
   * @param connection - the connection just established
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
   * @param connection - one of {@link connectionList}
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
    if (connection.connected && connection.handler === undefined) this.bindHandler(connection);
    return connection;
  }

  /** Gives `connection` a fresh handler: the one place that creates the relation (invariant 6). */
  private bindHandler(connection: GearmanConnection): H {
    const handler = this.createCommandHandler(connection);
    connection.handler = handler;
    connection.lastError = undefined;
    this.connectionToHandlerMap.set(connection, handler);
    this.handlerToConnectionMap.set(handler, connection);
    connection.setRef(this.refed);
    handler.initialState();
    return handler;
  }

  /**
   * Forgets `connection`'s handler, if any: the one place that ends the relation (invariant 6).
   * @returns the handler it had
   * @internal
   */
  protected unbindHandler(connection: GearmanConnection): H | undefined {
    const handler = connection.handler as H | undefined;
    connection.handler = undefined;
    if (handler !== undefined) {
      this.connectionToHandlerMap.delete(connection);
      this.handlerToConnectionMap.delete(handler);
    }
    return handler;
  }

  /** The live handler of `connection`, if any. @internal */
  handlerOf(connection: GearmanConnection | null | undefined): H | undefined {
    return (connection?.handler as H | undefined) ?? undefined;
  }

  /**
   * Whether `handler` is still the live handler of its connection (false once the connection
   * was lost or closed, even if it reconnected since).
   * @internal
   */
  isLive(handler: CommandHandler): boolean {
    return handler.connection.handler === handler;
  }

  // ---------------------------------------------------------------------------------------------
  // The poll loop

  /**
   * Runs `callback` once before any I/O, then once per iteration with whether any of `connections`
   * saw activity, until it returns false or `timeout` seconds pass.
   *
   * @param connections - the connections to poll (python-gearman: the ones the wait concerns)
   * @param callback - returns true to keep polling
   * @param timeout - seconds; `null`/`undefined`/`Infinity`: no limit; `0`: run the callback once and return
   * @param options - see {@link PollOptions}
   * @returns `true` if the timeout passed, `false` if the callback stopped the loop
   * @throws {@link InvalidArgumentError} (rejects) for a timeout that is not a number
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
    // A negative timeout is python-gearman's "no wait", as 0.
    if (typeof timeout === 'number' && timeout < 0) timeout = 0;
    let seconds: number | null;
    try {
      seconds = checkPollTimeout(timeout, 'pollConnectionsUntilStopped');
    } catch (err) {
      return Promise.reject(err);
    }
    const watch = options?.watch === undefined ? undefined : [...options.watch];
    const wake = options?.wakeOnActivity;
    const loop = new CallbackLoop(
      callback,
      connections === this.connectionList ? null : new Set(connections),
      watch,
      watch === undefined || wake === true || typeof wake === 'function',
      typeof wake === 'function' ? wake : undefined,
    );
    this.runLoop(loop, seconds);
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
    const loop = new CallbackLoop(
      (any) => {
        if (first) {
          first = false;
          return true;
        }
        return !any;
      },
      set,
      undefined,
      true,
      undefined,
    );
    const readable = (loop.readable = new Set<GearmanConnection>());
    const errored = (loop.errored = new Set<GearmanConnection>());
    if (typeof timeout === 'number' && timeout < 0) timeout = 0;
    this.runLoop(loop, checkPollTimeout(timeout, 'pollConnectionsOnce'));
    await loop.promise;
    return { readable, writable, errored };
  }

  /**
   * Starts `loop` (state `'idle'`): registers what it watches, runs `check(false)` before any
   * I/O, and then one iteration per wake, until it stops, times out or fails.
   *
   * @param timeout - seconds (already checked), or `null` for no limit
   * @internal
   */
  runLoop(loop: PollLoop, timeout: number | null): void {
    if (loop.state !== 'idle') broken(`runLoop of a loop that is ${loop.state} (a loop runs once)`);
    loop.state = 'waiting';
    loop.nextWaiting = this.firstWaiting;
    if (this.firstWaiting !== undefined) this.firstWaiting.prevWaiting = loop;
    this.firstWaiting = loop;
    this.waitingCount++;
    if (loop.wakesOnActivity) this.activityLoops.add(loop);
    for (let i = 0, n = loop.watchCount(); i < n; i++) this.addWatcher(loop.watchedAt(i), loop);
    if (this.waitingCount === 1) this.updateRef();
    if (!this.iterate(loop, false)) return;
    if (timeout !== null && !(timeout > 0)) {
      this.finishLoop(loop, true);
      return;
    }
    // Beyond setTimeout's range (about 24.8 days) there is no practical limit.
    if (timeout !== null && timeout * 1000 <= 2_147_483_647) {
      loop.timer = setTimeout(onLoopTimeout, Math.max(1, Math.round(timeout * 1000)), this, loop);
    }
  }

  /** @internal */
  onLoopTimeout(loop: PollLoop): void {
    loop.timer = undefined;
    if (loop.state === 'ended') return;
    // Queued for an iteration: the timeout's iteration is that one (its queue entry is skipped).
    if (loop.state === 'queued') loop.state = 'waiting';
    // As python-gearman: the poll that ran out of time still ends in one more callback
    // (with the activity of this turn, if any), then the loop reports the timeout.
    if (!this.iterate(loop, loop.takeActivity())) return;
    this.finishLoop(loop, true);
  }

  /**
   * One call of the loop's check. The loop ends when the check stops it (`finish(false)`), throws,
   * or leaves it with no live connection (the stop condition is checked first: python-gearman
   * bug 19.3). Returns whether the loop goes on.
   */
  private iterate(loop: PollLoop, anyActivity: boolean): boolean {
    if (loop.state !== 'waiting') broken(`iteration of a loop that is ${loop.state}`);
    let keepGoing: boolean;
    try {
      keepGoing = loop.check(anyActivity);
    } catch (err) {
      if ((loop.state as LoopState) === 'ended') return false; // failed already (shutdown() from the callback)
      this.failLoop(loop, err);
      return false;
    }
    if ((loop.state as LoopState) === 'ended') return false; // the check ended it (shutdown() from a callback)
    if (!keepGoing) {
      this.finishLoop(loop, false);
      return false;
    }
    if (!this.anyAlive(loop)) {
      this.failLoop(loop, this.unavailable(loop.connections ?? this.connectionList));
      return false;
    }
    return true;
  }

  /** Ends a waiting loop (invariant 1, 2): the caller then calls its `finish` or `fail`. */
  private endLoop(loop: PollLoop): void {
    if (loop.state !== 'waiting' && loop.state !== 'queued') broken(`endLoop of a loop that is ${loop.state}`);
    loop.state = 'ended';
    if (loop.timer !== undefined) {
      clearTimeout(loop.timer);
      loop.timer = undefined;
    }
    for (let i = 0, n = loop.watchCount(); i < n; i++) this.removeWatcher(loop.watchedAt(i), loop);
    const prev = loop.prevWaiting;
    const next = loop.nextWaiting;
    if (prev === undefined) this.firstWaiting = next;
    else prev.nextWaiting = next;
    if (next !== undefined) next.prevWaiting = prev;
    loop.prevWaiting = loop.nextWaiting = undefined;
    this.waitingCount--;
    if (loop.wakesOnActivity) this.activityLoops.delete(loop);
  }

  /**
   * Ends `loop` and calls its `finish`. The sockets are let go of (invariant 5) once `finish`
   * returned: a phase that hands its call to the next phase's loop from `finish` (the client's
   * accept → complete) keeps them referenced instead of an unref and a ref per call.
   */
  private finishLoop(loop: PollLoop, timedOut: boolean): void {
    this.endLoop(loop);
    try {
      loop.finish(timedOut);
    } finally {
      if (this.waitingCount === 0) this.updateRef();
    }
  }

  /** Ends `loop` and calls its `fail` (sockets as in {@link finishLoop}). */
  private failLoop(loop: PollLoop, error: unknown): void {
    this.endLoop(loop);
    try {
      loop.fail(error);
    } finally {
      if (this.waitingCount === 0) this.updateRef();
    }
  }

  /** A snapshot of the waiting loops (O(loops): for losses, shutdown and the invariant checks). */
  private waitingLoops(): PollLoop[] {
    const all: PollLoop[] = [];
    for (let loop = this.firstWaiting; loop !== undefined; loop = loop.nextWaiting) all.push(loop);
    return all;
  }

  /** The waits registered on `target` (invariant 3). */
  private watchersOf(target: object): PollLoop | PollLoop[] | undefined {
    return target instanceof WaitSlot ? target.waits : this.watchers.get(target);
  }

  private addWatcher(target: object, loop: PollLoop): void {
    if (target instanceof WaitSlot) {
      const w = target.waits;
      if (w === undefined) target.waits = loop;
      else if (Array.isArray(w)) w.push(loop);
      else target.waits = [w, loop];
      return;
    }
    const w = this.watchers.get(target);
    if (w === undefined) this.watchers.set(target, loop);
    else if (Array.isArray(w)) w.push(loop);
    else this.watchers.set(target, [w, loop]);
  }

  private removeWatcher(target: object, loop: PollLoop): void {
    const slot = target instanceof WaitSlot ? target : undefined;
    const w = slot !== undefined ? slot.waits : this.watchers.get(target);
    let left: PollLoop | PollLoop[] | undefined;
    if (w === loop) left = undefined;
    else if (Array.isArray(w)) {
      const i = w.indexOf(loop);
      if (i !== -1) w.splice(i, 1);
      if (w.length !== 1) return;
      left = w[0]!;
    } else return;
    if (slot !== undefined) slot.waits = left;
    else if (left === undefined) this.watchers.delete(target);
    else this.watchers.set(target, left);
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

  /**
   * Wakes the loops watching `target` (see {@link PollOptions.watch}): each runs one iteration
   * (see `LoopCadence`). O(number of loops watching `target`).
   * @internal
   */
  wake(target: object): void {
    const w = this.watchersOf(target);
    if (w === undefined) return;
    if (Array.isArray(w)) for (let i = 0; i < w.length; i++) this.scheduler.schedule(w[i]!);
    else this.scheduler.schedule(w);
  }

  /**
   * Checks every invariant of the poll core (see the class comment). O(loops + targets watched):
   * for specs and `NODE_DEBUG=gearman-invariants`.
   * @throws Error naming the broken invariant
   * @internal
   */
  assertInvariants(): void {
    const all = this.waitingLoops();
    invariant(all.length === this.waitingCount, `waitingCount ${this.waitingCount} is the length of the waiting list (${all.length})`);
    for (const loop of all) {
      invariant(loop.state === 'waiting' || loop.state === 'queued', `a registered loop is ${loop.state}`);
      invariant(this.activityLoops.has(loop) === loop.wakesOnActivity, 'activityLoops holds exactly the waiting loops that wake on activity');
      for (let i = 0, n = loop.watchCount(); i < n; i++) {
        const w = this.watchersOf(loop.watchedAt(i));
        invariant(w === loop || (Array.isArray(w) && w.length >= 2 && w.includes(loop)), 'a waiting loop is listed under every target it watches');
      }
    }
    for (const [target, w] of this.watchers) {
      invariant(!Array.isArray(w) || w.length >= 2, 'a target watched by one loop maps to the loop itself');
      for (const loop of Array.isArray(w) ? w : [w]) {
        let listed = false;
        for (let i = 0, n = loop.watchCount(); i < n && !listed; i++) listed = loop.watchedAt(i) === target;
        invariant(listed, 'a loop is listed only under targets it watches');
      }
    }
    invariant(this.refed === (this.waitingCount > 0 || this.holds > 0), 'sockets are referenced exactly while a loop waits or a hold is taken');
    for (const connection of this.connectionList) {
      const handler = connection.handler as H | undefined;
      if (handler === undefined) invariant(!this.connectionToHandlerMap.has(connection), 'a connection without handler is not in connectionToHandlerMap');
      else {
        invariant(this.connectionToHandlerMap.get(connection) === handler, 'connection.handler agrees with connectionToHandlerMap');
        invariant(this.handlerToConnectionMap.get(handler) === connection, 'connection.handler agrees with handlerToConnectionMap');
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Keeping the process alive

  /** Keep sockets referenced while loops run or a hold is taken (a worker's `work()`). @internal */
  protected hold(on: boolean): void {
    this.holds += on ? 1 : -1;
    this.updateRef();
  }

  private updateRef(): void {
    const want = this.waitingCount > 0 || this.holds > 0;
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
    this.scheduler.beginRead();
    try {
      try {
        connection.decode(chunk);
      } catch (err) {
        const error = toGearmanError(err, connection);
        this.logger.error(`${connection.address}: closing connection: ${error.message}`);
        this.handleError(connection, error);
      }
      if (this.activityLoops.size !== 0) {
        for (const loop of this.activityLoops) {
          if (loop.polls(connection) && loop.wantsActivity()) {
            loop.noteActivity(connection, false);
            this.scheduler.schedule(loop);
          }
        }
      }
    } finally {
      // Waits woken by what this read changed run now: their checks are internal, and running
      // them here saves the client a second trip into JavaScript per read.
      this.scheduler.endRead();
    }
    if (CHECK_INVARIANTS) this.assertInvariants();
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
      throw new UnknownCommandError(`${connection.address}: ${handler.constructor.name} received a text line, which it does not handle`);
    }
    handler.recvTextCommand(line, crlf);
  }

  /**
   * Writes what is queued on `connection` now (normally done once per turn automatically).
   * @internal
   */
  handleWrite(connection: GearmanConnection): void {
    connection.flush();
  }

  /**
   * `connection` failed or closed: discard its handler (after `onIoError`), close it, and wake the
   * loops polling it.
   * @internal
   */
  handleError(connection: GearmanConnection, error: GearmanError): void {
    connection.lastError = error;
    const handler = this.unbindHandler(connection);
    connection.close();
    this.scheduler.beginRead();
    try {
      if (handler !== undefined) {
        this.logger.debug(`${connection.address}: connection lost: ${error.message}`);
        try {
          handler.onIoError(error);
        } catch (err) {
          this.logger.error(`${connection.address}: onIoError failed: ${(err as Error).message}`);
        }
      }
      // Every loop polling it wakes: watching loops too (their targets may not know the
      // connection). The client's calls poll every connection and are woken by their requests
      // as well; a loss is rare, so the pass over the waiting loops is affordable.
      for (const loop of this.waitingLoops()) {
        if (loop.polls(connection)) {
          loop.noteActivity(connection, true);
          this.scheduler.schedule(loop);
        }
      }
      // Before the woken loops run: the worker marks its reconnect here, which keeps the
      // connection alive for them.
      this.onConnectionLost(connection, error);
    } finally {
      this.scheduler.endRead();
    }
  }

  /** Hook: a connection was lost (the worker schedules its reconnect here). @internal */
  protected onConnectionLost(connection: GearmanConnection, error: GearmanError): void {
    void connection; // no-op in the base: only the worker reconnects by itself
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
   * `on_gearman_error`). Override it to handle them otherwise.
   *
   * @param handler - the handler of the connection the ERROR came on
   * @param error - the server's code and text (`serverCode`, `serverText`)
   */
  onGearmanError(handler: CommandHandler, error: ServerError): void {
    this.logger.error(`Received error from server ${handler.connection.address}: ${error.serverCode}: ${error.serverText}`);
  }

  /**
   * Closes every connection. Calls waiting on them reject with a {@link ShutdownError} (code
   * `'SHUTDOWN'`); the object can be used again (it reconnects).
   */
  shutdown(): void {
    const error = new ShutdownError('shutdown() closed the connections');
    // Every waiting loop fails first (invariant 2: each is registered), so nothing the handlers
    // wake below iterates.
    for (const loop of this.waitingLoops()) {
      if (loop.state === 'ended') continue;
      this.failLoop(loop, error);
    }
    for (const connection of this.connectionList) {
      const handler = this.unbindHandler(connection);
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
    this.afterShutdown(error);
  }

  /**
   * Hook: `shutdown()` closed the connections; calls that wait without a loop (a client call
   * connecting) end here. @internal
   */
  protected afterShutdown(error: ShutdownError): void {
    void error; // nothing waits outside loops in the base
  }
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
    throw new InvalidArgumentError(`${name} must be a positive number, got ${describeValue(value)}`);
  }
  return value;
}
