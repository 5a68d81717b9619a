/**
 * `GearmanJob` (one job, on either side) and `GearmanJobRequest` (the client's tracker of one
 * submitted job), as python-gearman's `gearman.job`.
 *
 * @module
 */
import { EventEmitter } from 'eventemitter3';
import type { GearmanConnection } from './connection.js';
import { JOB_COMPLETE, JOB_CREATED, JOB_FAILED, JOB_UNKNOWN, PRIORITY_NONE, type JobState, type Priority } from './constants.js';
import type { GearmanError } from './errors.js';
import { requestUpdates, type ReceivedStatus, type RequestUpdates, type UpdatesOptions } from './request-updates.js';
import { WaitSlot } from './connection-manager.js';
import { checkOptions, describeValue } from './arguments.js';
import { InvalidArgumentError } from './errors.js';

/**
 * One job: what was submitted (client side) or assigned (worker side).
 *
 * @example
 * ```ts
 * worker.registerTask('reverse', (worker, job) => job.data.toString().split('').reverse().join(''));
 * ```
 */
export class GearmanJob {
  /** The connection the job was sent on (client) or assigned on (worker); `null` until sent. */
  connection: GearmanConnection | null;
  /** The server's job handle; `null` until JOB_CREATED. */
  handle: string | null;
  /** The task (function) name. */
  task: string;
  /** The unique id (coalescing key); `null` for a JOB_ASSIGN without one. */
  unique: string | null;
  /** Client side: the caller's data, not encoded. Worker side: the decoded data. */
  data: unknown;
  /** Worker side: the command handler of the socket the job was assigned on. @internal */
  declare handler?: unknown;
  /** Worker side: WORK_COMPLETE, WORK_FAIL or WORK_EXCEPTION was sent. @internal */
  declare answered?: boolean;

  /**
   * Makes a job, in python-gearman's positional order. The client and the worker make their own;
   * a caller makes one to build a {@link GearmanJobRequest} for `submitMultipleRequests`.
   *
   * @param connection - connection (or `null`)
   * @param handle - job handle (or `null`)
   * @param task - task name
   * @param unique - unique id (or `null`)
   * @param data - job data
   */
  constructor(connection: GearmanConnection | null, handle: string | null, task: string, unique: string | null, data: unknown) {
    this.connection = connection;
    this.handle = handle;
    this.task = task;
    this.unique = unique;
    this.data = data;
  }

  /** @returns `{ task, jobHandle, unique, data }`, as python-gearman's `to_dict()` */
  toDict(): JobDict {
    return { task: this.task, jobHandle: this.handle, unique: this.unique, data: this.data };
  }

  /** @returns a short description for logs */
  toString(): string {
    return `<GearmanJob connection=${this.connection?.address ?? null} handle=${this.handle} task=${this.task} unique=${this.unique}>`;
  }
}

/** What {@link GearmanJob.toDict} returns (python-gearman's `to_dict()` keys, in camelCase). */
export interface JobDict {
  /** The task (function) name. */
  task: string;
  /** The job handle, or `null`. */
  jobHandle: string | null;
  /** The unique id, or `null`. */
  unique: string | null;
  /** The job data. */
  data: unknown;
}

/** The last status seen for a request: from WORK_STATUS or STATUS_RES. */
export interface JobStatus {
  /** Job handle the status is for. */
  handle?: string;
  /** Whether the server knows the job (always true for WORK_STATUS). */
  known?: boolean;
  /** Whether a worker is running it (always true for WORK_STATUS). */
  running?: boolean;
  /** Progress numerator. */
  numerator?: number;
  /** Progress denominator. */
  denominator?: number;
  /** When it arrived, in seconds since the epoch (a float), as python-gearman. */
  timeReceived?: number;
  /** `timeReceived` of the status before the last status query (python-gearman's `last_time_received`). */
  lastTimeReceived?: number | null;
  /**
   * Set (with `known: false`) when a status query was not sent because the connection that gave
   * the job its handle was lost since (a restarted server may have given that handle to another
   * job): nothing is known of the job; re-submit it to learn more.
   */
  stale?: boolean;
}

/** Options of a {@link GearmanJobRequest}. */
export interface GearmanJobRequestOptions {
  /** @default PRIORITY_NONE */
  priority?: Priority;
  /** @default false */
  background?: boolean;
  /** How many times the request may be sent. @default 1 */
  maxAttempts?: number;
  /** Epoch seconds: send SUBMIT_JOB_EPOCH, to run no earlier than then (background only). @default null */
  when?: number | null;
}

/**
 * Events a {@link GearmanJobRequest} emits, as the updates arrive. The request's state is updated
 * and its waits are woken before a listener runs; a listener that throws is rethrown on
 * `process.nextTick` (an uncaught exception of its own) and never affects the connection or the
 * other requests.
 *
 * @typeParam R - the decoded type of data, warnings and the result (the client's encoder's)
 */
export interface GearmanJobRequestEvents<R = unknown> {
  /** JOB_CREATED: the handle is known. */
  created: [handle: string];
  /** WORK_DATA, decoded. */
  data: [data: R];
  /** WORK_WARNING, decoded. */
  warning: [data: R];
  /** WORK_STATUS or STATUS_RES: every field is there. */
  status: [status: ReceivedStatus];
  /** WORK_EXCEPTION, decoded. */
  exception: [data: R];
  /** WORK_COMPLETE, decoded. */
  complete: [result: R];
  /** WORK_FAIL, WORK_EXCEPTION, an ERROR reply to the submission, or a result that failed to decode. */
  failed: [error: GearmanError | undefined];
  /** The connection carrying the request was lost. */
  unknown: [error: GearmanError | undefined];
}

const REQUEST_OPTION_KEYS = ['priority', 'background', 'maxAttempts', 'when'];

/**
 * The options object the client passes when it sets a request's fields itself (checked already):
 * the constructor takes it without looking at its keys. @internal
 */
export const NO_REQUEST_OPTIONS: GearmanJobRequestOptions = Object.freeze({});

/** A plain object with only known keys (checked without allocating; checkOptions explains otherwise). */
function plainRequestOptions(options: unknown): options is GearmanJobRequestOptions {
  if (typeof options !== 'object' || options === null || Object.getPrototypeOf(options) !== Object.prototype) return false;
  for (const key in options) if (key !== 'priority' && key !== 'background' && key !== 'maxAttempts' && key !== 'when') return false;
  return true;
}

/** The rarely used parts of a {@link GearmanJobRequest}. @internal */
class RequestExtras {
  exception: unknown = null;
  error: GearmanError | undefined = undefined;
  dataUpdates: unknown[] | undefined = undefined;
  warningUpdates: unknown[] | undefined = undefined;
  status: JobStatus | undefined = undefined;
  when: number | null = null;
}

/**
 * What the client keeps about how a request goes on the wire: one side object per request, so
 * the request's own fields are only what its users read. It is also the request's
 * {@link WaitSlot}: the client's waits watch it, the handler wakes it, and only the manager
 * touches the waits kept there.
 * @internal
 */
export class RequestWire extends WaitSlot {
  /** The data as encoded for the wire. */
  encoded: string | Uint8Array | undefined = undefined;
  /** The `job.data` that `encoded` was made from. */
  encodedFrom: unknown = undefined;
  /** The unique the submit packet was validated with. */
  validatedUnique: string | null | undefined = undefined;
  /** The unique was generated by the client, not given by the caller. */
  generatedUnique = false;
  /**
   * The connection handler that received the job's handle (JOB_CREATED): a handle means nothing
   * to any other handler, even one of the same connection after a reconnect (a restarted server
   * reuses handles for other jobs).
   */
  handleIssuer: object | undefined = undefined;
}

/**
 * The client's tracker of one job: its state, result and updates. Also an event emitter of the
 * updates as they arrive.
 *
 * @example
 * ```ts
 * const request = new GearmanJobRequest(new GearmanJob(null, null, 'resize', null, imageBytes));
 * request.on('status', (s) => console.log(`${s.numerator}/${s.denominator}`));
 * await client.submitMultipleRequests([request]);
 * console.log(request.state, request.result);
 *
 * // Or follow its updates until it ends:
 * for await (const update of request.updates()) console.log(update.type);
 * ```
 *
 * @typeParam R - the decoded type of data, warnings and the result: what the client's
 * `dataEncoder` returns (`Buffer` by default)
 */
export class GearmanJobRequest<R = unknown> extends EventEmitter<GearmanJobRequestEvents<R>> {
  /** The job. */
  job: GearmanJob;
  /** PRIORITY_NONE, PRIORITY_LOW or PRIORITY_HIGH. */
  priority: Priority;
  /** Background (detached) job? */
  background: boolean;
  /** How many times the request has been sent. */
  connectionAttempts = 0;
  /** How many times it may be sent (the client sets `maxRetries + 1`). */
  maxConnectionAttempts: number;
  /** Decoded WORK_COMPLETE data. */
  result: R | null = null;
  /** JOB_UNKNOWN, JOB_PENDING, JOB_CREATED, JOB_COMPLETE or JOB_FAILED. */
  state: JobState = JOB_UNKNOWN;
  /**
   * Set by the last call that resolved on this request: true when the request did not reach the
   * state that call waited for (accepted for `waitUntilJobsAccepted`, complete for a call that
   * waits for completion, a new status for a status query), including requests lost with their
   * connection (`JOB_UNKNOWN`) while the call went on. False after a call that rejected (a
   * rejection is not a timeout), and on every new send.
   */
  timedOut = false;
  /** How the client sends it (see {@link RequestWire}). @internal */
  readonly wire = new RequestWire();
  // What most requests never need lives in one object made on first use: a client may have a
  // hundred thousand requests in flight.
  #more: RequestExtras | undefined = undefined;

  private more(): RequestExtras {
    return (this.#more ??= new RequestExtras());
  }

  /** Decoded WORK_EXCEPTION data (the last one). */
  get exception(): unknown {
    return this.#more?.exception ?? null;
  }

  /**
   * Sets the exception data (the client does, on WORK_EXCEPTION).
   * @param value - decoded WORK_EXCEPTION data, or `null`
   */
  set exception(value: unknown) {
    if (value !== null || this.#more !== undefined) this.more().exception = value;
  }

  /**
   * Why the request failed or was lost, when there is an error to show: a `ServerError` for an
   * ERROR reply to the submission, the decode error of a result the encoder could not decode, or
   * the error that closed its connection.
   */
  get error(): GearmanError | undefined {
    return this.#more?.error;
  }

  /**
   * Sets the error (the client does, when the request fails or is lost).
   * @param value - the error, or `undefined`
   */
  set error(value: GearmanError | undefined) {
    if (value !== undefined || this.#more !== undefined) this.more().error = value;
  }

  /**
   * Makes a request for `job`, to submit with `submitMultipleRequests` (python-gearman's
   * `GearmanJobRequest(gearman_job, ...)`).
   *
   * @param job - the job to submit
   * @param options - priority, background, and how many attempts are allowed
   * @param positionalBackground - not accepted: refused with a message (python-gearman's positional form)
   * @param positionalMaxAttempts - not accepted, as `positionalBackground`
   * @throws {@link InvalidArgumentError} if `job` is not a GearmanJob, `options` is not an options
   * object (python-gearman's positional `(job, priority, background, max_attempts)` is refused),
   * or has an unknown key
   */
  constructor(job: GearmanJob, options: GearmanJobRequestOptions = {}, positionalBackground?: never, positionalMaxAttempts?: never) {
    super();
    if (!(job instanceof GearmanJob)) throw new InvalidArgumentError(`GearmanJobRequest: expected a GearmanJob, got ${describeValue(job)}`);
    // Named parameters, not a rest parameter or `arguments`: the client makes one request per
    // job, and those would allocate on every call.
    if (positionalBackground !== undefined || positionalMaxAttempts !== undefined) {
      throw new InvalidArgumentError(
        'GearmanJobRequest: expected (job, { priority?, background?, maxAttempts?, when? }), got more arguments; ' +
          'python-gearman\'s positional priority, background and max_attempts are named options here',
      );
    }
    const opts = options === NO_REQUEST_OPTIONS || plainRequestOptions(options) ? options : checkOptions(options, REQUEST_OPTION_KEYS, 'GearmanJobRequest');
    const maxAttempts = opts.maxAttempts ?? 1;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
      throw new InvalidArgumentError(`GearmanJobRequest: maxAttempts must be an integer >= 1, got ${describeValue(maxAttempts)}`);
    }
    this.job = job;
    this.priority = opts.priority ?? PRIORITY_NONE;
    this.background = opts.background ?? false;
    this.maxConnectionAttempts = maxAttempts;
    if (opts.when !== undefined && opts.when !== null) this.when = opts.when;
  }

  /**
   * Epoch seconds the job was scheduled for (SUBMIT_JOB_EPOCH), or `null` for a job to run as
   * soon as a worker takes it.
   */
  get when(): number | null {
    return this.#more?.when ?? null;
  }

  /**
   * Schedules the request (before it is sent).
   * @param value - epoch seconds, or `null` to run as soon as a worker takes it
   */
  set when(value: number | null) {
    if (value !== null || this.#more !== undefined) this.more().when = value;
  }

  /**
   * The request's updates as an async iterator, from now on: `created`, `data`, `warning`,
   * `status`, `exception`, then the terminal one (`complete` or `failed`; `created` for a
   * background job; `unknown` when its connection was lost). Updates are buffered until read; a
   * `break` (or `return()`) stops listening. A request already finished yields its terminal
   * update. While it listens, the iterator keeps the process alive.
   *
   * It sees only what arrives after it is made: after `submitJob(..., { waitUntilComplete: false })`
   * resolves, updates that came in the same read as JOB_CREATED (a fast worker) are already past;
   * they are in `dataUpdates`, `warningUpdates` and `status`. To miss nothing, make the iterator
   * (or pass `onData`/`onStatus`) before the request is sent.
   *
   * @param options - `signal`: ends the iteration, rejecting the pending `next()` with its reason
   * @returns an async iterator of {@link RequestUpdate}s
   *
   * @example
   * ```ts
   * const request = await client.submitJob('resize', image, { waitUntilComplete: false });
   * for await (const update of request.updates()) {
   *   if (update.type === 'status') console.log(`${update.numerator}/${update.denominator}`);
   *   if (update.type === 'complete') console.log(update.result);
   * }
   * ```
   */
  updates(options: UpdatesOptions = {}): RequestUpdates<R> {
    let keepAlive: NodeJS.Timeout | undefined;
    return requestUpdates<R>(this, options, (on) => {
      // A referenced timer, so that a script awaiting updates does not end while the client's
      // idle sockets are unreferenced.
      if (on) keepAlive ??= setInterval(() => undefined, 0x7fffffff);
      else if (keepAlive !== undefined) {
        clearInterval(keepAlive);
        keepAlive = undefined;
      }
    });
  }

  /** `for await (const update of request)`: the same as {@link updates}. */
  [Symbol.asyncIterator](): RequestUpdates<R> {
    return this.updates();
  }

  /** Decoded WORK_DATA payloads, in arrival order. */
  get dataUpdates(): R[] {
    const more = this.more();
    return (more.dataUpdates ??= []) as R[];
  }

  /**
   * Replaces the WORK_DATA list (python-gearman's writable `data_updates`).
   * @param updates - the new list
   */
  set dataUpdates(updates: R[]) {
    this.more().dataUpdates = updates;
  }

  /** Decoded WORK_WARNING payloads, in arrival order. */
  get warningUpdates(): R[] {
    const more = this.more();
    return (more.warningUpdates ??= []) as R[];
  }

  /**
   * Replaces the WORK_WARNING list (python-gearman's writable `warning_updates`).
   * @param updates - the new list
   */
  set warningUpdates(updates: R[]) {
    this.more().warningUpdates = updates;
  }

  /** The last WORK_STATUS or STATUS_RES (`{}` before any). */
  get status(): JobStatus {
    const more = this.more();
    return (more.status ??= {});
  }

  /**
   * Replaces the last status (the client does, on WORK_STATUS and STATUS_RES).
   * @param status - the new status
   */
  set status(status: JobStatus) {
    this.more().status = status;
  }

  /** Alias of {@link job}, python-gearman's `gearman_job`. */
  get gearmanJob(): GearmanJob {
    return this.job;
  }

  /**
   * Replaces the job, as setting {@link GearmanJobRequest.job}.
   * @param job - the new job
   */
  set gearmanJob(job: GearmanJob) {
    this.job = job;
  }

  /**
   * Background and accepted (`JOB_CREATED`), or foreground and finished (`JOB_COMPLETE` or
   * `JOB_FAILED`), as python-gearman. A background request the server refused (an ERROR reply,
   * `JOB_FAILED` with {@link error} set) is complete too: nothing more will happen to it.
   */
  get complete(): boolean {
    const state = this.state;
    return this.background ? state === JOB_CREATED || state === JOB_FAILED : state === JOB_COMPLETE || state === JOB_FAILED;
  }

  /**
   * Makes the request new again, to be submitted (with new data, say) by
   * `submitMultipleRequests`: clears what it learned (result, exception, updates, status, error,
   * state back to `JOB_UNKNOWN`, `timedOut`), the job's handle and connection, and the attempt
   * count (`connectionAttempts` back to 0: a reset request is a new submission, so the default
   * `maxRetries` sends it again; python-gearman kept the count, which refused that send). A
   * unique the client generated is replaced by a fresh one, so gearmand does not coalesce the
   * new submission onto the old job. Nothing of the old job reaches the request afterwards: its
   * connection ignores packets for the old handle. Priority, background, `maxConnectionAttempts`
   * and a unique given by the caller are kept.
   */
  reset(): void {
    this.result = null;
    this.#more = undefined;
    this.state = JOB_UNKNOWN;
    this.timedOut = false;
    this.connectionAttempts = 0;
    this.job.handle = null;
    this.job.connection = null;
    const wire = this.wire;
    wire.handleIssuer = undefined;
    if (wire.generatedUnique) {
      this.job.unique = null;
      wire.generatedUnique = false;
    }
    wire.encoded = undefined;
  }

  /** @returns a short description for logs */
  override toString(): string {
    return `<GearmanJobRequest task=${this.job.task} unique=${this.job.unique} priority=${this.priority} background=${this.background} state=${this.state} timedOut=${this.timedOut}>`;
  }
}
