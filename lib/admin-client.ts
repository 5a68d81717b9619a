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
import { ConnectionError, GearmanError, InvalidAdminClientState, ServerUnavailable, type ProtocolError, type ServerError } from './errors.js';
import {
  checkAdminInteger,
  checkAdminWord,
  adminLine,
  parseJobs,
  parseStatus,
  parseUniqueJobs,
  parseWorkers,
  stripOk,
  type AdminResponseKind,
  type JobRow,
  type StatusRow,
  type WorkerRow,
} from './protocol/admin.js';
import type { HostEntry } from './hosts.js';
import { ConnectionAnnouncer, shutdownAndWait, type ConnectionStateEvents } from './connection-events.js';

export type { JobRow, StatusRow, WorkerRow } from './protocol/admin.js';

/** What {@link GearmanAdminClient.pingServer} sends (python-gearman's `ECHO_STRING`). */
export const ECHO_STRING = 'ping? pong!';
/** Default {@link GearmanAdminClient.pollTimeout}, in seconds (python-gearman's `poll_timeout`). */
export const DEFAULT_ADMIN_CLIENT_TIMEOUT = 10;

/** Options of a {@link GearmanAdminClient}. */
export interface GearmanAdminClientOptions extends ConnectionManagerOptions {
  /**
   * Seconds to wait for each answer; `null` waits without limit (python-gearman's `poll_timeout`).
   * `0` does not wait, so every call times out.
   * @default 10
   */
  pollTimeout?: number | null;
}

/**
 * An admin client for one server: the text admin protocol (`status`, `workers`, `show jobs`, …)
 * and an ECHO round trip, as python-gearman's `GearmanAdminClient`.
 *
 * Every method is async and rejects (never throws synchronously):
 * - with a {@link ServerError} (`serverCode`, `serverText`) when the server answers `ERR`, at once;
 * - with an {@link InvalidAdminClientState} when no answer comes within {@link pollTimeout}; the
 *   connection is then closed, so a late answer can never be taken for a later call's;
 * - with a {@link ServerUnavailable} naming host:port when the server cannot be reached or the
 *   connection is lost before the answer;
 * - with a {@link GearmanError} of code `'INVALID_ARGUMENT'`, before anything is sent, for an
 *   argument the text protocol cannot carry;
 * - with a {@link ProtocolError} for a listing row it cannot parse, or for bytes that break the
 *   framing (the connection is then closed).
 *
 * After any of these the client stays usable (it reconnects when needed). Calls may overlap: each
 * gets its own answer.
 *
 * @example
 * ```ts
 * import { GearmanAdminClient } from 'gearman-ts';
 *
 * const admin = new GearmanAdminClient(['localhost:4730']);
 * console.log(await admin.getVersion());          // '1.1.20+ds'
 * for (const row of await admin.getStatus()) console.log(row.task, row.queued, row.running, row.workers);
 * console.log(`${(await admin.pingServer()) * 1000} ms`);
 * admin.shutdown();
 * ```
 */
export class GearmanAdminClient extends ConnectionManager<AdminClientCommandHandler> {
  /**
   * Seconds to wait for each answer (`null`: no limit). May be changed between calls.
   * @default 10
   */
  pollTimeout: number | null;

  /**
   * @param hostList - exactly one server (`'host'`, `'host:port'`, `'[v6]:port'` or an object);
   * none means `'localhost:4730'`
   * @param options - see {@link GearmanAdminClientOptions}
   * @throws {@link GearmanError} (code `'INVALID_HOST'`) for a malformed entry or more than one server
   * @throws TypeError for a `pollTimeout` that is not a non-negative number or `null`
   */
  constructor(hostList?: [HostEntry] | HostEntry[] | null, options: GearmanAdminClientOptions = {}) {
    super(hostList, options, true);
    if (this.connectionList.length !== 1) {
      throw new GearmanError(`GearmanAdminClient takes exactly one server, got ${this.connectionList.length}`, { code: 'INVALID_HOST' });
    }
    const timeout = options?.pollTimeout === undefined ? DEFAULT_ADMIN_CLIENT_TIMEOUT : options.pollTimeout;
    if (timeout !== null && (typeof timeout !== 'number' || Number.isNaN(timeout) || timeout < 0)) {
      throw new TypeError(`pollTimeout must be a non-negative number of seconds or null, got ${String(timeout)}`);
    }
    this.pollTimeout = timeout;
  }

  /** The one connection (python-gearman's `current_connection`). */
  get currentConnection(): GearmanConnection {
    return this.connectionList[0]!;
  }

  /** @internal */
  protected createCommandHandler(connection: GearmanConnection): AdminClientCommandHandler {
    return new AdminClientCommandHandler(this, connection);
  }

  /** Connects if needed (python-gearman's `establish_admin_connection`) and returns the live handler. */
  private async handler(): Promise<AdminClientCommandHandler> {
    const connection = this.currentConnection;
    try {
      await this.establishConnection(connection);
    } catch (err) {
      if ((err as GearmanError).code === 'SHUTDOWN') throw err;
      throw this.unavailable([connection]);
    }
    const handler = connection.handler as AdminClientCommandHandler | undefined;
    if (handler === undefined) throw this.unavailable([connection]);
    return handler;
  }

  /**
   * Sends one command and waits for its answer within `pollTimeout` (python-gearman's
   * `wait_until_server_responds`).
   */
  private async call(send: (handler: AdminClientCommandHandler) => AdminCommand): Promise<AdminCommand> {
    const handler = await this.handler();
    const connection = handler.connection;
    let command: AdminCommand;
    try {
      command = send(handler);
    } catch (err) {
      if (err instanceof ConnectionError && err.code !== 'SHUTDOWN') throw this.unavailable([connection]);
      throw err;
    }
    const timeout = this.pollTimeout;
    // Created when the wait starts, so its stack shows the call that timed out.
    const timeoutError = new InvalidAdminClientState(
      `${connection.address}: admin client timed out after ${timeout} second(s) waiting for the answer to '${command.name}'`,
    );
    const timedOut = await this.pollConnectionsUntilStopped([connection], () => !command.done, timeout, { watch: [command] });
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

  private async text(words: string[], kind: AdminResponseKind): Promise<AdminCommand> {
    adminLine(...words); // checks the length before connecting
    return this.call((handler) => handler.sendTextCommand(words, kind));
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
   * @returns seconds from before connecting until the echo arrived
   * @throws {@link InvalidAdminClientState} (rejects) on timeout or if the echo differs
   * @throws {@link ServerUnavailable} (rejects) if the server cannot be reached
   */
  async pingServer(): Promise<number> {
    const start = performance.now();
    const command = await this.call((handler) => handler.sendEchoRequest(ECHO_STRING));
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
   * @returns `{ task, queued, running, workers }` per function; `queued` is gearmand's TOTAL (queued
   * and running jobs); gearmand lists functions in hash order and keeps listing them after their
   * jobs and workers are gone
   * @throws {@link ServerError} (rejects) for an `ERR` answer
   * @throws {@link InvalidAdminClientState} (rejects) on timeout
   * @throws {@link ServerUnavailable} (rejects) if the server cannot be reached
   */
  async getStatus(): Promise<StatusRow[]> {
    return parseStatus((await this.text(['status'], 'list')).lines);
  }

  /**
   * `version`.
   *
   * @returns the version without gearmand's `OK ` prefix (`'1.1.20+ds'`; the Perl server's
   * `'v1.130.1'` as it is)
   * @throws {@link InvalidAdminClientState} (rejects) on timeout
   * @throws {@link ServerUnavailable} (rejects) if the server cannot be reached
   */
  async getVersion(): Promise<string> {
    return stripOk((await this.text(['version'], 'line')).result as string);
  }

  /**
   * `workers`: every connection of the server (clients, workers, and this admin connection).
   *
   * @example
   * ```ts
   * const busy = (await admin.getWorkers()).filter((w) => w.tasks.includes('resize'));
   * ```
   *
   * @returns `{ fileDescriptor, ip, clientId, tasks }` per connection; `clientId` is what the
   * server prints (`'-'` when unset, spaces kept); `tasks` is empty for a connection that
   * registered none
   * @throws {@link ServerError} (rejects) for an `ERR` answer
   * @throws {@link InvalidAdminClientState} (rejects) on timeout
   * @throws {@link ServerUnavailable} (rejects) if the server cannot be reached
   */
  async getWorkers(): Promise<WorkerRow[]> {
    return parseWorkers((await this.text(['workers'], 'list')).lines);
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
   * @param task - the function name: no whitespace
   * @param maxSize - an integer
   * @returns `'OK'`
   * @throws {@link GearmanError} (rejects, code `'INVALID_ARGUMENT'`, nothing sent) for a task with
   * whitespace, line breaks or NUL, or a size that is not an integer
   * @throws {@link ServerError} (rejects) for an `ERR` answer
   */
  async sendMaxqueue(task: string, maxSize: number): Promise<string> {
    checkAdminWord(task, 'task');
    const size = checkAdminInteger(maxSize, 'maxSize');
    return (await this.text(['maxqueue', task, size], 'line')).result as string;
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
   * @returns the server's answer (`'OK'`), or `null` if the server closed the connection instead
   * of answering
   * @throws {@link ServerError} (rejects) for an `ERR` answer
   */
  async sendShutdown(graceful = true): Promise<string | null> {
    const command = await this.text(graceful ? ['shutdown', 'graceful'] : ['shutdown'], 'line');
    return (command.result as string | null | undefined) ?? null;
  }

  /**
   * `getpid`.
   *
   * @returns the server's process id, as text without the `OK ` prefix (`'12876'`)
   * @throws {@link ServerError} (rejects) for an `ERR` answer (the Perl server has no `getpid`)
   */
  async getPid(): Promise<string> {
    return stripOk((await this.text(['getpid'], 'line')).result as string);
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
   * @param handle - a job handle: no whitespace
   * @returns `'OK'`
   * @throws {@link ServerError} (rejects) `UNKNOWN_JOB` for a handle the server does not know
   * @throws {@link GearmanError} (rejects, code `'INVALID_ARGUMENT'`, nothing sent) for a handle
   * with whitespace, line breaks or NUL
   */
  async cancelJob(handle: string): Promise<string> {
    checkAdminWord(handle, 'handle');
    return (await this.text(['cancel', 'job', handle], 'line')).result as string;
  }

  /**
   * `show jobs`: every job the server holds.
   *
   * @returns `{ handle, retries, ignored, queued }` per job (numbers; gearmand 1.1's columns: times
   * re-queued, 1 if cancelled or abandoned, 1 if background)
   * @throws {@link ServerError} (rejects) for an `ERR` answer
   */
  async getJobs(): Promise<JobRow[]> {
    return parseJobs((await this.text(['show', 'jobs'], 'list')).lines);
  }

  /**
   * `show unique jobs`: the unique id of every job the server holds.
   *
   * @returns one string per job, `''` for a job submitted without a unique id
   * @throws {@link ServerError} (rejects) for an `ERR` answer
   */
  async getUniqueJobs(): Promise<string[]> {
    return parseUniqueJobs((await this.text(['show', 'unique', 'jobs'], 'list')).lines);
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

  /** As {@link on}, for the next event only. @returns this admin client */
  once<K extends keyof ConnectionStateEvents>(event: K, listener: (...args: ConnectionStateEvents[K]) => void): this {
    this.announcer.on(event, listener, true);
    return this;
  }

  /** Removes a listener added with {@link on} or {@link once}. @returns this admin client */
  off<K extends keyof ConnectionStateEvents>(event: K, listener: (...args: ConnectionStateEvents[K]) => void): this {
    this.announcer.off(event, listener);
    return this;
  }

  /**
   * Connects if needed (see {@link ConnectionManager.establishConnection}); a new connection is
   * announced with `'connect'`.
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
