/**
 * The worker's per-connection handler, as python-gearman's `GearmanWorkerCommandHandler`: it
 * registers the worker's abilities on connect and runs the NOOP → GRAB_JOB_UNIQ → JOB_ASSIGN_UNIQ
 * / NO_JOB → PRE_SLEEP dance. The job lock (one job at a time across all connections) lives on the
 * worker.
 *
 * Two departures from python-gearman, both about the wake-up cycle:
 * - after a job the worker grabs again at once (as libgearman does) and sends PRE_SLEEP only after
 *   NO_JOB, instead of PRE_SLEEP after every job;
 * - a NOOP that arrives while another connection holds the job lock is remembered
 *   ({@link WorkerCommandHandler.wakePending}) instead of being answered with PRE_SLEEP, which
 *   gearmand would answer with another NOOP at once while work is queued (a busy ping-pong for as
 *   long as the other job runs).
 *
 * @module
 */
import { CommandHandler, type HandlerHost } from './command-handler.js';
import { CommandType } from '../protocol/commands.js';
import type { PacketArgs } from '../protocol/decoder.js';
import { GearmanJob } from '../job.js';
import { GearmanError, InvalidWorkerState } from '../errors.js';
import type { GearmanConnection } from '../connection.js';
import type { ConnectionManager } from '../connection-manager.js';
import type { GearmanWorker } from '../worker.js';

const T = CommandType;

/**
 * Where a worker connection is in the grab cycle: `'sleeping'` (PRE_SLEEP sent, waiting for a
 * NOOP), `'grabbing'` (GRAB_JOB_UNIQ sent, holding the job lock), `'working'` (a job assigned on
 * it is running).
 */
export type WorkerHandlerState = 'sleeping' | 'grabbing' | 'working';

/**
 * Per-connection worker state: the abilities and client id advertised on that connection, and
 * where it is in the NOOP / GRAB / NO_JOB / PRE_SLEEP cycle.
 *
 * @example
 * ```ts
 * // Which connections are waiting for the job lock (woken by their server while busy elsewhere)?
 * for (const [connection, handler] of worker.connectionToHandlerMap) {
 *   console.log(connection.address, handler.state, handler.wakePending);
 * }
 * ```
 */
export class WorkerCommandHandler extends CommandHandler {
  /**
   * The owning worker (it holds the job lock and runs the jobs). Typed with `HandlerHost` too:
   * the worker's `sendCommand` / `sendText` are internal, so the published declarations see
   * them only through the host interface the base class needs.
   */
  declare readonly connectionManager: GearmanWorker & HandlerHost;
  /** Where this connection is in the grab cycle. */
  state: WorkerHandlerState = 'sleeping';
  /**
   * A NOOP arrived while the job lock was held elsewhere (or while the worker was stopping): this
   * connection grabs as soon as the lock is free, without another PRE_SLEEP round trip.
   */
  wakePending = false;
  /** Abilities advertised on this connection, in the order sent. */
  abilities: string[] = [];
  /** Client id sent on this connection, or null. */
  clientId: string | null = null;

  /**
   * @param connectionManager - the owning worker
   * @param connection - the connection served
   */
  constructor(connectionManager: GearmanWorker, connection: GearmanConnection) {
    super(connectionManager as unknown as ConnectionManager, connection);
  }

  /**
   * On every (re)connect (python-gearman's `initial_state`): SET_CLIENT_ID (if set),
   * RESET_ABILITIES, one CAN_DO per task, PRE_SLEEP.
   */
  override initialState(): void {
    const worker = this.connectionManager;
    this.setClientId(worker.workerClientId);
    this.setAbilities(worker.abilities());
  }

  /**
   * Sends RESET_ABILITIES and one CAN_DO per task. A sleeping connection sends PRE_SLEEP again so
   * gearmand wakes it for jobs already queued under the new abilities.
   *
   * @param abilities - every task name the worker can do now
   */
  setAbilities(abilities: readonly string[]): void {
    this.abilities = abilities.slice();
    this.sendCommand(T.RESET_ABILITIES);
    for (const task of this.abilities) this.sendCommand(T.CAN_DO, [task]);
    if (this.state === 'sleeping') this.sleep();
  }

  /**
   * Sends SET_CLIENT_ID (nothing for `null`).
   *
   * @param clientId - the id shown by the admin `workers` command
   */
  setClientId(clientId: string | null): void {
    this.clientId = clientId;
    if (clientId !== null) this.sendCommand(T.SET_CLIENT_ID, [clientId]);
  }

  /** Sends GRAB_JOB_UNIQ. The caller has taken the job lock for this handler. */
  grab(): void {
    this.state = 'grabbing';
    this.wakePending = false;
    this.sendCommand(T.GRAB_JOB_UNIQ);
  }

  /** Sends PRE_SLEEP: gearmand sends a NOOP when there is work (at once if some is queued). */
  sleep(): void {
    this.state = 'sleeping';
    this.sendCommand(T.PRE_SLEEP);
  }

  /**
   * NOOP (the server's wake-up): grab if the job lock is free; otherwise remember the wake-up and
   * grab when the lock frees. Never answered with PRE_SLEEP (see the module notes).
   */
  recvNoop(): void {
    const worker = this.connectionManager;
    if (this.state !== 'sleeping' || worker.checkJobLock(this)) return;
    if (worker.acceptingJobs() && worker.setJobLock(this, true)) this.grab();
    else this.wakePending = true;
  }

  /**
   * NO_JOB: release the job lock, sleep, and let a connection woken meanwhile grab.
   *
   * @throws {@link InvalidWorkerState} if this connection did not ask for a job (the manager then
   * closes the connection, and the worker reconnects)
   */
  recvNoJob(): void {
    if (this.state !== 'grabbing' || !this.connectionManager.setJobLock(this, false)) {
      throw new InvalidWorkerState(`${this.connection.address}: received NO_JOB without having asked for a job`);
    }
    this.sleep();
    this.connectionManager.lockReleased();
  }

  /** JOB_ASSIGN_UNIQ: `[handle, task, unique, data]`. */
  recvJobAssignUniq(args: PacketArgs): void {
    this.assign(args[0] as string, args[1] as string, args[2] as string, args[3] as Buffer);
  }

  /** JOB_ASSIGN: `[handle, task, data]` (no unique). */
  recvJobAssign(args: PacketArgs): void {
    this.assign(args[0] as string, args[1] as string, null, args[2] as Buffer);
  }

  /** JOB_ASSIGN_ALL: `[handle, task, unique, reducer, data]` (the reducer is not used). */
  recvJobAssignAll(args: PacketArgs): void {
    this.assign(args[0] as string, args[1] as string, args[2] as string, args[4] as Buffer);
  }

  /**
   * Builds the job with its data decoded by the worker's `dataEncoder` (python-gearman decodes
   * JOB_ASSIGN* data) and hands it to the worker. A decode failure fails that job only.
   *
   * @throws {@link InvalidWorkerState} for a job this connection did not ask for
   */
  private assign(handle: string, task: string, unique: string | null, data: Buffer): void {
    if (!this.connectionManager.checkJobLock(this) || this.state !== 'grabbing') {
      throw new InvalidWorkerState(`${this.connection.address}: received job ${handle} (${task}) when none was asked for`);
    }
    this.state = 'working';
    let decoded: unknown = data;
    let decodeError: unknown;
    try {
      decoded = this.decodeData(data);
    } catch (err) {
      decodeError = new GearmanError(
        `${this.connection.address}: job ${handle} (${task}): dataEncoder.decode failed: ${(err as Error)?.message ?? String(err)}`,
        { code: 'DECODE_ERROR', cause: err },
      );
    }
    const job = new GearmanJob(this.connection, handle, task, unique, decoded);
    job.handler = this;
    this.connectionManager.executeJob(this, job, decodeError);
  }

  /**
   * ERROR on a worker connection. JOB_NOT_FOUND is gearmand's answer to an update for a job it no
   * longer has (the WORK_FAIL that follows a WORK_EXCEPTION, or an update after a requeue): logged
   * at debug level. Anything else is logged as an error (python-gearman's `on_gearman_error`).
   */
  override recvError(args: PacketArgs): void {
    const [code, text] = args as [string, string];
    if (code === 'JOB_NOT_FOUND') this.connectionManager.logger.debug(`${this.connection.address}: server: ${code} ${text}`);
    else super.recvError(args);
  }

  /** ECHO_RES: the answer to an echo; nothing to do. */
  recvEchoRes(): void {}

  /**
   * The connection is gone; the worker releases the job lock (at once, or, if a job assigned on
   * this connection is still running, when that job settles).
   */
  override onIoError(error: GearmanError): void {
    this.connectionManager.handlerLost(this, error);
  }
}
