/**
 * The client's per-connection handler, as python-gearman's `GearmanClientCommandHandler`, with its
 * bugs mended: an ERROR reply fails the request it answers, packets for unknown handles are logged
 * and ignored, requests that share a handle (coalesced on a unique) all get every update once,
 * and only unfinished requests are lost with the connection.
 *
 * @module
 */
import { CommandHandler } from './command-handler.js';
import { CommandType } from '../protocol/commands.js';
import type { PacketArgs } from '../protocol/decoder.js';
import { Fifo } from '../fifo.js';
import { JOB_COMPLETE, JOB_CREATED, JOB_FAILED, JOB_PENDING, JOB_UNKNOWN, PRIORITY_HIGH, PRIORITY_LOW } from '../constants.js';
import { GearmanError, InvalidClientState, ServerError } from '../errors.js';
import type { GearmanJobRequest } from '../job.js';
import type { ReceivedStatus } from '../request-updates.js';
import type { GearmanConnection } from '../connection.js';
import type { ConnectionManager } from '../connection-manager.js';
import type { GearmanClient } from '../client.js';
import type { DataEncoderLike } from '../encoders.js';

const T = CommandType;
const DECODE_FAILED = Symbol('decode failed');

/** A GET_STATUS awaiting its STATUS_RES. */
class StatusQuery {
  constructor(readonly request: GearmanJobRequest) {}
}

/**
 * A GET_STATUS_UNIQUE awaiting its STATUS_RES_UNIQUE (#12). gearmand answers
 * `unique, known, running, numerator, denominator, waiting clients`: the unique first, not a
 * handle (protocol.md 4.12).
 * @internal
 */
export class UniqueStatusQuery {
  /** Poll loops waiting on the answer. */
  waiters: unknown = undefined;
  /** Answered, refused (ERROR) or lost with the connection. */
  done = false;
  /** The answer's fields. */
  known = false;
  running = false;
  numerator = 0;
  denominator = 0;
  waitingClients = 0;
  /** Set when it was answered (not refused or lost). */
  answered = false;
  /** Why there is no answer: an ERROR reply, or the connection's loss. */
  error: GearmanError | undefined = undefined;
  /** The connection it was sent on. */
  connection: GearmanConnection | undefined = undefined;
  constructor(readonly unique: string) {}
}

/** An OPTION_REQ awaiting its OPTION_RES. */
class OptionQuery {
  constructor(readonly option: string) {}
}

/** Foreground requests sharing one handle on one connection. */
class HandleGroup {
  requests: GearmanJobRequest[];
  /** Copies of the current packet still to drop (gearmand sends one per submission). */
  skip = 0;
  /** The terminal packet was delivered; the entry goes when its copies are dropped. */
  finished = false;
  constructor(first: GearmanJobRequest, second: GearmanJobRequest) {
    this.requests = [first, second];
  }
}


/**
 * Submit command per (background, priority), python-gearman's `submit_cmd_for_background_priority`.
 * @internal
 */
export function submitCommand(background: boolean, priority: unknown): number {
  if (priority === null || priority === undefined) return background ? T.SUBMIT_JOB_BG : T.SUBMIT_JOB;
  if (priority === PRIORITY_HIGH) return background ? T.SUBMIT_JOB_HIGH_BG : T.SUBMIT_JOB_HIGH;
  if (priority === PRIORITY_LOW) return background ? T.SUBMIT_JOB_LOW_BG : T.SUBMIT_JOB_LOW;
  throw new GearmanError(`unknown priority ${JSON.stringify(priority)}: use PRIORITY_NONE (null), PRIORITY_LOW ('LOW') or PRIORITY_HIGH ('HIGH')`, { code: 'INVALID_ARGUMENT' });
}


/**
 * Per-connection client state: the FIFO of requests awaiting a direct reply (JOB_CREATED,
 * STATUS_RES, OPTION_RES or ERROR, which gearmand sends in request order) and the map from
 * handle to the foreground requests listening to that job.
 */
export class ClientCommandHandler extends CommandHandler {
  private readonly replies = new Fifo<GearmanJobRequest | StatusQuery | OptionQuery | UniqueStatusQuery>();
  private readonly handles = new Map<string, GearmanJobRequest | HandleGroup>();
  declare readonly connectionManager: GearmanClient<DataEncoderLike>;

  /**
   * @param connectionManager - the owning client
   * @param connection - the connection served
   */
  constructor(connectionManager: GearmanClient<DataEncoderLike>, connection: GearmanConnection) {
    super(connectionManager as unknown as ConnectionManager, connection);
  }

  /** Asks gearmand to forward WORK_EXCEPTION (otherwise it turns exceptions into WORK_FAIL). */
  override initialState(): void {
    if (this.connectionManager.exceptions) {
      this.sendCommand(T.OPTION_REQ, ['exceptions']);
      this.replies.push(new OptionQuery('exceptions'));
    }
  }

  /** Requests awaiting a direct reply on this connection. */
  get pendingReplies(): number {
    return this.replies.length;
  }

  /**
   * Queues the submission of `request` (state must be `JOB_UNKNOWN`) and moves it to `JOB_PENDING`.
   *
   * @throws {@link InvalidClientState} if the request is not `JOB_UNKNOWN`
   */
  sendJobRequest(request: GearmanJobRequest): void {
    if (request.state !== JOB_UNKNOWN) {
      throw new InvalidClientState(`${this.connection.address}: cannot submit ${request}: it is ${request.state}, not ${JOB_UNKNOWN}`);
    }
    const job = request.job;
    // The client validated task, unique and data when it prepared the request; a re-sent request
    // with a fresh unique is validated again here.
    const when = request.when;
    if (when !== null) this.sendCommand(T.SUBMIT_JOB_EPOCH, [job.task, job.unique ?? '', String(when), request.encodedData!], request.validatedUnique === job.unique);
    else this.sendCommand(submitCommand(request.background, request.priority), [job.task, job.unique ?? '', request.encodedData!], request.validatedUnique === job.unique);
    request.state = JOB_PENDING;
    request.error = undefined;
    this.replies.push(request);
  }

  /** Queues GET_STATUS for `request`'s handle. */
  sendGetStatusOfJob(request: GearmanJobRequest): void {
    this.sendCommand(T.GET_STATUS, [request.job.handle ?? '']);
    request.statusPending = true;
    this.replies.push(new StatusQuery(request));
  }

  /** Queues GET_STATUS_UNIQUE for `query`'s unique. */
  sendGetStatusUnique(query: UniqueStatusQuery): void {
    this.sendCommand(T.GET_STATUS_UNIQUE, [query.unique]);
    query.connection = this.connection;
    this.replies.push(query);
  }

  /** STATUS_RES_UNIQUE: answers the oldest GET_STATUS_UNIQUE. */
  recvStatusResUnique(args: PacketArgs): void {
    const head = this.replies.shift();
    const unique = args[0] as string;
    if (!(head instanceof UniqueStatusQuery)) {
      throw new InvalidClientState(`${this.connection.address}: received STATUS_RES_UNIQUE for ${unique} but the oldest request awaiting a reply is ${head === undefined ? 'none' : head.constructor.name}`);
    }
    if (unique !== head.unique) this.connectionManager.logger.warn(`${this.connection.address}: STATUS_RES_UNIQUE for ${unique} answers GET_STATUS_UNIQUE ${head.unique}`);
    head.known = args[1] === '1';
    head.running = args[2] === '1';
    head.numerator = this.number(args[3] as string, 'numerator', unique);
    head.denominator = this.number(args[4] as string, 'denominator', unique);
    head.waitingClients = this.number(args[5] as string, 'waiting clients', unique);
    head.answered = true;
    head.done = true;
    this.connectionManager.wake(head);
  }

  private wake(request: GearmanJobRequest): void {
    this.connectionManager.wake(request);
  }

  /** JOB_CREATED: the oldest awaiting submission gets the handle. */
  recvJobCreated(args: PacketArgs): void {
    const handle = args[0] as string;
    const head = this.replies.shift();
    if (head === undefined || head instanceof StatusQuery || head instanceof OptionQuery || head instanceof UniqueStatusQuery) {
      throw new InvalidClientState(`${this.connection.address}: received JOB_CREATED ${handle} but the oldest request awaiting a reply is ${head === undefined ? 'none' : head.constructor.name}`);
    }
    const request = head;
    if (request.state !== JOB_PENDING) {
      // Lost and re-sent elsewhere meanwhile cannot happen on a live connection; stay safe.
      this.connectionManager.logger.warn(`${this.connection.address}: JOB_CREATED ${handle} for ${request} ignored`);
      return;
    }
    request.job.handle = handle;
    request.state = JOB_CREATED;
    if (!request.background) {
      const existing = this.handles.get(handle);
      if (existing === undefined) this.handles.set(handle, request);
      else if (existing instanceof HandleGroup) existing.requests.push(request);
      else this.handles.set(handle, new HandleGroup(existing, request));
    }
    if (request.listenerCount('created') > 0) request.emit('created', handle);
    this.wake(request);
  }

  /**
   * The requests listening on `handle` that get this packet, or `undefined`. gearmand sends one
   * copy of each WORK_* per submission on this connection, so for N coalesced requests the first
   * copy goes to all of them and the N-1 that follow are dropped.
   */
  private targets(handle: string, packet: string, terminal: boolean): GearmanJobRequest | GearmanJobRequest[] | undefined {
    const target = this.handles.get(handle);
    if (target === undefined) {
      this.connectionManager.logger.warn(`${this.connection.address}: ${packet} for unknown handle ${handle} ignored`);
      return undefined;
    }
    if (!(target instanceof HandleGroup)) {
      if (terminal) this.handles.delete(handle);
      return target.state === JOB_CREATED ? target : undefined;
    }
    if (target.skip > 0) {
      target.skip--;
      if (target.skip === 0 && target.finished) this.handles.delete(handle);
      return undefined;
    }
    target.skip = target.requests.length - 1;
    if (terminal) {
      target.finished = true;
      if (target.skip === 0) this.handles.delete(handle);
    }
    return target.requests.filter((request) => request.state === JOB_CREATED);
  }

  /** Decodes `data` for `request`; a decode error fails the request and returns DECODE_FAILED. */
  private decodeFor(request: GearmanJobRequest, data: Buffer, packet: string): unknown {
    try {
      return this.decodeData(data);
    } catch (err) {
      const error = new GearmanError(`${this.connection.address}: the data encoder could not decode ${packet} of job ${request.job.handle}: ${(err as Error)?.message ?? String(err)}`, { code: 'DECODE_ERROR', cause: err });
      this.fail(request, error);
      return DECODE_FAILED;
    }
  }

  private fail(request: GearmanJobRequest, error: GearmanError | undefined): void {
    request.state = JOB_FAILED;
    if (error !== undefined) request.error = error;
    request.emit('failed', error);
  }

  /** WORK_DATA: appended to `dataUpdates`. */
  recvWorkData(args: PacketArgs): void {
    const t = this.targets(args[0] as string, 'WORK_DATA', false);
    if (t === undefined) return;
    if (Array.isArray(t)) for (const request of t) this.deliverData(request, args[1] as Buffer);
    else this.deliverData(t, args[1] as Buffer);
  }

  private deliverData(request: GearmanJobRequest, data: Buffer): void {
    const value = this.decodeFor(request, data, 'WORK_DATA');
    if (value !== DECODE_FAILED) {
      request.dataUpdates.push(value);
      request.emit('data', value);
    }
    this.wake(request);
  }

  /** WORK_WARNING: appended to `warningUpdates`. */
  recvWorkWarning(args: PacketArgs): void {
    const t = this.targets(args[0] as string, 'WORK_WARNING', false);
    if (t === undefined) return;
    if (Array.isArray(t)) for (const request of t) this.deliverWarning(request, args[1] as Buffer);
    else this.deliverWarning(t, args[1] as Buffer);
  }

  private deliverWarning(request: GearmanJobRequest, data: Buffer): void {
    const value = this.decodeFor(request, data, 'WORK_WARNING');
    if (value !== DECODE_FAILED) {
      request.warningUpdates.push(value);
      request.emit('warning', value);
    }
    this.wake(request);
  }

  /** WORK_STATUS: replaces `status`. */
  recvWorkStatus(args: PacketArgs): void {
    const handle = args[0] as string;
    const t = this.targets(handle, 'WORK_STATUS', false);
    if (t === undefined) return;
    const numerator = this.number(args[1] as string, 'numerator', handle);
    const denominator = this.number(args[2] as string, 'denominator', handle);
    for (const request of Array.isArray(t) ? t : [t]) {
      const status: ReceivedStatus = { handle, known: true, running: true, numerator, denominator, timeReceived: Date.now() / 1000 };
      request.status = status;
      request.emit('status', status);
      this.wake(request);
    }
  }

  /** WORK_COMPLETE: `result`, state `JOB_COMPLETE`. */
  recvWorkComplete(args: PacketArgs): void {
    const t = this.targets(args[0] as string, 'WORK_COMPLETE', true);
    if (t === undefined) return;
    if (Array.isArray(t)) for (const request of t) this.deliverComplete(request, args[1] as Buffer);
    else this.deliverComplete(t, args[1] as Buffer);
  }

  private deliverComplete(request: GearmanJobRequest, data: Buffer): void {
    const value = this.decodeFor(request, data, 'WORK_COMPLETE');
    if (value !== DECODE_FAILED) {
      request.result = value;
      request.state = JOB_COMPLETE;
      request.emit('complete', value);
    }
    this.wake(request);
  }

  /** WORK_FAIL: state `JOB_FAILED`. The handle may end in one NUL (an exception gearmand converted). */
  recvWorkFail(args: PacketArgs): void {
    let handle = args[0] as string;
    if (handle.endsWith('\0')) handle = handle.slice(0, -1);
    const t = this.targets(handle, 'WORK_FAIL', true);
    if (t === undefined) return;
    for (const request of Array.isArray(t) ? t : [t]) {
      this.fail(request, undefined);
      this.wake(request);
    }
  }

  /** WORK_EXCEPTION: `exception`; terminal on gearmand (no WORK_FAIL follows), so `JOB_FAILED`. */
  recvWorkException(args: PacketArgs): void {
    const t = this.targets(args[0] as string, 'WORK_EXCEPTION', true);
    if (t === undefined) return;
    for (const request of Array.isArray(t) ? t : [t]) {
      const value = this.decodeFor(request, args[1] as Buffer, 'WORK_EXCEPTION');
      if (value !== DECODE_FAILED) {
        request.exception = value;
        request.emit('exception', value);
        this.fail(request, undefined);
      }
      this.wake(request);
    }
  }

  /** STATUS_RES: answers the oldest GET_STATUS; replaces `status`, state unchanged. */
  recvStatusRes(args: PacketArgs): void {
    const head = this.replies.shift();
    const handle = args[0] as string;
    if (!(head instanceof StatusQuery)) {
      throw new InvalidClientState(`${this.connection.address}: received STATUS_RES for ${handle} but the oldest request awaiting a reply is ${head === undefined ? 'none' : 'a submission'}`);
    }
    const request = head.request;
    const status: ReceivedStatus = {
      handle,
      known: args[1] === '1',
      running: args[2] === '1',
      numerator: this.number(args[3] as string, 'numerator', handle),
      denominator: this.number(args[4] as string, 'denominator', handle),
      timeReceived: Date.now() / 1000,
    };
    request.status = status;
    request.statusPending = false;
    request.emit('status', status);
    this.wake(request);
  }

  /** OPTION_RES: answers the oldest OPTION_REQ. */
  recvOptionRes(args: PacketArgs): void {
    const head = this.replies.shift();
    if (!(head instanceof OptionQuery)) {
      throw new InvalidClientState(`${this.connection.address}: received OPTION_RES ${String(args[0])} with no OPTION_REQ awaiting it`);
    }
  }

  /**
   * ERROR: it answers the oldest request awaiting a reply. A submission becomes `JOB_FAILED` with
   * `request.error`; a status query ends; an option is logged.
   */
  override recvError(args: PacketArgs): void {
    const [code, text] = args as [string, string];
    const head = this.replies.shift();
    if (head === undefined) {
      super.recvError(args);
      return;
    }
    if (head instanceof OptionQuery) {
      this.connectionManager.logger.warn(`${this.connection.address}: server refused OPTION_REQ ${head.option}: ${code} ${text}`);
      return;
    }
    if (head instanceof UniqueStatusQuery) {
      head.error = new ServerError(`${this.connection.address}: server answered GET_STATUS_UNIQUE ${head.unique} with ERROR ${code}: ${text}`, code, text);
      head.done = true;
      this.connectionManager.wake(head);
      return;
    }
    if (head instanceof StatusQuery) {
      const request = head.request;
      request.statusPending = false;
      request.error = new ServerError(`${this.connection.address}: server answered GET_STATUS ${request.job.handle} with ERROR ${code}: ${text}`, code, text);
      this.wake(request);
      return;
    }
    const request = head;
    if (request.state !== JOB_PENDING) return;
    this.fail(request, new ServerError(`${this.connection.address}: server refused ${request.job.task} (unique ${request.job.unique}) with ERROR ${code}: ${text}`, code, text));
    this.wake(request);
  }

  private number(text: string, field: string, handle: string): number {
    const n = Number(text);
    if (text === '' || !Number.isFinite(n)) {
      this.connectionManager.logger.warn(`${this.connection.address}: status ${field} ${JSON.stringify(text)} of ${handle} is not a number; using 0`);
      return 0;
    }
    return n;
  }

  /**
   * The connection is gone: unfinished requests (`JOB_PENDING`, `JOB_CREATED` in the foreground)
   * become `JOB_UNKNOWN`; finished ones stay as they are; status queries end.
   */
  override onIoError(error: GearmanError): void {
    const lost: GearmanJobRequest[] = [];
    for (const item of this.replies.drain()) {
      if (item instanceof StatusQuery) {
        item.request.statusPending = false;
        lost.push(item.request);
      } else if (item instanceof UniqueStatusQuery) {
        item.error = error;
        item.done = true;
        this.connectionManager.wake(item);
      } else if (!(item instanceof OptionQuery)) lost.push(item);
    }
    for (const target of this.handles.values()) {
      if (target instanceof HandleGroup) lost.push(...target.requests);
      else lost.push(target);
    }
    this.handles.clear();
    this.connectionManager.lossEpoch++;
    for (const request of lost) {
      if ((request.state === JOB_PENDING || request.state === JOB_CREATED) && request.job.connection === this.connection && !request.complete) {
        request.state = JOB_UNKNOWN;
        request.error = error;
        request.emit('unknown', error);
      }
      this.connectionManager.wake(request);
    }
  }
}
