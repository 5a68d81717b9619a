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
import { ClientCommandHandler, StatusQuery, submitCommand, type ClientHandlerHost } from './command-handler/client-handler.js';
import type { GearmanConnection } from './connection.js';
import { GearmanJob, GearmanJobRequest, type JobStatus, type RequestWire } from './job.js';
import { JOB_PENDING, JOB_UNKNOWN, PRIORITY_NONE, type Priority } from './constants.js';
import { ExceededConnectionAttempts, InvalidArgumentError, InvalidClientState, attachRequests, type GearmanError } from './errors.js';
import { checkOptions, checkPollTimeout, checkTaskName, checkUnique, describeValue } from './arguments.js';
import { staticDataEncoder } from './encoders.js';
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
  /**
   * Seconds for the whole call, connect included (nothing is sent past it); `null`, `undefined`
   * or `Infinity`: no limit; otherwise a number >= 0. A timeout resolves, with `timedOut` set on
   * the requests that did not reach the awaited state. @default undefined
   */
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
  /** Seconds for the whole call, connects included; `null`/`undefined`/`Infinity`: no limit. @default undefined */
  pollTimeout?: number | null;
}

/** Options of {@link GearmanClient.submitMultipleRequests}. */
export interface SubmitRequestsOptions extends WaitOptions {
  /** @default true */
  waitUntilComplete?: boolean;
}

const UNIQUE_POOL_BYTES = 8192;

/** The keys of each options object the client takes (checked with checkOptions). @internal */
export const CLIENT_OPTION_KEYS = {
  constructor: ['dataEncoder', 'connectTimeoutMs', 'keepAlive', 'maxPacketSize', 'logger', 'createSocket', 'randomUniqueBytes', 'exceptions'],
  submitJob: ['unique', 'priority', 'background', 'waitUntilComplete', 'maxRetries', 'pollTimeout'],
  submitMultipleJobs: ['background', 'waitUntilComplete', 'maxRetries', 'pollTimeout'],
  job: ['task', 'data', 'unique', 'priority'],
  submitMultipleRequests: ['waitUntilComplete', 'pollTimeout'],
  wait: ['pollTimeout'],
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
 * ```
 */
export class GearmanClient extends ConnectionManager<ClientCommandHandler> implements ClientHandlerHost {
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

  /**
   * @param hostList - servers; none means `['localhost:4730']`
   * @param options - see {@link GearmanClientOptions}
   * @throws {@link GearmanError} (code `'INVALID_HOST'`) for a malformed host entry
   */
  constructor(hostList?: HostEntry[] | null, options: GearmanClientOptions = {}) {
    const opts = checkOptions(options, CLIENT_OPTION_KEYS.constructor, 'GearmanClient options');
    super(hostList, opts);
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

  /** @internal */
  protected createCommandHandler(connection: GearmanConnection): ClientCommandHandler {
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
   *
   * @example
   * ```ts
   * const request = await client.submitJob('task_name', 'arbitrary binary data');
   * const bg = await client.submitJob('task_name', 'data', { priority: PRIORITY_HIGH, background: true });
   * ```
   */
  submitJob(task: string, data: unknown, options: SubmitJobOptions = {}): Promise<GearmanJobRequest> {
    try {
      const given = checkOptions(options, CLIENT_OPTION_KEYS.submitJob, 'submitJob');
      const opts = submitOptions(given, 'submitJob');
      const request = this.createRequest(task, data, given.unique, given.priority, opts.background, opts.maxRetries, 'submitJob');
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
      const opts = submitOptions(checkOptions(options, CLIENT_OPTION_KEYS.submitMultipleJobs, 'submitMultipleJobs'), 'submitMultipleJobs');
      if (!Array.isArray(jobs)) throw new InvalidArgumentError(`submitMultipleJobs: expected an array of { task, data } jobs, got ${describeValue(jobs)}`);
      const requests: GearmanJobRequest[] = new Array(jobs.length);
      for (let i = 0; i < jobs.length; i++) {
        const where = `submitMultipleJobs job ${i}`;
        const job = jobs[i];
        if (typeof job !== 'object' || job === null) throw new InvalidArgumentError(`${where}: expected an object { task, data, unique?, priority? }, got ${describeValue(job)}`);
        // A batch has thousands of jobs: look for an unknown key without allocating, and let
        // checkOptions build the message only when there is one.
        for (const key in job) if (!JOB_KEYS.has(key)) checkOptions(job, CLIENT_OPTION_KEYS.job, where);
        requests[i] = this.createRequest(job.task, job.data, job.unique, job.priority, opts.background, opts.maxRetries, where);
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
      const opts = checkOptions(options, CLIENT_OPTION_KEYS.submitMultipleRequests, 'submitMultipleRequests');
      const pollTimeout = checkPollTimeout(opts.pollTimeout, 'submitMultipleRequests');
      for (const request of requests) this.prepare(request, 'submitMultipleRequests');
      for (const request of requests) this.withdrawFromUnresponsive(request);
      return this.submit(requests, opts.waitUntilComplete ?? true, pollTimeout) as Promise<GearmanJobRequest[]>;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Runs the accept phase, then (if asked) the completion phase, on one wait object. */
  private submit(requests: GearmanJobRequest | GearmanJobRequest[], waitUntilComplete: boolean, pollTimeout: number | null): Promise<unknown> {
    return ClientWait.submit(this, requests, waitUntilComplete, pollTimeout);
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
  ): GearmanJobRequest {
    // The jobs of a batch usually share their task: check a name once in a row.
    if (task !== this.lastCheckedTask || typeof task !== 'string') {
      checkTaskName(task, where);
      this.lastCheckedTask = task;
    }
    const given = checkUnique(unique, where);
    const job = new GearmanJob(null, null, task, given ?? this.generateUnique(), data);
    const request = new GearmanJobRequest(job, { priority: priority ?? PRIORITY_NONE, background, maxAttempts: maxRetries + 1 });
    if (given === null) request.wire.generatedUnique = true;
    this.prepare(request, where);
    return request;
  }

  /** Encodes and validates a request's data once, so a bad request fails before anything is sent. */
  private prepare(request: GearmanJobRequest, where: string): void {
    if (!(request instanceof GearmanJobRequest)) throw new InvalidArgumentError(`${where}: expected GearmanJobRequest objects, got ${describeValue(request)}`);
    const wire = request.wire;
    if (wire.encoded !== undefined && wire.encodedFrom === request.job.data && wire.validatedUnique === request.job.unique) return;
    checkTaskName(request.job.task, where);
    if (!wire.generatedUnique) checkUnique(request.job.unique, where);
    const encoded = this.dataEncoder.encode(request.job.data);
    if (typeof encoded !== 'string' && !(encoded instanceof Uint8Array)) {
      throw new InvalidArgumentError(`${this.constructor.name}.dataEncoder.encode must return a string or bytes, got ${describeValue(encoded)}`);
    }
    if (request.job.unique === null || request.job.unique === '') {
      request.job.unique = this.generateUnique();
      wire.generatedUnique = true;
    }
    validatePacket(submitCommand(request.background, request.priority), [request.job.task, request.job.unique, encoded]);
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
  waitUntilJobsAccepted(requests: GearmanJobRequest[], options: WaitOptions = {}): Promise<GearmanJobRequest[]> {
    try {
      checkRequests(requests, 'waitUntilJobsAccepted');
      const pollTimeout = checkPollTimeout(checkOptions(options, CLIENT_OPTION_KEYS.wait, 'waitUntilJobsAccepted').pollTimeout, 'waitUntilJobsAccepted');
      for (const request of requests) this.prepare(request, 'waitUntilJobsAccepted');
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
      const pollTimeout = checkPollTimeout(checkOptions(options, CLIENT_OPTION_KEYS.wait, 'waitUntilJobsCompleted').pollTimeout, 'waitUntilJobsCompleted');
      return ClientWait.complete(this, requests, pollTimeout) as Promise<GearmanJobRequest[]>;
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

  private statuses(requests: GearmanJobRequest[], options: WaitOptions): Promise<GearmanJobRequest[]> {
    let pollTimeout: number | null;
    try {
      checkRequests(requests, 'getJobStatuses');
      pollTimeout = checkPollTimeout(checkOptions(options, CLIENT_OPTION_KEYS.wait, 'getJobStatuses').pollTimeout, 'getJobStatuses');
      for (const request of requests) {
        if (request.job.handle === null || request.job.connection === null) {
          throw new InvalidClientState(`cannot get the status of ${request}: it has no handle (was it accepted?)`);
        }
      }
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<unknown>((resolve, reject) => {
      const call: CallState = { client: this, requests, targets: targetsOf(requests), completeAfter: false, deadline: deadlineOf(pollTimeout), judgesServers: pollTimeout !== null && pollTimeout > 0, resolve, reject };
      const before = requests.map((request) => request.status);
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
      this.holdWhileConnecting(true);
      const left = remaining(call.deadline);
      if (left !== null && left * 1000 <= 2_147_483_647) {
        timer = setTimeout(() => {
          if (!end()) return;
          for (let i = 0; i < requests.length; i++) requests[i]!.timedOut = requests[i]!.status === before[i];
          resolve(requests);
        }, Math.max(1, Math.round(left * 1000)));
      }
      this.sendStatusQueries(requests, sending).then(
        (queries) => {
          if (end()) new StatusWait(call, before, queries).run();
        },
        (err: unknown) => {
          if (end()) rejectCall(call, err);
        },
      );
    }) as Promise<GearmanJobRequest[]>;
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
  readonly client: GearmanClient;
  /** One request (the call resolves with it) or an array (resolves with the array). */
  readonly requests: GearmanJobRequest | GearmanJobRequest[];
  /** What its waits watch: the requests' side objects (`request.wire`), which the handlers wake. */
  readonly targets: RequestWire | RequestWire[];
  /** Wait for completion after acceptance. */
  readonly completeAfter: boolean;
  /** ms since the epoch, or -1 for no limit: one deadline for every phase, connect included. */
  readonly deadline: number;
  /**
   * The call waited a while (pollTimeout > 0): a submission still unacknowledged at its deadline
   * says the server is not answering (with pollTimeout 0 it says nothing).
   */
  readonly judgesServers: boolean;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * One phase of one client call. Each phase is a fresh object (a loop runs once): the waiting
 * phases run as poll loops that watch the call's requests (the manager's watch registry wakes
 * them); the connect phase only holds the deadline timer. An object hands the call to the next
 * phase's object or settles it, and is `over` then. Kept small: a client may have a hundred
 * thousand calls in flight, so the call's state is copied from phase to phase, not kept in a
 * second object.
 * @internal
 */
class ClientWait extends PollLoop implements CallState {
  readonly client: GearmanClient;
  readonly requests: GearmanJobRequest | GearmanJobRequest[];
  readonly targets: RequestWire | RequestWire[];
  readonly completeAfter: boolean;
  readonly deadline: number;
  readonly judgesServers: boolean;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  /** Requests before it are known to be done with this phase. */
  cursor = 0;
  /** The client's `connectionLosses` when the cursor was last valid. */
  losses: number;
  /** The accept check found a request to re-send. */
  resend = false;

  constructor(
    from: CallState,
    readonly phase: 'accept' | 'complete' | 'status',
  ) {
    super();
    this.client = from.client;
    this.requests = from.requests;
    this.targets = from.targets;
    this.completeAfter = from.completeAfter;
    this.deadline = from.deadline;
    this.judgesServers = from.judgesServers;
    this.resolve = from.resolve;
    this.reject = from.reject;
    this.losses = from.client.connectionLosses;
  }

  /**
   * Starts a call: sends the `JOB_UNKNOWN` requests, then waits (accept, then complete if asked).
   * @returns the call's promise
   */
  static submit(client: GearmanClient, requests: GearmanJobRequest | GearmanJobRequest[], completeAfter: boolean, pollTimeout: number | null): Promise<unknown> {
    return new Promise((resolve, reject) => {
      sendAndAccept({ client, requests, targets: targetsOf(requests), completeAfter, deadline: deadlineOf(pollTimeout), judgesServers: pollTimeout !== null && pollTimeout > 0, resolve, reject }, false);
    });
  }

  /** Starts a call that only waits for completion. */
  static complete(client: GearmanClient, requests: GearmanJobRequest[], pollTimeout: number | null): Promise<unknown> {
    return new Promise((resolve, reject) => {
      new ClientWait({ client, requests, targets: targetsOf(requests), completeAfter: true, deadline: deadlineOf(pollTimeout), judgesServers: pollTimeout !== null && pollTimeout > 0, resolve, reject }, 'complete').run();
    });
  }

  /** Every connection of the client (python-gearman's waits poll them all). */
  get connections(): null {
    return null;
  }

  /** The requests' side objects: the handlers wake them when a request changes. */
  get watched(): RequestWire | RequestWire[] {
    return this.targets;
  }

  get wakesOnActivity(): boolean {
    return false;
  }

  list(): GearmanJobRequest[] {
    const r = this.requests;
    return Array.isArray(r) ? r : [r];
  }

  /** Runs this (waiting) phase as a poll loop until the call's deadline. */
  run(): void {
    this.client.runLoop(this, remaining(this.deadline));
  }

  check(): boolean {
    const list = this.requests;
    const many = Array.isArray(list);
    const n = many ? list.length : 1;
    if (this.losses !== this.client.connectionLosses) {
      // A connection lost requests: what was done may be JOB_UNKNOWN now.
      this.losses = this.client.connectionLosses;
      this.cursor = 0;
    }
    // Requests settle roughly in order, so the cursor makes a whole wait O(requests).
    if (this.phase === 'accept') {
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
    } else if (this.phase === 'complete') {
      for (let i = this.cursor; i < n; i++) {
        const request = many ? list[i]! : list;
        if (!request.complete && request.state !== JOB_UNKNOWN) {
          this.cursor = i;
          return true;
        }
      }
    } else {
      return this.statusPending();
    }
    this.cursor = n;
    return false;
  }

  /** Status phase: a GET_STATUS is still unanswered (see StatusWait). */
  protected statusPending(): boolean {
    return false;
  }

  /** The loop of this phase ended: stopped by its check, or out of time. */
  finish(timedOut: boolean): void {
    void timedOut; // `timedOut` is judged per request by the state it reached (markTimedOut)
    if (this.phase === 'accept') {
      if (this.resend) {
        sendAndAccept(this, true);
        return;
      }
      if (this.completeAfter) {
        // The completion phase runs even when acceptance used up the time (with no time left it
        // checks once), so `timedOut` always says whether a request reached the awaited state.
        new ClientWait(this, 'complete').run();
        return;
      }
    } else if (this.phase === 'complete' && lostWithoutConnection(this)) {
      rejectCall(this, this.client.unavailable(callConnections(this), 'connection lost and no server left'));
      return;
    }
    this.markTimedOut();
    this.resolve(this.requests);
  }

  protected markTimedOut(): void {
    markTimedOut(this);
  }

  fail(error: unknown): void {
    rejectCall(this, error);
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
  readonly client: GearmanClient;
  readonly requests: GearmanJobRequest | GearmanJobRequest[];
  readonly targets: RequestWire | RequestWire[];
  readonly completeAfter: boolean;
  readonly deadline: number;
  readonly judgesServers: boolean;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  /** The phase ended: sent, failed, or out of time. */
  over = false;
  private timer: NodeJS.Timeout | undefined = undefined;

  constructor(from: CallState) {
    this.client = from.client;
    this.requests = from.requests;
    this.targets = from.targets;
    this.completeAfter = from.completeAfter;
    this.deadline = from.deadline;
    this.judgesServers = from.judgesServers;
    this.resolve = from.resolve;
    this.reject = from.reject;
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

  /** Everything went out: the accept phase. */
  sent(): void {
    if (this.end()) new ClientWait(this, 'accept').run();
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

function targetsOf(requests: GearmanJobRequest | GearmanJobRequest[]): RequestWire | RequestWire[] {
  if (!Array.isArray(requests)) return requests.wire;
  const targets = new Array<RequestWire>(requests.length);
  for (let i = 0; i < requests.length; i++) targets[i] = requests[i]!.wire;
  return targets;
}

function deadlineOf(pollTimeout: number | null): number {
  return pollTimeout === null ? -1 : Date.now() + pollTimeout * 1000;
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
    new ClientWait(call, 'accept').run();
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
  const list = requestsOf(call);
  let lost = false;
  for (let i = 0; i < list.length; i++) if (list[i]!.state === JOB_UNKNOWN) lost = true;
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
  const list = requestsOf(call);
  for (let i = 0; i < list.length; i++) {
    const request = list[i]!;
    if (call.completeAfter) {
      request.timedOut = !request.complete;
      if (request.complete) call.client.forgetRotation(request);
    } else {
      request.timedOut = request.state === JOB_PENDING || (request.state === JOB_UNKNOWN && request.job.handle === null);
    }
    if (request.state === JOB_PENDING && call.judgesServers) call.client.noteUnanswered(request);
  }
}

/** The call rejects: `error.requests` holds its requests; `timedOut` is false on each (a rejection is no timeout). */
function rejectCall(call: CallState, error: unknown): void {
  const list = requestsOf(call);
  for (let i = 0; i < list.length; i++) list[i]!.timedOut = false;
  call.reject(attachRequests(error, list));
}

/** A status query: remembers each request's status object to tell whether a new one came. */
class StatusWait extends ClientWait {
  constructor(
    from: CallState,
    readonly before: JobStatus[],
    readonly queries: StatusQuery[],
  ) {
    super(from, 'status');
  }

  protected override statusPending(): boolean {
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
