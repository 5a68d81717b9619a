/**
 * `GearmanAdminClient`: the text admin protocol of one server, as python-gearman's
 * `gearman.admin_client`, with typed results parsed from gearmand 1.1's real output.
 *
 * @module
 */
import { performance } from 'node:perf_hooks';
import { ConnectionManager, type ConnectionManagerOptions } from './connection-manager.js';
import { AdminClientCommandHandler, type AdminCommand } from './command-handler/admin-handler.js';
import type { GearmanConnection } from './connection.js';
import {
  ConnectionError,
  InvalidAdminClientState,
  InvalidArgumentError,
  ServerUnavailable,
  type GearmanError,
  type ListingTooLargeError,
  type ProtocolError,
  type ServerError,
} from './errors.js';
import { checkOptions, checkPollTimeout, checkTaskName, describeValue } from './arguments.js';
import {
  adminLine,
  checkAdminHandle,
  checkAdminInteger,
  parseJobs,
  parsePriorityStatus,
  parseStatus,
  parseUniqueJobs,
  parseWorkers,
  stripOk,
  type AdminResponseKind,
  type JobRow,
  type PriorityStatusRow,
  type StatusRow,
  type WorkerRow,
} from './protocol/admin.js';
import type { HostEntry } from './hosts.js';
import { ConnectionAnnouncer, shutdownAndWait, type ConnectionStateEvents } from './connection-events.js';

export type { JobRow, PriorityStatusRow, StatusRow, WorkerRow } from './protocol/admin.js';

/** What {@link GearmanAdminClient.pingServer} sends (python-gearman's `ECHO_STRING`). */
export const ECHO_STRING = 'ping? pong!';
/** Default {@link GearmanAdminClient.pollTimeout}, in seconds (python-gearman's `poll_timeout`). */
export const DEFAULT_ADMIN_CLIENT_TIMEOUT = 10;
/** Default {@link GearmanAdminClientOptions.maxListingRows}. */
export const DEFAULT_MAX_LISTING_ROWS = 1_000_000;
/** Default {@link GearmanAdminClientOptions.maxListingBytes} (64 MiB). */
export const DEFAULT_MAX_LISTING_BYTES = 64 * 1024 * 1024;

/** Options of a {@link GearmanAdminClient}. */
export interface GearmanAdminClientOptions extends ConnectionManagerOptions {
  /**
   * Seconds each call may take, connecting included; `null` (or `Infinity`) waits without limit
   * (python-gearman's `poll_timeout`). `0` does not wait, so every call times out.
   * @default 10
   */
  pollTimeout?: number | null;
  /**
   * Most rows one listing (`status`, `workers`, `show jobs`, ...) may have. A server that sends
   * more before the listing's end makes the call reject with a {@link ListingTooLargeError}, and
   * the connection is reset.
   * @default 1000000
   */
  maxListingRows?: number;
  /**
   * Most bytes one listing may have (its lines with their line ends). Past it, as
   * {@link maxListingRows}.
   * @default 67108864 (64 MiB)
   */
  maxListingBytes?: number;
}

/** Options of one admin call. */
export interface AdminCallOptions {
  /**
   * Seconds this call may take, connecting included; `null` waits without limit. Defaults to the
   * client's {@link GearmanAdminClient.pollTimeout}.
   * @default the client's `pollTimeout` (10 s unless set)
   */
  pollTimeout?: number | null;
}

const OPTION_KEYS: readonly string[] = [
  'pollTimeout',
  'maxListingRows',
  'maxListingBytes',
  'dataEncoder',
  'connectTimeoutMs',
  'keepAlive',
  'maxPacketSize',
  'logger',
  'createSocket',
] satisfies ReadonlyArray<keyof GearmanAdminClientOptions>;

const CALL_KEYS: readonly string[] = ['pollTimeout'] satisfies ReadonlyArray<keyof AdminCallOptions>;

function positiveInteger(value: unknown, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new InvalidArgumentError(`GearmanAdminClient options: ${name} must be a positive integer, got ${describeValue(value)}`);
  }
  return value;
}

/** Checks the constructor's options before the base class sees them. */
function checkAdminOptions(options: GearmanAdminClientOptions | null | undefined): GearmanAdminClientOptions {
  return checkOptions(options, OPTION_KEYS, 'GearmanAdminClient options');
}

const CONNECT_TIMED_OUT = Symbol('connect timed out');

/**
 * An admin client for one server: the text admin protocol (`status`, `workers`, `show jobs`, …)
 * and an ECHO round trip, as python-gearman's `GearmanAdminClient`.
 *
 * Every method is async and rejects (never throws synchronously):
 * - with a {@link ServerError} (`serverCode`, `serverText`) when the server answers `ERR`, at once;
 * - with an {@link InvalidAdminClientState} when the call does not end within its `pollTimeout`,
 *   connecting included; the connection is then closed, so a late answer can never be taken for a
 *   later call's;
 * - with a {@link ServerUnavailable} naming host:port when the server cannot be reached or the
 *   connection is lost before the answer;
 * - with an {@link InvalidArgumentError} (a `TypeError`), before anything is sent, for an argument
 *   the text protocol cannot carry or an unknown option;
 * - with a {@link ListingTooLargeError} for a listing past `maxListingRows` / `maxListingBytes`
 *   (the connection is reset);
 * - with a {@link ProtocolError} for a listing row it cannot parse (the connection stays), or for
 *   bytes that break the framing (the connection is then closed).
 *
 * After any of these the client stays usable (it reconnects when needed). Calls may overlap: each
 * gets its own answer.
 *
 * @example
 * ```ts
 * import { GearmanAdminClient } from 'gearman-ts';
 *
 * const admin = new GearmanAdminClient(['localhost:4730'], { pollTimeout: 2 });
 * console.log(await admin.getVersion());          // '1.1.20+ds'
 * for (const row of await admin.getStatus()) console.log(row.task, row.queued, row.running, row.workers);
 * console.log(`${(await admin.pingServer()) * 1000} ms`);
 * admin.shutdown();
 * ```
 */
export class GearmanAdminClient extends ConnectionManager<AdminClientCommandHandler> {
  /** Most rows one listing may have (see {@link GearmanAdminClientOptions.maxListingRows}). */
  readonly maxListingRows: number;
  /** Most bytes one listing may have (see {@link GearmanAdminClientOptions.maxListingBytes}). */
  readonly maxListingBytes: number;
  private timeout: number | null;
  /** Calls waiting for the connect under way (the last one to give up closes it). */
  private connectWaiters = 0;

  /**
   * @param hostList - exactly one server (`'host'`, `'host:port'`, `'[v6]:port'` or an object);
   * none (or an empty list) means `'localhost:4730'`
   * @param options - see {@link GearmanAdminClientOptions}
   * @throws {@link InvalidArgumentError} (code `'INVALID_HOST'`) for a malformed entry or more than
   * one server; (code `'INVALID_ARGUMENT'`) for an unknown option, a positional argument in place
   * of the options, a `pollTimeout` that is not a number >= 0 or `null`, or a listing limit that is
   * not a positive integer
   */
  constructor(hostList?: [HostEntry] | HostEntry[] | null, options: GearmanAdminClientOptions = {}) {
    const opts = checkAdminOptions(options);
    super(hostList, opts, true);
    if (this.connectionList.length !== 1) {
      throw new InvalidArgumentError(
        `GearmanAdminClient takes exactly one server, got ${this.connectionList.length}: ask each server with its own admin client`,
        { code: 'INVALID_HOST' },
      );
    }
    this.timeout = opts.pollTimeout === undefined ? DEFAULT_ADMIN_CLIENT_TIMEOUT : checkPollTimeout(opts.pollTimeout, 'GearmanAdminClient options');
    this.maxListingRows = positiveInteger(opts.maxListingRows, DEFAULT_MAX_LISTING_ROWS, 'maxListingRows');
    this.maxListingBytes = positiveInteger(opts.maxListingBytes, DEFAULT_MAX_LISTING_BYTES, 'maxListingBytes');
  }

  /**
   * Seconds each call may take, connecting included (`null`: no limit; `undefined` and `Infinity`
   * are read as `null`). May be changed between calls.
   * @default 10
   * @throws {@link InvalidArgumentError} when set to anything but a number >= 0, `null` or `undefined`
   */
  get pollTimeout(): number | null {
    return this.timeout;
  }

  /**
   * Changes the seconds each later call may take.
   * @param value - a number >= 0, or `null` for no limit
   * @throws {@link InvalidArgumentError} for anything else
   */
  set pollTimeout(value: number | null) {
    this.timeout = checkPollTimeout(value, 'GearmanAdminClient.pollTimeout');
  }

  /** The one connection (python-gearman's `current_connection`). */
  get currentConnection(): GearmanConnection {
    return this.connectionList[0]!;
  }

  /**
   * Makes the command handler of a new connection (see {@link ConnectionManager}); override to
   * plug in a handler subclass, as python-gearman's `command_handler_class`.
   * @param connection - the connection just established
   */
  protected createCommandHandler(connection: GearmanConnection): AdminClientCommandHandler {
    // This client is the handler's AdminHandlerHost (checked structurally here).
    return new AdminClientCommandHandler(this, connection);
  }

  /**
   * Connects if needed (python-gearman's `establish_admin_connection`) and returns the live
   * handler, within `timeout` seconds.
   */
  private async handler(timeout: number | null, name: string): Promise<AdminClientCommandHandler> {
    const connection = this.currentConnection;
    const live = connection.connected ? (connection.handler as AdminClientCommandHandler | undefined) : undefined;
    if (live !== undefined) return live;
    const connecting = this.establishConnection(connection);
    // Not awaited once the call gives up: its failure is reported through `outcome` or not at all.
    connecting.catch(() => undefined);
    let outcome: GearmanConnection | typeof CONNECT_TIMED_OUT;
    let timer: NodeJS.Timeout | undefined;
    this.connectWaiters++;
    try {
      // The call's deadline covers the connect: a listener that never accepts, or a TLS handshake
      // that never ends, must not hold the call for connectTimeoutMs. (Beyond setTimeout's range,
      // about 24.8 days, there is no practical limit.)
      outcome =
        timeout === null || timeout * 1000 > 2_147_483_647
          ? await connecting
          : await Promise.race([
              connecting,
              new Promise<typeof CONNECT_TIMED_OUT>((resolve) => {
                timer = setTimeout(resolve, Math.round(timeout * 1000), CONNECT_TIMED_OUT);
              }),
            ]);
    } catch (err) {
      if ((err as GearmanError).code === 'SHUTDOWN') throw err;
      throw this.unavailable([connection]);
    } finally {
      clearTimeout(timer);
      this.connectWaiters--;
    }
    if (outcome === CONNECT_TIMED_OUT) {
      // No call waits for this connect any more: stop it, so its socket does not keep the process
      // alive until connectTimeoutMs. The next call connects anew.
      if (this.connectWaiters === 0 && connection.connecting) connection.close();
      throw new InvalidAdminClientState(`${connection.address}: admin client timed out after ${timeout} second(s) connecting, before sending '${name}'`);
    }
    const handler = connection.handler as AdminClientCommandHandler | undefined;
    if (handler === undefined) throw this.unavailable([connection]);
    return handler;
  }

  /** The call's pollTimeout: its own option, else the client's. */
  private callTimeout(options: AdminCallOptions | undefined, where: string): number | null {
    const opts = checkOptions(options, CALL_KEYS, where);
    return opts.pollTimeout === undefined ? this.timeout : checkPollTimeout(opts.pollTimeout, where);
  }

  /**
   * Sends one command and waits for its answer; connecting and waiting together take at most
   * `timeout` seconds (python-gearman's `wait_until_server_responds`).
   */
  private async call(name: string, timeout: number | null, send: (handler: AdminClientCommandHandler) => AdminCommand): Promise<AdminCommand> {
    const start = performance.now();
    const handler = await this.handler(timeout, name);
    const connection = handler.connection;
    let command: AdminCommand;
    try {
      command = send(handler);
    } catch (err) {
      if (err instanceof ConnectionError && err.code !== 'SHUTDOWN') throw this.unavailable([connection]);
      throw err;
    }
    // Created when the wait starts, so its stack shows the call that timed out.
    const timeoutError = new InvalidAdminClientState(
      `${connection.address}: admin client timed out after ${timeout} second(s) waiting for the answer to '${command.name}'`,
    );
    const remaining = timeout === null ? null : Math.max(0, timeout - (performance.now() - start) / 1000);
    const timedOut = await this.pollConnectionsUntilStopped([connection], () => !command.done, remaining, { watch: [command] });
    if (timedOut && !command.done) {
      // gearmand would still answer later, and a server that never answers would shift every
      // later answer by one (protocol.md §5): close the connection so the next call starts clean.
      // Commands sent after this one on it fail with the reason.
      if (connection.handler === handler) {
        this.handleError(
          connection,
          new InvalidAdminClientState(`${connection.address}: connection reset: no answer to '${command.name}' within ${timeout} second(s)`),
        );
      }
      throw timeoutError;
    }
    const error = command.error;
    if (error instanceof ConnectionError && error.code !== 'SHUTDOWN') {
      throw new ServerUnavailable(`${connection.address}: connection lost waiting for the answer to '${command.name}': ${error.message}`, { cause: error });
    }
    if (error !== undefined) throw error;
    return command;
  }

  private async text(words: string[], kind: AdminResponseKind, timeout: number | null): Promise<AdminCommand> {
    adminLine(...words); // checks the length before connecting
    return this.call(words.join(' '), timeout, (handler) => handler.sendTextCommand(words, kind));
  }

  /**
   * Sends ECHO_REQ and waits for the echo (python-gearman's `ping_server`).
   *
   * @example
   * ```ts
   * const seconds = await admin.pingServer();
   * console.log(`round trip: ${(seconds * 1000).toFixed(1)} ms`);
   * ```
   *
   * @param options - `{ pollTimeout }` for this call
   * @returns seconds from before connecting until the echo arrived
   * @throws {@link InvalidAdminClientState} (rejects) on timeout or if the echo differs
   * @throws {@link ServerUnavailable} (rejects) if the server cannot be reached
   */
  async pingServer(options?: AdminCallOptions): Promise<number> {
    const timeout = this.callTimeout(options, 'pingServer');
    const start = performance.now();
    const command = await this.call('ECHO_REQ', timeout, (handler) => handler.sendEchoRequest(ECHO_STRING));
    const echoed = (command.result as Buffer).toString('utf8');
    if (echoed !== ECHO_STRING) {
      throw new InvalidAdminClientState(`${this.currentConnection.address}: echo mismatch: sent ${JSON.stringify(ECHO_STRING)}, got ${JSON.stringify(echoed)}`);
    }
    return (performance.now() - start) / 1000;
  }

  /**
   * `status`: one row per function the server knows.
   *
   * @example
   * ```ts
   * for (const { task, queued, running, workers } of await admin.getStatus()) {
   *   console.log(`${task}: ${queued} queued (${running} running), ${workers} worker(s)`);
   * }
   * ```
   *
   * @param options - `{ pollTimeout }` for this call
   * @returns `{ task, queued, running, workers }` per function; `queued` is gearmand's TOTAL (queued
   * and running jobs); gearmand lists functions in hash order and keeps listing them after their
   * jobs and workers are gone. A task name with a tab or a line break (which another library may
   * have submitted) comes back whole: each row is read from the right.
   * @throws {@link ServerError} (rejects) for an `ERR` answer
   * @throws {@link InvalidAdminClientState} (rejects) on timeout
   * @throws {@link ServerUnavailable} (rejects) if the server cannot be reached
   * @throws {@link ListingTooLargeError} (rejects) past `maxListingRows` / `maxListingBytes`
   */
  async getStatus(options?: AdminCallOptions): Promise<StatusRow[]> {
    const timeout = this.callTimeout(options, 'getStatus');
    return parseStatus((await this.text(['status'], 'list', timeout)).lines);
  }

  /**
   * `prioritystatus` (gearmand 1.1): per function, the jobs waiting for a worker at each priority.
   * The Perl server has no such command (it answers `ERR`).
   *
   * @example
   * ```ts
   * for (const { task, high, normal, low } of await admin.getPriorityStatus()) {
   *   console.log(`${task}: ${high} high, ${normal} normal, ${low} low waiting`);
   * }
   * ```
   *
   * @param options - `{ pollTimeout }` for this call
   * @returns `{ task, high, normal, low, workers }` per function; the counts are of queued jobs,
   * not running ones (unlike {@link getStatus}'s `queued`)
   * @throws {@link ServerError} (rejects) for an `ERR` answer
   * @throws {@link InvalidAdminClientState} (rejects) on timeout
   * @throws {@link ServerUnavailable} (rejects) if the server cannot be reached
   * @throws {@link ListingTooLargeError} (rejects) past `maxListingRows` / `maxListingBytes`
   */
  async getPriorityStatus(options?: AdminCallOptions): Promise<PriorityStatusRow[]> {
    const timeout = this.callTimeout(options, 'getPriorityStatus');
    return parsePriorityStatus((await this.text(['prioritystatus'], 'list', timeout)).lines);
  }

  /**
   * `version`.
   *
   * @param options - `{ pollTimeout }` for this call
   * @returns the version without gearmand's `OK ` prefix (`'1.1.20+ds'`; the Perl server's
   * `'v1.130.1'` as it is)
   * @throws {@link InvalidAdminClientState} (rejects) on timeout
   * @throws {@link ServerUnavailable} (rejects) if the server cannot be reached
   */
  async getVersion(options?: AdminCallOptions): Promise<string> {
    const timeout = this.callTimeout(options, 'getVersion');
    return stripOk((await this.text(['version'], 'line', timeout)).result as string);
  }

  /**
   * `workers`: every connection of the server (clients, workers, and this admin connection).
   *
   * @example
   * ```ts
   * const busy = (await admin.getWorkers()).filter((w) => w.tasks.includes('resize'));
   * ```
   *
   * @param options - `{ pollTimeout }` for this call
   * @returns `{ fileDescriptor, ip, clientId, tasks }` per connection; `clientId` is what the
   * server prints (`'-'` when unset, spaces kept); `tasks` is empty for a connection that
   * registered none. The line is split at its last ` : `: see {@link parseWorkers} for what the
   * protocol cannot tell apart.
   * @throws {@link ServerError} (rejects) for an `ERR` answer
   * @throws {@link InvalidAdminClientState} (rejects) on timeout
   * @throws {@link ServerUnavailable} (rejects) if the server cannot be reached
   * @throws {@link ListingTooLargeError} (rejects) past `maxListingRows` / `maxListingBytes`
   */
  async getWorkers(options?: AdminCallOptions): Promise<WorkerRow[]> {
    const timeout = this.callTimeout(options, 'getWorkers');
    return parseWorkers((await this.text(['workers'], 'list', timeout)).lines);
  }

  /**
   * `maxqueue TASK SIZE`: limits how many jobs of `task` the server holds (queued and running); a
   * submission past it fails with the server error `QUEUE_ERROR`. gearmand applies it only to a
   * function it already knows (for another name it answers `OK` and does nothing); 0 or less
   * means unlimited.
   *
   * @example
   * ```ts
   * await admin.sendMaxqueue('resize', 100);
   * ```
   *
   * @param task - the function name, under the client's and worker's rule: 1 to 512 bytes, no
   * whitespace, NUL or control character
   * @param maxSize - an integer
   * @param options - `{ pollTimeout }` for this call
   * @returns `'OK'`
   * @throws {@link InvalidArgumentError} (rejects, nothing sent) for a task name outside the rule,
   * or a size that is not an integer
   * @throws {@link ServerError} (rejects) for an `ERR` answer
   */
  async sendMaxqueue(task: string, maxSize: number, options?: AdminCallOptions): Promise<string> {
    checkTaskName(task, 'sendMaxqueue');
    const size = checkAdminInteger(maxSize, 'maxSize', 'sendMaxqueue');
    const timeout = this.callTimeout(options, 'sendMaxqueue');
    return (await this.text(['maxqueue', task, size], 'line', timeout)).result as string;
  }

  /**
   * `shutdown` (or `shutdown graceful`). gearmand 1.1 has no such command and answers
   * `ERR UNKNOWN_COMMAND`: that rejects with a {@link ServerError} and the server keeps running
   * (stop gearmand 1.1 with SIGTERM, or SIGUSR1 for a graceful stop). The Perl server answers `OK`
   * and exits.
   *
   * @example
   * ```ts
   * try { await admin.sendShutdown(); }
   * catch (err) { if (err instanceof ServerError) console.log(err.serverCode); } // 'UNKNOWN_COMMAND' on gearmand 1.1
   * ```
   *
   * @param graceful - send `shutdown graceful` rather than `shutdown` (default `true`, as
   * python-gearman)
   * @param options - `{ pollTimeout }` for this call
   * @returns the server's answer (`'OK'`), or `null` if the server closed the connection instead
   * of answering
   * @throws {@link InvalidArgumentError} (rejects) for a `graceful` that is not a boolean
   * @throws {@link ServerError} (rejects) for an `ERR` answer
   */
  async sendShutdown(graceful: boolean = true, options?: AdminCallOptions): Promise<string | null> {
    if (typeof graceful !== 'boolean') {
      throw new InvalidArgumentError(`sendShutdown: graceful must be a boolean, got ${describeValue(graceful)}`);
    }
    const timeout = this.callTimeout(options, 'sendShutdown');
    const command = await this.text(graceful ? ['shutdown', 'graceful'] : ['shutdown'], 'line', timeout);
    return (command.result as string | null | undefined) ?? null;
  }

  /**
   * `getpid`.
   *
   * @param options - `{ pollTimeout }` for this call
   * @returns the server's process id, as text without the `OK ` prefix (`'12876'`)
   * @throws {@link ServerError} (rejects) for an `ERR` answer (the Perl server has no `getpid`)
   */
  async getPid(options?: AdminCallOptions): Promise<string> {
    const timeout = this.callTimeout(options, 'getPid');
    return stripOk((await this.text(['getpid'], 'line', timeout)).result as string);
  }

  /**
   * `cancel job HANDLE`: gearmand marks the job (its foreground clients get WORK_FAIL at once; a
   * queued job is dropped when a worker would take it; a running job keeps running).
   *
   * @example
   * ```ts
   * await admin.cancelJob(request.job.handle);   // 'OK'
   * ```
   *
   * @param handle - a job handle: 1 to 63 bytes, no whitespace, NUL or control character
   * @param options - `{ pollTimeout }` for this call
   * @returns `'OK'`
   * @throws {@link ServerError} (rejects) `UNKNOWN_JOB` for a handle the server does not know
   * @throws {@link InvalidArgumentError} (rejects, nothing sent) for a handle outside the rule
   */
  async cancelJob(handle: string, options?: AdminCallOptions): Promise<string> {
    checkAdminHandle(handle, 'cancelJob');
    const timeout = this.callTimeout(options, 'cancelJob');
    return (await this.text(['cancel', 'job', handle], 'line', timeout)).result as string;
  }

  /**
   * `show jobs`: every job the server holds.
   *
   * @example
   * ```ts
   * const retried = (await admin.getJobs()).filter((j) => j.retries > 0 && j.ignored === 0);
   * ```
   *
   * @param options - `{ pollTimeout }` for this call
   * @returns `{ handle, retries, ignored, stored }` per job, numbers as gearmand 1.1 prints
   * them: times re-queued, 1 once cancelled or abandoned, 1 for a background job in the queue
   * store (until cancelled). (python-gearman's
   * `get_jobs()` names these columns `queued`, `canceled`, `enabled`: see {@link JobRow}.)
   * @throws {@link ServerError} (rejects) for an `ERR` answer
   * @throws {@link ListingTooLargeError} (rejects) past `maxListingRows` / `maxListingBytes`
   */
  async getJobs(options?: AdminCallOptions): Promise<JobRow[]> {
    const timeout = this.callTimeout(options, 'getJobs');
    return parseJobs((await this.text(['show', 'jobs'], 'list', timeout)).lines);
  }

  /**
   * `show unique jobs`: the unique id of every job the server holds.
   *
   * @param options - `{ pollTimeout }` for this call
   * @returns one string per job, `''` for a job submitted without a unique id; a unique `'.'` is
   * told from the end of the listing
   * @throws {@link ServerError} (rejects) for an `ERR` answer
   * @throws {@link ListingTooLargeError} (rejects) past `maxListingRows` / `maxListingBytes`
   */
  async getUniqueJobs(options?: AdminCallOptions): Promise<string[]> {
    const timeout = this.callTimeout(options, 'getUniqueJobs');
    return parseUniqueJobs((await this.text(['show', 'unique', 'jobs'], 'list', timeout)).lines);
  }

  // ---------------------------------------------------------------------------------------------
  // Connection events and disposal (#12)

  private readonly announcer = new ConnectionAnnouncer();

  /**
   * Listens for `'connect'` (the server was reached; `(address)`) or `'disconnect'` (its
   * connection ended; `(address, error)`, `error` undefined after {@link shutdown}). Listeners
   * run after the library's own work; one that throws has its error rethrown on
   * `process.nextTick`.
   *
   * @param event - `'connect'` or `'disconnect'`
   * @param listener - called with the address (`host:port`) and, for a loss, the error
   * @returns this admin client
   * @throws TypeError for another event name or a listener that is not a function
   *
   * @example
   * ```ts
   * admin.on('disconnect', (address, error) => console.warn(`${address} lost: ${error?.message ?? 'closed'}`));
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
   * @returns this admin client
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
   * @returns this admin client
   */
  off<K extends keyof ConnectionStateEvents>(event: K, listener: (...args: ConnectionStateEvents[K]) => void): this {
    this.announcer.off(event, listener);
    return this;
  }

  /**
   * Connects if needed (see {@link ConnectionManager.establishConnection}); a new connection is
   * announced with `'connect'`.
   *
   * @param connection - the admin client's connection ({@link currentConnection})
   * @returns the connection
   * @throws {@link ConnectionError} (rejects) if it cannot connect; the error names host:port
   */
  override async establishConnection(connection: GearmanConnection): Promise<GearmanConnection> {
    const established = await super.establishConnection(connection);
    this.announcer.connected(established);
    return established;
  }

  /** @internal */
  protected override onConnectionLost(connection: GearmanConnection, error: GearmanError): void {
    super.onConnectionLost(connection, error);
    this.announcer.lost(connection, error);
  }

  /** Closes the connection (see {@link ConnectionManager.shutdown}); a `'disconnect'` without error follows. */
  override shutdown(): void {
    super.shutdown();
    for (const connection of this.connectionList) this.announcer.lost(connection);
  }

  /**
   * `await using admin = new GearmanAdminClient(...)`: {@link shutdown}, then waits until the
   * socket has closed.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    await shutdownAndWait(this);
  }
}
