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

/** Options accepted by every error constructor. */
export interface GearmanErrorOptions {
  /** The underlying error. */
  cause?: unknown;
  /** Overrides the class's default `code`. */
  code?: string;
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
  readonly code: string;

  /**
   * @param message - what went wrong, and where
   * @param options - `cause` and an optional `code`
   */
  constructor(message: string, options: GearmanErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code ?? (new.target as unknown as { defaultCode: string }).defaultCode ?? 'GEARMAN_ERROR';
  }

  /** @internal */
  static defaultCode = 'GEARMAN_ERROR';
}

/**
 * A socket could not be connected, was reset, or was closed (`code` `'CONNECTION_ERROR'`,
 * `'CONNECT_TIMEOUT'`, or `'SHUTDOWN'` when `shutdown()` closed it).
 */
export class ConnectionError extends GearmanError {
  /** @internal */
  static override defaultCode = 'CONNECTION_ERROR';
}

/** No server in the list could be reached, or every polled connection died (`'SERVER_UNAVAILABLE'`). */
export class ServerUnavailable extends GearmanError {
  /** @internal */
  static override defaultCode = 'SERVER_UNAVAILABLE';
  /**
   * The requests of the call that failed, when the call was a client submission or wait. They are
   * left in `JOB_UNKNOWN` (or whatever state they reached), ready for `submitMultipleRequests`.
   */
  requests?: GearmanJobRequest[];
}

/**
 * Bytes that break the framing: bad magic, unknown packet type, oversize packet, argument count
 * mismatch, or an argument that cannot be encoded (`'PROTOCOL_ERROR'`). A connection that received
 * one is closed.
 */
export class ProtocolError extends GearmanError {
  /** @internal */
  static override defaultCode = 'PROTOCOL_ERROR';
  /** The offending bytes (at most 64), when the error came from decoding. */
  readonly bytes?: Buffer;
  /** Offset of the offending bytes in the connection's received stream. */
  readonly offset?: number;

  /**
   * @param message - what went wrong
   * @param options - `cause`, `code`, and the offending `bytes` and their stream `offset`
   */
  constructor(message: string, options: GearmanErrorOptions & { bytes?: Buffer; offset?: number } = {}) {
    super(message, options);
    if (options.bytes !== undefined) this.bytes = options.bytes;
    if (options.offset !== undefined) this.offset = options.offset;
  }
}

/** A well-formed packet that the receiving handler has no method for (`'UNKNOWN_COMMAND'`). */
export class UnknownCommandError extends GearmanError {
  /** @internal */
  static override defaultCode = 'UNKNOWN_COMMAND';
}

/** A request was sent `maxRetries + 1` times already (`'EXCEEDED_CONNECTION_ATTEMPTS'`). */
export class ExceededConnectionAttempts extends GearmanError {
  /** @internal */
  static override defaultCode = 'EXCEEDED_CONNECTION_ATTEMPTS';
}

/** The client got a packet its requests' states do not allow, or was misused (`'INVALID_CLIENT_STATE'`). */
export class InvalidClientState extends GearmanError {
  /** @internal */
  static override defaultCode = 'INVALID_CLIENT_STATE';
}

/** The worker got a packet its state does not allow, or was misused (`'INVALID_WORKER_STATE'`). */
export class InvalidWorkerState extends GearmanError {
  /** @internal */
  static override defaultCode = 'INVALID_WORKER_STATE';
}

/** The admin client timed out or got an unexpected answer (`'INVALID_ADMIN_CLIENT_STATE'`). */
export class InvalidAdminClientState extends GearmanError {
  /** @internal */
  static override defaultCode = 'INVALID_ADMIN_CLIENT_STATE';
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
  static override defaultCode = 'SERVER_ERROR';
  /** The server's error code, e.g. `QUEUE_ERROR` or `UNKNOWN_COMMAND`. */
  readonly serverCode: string;
  /** The server's error text (admin `+`-encoding undone). */
  readonly serverText: string;

  /**
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
