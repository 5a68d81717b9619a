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

/** A task callback: its return value (or resolved value) is the job's result. */
export type TaskCallback = (worker: GearmanWorker, job: GearmanJob) => unknown;

/** Options of a {@link GearmanWorker}. */
export interface GearmanWorkerOptions extends ConnectionManagerOptions {
  /**
   * Delay before reconnect attempt `attempt` (0, 1, 2, ...) to a lost server, in ms, or `null` to
   * give that server up.
   * @default capped exponential back-off with jitter: 100 ms doubling up to 10 s
   */
  retryStrategy?: (attempt: number) => number | null;
}

/** Options of {@link GearmanWorker.work}. */
export interface WorkOptions {
  /**
   * Seconds per poll cycle: `afterPoll(false)` runs at least this often. `null` for endless cycles.
   * @default 60
   */
  pollTimeout?: number | null;
}

/** Options of the `sendJob*` methods (python-gearman's `poll_timeout`; writes never block here). */
export interface SendOptions {
  /** Accepted for compatibility; the promise resolves once the bytes are handed to the socket. */
  pollTimeout?: number | null;
}

/** The default {@link GearmanWorkerOptions.retryStrategy}. */
export function defaultRetryStrategy(attempt: number): number {
  const base = Math.min(10_000, 100 * 2 ** Math.min(attempt, 10));
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

/**
 * A Gearman worker.
 *
 * @example
 * ```ts
 * import { GearmanWorker } from 'gearman-ts';
 *
 * const worker = new GearmanWorker(['localhost:4730']);
 * worker.registerTask('reverse', (worker, job) => Buffer.from(job.data as Buffer).reverse());
 * await worker.work(); // until afterPoll/afterJob return false or shutdown() is called
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
  /** The job callback running now (async callbacks), so `work()` can let it finish. */
  private jobInFlight: Promise<unknown> | undefined;
  private readonly reconnectTimers = new Map<GearmanConnection, NodeJS.Timeout>();
  private readonly reconnectAttempts = new Map<GearmanConnection, number>();
  /** What the work loop watches, so a stop request wakes it. */
  private readonly stopSignal = { waiters: undefined as unknown };

  /**
   * @param hostList - servers; none means `['localhost:4730']`
   * @param options - see {@link GearmanWorkerOptions}
   * @throws {@link GearmanError} (code `'INVALID_HOST'`) for a malformed host entry
   */
  constructor(hostList?: HostEntry[] | null, options: GearmanWorkerOptions = {}) {
    super(hostList, options);
    const strategy = options?.retryStrategy ?? defaultRetryStrategy;
    if (typeof strategy !== 'function') throw new TypeError('retryStrategy must be a function (attempt) => ms | null');
    this.retryStrategy = strategy;
  }

  /** @internal */
  protected createCommandHandler(connection: GearmanConnection): WorkerCommandHandler {
    return new WorkerCommandHandler(this, connection);
  }

  private handlers(): WorkerCommandHandler[] {
    return [...this.connectionToHandlerMap.values()];
  }

  /** Registered task names, in registration order. */
  abilities(): string[] {
    return [...this.workerAbilities.keys()];
  }

  // ---------------------------------------------------------------------------------------------
  // Registration

  /**
   * Sets the client id shown by the admin `workers` command, on every connection now and later.
   *
   * @returns `clientId`
   * @throws TypeError if `clientId` is not a string without NUL bytes
   */
  setClientId(clientId: string): string {
    if (typeof clientId !== 'string' || clientId.includes('\0')) throw new TypeError('clientId must be a string without NUL bytes');
    this.workerClientId = clientId;
    for (const handler of this.handlers()) handler.setClientId(clientId);
    return clientId;
  }

  /**
   * Registers (or replaces) the callback for `task` and advertises it on every connection.
   *
   * @param task - task (function) name
   * @param callback - `(worker, job) => result`; may return a promise
   * @returns `task`
   * @throws TypeError for a task name that is not a non-empty string without NUL or whitespace
   * line breaks, or a callback that is not a function
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
   * Stops advertising `task` (no error if it was not registered).
   *
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
   * Serves jobs until `afterPoll` or `afterJob` returns false or {@link shutdown} is called.
   * Lost servers are reconnected (see `retryStrategy`); the loop goes on through outages.
   *
   * @param options - `pollTimeout`: seconds per cycle (default 60)
   * @returns a promise that resolves when the worker stops, after a job still running has settled
   * @throws {@link InvalidWorkerState} (rejects) if `work()` is already running; whatever
   * `afterPoll`/`afterJob` throw; {@link ServerUnavailable} when `retryStrategy` gave up on every server
   */
  async work(options: WorkOptions = {}): Promise<void> {
    const pollTimeout = options?.pollTimeout === undefined ? 60 : options.pollTimeout;
    if (pollTimeout !== null && (typeof pollTimeout !== 'number' || Number.isNaN(pollTimeout))) {
      throw new TypeError(`pollTimeout must be a number of seconds or null, got ${String(pollTimeout)}`);
    }
    if (this.working) throw new InvalidWorkerState('work() is already running on this worker');
    this.working = true;
    this.stopping = false;
    this.shutdownRequested = false;
    this.stopError = undefined;
    this.hold(true);
    try {
      for (;;) {
        this.establishWorkerConnections();
        let keepGoing: boolean;
        try {
          keepGoing = await this.pollConnectionsUntilStopped(this.connectionList, (any) => this.workCallback(any), pollTimeout, {
            watch: [this.stopSignal],
            wakeOnActivity: true,
          });
        } catch (err) {
          if ((err as GearmanError).code === 'SHUTDOWN') break;
          throw err;
        }
        if (!keepGoing) break;
      }
      if (this.stopError !== undefined) throw this.stopError;
    } finally {
      this.stopping = true;
      // A graceful stop lets a running job finish and answer; shutdown() does not wait for it.
      const running = this.jobInFlight;
      if (running !== undefined && !this.shutdownRequested) await running.then(undefined, () => undefined);
      this.clearReconnects();
      for (const connection of this.connectionList) {
        const handler = this.handlerOf(connection);
        if (handler !== undefined) this.handleDisconnect(connection);
      }
      this.working = false;
      this.hold(false);
    }
  }

  private workCallback(anyActivity: boolean): boolean {
    if (this.stopping) return false;
    const keepGoing = this.afterPoll(anyActivity);
    if (!keepGoing) this.stopping = true;
    return keepGoing;
  }

  /** Closes one connection on purpose (end of work): no reconnect. */
  private handleDisconnect(connection: GearmanConnection): void {
    const handler = this.handlerOf(connection);
    this.connectionToHandlerMap.delete(connection);
    if (handler !== undefined) this.handlerToConnectionMap.delete(handler);
    connection.handler = undefined;
    connection.close();
    if (handler !== undefined && this.commandHandlerHoldingJobLock === handler) this.commandHandlerHoldingJobLock = null;
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
        this.reconnectAttempts.delete(connection);
        if (!this.working) this.handleDisconnect(connection);
      },
      (err: GearmanError) => {
        this.logger.warn(`${connection.address}: worker could not connect: ${err.message}`);
        this.scheduleReconnect(connection);
      },
    );
  }

  private scheduleReconnect(connection: GearmanConnection): void {
    if (!this.working || this.stopping || this.reconnectTimers.has(connection)) return;
    const attempt = this.reconnectAttempts.get(connection) ?? 0;
    let delay: number | null;
    try {
      delay = this.retryStrategy(attempt);
    } catch (err) {
      this.logger.error(`retryStrategy threw: ${describeError(err)}; giving up ${connection.address}`);
      delay = null;
    }
    if (delay === null || delay === undefined || !(delay >= 0)) {
      this.logger.warn(`${connection.address}: giving up reconnecting after ${attempt} attempt(s)`);
      connection.reconnectPending = false;
      this.wake(this.stopSignal);
      return;
    }
    this.reconnectAttempts.set(connection, attempt + 1);
    connection.reconnectPending = true;
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
  }

  /** @internal */
  protected override onConnectionLost(connection: GearmanConnection, error: GearmanError): void {
    void error;
    if (this.working && !this.stopping) {
      this.logger.warn(`${connection.address}: worker lost its connection (${error.message}); reconnecting`);
      this.scheduleReconnect(connection);
    }
  }

  /**
   * Called at the start of every cycle (with false) and after every poll iteration, with whether
   * any connection saw activity. Override; return false to leave `work()`.
   *
   * @param anyActivity - whether this iteration saw socket activity
   * @returns true to keep working
   */
  afterPoll(anyActivity: boolean): boolean {
    void anyActivity;
    return true;
  }

  /**
   * Called once after every job this worker ran (not after NO_JOB). Override; return false to
   * leave `work()` (the next job is then not asked for).
   *
   * @returns true to keep working
   */
  afterJob(): boolean {
    return true;
  }

  // ---------------------------------------------------------------------------------------------
  // The job lock

  /**
   * Takes (`lock` true) or releases the job lock for `handler` (python-gearman's `set_job_lock`).
   *
   * @returns false if the lock is held by anyone (taking) or not by `handler` (releasing)
   */
  setJobLock(handler: WorkerCommandHandler, lock: boolean): boolean {
    if (handler.connection.handler !== handler && lock) return false;
    if (lock) {
      if (this.commandHandlerHoldingJobLock !== null) return false;
      this.commandHandlerHoldingJobLock = handler;
      return true;
    }
    if (this.commandHandlerHoldingJobLock !== handler) return false;
    this.commandHandlerHoldingJobLock = null;
    return true;
  }

  /** Whether any connection holds the job lock. */
  hasJobLock(): boolean {
    return this.commandHandlerHoldingJobLock !== null;
  }

  /** Whether `handler` holds the job lock. */
  checkJobLock(handler: WorkerCommandHandler): boolean {
    return this.commandHandlerHoldingJobLock === handler;
  }

  /** @internal */
  acceptingJobs(): boolean {
    return this.working && !this.stopping;
  }

  /**
   * The lock is free: hand it to a connection woken while it was held (fairly, in connection
   * order after `previous`), else let `previous` grab again at once.
   * @internal
   */
  lockReleased(previous?: WorkerCommandHandler): void {
    if (this.commandHandlerHoldingJobLock !== null || !this.acceptingJobs()) return;
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
  executeJob(handler: WorkerCommandHandler, job: GearmanJob): void {
    let outcome: unknown;
    try {
      outcome = this.onJobExecute(job);
    } catch (err) {
      this.hookFailed(job, err);
      this.finishJob(handler, job);
      return;
    }
    if (!isThenable(outcome)) {
      this.finishJob(handler, job);
      return;
    }
    const settled = Promise.resolve(outcome).then(
      () => this.finishJob(handler, job),
      (err: unknown) => {
        this.hookFailed(job, err);
        this.finishJob(handler, job);
      },
    );
    this.jobInFlight = settled;
    void settled.finally(() => {
      if (this.jobInFlight === settled) this.jobInFlight = undefined;
    });
  }

  /** A hook threw after the callback: answer WORK_FAIL if nothing was answered yet. */
  private hookFailed(job: GearmanJob, error: unknown): void {
    this.logger.error(`job ${job.handle} (${job.task}): ${describeError(error)}; answering WORK_FAIL`);
    if (!job.answered) this.queueUpdate(job, T.WORK_FAIL, [job.handle ?? ''], 'WORK_FAIL', true);
  }

  private finishJob(handler: WorkerCommandHandler, job: GearmanJob): void {
    void job;
    if (handler.connection.handler === handler) handler.state = 'sleeping';
    if (this.commandHandlerHoldingJobLock === handler) this.commandHandlerHoldingJobLock = null;
    let keepGoing = true;
    try {
      keepGoing = this.afterJob() !== false;
    } catch (err) {
      this.stopError = err;
      keepGoing = false;
    }
    if (!keepGoing) {
      this.stopping = true;
      if (handler.connection.handler === handler) handler.sleep();
      this.wake(this.stopSignal);
      return;
    }
    if (handler.connection.handler === handler) this.lockReleased(handler);
    else this.lockReleased();
  }

  /**
   * Runs the task callback: its result goes to {@link onJobComplete}, a throw or rejection to
   * {@link onJobException} (python-gearman's `on_job_execute`).
   *
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
   * A callback threw or rejected: logs it and sends WORK_FAIL (python-gearman's
   * `on_job_exception`). Override to send {@link sendJobException} instead.
   *
   * @returns false
   */
  onJobException(job: GearmanJob, error: unknown): unknown {
    this.logger.warn(`job ${job.handle} (${job.task}) failed: ${describeError(error)}`);
    if (!job.answered) this.queueUpdate(job, T.WORK_FAIL, [job.handle ?? ''], 'WORK_FAIL', true);
    return false;
  }

  /**
   * A callback returned: sends WORK_COMPLETE with the encoded result; `undefined`/`null` is an
   * empty result (python-gearman's `on_job_complete`). Nothing is sent if the callback already
   * answered the job itself.
   *
   * @returns true
   */
  onJobComplete(job: GearmanJob, result: unknown): unknown {
    if (!job.answered) this.queueUpdate(job, T.WORK_COMPLETE, [job.handle ?? '', this.encodeResult(job, result)], 'WORK_COMPLETE', true);
    return true;
  }

  private encodeResult(job: GearmanJob, value: unknown): string | Uint8Array {
    if (value === undefined || value === null) return '';
    const encoded = this.dataEncoder.encode(value);
    if (typeof encoded !== 'string' && !(encoded instanceof Uint8Array)) {
      throw new TypeError(`dataEncoder.encode returned ${typeof encoded} for job ${job.handle}; expected a string or bytes`);
    }
    return encoded;
  }

  /**
   * Queues one packet for `job` on the socket it was assigned on. If that socket is gone, the
   * server has already requeued the job: the update is dropped with a logged warning.
   *
   * @returns the connection's flush promise, or undefined when dropped
   */
  private queueUpdate(job: GearmanJob, type: number, args: PacketArg[], name: string, final: boolean): Promise<void> | undefined {
    const connection = job.connection;
    const handler = (job.handler ?? connection?.handler) as WorkerCommandHandler | undefined;
    if (connection === null || handler === undefined || connection.handler !== handler) {
      this.logger.warn(`${name} for job ${job.handle} (${job.task}) dropped: its connection ${connection?.address ?? '(none)'} is gone; the server requeues the job`);
      if (final) job.answered = true;
      return undefined;
    }
    handler.sendCommand(type, args);
    if (final) job.answered = true;
    return undefined;
  }

  private async sendUpdate(job: GearmanJob, type: number, args: () => PacketArg[], name: string, final: boolean): Promise<void> {
    checkJob(job, name);
    this.queueUpdate(job, type, args(), name, final);
    const connection = job.connection;
    if (connection !== null) await connection.whenFlushed();
  }

  /**
   * Sends WORK_DATA (in-flight data) for `job`.
   *
   * @returns a promise that resolves once the bytes are handed to the socket (or dropped, with a
   * logged warning, if the job's connection is gone)
   * @throws TypeError (rejects) if the encoder cannot encode `data`
   */
  sendJobData(job: GearmanJob, data: unknown, options?: SendOptions): Promise<void> {
    void options;
    return this.sendUpdate(job, T.WORK_DATA, () => [job.handle!, this.encodeData(job, data)], 'WORK_DATA', false);
  }

  /** Sends WORK_WARNING for `job`. See {@link sendJobData}. */
  sendJobWarning(job: GearmanJob, data: unknown, options?: SendOptions): Promise<void> {
    void options;
    return this.sendUpdate(job, T.WORK_WARNING, () => [job.handle!, this.encodeData(job, data)], 'WORK_WARNING', false);
  }

  /**
   * Sends WORK_STATUS (progress `numerator`/`denominator`) for `job`.
   *
   * @throws TypeError (rejects) unless both are integers (python-gearman sent floats as `'1.0'`,
   * which clients then failed to parse)
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

  /** Sends WORK_COMPLETE with `data` (encoded) for `job`. See {@link sendJobData}. */
  sendJobComplete(job: GearmanJob, data: unknown, options?: SendOptions): Promise<void> {
    void options;
    return this.sendUpdate(job, T.WORK_COMPLETE, () => [job.handle!, this.encodeResult(job, data)], 'WORK_COMPLETE', true);
  }

  /** Sends WORK_FAIL for `job`. See {@link sendJobData}. */
  sendJobFailure(job: GearmanJob, options?: SendOptions): Promise<void> {
    void options;
    return this.sendUpdate(job, T.WORK_FAIL, () => [job.handle!], 'WORK_FAIL', true);
  }

  /**
   * Sends WORK_EXCEPTION with `data` (encoded) then WORK_FAIL for `job`, as python-gearman.
   * gearmand treats WORK_EXCEPTION as final and answers the WORK_FAIL with ERROR JOB_NOT_FOUND,
   * which the worker ignores. See {@link sendJobData}.
   */
  async sendJobException(job: GearmanJob, data: unknown, options?: SendOptions): Promise<void> {
    void options;
    checkJob(job, 'sendJobException');
    const encoded = this.encodeData(job, data);
    this.queueUpdate(job, T.WORK_EXCEPTION, [job.handle!, encoded], 'WORK_EXCEPTION', true);
    this.queueUpdate(job, T.WORK_FAIL, [job.handle!], 'WORK_FAIL', true);
    if (job.connection !== null) await job.connection.whenFlushed();
  }

  private encodeData(job: GearmanJob, data: unknown): string | Uint8Array {
    const encoded = this.dataEncoder.encode(data);
    if (typeof encoded !== 'string' && !(encoded instanceof Uint8Array)) {
      throw new TypeError(`dataEncoder.encode returned ${typeof encoded} for job ${job.handle}; expected a string or bytes`);
    }
    return encoded;
  }

  /**
   * Closes every connection and ends `work()` (it resolves); the job lock is cleared. The worker
   * can work again later.
   */
  override shutdown(): void {
    this.stopping = true;
    this.shutdownRequested = true;
    this.clearReconnects();
    super.shutdown();
    this.commandHandlerHoldingJobLock = null;
  }
}

