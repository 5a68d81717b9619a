/**
 * The worker's per-connection handler, as python-gearman's `GearmanWorkerCommandHandler`: it
 * registers the worker's abilities on connect and runs the NOOP → GRAB_JOB_UNIQ → JOB_ASSIGN_UNIQ
 * / NO_JOB → PRE_SLEEP dance. It sees its connection and a narrow {@link WorkerHandlerHost}; how
 * many GRABs it may send is decided by the worker's job slots (`lib/worker/job-slots.ts`).
 *
 * Departures from python-gearman, all about the wake-up cycle:
 * - after a job the connection grabs again at once (as libgearman does) and sends PRE_SLEEP only
 *   after NO_JOB, instead of PRE_SLEEP after every job;
 * - a NOOP that arrives while every slot is taken is remembered (the lane is awake) instead of
 *   being answered with PRE_SLEEP, which gearmand would answer with another NOOP at once while
 *   work is queued (a busy ping-pong for as long as the other jobs run);
 * - a server without GRAB_JOB_UNIQ (the Perl Gearman::Server answers it with ERROR) is served
 *   with GRAB_JOB from its first refusal on.
 *
 * @module
 */
import { CommandHandler } from './command-handler.js';
import { CommandType } from '../protocol/commands.js';
import type { PacketArgs } from '../protocol/decoder.js';
import type { PacketArg } from '../protocol/encoder.js';
import { GearmanError, InvalidWorkerState, type ServerError } from '../errors.js';
import type { GearmanConnection } from '../connection.js';
import type { ConnectionManager, Logger } from '../connection-manager.js';
import type { DataEncoderLike } from '../encoders.js';
import type { JobSlots } from '../worker/job-slots.js';
import { WorkerJob } from '../worker/worker-job.js';

const T = CommandType;

/**
 * What a {@link WorkerCommandHandler} needs from its worker, and nothing more. `GearmanWorker`
 * implements it; the unit specs drive a handler with a small object of this shape.
 * Exported from `gearman-ts/internal` only (public declarations name it).
 */
export interface WorkerHandlerHost {
  /** Where diagnostics go. */
  readonly logger: Logger;
  /** Decodes job data. */
  readonly dataEncoder: DataEncoderLike;
  /** The client id to send on connect, or null. */
  readonly workerClientId: string | null;
  /** The job slots this handler's GRABs and jobs take. @internal */
  readonly slots: JobSlots<WorkerCommandHandler>;
  /** Every registered task with its CAN_DO_TIMEOUT in ms (undefined: none), in order. */
  abilityList(): ReadonlyArray<readonly [task: string, timeoutMs: number | undefined]>;
  /** Runs an assigned job (its slot is taken). */
  executeJob(handler: WorkerCommandHandler, job: WorkerJob, decodeError?: unknown): void;
  /** The connection's server answered a request: it works (resets the reconnect back-off). */
  connectionProven(connection: GearmanConnection): void;
  /** The handler's connection is gone. */
  handlerLost(handler: WorkerCommandHandler, error: GearmanError): void;
  /** Queues a packet on the handler's connection. */
  sendCommand(handler: CommandHandler, type: number, args: readonly PacketArg[], validated?: boolean): void;
  /** A server ERROR nothing claimed. */
  onGearmanError(handler: CommandHandler, error: ServerError): void;
}

/**
 * Where a worker connection is in the grab cycle (a summary of its lane in the job slots):
 * `'working'` (a job assigned on it runs), `'grabbing'` (a GRAB is out), `'sleeping'` otherwise.
 */
export type WorkerHandlerState = 'sleeping' | 'grabbing' | 'working';

type Recv = (handler: WorkerCommandHandler, args: PacketArgs) => void;

/** Packets a worker connection receives. */
type WorkerInbound =
  | typeof T.NOOP
  | typeof T.NO_JOB
  | typeof T.JOB_ASSIGN
  | typeof T.JOB_ASSIGN_UNIQ
  | typeof T.JOB_ASSIGN_ALL
  | typeof T.ERROR
  | typeof T.ECHO_RES;

/** The worker's dispatch table: one entry per packet it handles, checked against the list. */
const WORKER_DISPATCH = {
  [T.NOOP]: (h) => h.recvNoop(),
  [T.NO_JOB]: (h) => h.recvNoJob(),
  [T.JOB_ASSIGN]: (h, a) => h.recvJobAssign(a),
  [T.JOB_ASSIGN_UNIQ]: (h, a) => h.recvJobAssignUniq(a),
  [T.JOB_ASSIGN_ALL]: (h, a) => h.recvJobAssignAll(a),
  [T.ERROR]: (h, a) => h.recvError(a),
  [T.ECHO_RES]: (h) => h.recvEchoRes(),
} as const satisfies { readonly [K in WorkerInbound]: Recv };

const DISPATCH: Array<Recv | undefined> = [];
for (const [type, fn] of Object.entries(WORKER_DISPATCH)) DISPATCH[Number(type)] = fn;

/** Error codes that answer a WORK_* update (not a GRAB): gearmand's and the Perl server's. */
const UPDATE_ERRORS = new Set(['JOB_NOT_FOUND', 'not_worker']);

/**
 * Per-connection worker state: the abilities and client id advertised on that connection, and
 * its part in the NOOP / GRAB / NO_JOB / PRE_SLEEP cycle.
 *
 * @example
 * ```ts
 * // Which connections are woken and waiting for a free slot?
 * for (const [connection, handler] of worker.connectionToHandlerMap) {
 *   console.log(connection.address, handler.state, handler.wakePending);
 * }
 * ```
 */
export class WorkerCommandHandler extends CommandHandler {
  /** The worker, seen through what a handler may use. */
  readonly host: WorkerHandlerHost;
  /** Abilities advertised on this connection, in the order sent. */
  abilities: string[] = [];
  /** Client id sent on this connection, or null. */
  clientId: string | null = null;
  /**
   * The server has no GRAB_JOB_UNIQ (it answered one with ERROR): GRAB_JOB is used, WORK_FAIL
   * follows WORK_EXCEPTION, and CAN_DO_TIMEOUT is sent in seconds (the Perl server's unit).
   */
  legacyServer = false;
  /** GRAB_JOB_UNIQs sent and not answered yet. */
  private uniqGrabsOut = 0;
  /** The CAN_DO_TIMEOUT advertised for each task on this connection (undefined: plain CAN_DO). */
  private timeouts = new Map<string, number | undefined>();
  /** CANT_DO / RESET_ABILITIES waits for the jobs running on this connection to settle. */
  private abilitiesDeferred = false;

  /**
   * @param host - the worker (see {@link WorkerHandlerHost})
   * @param connection - the connection served
   */
  constructor(host: WorkerHandlerHost, connection: GearmanConnection) {
    // The base class types its manager as a whole ConnectionManager but only calls sendCommand,
    // onGearmanError and dataEncoder on it, which the host offers; this handler itself reads only
    // `host`. (When the base takes a narrow host type, this cast goes.)
    super(host as unknown as ConnectionManager, connection);
    this.host = host;
  }

  /** The connection is still this handler's. */
  get live(): boolean {
    return this.connection.handler === this;
  }

  /** Where this connection is in the grab cycle. */
  get state(): WorkerHandlerState {
    const lane = this.host.slots.state(this);
    if (lane === undefined) return 'sleeping';
    return lane.jobs > 0 ? 'working' : lane.grabs > 0 ? 'grabbing' : 'sleeping';
  }

  /** Its server woke it (NOOP) and it waits for a free slot to grab. */
  get wakePending(): boolean {
    const lane = this.host.slots.state(this);
    return lane !== undefined && lane.awake && lane.held === 0;
  }

  /** Dispatches through the worker's typed table; other packets go to the base (by name). */
  override recvCommand(type: number, args: PacketArgs): void {
    const fn = DISPATCH[type];
    if (fn === undefined) super.recvCommand(type, args);
    else fn(this, args);
  }

  /**
   * On every (re)connect (python-gearman's `initial_state`): SET_CLIENT_ID (if set),
   * RESET_ABILITIES, one CAN_DO (or CAN_DO_TIMEOUT) per task, PRE_SLEEP.
   */
  override initialState(): void {
    this.host.slots.add(this);
    this.setClientId(this.host.workerClientId);
    this.setAbilities();
  }

  /**
   * Advertises the worker's abilities: RESET_ABILITIES and one CAN_DO (CAN_DO_TIMEOUT for a task
   * with a timeout) per task. While a job runs on this connection, RESET_ABILITIES would make
   * gearmand drop that job's result, so only CAN_DOs for new tasks are sent then and the rest
   * waits for the connection's jobs to settle. A sleeping connection sends PRE_SLEEP again so
   * gearmand wakes it for jobs already queued under the new abilities.
   */
  setAbilities(): void {
    const list = this.host.abilityList();
    const lane = this.host.slots.state(this);
    if (lane !== undefined && lane.jobs > 0) {
      const known = new Set(this.abilities);
      for (const entry of list) {
        if (known.has(entry[0])) continue;
        this.sendAbility(entry);
        this.abilities.push(entry[0]);
      }
      // Something to remove (or a timeout to change): needs RESET_ABILITIES, after the jobs.
      if (list.length !== this.abilities.length || list.some(([task, ms]) => known.has(task) && this.timeouts.get(task) !== ms)) {
        this.abilitiesDeferred = true;
      }
      for (const [task, ms] of list) if (!known.has(task)) this.timeouts.set(task, ms);
      return;
    }
    this.abilitiesDeferred = false;
    this.abilities = list.map(([task]) => task);
    this.timeouts = new Map(list);
    this.sendCommand(T.RESET_ABILITIES);
    for (const entry of list) this.sendAbility(entry);
    if (lane === undefined || (lane.grabs === 0 && !lane.awake)) this.sleep();
  }

  private sendAbility([task, timeoutMs]: readonly [string, number | undefined]): void {
    if (timeoutMs === undefined) this.sendCommand(T.CAN_DO, [task]);
    else this.sendCommand(T.CAN_DO_TIMEOUT, [task, String(this.legacyServer ? Math.max(1, Math.ceil(timeoutMs / 1000)) : timeoutMs)]);
  }

  /**
   * How long the server lets a job of a task with `timeoutMs` run before it gives the job up:
   * gearmand raises a CAN_DO_TIMEOUT below 1 s to 1 s; the Perl server counts whole seconds.
   */
  effectiveTimeoutMs(timeoutMs: number): number {
    return this.legacyServer ? Math.max(1, Math.ceil(timeoutMs / 1000)) * 1000 : Math.max(1000, timeoutMs);
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

  /** Sends GRAB_JOB_UNIQ (GRAB_JOB on a server without it). The job slots took a slot for it. */
  grab(): void {
    if (this.legacyServer) this.sendCommand(T.GRAB_JOB);
    else {
      this.uniqGrabsOut++;
      this.sendCommand(T.GRAB_JOB_UNIQ);
    }
  }

  /** Sends PRE_SLEEP: gearmand sends a NOOP when there is work (at once if some is queued). */
  sleep(): void {
    this.sendCommand(T.PRE_SLEEP);
  }

  /** A job of this connection settled (its slot is freed by the worker): apply deferred abilities. */
  jobSettled(): void {
    const lane = this.host.slots.state(this);
    if (this.abilitiesDeferred && this.live && (lane === undefined || lane.jobs === 0)) this.setAbilities();
  }

  /** NOOP (the server's wake-up): grab if a slot is free; otherwise grab when one frees. */
  recvNoop(): void {
    this.host.slots.woken(this);
  }

  /**
   * NO_JOB: the GRAB's slot frees; the connection sleeps once no GRAB of it is out.
   *
   * @throws {@link InvalidWorkerState} if this connection did not ask for a job (the manager then
   * closes the connection, and the worker reconnects)
   */
  recvNoJob(): void {
    if (this.uniqGrabsOut > 0) this.uniqGrabsOut--;
    if (!this.host.slots.noJob(this)) {
      throw new InvalidWorkerState(`${this.connection.address}: received NO_JOB without having asked for a job`);
    }
    this.host.connectionProven(this.connection);
  }

  /** JOB_ASSIGN_UNIQ: `[handle, task, unique, data]`. */
  recvJobAssignUniq(args: PacketArgs): void {
    // Indexed, not destructured: no iterator per job.
    this.assign(args[0] as string, args[1] as string, args[2] as string, args[3] as Buffer);
  }

  /** JOB_ASSIGN: `[handle, task, data]` (no unique). */
  recvJobAssign(args: PacketArgs): void {
    const [handle, task, data] = args as [string, string, Buffer];
    this.assign(handle, task, null, data);
  }

  /** JOB_ASSIGN_ALL: `[handle, task, unique, reducer, data]` (the reducer is not used). */
  recvJobAssignAll(args: PacketArgs): void {
    const [handle, task, unique, , data] = args as [string, string, string, string, Buffer];
    this.assign(handle, task, unique, data);
  }

  /**
   * Builds the job with its data decoded by the worker's `dataEncoder` (python-gearman decodes
   * JOB_ASSIGN* data) and hands it to the worker. A decode failure fails that job only.
   *
   * @throws {@link InvalidWorkerState} for a job this connection did not ask for
   */
  private assign(handle: string, task: string, unique: string | null, data: Buffer): void {
    if (this.uniqGrabsOut > 0) this.uniqGrabsOut--;
    if (!this.host.slots.assigned(this)) {
      throw new InvalidWorkerState(`${this.connection.address}: received job ${handle} (${task}) when none was asked for`);
    }
    this.host.connectionProven(this.connection);
    let decoded: unknown = data;
    let decodeError: unknown;
    try {
      decoded = this.host.dataEncoder.decode(data);
    } catch (err) {
      decodeError = new GearmanError(
        `${this.connection.address}: job ${handle} (${task}): dataEncoder.decode failed: ${(err as Error)?.message ?? String(err)}`,
        { code: 'DECODE_ERROR', cause: err },
      );
    }
    const job = new WorkerJob(this.connection, handle, task, unique, decoded);
    job.handler = this;
    this.host.executeJob(this, job, decodeError);
  }

  /**
   * ERROR on a worker connection. JOB_NOT_FOUND (gearmand) and `not_worker` (Perl) answer an
   * update for a job the server no longer gives this worker (after a requeue): logged at debug
   * level. An ERROR while a GRAB_JOB_UNIQ is out answers it: the server has no GRAB_JOB_UNIQ, so
   * this connection uses GRAB_JOB from now on and grabs again. Anything else is logged as an
   * error (python-gearman's `on_gearman_error`).
   */
  override recvError(args: PacketArgs): void {
    const [code, text] = args as [string, string];
    if (UPDATE_ERRORS.has(code)) {
      this.host.logger.debug(`${this.connection.address}: server: ${code} ${text}`);
      return;
    }
    const lane = this.host.slots.state(this);
    if (this.uniqGrabsOut > 0 && lane !== undefined && lane.grabs > 0) {
      this.uniqGrabsOut--;
      this.host.slots.grabRefused(this);
      if (!this.legacyServer) {
        this.legacyServer = true;
        this.host.logger.debug(`${this.connection.address}: server has no GRAB_JOB_UNIQ (ERROR ${code}); using GRAB_JOB`);
        // CAN_DO_TIMEOUT is in seconds there: advertise again (no job runs here yet).
        if (this.host.abilityList().some(([, timeoutMs]) => timeoutMs !== undefined)) this.setAbilities();
      }
      this.host.slots.fill();
      return;
    }
    if (lane !== undefined && lane.grabs > 0 && this.legacyServer) {
      // A GRAB_JOB refused too: sleep until the server wakes this connection again.
      this.host.slots.grabRefused(this);
      lane.awake = false;
      if (lane.grabs === 0) this.sleep();
    }
    super.recvError(args);
  }

  /** ECHO_RES: the answer to an echo: the connection works. */
  recvEchoRes(): void {
    this.host.connectionProven(this.connection);
  }

  /**
   * The connection is gone: its GRABs' slots free at once; slots of jobs still running on it free
   * when those jobs settle.
   */
  override onIoError(error: GearmanError): void {
    this.host.handlerLost(this, error);
  }
}
