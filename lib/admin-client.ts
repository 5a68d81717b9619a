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
import { ConnectionError, GearmanError, InvalidAdminClientState, ServerUnavailable } from './errors.js';
import { checkAdminWord, parseJobs, parseStatus, parseWorkers, stripOk, type AdminResponseKind, type JobRow, type StatusRow, type WorkerRow } from './protocol/admin.js';
import type { HostEntry } from './hosts.js';

export type { JobRow, StatusRow, WorkerRow } from './protocol/admin.js';

/** What `pingServer` sends (python-gearman's `ECHO_STRING`). */
export const ECHO_STRING = 'ping? pong!';
/** Default `pollTimeout` of the admin client, in seconds. */
export const DEFAULT_ADMIN_CLIENT_TIMEOUT = 10;

/** Options of a {@link GearmanAdminClient}. */
export interface GearmanAdminClientOptions extends ConnectionManagerOptions {
  /** Seconds to wait for each answer. @default 10 */
  pollTimeout?: number | null;
}

/**
 * An admin client for one server.
 *
 * @example
 * ```ts
 * import { GearmanAdminClient } from 'gearman-ts';
 *
 * const admin = new GearmanAdminClient(['localhost:4730']);
 * console.log(await admin.getVersion());          // '1.1.20+ds'
 * for (const row of await admin.getStatus()) console.log(row.task, row.queued, row.running, row.workers);
 * admin.shutdown();
 * ```
 */
export class GearmanAdminClient extends ConnectionManager<AdminClientCommandHandler> {
  /** Seconds to wait for each answer (`null`: no limit). */
  pollTimeout: number | null;

  /**
   * @param hostList - exactly one server
   * @param options - see {@link GearmanAdminClientOptions}
   * @throws {@link GearmanError} (code `'INVALID_HOST'`) for a malformed entry or more than one server
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

  /** The one connection. */
  get currentConnection(): GearmanConnection {
    return this.connectionList[0]!;
  }

  /** @internal */
  protected createCommandHandler(connection: GearmanConnection): AdminClientCommandHandler {
    return new AdminClientCommandHandler(this, connection);
  }

  private async handler(): Promise<AdminClientCommandHandler> {
    const connection = this.currentConnection;
    try {
      await this.establishConnection(connection);
    } catch (err) {
      if ((err as GearmanError).code === 'SHUTDOWN') throw err;
      throw this.unavailable([connection]);
    }
    return connection.handler as AdminClientCommandHandler;
  }

  /** Waits for `command`'s answer within `pollTimeout`. */
  private async waitFor(command: AdminCommand): Promise<AdminCommand> {
    let timedOut: boolean;
    try {
      timedOut = await this.pollConnectionsUntilStopped(this.connectionList, () => !command.done, this.pollTimeout, { watch: [command] });
    } catch (err) {
      if (command.error !== undefined && err instanceof ServerUnavailable) throw command.error;
      throw err;
    }
    if (timedOut && !command.done) {
      command.abandoned = true;
      throw new InvalidAdminClientState(`${this.currentConnection.address}: admin client timed out after ${this.pollTimeout} second(s) waiting for the answer to '${command.name}'`);
    }
    if (command.error instanceof ConnectionError) {
      throw new ServerUnavailable(`${this.currentConnection.address}: connection lost waiting for the answer to '${command.name}'`, { cause: command.error });
    }
    if (command.error !== undefined) throw command.error;
    return command;
  }

  private async text(words: string[], kind: AdminResponseKind): Promise<AdminCommand> {
    const handler = await this.handler();
    return this.waitFor(handler.sendTextCommand(words, kind));
  }

  /**
   * Sends ECHO_REQ and waits for the echo.
   *
   * @returns seconds from before connecting until the echo arrived
   * @throws {@link InvalidAdminClientState} (rejects) on timeout or if the echo differs
   * @throws {@link ServerUnavailable} (rejects) if the server cannot be reached
   */
  async pingServer(): Promise<number> {
    const start = performance.now();
    const handler = await this.handler();
    const command = await this.waitFor(handler.sendEchoRequest(ECHO_STRING));
    const echoed = (command.result as Buffer).toString('utf8');
    if (echoed !== ECHO_STRING) {
      throw new InvalidAdminClientState(`${this.currentConnection.address}: echo mismatch: sent ${JSON.stringify(ECHO_STRING)}, got ${JSON.stringify(echoed)}`);
    }
    return (performance.now() - start) / 1000;
  }

  /**
   * `status`: per task, jobs queued (queued plus running, gearmand's TOTAL), running, and workers.
   *
   * @throws {@link ServerError} (rejects) for an `ERR` answer; {@link InvalidAdminClientState} on timeout
   */
  async getStatus(): Promise<StatusRow[]> {
    return parseStatus((await this.text(['status'], 'list')).lines);
  }

  /**
   * `version`.
   *
   * @returns the version without gearmand's `OK ` prefix (`'1.1.20+ds'`)
   */
  async getVersion(): Promise<string> {
    return stripOk((await this.text(['version'], 'line')).result as string);
  }

  /**
   * `workers`: every connection of the server (clients and this admin connection included).
   *
   * @returns `{ fileDescriptor, ip, clientId, tasks }` per connection; `clientId` is `-` when unset
   */
  async getWorkers(): Promise<WorkerRow[]> {
    return parseWorkers((await this.text(['workers'], 'list')).lines);
  }

  /**
   * `maxqueue TASK SIZE`: limits the queue of a task (gearmand applies it only to a task it knows;
   * 0 or less means unlimited).
   *
   * @returns `'OK'`
   * @throws {@link GearmanError} (rejects, code `'INVALID_ARGUMENT'`) for a task with whitespace or a
   * size that is not an integer, before anything is sent
   */
  async sendMaxqueue(task: string, maxSize: number): Promise<string> {
    checkAdminWord(task, 'task');
    if (!Number.isSafeInteger(maxSize)) {
      throw new GearmanError(`maxSize must be an integer, got ${String(maxSize)}`, { code: 'INVALID_ARGUMENT' });
    }
    const line = (await this.text(['maxqueue', task, String(maxSize)], 'line')).result as string;
    return line;
  }

  /**
   * `shutdown` (or `shutdown graceful`). gearmand 1.1 has no such command and answers `ERR`, which
   * rejects with a {@link ServerError}; the Perl server answers `OK` and exits.
   *
   * @param graceful - send `shutdown graceful` (python-gearman's default)
   * @returns the server's answer
   */
  async sendShutdown(graceful = true): Promise<string | null> {
    const command = await this.text(graceful ? ['shutdown', 'graceful'] : ['shutdown'], 'line');
    return (command.result as string | undefined) ?? null;
  }

  /** `getpid`: the server's process id, as text. */
  async getPid(): Promise<string> {
    return stripOk((await this.text(['getpid'], 'line')).result as string);
  }

  /**
   * `cancel job HANDLE`.
   *
   * @returns `'OK'`
   * @throws {@link ServerError} (rejects) `UNKNOWN_JOB` for a handle the server does not know
   */
  async cancelJob(handle: string): Promise<string> {
    checkAdminWord(handle, 'handle');
    return (await this.text(['cancel', 'job', handle], 'line')).result as string;
  }

  /** `show jobs`: `{ handle, retries, ignored, queued }` per job. */
  async getJobs(): Promise<JobRow[]> {
    return parseJobs((await this.text(['show', 'jobs'], 'list')).lines);
  }

  /** `show unique jobs`: one unique per job (`''` for jobs submitted without one). */
  async getUniqueJobs(): Promise<string[]> {
    return (await this.text(['show', 'unique', 'jobs'], 'list')).lines;
  }
}
