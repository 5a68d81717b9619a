/**
 * The worker's per-connection handler, as python-gearman's `GearmanWorkerCommandHandler`: it
 * registers the worker's abilities on connect and runs the NOOP → GRAB_JOB_UNIQ → JOB_ASSIGN_UNIQ
 * / NO_JOB → PRE_SLEEP dance. The job lock (one job at a time across all connections) lives on the
 * worker.
 *
 * @module
 */
import { CommandHandler } from './command-handler.js';
import { CommandType } from '../protocol/commands.js';
import type { PacketArgs } from '../protocol/decoder.js';
import { GearmanJob } from '../job.js';
import { InvalidWorkerState, type GearmanError } from '../errors.js';
import type { GearmanConnection } from '../connection.js';
import type { ConnectionManager } from '../connection-manager.js';

const T = CommandType;

/** What the owning worker provides to its handlers. @internal */
export interface WorkerHandlerOwner extends ConnectionManager<WorkerCommandHandler> {
  /** Registered task names, in registration order. */
  abilities(): string[];
  /** The client id, or null. */
  workerClientId: string | null;
  /** Take the job lock for `handler`; false if anyone holds it. */
  setJobLock(handler: WorkerCommandHandler, lock: boolean): boolean;
  /** Does `handler` hold the job lock? */
  checkJobLock(handler: WorkerCommandHandler): boolean;
  /** A job was assigned: run it. */
  executeJob(handler: WorkerCommandHandler, job: GearmanJob): void;
  /** NO_JOB released the lock: give it to a connection that was woken meanwhile. */
  lockReleased(): void;
  /** The handler's connection is gone. */
  handlerLost(handler: WorkerCommandHandler, error: GearmanError): void;
  /** Whether `work()` wants jobs now (false while stopping). */
  acceptingJobs(): boolean;
}

/** Where a worker connection is in the grab cycle. */
export type WorkerHandlerState = 'sleeping' | 'grabbing' | 'working';

/**
 * Per-connection worker state.
 */
export class WorkerCommandHandler extends CommandHandler {
  declare readonly connectionManager: WorkerHandlerOwner;
  /** Where this connection is in the grab cycle. */
  state: WorkerHandlerState = 'sleeping';
  /** A NOOP arrived while another connection held the job lock: grab when it frees. */
  wakePending = false;
  /** Abilities advertised on this connection. */
  abilities: string[] = [];
  /** Client id sent on this connection. */
  clientId: string | null = null;

  /**
   * @param connectionManager - the owning worker
   * @param connection - the connection served
   */
  constructor(connectionManager: WorkerHandlerOwner, connection: GearmanConnection) {
    super(connectionManager as unknown as ConnectionManager, connection);
  }

  /** On every (re)connect: SET_CLIENT_ID (if set), RESET_ABILITIES, CAN_DO per task, PRE_SLEEP. */
  override initialState(): void {
    const worker = this.connectionManager;
    this.setClientId(worker.workerClientId);
    this.setAbilities(worker.abilities());
  }

  /** Sends RESET_ABILITIES and one CAN_DO per task; a sleeping connection goes back to sleep so
   * gearmand wakes it for jobs already queued under the new abilities. */
  setAbilities(abilities: string[]): void {
    this.abilities = abilities.slice();
    this.sendCommand(T.RESET_ABILITIES);
    for (const task of this.abilities) this.sendCommand(T.CAN_DO, [task]);
    if (this.state === 'sleeping') this.sleep();
  }

  /** Sends SET_CLIENT_ID (nothing for `null`). */
  setClientId(clientId: string | null): void {
    this.clientId = clientId;
    if (clientId !== null) this.sendCommand(T.SET_CLIENT_ID, [clientId]);
  }

  /** GRAB_JOB_UNIQ; the caller holds the job lock for this handler. */
  grab(): void {
    this.state = 'grabbing';
    this.wakePending = false;
    this.sendCommand(T.GRAB_JOB_UNIQ);
  }

  /** PRE_SLEEP: gearmand sends a NOOP when there is work. */
  sleep(): void {
    this.state = 'sleeping';
    this.sendCommand(T.PRE_SLEEP);
  }

  /** NOOP: grab if the lock is free; otherwise remember the wake-up for when it frees. */
  recvNoop(): void {
    const worker = this.connectionManager;
    if (this.state !== 'sleeping' || worker.checkJobLock(this)) return;
    if (!worker.acceptingJobs()) {
      this.wakePending = true;
      return;
    }
    if (worker.setJobLock(this, true)) this.grab();
    // Not answered with PRE_SLEEP: gearmand would answer that with another NOOP while work is
    // queued, a busy ping-pong for as long as the other connection's job runs.
    else this.wakePending = true;
  }

  /** NO_JOB: release the lock and sleep. */
  recvNoJob(): void {
    if (!this.connectionManager.setJobLock(this, false)) {
      throw new InvalidWorkerState(`${this.connection.address}: received NO_JOB without holding the job lock`);
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

  private assign(handle: string, task: string, unique: string | null, data: Buffer): void {
    if (!this.connectionManager.checkJobLock(this) || this.state !== 'grabbing') {
      throw new InvalidWorkerState(`${this.connection.address}: received job ${handle} (${task}) when none was asked for`);
    }
    this.state = 'working';
    const job = new GearmanJob(this.connection, handle, task, unique, data);
    job.handler = this;
    this.connectionManager.executeJob(this, job);
  }

  /**
   * ERROR on a worker connection: gearmand's answer to an update for a job it no longer knows
   * (JOB_NOT_FOUND after a requeue, or the WORK_FAIL that follows a WORK_EXCEPTION). Logged.
   */
  override recvError(args: PacketArgs): void {
    const [code, text] = args as [string, string];
    if (code === 'JOB_NOT_FOUND') this.connectionManager.logger.debug(`${this.connection.address}: server: ${code} ${text}`);
    else super.recvError(args);
  }

  /** ECHO_RES: answers to a keepalive echo; nothing to do. */
  recvEchoRes(): void {}

  /** The connection is gone; the worker releases the lock (at once, or when the job settles). */
  override onIoError(error: GearmanError): void {
    this.connectionManager.handlerLost(this, error);
  }
}
