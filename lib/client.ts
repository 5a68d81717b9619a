/**
 * `GearmanClient`: submits jobs and waits for them, as python-gearman's `gearman.client`.
 *
 * Every call returns a promise, and many may be in flight on one client at once: each waits only
 * on its own requests, and a packet wakes only the calls waiting on the requests it updates.
 *
 * @module
 */
import { randomFillSync } from 'node:crypto';
import { ConnectionManager, PollLoop, type ConnectionManagerOptions } from './connection-manager.js';
import { ClientCommandHandler, StatusQuery, UniqueStatusQuery, submitCommand } from './command-handler/client-handler.js';
import type { GearmanConnection } from './connection.js';
import { GearmanJob, GearmanJobRequest, NO_REQUEST_OPTIONS, type JobStatus, type RequestWire } from './job.js';
import { JOB_PENDING, JOB_UNKNOWN, PRIORITY_NONE, type Priority } from './constants.js';
import { ExceededConnectionAttempts, InvalidArgumentError, InvalidClientState, attachRequests, type GearmanError } from './errors.js';
import { checkOptions, checkPollTimeout, checkTaskName, checkUnique, describeValue } from './arguments.js';
import { staticDataEncoder } from './encoders.js';
import { validatePacket } from './protocol/encoder.js';
import type { HostEntry } from './hosts.js';
import type { DataEncoderLike, DecodedType, NoopEncoder } from './encoders.js';
import { abortReason, checkSignal, raceAbort } from './abort.js';
import { ConnectionAnnouncer, shutdownAndWait, type ConnectionStateEvents } from './connection-events.js';
import { HashRing, SERVER_SELECTIONS, type ServerSelection } from './server-selection.js';
import { CommandType } from './protocol/commands.js';

export { JOB_UNKNOWN, JOB_PENDING, JOB_CREATED, JOB_FAILED, JOB_COMPLETE, PRIORITY_NONE, PRIORITY_LOW, PRIORITY_HIGH } from './constants.js';

/**
 * Options of a {@link GearmanClient}.
 *
 * @typeParam E - the type of `dataEncoder`, which types the client's results, data and warnings
 */
export interface GearmanClientOptions<E extends DataEncoderLike = typeof NoopEncoder> extends ConnectionManagerOptions {
  /** Converts job data to and from bytes; its `decode` types the client's results (see {@link DecodedType}). @default NoopEncoder */
  dataEncoder?: E;
  /**
   * How a request picks its server: `'shuffle'` (python-gearman's: each request its own random
   * order of the servers), or `'unique-hash'` (a consistent hash of the unique over the servers'
   * addresses, so every client sends a unique to the same server and gearmand can coalesce it;
   * when that server is down, the request falls over in a fixed order per unique).
   * @default 'shuffle'
   */
  serverSelection?: ServerSelection;
  /** Random bytes in a generated unique (hex-encoded, so twice as many characters). @default 16 */
  randomUniqueBytes?: number;
  /**
   * Ask each server to forward WORK_EXCEPTION (OPTION_REQ `exceptions`), so `request.exception`
   * is filled. Without it gearmand turns a worker's exception into a plain WORK_FAIL.
   * @default true
   */
  exceptions?: boolean;
}

/** One job for {@link GearmanClient.submitMultipleJobs}. */
export interface JobSpec {
  /** Task (function) name. */
  task: string;
  /** Job data, encoded with the client's `dataEncoder`. */
  data: unknown;
  /** Run no earlier than this time (a `Date`, or epoch seconds): SUBMIT_JOB_EPOCH, background only. @default undefined (run as soon as a worker takes it) */
  when?: Date | number | null;
  /** Coalescing key; generated when missing or empty. `'-'` makes gearmand coalesce on the data. @default a random unique */
  unique?: string | null;
  /** @default PRIORITY_NONE */
  priority?: Priority;
}

/**
 * Callbacks called in order as a request's updates arrive, while the call waits (each is removed
 * when the call settles). A callback that throws has its error rethrown on `process.nextTick`;
 * the wait goes on.
 *
 * @typeParam R - the decoded type of data and warnings (the client's encoder's)
 */
export interface ProgressOptions<R = unknown> {
  /**
   * WORK_DATA, decoded, and the request it is for.
   * @param data - the payload, decoded by the client's `dataEncoder`
   * @param request - the request it arrived for
   */
  onData?(data: R, request: GearmanJobRequest<R>): void;
  /**
   * WORK_WARNING, decoded, and the request it is for.
   * @param data - the payload, decoded by the client's `dataEncoder`
   * @param request - the request it arrived for
   */
  onWarning?(data: R, request: GearmanJobRequest<R>): void;
  /**
   * WORK_STATUS (or STATUS_RES for a status query): the progress, and the request it is for.
   * @param numerator - work done, as the worker sent it
   * @param denominator - work in all, as the worker sent it
   * @param request - the request it arrived for (its `status` already updated)
   */
  onStatus?(numerator: number, denominator: number, request: GearmanJobRequest<R>): void;
}

/** Options of every call that waits: a signal that ends the wait. */
export interface AbortOptions {
  /**
   * Ends the wait: the call rejects at once with `signal.reason` (a `DOMException` named
   * `AbortError`, or `TimeoutError` for `AbortSignal.timeout()`), nothing more is sent, and the
   * requests keep the state they had reached (`timedOut` untouched). A Gearman client cannot
   * withdraw a submitted job: a job the server accepted stays queued or running there, and a
   * later wait can still follow it. An already aborted signal rejects before anything is sent.
   * @default undefined
   */
  signal?: AbortSignal | null;
}

/**
 * Options of {@link GearmanClient.submitJob} and {@link GearmanClient.submitMultipleJobs}.
 *
 * @typeParam R - the decoded type of data, warnings and results
 */
export interface SubmitOptions<R = unknown> extends ProgressOptions<R>, AbortOptions {
  /** Background (detached) job: the call ends once the server accepted it. @default false */
  background?: boolean;
  /** Wait for the result (foreground) as well as for acceptance. @default true */
  waitUntilComplete?: boolean;
  /** Extra sends allowed after a lost connection; python-gearman's count. @default 0 */
  maxRetries?: number;
  /**
   * Seconds for the whole call, connect included (nothing is sent past it); `null`, `undefined`
   * or `Infinity`: no limit; otherwise a number >= 0. A timeout resolves, with `timedOut` set on
   * the requests that did not reach the awaited state. @default undefined
   */
  pollTimeout?: number | null;
}

/** Options of {@link GearmanClient.submitJob}: {@link SubmitOptions} plus the job's own. */
export interface SubmitJobOptions<R = unknown> extends SubmitOptions<R> {
  /**
   * Run no earlier than this time: a `Date`, or epoch seconds (a `Date` is rounded up to the next
   * second). Sends SUBMIT_JOB_EPOCH, so only for `background: true` jobs without a priority.
   * gearmand 1.1.20 does not wake a sleeping worker when the time comes (gearmand issue #343):
   * the job is handed out at the worker's next GRAB; submitting any job for a function the
   * worker registered, at the due time, wakes it.
   * @default undefined (run as soon as a worker takes it)
   */
  when?: Date | number | null;
  /** Coalescing key; generated when missing or empty. @default a random unique (`randomUniqueBytes` bytes, hex) */
  unique?: string | null;
  /** @default PRIORITY_NONE */
  priority?: Priority;
}

/** Options of the waits. */
export interface WaitOptions<R = unknown> extends ProgressOptions<R>, AbortOptions {
  /** Seconds for the whole call, connects included; `null`/`undefined`/`Infinity`: no limit. @default undefined */
  pollTimeout?: number | null;
}

/** Options of {@link GearmanClient.submitMultipleRequests}. */
export interface SubmitRequestsOptions<R = unknown> extends WaitOptions<R> {
  /** @default true */
  waitUntilComplete?: boolean;
}

/** Options of {@link GearmanClient.getJobStatusByUnique}. */
export interface UniqueStatusOptions extends AbortOptions {
  /**
   * Seconds to wait for the answer, connects included; `null`/`undefined`: no limit. A timeout resolves with `timedOut`.
   * @default undefined (no limit)
   */
  pollTimeout?: number | null;
}

/** What {@link GearmanClient.getJobStatusByUnique} resolves with (STATUS_RES_UNIQUE). */
export interface UniqueStatus {
  /** The unique asked about. */
  unique: string;
  /** Whether the server holds a job with that unique (queued or running). */
  known: boolean;
  /** Whether a worker is running it. */
  running: boolean;
  /** Progress numerator (0 before the first WORK_STATUS). */
  numerator: number;
  /** Progress denominator (0 before the first WORK_STATUS). */
  denominator: number;
  /** Clients waiting for the job's result (foreground submissions, coalesced ones included). */
  waitingClients: number;
  /** No answer came within `pollTimeout`; the other fields are then the unknown answer's. */
  timedOut: boolean;
}

/**
 * The type of a client's results, data and warnings: its `dataEncoder`'s `decode` result. For a
 * subclass that overrides the `dataEncoder` field (the python-gearman habit) that field's type
 * counts; otherwise the type argument's (inferred from the `dataEncoder` option).
 *
 * @typeParam C - the client type
 * @typeParam E - its encoder type argument
 */
export type ResultOf<C, E> = C extends { dataEncoder: infer D } ? (DataEncoderLike extends D ? DecodedType<E> : DecodedType<D>) : DecodedType<E>;

const UNIQUE_POOL_BYTES = 8192;

/** The keys of each options object the client takes (checked with checkOptions). @internal */
export const CLIENT_OPTION_KEYS = {
  constructor: ['dataEncoder', 'connectTimeoutMs', 'keepAlive', 'maxPacketSize', 'logger', 'createSocket', 'randomUniqueBytes', 'exceptions', 'serverSelection'],
  submitJob: ['unique', 'priority', 'background', 'waitUntilComplete', 'maxRetries', 'pollTimeout', 'signal', 'when', 'onData', 'onWarning', 'onStatus'],
  submitMultipleJobs: ['background', 'waitUntilComplete', 'maxRetries', 'pollTimeout', 'signal', 'onData', 'onWarning', 'onStatus'],
  job: ['task', 'data', 'unique', 'priority', 'when'],
  submitMultipleRequests: ['waitUntilComplete', 'pollTimeout', 'signal', 'onData', 'onWarning', 'onStatus'],
  wait: ['pollTimeout', 'signal', 'onData', 'onWarning', 'onStatus'],
  uniqueStatus: ['pollTimeout', 'signal'],
} satisfies Record<string, readonly string[]>;

const JOB_KEYS: ReadonlySet<string> = new Set(CLIENT_OPTION_KEYS.job);

/**
 * A Gearman client.
 *
 * How a call ends (one rule for all of them):
 * - It resolves when its requests reached the state it waits for, or at its `pollTimeout`, which
 *   covers the whole call, connect included (nothing is sent after it). Then each request's
 *   `timedOut` is true exactly when it did not reach that state (accepted, complete, or a new
 *   status); a request lost with its connection while another connection of the call is still
 *   up comes back `JOB_UNKNOWN` with `timedOut`.
 * - It rejects when it cannot go on: no server connects, attempts are used up
 *   (`ExceededConnectionAttempts`), none of the connections its requests were sent on is still
 *   connected after a loss (`ServerUnavailable`, whatever other calls are doing), or `shutdown()`.
 *   Every such rejection carries the call's requests in `error.requests`, and leaves `timedOut`
 *   false on them (a rejection is not a timeout).
 *
 * Request listeners run inside packet handling; one that throws is rethrown on
 * `process.nextTick` (an uncaught exception of its own, ioredis's rule) and never closes the
 * connection or touches other requests. An encoder `decode` that throws fails only its request.
 *
 * @example
 * ```ts
 * import { GearmanClient } from 'gearman-ts';
 *
 * const client = new GearmanClient(['localhost:4730']);
 * const request = await client.submitJob('reverse', 'hello');
 * if (request.complete) console.log(request.state, request.result?.toString()); // COMPLETE olleh
 * client.shutdown();
 *
 * // Results typed by the encoder, progress callbacks, and cleanup at the end of the block:
 * await using json = new GearmanClient(['localhost:4730'], { dataEncoder: JsonEncoder });
 * const sum = await json.submitJob('sum', [1, 2], { onStatus: (n, d) => console.log(`${n}/${d}`) });
 * ```
 *
 * @typeParam E - the type of the `dataEncoder`: its `decode` result types results, data and
 * warnings (see {@link ResultOf}; a subclass that overrides the `dataEncoder` field is typed by it)
 */
export class GearmanClient<E extends DataEncoderLike = typeof NoopEncoder> extends ConnectionManager<ClientCommandHandler> {
  /** Random bytes per generated unique (hex-encoded). */
  randomUniqueBytes: number;
  /** Send OPTION_REQ `exceptions` on connect. */
  exceptions: boolean;
  /** How many times a connection lost requests; a wait rescans when it changed. @internal */
  connectionLosses = 0;
  /** Each request's own shuffled order of the servers (multi-server clients). */
  private readonly rotations = new WeakMap<GearmanJobRequest, GearmanConnection[]>();
  /** The last task name checkTaskName accepted (a batch's jobs usually share one). */
  private lastCheckedTask: string | undefined = undefined;
  private uniquePool = Buffer.alloc(0);
  private uniqueOffset = 0;
  /** How a request picks its server (see {@link GearmanClientOptions.serverSelection}). */
  readonly serverSelection: ServerSelection;
  private readonly announcer = new ConnectionAnnouncer();
  private hashRing: HashRing<GearmanConnection> | undefined = undefined;

  /**
   * @param hostList - servers; none (or an empty list) means `['localhost:4730']`
   * @param options - see {@link GearmanClientOptions}
   * @throws {@link GearmanError} (code `'INVALID_HOST'`) for a malformed host entry
   */
  constructor(hostList?: HostEntry[] | null, options: GearmanClientOptions<E> = {}) {
    const opts = checkOptions(options, CLIENT_OPTION_KEYS.constructor, 'GearmanClient options');
    super(hostList, opts);
    const selection = opts.serverSelection ?? 'shuffle';
    if (!SERVER_SELECTIONS.includes(selection)) {
      throw new InvalidArgumentError(`GearmanClient options: serverSelection must be 'shuffle' or 'unique-hash', got ${describeValue(selection)}`);
    }
    this.serverSelection = selection;
    // python-gearman's class attribute, translated literally (`static dataEncoder = JsonEncoder`
    // on a subclass), counts as well as the instance field; the option wins over both.
    if (opts.dataEncoder === undefined) {
      const fromClass = staticDataEncoder(new.target, GearmanClient);
      if (fromClass !== undefined) this.dataEncoder = fromClass;
    }
    const bytes = opts.randomUniqueBytes ?? 16;
    if (!Number.isInteger(bytes) || bytes < 1 || bytes > 31) {
      throw new InvalidArgumentError(`GearmanClient options: randomUniqueBytes must be an integer from 1 to 31 (the hex unique must fit gearmand's 63 bytes), got ${describeValue(bytes)}`);
    }
    this.randomUniqueBytes = bytes;
    this.exceptions = opts.exceptions ?? true;
  }

  /**
   * Makes the command handler of a new connection (see {@link ConnectionManager}); override to
   * plug in a handler subclass, as python-gearman's `command_handler_class`.
   * @param connection - the connection just established
   */
  protected createCommandHandler(connection: GearmanConnection): ClientCommandHandler {
    this.announcer.connected(connection);
    return new ClientCommandHandler(this, connection);
  }

  /** @internal */
  noteLoss(): void {
    this.connectionLosses++;
  }

  /** Keeps the sockets referenced while a call connects (see ClientWait). @internal */
  holdWhileConnecting(on: boolean): void {
    this.hold(on);
  }

  /** The request's rotation; a test may set it to pin a request to a server. @internal */
  setRotation(request: GearmanJobRequest, rotation: GearmanConnection[] | undefined): void {
    if (rotation === undefined) this.rotations.delete(request);
    else this.rotations.set(request, rotation);
  }

  /** A complete request needs no rotation any more. @internal */
  forgetRotation(request: GearmanJobRequest): void {
    if (this.connectionList.length > 1) this.rotations.delete(request);
  }

  /** A fresh random unique: `randomUniqueBytes` random bytes, hex-encoded. */
  protected generateUnique(): string {
    const n = this.randomUniqueBytes;
    if (this.uniqueOffset + n > this.uniquePool.length) {
      if (this.uniquePool.length === 0) this.uniquePool = Buffer.allocUnsafe(UNIQUE_POOL_BYTES);
      randomFillSync(this.uniquePool);
      this.uniqueOffset = 0;
    }
    const unique = this.uniquePool.toString('hex', this.uniqueOffset, this.uniqueOffset + n);
    this.uniqueOffset += n;
    return unique;
  }

  // ---------------------------------------------------------------------------------------------
  // Submitting

  /**
   * Submits one job and (by default) waits for its result.
   *
   * @param task - task (function) name
   * @param data - job data; a string or bytes with the default encoder
   * @param options - see {@link SubmitJobOptions}
   * @returns the request, with `state`, `result`, `complete` and `timedOut` set
   * @throws {@link InvalidArgumentError} (rejects; a TypeError) for an unknown option key, a task
   * name or unique the shared rules refuse (lib/arguments.ts), a bad `pollTimeout`/`maxRetries`, or
   * data the encoder cannot encode; before anything is sent
   * @throws {@link ServerUnavailable} (rejects) when no server can take the job, or its connection
   * was lost during the wait and none of the call's connections is left; `error.requests`
   * holds the request
   * @throws {@link ExceededConnectionAttempts} (rejects) once `maxRetries + 1` sends are used up
   * @throws `signal.reason` (rejects, within the turn of the abort) when `signal` aborts; the
   * request keeps the state it had reached (see {@link AbortOptions})
   *
   * @example
   * ```ts
   * const request = await client.submitJob('task_name', 'arbitrary binary data');
   * const bg = await client.submitJob('task_name', 'data', { priority: PRIORITY_HIGH, background: true });
   * const later = await client.submitJob('report', 'q3', { background: true, when: new Date(Date.now() + 60_000) });
   * const watched = await client.submitJob('resize', image, { onStatus: (n, d) => console.log(`${n}/${d}`), signal: AbortSignal.timeout(30_000) });
   * ```
   */
  submitJob(task: string, data: unknown, options: SubmitJobOptions<ResultOf<this, E>> = {}): Promise<GearmanJobRequest<ResultOf<this, E>>> {
    try {
      const given = checkOptions(options, CLIENT_OPTION_KEYS.submitJob, 'submitJob');
      const opts = submitOptions(given, 'submitJob');
      const signal = checkSignal(given.signal, 'submitJob');
      if (signal?.aborted) return Promise.reject(abortReason(signal));
      const when = checkWhen(given.when, opts.background, given.priority, 'submitJob');
      const request = this.createRequest(task, data, given.unique, given.priority, opts.background, opts.maxRetries, 'submitJob', when);
      return this.submit(request, opts.waitUntilComplete, opts.pollTimeout, signal, given) as Promise<GearmanJobRequest<ResultOf<this, E>>>;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Submits several jobs at once (pipelined) and (by default) waits for all of them.
   *
   * @param jobs - `{ task, data, unique?, priority? }` each
   * @param options - apply to every job; see {@link SubmitOptions}
   * @returns the requests, in the order of `jobs`
   * @throws as {@link submitJob}; nothing is sent if any job is invalid
   *
   * @example
   * ```ts
   * const requests = await client.submitMultipleJobs(
   *   [{ task: 'task_name', data: 'binary data' }, { task: 'other_task', data: 'other binary data' }],
   *   { background: false, waitUntilComplete: false },
   * );
   * await client.waitUntilJobsCompleted(requests, { pollTimeout: 5 });
   * ```
   */
  submitMultipleJobs(jobs: readonly JobSpec[], options: SubmitOptions<ResultOf<this, E>> = {}): Promise<GearmanJobRequest<ResultOf<this, E>>[]> {
    try {
      const given = checkOptions(options, CLIENT_OPTION_KEYS.submitMultipleJobs, 'submitMultipleJobs');
      const opts = submitOptions(given, 'submitMultipleJobs');
      const signal = checkSignal(given.signal, 'submitMultipleJobs');
      if (signal?.aborted) return Promise.reject(abortReason(signal));
      if (!Array.isArray(jobs)) throw new InvalidArgumentError(`submitMultipleJobs: expected an array of { task, data } jobs, got ${describeValue(jobs)}`);
      const requests: GearmanJobRequest[] = new Array(jobs.length);
      for (let i = 0; i < jobs.length; i++) {
        const where = `submitMultipleJobs job ${i}`;
        const job = jobs[i];
        if (typeof job !== 'object' || job === null) throw new InvalidArgumentError(`${where}: expected an object { task, data, unique?, priority? }, got ${describeValue(job)}`);
        // A batch has thousands of jobs: look for an unknown key without allocating, and let
        // checkOptions build the message only when there is one.
        for (const key in job) if (!JOB_KEYS.has(key)) checkOptions(job, CLIENT_OPTION_KEYS.job, where);
        const when = job.when === undefined || job.when === null ? null : checkWhen(job.when, opts.background, job.priority, where);
        requests[i] = this.createRequest(job.task, job.data, job.unique, job.priority, opts.background, opts.maxRetries, where, when);
      }
      return this.submit(requests, opts.waitUntilComplete, opts.pollTimeout, signal, given) as Promise<GearmanJobRequest<ResultOf<this, E>>[]>;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Sends requests (new ones, or ones left `JOB_UNKNOWN` by a lost connection) and waits for them:
   * python-gearman's recovery recipe.
   *
   * @param requests - requests to send; ones already accepted are only waited for
   * @param options - `waitUntilComplete` (default true) and `pollTimeout` (seconds, for both phases)
   * @returns the same array
   * @throws as {@link submitJob}
   *
   * @example
   * ```ts
   * const retried = await client.submitMultipleRequests(failedRequests, { waitUntilComplete: true, pollTimeout: 1 });
   * const timedOut = retried.filter((r) => r.timedOut);
   * ```
   */
  submitMultipleRequests<R>(requests: GearmanJobRequest<R>[], options: SubmitRequestsOptions<R> = {}): Promise<GearmanJobRequest<R>[]> {
    try {
      checkRequests(requests, 'submitMultipleRequests');
      const opts = checkOptions(options, CLIENT_OPTION_KEYS.submitMultipleRequests, 'submitMultipleRequests');
      const pollTimeout = checkPollTimeout(opts.pollTimeout, 'submitMultipleRequests');
      const signal = checkSignal(opts.signal, 'submitMultipleRequests');
      if (signal?.aborted) return Promise.reject(abortReason(signal));
      const list = requests as GearmanJobRequest[];
      for (const request of list) this.prepare(request, 'submitMultipleRequests');
      for (const request of list) this.withdrawFromUnresponsive(request);
      return this.submit(requests, opts.waitUntilComplete ?? true, pollTimeout, signal, opts) as Promise<GearmanJobRequest<R>[]>;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Runs the accept phase, then (if asked) the completion phase; with a signal, an abort ends
   * the call (see {@link AbortOptions}); progress callbacks listen while it waits.
   */
  private submit<R>(
    requests: GearmanJobRequest<R> | GearmanJobRequest<R>[],
    waitUntilComplete: boolean,
    pollTimeout: number | null,
    signal?: AbortSignal,
    progress?: ProgressOptions<R>,
  ): Promise<unknown> {
    const control = signal === undefined ? undefined : new CallControl();
    const detach = listenForProgress(requests, progress);
    const promise = startCall(this, requests as GearmanJobRequest | GearmanJobRequest[], waitUntilComplete, pollTimeout, control);
    return settleCall(promise, control, signal, detach);
  }

  /**
   * Builds, validates and encodes one request (python-gearman's `_create_request`).
   * @internal
   */
  protected createRequest(
    task: string,
    data: unknown,
    unique: string | null | undefined,
    priority: Priority | undefined,
    background: boolean,
    maxRetries: number,
    where = 'submitJob',
    when: number | null = null,
  ): GearmanJobRequest {
    this.checkTask(task, where);
    const given = checkUnique(unique, where);
    const job = new GearmanJob(null, null, task, given ?? this.generateUnique(), data);
    // The options are checked already (maxRetries by submitOptions): set them without an
    // options object per request.
    const request = new GearmanJobRequest(job, NO_REQUEST_OPTIONS);
    request.priority = priority ?? PRIORITY_NONE;
    request.background = background;
    request.maxConnectionAttempts = maxRetries + 1;
    if (when !== null) request.when = when;
    if (given === null) request.wire.generatedUnique = true;
    this.prepare(request, where);
    return request;
  }

  /** checkTaskName, once per name in a row (the jobs of a batch usually share their task). */
  private checkTask(task: unknown, where: string): void {
    if (task === this.lastCheckedTask && typeof task === 'string') return;
    checkTaskName(task, where);
    this.lastCheckedTask = task as string;
  }

  /** Encodes and validates a request's data once, so a bad request fails before anything is sent. */
  private prepare(request: GearmanJobRequest, where: string): void {
    if (!(request instanceof GearmanJobRequest)) throw new InvalidArgumentError(`${where}: expected GearmanJobRequest objects, got ${describeValue(request)}`);
    const wire = request.wire;
    if (wire.encoded !== undefined && wire.encodedFrom === request.job.data && wire.validatedUnique === request.job.unique) return;
    this.checkTask(request.job.task, where);
    if (!wire.generatedUnique) checkUnique(request.job.unique, where);
    const encoded = this.dataEncoder.encode(request.job.data);
    if (typeof encoded !== 'string' && !(encoded instanceof Uint8Array)) {
      throw new InvalidArgumentError(`${this.constructor.name}.dataEncoder.encode must return a string or bytes, got ${describeValue(encoded)}`);
    }
    if (request.job.unique === null || request.job.unique === '') {
      request.job.unique = this.generateUnique();
      wire.generatedUnique = true;
    }
    if (request.when !== null) {
      // SUBMIT_JOB_EPOCH (#12): a request built by the caller is checked here too.
      checkWhen(request.when, request.background, request.priority, where);
      validatePacket(CommandType.SUBMIT_JOB_EPOCH, [request.job.task, request.job.unique, String(request.when), encoded]);
    } else {
      validatePacket(submitCommand(request.background, request.priority), [request.job.task, request.job.unique, encoded]);
    }
    wire.encoded = encoded;
    wire.encodedFrom = request.job.data;
    wire.validatedUnique = request.job.unique;
  }

  // ---------------------------------------------------------------------------------------------
  // Connections

  /**
   * The connection for `request`: its own shuffled order of the servers, sticking to the first
   * live one and failing over in that order (python-gearman's `establish_request_connection`).
   * Servers that failed to connect within the last second are tried last.
   *
   * @param request - the request to find a server for
   * @param call - the client's own calls pass their state here, so that a call already over
   * stops trying servers; callers leave it out
   * @returns a connected connection, with its handler
   * @throws {@link ServerUnavailable} (rejects) when none connects, naming each server and why
   */
  async establishRequestConnection(request: GearmanJobRequest, call?: { readonly over: boolean }): Promise<GearmanConnection> {
    const fast = this.connectedFor(request);
    if (fast !== undefined) return fast;
    const rotation = this.rotationOf(request);
    const now = Date.now();
    const order = [...rotation.filter((c) => !(c.retryAt > now)), ...rotation.filter((c) => c.retryAt > now)];
    for (const connection of order) {
      try {
        await this.establishConnection(connection);
        connection.retryAt = 0;
        if (rotation.length > 1) {
          const at = rotation.indexOf(connection);
          this.rotations.set(request, [...rotation.slice(at), ...rotation.slice(0, at)]);
        }
        return connection;
      } catch (err) {
        if ((err as GearmanError).code === 'SHUTDOWN') throw err;
        connection.retryAt = Date.now() + 1000;
        if (call?.over) break; // the call's deadline passed: try no further server for it
      }
    }
    throw this.unavailable(rotation, `no server could take ${request.job.task}`);
  }

  private rotationOf(request: GearmanJobRequest): GearmanConnection[] {
    const list = this.connectionList;
    if (list.length <= 1) return list;
    let rotation = this.rotations.get(request);
    if ((rotation === undefined || rotation.length === 0) && this.serverSelection === 'unique-hash') {
      // Routing by unique (#12): the unique's fixed fail-over order on the ring.
      rotation = this.ring().order(routingKey(request));
      this.rotations.set(request, rotation);
    }
    if (rotation === undefined || rotation.length === 0) {
      rotation = list.slice();
      for (let i = rotation.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1));
        [rotation[i], rotation[j]] = [rotation[j]!, rotation[i]!];
      }
      this.rotations.set(request, rotation);
    }
    return rotation;
  }

  /**
   * The connection to send `request` on without an await: the head of its rotation if it is
   * connected, except that a server which left a call's submissions unanswered past its
   * `pollTimeout` (a hung server) is passed over for the next connected one that answers.
   */
  private connectedFor(request: GearmanJobRequest): GearmanConnection | undefined {
    const list = this.connectionList;
    if (list.length <= 1) {
      const only = list[0];
      return only !== undefined && only.connected && only.handler !== undefined ? only : undefined;
    }
    const rotation = this.rotationOf(request);
    const head = rotation[0]!;
    if (!(head.connected && head.handler !== undefined)) return undefined; // connect it (failover order)
    if (!(head.handler as ClientCommandHandler).unresponsive) return head;
    for (let i = 1; i < rotation.length; i++) {
      const c = rotation[i]!;
      if (c.connected && c.handler !== undefined && !(c.handler as ClientCommandHandler).unresponsive) return c;
    }
    return head;
  }

  /**
   * A call ended on its deadline with `request` still `JOB_PENDING`: its server did not even
   * acknowledge the submission in time. Its handler is marked unresponsive until it answers
   * anything, so new submissions go to servers that answer. @internal
   */
  noteUnanswered(request: GearmanJobRequest): void {
    const handler = this.handlerOf(request.job.connection);
    if (handler !== undefined && this.connectionList.length > 1) handler.unresponsive = true;
  }

  /**
   * Re-submission of a request whose server never acknowledged it (`JOB_PENDING` when its last
   * call timed out, the server still silent): it is taken back and re-sent elsewhere (counting an
   * attempt). If the silent server wakes up and runs it too, its packets for that job are
   * ignored (they carry a handle the request never had). @internal
   */
  private withdrawFromUnresponsive(request: GearmanJobRequest): void {
    if (request.state !== JOB_PENDING || !request.timedOut) return;
    const handler = this.handlerOf(request.job.connection);
    if (handler === undefined || !handler.unresponsive || this.connectionList.length <= 1) return;
    request.state = JOB_UNKNOWN;
    const rotation = this.rotationOf(request);
    const at = rotation.indexOf(handler.connection);
    if (at !== -1) this.rotations.set(request, [...rotation.slice(at + 1), ...rotation.slice(0, at + 1)]);
  }

  /**
   * Sends one request on its connection, counting the attempt (python-gearman's
   * `send_job_request`). It does not wait for the server's answer: await
   * {@link waitUntilJobsAccepted} or {@link waitUntilJobsCompleted} for that.
   *
   * @param request - the request to send (its `connectionAttempts` is counted up)
   * @returns the request
   * @throws {@link ExceededConnectionAttempts} (rejects) once `maxConnectionAttempts` sends are used
   * @throws {@link ServerUnavailable} (rejects) if no server connects
   */
  async sendJobRequest(request: GearmanJobRequest): Promise<GearmanJobRequest> {
    this.checkAttempts(request);
    const connection = this.connectedFor(request) ?? (await this.establishRequestConnection(request));
    this.sendOn(connection, request);
    return request;
  }

  private checkAttempts(request: GearmanJobRequest): void {
    if (request.connectionAttempts >= request.maxConnectionAttempts) {
      // The first words name the real cause (the error that lost the last attempt), then what was
      // given up and how to allow more.
      const last = request.error;
      const gaveUp = `gave up on ${request.job.task} (unique ${request.job.unique}) after ${request.connectionAttempts} attempt(s); pass maxRetries >= ${request.maxConnectionAttempts} to allow another send`;
      throw new ExceededConnectionAttempts(
        last === undefined ? `exceeded ${request.maxConnectionAttempts} connection attempt(s): ${gaveUp}` : `${last.message}; ${gaveUp}`,
        last === undefined ? {} : { cause: last },
      );
    }
  }

  private sendOn(connection: GearmanConnection, request: GearmanJobRequest): void {
    if (request.state !== JOB_UNKNOWN) return; // another wait sent it while this one connected
    if (request.connectionAttempts > 0 && request.wire.generatedUnique) {
      // A re-send gets a fresh unique: gearmand 1.1.20 attaches a submission to a queued job with
      // the same unique even when that job's client is gone, and then never runs it (the worker
      // gets NO_JOB), so re-sending with the old unique could wait forever.
      request.job.unique = this.generateUnique();
    }
    request.job.connection = connection;
    // A new submission: the old handle (if any) means nothing now. A request lost after it got a
    // handle keeps it, which tells the accept phase not to re-send it by itself.
    request.job.handle = null;
    request.connectionAttempts++;
    request.timedOut = false;
    (connection.handler as ClientCommandHandler).sendJobRequest(request);
  }

  /**
   * Sends every `JOB_UNKNOWN` request that can go out now on a live connection (with `lostOnly`,
   * only those lost before the server accepted them: a request lost after JOB_CREATED may have
   * run, and is re-sent only when the caller asks again).
   *
   * @returns -1 when all went out, or the index of the first request that needs a connect first
   * (finish with {@link sendUnknownFrom})
   * @throws {@link ExceededConnectionAttempts} for a request whose attempts are used up
   * @internal
   */
  sendUnknown(requests: GearmanJobRequest | GearmanJobRequest[], lostOnly = false): number {
    if (!Array.isArray(requests)) {
      if (!needsSend(requests, lostOnly)) return -1;
      this.checkAttempts(requests);
      const connection = this.connectedFor(requests);
      if (connection === undefined) return 0;
      this.sendOn(connection, requests);
      return -1;
    }
    for (let i = 0; i < requests.length; i++) {
      const request = requests[i]!;
      if (!needsSend(request, lostOnly)) continue;
      this.checkAttempts(request);
      const connection = this.connectedFor(request);
      if (connection === undefined) return i;
      this.sendOn(connection, request);
    }
    return -1;
  }

  /**
   * The part of {@link sendUnknown} that connects first, from request `from` on. It stops once
   * `call` is `over` (its deadline passed): nothing is sent after a call's deadline.
   * @internal
   */
  async sendUnknownFrom(requests: GearmanJobRequest | GearmanJobRequest[], from: number, lostOnly: boolean, call: { readonly over: boolean }): Promise<void> {
    const list = Array.isArray(requests) ? requests : [requests];
    for (let i = from; i < list.length; i++) {
      const request = list[i]!;
      if (!needsSend(request, lostOnly)) continue;
      this.checkAttempts(request);
      const connection = this.connectedFor(request) ?? (await this.establishRequestConnection(request, call));
      if (call.over) return;
      this.sendOn(connection, request);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Waiting

  /**
   * Sends the requests that are `JOB_UNKNOWN` and waits until none is `JOB_PENDING`; requests lost
   * with a connection meanwhile are re-sent (counting attempts). Afterwards each request's
   * `timedOut` is whether it is still `JOB_PENDING`.
   *
   * @param requests - the requests
   * @param options - `pollTimeout` in seconds
   * @returns the same array
   * @throws {@link ServerUnavailable}, {@link ExceededConnectionAttempts} (rejects)
   */
  waitUntilJobsAccepted<R>(requests: GearmanJobRequest<R>[], options: WaitOptions<R> = {}): Promise<GearmanJobRequest<R>[]> {
    try {
      checkRequests(requests, 'waitUntilJobsAccepted');
      const opts = checkOptions(options, CLIENT_OPTION_KEYS.wait, 'waitUntilJobsAccepted');
      const pollTimeout = checkPollTimeout(opts.pollTimeout, 'waitUntilJobsAccepted');
      const signal = checkSignal(opts.signal, 'waitUntilJobsAccepted');
      if (signal?.aborted) return Promise.reject(abortReason(signal));
      for (const request of requests as GearmanJobRequest[]) this.prepare(request, 'waitUntilJobsAccepted');
      return this.submit(requests, false, pollTimeout, signal, opts) as Promise<GearmanJobRequest<R>[]>;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Waits until every request is complete, or lost with its connection (`JOB_UNKNOWN`; lost
   * requests are not re-sent here). Afterwards each request's `timedOut` is `!complete`.
   *
   * @param requests - the requests
   * @param options - `pollTimeout` in seconds
   * @returns the same array
   * @throws {@link ServerUnavailable} (rejects) if requests were lost and no connection is left;
   * `error.requests` holds them, `JOB_UNKNOWN`, ready for {@link submitMultipleRequests}
   */
  waitUntilJobsCompleted<R>(requests: GearmanJobRequest<R>[], options: WaitOptions<R> = {}): Promise<GearmanJobRequest<R>[]> {
    try {
      checkRequests(requests, 'waitUntilJobsCompleted');
      const opts = checkOptions(options, CLIENT_OPTION_KEYS.wait, 'waitUntilJobsCompleted');
      const pollTimeout = checkPollTimeout(opts.pollTimeout, 'waitUntilJobsCompleted');
      const signal = checkSignal(opts.signal, 'waitUntilJobsCompleted');
      if (signal?.aborted) return Promise.reject(abortReason(signal));
      const control = signal === undefined ? undefined : new CallControl();
      const detach = listenForProgress(requests, opts);
      const promise = startCompletionCall(this, requests as GearmanJobRequest[], pollTimeout, control);
      return settleCall(promise, control, signal, detach) as Promise<GearmanJobRequest<R>[]>;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Status

  /**
   * Asks the server for the status of one submitted job (GET_STATUS) and waits for the answer.
   *
   * @param request - a request that got a handle
   * @param options - `pollTimeout` in seconds
   * @returns the request, its `status` replaced; `timedOut` if no new status arrived
   * @throws {@link InvalidClientState} (rejects) if the request has no handle
   */
  getJobStatus<R>(request: GearmanJobRequest<R>, options: WaitOptions<R> = {}): Promise<GearmanJobRequest<R>> {
    return this.statuses([request], options).then(() => request);
  }

  /**
   * Status of several jobs at once (see {@link getJobStatus}).
   *
   * @param requests - requests that got a handle
   * @param options - `pollTimeout` in seconds, `signal`, progress callbacks
   * @returns the same array
   * @throws {@link InvalidClientState} (rejects) if a request has no handle
   */
  getJobStatuses<R>(requests: GearmanJobRequest<R>[], options: WaitOptions<R> = {}): Promise<GearmanJobRequest<R>[]> {
    return this.statuses(requests, options);
  }

  private statuses<R>(requests: GearmanJobRequest<R>[], options: WaitOptions<R>): Promise<GearmanJobRequest<R>[]> {
    let pollTimeout: number | null;
    let signal: AbortSignal | undefined;
    let detach: (() => void) | undefined;
    try {
      checkRequests(requests, 'getJobStatuses');
      const opts = checkOptions(options, CLIENT_OPTION_KEYS.wait, 'getJobStatuses');
      pollTimeout = checkPollTimeout(opts.pollTimeout, 'getJobStatuses');
      signal = checkSignal(opts.signal, 'getJobStatuses');
      if (signal?.aborted) return Promise.reject(abortReason(signal));
      detach = listenForProgress(requests, opts);
      for (const request of requests) {
        if (request.job.handle === null || request.job.connection === null) {
          throw new InvalidClientState(`cannot get the status of ${request}: it has no handle (was it accepted?)`);
        }
      }
    } catch (err) {
      return Promise.reject(err);
    }
    const list = requests as GearmanJobRequest[];
    const control = signal === undefined ? undefined : new CallControl();
    const promise = new Promise<unknown>((resolve) => {
      const call: CallState = { client: this, requests: list, completeAfter: false, deadline: deadlineOf(pollTimeout), resolve, control };
      const before = list.map((request) => request.status);
      // The deadline covers the connects too: past it the call resolves (timedOut where no new
      // status came) and no further query is sent.
      const sending = { over: false };
      let timer: NodeJS.Timeout | undefined;
      const end = (): boolean => {
        if (sending.over) return false;
        sending.over = true;
        this.holdWhileConnecting(false);
        if (timer !== undefined) clearTimeout(timer);
        return true;
      };
      // An abort while connecting ends the sending the same way: no further query goes out.
      if (control !== undefined) control.current = { abort: end };
      this.holdWhileConnecting(true);
      const left = remaining(call.deadline);
      if (left !== null && left * 1000 <= 2_147_483_647) {
        timer = setTimeout(() => {
          if (!end()) return;
          for (let i = 0; i < list.length; i++) list[i]!.timedOut = list[i]!.status === before[i];
          resolve(list);
        }, Math.max(1, Math.round(left * 1000)));
      }
      this.sendStatusQueries(list, sending).then(
        (queries) => {
          if (end()) new StatusWait(call, before, queries).run();
        },
        (err: unknown) => {
          if (end()) rejectCall(call, err);
        },
      );
    });
    return settleCall(promise, control, signal, detach) as Promise<GearmanJobRequest<R>[]>;
  }

  private async sendStatusQueries(requests: GearmanJobRequest[], sending: { readonly over: boolean }): Promise<StatusQuery[]> {
    const queries: StatusQuery[] = [];
    for (const request of requests) {
      if (sending.over) break;
      const issuer = request.wire.handleIssuer as ClientCommandHandler | undefined;
      if (issuer !== undefined && !this.isLive(issuer)) {
        // The connection that gave the handle is gone: a restarted server may have given the same
        // handle to another job, so it is not asked. The status says so instead.
        const status: JobStatus = { handle: request.job.handle!, known: false, running: false, numerator: 0, denominator: 0, timeReceived: Date.now() / 1000, stale: true };
        status.lastTimeReceived = request.status.timeReceived ?? null;
        request.status = status;
        continue;
      }
      const connection = request.job.connection!;
      if (!(connection.connected && connection.handler !== undefined)) {
        try {
          await this.establishConnection(connection);
        } catch (err) {
          throw this.unavailable([connection], `cannot query the status of ${request.job.handle}`);
        }
      }
      if (sending.over) break;
      request.status.lastTimeReceived = request.status.timeReceived ?? null;
      const query = new StatusQuery(request);
      queries.push(query);
      (connection.handler as ClientCommandHandler).sendGetStatus(query);
    }
    return queries;
  }

  // ---------------------------------------------------------------------------------------------
  // Status by unique (#12)

  /**
   * Asks for the status of the job with `unique` (GET_STATUS_UNIQUE) and waits for the answer:
   * whether the server knows it, whether a worker runs it, its progress, and how many clients
   * wait for its result. With `serverSelection: 'unique-hash'` the unique's server is asked (the
   * first that connects in its fail-over order); otherwise every server that connects, and the
   * first (in host-list order) that knows the job answers.
   *
   * @param unique - the unique, 1 to 63 bytes (gearmand does not answer longer ones)
   * @param options - `pollTimeout` in seconds (connects included), `signal`
   * @returns `{ unique, known, running, numerator, denominator, waitingClients, timedOut }`; a
   * timeout resolves with `timedOut` and the fields of an unknown job
   * @throws {@link InvalidArgumentError} (rejects) for a unique that is empty, too long, or has a NUL
   * or control character
   * @throws {@link ServerUnavailable} (rejects) when no server could be asked or every answer was lost
   * @throws {@link ServerError} (rejects) when the server answered ERROR (the Perl server does)
   *
   * @example
   * ```ts
   * const { known, running, numerator, denominator, waitingClients } = await client.getJobStatusByUnique('report-q3');
   * ```
   */
  async getJobStatusByUnique(unique: string, options: UniqueStatusOptions = {}): Promise<UniqueStatus> {
    const key = checkUnique(unique, 'getJobStatusByUnique');
    if (key === null) throw new InvalidArgumentError(`getJobStatusByUnique: unique must be a non-empty string, got ${describeValue(unique)}`);
    const opts = checkOptions(options, CLIENT_OPTION_KEYS.uniqueStatus, 'getJobStatusByUnique');
    const pollTimeout = checkPollTimeout(opts.pollTimeout, 'getJobStatusByUnique');
    const signal = checkSignal(opts.signal, 'getJobStatusByUnique');
    if (signal?.aborted) throw abortReason(signal);
    const deadline = pollTimeout === null ? null : Date.now() + pollTimeout * 1000;
    const unknown = (timedOut: boolean): UniqueStatus => ({ unique: key, known: false, running: false, numerator: 0, denominator: 0, waitingClients: 0, timedOut });
    const order = this.serverSelection === 'unique-hash' && this.connectionList.length > 1 ? this.ring().order(key) : this.connectionList;
    const queries: UniqueStatusQuery[] = [];
    for (const connection of order) {
      if (!(connection.connected && connection.handler !== undefined)) {
        let outcome: 'connected' | 'timeout';
        try {
          outcome = await raceAbort(withDeadline(this.establishConnection(connection).then(() => 'connected' as const), deadline), signal);
        } catch (err) {
          if (signal?.aborted || (err as GearmanError)?.code === 'SHUTDOWN') throw err;
          continue;
        }
        if (outcome === 'timeout') break;
      }
      const handler = connection.handler as ClientCommandHandler | undefined;
      if (handler === undefined) continue;
      const query = new UniqueStatusQuery(key);
      handler.sendGetStatusUnique(query);
      queries.push(query);
      // Routing by unique: only the unique's server holds its job.
      if (this.serverSelection === 'unique-hash') break;
    }
    if (queries.length === 0) {
      if (deadline !== null && Date.now() >= deadline) return unknown(true);
      throw this.unavailable(order, `cannot query the status of unique ${key}`);
    }
    let stopped = false;
    const left = deadline === null ? null : Math.max(0, (deadline - Date.now()) / 1000);
    const connections = new Set(queries.map((q) => q.connection!));
    const waiting = this.pollConnectionsUntilStopped(connections, () => !stopped && queries.some((q) => !q.done), left, { watch: queries }).catch((err: unknown) => {
      // A connection was lost: its query says so (error); the answers are judged below.
      if (queries.every((q) => q.done)) return false;
      throw err;
    });
    const timedOut = await raceAbort(waiting, signal, () => {
      stopped = true;
      for (const q of queries) this.wake(q);
    });
    const answered = queries.filter((q) => q.answered);
    const best = answered.find((q) => q.known) ?? answered[0];
    if (best !== undefined) {
      return { unique: key, known: best.known, running: best.running, numerator: best.numerator, denominator: best.denominator, waitingClients: best.waitingClients, timedOut: false };
    }
    if (timedOut) return unknown(true);
    const refused = queries.find((q) => q.error !== undefined && q.error.code === 'SERVER_ERROR');
    if (refused !== undefined) throw refused.error;
    throw this.unavailable(connections, `lost the answer to GET_STATUS_UNIQUE ${key}`);
  }

  /** The consistent-hash ring over the servers' addresses (rebuilt when a server is added). */
  private ring(): HashRing<GearmanConnection> {
    const list = this.connectionList;
    if (this.hashRing === undefined || this.hashRing.size !== new Set(list.map((c) => c.address)).size) {
      this.hashRing = new HashRing(list.map((connection) => ({ key: connection.address, value: connection })));
    }
    return this.hashRing;
  }

  // ---------------------------------------------------------------------------------------------
  // Connection events and disposal (#12)

  /**
   * Listens for `'connect'` (a server was reached; `(address)`) or `'disconnect'` (its
   * connection ended; `(address, error)`, `error` undefined after {@link shutdown}). A failed
   * connect is no event (the call that needed it rejects). Listeners run after the library's
   * own work; one that throws has its error rethrown on `process.nextTick`.
   *
   * @param event - `'connect'` or `'disconnect'`
   * @param listener - called with the address (`host:port`) and, for a loss, the error
   * @returns this client
   * @throws TypeError for another event name or a listener that is not a function
   *
   * @example
   * ```ts
   * client.on('disconnect', (address, error) => console.warn(`${address}: ${error?.message ?? 'closed'}`));
   * ```
   */
  on<K extends keyof ConnectionStateEvents>(event: K, listener: (...args: ConnectionStateEvents[K]) => void): this {
    this.announcer.on(event, listener);
    return this;
  }

  /**
   * As {@link on}, for the next event only.
   * @param event - `'connect'` or `'disconnect'`
   * @param listener - called once, as for {@link on}
   * @returns this client
   * @throws TypeError for another event name or a listener that is not a function
   */
  once<K extends keyof ConnectionStateEvents>(event: K, listener: (...args: ConnectionStateEvents[K]) => void): this {
    this.announcer.on(event, listener, true);
    return this;
  }

  /**
   * Removes a listener added with {@link on} or {@link once}.
   * @param event - the event it was added for
   * @param listener - the function that was added
   * @returns this client
   */
  off<K extends keyof ConnectionStateEvents>(event: K, listener: (...args: ConnectionStateEvents[K]) => void): this {
    this.announcer.off(event, listener);
    return this;
  }

  /** @internal */
  protected override onConnectionLost(connection: GearmanConnection, error: GearmanError): void {
    super.onConnectionLost(connection, error);
    this.announcer.lost(connection, error);
  }

  /**
   * Closes every connection (see {@link ConnectionManager.shutdown}); each that was up gets a
   * `'disconnect'` without an error.
   */
  override shutdown(): void {
    super.shutdown();
    for (const connection of this.connectionList) this.announcer.lost(connection);
  }

  /**
   * `await using client = new GearmanClient(...)`: {@link shutdown}, then waits until the
   * sockets have closed.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    await shutdownAndWait(this);
  }
}

/**
 * Where a client call is:
 * - `'connect'`: sending its `JOB_UNKNOWN` requests needed a connect first; the call's deadline
 *   covers it (nothing is sent after the deadline).
 * - `'accept'`: waiting while any request is `JOB_PENDING`; requests lost before acceptance are
 *   re-sent (each re-send is a new `'connect'` or `'accept'` object).
 * - `'complete'`: waiting while any request is in flight (`JOB_CREATED` in the foreground).
 * - `'status'`: waiting for the STATUS_RES of its GET_STATUS queries.
 * @internal
 */
export type ClientPhase = 'connect' | 'accept' | 'complete' | 'status';

/** What a client call carries from one phase to the next. @internal */
interface CallState {
  readonly client: AnyClient;
  /**
   * One request (the call resolves with it) or an array (resolves with the array). Its waits
   * watch the requests' side objects (`request.wire`), which the handlers wake.
   */
  readonly requests: GearmanJobRequest | GearmanJobRequest[];
  /** Wait for completion after acceptance. */
  readonly completeAfter: boolean;
  /**
   * ms since the epoch, or -1 for no limit, or 0 for pollTimeout 0 (no wait): one deadline for
   * every phase, connect included (see `deadlineOf`, `judgesServers`).
   */
  readonly deadline: number;
  /** Settles the call; a {@link Rejection} rejects it (see {@link rejectCall}). */
  readonly resolve: (value: unknown) => void;
  /** Only for a call with a signal: its abort, shared by its phases (see {@link CallControl}). */
  readonly control?: CallControl | undefined;
}

/**
 * A call's abort, shared by the objects of its phases (only calls with a `signal` have one). An
 * abort marks it, then stops the phase under way: a waiting phase's loop ends at its next check
 * (woken now) without settling anything, a connect phase ends (nothing more is sent). The call's
 * promise was already rejected with the signal's reason; the requests keep their state.
 * @internal
 */
class CallControl {
  aborted = false;
  /** The phase under way (a phase object, or a status call's sending of its queries). */
  current: { abort(): void } | undefined = undefined;

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.current?.abort();
  }
}

/**
 * How a call rejects through its `resolve`: resolving a promise with a thenable that rejects
 * rejects it (one microtask later). A call keeps only its resolve function, so a call in flight
 * costs one closure, not two (a client may have a hundred thousand in flight).
 * @internal
 */
class Rejection {
  constructor(readonly error: unknown) {}

  then(onResolved: unknown, onRejected: (error: unknown) => void): void {
    void onResolved; // a rejection never resolves
    onRejected(this.error);
  }
}

/**
 * One waiting phase of one client call. Each phase is a fresh object (a loop runs once) of the
 * phase's class ({@link AcceptWait}, {@link CompleteWait}, {@link StatusWait}); it runs as a poll
 * loop that watches the call's requests (the manager's watch registry wakes them), then hands the
 * call to the next phase's object or settles it. Kept small: a client may have a hundred
 * thousand calls in flight, so the call's state is copied from phase to phase, not kept in a
 * second object, and what a phase's class implies (its name, `completeAfter` for the last
 * phases, its targets: the requests' `wire`) is read from the class and the requests, not stored.
 * @internal
 */
abstract class ClientWait extends PollLoop implements CallState {
  readonly client: AnyClient;
  readonly requests: GearmanJobRequest | GearmanJobRequest[];
  readonly deadline: number;
  readonly resolve: (value: unknown) => void;
  /** Requests before it are known to be done with this phase. */
  cursor = 0;
  /** The client's `connectionLosses` when the cursor was last valid. */
  losses: number;
  readonly control: CallControl | undefined;

  constructor(from: CallState) {
    super();
    this.client = from.client;
    this.requests = from.requests;
    this.deadline = from.deadline;
    this.resolve = from.resolve;
    this.losses = from.client.connectionLosses;
    this.control = from.control;
    if (from.control !== undefined) from.control.current = this;
  }

  /** See {@link ClientPhase}. */
  abstract get phase(): 'accept' | 'complete' | 'status';

  abstract get completeAfter(): boolean;

  /** The call was aborted: wake this loop, whose check then stops it (see {@link CallControl}). */
  abort(): void {
    for (let i = 0, n = this.watchCount(); i < n; i++) this.client.wake(this.watchedAt(i));
  }

  /** Every connection of the client (python-gearman's waits poll them all). */
  get connections(): null {
    return null;
  }

  /** The requests' side objects (built on each read: the manager uses watchCount/watchedAt). */
  get watched(): RequestWire | RequestWire[] {
    return targetsOf(this.requests);
  }

  override watchCount(): number {
    const r = this.requests;
    return Array.isArray(r) ? r.length : 1;
  }

  /** The requests' side objects: the handlers wake them when a request changes. */
  override watchedAt(i: number): RequestWire {
    const r = this.requests;
    return Array.isArray(r) ? r[i]!.wire : r.wire;
  }

  get wakesOnActivity(): boolean {
    return false;
  }

  /** Runs this (waiting) phase as a poll loop until the call's deadline. */
  run(): void {
    this.client.runLoop(this, remaining(this.deadline));
  }

  check(): boolean {
    if (this.control?.aborted) return false;
    if (this.losses !== this.client.connectionLosses) {
      // A connection lost requests: what was done may be JOB_UNKNOWN now.
      this.losses = this.client.connectionLosses;
      this.cursor = 0;
    }
    return this.pending();
  }

  /**
   * Whether the phase goes on: some request (from `cursor` on) has not reached what the phase
   * waits for. Requests settle roughly in order, so the cursor makes a whole wait O(requests).
   */
  protected abstract pending(): boolean;

  /** The loop of this phase ended: stopped by its check, or out of time. */
  finish(timedOut: boolean): void {
    void timedOut; // `timedOut` is judged per request by the state it reached (markTimedOut)
    if (this.control?.aborted) return; // the call rejected already; its requests stay as they are
    if (this.next()) return;
    this.markTimedOut();
    this.resolve(this.requests);
  }

  /** Hands the call on (to its next phase, or a rejection): true when it did, false to resolve now. */
  protected next(): boolean {
    return false;
  }

  protected markTimedOut(): void {
    markTimedOut(this);
  }

  fail(error: unknown): void {
    if (this.control?.aborted) return;
    rejectCall(this, error);
  }
}

/** The accept phase: waiting while any request is `JOB_PENDING`; re-sends requests lost before acceptance. @internal */
class AcceptWait extends ClientWait {
  readonly completeAfter: boolean;
  /** The accept check found a request to re-send. */
  resend = false;

  constructor(from: CallState) {
    super(from);
    this.completeAfter = from.completeAfter;
  }

  get phase(): 'accept' {
    return 'accept';
  }

  protected pending(): boolean {
    const list = this.requests;
    const many = Array.isArray(list);
    const n = many ? list.length : 1;
    for (let i = this.cursor; i < n; i++) {
      const request = many ? list[i]! : list;
      const state = request.state;
      if (state === JOB_UNKNOWN && request.job.handle === null) {
        this.resend = true;
        return false;
      }
      if (state === JOB_PENDING) {
        this.cursor = i;
        return true;
      }
    }
    this.cursor = n;
    return false;
  }

  protected override next(): boolean {
    if (this.resend) {
      sendAndAccept(this, true);
      return true;
    }
    if (this.completeAfter) {
      // The completion phase runs even when acceptance used up the time (with no time left it
      // checks once), so `timedOut` always says whether a request reached the awaited state.
      new CompleteWait(this).run();
      return true;
    }
    return false;
  }
}

/** The completion phase: waiting while any request is in flight (`JOB_CREATED` in the foreground). @internal */
class CompleteWait extends ClientWait {
  get phase(): 'complete' {
    return 'complete';
  }

  get completeAfter(): true {
    return true;
  }

  protected pending(): boolean {
    const list = this.requests;
    const many = Array.isArray(list);
    const n = many ? list.length : 1;
    for (let i = this.cursor; i < n; i++) {
      const request = many ? list[i]! : list;
      if (!request.complete && request.state !== JOB_UNKNOWN) {
        this.cursor = i;
        return true;
      }
    }
    this.cursor = n;
    return false;
  }

  protected override next(): boolean {
    if (!lostWithoutConnection(this)) return false;
    rejectCall(this, this.client.unavailable(callConnections(this), 'connection lost and no server left'));
    return true;
  }
}

/**
 * The connect phase of a client call: sending needed a connect first. It holds the call's
 * deadline timer and keeps the sockets referenced; when the deadline passes first, the call
 * resolves as a timeout and nothing more is sent (`over` stops the sender).
 * @internal
 */
class ConnectPhase implements CallState {
  readonly phase = 'connect' satisfies ClientPhase;
  readonly client: AnyClient;
  readonly requests: GearmanJobRequest | GearmanJobRequest[];
  readonly completeAfter: boolean;
  readonly deadline: number;
  readonly resolve: (value: unknown) => void;
  /** The phase ended: sent, failed, or out of time. */
  over = false;
  private timer: NodeJS.Timeout | undefined = undefined;
  readonly control: CallControl | undefined;

  constructor(from: CallState) {
    this.client = from.client;
    this.requests = from.requests;
    this.completeAfter = from.completeAfter;
    this.deadline = from.deadline;
    this.resolve = from.resolve;
    this.control = from.control;
    if (from.control !== undefined) from.control.current = this;
    this.client.holdWhileConnecting(true);
    const left = remaining(this.deadline);
    if (left !== null && left * 1000 <= 2_147_483_647) {
      this.timer = setTimeout(onConnectDeadline, Math.max(1, Math.round(left * 1000)), this);
    }
  }

  private end(): boolean {
    if (this.over) return false;
    this.over = true;
    this.client.holdWhileConnecting(false);
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    return true;
  }

  /** The call was aborted: the phase ends, so nothing more is sent (see {@link CallControl}). */
  abort(): void {
    this.end();
  }

  /** Everything went out: the accept phase. */
  sent(): void {
    if (this.end()) new AcceptWait(this).run();
  }

  /** The deadline passed first: the call resolves as a timeout; nothing more is sent. */
  expired(): void {
    this.timer = undefined;
    if (!this.end()) return;
    markTimedOut(this);
    this.resolve(this.requests);
  }

  /** Sending failed. */
  failed(error: unknown): void {
    if (this.end()) rejectCall(this, error);
  }
}

/** A client of any encoder, for the internals that do not care. @internal */
type AnyClient = GearmanClient<DataEncoderLike>;

/**
 * Checks a `when` option and turns it into epoch seconds (a `Date` rounded up, so the job is not
 * handed out before the time asked), or null.
 */
function checkWhen(when: unknown, background: boolean, priority: unknown, where: string): number | null {
  if (when === undefined || when === null) return null;
  let seconds: number;
  if (when instanceof Date) seconds = Math.ceil(when.getTime() / 1000);
  else if (typeof when === 'number') seconds = when;
  else throw new InvalidArgumentError(`${where}: when must be a Date or epoch seconds, got ${describeValue(when)}`);
  if (!Number.isFinite(seconds) || seconds < 0) throw new InvalidArgumentError(`${where}: when must be a valid time (a Date or epoch seconds >= 0), got ${describeValue(when)}`);
  if (!background) throw new InvalidArgumentError(`${where}: when (SUBMIT_JOB_EPOCH) needs background: true; gearmand runs scheduled jobs in the background`);
  if (priority !== undefined && priority !== null) throw new InvalidArgumentError(`${where}: when (SUBMIT_JOB_EPOCH) takes no priority; gearmand runs scheduled jobs at normal priority`);
  return Math.floor(seconds);
}

/** What 'unique-hash' hashes: the unique, or the data for `'-'` (gearmand coalesces those on the data). */
function routingKey(request: GearmanJobRequest): string {
  const unique = request.job.unique ?? '';
  if (unique !== '-') return unique;
  const data = request.wire.encoded;
  return typeof data === 'string' ? data : data === undefined ? '' : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1');
}

/** Calls a user callback; what it throws is rethrown on `process.nextTick`, away from the decode path. */
function callUser(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    process.nextTick(() => {
      throw err;
    });
  }
}

/**
 * Attaches a call's `onData`/`onWarning`/`onStatus` to its requests' events; returns the detach
 * function, or undefined when there is none.
 * @throws {@link InvalidArgumentError} for a callback that is not a function
 */
function listenForProgress<R>(requests: GearmanJobRequest<R> | GearmanJobRequest<R>[], progress: ProgressOptions<R> | undefined): (() => void) | undefined {
  const onData = progress?.onData;
  const onWarning = progress?.onWarning;
  const onStatus = progress?.onStatus;
  if (onData == null && onWarning == null && onStatus == null) return undefined;
  for (const [name, fn] of [['onData', onData], ['onWarning', onWarning], ['onStatus', onStatus]] as const) {
    if (fn != null && typeof fn !== 'function') throw new InvalidArgumentError(`${name} must be a function, got ${describeValue(fn)}`);
  }
  const list = Array.isArray(requests) ? requests : [requests];
  const undo: Array<() => void> = [];
  for (const request of list) {
    if (onData != null) {
      const listener = (data: R): void => callUser(() => onData(data, request));
      request.on('data', listener);
      undo.push(() => request.off('data', listener));
    }
    if (onWarning != null) {
      const listener = (data: R): void => callUser(() => onWarning(data, request));
      request.on('warning', listener);
      undo.push(() => request.off('warning', listener));
    }
    if (onStatus != null) {
      const listener = (status: { numerator: number; denominator: number }): void => callUser(() => onStatus(status.numerator, status.denominator, request));
      request.on('status', listener);
      undo.push(() => request.off('status', listener));
    }
  }
  return () => {
    for (const f of undo) f();
  };
}

/**
 * The promise a waiting call returns: the wait's, ended early by `signal` (which stops the call's
 * phase under way and leaves the requests as they are), with the progress callbacks removed
 * when it settles.
 */
function settleCall(promise: Promise<unknown>, control: CallControl | undefined, signal: AbortSignal | undefined, detach: (() => void) | undefined): Promise<unknown> {
  // The common call (no signal, no callbacks) gets its wait's promise as it is: nothing allocated.
  if (signal === undefined && detach === undefined) return promise;
  const raced = signal === undefined ? promise : raceAbort(promise, signal, () => control?.abort());
  if (detach === undefined) return raced;
  return raced.finally(detach);
}

/** `promise`, or `'timeout'` once `deadline` (ms since the epoch; null: none) passes. */
function withDeadline<T>(promise: Promise<T>, deadline: number | null): Promise<T | 'timeout'> {
  if (deadline === null) return promise;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), Math.max(0, deadline - Date.now()));
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

function targetsOf(requests: GearmanJobRequest | GearmanJobRequest[]): RequestWire | RequestWire[] {
  if (!Array.isArray(requests)) return requests.wire;
  const targets = new Array<RequestWire>(requests.length);
  for (let i = 0; i < requests.length; i++) targets[i] = requests[i]!.wire;
  return targets;
}

/** A call's deadline (see {@link CallState.deadline}): -1 for no limit, 0 for no wait (pollTimeout 0). */
function deadlineOf(pollTimeout: number | null): number {
  return pollTimeout === null ? -1 : pollTimeout === 0 ? 0 : Date.now() + pollTimeout * 1000;
}

/**
 * The call waited a while (pollTimeout > 0): a submission still unacknowledged at its deadline
 * says the server is not answering (with pollTimeout 0 it says nothing).
 */
function judgesServers(call: CallState): boolean {
  return call.deadline > 0;
}

/**
 * Starts a call: sends the `JOB_UNKNOWN` requests, then waits (accept, then complete if asked).
 * @returns the call's promise
 */
function startCall(client: AnyClient, requests: GearmanJobRequest | GearmanJobRequest[], completeAfter: boolean, pollTimeout: number | null, control: CallControl | undefined): Promise<unknown> {
  return new Promise((resolve) => {
    sendAndAccept({ client, requests, completeAfter, deadline: deadlineOf(pollTimeout), resolve, control }, false);
  });
}

/** Starts a call that only waits for completion. */
function startCompletionCall(client: AnyClient, requests: GearmanJobRequest[], pollTimeout: number | null, control: CallControl | undefined): Promise<unknown> {
  return new Promise((resolve) => {
    new CompleteWait({ client, requests, completeAfter: true, deadline: deadlineOf(pollTimeout), resolve, control }).run();
  });
}

/** Seconds left until `deadline` (ms, or -1 for none), or null for no limit. */
function remaining(deadline: number): number | null {
  return deadline < 0 ? null : Math.max(0, (deadline - Date.now()) / 1000);
}

function requestsOf(call: CallState): GearmanJobRequest[] {
  return Array.isArray(call.requests) ? call.requests : [call.requests];
}

/**
 * Sends the `JOB_UNKNOWN` requests of the call (`lostOnly`: a re-send during the wait, of the
 * requests lost before they were accepted), then waits for them to be accepted: on an accept
 * phase at once when every request went out on a live connection, else after a connect phase.
 */
function sendAndAccept(call: CallState, lostOnly: boolean): void {
  let from: number;
  try {
    from = call.client.sendUnknown(call.requests, lostOnly);
  } catch (err) {
    rejectCall(call, err);
    return;
  }
  if (from < 0) {
    new AcceptWait(call).run();
    return;
  }
  const connecting = new ConnectPhase(call);
  call.client.sendUnknownFrom(call.requests, from, lostOnly, connecting).then(
    () => connecting.sent(),
    (err: unknown) => connecting.failed(err),
  );
}

function onConnectDeadline(phase: ConnectPhase): void {
  phase.expired();
}

/**
 * The rule for "a connection dropped during a wait": the requests it carried are `JOB_UNKNOWN`;
 * when none of the connections the call's requests were sent on is still connected, the call
 * rejects with ServerUnavailable (python-gearman's "no polled connection left"), whatever other
 * calls are doing (another call reconnecting does not count); otherwise it resolves, and the lost
 * requests come back `JOB_UNKNOWN` with `timedOut` set.
 */
function lostWithoutConnection(call: CallState): boolean {
  const r = call.requests;
  let lost = false;
  // One request (submitJob): no array made per call.
  if (!Array.isArray(r)) lost = r.state === JOB_UNKNOWN;
  else for (let i = 0; i < r.length; i++) if (r[i]!.state === JOB_UNKNOWN) lost = true;
  if (!lost) return false;
  for (const connection of callConnections(call)) if (connection.connected && connection.handler !== undefined) return false;
  return true;
}

function callConnections(call: CallState): Set<GearmanConnection> {
  const set = new Set<GearmanConnection>();
  for (const request of requestsOf(call)) if (request.job.connection !== null) set.add(request.job.connection);
  return set;
}

/**
 * Sets `timedOut` on every request of a call that resolves: true where the request did not reach
 * the state the call waited for (complete for a call that waits for completion; accepted, that
 * is not `JOB_PENDING` and not still unsent, for one that does not).
 */
function markTimedOut(call: CallState): void {
  const r = call.requests;
  if (!Array.isArray(r)) {
    markRequestTimedOut(call, r); // one request (submitJob): no array made per call
    return;
  }
  for (let i = 0; i < r.length; i++) markRequestTimedOut(call, r[i]!);
}

function markRequestTimedOut(call: CallState, request: GearmanJobRequest): void {
  if (call.completeAfter) {
    request.timedOut = !request.complete;
    if (request.complete) call.client.forgetRotation(request);
  } else {
    request.timedOut = request.state === JOB_PENDING || (request.state === JOB_UNKNOWN && request.job.handle === null);
  }
  if (request.state === JOB_PENDING && judgesServers(call)) call.client.noteUnanswered(request);
}

/** The call rejects: `error.requests` holds its requests; `timedOut` is false on each (a rejection is no timeout). */
function rejectCall(call: CallState, error: unknown): void {
  const list = requestsOf(call);
  for (let i = 0; i < list.length; i++) list[i]!.timedOut = false;
  call.resolve(new Rejection(attachRequests(error, list)));
}

/** A status query: remembers each request's status object to tell whether a new one came. */
class StatusWait extends ClientWait {
  constructor(
    from: CallState,
    readonly before: JobStatus[],
    readonly queries: StatusQuery[],
  ) {
    super(from);
  }

  get phase(): 'status' {
    return 'status';
  }

  get completeAfter(): false {
    return false;
  }

  /** A GET_STATUS is still unanswered. */
  protected pending(): boolean {
    for (let i = 0; i < this.queries.length; i++) if (!this.queries[i]!.answered) return true;
    return false;
  }

  protected override markTimedOut(): void {
    const list = this.requests as GearmanJobRequest[];
    for (let i = 0; i < list.length; i++) list[i]!.timedOut = list[i]!.status === this.before[i];
  }
}

/** Whether the accept phase sends `request` (see {@link GearmanClient.sendUnknown}). */
function needsSend(request: GearmanJobRequest, lostOnly: boolean): boolean {
  return request.state === JOB_UNKNOWN && (!lostOnly || request.job.handle === null);
}

function checkRequests(requests: unknown, where: string): asserts requests is GearmanJobRequest[] {
  if (!Array.isArray(requests)) throw new InvalidArgumentError(`${where}: expected an array of GearmanJobRequest, got ${describeValue(requests)}`);
  for (const r of requests) if (!(r instanceof GearmanJobRequest)) throw new InvalidArgumentError(`${where}: expected GearmanJobRequest objects, got ${describeValue(r)}`);
}

function submitOptions(o: Partial<SubmitOptions>, where: string): { background: boolean; waitUntilComplete: boolean; maxRetries: number; pollTimeout: number | null } {
  const maxRetries = o.maxRetries ?? 0;
  if (!Number.isInteger(maxRetries) || maxRetries < 0) throw new InvalidArgumentError(`${where}: maxRetries must be a non-negative integer, got ${describeValue(maxRetries)}`);
  return { background: !!o.background, waitUntilComplete: o.waitUntilComplete ?? true, maxRetries, pollTimeout: checkPollTimeout(o.pollTimeout, where) };
}
