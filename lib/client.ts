/**
 * `GearmanClient`: submits jobs and waits for them, as python-gearman's `gearman.client`.
 *
 * Every call returns a promise, and many may be in flight on one client at once: each waits only
 * on its own requests, and a packet wakes only the calls waiting on the requests it updates.
 *
 * @module
 */
import { randomFillSync } from 'node:crypto';
import { ConnectionManager, LOOP_DONE, LOOP_UNTRACKED, PollLoop, type ConnectionManagerOptions, type Waitable } from './connection-manager.js';
import { ClientCommandHandler, submitCommand } from './command-handler/client-handler.js';
import type { GearmanConnection } from './connection.js';
import { GearmanJob, GearmanJobRequest, type JobStatus } from './job.js';
import { JOB_PENDING, JOB_UNKNOWN, PRIORITY_NONE, type Priority } from './constants.js';
import { ExceededConnectionAttempts, InvalidClientState, ServerUnavailable, type GearmanError } from './errors.js';
import { validatePacket } from './protocol/encoder.js';
import type { HostEntry } from './hosts.js';

export { JOB_UNKNOWN, JOB_PENDING, JOB_CREATED, JOB_FAILED, JOB_COMPLETE, PRIORITY_NONE, PRIORITY_LOW, PRIORITY_HIGH } from './constants.js';

/** Options of a {@link GearmanClient}. */
export interface GearmanClientOptions extends ConnectionManagerOptions {
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
  /** Coalescing key; generated when missing or empty. `'-'` makes gearmand coalesce on the data. */
  unique?: string | null;
  /** @default PRIORITY_NONE */
  priority?: Priority;
}

/** Options of {@link GearmanClient.submitJob} and {@link GearmanClient.submitMultipleJobs}. */
export interface SubmitOptions {
  /** Background (detached) job: the call ends once the server accepted it. @default false */
  background?: boolean;
  /** Wait for the result (foreground) as well as for acceptance. @default true */
  waitUntilComplete?: boolean;
  /** Extra sends allowed after a lost connection; python-gearman's count. @default 0 */
  maxRetries?: number;
  /** Seconds to wait in all; `null`/`undefined`: no limit. A timeout resolves, with `timedOut` set. */
  pollTimeout?: number | null;
}

/** Options of {@link GearmanClient.submitJob}: {@link SubmitOptions} plus the job's own. */
export interface SubmitJobOptions extends SubmitOptions {
  /** Coalescing key; generated when missing or empty. */
  unique?: string | null;
  /** @default PRIORITY_NONE */
  priority?: Priority;
}

/** Options of the waits. */
export interface WaitOptions {
  /** Seconds; `null`/`undefined`: no limit. @default undefined */
  pollTimeout?: number | null;
}

/** Options of {@link GearmanClient.submitMultipleRequests}. */
export interface SubmitRequestsOptions extends WaitOptions {
  /** @default true */
  waitUntilComplete?: boolean;
}

const UNIQUE_POOL_BYTES = 8192;

/**
 * A Gearman client.
 *
 * @example
 * ```ts
 * import { GearmanClient } from 'gearman-ts';
 *
 * const client = new GearmanClient(['localhost:4730']);
 * const request = await client.submitJob('reverse', 'hello');
 * if (request.complete) console.log(request.state, request.result?.toString()); // COMPLETE olleh
 * client.shutdown();
 * ```
 */
export class GearmanClient extends ConnectionManager<ClientCommandHandler> {
  /** Random bytes per generated unique (hex-encoded). */
  randomUniqueBytes: number;
  /** Send OPTION_REQ `exceptions` on connect. */
  exceptions: boolean;
  /** Bumped whenever a connection loses requests, so waits rescan. @internal */
  lossEpoch = 0;
  private uniquePool = Buffer.alloc(0);
  private uniqueOffset = 0;

  /**
   * @param hostList - servers; none means `['localhost:4730']`
   * @param options - see {@link GearmanClientOptions}
   * @throws {@link GearmanError} (code `'INVALID_HOST'`) for a malformed host entry
   */
  constructor(hostList?: HostEntry[] | null, options: GearmanClientOptions = {}) {
    super(hostList, options);
    const bytes = options?.randomUniqueBytes ?? 16;
    if (!Number.isInteger(bytes) || bytes < 1 || bytes > 31) {
      throw new TypeError(`randomUniqueBytes must be an integer from 1 to 31 (the hex unique must fit gearmand's 63 bytes), got ${String(bytes)}`);
    }
    this.randomUniqueBytes = bytes;
    this.exceptions = options?.exceptions ?? true;
  }

  /** @internal */
  protected createCommandHandler(connection: GearmanConnection): ClientCommandHandler {
    return new ClientCommandHandler(this, connection);
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
   * @throws TypeError (rejects) if the encoder cannot encode `data`, before anything is sent
   * @throws {@link ProtocolError} (rejects) for a task with a NUL byte or a unique over 63 bytes
   * @throws {@link ServerUnavailable} (rejects) when no server can take the job; `error.requests`
   * holds the request
   * @throws {@link ExceededConnectionAttempts} (rejects) once `maxRetries + 1` sends are used up
   *
   * @example
   * ```ts
   * const request = await client.submitJob('task_name', 'arbitrary binary data');
   * const bg = await client.submitJob('task_name', 'data', { priority: PRIORITY_HIGH, background: true });
   * ```
   */
  submitJob(task: string, data: unknown, options: SubmitJobOptions = {}): Promise<GearmanJobRequest> {
    try {
      const opts = submitOptions(options);
      const request = this.createRequest(task, data, options.unique, options.priority, opts.background, opts.maxRetries);
      return this.submit(request, opts.waitUntilComplete, opts.pollTimeout) as Promise<GearmanJobRequest>;
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
  submitMultipleJobs(jobs: readonly JobSpec[], options: SubmitOptions = {}): Promise<GearmanJobRequest[]> {
    try {
      const opts = submitOptions(options);
      if (!Array.isArray(jobs)) throw new TypeError(`submitMultipleJobs expects an array of { task, data } jobs, got ${typeof jobs}`);
      const requests: GearmanJobRequest[] = new Array(jobs.length);
      for (let i = 0; i < jobs.length; i++) {
        const job = jobs[i];
        if (typeof job !== 'object' || job === null) throw new TypeError(`job ${i} must be an object { task, data, unique?, priority? }`);
        requests[i] = this.createRequest(job.task, job.data, job.unique, job.priority, opts.background, opts.maxRetries);
      }
      return this.submit(requests, opts.waitUntilComplete, opts.pollTimeout) as Promise<GearmanJobRequest[]>;
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
  submitMultipleRequests(requests: GearmanJobRequest[], options: SubmitRequestsOptions = {}): Promise<GearmanJobRequest[]> {
    try {
      checkRequests(requests, 'submitMultipleRequests');
      const pollTimeout = checkTimeout(options?.pollTimeout);
      for (const request of requests) this.prepare(request);
      return this.submit(requests, options?.waitUntilComplete ?? true, pollTimeout) as Promise<GearmanJobRequest[]>;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Runs the accept phase, then (if asked) the completion phase, on one wait object. */
  private submit(requests: GearmanJobRequest | GearmanJobRequest[], waitUntilComplete: boolean, pollTimeout: number | null): Promise<unknown> {
    const wait = new ClientWait(this, requests, waitUntilComplete, pollTimeout);
    const promise = wait.promise();
    wait.sendAndAccept();
    return promise;
  }

  /**
   * Builds, validates and encodes one request (python-gearman's `_create_request`).
   * @internal
   */
  protected createRequest(task: string, data: unknown, unique: string | null | undefined, priority: Priority | undefined, background: boolean, maxRetries: number): GearmanJobRequest {
    if (typeof task !== 'string') throw new TypeError(`task must be a string, got ${task === null ? 'null' : typeof task}`);
    if (unique !== undefined && unique !== null && typeof unique !== 'string') throw new TypeError(`unique must be a string, got ${typeof unique}`);
    const job = new GearmanJob(null, null, task, unique ? unique : this.generateUnique(), data);
    const request = new GearmanJobRequest(job, { priority: priority ?? PRIORITY_NONE, background, maxAttempts: maxRetries + 1 });
    if (!unique) request.generatedUnique = true;
    this.prepare(request);
    return request;
  }

  /** Encodes and validates a request's data once, so a bad request fails before anything is sent. */
  private prepare(request: GearmanJobRequest): void {
    if (!(request instanceof GearmanJobRequest)) throw new TypeError('expected GearmanJobRequest objects');
    if (request.encodedData !== undefined && request.encodedFrom === request.job.data) return;
    const encoded = this.dataEncoder.encode(request.job.data);
    if (typeof encoded !== 'string' && !(encoded instanceof Uint8Array)) {
      throw new TypeError(`${this.constructor.name}.dataEncoder.encode must return a string or bytes, got ${typeof encoded}`);
    }
    if (typeof request.job.task !== 'string') throw new TypeError('job.task must be a string');
    if (request.job.unique === null || request.job.unique === '') {
      request.job.unique = this.generateUnique();
      request.generatedUnique = true;
    }
    validatePacket(submitCommand(request.background, request.priority), [request.job.task, request.job.unique, encoded]);
    request.encodedData = encoded;
    request.encodedFrom = request.job.data;
    request.validatedUnique = request.job.unique;
  }

  // ---------------------------------------------------------------------------------------------
  // Connections

  /**
   * The connection for `request`: its own shuffled order of the servers, sticking to the first
   * live one and failing over in that order (python-gearman's `establish_request_connection`).
   * Servers that failed to connect within the last second are tried last.
   *
   * @throws {@link ServerUnavailable} (rejects) when none connects, naming each server and why
   */
  async establishRequestConnection(request: GearmanJobRequest): Promise<GearmanConnection> {
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
          request.rotation = [...rotation.slice(at), ...rotation.slice(0, at)];
        }
        return connection;
      } catch (err) {
        if ((err as GearmanError).code === 'SHUTDOWN') throw err;
        connection.retryAt = Date.now() + 1000;
      }
    }
    throw this.unavailable(rotation, `no server could take ${request.job.task}`);
  }

  private rotationOf(request: GearmanJobRequest): GearmanConnection[] {
    const list = this.connectionList;
    if (list.length <= 1) return list;
    if (request.rotation === undefined || request.rotation.length === 0) {
      const copy = list.slice();
      for (let i = copy.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1));
        [copy[i], copy[j]] = [copy[j]!, copy[i]!];
      }
      request.rotation = copy;
    }
    return request.rotation;
  }

  /** The head of the request's rotation if it is connected (no await needed). */
  private connectedFor(request: GearmanJobRequest): GearmanConnection | undefined {
    const list = this.connectionList;
    const head = list.length === 1 ? list[0]! : list.length === 0 ? undefined : this.rotationOf(request)[0]!;
    return head !== undefined && head.connected && head.handler !== undefined ? head : undefined;
  }

  /**
   * Sends one request on its connection, counting the attempt (python-gearman's
   * `send_job_request`).
   *
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
      const last = request.error;
      throw new ExceededConnectionAttempts(
        `exceeded ${request.maxConnectionAttempts} connection attempt(s) for ${request.job.task} (unique ${request.job.unique}); pass maxRetries >= 1 to allow re-sending${last === undefined ? '' : `; last attempt: ${last.message}`}`,
        last === undefined ? {} : { cause: last },
      );
    }
  }

  private sendOn(connection: GearmanConnection, request: GearmanJobRequest): void {
    if (request.state !== JOB_UNKNOWN) return; // another wait sent it while this one connected
    if (request.connectionAttempts > 0 && request.generatedUnique) {
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
   * Sends every `JOB_UNKNOWN` request (with `lostOnly`, only those lost before the server accepted
   * them: a request lost after JOB_CREATED may have run, and is re-sent only when the caller asks
   * again). Returns undefined when all went out on live connections, or a promise when some
   * needed a connect first.
   * @internal
   */
  sendUnknown(requests: GearmanJobRequest | GearmanJobRequest[], lostOnly = false): Promise<void> | undefined {
    if (!Array.isArray(requests)) {
      if (!needsSend(requests, lostOnly)) return undefined;
      this.checkAttempts(requests);
      const connection = this.connectedFor(requests);
      if (connection === undefined) return this.sendUnknownFrom([requests], 0, lostOnly);
      this.sendOn(connection, requests);
      return undefined;
    }
    for (let i = 0; i < requests.length; i++) {
      const request = requests[i]!;
      if (!needsSend(request, lostOnly)) continue;
      this.checkAttempts(request);
      const connection = this.connectedFor(request);
      if (connection === undefined) return this.sendUnknownFrom(requests, i, lostOnly);
      this.sendOn(connection, request);
    }
    return undefined;
  }

  private async sendUnknownFrom(requests: GearmanJobRequest[], from: number, lostOnly: boolean): Promise<void> {
    for (let i = from; i < requests.length; i++) {
      const request = requests[i]!;
      if (!needsSend(request, lostOnly)) continue;
      this.checkAttempts(request);
      const connection = this.connectedFor(request) ?? (await this.establishRequestConnection(request));
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
  waitUntilJobsAccepted(requests: GearmanJobRequest[], options: WaitOptions = {}): Promise<GearmanJobRequest[]> {
    try {
      checkRequests(requests, 'waitUntilJobsAccepted');
      const pollTimeout = checkTimeout(options?.pollTimeout);
      for (const request of requests) this.prepare(request);
      return this.submit(requests, false, pollTimeout) as Promise<GearmanJobRequest[]>;
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
  waitUntilJobsCompleted(requests: GearmanJobRequest[], options: WaitOptions = {}): Promise<GearmanJobRequest[]> {
    try {
      checkRequests(requests, 'waitUntilJobsCompleted');
      const wait = new ClientWait(this, requests, true, checkTimeout(options?.pollTimeout));
      const promise = wait.promise();
      wait.waitForCompletion();
      return promise as Promise<GearmanJobRequest[]>;
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
  getJobStatus(request: GearmanJobRequest, options: WaitOptions = {}): Promise<GearmanJobRequest> {
    return this.statuses([request], options).then(() => request);
  }

  /**
   * Status of several jobs at once (see {@link getJobStatus}).
   *
   * @returns the same array
   */
  getJobStatuses(requests: GearmanJobRequest[], options: WaitOptions = {}): Promise<GearmanJobRequest[]> {
    return this.statuses(requests, options);
  }

  private async statuses(requests: GearmanJobRequest[], options: WaitOptions): Promise<GearmanJobRequest[]> {
    checkRequests(requests, 'getJobStatuses');
    const pollTimeout = checkTimeout(options?.pollTimeout);
    for (const request of requests) {
      if (request.job.handle === null || request.job.connection === null) {
        throw new InvalidClientState(`cannot get the status of ${request}: it has no handle (was it accepted?)`);
      }
    }
    const wait = new StatusWait(this, requests, false, pollTimeout);
    wait.before = requests.map((request) => request.status);
    for (const request of requests) {
      const connection = request.job.connection!;
      if (!(connection.connected && connection.handler !== undefined)) {
        try {
          await this.establishConnection(connection);
        } catch (err) {
          throw withRequests(this.unavailable([connection], `cannot query the status of ${request.job.handle}`), requests, err);
        }
      }
      request.status.lastTimeReceived = request.status.timeReceived ?? null;
      (connection.handler as ClientCommandHandler).sendGetStatusOfJob(request);
    }
    const promise = wait.promise();
    wait.waitForStatus();
    await promise;
    return requests;
  }
}

// ClientWait's bits of PollLoop.loopFlags (the manager's own bits are below 64).
const ACCEPT = 0;
const COMPLETE = 64;
const STATUS = 128;
const PHASE = 192;
const RESEND = 256;
const COMPLETE_AFTER = 512;

/**
 * One client call waiting on its requests: the accept phase (send what is `JOB_UNKNOWN`, wait
 * while any is `JOB_PENDING`, re-send what a lost connection returned to `JOB_UNKNOWN`), then
 * the completion phase, or a status query. One object per call, woken only by its own requests,
 * and kept small: a client may have a hundred thousand calls in flight.
 * @internal
 */
class ClientWait extends PollLoop {
  /** Requests before it are known to be done with the current phase. */
  cursor = 0;
  /** The client's lossEpoch when the cursor was last valid. */
  epoch = 0;
  /** ms since the epoch, or -1 for no limit. */
  readonly deadline: number;
  resolve!: (value: unknown) => void;
  reject!: (error: unknown) => void;

  /**
   * @param requests - one request (the call resolves with it) or an array (resolves with the array)
   */
  constructor(
    readonly client: GearmanClient,
    readonly requests: GearmanJobRequest | GearmanJobRequest[],
    completeAfter: boolean,
    pollTimeout: number | null,
  ) {
    super();
    // Not running yet; woken by its requests, not by reads (no ANY bit).
    this.loopFlags = LOOP_DONE | LOOP_UNTRACKED | (completeAfter ? COMPLETE_AFTER : 0);
    this.deadline = pollTimeout === null ? -1 : Date.now() + pollTimeout * 1000;
  }

  /** Every connection of the client (python-gearman's waits poll them all). */
  get connections(): null {
    return null;
  }

  /** The requests: they wake this wait when they change. */
  get watched(): Waitable | Waitable[] {
    return this.requests as unknown as Waitable | Waitable[];
  }

  private get flags(): number {
    return this.loopFlags;
  }

  private set flags(value: number) {
    this.loopFlags = value;
  }

  /** The promise of the call; take it once, before starting. */
  promise(): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  private list(): GearmanJobRequest[] {
    const r = this.requests;
    return Array.isArray(r) ? r : [r];
  }

  private remaining(): number | null {
    return this.deadline < 0 ? null : Math.max(0, (this.deadline - Date.now()) / 1000);
  }

  /**
   * Sends the `JOB_UNKNOWN` requests, then waits for them to be accepted. `lostOnly`: a re-send
   * during the wait, of the requests lost before they were accepted.
   */
  sendAndAccept(lostOnly = false): void {
    this.flags = (this.flags & ~(PHASE | RESEND)) | ACCEPT;
    let sending: Promise<void> | undefined;
    try {
      sending = this.client.sendUnknown(this.requests, lostOnly);
    } catch (err) {
      this.fail(err);
      return;
    }
    if (sending === undefined) this.run();
    else sending.then(() => this.run(), (err: unknown) => this.fail(err));
  }

  waitForCompletion(): void {
    this.flags = (this.flags & ~PHASE) | COMPLETE;
    this.run();
  }

  waitForStatus(): void {
    this.flags = (this.flags & ~PHASE) | STATUS;
    this.run();
  }

  private run(): void {
    this.cursor = 0;
    this.epoch = this.client.lossEpoch;
    this.client.runLoop(this, this.remaining());
  }

  check(): boolean {
    const list = this.requests;
    const many = Array.isArray(list);
    const n = many ? list.length : 1;
    if (this.epoch !== this.client.lossEpoch) {
      // A connection lost requests: what was done may be JOB_UNKNOWN now.
      this.epoch = this.client.lossEpoch;
      this.cursor = 0;
    }
    const phase = this.flags & PHASE;
    // Requests settle roughly in order, so the cursor makes a whole wait O(requests).
    if (phase === ACCEPT) {
      for (let i = this.cursor; i < n; i++) {
        const request = many ? list[i]! : list;
        const state = request.state;
        if (state === JOB_UNKNOWN && request.job.handle === null) {
          this.flags |= RESEND;
          return false;
        }
        if (state === JOB_PENDING) {
          this.cursor = i;
          return true;
        }
      }
    } else if (phase === COMPLETE) {
      for (let i = this.cursor; i < n; i++) {
        const request = many ? list[i]! : list;
        if (!request.complete && request.state !== JOB_UNKNOWN) {
          this.cursor = i;
          return true;
        }
      }
    } else {
      for (let i = 0; i < n; i++) if ((many ? list[i]! : list).statusPending) return true;
      return false;
    }
    this.cursor = n;
    return false;
  }

  finish(): void {
    const list = this.requests;
    const many = Array.isArray(list);
    const n = many ? list.length : 1;
    const phase = this.flags & PHASE;
    if (phase === ACCEPT) {
      if (this.flags & RESEND) {
        this.sendAndAccept(true);
        return;
      }
      for (let i = 0; i < n; i++) {
        const request = many ? list[i]! : list;
        request.timedOut = request.state === JOB_PENDING;
      }
      if (this.flags & COMPLETE_AFTER && this.remaining() !== 0) {
        this.waitForCompletion();
        return;
      }
    } else if (phase === COMPLETE) {
      let lost = false;
      for (let i = 0; i < n; i++) {
        const request = many ? list[i]! : list;
        request.timedOut = !request.complete;
        if (request.complete) request.rotation = undefined;
        else if (request.state === JOB_UNKNOWN) lost = true;
      }
      if (lost && !this.client.connectionList.some((c) => c.alive)) {
        this.reject(withRequests(this.client.unavailable(this.client.connectionList, 'connection lost and no server left'), this.list()));
        return;
      }
    } else {
      this.markStatusTimeouts();
    }
    this.resolve(list);
  }

  /** Status phase: timedOut where no new status arrived (see StatusWait). */
  protected markStatusTimeouts(): void {}

  fail(error: unknown): void {
    const phase = this.flags & PHASE;
    const requests = this.list();
    if (phase === STATUS) this.markStatusTimeouts();
    else for (const request of requests) request.timedOut = phase === ACCEPT ? request.state === JOB_PENDING : !request.complete;
    this.reject(withRequests(error, requests));
  }
}

/** A status query: remembers each request's status object to tell whether a new one came. */
class StatusWait extends ClientWait {
  before: JobStatus[] = [];

  protected override markStatusTimeouts(): void {
    const list = this.requests as GearmanJobRequest[];
    for (let i = 0; i < list.length; i++) list[i]!.timedOut = list[i]!.status === this.before[i];
  }
}

/** Whether the accept phase sends `request` (see {@link GearmanClient.sendUnknown}). */
function needsSend(request: GearmanJobRequest, lostOnly: boolean): boolean {
  return request.state === JOB_UNKNOWN && (!lostOnly || request.job.handle === null);
}

function checkRequests(requests: unknown, where: string): asserts requests is GearmanJobRequest[] {
  if (!Array.isArray(requests)) throw new TypeError(`${where} expects an array of GearmanJobRequest, got ${typeof requests}`);
  for (const r of requests) if (!(r instanceof GearmanJobRequest)) throw new TypeError(`${where} expects GearmanJobRequest objects`);
}

function checkTimeout(value: unknown): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || Number.isNaN(value)) throw new TypeError(`pollTimeout must be a number of seconds, null or undefined; got ${String(value)}`);
  return value === Infinity ? null : Math.max(0, value);
}

function submitOptions(options: SubmitOptions | undefined): { background: boolean; waitUntilComplete: boolean; maxRetries: number; pollTimeout: number | null } {
  const o = options ?? {};
  if (typeof o !== 'object') throw new TypeError('options must be an object');
  const maxRetries = o.maxRetries ?? 0;
  if (!Number.isInteger(maxRetries) || maxRetries < 0) throw new TypeError(`maxRetries must be a non-negative integer, got ${String(maxRetries)}`);
  return { background: !!o.background, waitUntilComplete: o.waitUntilComplete ?? true, maxRetries, pollTimeout: checkTimeout(o.pollTimeout) };
}

/** Attaches the call's requests to a ServerUnavailable (so the recovery recipe has them). */
function withRequests(err: unknown, requests: GearmanJobRequest[], cause?: unknown): unknown {
  if (err instanceof ServerUnavailable) {
    // Not enumerable: requests reference connections, which would flood a logged error.
    if (err.requests === undefined) Object.defineProperty(err, 'requests', { value: requests, enumerable: false, writable: true, configurable: true });
    if (cause !== undefined && err.cause === undefined) Object.defineProperty(err, 'cause', { value: cause, configurable: true, writable: true });
  }
  return err;
}

