/**
 * `GearmanWorker`: registers tasks and runs jobs, as python-gearman's `gearman.worker`.
 *
 * Up to `concurrency` jobs (default 1, python-gearman's job lock) run at once across all
 * connections; the job slots (`lib/worker/job-slots.ts`) decide which connection may ask for the
 * next one, and a connection asks only while a slot is free. Task callbacks may be sync or
 * async; the connections keep being served while async callbacks run. After a job the worker
 * asks for the next one at once (as libgearman does) and only sleeps (PRE_SLEEP) after NO_JOB.
 * Lost servers are reconnected with back-off (`lib/worker/reconnect.ts`); `work()` goes on
 * through outages.
 *
 * @module
 */
import { EventEmitter } from 'eventemitter3';
import { debuglog } from 'node:util';
import { ConnectionManager, type ConnectionManagerOptions, type Logger } from './connection-manager.js';
import { WorkerCommandHandler } from './command-handler/worker-handler.js';
import type { GearmanConnection } from './connection.js';
import type { GearmanJob } from './job.js';
import { CommandType } from './protocol/commands.js';
import type { PacketArg } from './protocol/encoder.js';
import { InvalidArgumentError, InvalidWorkerState, ShutdownError, type GearmanError } from './errors.js';
import { checkClientId, checkOptions, checkPollTimeout, checkTaskName, describeValue } from './arguments.js';
import { checkEncoder, type DataEncoderLike } from './encoders.js';
import type { HostEntry } from './hosts.js';
import { JobSlots } from './worker/job-slots.js';
import { Reconnects } from './worker/reconnect.js';
import { RunningJobs, WorkerJob } from './worker/worker-job.js';

export { WorkerJob } from './worker/worker-job.js';

const T = CommandType;

/**
 * A task callback. Its return value (or resolved value) is the job's result, sent with
 * WORK_COMPLETE after encoding with the worker's `dataEncoder` (`undefined`/`null`: an empty
 * result). A throw or rejection fails the job (see {@link GearmanWorker.onJobException}).
 *
 * @example
 * ```ts
 * const reverse: TaskCallback = (worker, job) => [...String(job.data)].reverse().join('');
 * ```
 */
export type TaskCallback = (worker: GearmanWorker, job: WorkerJob) => unknown;

/** Options of a {@link GearmanWorker}. */
export interface GearmanWorkerOptions extends ConnectionManagerOptions {
  /**
   * Delay before reconnect attempt `attempt` (0, 1, 2, ...) to a lost or unreachable server, in
   * ms, or `null` to give that server up until the next poll cycle of `work()`. The count goes
   * back to 0 once a connection proved to work: its server answered a GRAB (NO_JOB or a job), or
   * it stayed up 5 s. Bytes alone (a server that greets and is dropped) do not reset it.
   * @default {@link defaultRetryStrategy}: capped exponential back-off with jitter, 100 ms doubling up to 10 s
   */
  retryStrategy?: (attempt: number) => number | null;
  /**
   * How many jobs run at once, across all connections (an integer >= 1). The worker asks a
   * server for a job only while a slot is free, so it never holds a job it cannot start, and
   * other workers get the queued work while this one is full. `hasJobLock()` and the
   * python-gearman hooks keep their meaning at 1.
   *
   * While a task registered with `timeoutMs` (CAN_DO_TIMEOUT) is registered, a connection holds
   * at most one job at a time: gearmand 1.1.20 keeps one CAN_DO_TIMEOUT timer per connection,
   * bound to the first job assigned on it (gearmand #301), so a second job on the same connection
   * would run without its timeout (or re-queue the wrong job). The worker then opens up to
   * `concurrency` connections to each server, one job on each. Without timed tasks, one
   * connection per server carries all the jobs (fewer wake-ups: gearmand NOOPs every sleeping
   * connection for each new job).
   * @default 1
   */
  concurrency?: number;
  /**
   * A callback that throws or rejects answers WORK_EXCEPTION with the error's message (encoded
   * with the `dataEncoder`), so a client that asked for exceptions (a {@link GearmanClient} does
   * by default) sees `request.exception`; gearmand sends other clients WORK_FAIL. `false`:
   * python-gearman's WORK_FAIL only.
   * @default true
   */
  exceptions?: boolean;
}

const WORKER_OPTIONS = [
  'dataEncoder',
  'connectTimeoutMs',
  'keepAlive',
  'maxPacketSize',
  'logger',
  'createSocket',
  'retryStrategy',
  'concurrency',
  'exceptions',
] as const;

/** Options of {@link GearmanWorker.work}. */
export interface WorkOptions {
  /**
   * Seconds per poll cycle (python-gearman's `poll_timeout`): `afterPoll(false)` runs at least
   * this often, and servers given up by `retryStrategy` are tried again at each cycle. `null` (or
   * `Infinity`): one endless cycle. Must be above 0.
   * @default 60
   */
  pollTimeout?: number | null;
}

/** Options of {@link GearmanWorker.registerTask}. */
export interface RegisterTaskOptions {
  /**
   * Registers the task with CAN_DO_TIMEOUT: the server gives a job of it up this many ms after
   * assigning it (gearmand re-queues the job, raising a timeout below 1000 ms to 1000 ms; the
   * Perl server fails it, counting whole seconds). The job's {@link WorkerJob.signal} is aborted
   * then, and its late result is not sent (the server would answer it with ERROR). A positive
   * integer.
   */
  timeoutMs?: number;
}

/** Options of {@link GearmanWorker.stop}. */
export interface StopOptions {
  /**
   * How long running jobs may take to finish, in ms. Past it, their {@link WorkerJob.signal} is
   * aborted and the connections are closed as {@link GearmanWorker.shutdown} does (the server
   * re-queues the jobs still running).
   * @default 30000
   */
  timeoutMs?: number;
}

/** Events of a {@link GearmanWorker}. */
export interface GearmanWorkerEvents {
  /** A connection to `address` (host:port) was established (at start and after each reconnect). */
  connect: [address: string];
  /**
   * The connection to `address` was lost, or could not be made, with `error`: once per outage (the
   * retries of the same outage are not reported again).
   */
  disconnect: [address: string, error?: GearmanError];
}

/** Options of the `sendJob*` methods. */
export interface SendOptions {
  /**
   * python-gearman's `poll_timeout`, accepted for compatibility. Writes never block here: the
   * promise resolves once the bytes are handed to the socket.
   */
  pollTimeout?: number | null;
}

/**
 * The default {@link GearmanWorkerOptions.retryStrategy}: 100 ms, 200 ms, 400 ms, ... capped at
 * 10 s, each with up to 25 % random jitter (never above 10 s). It never gives up.
 *
 * @param attempt - 0 for the first reconnect after a loss
 * @returns the delay in ms
 *
 * @example
 * ```ts
 * // Back off as the default does, but give a server up after 20 attempts:
 * const worker = new GearmanWorker(servers, {
 *   retryStrategy: (attempt) => (attempt < 20 ? defaultRetryStrategy(attempt) : null),
 * });
 * ```
 */
export function defaultRetryStrategy(attempt: number): number {
  const base = Math.min(10_000, 100 * 2 ** Math.min(Math.max(0, attempt), 10));
  return Math.min(10_000, Math.round(base * (1 + Math.random() * 0.25)));
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function';
}

function checkJob(job: unknown, where: string): asserts job is GearmanJob {
  if (job === null || typeof job !== 'object' || typeof (job as GearmanJob).handle !== 'string') {
    throw new InvalidArgumentError(`${where}: expected the job given to the task callback, got ${describeValue(job)}`);
  }
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** What an error sends as WORK_EXCEPTION: its message (or the thrown value as a string). */
function exceptionText(error: unknown): string {
  if (error instanceof Error) return error.message === '' ? error.name : error.message;
  return String(error);
}

/**
 * `'host:port: connect ECONNREFUSED host:port'` → `'connect ECONNREFUSED'`, so a line that names
 * the address does not name it again.
 */
function withoutAddress(message: string, address: string): string {
  let m = message.startsWith(`${address}: `) ? message.slice(address.length + 2) : message;
  while (m.includes(` ${address}`)) m = m.replace(` ${address}`, '');
  return m;
}

/**
 * The worker's default logger: warnings and errors go to the console (a failed job, a dead
 * server), debug lines to `util.debuglog('gearman')` (NODE_DEBUG=gearman).
 */
function defaultWorkerLogger(): Logger {
  const log = debuglog('gearman');
  return {
    debug: log,
    info: log,
    warn: (message: string, ...args: unknown[]) => console.warn(`gearman-ts worker: ${message}`, ...args),
    error: (message: string, ...args: unknown[]) => console.error(`gearman-ts worker: ${message}`, ...args),
  };
}

/**
 * The promise a `sendJob*` misuse rejects with. It notes whether the caller looked at it (`await`
 * and `.then`/`.catch` call `then` on a subclass): an unobserved rejection fails the job instead
 * of crashing the process with an unhandled rejection.
 */
class SendRejection extends Promise<void> {
  observed = false;

  static override get [Symbol.species](): PromiseConstructor {
    return Promise;
  }

  override then<A = void, B = never>(
    onFulfilled?: ((value: void) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    this.observed = true;
    return super.then(onFulfilled, onRejected);
  }
}

function rejection(error: unknown): SendRejection {
  const p = new SendRejection((_resolve, reject) => reject(error));
  // Handled here, so an unobserved one never becomes an unhandled rejection.
  Promise.prototype.then.call(p, undefined, () => undefined);
  return p;
}

/** Send misuses of each job not looked at by the callback. */
const unobservedSends = new WeakMap<GearmanJob, Array<{ promise: SendRejection; error: unknown }>>();

/** Whether any misuse was ever recorded: until then a finished job needs no look-up. */
let anyUnobservedSend = false;

function unobservedSendError(job: GearmanJob): { error: unknown } | undefined {
  if (!anyUnobservedSend) return undefined;
  const list = unobservedSends.get(job);
  if (list === undefined) return undefined;
  unobservedSends.delete(job);
  return list.find((entry) => !entry.promise.observed);
}

/** How long the end of `work()` waits for queued bytes to reach the kernel before closing. */
const DRAIN_TIMEOUT_MS = 1000;
/** The default grace period of stop(). */
const STOP_TIMEOUT_MS = 30_000;

/**
 * A Gearman worker: python-gearman's `GearmanWorker`.
 *
 * Register tasks with {@link registerTask}, then call {@link work}, which serves jobs until
 * {@link afterPoll} or {@link afterJob} returns false, {@link stop} or {@link shutdown} is called.
 * Subclass it to override the hooks ({@link afterPoll}, {@link afterJob}, {@link onJobExecute},
 * {@link onJobException}, {@link onJobComplete}) or the {@link dataEncoder} (an instance field or,
 * as python-gearman's class attribute, a `static dataEncoder`).
 *
 * @example
 * ```ts
 * import { GearmanWorker } from 'gearman-ts';
 *
 * const worker = new GearmanWorker(['localhost:4730'], { concurrency: 4 });
 * worker.setClientId('reverser-1');
 * worker.registerTask('reverse', (worker, job) => [...String(job.data)].reverse().join(''));
 * process.once('SIGTERM', () => void worker.stop({ timeoutMs: 30_000 }));
 * await worker.work(); // until stop(), shutdown(), or afterPoll/afterJob return false
 * ```
 *
 * @example
 * ```ts
 * // python-gearman's subclassing pattern: a JSON worker that stops after 100 jobs.
 * class JsonWorker extends GearmanWorker {
 *   static dataEncoder = JsonEncoder; // or: override dataEncoder = JsonEncoder;
 *   jobs = 0;
 *   override afterJob() { return ++this.jobs < 100; }
 * }
 * ```
 */
export class GearmanWorker extends ConnectionManager<WorkerCommandHandler> {
  /** Registered tasks and their callbacks, in registration order. */
  readonly workerAbilities = new Map<string, TaskCallback>();
  /** The client id sent with SET_CLIENT_ID, or null. */
  workerClientId: string | null = null;
  /** Reconnect delays; see {@link GearmanWorkerOptions.retryStrategy}. */
  retryStrategy: (attempt: number) => number | null;
  /** How many jobs run at once; see {@link GearmanWorkerOptions.concurrency}. */
  readonly concurrency: number;
  /** Failed jobs answer WORK_EXCEPTION; see {@link GearmanWorkerOptions.exceptions}. */
  exceptions: boolean;
  /** The job slots (capacity {@link concurrency}). @internal */
  readonly slots: JobSlots<WorkerCommandHandler>;

  /** CAN_DO_TIMEOUT of each task registered with one, in ms. */
  private readonly taskTimeouts = new Map<string, number>();
  /** Extra connections to a server, opened so timed tasks can run `concurrency` jobs there. */
  private readonly extraLanes = new Map<GearmanConnection, GearmanConnection[]>();
  private readonly extraLaneSet = new Set<GearmanConnection>();
  private readonly runningJobs = new RunningJobs();
  private readonly reconnects: Reconnects;
  private readonly events = new EventEmitter<GearmanWorkerEvents>();
  private working = false;
  private stopping = false;
  private shutdownRequested = false;
  private stopError: unknown = undefined;
  /** Resolves when work() has ended (set while it runs). */
  private workEnded: Promise<void> | undefined;
  /** Woken when the last slot frees while stopping. */
  private idleWaiters: Array<() => void> = [];
  /** What the work loop watches, so a stop request wakes it. */
  private readonly stopSignal = { waiters: undefined as unknown };

  /**
   * @param hostList - servers; none (or an empty list) means `['localhost:4730']`. TLS entries
   * (`{ host, port, tls: { ca } }`) are supported.
   * @param options - see {@link GearmanWorkerOptions}
   * @throws {@link InvalidArgumentError} for an unknown option key, a `retryStrategy` that is not
   * a function, a `concurrency` that is not an integer >= 1, or a malformed host entry
   */
  constructor(hostList?: HostEntry[] | null, options: GearmanWorkerOptions = {}) {
    const opts = checkOptions(options, WORKER_OPTIONS, 'GearmanWorker options') as GearmanWorkerOptions;
    super(hostList, opts);
    const strategy = opts.retryStrategy ?? defaultRetryStrategy;
    if (typeof strategy !== 'function') {
      throw new InvalidArgumentError(`GearmanWorker options: retryStrategy must be a function (attempt) => ms | null, got ${describeValue(strategy)}`);
    }
    this.retryStrategy = strategy;
    const concurrency = opts.concurrency ?? 1;
    if (typeof concurrency !== 'number' || !Number.isSafeInteger(concurrency) || concurrency < 1) {
      throw new InvalidArgumentError(`GearmanWorker options: concurrency must be an integer >= 1, got ${describeValue(concurrency)}`);
    }
    this.concurrency = concurrency;
    const exceptions = opts.exceptions ?? true;
    if (typeof exceptions !== 'boolean') {
      throw new InvalidArgumentError(`GearmanWorker options: exceptions must be a boolean, got ${describeValue(exceptions)}`);
    }
    this.exceptions = exceptions;
    if (opts.logger === undefined) this.logger = defaultWorkerLogger();
    // python-gearman's class attribute: `static dataEncoder = JsonEncoder` on a subclass. An
    // instance field (`override dataEncoder = ...`) is set after this and wins; so does the option.
    const staticEncoder = (new.target as unknown as { dataEncoder?: DataEncoderLike }).dataEncoder;
    if (opts.dataEncoder === undefined && staticEncoder !== undefined) this.dataEncoder = checkEncoder(staticEncoder, new.target.name);
    this.slots = new JobSlots<WorkerCommandHandler>(concurrency);
    this.slots.accepting = () => this.working && !this.stopping;
    this.slots.onIdle = () => this.checkIdle();
    this.reconnects = new Reconnects({
      wanted: () => this.working && !this.stopping,
      delayFor: (attempt) => {
        try {
          return this.retryStrategy(attempt);
        } catch (err) {
          this.logger.error(`retryStrategy threw: ${describeError(err)}; giving the server up`);
          return null;
        }
      },
      connect: (connection) => this.connectWorker(connection),
      gaveUp: (connection, attempts) => {
        this.logger.warn(`${connection.address}: giving up reconnecting after ${attempts} attempt(s) until the next poll cycle`);
        // Let the loop see whether any server is left (it rejects with ServerUnavailable if none).
        this.wake(this.stopSignal);
      },
    });
  }

  /**
   * Makes the command handler of a new connection (see {@link ConnectionManager}); override to
   * plug in a handler subclass, as python-gearman's `command_handler_class`.
   * @param connection - the connection just established
   */
  protected createCommandHandler(connection: GearmanConnection): WorkerCommandHandler {
    return new WorkerCommandHandler(this, connection);
  }

  private handlers(): WorkerCommandHandler[] {
    return [...this.connectionToHandlerMap.values()];
  }

  /**
   * Registered task names, in registration order (python-gearman's `handler_initial_state['abilities']`).
   *
   * @returns a new array
   */
  abilities(): string[] {
    return [...this.workerAbilities.keys()];
  }

  /** Every task with its CAN_DO_TIMEOUT (ms) or undefined. @internal */
  abilityList(): Array<[string, number | undefined]> {
    return this.abilities().map((task) => [task, this.taskTimeouts.get(task)]);
  }

  // ---------------------------------------------------------------------------------------------
  // Events

  /**
   * Listens for `'connect'` (a connection to a server was established) or `'disconnect'` (a
   * connection was lost or could not be made; once per outage), for health reporting. A listener
   * that throws is logged, never breaks the worker.
   *
   * @param event - `'connect'` or `'disconnect'`
   * @param listener - `(address, error?) => void`; `address` is `host:port`
   * @returns this worker
   *
   * @example
   * ```ts
   * worker.on('disconnect', (address, error) => metrics.serverDown(address, error?.message));
   * worker.on('connect', (address) => metrics.serverUp(address));
   * ```
   */
  on<E extends keyof GearmanWorkerEvents>(event: E, listener: (...args: GearmanWorkerEvents[E]) => void): this {
    this.events.on(event, listener as never);
    return this;
  }

  /**
   * As {@link on}, for one event.
   * @param event - `'connect'` or `'disconnect'`
   * @param listener - called once with the address (and, on a disconnect, the error)
   * @returns this worker
   */
  once<E extends keyof GearmanWorkerEvents>(event: E, listener: (...args: GearmanWorkerEvents[E]) => void): this {
    this.events.once(event, listener as never);
    return this;
  }

  /**
   * Removes a listener added with {@link on} or {@link once}.
   * @param event - `'connect'` or `'disconnect'`
   * @param listener - the function given to `on` or `once`
   * @returns this worker
   */
  off<E extends keyof GearmanWorkerEvents>(event: E, listener: (...args: GearmanWorkerEvents[E]) => void): this {
    this.events.off(event, listener as never);
    return this;
  }

  private emitEvent<E extends keyof GearmanWorkerEvents>(event: E, ...args: GearmanWorkerEvents[E]): void {
    try {
      (this.events.emit as (event: E, ...a: unknown[]) => boolean)(event, ...args);
    } catch (err) {
      this.logger.error(`a '${event}' listener threw: ${describeError(err)}`);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Registration

  /**
   * Sets the client id shown by the admin `workers` command, on every live connection now
   * (SET_CLIENT_ID) and on every connection made later.
   *
   * @param clientId - a non-empty string of at most 127 bytes without NUL, control characters or
   * `' : '` (what gearmand's `workers` listing can show)
   * @returns `clientId`
   * @throws {@link InvalidArgumentError} for anything else (nothing is changed)
   *
   * @example
   * ```ts
   * worker.setClientId(`resizer-${process.pid}`);
   * // gearadmin --workers: "12 127.0.0.1 resizer-4242 : resize"
   * ```
   */
  setClientId(clientId: string): string {
    checkClientId(clientId, 'setClientId');
    this.workerClientId = clientId;
    for (const handler of this.handlers()) handler.setClientId(clientId);
    return clientId;
  }

  /**
   * Registers (or replaces) the callback for `task` and advertises the full ability list on every
   * live connection (RESET_ABILITIES then one CAN_DO per task, as python-gearman; on a connection
   * running a job only the new CAN_DO is sent until its jobs settle, because gearmand drops the
   * result of a job whose worker sent RESET_ABILITIES meanwhile).
   *
   * @param task - task (function) name: 1 to 512 bytes, no whitespace, NUL or control character
   * @param callback - `(worker, job) => result`, sync or async; see {@link TaskCallback}
   * @param options - `timeoutMs`: register with CAN_DO_TIMEOUT (see {@link RegisterTaskOptions})
   * @returns `task`
   * @throws {@link InvalidArgumentError} for a task name, callback or option that is not valid;
   * nothing is registered then
   *
   * @example
   * ```ts
   * worker.registerTask('resize', async (worker, job) => {
   *   await worker.sendJobStatus(job, 0, 2);
   *   const small = await resize(job.data as Buffer, { signal: job.signal });
   *   await worker.sendJobStatus(job, 2, 2);
   *   return small; // sent with WORK_COMPLETE
   * }, { timeoutMs: 60_000 });
   * ```
   */
  registerTask(task: string, callback: TaskCallback, options?: RegisterTaskOptions): string {
    checkTaskName(task, 'registerTask');
    if (typeof callback !== 'function') throw new InvalidArgumentError(`registerTask: callback for ${task} must be a function, got ${describeValue(callback)}`);
    const opts = checkOptions(options, ['timeoutMs'], 'registerTask');
    const timeoutMs = opts.timeoutMs;
    if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || !Number.isSafeInteger(timeoutMs) || timeoutMs < 1)) {
      throw new InvalidArgumentError(`registerTask: timeoutMs must be a positive integer of milliseconds, got ${describeValue(timeoutMs)}`);
    }
    this.workerAbilities.set(task, callback);
    if (timeoutMs === undefined) this.taskTimeouts.delete(task);
    else this.taskTimeouts.set(task, timeoutMs);
    this.advertise();
    return task;
  }

  /**
   * Stops advertising `task` (no error if it was not registered): the remaining list is sent again
   * on every live connection (RESET_ABILITIES then CAN_DO for each remaining task; deferred on a
   * connection until the jobs running on it settle).
   *
   * @param task - task (function) name
   * @returns `task`
   */
  unregisterTask(task: string): string {
    this.taskTimeouts.delete(task);
    if (this.workerAbilities.delete(task)) this.advertise();
    return task;
  }

  private advertise(): void {
    this.slots.perLaneLimit = this.taskTimeouts.size > 0 ? 1 : Infinity;
    for (const handler of this.handlers()) handler.setAbilities();
    if (this.working && !this.stopping) this.ensureLanes();
  }

  /**
   * While a task with a CAN_DO_TIMEOUT is registered each connection holds one job (gearmand
   * #301), so the worker opens up to `concurrency` connections to each server of the host list.
   * They are closed with the others at the end of work().
   */
  private ensureLanes(): void {
    if (this.taskTimeouts.size === 0 || this.concurrency <= 1) return;
    for (const base of this.connectionList.slice()) {
      if (this.extraLaneSet.has(base)) continue;
      let extras = this.extraLanes.get(base);
      if (extras === undefined) this.extraLanes.set(base, (extras = []));
      while (extras.length + 1 < this.concurrency) {
        const lane = this.addConnection({ host: base.host, port: base.port, tls: base.tls });
        extras.push(lane);
        this.extraLaneSet.add(lane);
        if (this.working && !this.stopping) this.connectWorker(lane);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The work loop

  /**
   * Serves jobs until {@link afterPoll} or {@link afterJob} returns false, or {@link stop} or
   * {@link shutdown} is called (python-gearman's `work`). Each cycle of `pollTimeout` seconds runs
   * the manager's poll loop over every server; `afterPoll(false)` runs once when `work()` starts,
   * then `afterPoll` runs once per poll iteration (socket activity, or the end of a cycle).
   *
   * Servers that go away are reconnected in the background with {@link retryStrategy} back-off,
   * and get the client id and abilities again; `work()` goes on while every server is down (a dead
   * server is logged at warn once per outage, and reported by a `'disconnect'` event).
   *
   * @param options - `pollTimeout`: seconds per cycle (default 60)
   * @returns a promise that resolves when the worker stops: after a graceful stop (a hook returned
   * false, or {@link stop}), once the jobs still running have settled and answered; after
   * {@link shutdown}, at once. No socket or timer of the worker is left to keep the process alive.
   * @throws {@link InvalidWorkerState} (rejects) if `work()` is already running
   * @throws {@link InvalidArgumentError} (rejects) for an unknown option, a positional argument,
   * or a `pollTimeout` that is not a number above 0 or null
   * @throws whatever {@link afterPoll}/{@link afterJob} throw (rejects, after stopping)
   * @throws {@link ServerUnavailable} (rejects) when `retryStrategy` gave up on every server
   *
   * @example
   * ```ts
   * // A service: finish the running jobs on SIGTERM (gearmand re-queues nothing), then exit.
   * const working = worker.work();
   * process.once('SIGTERM', () => void worker.stop({ timeoutMs: 30_000 }));
   * await working;
   * ```
   */
  async work(options?: WorkOptions): Promise<void> {
    const opts = checkOptions(options, ['pollTimeout'], 'work');
    const pollTimeout = opts.pollTimeout === undefined ? 60 : checkPollTimeout(opts.pollTimeout, 'work');
    if (pollTimeout === 0) {
      // 0 would be a busy loop that never waits for a packet (python-gearman never does I/O then).
      throw new InvalidArgumentError('work: pollTimeout must be above 0 seconds (or null for no cycle), got number 0');
    }
    if (this.working) throw new InvalidWorkerState('work() is already running on this worker');
    this.working = true;
    this.stopping = false;
    this.shutdownRequested = false;
    this.stopError = undefined;
    let ended!: () => void;
    this.workEnded = new Promise<void>((resolve) => (ended = resolve));
    this.hold(true);
    try {
      let firstCycle = true;
      this.ensureLanes();
      for (;;) {
        this.establishWorkerConnections();
        // python-gearman calls after_poll at the start of every cycle and again for the poll that
        // ended the previous one (twice per boundary). Here only the start of work() calls it.
        let initial = !firstCycle;
        firstCycle = false;
        const callback = (anyActivity: boolean): boolean => {
          if (initial) {
            initial = false;
            return !this.stopping;
          }
          return this.workCallback(anyActivity);
        };
        let keepGoing: boolean;
        try {
          keepGoing = await this.pollConnectionsUntilStopped(this.connectionList, callback, pollTimeout, {
            watch: [this.stopSignal],
            // Without an afterPoll override an iteration per read would only cost time: the
            // loop then wakes for stop requests, lost connections and the end of each cycle.
            wakeOnActivity: this.afterPollOverridden,
          });
        } catch (err) {
          if (this.shutdownRequested && (err as GearmanError)?.code === 'SHUTDOWN') break;
          throw err;
        }
        if (!keepGoing || this.stopping) break;
      }
      if (this.stopError !== undefined) throw this.stopError;
    } finally {
      this.stopping = true;
      // A graceful stop lets the running jobs finish and answer (and GRABs out get their answer:
      // a job assigned now still runs); shutdown() does not wait.
      if (!this.shutdownRequested && this.slots.used > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
      this.reconnects.clear();
      await this.closeWorkerConnections();
      this.working = false;
      this.hold(false);
      this.workEnded = undefined;
      ended();
    }
  }

  private readonly afterPollOverridden = (): boolean => this.afterPoll !== GearmanWorker.prototype.afterPoll;

  private workCallback(anyActivity: boolean): boolean {
    if (this.stopping) return false;
    // Every server given up by retryStrategy: let the loop report ServerUnavailable (it checks
    // after the callback) without calling afterPoll for a wake-up that was no poll.
    if (!this.connectionList.some((c) => c.alive)) return true;
    const keepGoing = Boolean(this.afterPoll(anyActivity));
    if (!keepGoing) this.stopping = true;
    return keepGoing;
  }

  private requestStop(): void {
    this.stopping = true;
    this.wake(this.stopSignal);
  }

  /** The last slot freed while stopping: let work() close. */
  private checkIdle(): void {
    if (this.slots.used > 0 || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /**
   * Stops gracefully: asks for no more jobs (without unregistering: gearmand 1.1.20 drops the
   * result of a job whose worker sends CANT_DO or RESET_ABILITIES meanwhile), lets the running
   * jobs finish and their results reach the server, then closes the connections; {@link work}
   * resolves. An idle worker stops at once. Past `timeoutMs`, every running job's
   * {@link WorkerJob.signal} is aborted and the worker closes as {@link shutdown} does (the server
   * re-queues what is still running).
   *
   * @param options - `timeoutMs`: the grace period (default 30000)
   * @returns a promise that resolves once `work()` has ended (at once if it is not running)
   * @throws {@link InvalidArgumentError} for an unknown option or a `timeoutMs` that is not a
   * number >= 0
   *
   * @example
   * ```ts
   * process.once('SIGTERM', () => void worker.stop({ timeoutMs: 30_000 }));
   * await worker.work(); // resolves after the running jobs completed
   * ```
   */
  stop(options?: StopOptions): Promise<void> {
    const opts = checkOptions(options, ['timeoutMs'], 'stop');
    const timeoutMs = opts.timeoutMs ?? STOP_TIMEOUT_MS;
    if (typeof timeoutMs !== 'number' || !(timeoutMs >= 0)) {
      throw new InvalidArgumentError(`stop: timeoutMs must be a number of milliseconds >= 0, got ${describeValue(timeoutMs)}`);
    }
    const ended = this.workEnded;
    if (!this.working || ended === undefined) return Promise.resolve();
    this.requestStop();
    this.checkIdle();
    if (timeoutMs !== Infinity) {
      const timer = setTimeout(() => {
        if (this.workEnded !== ended) return;
        const running = this.runningJobs.size;
        this.logger.warn(`stop: ${running} job(s) still running after ${timeoutMs} ms; aborting them and closing the connections`);
        this.shutdown(new ShutdownError(`stop(): the grace period of ${timeoutMs} ms passed`));
      }, timeoutMs);
      void ended.then(() => clearTimeout(timer));
    }
    return ended;
  }

  /**
   * End of `work()`: writes what is queued (a job's last WORK_COMPLETE), waits (bounded) for it
   * to leave the process, then closes every connection, including ones still connecting.
   */
  private async closeWorkerConnections(): Promise<void> {
    const draining: Promise<void>[] = [];
    for (const connection of this.connectionList) {
      if (connection.handler !== undefined) this.handleWrite(connection);
      const socket = connection.socket;
      if (connection.connected && socket !== undefined && socket.writableLength > 0) {
        draining.push(
          new Promise<void>((resolve) => {
            const timer = setTimeout(done, DRAIN_TIMEOUT_MS);
            function done(): void {
              clearTimeout(timer);
              socket!.removeListener('drain', done);
              socket!.removeListener('close', done);
              resolve();
            }
            socket.once('drain', done);
            socket.once('close', done);
          }),
        );
      }
    }
    if (draining.length > 0) await Promise.all(draining);
    for (const connection of this.connectionList) this.disconnect(connection);
  }

  /** Closes one connection on purpose (no reconnect) and forgets its handler. */
  private disconnect(connection: GearmanConnection): void {
    const handler = this.unbindHandler(connection);
    if (handler !== undefined) this.slots.remove(handler);
    connection.close();
  }

  /** Connects every server that is neither connected nor waiting to reconnect. */
  private establishWorkerConnections(): void {
    for (const connection of this.connectionList) {
      if (connection.alive) continue;
      this.connectWorker(connection);
    }
  }

  private connectWorker(connection: GearmanConnection): void {
    this.establishConnection(connection).then(
      () => {
        // Connected after work() ended: not wanted any more.
        if (!this.working) {
          this.disconnect(connection);
          return;
        }
        if (this.reconnects.connected(connection)) this.logger.warn(`${connection.address}: worker connected again`);
        this.emitEvent('connect', connection.address);
      },
      (err: GearmanError) => {
        // Aborted on purpose (shutdown or end of work()): nothing to report or retry.
        if (err?.code === 'SHUTDOWN' || !this.working || this.stopping) return;
        this.reportDown(connection, err, 'cannot reach the server');
        this.reconnects.schedule(connection);
      },
    );
  }

  /** Reports a failed or lost connection: at warn and as an event once per outage, then at debug. */
  private reportDown(connection: GearmanConnection, error: GearmanError, what: string): void {
    const line = `${connection.address}: worker ${what} (${withoutAddress(error.message, connection.address)}); reconnecting with back-off`;
    if (this.reconnects.failed(connection)) {
      this.logger.warn(line);
      this.emitEvent('disconnect', connection.address, error);
    } else {
      this.logger.debug(line);
    }
  }

  /** @internal */
  connectionProven(connection: GearmanConnection): void {
    this.reconnects.proven(connection);
  }

  /** @internal */
  protected override onConnectionLost(connection: GearmanConnection, error: GearmanError): void {
    if (this.working && !this.stopping) {
      this.reportDown(connection, error, 'lost its connection');
      this.reconnects.schedule(connection);
    }
  }

  /**
   * Hook: called once when {@link work} starts (with false, before any I/O) and then once per poll
   * iteration, with whether that iteration saw socket activity (false when a `pollTimeout` cycle
   * ended quietly). Override it to do housekeeping between polls; return false to leave `work()`.
   * The default returns true.
   *
   * @param anyActivity - whether this iteration saw socket activity
   * @returns true to keep working (a falsy value stops, as in python-gearman)
   *
   * @example
   * ```ts
   * class MyWorker extends GearmanWorker {
   *   override afterPoll(anyActivity: boolean) {
   *     db.rollback(); // between polls, as in the python-gearman docs
   *     return !stopRequested;
   *   }
   * }
   * ```
   */
  afterPoll(anyActivity: boolean): boolean {
    void anyActivity;
    return true;
  }

  /**
   * Hook: called exactly once after every job this worker ran (whatever its outcome), once the job
   * lock is released; not after NO_JOB and not on other loop passes. Return false to leave
   * `work()` (the next job is then not asked for). The default returns true.
   *
   * @returns true to keep working (a falsy value stops)
   *
   * @example
   * ```ts
   * class OneShotWorker extends GearmanWorker {
   *   override afterJob() { return false; } // serve one job, then work() resolves
   * }
   * ```
   */
  afterJob(): boolean {
    return true;
  }

  // ---------------------------------------------------------------------------------------------
  // The job lock (python-gearman's names, over the job slots)

  /**
   * The connection handler holding a slot (python-gearman's `command_handler_holding_job_lock`):
   * the first one holding any, or null.
   */
  get commandHandlerHoldingJobLock(): WorkerCommandHandler | null {
    for (const lane of this.slots.laneList()) if ((this.slots.state(lane)?.held ?? 0) > 0) return lane;
    return null;
  }

  /**
   * Takes (`lock` true) or releases a slot for `handler` without a GRAB (python-gearman's
   * `set_job_lock`). The worker itself never needs it.
   *
   * @param handler - a live connection's handler
   * @param lock - take (true) or release (false)
   * @returns false if taking while every slot is held (or for a handler whose connection is gone),
   * or releasing a slot `handler` did not take this way
   */
  setJobLock(handler: WorkerCommandHandler, lock: boolean): boolean {
    return lock ? this.slots.take(handler) : this.slots.release(handler);
  }

  /** @returns whether any slot is held: a GRAB out or a job running (python-gearman's `has_job_lock`) */
  hasJobLock(): boolean {
    return this.slots.used > 0;
  }

  /**
   * @param handler - a connection's handler
   * @returns whether `handler` holds a slot (python-gearman's `check_job_lock`)
   */
  checkJobLock(handler: WorkerCommandHandler): boolean {
    return (this.slots.state(handler)?.held ?? 0) > 0;
  }

  /** Jobs running now (at most {@link concurrency}). */
  get runningJobCount(): number {
    return this.slots.running;
  }

  /** @internal */
  handlerLost(handler: WorkerCommandHandler, error: GearmanError): void {
    void error; // reported by onConnectionLost
    // GRABs out on it free their slots now; its running jobs keep theirs until they settle, so no
    // more than `concurrency` jobs ever run at once.
    this.slots.remove(handler);
    this.checkIdle();
  }

  // ---------------------------------------------------------------------------------------------
  // Running a job

  /** @internal */
  executeJob(handler: WorkerCommandHandler, job: WorkerJob, decodeError?: unknown): void {
    this.runningJobs.add(job);
    // Most workers register no timed task: no look-up of the task per job then.
    const timeoutMs = this.taskTimeouts.size === 0 ? undefined : this.taskTimeouts.get(job.task);
    if (timeoutMs !== undefined) {
      const effective = handler.effectiveTimeoutMs(timeoutMs);
      job.timer = setTimeout(() => this.jobExpired(job, effective), effective);
    }
    let outcome: unknown;
    try {
      outcome = decodeError === undefined ? this.onJobExecute(job) : this.onJobException(job, decodeError);
    } catch (err) {
      this.hookFailed(job, err);
      this.finishJob(handler, job);
      return;
    }
    if (!isThenable(outcome)) {
      this.finishJob(handler, job);
      return;
    }
    void Promise.resolve(outcome)
      .then(undefined, (err: unknown) => this.hookFailed(job, err))
      .then(() => this.finishJob(handler, job))
      .then(undefined, (err: unknown) => this.logger.error(`job ${job.handle} (${job.task}): ${describeError(err)}`));
  }

  /** The task's CAN_DO_TIMEOUT passed: the server gave the job up; abort its signal. */
  private jobExpired(job: WorkerJob, effectiveMs: number): void {
    job.timer = undefined;
    if (!this.runningJobs.has(job)) return;
    job.expired = true;
    this.logger.warn(
      `job ${job.handle} (${job.task}) ran past its CAN_DO_TIMEOUT of ${effectiveMs} ms: the server gave it up (gearmand re-queues it); aborting job.signal, its result will not be sent`,
    );
    job.abort(new DOMException(`job ${job.handle} (${job.task}) ran past its CAN_DO_TIMEOUT of ${effectiveMs} ms`, 'TimeoutError'));
  }

  /** A hook threw after the callback (or encoding failed): answer the job if nothing was answered. */
  private hookFailed(job: GearmanJob, error: unknown): void {
    this.logger.error(`job ${job.handle} (${job.task}): ${describeError(error)}; answering it as failed`);
    if (!job.answered) this.answerFailure(job, error);
  }

  /** The job settled: free its slot, run afterJob once, then hand the slot on (or stop). */
  private finishJob(handler: WorkerCommandHandler, job: WorkerJob): void {
    this.runningJobs.delete(job);
    if (job.timer !== undefined) {
      clearTimeout(job.timer);
      job.timer = undefined;
    }
    this.slots.finished(handler);
    if (handler.live) handler.jobSettled();
    let keepGoing: boolean;
    try {
      keepGoing = Boolean(this.afterJob());
    } catch (err) {
      this.stopError ??= err;
      keepGoing = false;
    }
    if (!keepGoing) this.requestStop();
    else this.slots.fill();
    this.checkIdle();
  }

  /**
   * Hook: runs the task callback (python-gearman's `on_job_execute`). Its result goes to
   * {@link onJobComplete}, a throw or rejection to {@link onJobException}. The job's slot is held
   * until what this returns has settled.
   *
   * @param job - the assigned job, `data` decoded by the {@link dataEncoder}
   * @returns what those hooks return (a promise for async callbacks)
   */
  onJobExecute(job: GearmanJob): unknown {
    const callback = this.workerAbilities.get(job.task);
    if (callback === undefined) {
      return this.onJobException(job, new InvalidWorkerState(`no callback registered for task ${job.task} (job ${job.handle})`));
    }
    let result: unknown;
    try {
      result = callback(this, job as WorkerJob);
    } catch (err) {
      return this.onJobException(job, err);
    }
    if (isThenable(result)) {
      return Promise.resolve(result).then(
        (value) => this.completed(job, value),
        (err: unknown) => this.onJobException(job, err),
      );
    }
    return this.completed(job, result);
  }

  /** The callback returned: complete the job, unless a `sendJob*` it did not await failed. */
  private completed(job: GearmanJob, value: unknown): unknown {
    const misuse = unobservedSendError(job);
    if (misuse !== undefined) return this.onJobException(job, misuse.error);
    return this.onJobComplete(job, value);
  }

  /**
   * Hook: a callback threw or rejected (or the job's data could not be decoded, or a `sendJob*`
   * call it did not await failed). Logs it at warn and, unless the callback already answered the
   * job, sends WORK_EXCEPTION with the error's message ({@link exceptions}, the default; on a
   * server without GRAB_JOB_UNIQ, such as the Perl one, a WORK_FAIL follows, which it needs) or
   * WORK_FAIL (`exceptions: false`, python-gearman's `on_job_exception`).
   *
   * @param job - the job
   * @param error - what was thrown
   * @returns false (may return a promise; the job's slot is held until it settles)
   *
   * @example
   * ```ts
   * class ReportingWorker extends GearmanWorker {
   *   override async onJobException(job: GearmanJob, error: unknown) {
   *     await this.sendJobException(job, { error: String(error), host: os.hostname() });
   *     return false;
   *   }
   * }
   * ```
   */
  onJobException(job: GearmanJob, error: unknown): unknown {
    this.logger.warn(`job ${job.handle} (${job.task}) failed: ${describeError(error)}`);
    if (!job.answered) this.answerFailure(job, error);
    return false;
  }

  /** WORK_EXCEPTION (with exceptions on) or WORK_FAIL for a failed job. */
  private answerFailure(job: GearmanJob, error: unknown): void {
    if (!this.exceptions) {
      this.queueUpdate(job, T.WORK_FAIL, [job.handle ?? ''], 'WORK_FAIL', true);
      return;
    }
    let data: string | Uint8Array;
    try {
      data = this.encodeData(job, exceptionText(error));
    } catch {
      data = exceptionText(error);
    }
    this.queueException(job, data);
  }

  /** WORK_EXCEPTION, and on a server that does not end a job with it (Perl), WORK_FAIL. */
  private queueException(job: GearmanJob, data: string | Uint8Array): boolean {
    const sent = this.queueUpdate(job, T.WORK_EXCEPTION, [job.handle ?? '', data], 'WORK_EXCEPTION', true);
    const handler = job.handler as WorkerCommandHandler | undefined;
    if (sent && handler?.legacyServer === true) this.queueUpdate(job, T.WORK_FAIL, [job.handle ?? ''], 'WORK_FAIL', true);
    return sent;
  }

  /**
   * Hook: a callback returned `result`. Sends WORK_COMPLETE with the encoded result
   * (`undefined`/`null`: an empty result), unless the callback already answered the job itself
   * (python-gearman's `on_job_complete`). If the encoder cannot encode `result`, the job gets
   * answered as failed instead and the error is logged.
   *
   * @param job - the job
   * @param result - what the callback returned or resolved with
   * @returns true
   * @throws what the {@link dataEncoder} throws (handled by the worker as described)
   */
  onJobComplete(job: GearmanJob, result: unknown): unknown {
    if (!job.answered) this.queueUpdate(job, T.WORK_COMPLETE, [job.handle ?? '', this.encodeResult(job, result)], 'WORK_COMPLETE', true);
    return true;
  }

  private encodeResult(job: GearmanJob, value: unknown): string | Uint8Array {
    if (value === undefined || value === null) return '';
    return this.encodeData(job, value);
  }

  private encodeData(job: GearmanJob, data: unknown): string | Uint8Array {
    const encoded = this.dataEncoder.encode(data);
    if (typeof encoded !== 'string' && !(encoded instanceof Uint8Array)) {
      throw new InvalidArgumentError(`dataEncoder.encode returned ${typeof encoded} for job ${job.handle}; expected a string or bytes`);
    }
    return encoded;
  }

  /**
   * Queues one packet for `job` on the socket it was assigned on. If that socket is gone, the
   * server has already requeued the job: the update is dropped with a logged warning. After the
   * job's CAN_DO_TIMEOUT passed, the server no longer has it for this worker: dropped (debug).
   *
   * @returns true if queued, false if dropped
   */
  private queueUpdate(job: GearmanJob, type: number, args: PacketArg[], name: string, final: boolean): boolean {
    const connection = job.connection;
    const handler = (job.handler ?? connection?.handler) as WorkerCommandHandler | undefined;
    if (final) job.answered = true;
    if ((job as WorkerJob).expired === true) {
      this.logger.debug(`${name} for job ${job.handle} (${job.task}) not sent: its CAN_DO_TIMEOUT passed`);
      return false;
    }
    if (connection === null || handler === undefined || connection.handler !== handler) {
      this.logger.warn(`${name} for job ${job.handle} (${job.task}) dropped: its connection ${connection?.address ?? '(none)'} is gone; the server requeues the job`);
      return false;
    }
    handler.sendCommand(type, args);
    return true;
  }

  /**
   * The common path of the `sendJob*` methods: a misuse (not a job, bad numbers, data the
   * encoder refuses) rejects; if the callback does not look at that promise, the job fails when
   * the callback returns (and the process never sees an unhandled rejection).
   */
  private sendUpdate(job: GearmanJob, type: number, args: () => PacketArg[], name: string, final: boolean, exception = false): Promise<void> {
    let packetArgs: PacketArg[];
    try {
      checkJob(job, name);
      packetArgs = args();
    } catch (err) {
      const promise = rejection(err);
      if (job !== null && typeof job === 'object') {
        anyUnobservedSend = true;
        const list = unobservedSends.get(job) ?? [];
        list.push({ promise, error: err });
        unobservedSends.set(job, list);
      }
      return promise;
    }
    if (exception ? !this.queueException(job, packetArgs[1]!) : !this.queueUpdate(job, type, packetArgs, name, final)) return Promise.resolve();
    return job.connection!.whenFlushed();
  }

  /**
   * Sends WORK_DATA (in-flight data, encoded with the {@link dataEncoder}) for `job`; a
   * foreground client gets it in `request.dataUpdates` and a `'data'` event.
   *
   * @param job - the job given to the task callback
   * @param data - the data
   * @param options - accepted for compatibility (see {@link SendOptions})
   * @returns a promise that resolves once the bytes are handed to the socket, or at once (with a
   * logged warning, never a rejection) if the job's connection is gone
   * @throws {@link InvalidArgumentError} (rejects) for something that is not a job, or TypeError
   * for data the encoder rejects. Not awaited, the rejection fails the job instead.
   *
   * @example
   * ```ts
   * worker.registerTask('tail', async (worker, job) => {
   *   for (const line of lines) await worker.sendJobData(job, line);
   * });
   * ```
   */
  sendJobData(job: GearmanJob, data: unknown, options?: SendOptions): Promise<void> {
    void options;
    return this.sendUpdate(job, T.WORK_DATA, () => [job.handle!, this.encodeData(job, data)], 'WORK_DATA', false);
  }

  /**
   * Sends WORK_WARNING (encoded) for `job`; a foreground client gets it in
   * `request.warningUpdates` and a `'warning'` event. See {@link sendJobData}.
   *
   * @param job - the job given to the task callback
   * @param data - the warning
   * @param options - accepted for compatibility (see {@link SendOptions})
   * @returns a promise that resolves once the bytes are handed to the socket (or dropped)
   * @throws as {@link sendJobData}
   */
  sendJobWarning(job: GearmanJob, data: unknown, options?: SendOptions): Promise<void> {
    void options;
    return this.sendUpdate(job, T.WORK_WARNING, () => [job.handle!, this.encodeData(job, data)], 'WORK_WARNING', false);
  }

  /**
   * Sends WORK_STATUS (progress `numerator`/`denominator`) for `job`; clients see it in
   * `request.status` (and GET_STATUS answers it). See {@link sendJobData}.
   *
   * @param job - the job given to the task callback
   * @param numerator - work done (an integer)
   * @param denominator - work in all (an integer)
   * @param options - accepted for compatibility (see {@link SendOptions})
   * @returns a promise that resolves once the bytes are handed to the socket (or dropped)
   * @throws {@link InvalidArgumentError} (rejects) unless both are integers (python-gearman sent
   * floats as `'1.0'`, which clients then failed to parse). Not awaited, the rejection is logged
   * and fails the job when the callback returns; it never crashes the process.
   *
   * @example
   * ```ts
   * for (let i = 0; i < parts.length; i++) {
   *   await handle(parts[i]);
   *   await worker.sendJobStatus(job, i + 1, parts.length);
   * }
   * ```
   */
  sendJobStatus(job: GearmanJob, numerator: number, denominator: number, options?: SendOptions): Promise<void> {
    void options;
    return this.sendUpdate(
      job,
      T.WORK_STATUS,
      () => {
        if (!Number.isSafeInteger(numerator) || !Number.isSafeInteger(denominator)) {
          throw new InvalidArgumentError(
            `sendJobStatus: numerator and denominator must be integers, got ${describeValue(numerator)} / ${describeValue(denominator)}`,
          );
        }
        return [job.handle!, String(numerator), String(denominator)];
      },
      'WORK_STATUS',
      false,
    );
  }

  /**
   * Sends WORK_COMPLETE with `data` (encoded; `undefined`/`null`: empty) for `job`. The
   * callback's own return value is then not sent again. See {@link sendJobData}.
   *
   * @param job - the job given to the task callback
   * @param data - the result
   * @param options - accepted for compatibility (see {@link SendOptions})
   * @returns a promise that resolves once the bytes are handed to the socket (or dropped)
   * @throws as {@link sendJobData}
   */
  sendJobComplete(job: GearmanJob, data: unknown, options?: SendOptions): Promise<void> {
    void options;
    return this.sendUpdate(job, T.WORK_COMPLETE, () => [job.handle!, this.encodeResult(job, data)], 'WORK_COMPLETE', true);
  }

  /**
   * Sends WORK_FAIL for `job`: the client's request becomes `JOB_FAILED`. See {@link sendJobData}.
   *
   * @param job - the job given to the task callback
   * @param options - accepted for compatibility (see {@link SendOptions})
   * @returns a promise that resolves once the bytes are handed to the socket (or dropped)
   * @throws as {@link sendJobData}
   */
  sendJobFailure(job: GearmanJob, options?: SendOptions): Promise<void> {
    void options;
    return this.sendUpdate(job, T.WORK_FAIL, () => [job.handle!], 'WORK_FAIL', true);
  }

  /**
   * Sends WORK_EXCEPTION with `data` (encoded) for `job`. A client that asked for exceptions (the
   * default of {@link GearmanClient}) gets `request.exception` and `JOB_FAILED`; gearmand sends
   * other clients WORK_FAIL. gearmand ends the job with it, so nothing else is sent (python-gearman
   * sent WORK_FAIL after it, which gearmand answers with ERROR JOB_NOT_FOUND); the Perl server
   * does not, so there a WORK_FAIL follows. See {@link sendJobData}.
   *
   * @param job - the job given to the task callback
   * @param data - the exception data
   * @param options - accepted for compatibility (see {@link SendOptions})
   * @returns a promise that resolves once the bytes are handed to the socket (or dropped)
   * @throws as {@link sendJobData}
   */
  sendJobException(job: GearmanJob, data: unknown, options?: SendOptions): Promise<void> {
    void options;
    return this.sendUpdate(job, T.WORK_EXCEPTION, () => [job.handle!, this.encodeData(job, data)], 'WORK_EXCEPTION', true, true);
  }

  /**
   * Closes every connection and makes {@link work} resolve at once, without waiting for running
   * jobs: their {@link WorkerJob.signal} is aborted, the server re-queues them, and their later
   * updates are dropped with a logged warning. Their slots stay taken until they settle, so a later
   * `work()` never runs more than {@link concurrency} jobs at once. The worker can work again later.
   *
   * @param reason - the abort reason given to the jobs' signals (a {@link ShutdownError} by default)
   */
  override shutdown(reason?: unknown): void {
    this.stopping = true;
    this.shutdownRequested = true;
    this.reconnects.clear();
    const why = reason ?? new ShutdownError('shutdown() closed the connections');
    for (const job of this.runningJobs.list()) job.abort(why);
    super.shutdown();
    this.checkIdle();
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** `await using worker = new GearmanWorker(...)`: {@link stop}s it (default grace period). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
