/**
 * Error classes. Every error has a stable string `code`, a message that names what went wrong and
 * where (host:port, packet type, handle), and keeps its `cause` where there is one.
 *
 * A failed job is not an error (it is the request state `JOB_FAILED`) and a timed-out wait is not
 * an error either (it sets `timedOut`), as in python-gearman.
 *
 * @module
 */
import type { GearmanJobRequest } from './job.js';

/**
 * Every `code` an error of this library carries. Codes that callers must tell apart have a class
 * of their own ({@link ShutdownError}, {@link ConnectTimeoutError}, {@link InvalidArgumentError},
 * ...); the others refine the class's message.
 */
export type GearmanErrorCode =
  | 'GEARMAN_ERROR'
  | 'CONNECTION_ERROR'
  | 'CONNECT_TIMEOUT'
  | 'SHUTDOWN'
  | 'SERVER_UNAVAILABLE'
  | 'PROTOCOL_ERROR'
  | 'UNKNOWN_COMMAND'
  | 'EXCEEDED_CONNECTION_ATTEMPTS'
  | 'INVALID_CLIENT_STATE'
  | 'INVALID_WORKER_STATE'
  | 'INVALID_ADMIN_CLIENT_STATE'
  | 'SERVER_ERROR'
  | 'INVALID_ARGUMENT'
  | 'INVALID_HOST'
  | 'LISTING_TOO_LARGE'
  | 'STALE_HANDLE'
  | 'DECODE_ERROR'
  | 'ABORTED';

/** Options accepted by every error constructor. */
export interface GearmanErrorOptions {
  /** The underlying error. @default undefined (no `cause`) */
  cause?: unknown;
  /** Overrides the class's default `code`. @default the class's code (`'GEARMAN_ERROR'` for GearmanError) */
  code?: GearmanErrorCode;
  /**
   * The requests of the client call that rejected, left in the state they reached (usually
   * `JOB_UNKNOWN`), ready for `submitMultipleRequests`. Kept non-enumerable, so a logged error
   * does not print every connection.
   * @default undefined (no `requests`)
   */
  requests?: GearmanJobRequest[];
}

/**
 * Base class of every error this library raises.
 *
 * @example
 * ```ts
 * try { await client.submitJob('reverse', 'x'); }
 * catch (err) { if (err instanceof GearmanError) console.error(err.code, err.message); }
 * ```
 */
export class GearmanError extends Error {
  /** Stable, machine-readable error code. */
  readonly code: GearmanErrorCode;
  /**
   * The requests of the client call that rejected (every rejection of a call that holds requests
   * carries them), in the state they reached: the recovery recipe re-submits them.
   */
  declare readonly requests?: GearmanJobRequest[];

  /**
   * Makes an error; its `code` is the class's unless `options.code` says otherwise.
   *
   * @param message - what went wrong, and where
   * @param options - `cause`, an optional `code`, and the call's `requests`
   */
  constructor(message: string, options: GearmanErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code ?? (new.target as unknown as { defaultCode: GearmanErrorCode }).defaultCode ?? 'GEARMAN_ERROR';
    if (options.requests !== undefined) attachRequests(this, options.requests);
  }

  /** @internal */
  static defaultCode: GearmanErrorCode = 'GEARMAN_ERROR';

  /**
   * `err instanceof GearmanError` is also true for an {@link InvalidArgumentError}, which is a
   * `TypeError` (API.md promises `TypeError` for bad arguments) and so cannot extend this class.
   *
   * @param value - the value on the left of `instanceof`
   * @returns whether it is an instance of this class (or, for `GearmanError` itself, an
   * {@link InvalidArgumentError})
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    return this === GearmanError && value instanceof InvalidArgumentError;
  }
}

/**
 * Attaches a call's requests to an error that rejects it, unless it has some already.
 * Non-enumerable: requests reference connections, which would flood a logged error.
 * @internal
 */
export function attachRequests<E>(error: E, requests: GearmanJobRequest[]): E {
  if (typeof error === 'object' && error !== null && (error as { requests?: unknown }).requests === undefined) {
    Object.defineProperty(error, 'requests', { value: requests, enumerable: false, writable: true, configurable: true });
  }
  return error;
}

/**
 * A bad argument: a wrong type, an unknown option key, a positional argument where an options
 * object belongs, a task name or unique the protocol cannot carry (`code` `'INVALID_ARGUMENT'`,
 * or `'INVALID_HOST'` for a malformed host entry). Thrown by constructors, and as the rejection
 * of async methods, before anything is sent.
 *
 * It extends `TypeError`, as API.md promises for bad arguments, so it cannot extend
 * {@link GearmanError} as well; `instanceof GearmanError` is nevertheless true for it (see
 * `GearmanError[Symbol.hasInstance]`), and it has the same `code` field.
 *
 * @example
 * ```ts
 * try { await client.submitJob('reverse', 'x', { poll_timeout: 1 } as never); }
 * catch (err) { console.log(err instanceof TypeError, (err as InvalidArgumentError).code); } // true 'INVALID_ARGUMENT'
 * ```
 */
export class InvalidArgumentError extends TypeError {
  /** `'INVALID_ARGUMENT'`, or `'INVALID_HOST'` for a malformed host entry. */
  readonly code: GearmanErrorCode;

  /**
   * Makes an argument error (`code` `'INVALID_ARGUMENT'` unless `options.code` says otherwise).
   *
   * @param message - what is wrong, naming the argument and where it was given
   * @param options - `cause` and an optional `code`
   */
  constructor(message: string, options: { cause?: unknown; code?: 'INVALID_ARGUMENT' | 'INVALID_HOST' } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'InvalidArgumentError';
    this.code = options.code ?? 'INVALID_ARGUMENT';
  }
}

/**
 * A socket could not be connected, was reset, or was closed (`code` `'CONNECTION_ERROR'`,
 * `'CONNECT_TIMEOUT'`, or `'SHUTDOWN'` when `shutdown()` closed it).
 *
 * @example
 * ```ts
 * const client = new GearmanClient(['127.0.0.1:1']); // nothing listens there
 * try { await client.establishConnection(client.connectionList[0]!); }
 * catch (err) { if (err instanceof ConnectionError) console.log(err.code, err.message); } // 'CONNECTION_ERROR' '127.0.0.1:1: ...'
 * ```
 */
export class ConnectionError extends GearmanError {
  /** @internal */
  static override defaultCode: GearmanErrorCode = 'CONNECTION_ERROR';
}

/**
 * `shutdown()` (or a worker's `stop()` past its grace period) closed the connection a call was
 * waiting on (`'SHUTDOWN'`). The object can be used again: it reconnects.
 *
 * @example
 * ```ts
 * const waiting = client.submitJob('slow', 'x');
 * client.shutdown();
 * await waiting.catch((err) => console.log(err instanceof ShutdownError)); // true
 * ```
 */
export class ShutdownError extends ConnectionError {
  /** @internal */
  static override defaultCode: GearmanErrorCode = 'SHUTDOWN';
}

/**
 * A TCP connect or TLS handshake did not finish in time (`'CONNECT_TIMEOUT'`): see the
 * `connectTimeoutMs` option.
 *
 * @example
 * ```ts
 * const client = new GearmanClient(['gearman.example.com'], { connectTimeoutMs: 100 });
 * await client.establishConnection(client.connectionList[0]!).catch((err) => console.log(err.code)); // 'CONNECT_TIMEOUT'
 * ```
 */
export class ConnectTimeoutError extends ConnectionError {
  /** @internal */
  static override defaultCode: GearmanErrorCode = 'CONNECT_TIMEOUT';
}

/**
 * No server in the list could be reached, or every polled connection died
 * (`'SERVER_UNAVAILABLE'`). The message names each server and why it is down; `cause` holds the
 * connection errors.
 *
 * @example
 * ```ts
 * try { await client.submitJob('reverse', 'x'); }
 * catch (err) { if (err instanceof ServerUnavailable) console.error(err.message, err.requests); }
 * ```
 */
export class ServerUnavailable extends GearmanError {
  /** @internal */
  static override defaultCode: GearmanErrorCode = 'SERVER_UNAVAILABLE';
}

/**
 * Bytes that break the framing: bad magic, unknown packet type, oversize packet, argument count
 * mismatch, or an argument that cannot be encoded (`'PROTOCOL_ERROR'`). A connection that received
 * one is closed.
 *
 * @example
 * ```ts
 * import { protocol, ProtocolError } from 'gearman-ts';
 * try { protocol.encodePacket(protocol.CommandType.SUBMIT_JOB, ['bad\0task', '', 'data']); }
 * catch (err) { console.log(err instanceof ProtocolError); } // true: NUL in an argument that is not the last
 * ```
 */
export class ProtocolError extends GearmanError {
  /** @internal */
  static override defaultCode: GearmanErrorCode = 'PROTOCOL_ERROR';
  /** The offending bytes (at most 64), when the error came from decoding. */
  readonly bytes?: Buffer;
  /** Offset of the offending bytes in the connection's received stream. */
  readonly offset?: number;

  /**
   * Makes a protocol error.
   *
   * @param message - what went wrong
   * @param options - `cause`, `code`, and the offending `bytes` and their stream `offset`
   */
  constructor(message: string, options: GearmanErrorOptions & { bytes?: Buffer; offset?: number } = {}) {
    super(message, options);
    if (options.bytes !== undefined) this.bytes = options.bytes;
    if (options.offset !== undefined) this.offset = options.offset;
  }
}

/**
 * A well-formed packet that the receiving handler has no method for (`'UNKNOWN_COMMAND'`): the
 * connection it came on is closed, as for a {@link ProtocolError}.
 *
 * @example
 * ```ts
 * request.on('unknown', (err) => {
 *   if (err instanceof UnknownCommandError) console.warn('the server sent a packet the client does not handle');
 * });
 * ```
 */
export class UnknownCommandError extends GearmanError {
  /** @internal */
  static override defaultCode: GearmanErrorCode = 'UNKNOWN_COMMAND';
}

/**
 * A request was sent `maxRetries + 1` times already (`'EXCEEDED_CONNECTION_ATTEMPTS'`). Its
 * `cause` is the error that lost the last send.
 *
 * @example
 * ```ts
 * try { await client.submitJob('reverse', 'x', { maxRetries: 2 }); }
 * catch (err) { if (err instanceof ExceededConnectionAttempts) console.error(err.message, err.cause); }
 * ```
 */
export class ExceededConnectionAttempts extends GearmanError {
  /** @internal */
  static override defaultCode: GearmanErrorCode = 'EXCEEDED_CONNECTION_ATTEMPTS';
}

/**
 * The client got a packet its requests' states do not allow, or was misused
 * (`'INVALID_CLIENT_STATE'`).
 *
 * @example
 * ```ts
 * const request = new GearmanJobRequest(new GearmanJob(null, null, 'reverse', null, 'x'));
 * await client.getJobStatus(request).catch((err) => console.log(err instanceof InvalidClientState)); // true: no handle yet
 * ```
 */
export class InvalidClientState extends GearmanError {
  /** @internal */
  static override defaultCode: GearmanErrorCode = 'INVALID_CLIENT_STATE';
}

/**
 * The worker got a packet its state does not allow, or was misused (`'INVALID_WORKER_STATE'`).
 *
 * @example
 * ```ts
 * const running = worker.work();
 * await worker.work().catch((err) => console.log(err instanceof InvalidWorkerState)); // true: work() is already running
 * ```
 */
export class InvalidWorkerState extends GearmanError {
  /** @internal */
  static override defaultCode: GearmanErrorCode = 'INVALID_WORKER_STATE';
}

/**
 * The admin client timed out or got an unexpected answer (`'INVALID_ADMIN_CLIENT_STATE'`).
 *
 * @example
 * ```ts
 * const admin = new GearmanAdminClient(['localhost:4730'], { pollTimeout: 0.5 });
 * try { await admin.getStatus(); }
 * catch (err) { if (err instanceof InvalidAdminClientState) console.warn(err.message); } // no answer in 0.5 s
 * ```
 */
export class InvalidAdminClientState extends GearmanError {
  /** @internal */
  static override defaultCode: GearmanErrorCode = 'INVALID_ADMIN_CLIENT_STATE';
}

/**
 * An admin listing grew past the admin client's `maxListingRows` or `maxListingBytes` before its
 * end arrived (`'LISTING_TOO_LARGE'`): the connection was reset, so a server that streams rows
 * without end cannot exhaust the heap. The next call connects anew.
 *
 * @example
 * ```ts
 * try { await admin.getJobs(); }
 * catch (err) { if (err instanceof ListingTooLargeError) console.log(err.limit, err.rows); }
 * ```
 */
export class ListingTooLargeError extends InvalidAdminClientState {
  /** @internal */
  static override defaultCode: GearmanErrorCode = 'LISTING_TOO_LARGE';
  /** Which limit was passed. */
  readonly limit: 'maxListingRows' | 'maxListingBytes';
  /** Rows received when the limit was passed. */
  readonly rows: number;
  /** Bytes received (lines with their `\n`) when the limit was passed. */
  readonly bytes: number;

  /**
   * Makes a listing error.
   *
   * @param message - the server, the command and the limit
   * @param details - which limit, and the rows and bytes received
   * @param options - `cause`
   */
  constructor(message: string, details: { limit: 'maxListingRows' | 'maxListingBytes'; rows: number; bytes: number }, options: GearmanErrorOptions = {}) {
    super(message, options);
    this.limit = details.limit;
    this.rows = details.rows;
    this.bytes = details.bytes;
  }
}

/**
 * The server answered with an ERROR packet or an admin `ERR` line (`'SERVER_ERROR'`).
 *
 * @example
 * ```ts
 * try { await admin.sendShutdown(); }
 * catch (err) { if (err instanceof ServerError) console.log(err.serverCode); } // 'UNKNOWN_COMMAND'
 * ```
 */
export class ServerError extends GearmanError {
  /** @internal */
  static override defaultCode: GearmanErrorCode = 'SERVER_ERROR';
  /** The server's error code, e.g. `QUEUE_ERROR` or `UNKNOWN_COMMAND`. */
  readonly serverCode: string;
  /** The server's error text (admin `+`-encoding undone). */
  readonly serverText: string;

  /**
   * Makes a server error.
   *
   * @param message - where the error came from
   * @param serverCode - the server's code
   * @param serverText - the server's text
   * @param options - `cause` and `code`
   */
  constructor(message: string, serverCode: string, serverText: string, options: GearmanErrorOptions = {}) {
    super(message, options);
    this.serverCode = serverCode;
    this.serverText = serverText;
  }
}
