/**
 * The client's per-connection handler, as python-gearman's `GearmanClientCommandHandler`, with its
 * bugs mended: an ERROR reply fails the request it answers, packets for unknown handles are logged
 * and ignored, requests that share a handle (coalesced on a unique) all get every update once,
 * and only unfinished requests are lost with the connection.
 *
 * It sees its connection and a {@link ClientHandlerHost} (what it needs of the client), receives
 * packets through a typed dispatch table, and never touches a socket or a wait: it changes its
 * requests and wakes them.
 *
 * User code it calls (request listeners, the encoder's `decode`) is isolated: a throwing `decode`
 * fails only that request (`JOB_FAILED`, `request.error` code `'DECODE_ERROR'`); a throwing
 * listener is rethrown on `process.nextTick` (ioredis's rule: it surfaces as an uncaught exception
 * of its own, as if the listener had run alone), after the request's state changed and its waits
 * were woken. Neither closes the connection nor touches other requests; only protocol and state
 * errors do.
 *
 * @module
 */
import { CommandHandler, type HandlerHost } from './command-handler.js';
import { CommandType } from '../protocol/commands.js';
import type { DispatchTable } from '../protocol/command-args.js';
import { Fifo } from '../fifo.js';
import { JOB_COMPLETE, JOB_CREATED, JOB_FAILED, JOB_PENDING, JOB_UNKNOWN, PRIORITY_HIGH, PRIORITY_LOW } from '../constants.js';
import { GearmanError, InvalidArgumentError, InvalidClientState, ServerError } from '../errors.js';
import type { GearmanJobRequest, GearmanJobRequestEvents } from '../job.js';
import type { ReceivedStatus } from '../request-updates.js';
import type { GearmanConnection } from '../connection.js';

const T = CommandType;
const DECODE_FAILED = Symbol('decode failed');

/**
 * What a {@link ClientCommandHandler} needs of its client ({@link GearmanClient} provides it).
 * Published for `gearman-ts/internal` (not on the public API pages).
 */
export interface ClientHandlerHost extends HandlerHost {
  /** Ask each server to forward WORK_EXCEPTION (OPTION_REQ `exceptions`) on connect. */
  readonly exceptions: boolean;
  /** Wakes the waits watching `target` (the handler wakes `request.wire`; see ConnectionManager.wake). */
  wake(target: object): void;
  /** A connection lost requests: waits rescan their requests. */
  noteLoss(): void;
}

/**
 * A GET_STATUS awaiting its STATUS_RES; the status call holds it and watches `answered`.
 * Published for `gearman-ts/internal` (not on the public API pages).
 */
export class StatusQuery {
  /** STATUS_RES or ERROR arrived, or the connection went. */
  answered = false;
  constructor(readonly request: GearmanJobRequest) {}
}

/**
 * A GET_STATUS_UNIQUE awaiting its STATUS_RES_UNIQUE (#12); the call holds it and watches it.
 * gearmand answers `unique, known, running, numerator, denominator, waiting clients`: the
 * unique first, not a handle (protocol.md 4.12).
 * Published for `gearman-ts/internal` (not on the public API pages).
 */
export class UniqueStatusQuery {
  /** Answered, refused (ERROR) or lost with the connection. */
  done = false;
  /** Set when STATUS_RES_UNIQUE came (not refused or lost). */
  answered = false;
  known = false;
  running = false;
  numerator = 0;
  denominator = 0;
  waitingClients = 0;
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

/** The WORK_* packets that carry data, and what each does to a request. */
type WorkUpdate = 'data' | 'warning' | 'complete' | 'exception';

const UPDATE_PACKET: Record<WorkUpdate, string> = {
  data: 'WORK_DATA',
  warning: 'WORK_WARNING',
  complete: 'WORK_COMPLETE',
  exception: 'WORK_EXCEPTION',
};

/**
 * Emits a request event; a listener that throws is rethrown on its own tick, so it can neither
 * break the packet being handled nor the requests after it.
 */
function emitIsolated<E extends keyof GearmanJobRequestEvents>(request: GearmanJobRequest, event: E, value: GearmanJobRequestEvents[E][0]): void {
  // Every request event has one argument: a fixed arity allocates nothing per packet.
  if (request.listenerCount(event) === 0) return;
  try {
    (request.emit as (event: E, value: unknown) => boolean)(event, value);
  } catch (err) {
    process.nextTick(rethrow, err);
  }
}

function rethrow(err: unknown): never {
  throw err;
}

/**
 * Submit command per (background, priority), python-gearman's `submit_cmd_for_background_priority`.
 * @throws {@link InvalidArgumentError} for an unknown priority
 * @internal
 */
export function submitCommand(background: boolean, priority: unknown): number {
  if (priority === null || priority === undefined) return background ? T.SUBMIT_JOB_BG : T.SUBMIT_JOB;
  if (priority === PRIORITY_HIGH) return background ? T.SUBMIT_JOB_HIGH_BG : T.SUBMIT_JOB_HIGH;
  if (priority === PRIORITY_LOW) return background ? T.SUBMIT_JOB_LOW_BG : T.SUBMIT_JOB_LOW;
  throw new InvalidArgumentError(`unknown priority ${JSON.stringify(priority)}: use PRIORITY_NONE (null), PRIORITY_LOW ('LOW') or PRIORITY_HIGH ('HIGH')`);
}

/** The client handler's packets: each entry gets its packet's argument tuple. */
// Indexing rather than destructuring: no iterator per packet on the hot path.
const CLIENT_DISPATCH = {
  [T.JOB_CREATED]: (h, a) => h.recvJobCreated(a[0]),
  [T.WORK_DATA]: (h, a) => h.recvWorkUpdate('data', a[0], a[1]),
  [T.WORK_WARNING]: (h, a) => h.recvWorkUpdate('warning', a[0], a[1]),
  [T.WORK_COMPLETE]: (h, a) => h.recvWorkUpdate('complete', a[0], a[1]),
  [T.WORK_EXCEPTION]: (h, a) => h.recvWorkUpdate('exception', a[0], a[1]),
  [T.WORK_STATUS]: (h, a) => h.recvWorkStatus(a[0], a[1], a[2]),
  [T.WORK_FAIL]: (h, a) => h.recvWorkFail(a[0]),
  [T.STATUS_RES]: (h, a) => h.recvStatusRes(a[0], a[1], a[2], a[3], a[4]),
  [T.STATUS_RES_UNIQUE]: (h, a) => h.recvStatusResUnique(a[0], a[1], a[2], a[3], a[4], a[5]),
  [T.OPTION_RES]: (h, a) => h.recvOptionRes(a[0]),
  [T.ERROR]: (h, a) => h.recvServerError(a[0], a[1]),
} satisfies DispatchTable<ClientCommandHandler>;

/**
 * Per-connection client state: the FIFO of requests awaiting a direct reply (JOB_CREATED,
 * STATUS_RES, OPTION_RES or ERROR, which gearmand sends in request order) and the map from
 * handle to the foreground requests listening to that job.
 */
export class ClientCommandHandler extends CommandHandler {
  private readonly replies = new Fifo<GearmanJobRequest | StatusQuery | OptionQuery | UniqueStatusQuery>();
  private readonly handles = new Map<string, GearmanJobRequest | HandleGroup>();
  declare readonly connectionManager: ClientHandlerHost;
  /**
   * A call timed out with a submission of this connection unacknowledged (a hung server); the
   * client prefers other servers until this one answers again. Written by the client.
   * @internal
   */
  unresponsive = false;

  /**
   * @param host - the owning client (or any `ClientHandlerHost`)
   * @param connection - the connection served
   */
  constructor(host: ClientHandlerHost, connection: GearmanConnection) {
    super(host, connection);
  }

  private get host(): ClientHandlerHost {
    return this.connectionManager;
  }

  /** @internal */
  protected override dispatchTable(): DispatchTable<ClientCommandHandler> {
    return CLIENT_DISPATCH;
  }

  /** Asks gearmand to forward WORK_EXCEPTION (otherwise it turns exceptions into WORK_FAIL). */
  override initialState(): void {
    if (this.host.exceptions) {
      this.sendCommand(T.OPTION_REQ, ['exceptions']);
      this.replies.push(new OptionQuery('exceptions'));
    }
  }

  /** Requests awaiting a direct reply on this connection. */
  get pendingReplies(): number {
    return this.replies.length;
  }

  /**
   * Queues the submission of `request` (state must be `JOB_UNKNOWN`, data encoded by the client)
   * and moves it to `JOB_PENDING`.
   *
   * @throws {@link InvalidClientState} if the request is not `JOB_UNKNOWN` or was not prepared
   */
  sendJobRequest(request: GearmanJobRequest): void {
    if (request.state !== JOB_UNKNOWN) {
      throw new InvalidClientState(`${this.connection.address}: cannot submit ${request}: it is ${request.state}, not ${JOB_UNKNOWN}`);
    }
    const job = request.job;
    const wire = request.wire;
    if (wire.encoded === undefined) throw new InvalidClientState(`${this.connection.address}: cannot submit ${request}: its data was not encoded`);
    // The client validated task, unique and data when it prepared the request; a re-sent request
    // with a fresh unique is validated again here. A scheduled job goes as SUBMIT_JOB_EPOCH (#12).
    const when = request.when;
    if (when !== null) this.sendCommand(T.SUBMIT_JOB_EPOCH, [job.task, job.unique ?? '', String(when), wire.encoded], wire.validatedUnique === job.unique);
    else this.sendCommand(submitCommand(request.background, request.priority), [job.task, job.unique ?? '', wire.encoded], wire.validatedUnique === job.unique);
    request.state = JOB_PENDING;
    request.error = undefined;
    this.replies.push(request);
  }

  /** Queues GET_STATUS for the query's request handle. */
  sendGetStatus(query: StatusQuery): void {
    this.sendCommand(T.GET_STATUS, [query.request.job.handle ?? '']);
    this.replies.push(query);
  }

  /** Queues GET_STATUS_UNIQUE for `query`'s unique. */
  sendGetStatusUnique(query: UniqueStatusQuery): void {
    this.sendCommand(T.GET_STATUS_UNIQUE, [query.unique]);
    query.connection = this.connection;
    this.replies.push(query);
  }

  /** JOB_CREATED: the oldest awaiting submission gets the handle. */
  recvJobCreated(handle: string): void {
    this.unresponsive = false;
    const head = this.replies.shift();
    if (head === undefined || head instanceof StatusQuery || head instanceof OptionQuery || head instanceof UniqueStatusQuery) {
      throw new InvalidClientState(`${this.connection.address}: received JOB_CREATED ${handle} but the oldest request awaiting a reply is ${head === undefined ? 'none' : head.constructor.name}`);
    }
    const request = head;
    if (request.state !== JOB_PENDING || request.job.connection !== this.connection) {
      // Taken back from this (unresponsive) server and sent elsewhere, or lost and re-sent.
      // Lost and re-sent elsewhere meanwhile cannot happen on a live connection; stay safe.
      this.host.logger.warn(`${this.connection.address}: JOB_CREATED ${handle} for ${request} ignored`);
      return;
    }
    request.job.handle = handle;
    request.wire.handleIssuer = this;
    request.state = JOB_CREATED;
    if (!request.background) {
      const existing = this.handles.get(handle);
      if (existing === undefined) this.handles.set(handle, request);
      else if (existing instanceof HandleGroup) existing.requests.push(request);
      else this.handles.set(handle, new HandleGroup(existing, request));
    }
    this.host.wake(request.wire);
    emitIsolated(request, 'created', handle);
  }

  /**
   * The requests listening on `handle` that get this packet, or `undefined`. gearmand sends one
   * copy of each WORK_* per submission on this connection, so for N coalesced requests the first
   * copy goes to all of them and the N-1 that follow are dropped. A request that was reset and
   * re-submitted since (its handle is another one now) gets nothing of its old job.
   */
  private targets(handle: string, packet: string, terminal: boolean): GearmanJobRequest | GearmanJobRequest[] | undefined {
    const target = this.handles.get(handle);
    if (target === undefined) {
      this.host.logger.warn(`${this.connection.address}: ${packet} for unknown handle ${handle} ignored`);
      return undefined;
    }
    if (!(target instanceof HandleGroup)) {
      if (terminal) this.handles.delete(handle);
      return this.listens(target, handle) ? target : undefined;
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
    const out: GearmanJobRequest[] = [];
    for (const request of target.requests) if (this.listens(request, handle) && !out.includes(request)) out.push(request);
    return out;
  }

  /** Whether `request` still waits on the job `handle` of this connection. */
  private listens(request: GearmanJobRequest, handle: string): boolean {
    return request.state === JOB_CREATED && request.job.handle === handle && request.wire.handleIssuer === this;
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
    emitIsolated(request, 'failed', error);
  }

  /**
   * WORK_DATA, WORK_WARNING, WORK_COMPLETE, WORK_EXCEPTION: one delivery path. The data is
   * decoded once per request (a decode error fails that request only), then appended to
   * `dataUpdates` / `warningUpdates`, or set as `result` (`JOB_COMPLETE`) / `exception`
   * (`JOB_FAILED`: WORK_EXCEPTION is terminal on gearmand).
   */
  recvWorkUpdate(kind: WorkUpdate, handle: string, data: Buffer): void {
    const packet = UPDATE_PACKET[kind];
    const t = this.targets(handle, packet, kind === 'complete' || kind === 'exception');
    if (t === undefined) return;
    if (Array.isArray(t)) for (const request of t) this.deliver(kind, packet, request, data);
    else this.deliver(kind, packet, t, data);
  }

  private deliver(kind: WorkUpdate, packet: string, request: GearmanJobRequest, data: Buffer): void {
    const value = this.decodeFor(request, data, packet);
    if (value === DECODE_FAILED) {
      this.host.wake(request.wire);
      return;
    }
    switch (kind) {
      case 'data':
        request.dataUpdates.push(value);
        break;
      case 'warning':
        request.warningUpdates.push(value);
        break;
      case 'complete':
        request.result = value;
        request.state = JOB_COMPLETE;
        break;
      case 'exception':
        request.exception = value;
        request.state = JOB_FAILED;
        break;
    }
    // The state is final before any user code runs, and the waits are woken whatever it does.
    this.host.wake(request.wire);
    emitIsolated(request, kind, value);
    if (kind === 'exception') emitIsolated(request, 'failed', undefined);
  }

  /** WORK_STATUS: replaces `status`. */
  recvWorkStatus(handle: string, numeratorText: string, denominatorText: string): void {
    const t = this.targets(handle, 'WORK_STATUS', false);
    if (t === undefined) return;
    const numerator = this.number(numeratorText, 'numerator', handle);
    const denominator = this.number(denominatorText, 'denominator', handle);
    for (const request of Array.isArray(t) ? t : [t]) {
      const status: ReceivedStatus = { handle, known: true, running: true, numerator, denominator, timeReceived: Date.now() / 1000 };
      request.status = status;
      this.host.wake(request.wire);
      emitIsolated(request, 'status', status);
    }
  }

  /** WORK_FAIL: state `JOB_FAILED`. The handle may end in one NUL (an exception gearmand converted). */
  recvWorkFail(handleText: string): void {
    const handle = handleText.endsWith('\0') ? handleText.slice(0, -1) : handleText;
    const t = this.targets(handle, 'WORK_FAIL', true);
    if (t === undefined) return;
    for (const request of Array.isArray(t) ? t : [t]) {
      request.state = JOB_FAILED;
      this.host.wake(request.wire);
      emitIsolated(request, 'failed', undefined);
    }
  }

  /** STATUS_RES: answers the oldest GET_STATUS; replaces `status`, state unchanged. */
  recvStatusRes(handle: string, known: string, running: string, numerator: string, denominator: string): void {
    this.unresponsive = false;
    const head = this.replies.shift();
    if (!(head instanceof StatusQuery)) {
      throw new InvalidClientState(`${this.connection.address}: received STATUS_RES for ${handle} but the oldest request awaiting a reply is ${head === undefined ? 'none' : 'a submission'}`);
    }
    const request = head.request;
    const status: ReceivedStatus = {
      handle,
      known: known === '1',
      running: running === '1',
      numerator: this.number(numerator, 'numerator', handle),
      denominator: this.number(denominator, 'denominator', handle),
      timeReceived: Date.now() / 1000,
    };
    request.status = status;
    head.answered = true;
    this.host.wake(request.wire);
    emitIsolated(request, 'status', status);
  }

  /** STATUS_RES_UNIQUE: answers the oldest GET_STATUS_UNIQUE. */
  recvStatusResUnique(unique: string, known: string, running: string, numerator: string, denominator: string, waiting: string): void {
    const head = this.replies.shift();
    if (!(head instanceof UniqueStatusQuery)) {
      throw new InvalidClientState(`${this.connection.address}: received STATUS_RES_UNIQUE for ${unique} but the oldest request awaiting a reply is ${head === undefined ? 'none' : head.constructor.name}`);
    }
    if (unique !== head.unique) this.host.logger.warn(`${this.connection.address}: STATUS_RES_UNIQUE for ${unique} answers GET_STATUS_UNIQUE ${head.unique}`);
    head.known = known === '1';
    head.running = running === '1';
    head.numerator = this.number(numerator, 'numerator', unique);
    head.denominator = this.number(denominator, 'denominator', unique);
    head.waitingClients = this.number(waiting, 'waiting clients', unique);
    head.answered = true;
    head.done = true;
    this.host.wake(head);
  }

  /** OPTION_RES: answers the oldest OPTION_REQ. */
  recvOptionRes(option: string): void {
    const head = this.replies.shift();
    if (!(head instanceof OptionQuery)) {
      throw new InvalidClientState(`${this.connection.address}: received OPTION_RES ${option} with no OPTION_REQ awaiting it`);
    }
  }

  /**
   * ERROR: it answers the oldest request awaiting a reply. A submission becomes `JOB_FAILED` with
   * `request.error`; a status query ends; an option is logged; with nothing awaiting, the client
   * logs it (`onGearmanError`).
   */
  recvServerError(code: string, text: string): void {
    this.unresponsive = false;
    const head = this.replies.shift();
    if (head === undefined) {
      super.recvError([code, text]);
      return;
    }
    if (head instanceof OptionQuery) {
      this.host.logger.warn(`${this.connection.address}: server refused OPTION_REQ ${head.option}: ${code} ${text}`);
      return;
    }
    if (head instanceof UniqueStatusQuery) {
      head.error = new ServerError(`${this.connection.address}: server answered GET_STATUS_UNIQUE ${head.unique} with ERROR ${code}: ${text}`, code, text);
      head.done = true;
      this.host.wake(head);
      return;
    }
    if (head instanceof StatusQuery) {
      const request = head.request;
      head.answered = true;
      request.error = new ServerError(`${this.connection.address}: server answered GET_STATUS ${request.job.handle} with ERROR ${code}: ${text}`, code, text);
      this.host.wake(request.wire);
      return;
    }
    const request = head;
    if (request.state !== JOB_PENDING || request.job.connection !== this.connection) return;
    this.host.wake(request.wire);
    this.fail(request, new ServerError(`${this.connection.address}: server refused ${request.job.task} (unique ${request.job.unique}) with ERROR ${code}: ${text}`, code, text));
  }

  private number(text: string, field: string, handle: string): number {
    const n = Number(text);
    if (text === '' || !Number.isFinite(n)) {
      this.host.logger.warn(`${this.connection.address}: status ${field} ${JSON.stringify(text)} of ${handle} is not a number; using 0`);
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
        item.answered = true;
        lost.push(item.request);
      } else if (item instanceof UniqueStatusQuery) {
        item.error = error;
        item.done = true;
        this.host.wake(item);
      } else if (!(item instanceof OptionQuery)) lost.push(item);
    }
    for (const target of this.handles.values()) {
      if (target instanceof HandleGroup) lost.push(...target.requests);
      else lost.push(target);
    }
    this.handles.clear();
    this.host.noteLoss();
    const unknown: GearmanJobRequest[] = [];
    for (const request of lost) {
      if ((request.state === JOB_PENDING || request.state === JOB_CREATED) && request.job.connection === this.connection && !request.complete) {
        // (A request taken back from this connection and re-sent elsewhere has another connection.)
        request.state = JOB_UNKNOWN;
        request.error = error;
        unknown.push(request);
      }
      this.host.wake(request.wire);
    }
    for (const request of unknown) emitIsolated(request, 'unknown', error);
  }
}
