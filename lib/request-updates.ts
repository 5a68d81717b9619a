/**
 * A request's updates as an async iterator: `for await (const update of request.updates())`.
 *
 * The iterator listens to the request's events from the moment it is made, buffers every update
 * until it is read (nothing is dropped, nothing waits for the reader: the server does not slow
 * down for a slow consumer, so neither can the client), and ends after the terminal update:
 * `complete` or `failed` for a foreground job, `created` or `failed` for a background one, or
 * `unknown` when the connection carrying the request was lost (re-submit the request and iterate
 * again to follow it further). `return()` (a `break` out of the loop) removes its listeners.
 * A request that is already finished yields its terminal update once and ends.
 *
 * @module
 */
import { JOB_COMPLETE, JOB_CREATED, JOB_FAILED, type JobState } from './constants.js';
import type { GearmanError } from './errors.js';
import { abortReason } from './abort.js';

/** A status update: WORK_STATUS from the worker, or STATUS_RES from a status query. */
export interface ReceivedStatus {
  /** Job handle the status is for. */
  handle: string;
  /** Whether the server knows the job (always true for WORK_STATUS). */
  known: boolean;
  /** Whether a worker is running it (always true for WORK_STATUS). */
  running: boolean;
  /** Progress numerator. */
  numerator: number;
  /** Progress denominator. */
  denominator: number;
  /** When it arrived, in seconds since the epoch (a float), as python-gearman. */
  timeReceived: number;
  /** `timeReceived` of the status before the last status query (python-gearman's `last_time_received`). */
  lastTimeReceived?: number | null;
}

/**
 * One update of a request, as {@link RequestUpdates} yields them.
 *
 * @typeParam R - the decoded type of data, warnings and the result (the client's encoder's)
 */
export type RequestUpdate<R = unknown> =
  | {
      /** JOB_CREATED: the server accepted the job. */
      type: 'created';
      /** The job handle the server gave it. */
      handle: string;
    }
  | {
      /** WORK_DATA. */
      type: 'data';
      /** The payload, decoded. */
      data: R;
    }
  | {
      /** WORK_WARNING. */
      type: 'warning';
      /** The payload, decoded. */
      data: R;
    }
  | {
      /** WORK_STATUS, or STATUS_RES from a status query. */
      type: 'status';
      /** Work done, as the worker sent it. */
      numerator: number;
      /** Work in all, as the worker sent it. */
      denominator: number;
      /** The whole status, as `request.status` holds it now. */
      status: ReceivedStatus;
    }
  | {
      /** WORK_EXCEPTION (the job fails next, with a `failed` update). */
      type: 'exception';
      /** The exception data, decoded. */
      data: R;
    }
  | {
      /** WORK_COMPLETE: terminal. */
      type: 'complete';
      /** The result, decoded. */
      result: R;
    }
  | {
      /** WORK_FAIL, WORK_EXCEPTION, an ERROR reply, or a result that failed to decode: terminal. */
      type: 'failed';
      /** Why, when there is an error to show (see `request.error`). */
      error: GearmanError | undefined;
    }
  | {
      /** The connection carrying the request was lost: terminal for this iterator. */
      type: 'unknown';
      /** The error that closed the connection, if any. */
      error: GearmanError | undefined;
    };

/** What the iterator needs of a request: its events and its state. @internal */
export interface UpdateSource<R = unknown> {
  readonly state: JobState;
  readonly background: boolean;
  readonly result: R | null;
  readonly error: GearmanError | undefined;
  readonly job: { readonly handle: string | null };
  // Any emitter fits: each listener takes its own event's arguments.
  on(event: (typeof EVENTS)[number], listener: (...args: any[]) => void): unknown;
  // Any emitter fits: each listener takes its own event's arguments.
  off(event: (typeof EVENTS)[number], listener: (...args: any[]) => void): unknown;
}

/** Options of {@link GearmanJobRequest.updates}. */
export interface UpdatesOptions {
  /**
   * Ends the iteration: a pending `next()` rejects with the signal's reason. The request is left as it is.
   * @default undefined (the iteration ends with the request's terminal update, or `return()`)
   */
  signal?: AbortSignal;
}

/**
 * The async iterator of one request's updates (see the module comment).
 *
 * @typeParam R - the decoded type of data, warnings and the result
 */
export interface RequestUpdates<R = unknown> extends AsyncIterableIterator<RequestUpdate<R>> {
  /** Stops listening; a pending `next()` resolves `{ done: true }`. */
  return(): Promise<IteratorResult<RequestUpdate<R>, undefined>>;
}

const EVENTS = ['created', 'data', 'warning', 'status', 'exception', 'complete', 'failed', 'unknown'] as const;

/**
 * Makes the iterator of `request`'s updates.
 *
 * @param request - the request to follow
 * @param options - `signal` to end the iteration
 * @param hold - called with `true` while the iterator is listening and `false` once it ended, so
 * the caller can keep the process alive while someone waits for updates
 * @internal
 */
export function requestUpdates<R>(request: UpdateSource<R>, options: UpdatesOptions = {}, hold?: (on: boolean) => void): RequestUpdates<R> {
  const buffer: RequestUpdate<R>[] = [];
  let readers: { resolve: (r: IteratorResult<RequestUpdate<R>, undefined>) => void; reject: (e: unknown) => void }[] = [];
  let ended = false;
  let failure: { reason: unknown } | undefined;
  const signal = options.signal;

  // Each listener takes its own event's arguments.
  const listeners: Record<(typeof EVENTS)[number], (...args: any[]) => void> = {
    created: (handle: string) => push({ type: 'created', handle }, request.background),
    data: (data: R) => push({ type: 'data', data }, false),
    warning: (data: R) => push({ type: 'warning', data }, false),
    status: (status: ReceivedStatus) => push({ type: 'status', numerator: status.numerator, denominator: status.denominator, status }, false),
    exception: (data: R) => push({ type: 'exception', data }, false),
    complete: (result: R) => push({ type: 'complete', result }, true),
    failed: (error: GearmanError | undefined) => push({ type: 'failed', error }, true),
    unknown: (error: GearmanError | undefined) => push({ type: 'unknown', error }, true),
  };

  function detach(): void {
    if (ended) return;
    ended = true;
    for (const event of EVENTS) request.off(event, listeners[event]);
    if (signal !== undefined) signal.removeEventListener('abort', onAbort);
    hold?.(false);
  }

  function push(update: RequestUpdate<R>, terminal: boolean): void {
    if (ended) return;
    const reader = readers.shift();
    if (reader !== undefined) reader.resolve({ value: update, done: false });
    else buffer.push(update);
    if (terminal) {
      detach();
      // Readers beyond the one that got the terminal update see the end.
      for (const r of readers.splice(0)) r.resolve({ value: undefined, done: true });
    }
  }

  function onAbort(): void {
    if (ended) return;
    const reason = abortReason(signal!);
    detach();
    buffer.length = 0;
    const waiting = readers.splice(0);
    // The reason goes to the reads already waiting, or else to the next read; then the end.
    if (waiting.length === 0) failure = { reason };
    for (const r of waiting) r.reject(reason);
  }

  const finished = terminalOf(request);
  if (finished !== undefined) {
    buffer.push(finished);
    ended = true;
  } else if (signal?.aborted) {
    failure = { reason: abortReason(signal) };
    ended = true;
  } else {
    for (const event of EVENTS) request.on(event, listeners[event]);
    signal?.addEventListener('abort', onAbort, { once: true });
    hold?.(true);
  }

  const iterator: RequestUpdates<R> = {
    next(): Promise<IteratorResult<RequestUpdate<R>, undefined>> {
      if (buffer.length > 0) return Promise.resolve({ value: buffer.shift()!, done: false });
      if (failure !== undefined) {
        const reason = failure.reason;
        failure = undefined;
        return Promise.reject(reason);
      }
      if (ended) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve, reject) => readers.push({ resolve, reject }));
    },
    return(): Promise<IteratorResult<RequestUpdate<R>, undefined>> {
      detach();
      buffer.length = 0;
      failure = undefined;
      const waiting = readers;
      readers = [];
      for (const r of waiting) r.resolve({ value: undefined, done: true });
      return Promise.resolve({ value: undefined, done: true });
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

/** The terminal update of a request that has already finished, or undefined. */
function terminalOf<R>(request: UpdateSource<R>): RequestUpdate<R> | undefined {
  const state = request.state;
  if (state === JOB_FAILED) return { type: 'failed', error: request.error };
  if (request.background) return state === JOB_CREATED ? { type: 'created', handle: request.job.handle ?? '' } : undefined;
  if (state === JOB_COMPLETE) return { type: 'complete', result: request.result as R };
  return undefined;
}
