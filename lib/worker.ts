/**
 * `GearmanWorker`: registers tasks and runs jobs, as python-gearman's `gearman.worker`.
 *
 * One job runs at a time across all connections (the job lock). Task callbacks may be sync or
 * async; the connections keep being served while an async callback runs. After a job the worker
 * asks for the next one at once (as libgearman does) and only sleeps (PRE_SLEEP) after NO_JOB.
 * Lost servers are reconnected with back-off; `work()` goes on through outages.
 *
 * @module
 */
import { ConnectionManager, type ConnectionManagerOptions } from './connection-manager.js';
import { WorkerCommandHandler } from './command-handler/worker-handler.js';
import type { GearmanConnection } from './connection.js';
import type { GearmanJob } from './job.js';
import { CommandType } from './protocol/commands.js';
import type { PacketArg } from './protocol/encoder.js';
import { InvalidWorkerState, type GearmanError } from './errors.js';
import type { HostEntry } from './hosts.js';

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
export type TaskCallback = (worker: GearmanWorker, job: GearmanJob) => unknown;

/** Options of a {@link GearmanWorker}. */
export interface GearmanWorkerOptions extends ConnectionManagerOptions {
  /**
   * Delay before reconnect attempt `attempt` (0, 1, 2, ...; back to 0 once a connection proved to
   * work: a packet from its server, or 5 s up) to a lost or unreachable server, in ms, or `null` to
   * give that server up until the next poll cycle of `work()`.
   * @default {@link defaultRetryStrategy}: capped exponential back-off with jitter, 100 ms doubling up to 10 s
   */
  retryStrategy?: (attempt: number) => number | null;
}

/** Options of {@link GearmanWorker.work}. */
export interface WorkOptions {
  /**
   * Seconds per poll cycle (python-gearman's `poll_timeout`): `afterPoll(false)` runs at least
   * this often, and servers given up by `retryStrategy` are tried again at each cycle. `null`: one
   * endless cycle. Must be positive.
   * @default 60
   */
  pollTimeout?: number | null;
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
    throw new TypeError(`${where}: expected the GearmanJob given to the task callback`);
  }
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** How long the end of `work()` waits for queued bytes to reach the kernel before closing. */
const DRAIN_TIMEOUT_MS = 1000;
/** A connection that stayed up this long, or got a packet from its server, resets the back-off. */
const STABLE_CONNECTION_MS = 5000;
const PROVEN = -1;

/**
 * A Gearman worker: python-gearman's `GearmanWorker`.
 *
 * Register tasks with {@link registerTask}, then call {@link work}, which serves jobs until
 * {@link afterPoll} or {@link afterJob} returns false or {@link shutdown} is called. Subclass it to
 * override the hooks ({@link afterPoll}, {@link afterJob}, {@link onJobExecute},
 * {@link onJobException}, {@link onJobComplete}) or the {@link dataEncoder}.
 *
 * @example
 * ```ts
 * import { GearmanWorker } from 'gearman-ts';
 *
 * const worker = new GearmanWorker(['localhost:4730']);
 * worker.setClientId('reverser-1');
 * worker.registerTask('reverse', (worker, job) => [...String(job.data)].reverse().join(''));
 * await worker.work(); // until afterPoll/afterJob return false or shutdown() is called
 * ```
 *
 * @example
 * ```ts
 * // python-gearman's subclassing pattern: a JSON worker that stops after 100 jobs.
 * class JsonWorker extends GearmanWorker {
 *   override dataEncoder = JsonEncoder;
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
  /** The connection handler holding the job lock, or null. */
  commandHandlerHoldingJobLock: WorkerCommandHandler | null = null;
  /** Reconnect delays; see {@link GearmanWorkerOptions.retryStrategy}. */
  retryStrategy: (attempt: number) => number | null;

  private working = false;
  private stopping = false;
  private shutdownRequested = false;
  private stopError: unknown = undefined;
  /** The job running now (sync or async), if any. */
  private currentJob: GearmanJob | undefined;
  /** The settling of the async job running now, so a graceful stop can let it finish. */
  private jobInFlight: Promise<unknown> | undefined;
  /** Ends the graceful wait for a running job when shutdown() is called meanwhile. */
  private stopWaiter: (() => void) | undefined;
  private readonly reconnectTimers = new Map<GearmanConnection, NodeJS.Timeout>();
  private readonly reconnectAttempts = new Map<GearmanConnection, number>();
  /** When each connection last connected, to tell a stable connection from a flapping one. */
  private readonly connectedAt = new Map<GearmanConnection, number>();
  /** What the work loop watches, so a stop request wakes it. */
  private readonly stopSignal = { waiters: undefined as unknown };

  /**
   * @param hostList - servers; none means `['localhost:4730']`. TLS entries
   * (`{ host, port, tls: { ca } }`) are supported.
   * @param options - see {@link GearmanWorkerOptions}
   * @throws {@link GearmanError} (code `'INVALID_HOST'`) for a malformed host entry
   * @throws TypeError for a `retryStrategy` that is not a function
   */
  constructor(hostList?: HostEntry[] | null, options: GearmanWorkerOptions = {}) {
    super(hostList, options);
    const strategy = options?.retryStrategy ?? defaultRetryStrategy;
    if (typeof strategy !== 'function') throw new TypeError('retryStrategy must be a function (attempt) => ms | null');
    this.retryStrategy = strategy;
  }

  /** Makes the command handler of a new connection (see {@link ConnectionManager}). */
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

  // ---------------------------------------------------------------------------------------------
  // Registration

  /**
   * Sets the client id shown by the admin `workers` command, on every live connection now
   * (SET_CLIENT_ID) and on every connection made later.
   *
   * @param clientId - any string without NUL bytes
   * @returns `clientId`
   * @throws TypeError if `clientId` is not a string without NUL bytes
   *
   * @example
   * ```ts
   * worker.setClientId(`resizer-${process.pid}`);
   * // gearadmin --workers: "12 127.0.0.1 resizer-4242 : resize"
   * ```
   */
  setClientId(clientId: string): string {
    if (typeof clientId !== 'string' || clientId.includes('\0')) throw new TypeError('clientId must be a string without NUL bytes');
    this.workerClientId = clientId;
    for (const handler of this.handlers()) handler.setClientId(clientId);
    return clientId;
  }

  /**
   * Registers (or replaces) the callback for `task` and advertises the full ability list on every
   * live connection (RESET_ABILITIES then one CAN_DO per task, as python-gearman).
   *
   * @param task - task (function) name
   * @param callback - `(worker, job) => result`, sync or async; see {@link TaskCallback}
   * @returns `task`
   * @throws TypeError for a task name that is not a non-empty string without NUL or line breaks,
   * or a callback that is not a function
   *
   * @example
   * ```ts
   * worker.registerTask('resize', async (worker, job) => {
   *   await worker.sendJobStatus(job, 0, 2);
   *   const small = await resize(job.data as Buffer);
   *   await worker.sendJobStatus(job, 2, 2);
   *   return small; // sent with WORK_COMPLETE
   * });
   * ```
   */
  registerTask(task: string, callback: TaskCallback): string {
    if (typeof task !== 'string' || task.length === 0 || /[\0\r\n]/.test(task)) {
      throw new TypeError(`task must be a non-empty string without NUL or line breaks, got ${JSON.stringify(task)}`);
    }
    if (typeof callback !== 'function') throw new TypeError(`callback for ${task} must be a function`);
    this.workerAbilities.set(task, callback);
    this.advertise();
    return task;
  }

  /**
   * Stops advertising `task` (no error if it was not registered): the remaining list is sent again
   * on every live connection (RESET_ABILITIES then CAN_DO for each remaining task).
   *
   * @param task - task (function) name
   * @returns `task`
   */
  unregisterTask(task: string): string {
    if (this.workerAbilities.delete(task)) this.advertise();
    return task;
  }

  private advertise(): void {
    const abilities = this.abilities();
    for (const handler of this.handlers()) handler.setAbilities(abilities);
  }

  // ---------------------------------------------------------------------------------------------
  // The work loop

  /**
   * Serves jobs until {@link afterPoll} or {@link afterJob} returns false or {@link shutdown} is
   * called (python-gearman's `work`). Each cycle of `pollTimeout` seconds runs the manager's poll
   * loop over every server; `afterPoll(false)` runs once when `work()` starts, then `afterPoll`
   * runs once per poll iteration (socket activity, or the end of a cycle).
   *
   * Servers that go away are reconnected in the background with {@link retryStrategy} back-off,
   * and get the client id and abilities again; `work()` goes on while every server is down.
   *
   * @param options - `pollTimeout`: seconds per cycle (default 60)
   * @returns a promise that resolves when the worker stops: after a graceful stop (a hook returned
   * false), once a job still running has settled and answered; after {@link shutdown}, at once. No
   * socket or timer of the worker is left to keep the process alive.
   * @throws {@link InvalidWorkerState} (rejects) if `work()` is already running
   * @throws TypeError (rejects) for a `pollTimeout` that is not a positive number or null
   * @throws whatever {@link afterPoll}/{@link afterJob} throw (rejects, after stopping)
   * @throws {@link ServerUnavailable} (rejects) when `retryStrategy` gave up on every server
   *
   * @example
   * ```ts
   * const working = worker.work({ pollTimeout: 5 });
   * process.once('SIGTERM', () => worker.shutdown());
   * await working;
   * ```
   */
  async work(options: WorkOptions = {}): Promise<void> {
    const pollTimeout = options?.pollTimeout === undefined ? 60 : options.pollTimeout;
    if (pollTimeout !== null && (typeof pollTimeout !== 'number' || !(pollTimeout > 0))) {
      // 0 would be a busy loop that never waits for a packet (python-gearman never does I/O then).
      throw new TypeError(`pollTimeout must be a positive number of seconds or null, got ${String(pollTimeout)}`);
    }
    if (this.working) throw new InvalidWorkerState('work() is already running on this worker');
    this.working = true;
    this.stopping = false;
    this.shutdownRequested = false;
    this.stopError = undefined;
    this.hold(true);
    try {
      let firstCycle = true;
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
      // A graceful stop lets a running job finish and answer; shutdown() does not wait for it.
      const running = this.jobInFlight;
      if (running !== undefined && !this.shutdownRequested) {
        await new Promise<void>((resolve) => {
          this.stopWaiter = resolve;
          running.then(() => resolve(), () => resolve());
        });
        this.stopWaiter = undefined;
      }
      this.clearReconnects();
      await this.closeWorkerConnections();
      this.working = false;
      this.hold(false);
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
    const handler = this.handlerOf(connection);
    if (handler !== undefined) {
      this.connectionToHandlerMap.delete(connection);
      this.handlerToConnectionMap.delete(handler);
      connection.handler = undefined;
      if (this.commandHandlerHoldingJobLock === handler && this.currentJob === undefined) this.commandHandlerHoldingJobLock = null;
    }
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
        // The back-off is reset only once the connection proved stable (see scheduleReconnect):
        // a server that accepts and closes at once must not be re-dialled at full speed.
        this.connectedAt.set(connection, Date.now());
        // Connected after work() ended: not wanted any more.
        if (!this.working) this.disconnect(connection);
      },
      (err: GearmanError) => {
        // Aborted on purpose (shutdown or end of work()): nothing to report or retry.
        if (err?.code === 'SHUTDOWN' || !this.working || this.stopping) return;
        this.logger.warn(`${connection.address}: worker could not connect: ${err.message}`);
        this.scheduleReconnect(connection);
      },
    );
  }

  private scheduleReconnect(connection: GearmanConnection): void {
    if (!this.working || this.stopping || this.reconnectTimers.has(connection)) return;
    const since = this.connectedAt.get(connection);
    this.connectedAt.delete(connection);
    if (since !== undefined && (since === PROVEN || Date.now() - since >= STABLE_CONNECTION_MS)) this.reconnectAttempts.delete(connection);
    const attempt = this.reconnectAttempts.get(connection) ?? 0;
    let delay: number | null;
    try {
      delay = this.retryStrategy(attempt);
    } catch (err) {
      this.logger.error(`retryStrategy threw: ${describeError(err)}; giving up ${connection.address}`);
      delay = null;
    }
    if (delay === null || delay === undefined || !(delay >= 0)) {
      this.logger.warn(`${connection.address}: giving up reconnecting after ${attempt} attempt(s) until the next poll cycle`);
      connection.reconnectPending = false;
      this.reconnectAttempts.delete(connection);
      // Let the loop see whether any server is left (it rejects with ServerUnavailable if none).
      this.wake(this.stopSignal);
      return;
    }
    this.reconnectAttempts.set(connection, attempt + 1);
    connection.reconnectPending = true;
    // Not unref()ed: a worker must outlive an outage while work() runs (cleared when it ends).
    const timer = setTimeout(() => {
      this.reconnectTimers.delete(connection);
      if (!this.working || this.stopping) {
        connection.reconnectPending = false;
        return;
      }
      this.connectWorker(connection);
    }, delay);
    this.reconnectTimers.set(connection, timer);
  }

  private clearReconnects(): void {
    for (const [connection, timer] of this.reconnectTimers) {
      clearTimeout(timer);
      connection.reconnectPending = false;
    }
    this.reconnectTimers.clear();
    this.reconnectAttempts.clear();
    this.connectedAt.clear();
  }

  /**
   * Bytes from a server: the connection works, so losing it later restarts the back-off at 0.
   * @internal
   */
  override handleRead(connection: GearmanConnection, chunk: Buffer): void {
    if (this.connectedAt.has(connection)) this.connectedAt.set(connection, PROVEN);
    super.handleRead(connection, chunk);
  }

  /** @internal */
  protected override onConnectionLost(connection: GearmanConnection, error: GearmanError): void {
    if (this.working && !this.stopping) {
      this.logger.warn(`${connection.address}: worker lost its connection (${error.message}); reconnecting`);
      this.scheduleReconnect(connection);
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
  // The job lock

  /**
   * Takes (`lock` true) or releases the job lock for `handler` (python-gearman's `set_job_lock`).
   *
   * @param handler - a live connection's handler
   * @param lock - take (true) or release (false)
   * @returns false if taking while anyone holds it (or for a handler whose connection is gone), or
   * releasing a lock `handler` does not hold
   */
  setJobLock(handler: WorkerCommandHandler, lock: boolean): boolean {
    if (lock) {
      if (handler.connection.handler !== handler || this.commandHandlerHoldingJobLock !== null) return false;
      this.commandHandlerHoldingJobLock = handler;
      return true;
    }
    if (this.commandHandlerHoldingJobLock !== handler) return false;
    this.commandHandlerHoldingJobLock = null;
    return true;
  }

  /** @returns whether any connection holds the job lock (python-gearman's `has_job_lock`) */
  hasJobLock(): boolean {
    return this.commandHandlerHoldingJobLock !== null;
  }

  /**
   * @param handler - a connection's handler
   * @returns whether `handler` holds the job lock (python-gearman's `check_job_lock`)
   */
  checkJobLock(handler: WorkerCommandHandler): boolean {
    return this.commandHandlerHoldingJobLock === handler;
  }

  /** @internal */
  acceptingJobs(): boolean {
    return this.working && !this.stopping;
  }

  /**
   * The lock is free: hand it to a connection woken while it was held (fairly: in connection order
   * after `previous`), else let `previous` grab again at once.
   * @internal
   */
  lockReleased(previous?: WorkerCommandHandler): void {
    if (this.commandHandlerHoldingJobLock !== null || !this.acceptingJobs()) return;
    // One server: nobody else can be waiting for the lock (the common case, after every job).
    if (this.connectionToHandlerMap.size === 1 && previous !== undefined && previous.connection.handler === previous) {
      this.commandHandlerHoldingJobLock = previous;
      previous.grab();
      return;
    }
    const handlers = this.handlers();
    const start = previous === undefined ? 0 : handlers.indexOf(previous) + 1;
    for (let i = 0; i < handlers.length; i++) {
      const handler = handlers[(start + i) % handlers.length]!;
      if (handler.wakePending && handler !== previous && handler.state === 'sleeping') {
        this.commandHandlerHoldingJobLock = handler;
        handler.grab();
        if (previous !== undefined && previous.connection.handler === previous) previous.sleep();
        return;
      }
    }
    if (previous !== undefined && previous.connection.handler === previous) {
      this.commandHandlerHoldingJobLock = previous;
      previous.grab();
    }
  }

  /** @internal */
  handlerLost(handler: WorkerCommandHandler, error: GearmanError): void {
    void error;
    handler.wakePending = false;
    // Released now only if no job runs on it; a running job keeps the lock until it settles, so
    // two jobs never run at once.
    if (this.commandHandlerHoldingJobLock === handler && handler.state !== 'working') {
      this.commandHandlerHoldingJobLock = null;
      this.lockReleased();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Running a job

  /** @internal */
  executeJob(handler: WorkerCommandHandler, job: GearmanJob, decodeError?: unknown): void {
    this.currentJob = job;
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
    const settled = Promise.resolve(outcome)
      .then(undefined, (err: unknown) => this.hookFailed(job, err))
      .then(() => this.finishJob(handler, job))
      .then(undefined, (err: unknown) => this.logger.error(`job ${job.handle} (${job.task}): ${describeError(err)}`));
    this.jobInFlight = settled;
    void settled.then(() => {
      if (this.jobInFlight === settled) this.jobInFlight = undefined;
    });
  }

  /** A hook threw after the callback (or encoding failed): answer WORK_FAIL if nothing was answered. */
  private hookFailed(job: GearmanJob, error: unknown): void {
    this.logger.error(`job ${job.handle} (${job.task}): ${describeError(error)}; answering WORK_FAIL`);
    if (!job.answered) this.queueUpdate(job, T.WORK_FAIL, [job.handle ?? ''], 'WORK_FAIL', true);
  }

  /** The job settled: release the lock, run afterJob once, then grab again (or stop). */
  private finishJob(handler: WorkerCommandHandler, job: GearmanJob): void {
    if (this.currentJob === job) this.currentJob = undefined;
    const live = handler.connection.handler === handler;
    if (live && handler.state === 'working') handler.state = 'sleeping';
    if (this.commandHandlerHoldingJobLock === handler) this.commandHandlerHoldingJobLock = null;
    let keepGoing: boolean;
    try {
      keepGoing = Boolean(this.afterJob());
    } catch (err) {
      this.stopError ??= err;
      keepGoing = false;
    }
    if (!keepGoing) {
      if (live) handler.sleep();
      this.requestStop();
      return;
    }
    this.lockReleased(live ? handler : undefined);
  }

  /**
   * Hook: runs the task callback (python-gearman's `on_job_execute`). Its result goes to
   * {@link onJobComplete}, a throw or rejection to {@link onJobException}. The job lock is held
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
      result = callback(this, job);
    } catch (err) {
      return this.onJobException(job, err);
    }
    if (isThenable(result)) {
      return Promise.resolve(result).then(
        (value) => this.onJobComplete(job, value),
        (err: unknown) => this.onJobException(job, err),
      );
    }
    return this.onJobComplete(job, result);
  }

  /**
   * Hook: a callback threw or rejected (or the job's data could not be decoded). Logs it and sends
   * WORK_FAIL, unless the callback already answered the job (python-gearman's `on_job_exception`,
   * which did not log). Override it to send {@link sendJobException} instead.
   *
   * @param job - the job
   * @param error - what was thrown
   * @returns false (may return a promise; the job lock is held until it settles)
   *
   * @example
   * ```ts
   * class ReportingWorker extends GearmanWorker {
   *   override async onJobException(job: GearmanJob, error: unknown) {
   *     await this.sendJobException(job, String(error)); // the client gets request.exception
   *     return false;
   *   }
   * }
   * ```
   */
  onJobException(job: GearmanJob, error: unknown): unknown {
    this.logger.warn(`job ${job.handle} (${job.task}) failed: ${describeError(error)}`);
    if (!job.answered) this.queueUpdate(job, T.WORK_FAIL, [job.handle ?? ''], 'WORK_FAIL', true);
    return false;
  }

  /**
   * Hook: a callback returned `result`. Sends WORK_COMPLETE with the encoded result
   * (`undefined`/`null`: an empty result), unless the callback already answered the job itself
   * (python-gearman's `on_job_complete`). If the encoder cannot encode `result`, the job gets
   * WORK_FAIL instead and the error is logged.
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
      throw new TypeError(`dataEncoder.encode returned ${typeof encoded} for job ${job.handle}; expected a string or bytes`);
    }
    return encoded;
  }

  /**
   * Queues one packet for `job` on the socket it was assigned on. If that socket is gone, the
   * server has already requeued the job: the update is dropped with a logged warning.
   *
   * @returns true if queued, false if dropped
   */
  private queueUpdate(job: GearmanJob, type: number, args: PacketArg[], name: string, final: boolean): boolean {
    const connection = job.connection;
    const handler = (job.handler ?? connection?.handler) as WorkerCommandHandler | undefined;
    if (final) job.answered = true;
    if (connection === null || handler === undefined || connection.handler !== handler) {
      this.logger.warn(`${name} for job ${job.handle} (${job.task}) dropped: its connection ${connection?.address ?? '(none)'} is gone; the server requeues the job`);
      return false;
    }
    handler.sendCommand(type, args);
    return true;
  }

  private async sendUpdate(job: GearmanJob, type: number, args: () => PacketArg[], name: string, final: boolean): Promise<void> {
    checkJob(job, name);
    if (this.queueUpdate(job, type, args(), name, final)) await job.connection!.whenFlushed();
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
   * @throws TypeError (rejects) for something that is not a job, or data the encoder rejects
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
   * @throws TypeError (rejects) for something that is not a job, or data the encoder rejects
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
   * @throws TypeError (rejects) unless both are integers (python-gearman sent floats as `'1.0'`,
   * which clients then failed to parse)
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
          throw new TypeError(`sendJobStatus needs integer numerator and denominator, got ${String(numerator)}/${String(denominator)}`);
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
   * @throws TypeError (rejects) for something that is not a job, or data the encoder rejects
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
   * @throws TypeError (rejects) for something that is not a job
   */
  sendJobFailure(job: GearmanJob, options?: SendOptions): Promise<void> {
    void options;
    return this.sendUpdate(job, T.WORK_FAIL, () => [job.handle!], 'WORK_FAIL', true);
  }

  /**
   * Sends WORK_EXCEPTION with `data` (encoded) then WORK_FAIL for `job`, as python-gearman. A
   * client that asked for exceptions (the default of {@link GearmanClient}) gets
   * `request.exception` and `JOB_FAILED`; others get a WORK_FAIL. gearmand treats WORK_EXCEPTION
   * as final and answers the WORK_FAIL with ERROR JOB_NOT_FOUND, which the worker ignores. See
   * {@link sendJobData}.
   *
   * @param job - the job given to the task callback
   * @param data - the exception data
   * @param options - accepted for compatibility (see {@link SendOptions})
   * @returns a promise that resolves once the bytes are handed to the socket (or dropped)
   * @throws TypeError (rejects) for something that is not a job, or data the encoder rejects
   */
  async sendJobException(job: GearmanJob, data: unknown, options?: SendOptions): Promise<void> {
    void options;
    checkJob(job, 'sendJobException');
    const encoded = this.encodeData(job, data);
    const sent = this.queueUpdate(job, T.WORK_EXCEPTION, [job.handle!, encoded], 'WORK_EXCEPTION', true);
    if (sent) this.queueUpdate(job, T.WORK_FAIL, [job.handle!], 'WORK_FAIL', true);
    if (sent) await job.connection!.whenFlushed();
  }

  /**
   * Closes every connection and makes {@link work} resolve at once (without waiting for a running
   * job, whose later updates are dropped with a logged warning). The job lock is cleared, or, if an
   * async job is still running, when it settles, so a later `work()` never runs two jobs at once.
   * The worker can work again later.
   */
  override shutdown(): void {
    this.stopping = true;
    this.shutdownRequested = true;
    this.clearReconnects();
    super.shutdown();
    if (this.currentJob === undefined) this.commandHandlerHoldingJobLock = null;
    const waiter = this.stopWaiter;
    this.stopWaiter = undefined;
    waiter?.();
  }
}
