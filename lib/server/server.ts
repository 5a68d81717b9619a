/**
 * The embedded job server: a Gearman server in the calling process, in memory, that answers as
 * gearmand 1.1.20 does wherever a client, worker or admin client can tell (protocol.md).
 *
 * Arrows: {@link GearmanServer} accepts sockets and wraps each in a {@link ServerConnection}
 * (which owns a server-side packet stream); packets come back here, where the job table of
 * `jobs.ts` is changed and answers are queued on the connections; admin text lines go to
 * `admin.ts`, which reads the same table.
 *
 * @module
 */
import net from 'node:net';
import os from 'node:os';
import { debuglog } from 'node:util';
import { CommandType as T, commandName } from '../protocol/commands.js';
import type { PacketArgs } from '../protocol/decoder.js';
import { checkOptions } from '../arguments.js';
import { InvalidArgumentError } from '../errors.js';
import type { Logger } from '../connection-manager.js';
import { ServerConnection, type AnyFunction, type AnyJob } from './connection.js';
import { EpochHeap, HIGH, LOW, NORMAL, STORED_UNIQUE_BYTES, ServerFunction, ServerJob, coalesceKey, truncateUtf8, type Priority, type TaskCounters } from './jobs.js';
import { runAdminCommand } from './admin.js';

/** Options of {@link GearmanServer}. */
export interface GearmanServerOptions {
  /** Address to listen on (loopback by default: pass `'0.0.0.0'` or `'::'` to serve others). @default '127.0.0.1' */
  host?: string;
  /** TCP port; 0 picks a free one (read it back from {@link GearmanServer.port}). @default 4730 */
  port?: number;
  /** Job handles are `<handlePrefix>:<n>`, as gearmand's `--job-handle-prefix`. @default `H:<hostname>` */
  handlePrefix?: string;
  /** Largest packet payload accepted; a larger declared size closes that connection. @default 67108864 (64 MiB) */
  maxPacketSize?: number;
  /** Jobs (queued and running) the server holds at most; further submissions get `ERROR QUEUE_ERROR Job queue is full`. @default Infinity */
  maxQueuedJobs?: number;
  /** Connections accepted at once; further ones are closed at accept. @default Infinity */
  maxConnections?: number;
  /** A packet that starts and gets no further byte for this long closes its connection. 0 = never. @default 30000 */
  stallTimeoutMs?: number;
  /** Bytes written to a connection and not yet read by its peer, past which the connection is closed. @default 67108864 (64 MiB) */
  maxOutputBytes?: number;
  /** Every connection gets WORK_EXCEPTION without OPTION_REQ, as gearmand's `--exceptions`. @default false */
  exceptions?: boolean;
  /** A job lost by this many workers fails (WORK_FAIL), as gearmand's `--job-retries`; 0 = re-queue for ever. @default 0 */
  jobRetries?: number;
  /** Accept the admin commands `shutdown` and `shutdown graceful` (gearmand 1.1.20 refuses them). @default false */
  allowShutdown?: boolean;
  /** What `version` answers. @default '1.1.20+gearman-ts' (the gearmand release it matches) */
  version?: string;
  /** Where the server logs connections closed for protocol errors, and lost workers. @default `NODE_DEBUG=gearman-server` */
  logger?: Logger;
}

/** Per-task figures in {@link GearmanServer.stats}: gauges as admin `status`, and counters since start. */
export interface ServerTaskStats extends TaskCounters {
  /** Jobs queued or running (admin `status` TOTAL). */
  total: number;
  /** Jobs a worker is running. */
  running: number;
  /** Connections that registered the task. */
  workers: number;
}

/** What {@link GearmanServer.stats} returns. */
export interface ServerStats {
  /** Open connections (clients, workers, admin clients). */
  connections: number;
  /** Jobs held: queued, running or waiting for their epoch. */
  jobs: number;
  /** Milliseconds since the server started listening. */
  uptimeMs: number;
  /** Per task name. */
  tasks: Record<string, ServerTaskStats>;
}

const DEFAULT_PORT = 4730;
const SERVER_OPTIONS = [
  'host', 'port', 'handlePrefix', 'maxPacketSize', 'maxQueuedJobs', 'maxConnections', 'stallTimeoutMs', 'maxOutputBytes', 'exceptions',
  'jobRetries', 'allowShutdown', 'version', 'logger',
] as const;

const SUBMIT_PRIORITY: Record<number, [Priority, boolean]> = {
  [T.SUBMIT_JOB]: [NORMAL, false],
  [T.SUBMIT_JOB_BG]: [NORMAL, true],
  [T.SUBMIT_JOB_HIGH]: [HIGH, false],
  [T.SUBMIT_JOB_HIGH_BG]: [HIGH, true],
  [T.SUBMIT_JOB_LOW]: [LOW, false],
  [T.SUBMIT_JOB_LOW_BG]: [LOW, true],
};

const NO_ARGS: [] = [];

function defaultLogger(): Logger {
  const log = debuglog('gearman-server');
  return { debug: log, info: log, warn: log, error: log };
}

function nonNegative(value: unknown, name: string, fallback: number, allowInfinity = false): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0 || (!allowInfinity && !Number.isFinite(value))) {
    throw new InvalidArgumentError(`GearmanServer: ${name} must be a number >= 0${allowInfinity ? ' (or Infinity)' : ''}, got ${String(value)}`);
  }
  return value;
}

/**
 * An in-memory Gearman job server in this process, for tests, demos and small deployments:
 * clients, workers, `gearadmin` and our admin client talk to it as to gearmand 1.1.20.
 * Nothing is persisted: durable queues are gearmand's (its queue plugins).
 *
 * @example
 * ```ts
 * import { GearmanServer } from 'gearman-ts/server';
 * import { GearmanClient } from 'gearman-ts';
 *
 * await using server = await GearmanServer.start({ port: 0 });
 * const client = new GearmanClient(server.hostList);
 * ```
 */
export class GearmanServer {
  /** The address listened on. */
  readonly host: string;
  /** The port listened on (the one picked when 0 was asked), once listening. */
  port: number;

  /** @internal */ readonly handlePrefix: string;
  /** @internal */ readonly version: string;
  /** @internal */ readonly allowShutdown: boolean;
  /** @internal */ readonly logger: Logger;
  /** @internal */ readonly functions = new Map<string, AnyFunction>();
  /** @internal */ readonly jobs = new Map<string, AnyJob>();
  /** @internal */ readonly connections = new Set<ServerConnection>();

  private readonly maxPacketSize: number;
  private readonly maxQueuedJobs: number;
  private readonly maxConnections: number;
  private readonly stallTimeoutMs: number;
  private readonly maxOutputBytes: number;
  private readonly exceptions: boolean;
  private readonly jobRetries: number;
  private readonly listener: net.Server;
  private readonly epochJobs = new EpochHeap<AnyJob>();
  private epochTimer: NodeJS.Timeout | undefined;
  private epochTimerAt = 0;
  private handleCounter = 0;
  private connectionCounter = 0;
  private startedAt = 0;
  private listening = false;
  private closing: Promise<void> | undefined;
  private draining = false;

  /**
   * Creates a server that is not listening yet: call {@link listen}, or use {@link GearmanServer.start}.
   *
   * @param options - see {@link GearmanServerOptions}
   * @throws {@link gearman-ts!InvalidArgumentError | InvalidArgumentError} for an unknown option key or a bad value
   */
  constructor(options: GearmanServerOptions = {}) {
    checkOptions(options, SERVER_OPTIONS, 'GearmanServer');
    this.host = options.host ?? '127.0.0.1';
    if (typeof this.host !== 'string' || this.host === '') throw new InvalidArgumentError(`GearmanServer: host must be a non-empty string`);
    const port = nonNegative(options.port, 'port', DEFAULT_PORT);
    if (!Number.isInteger(port) || port > 65535) throw new InvalidArgumentError(`GearmanServer: port must be an integer from 0 to 65535, got ${port}`);
    this.port = port;
    this.handlePrefix = options.handlePrefix ?? `H:${os.hostname()}`;
    if (typeof this.handlePrefix !== 'string' || this.handlePrefix.includes('\0')) {
      throw new InvalidArgumentError(`GearmanServer: handlePrefix must be a string without NUL bytes`);
    }
    this.maxPacketSize = nonNegative(options.maxPacketSize, 'maxPacketSize', 64 * 1024 * 1024);
    this.maxQueuedJobs = nonNegative(options.maxQueuedJobs, 'maxQueuedJobs', Infinity, true);
    this.maxConnections = nonNegative(options.maxConnections, 'maxConnections', Infinity, true);
    this.stallTimeoutMs = nonNegative(options.stallTimeoutMs, 'stallTimeoutMs', 30_000);
    this.maxOutputBytes = nonNegative(options.maxOutputBytes, 'maxOutputBytes', 64 * 1024 * 1024);
    this.exceptions = options.exceptions ?? false;
    this.jobRetries = nonNegative(options.jobRetries, 'jobRetries', 0);
    this.allowShutdown = options.allowShutdown ?? false;
    this.version = options.version ?? '1.1.20+gearman-ts';
    this.logger = options.logger ?? defaultLogger();
    this.listener = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.listener.on('error', (err) => this.logger.error(`gearman server ${this.address}: ${err.message}`));
  }

  /**
   * Creates a server and starts listening.
   *
   * @param options - see {@link GearmanServerOptions}; `{ port: 0 }` for a free port
   * @returns the listening server
   * @throws {@link gearman-ts!InvalidArgumentError | InvalidArgumentError} for bad options; rejects with the socket error if the
   * address cannot be listened on
   */
  static async start(options: GearmanServerOptions = {}): Promise<GearmanServer> {
    const server = new GearmanServer(options);
    await server.listen();
    return server;
  }

  /** `host:port` (IPv6 in brackets). */
  get address(): string {
    return this.host.includes(':') ? `[${this.host}]:${this.port}` : `${this.host}:${this.port}`;
  }

  /** The host list for `new GearmanClient(...)`, `new GearmanWorker(...)`: `['127.0.0.1:PORT']`. */
  get hostList(): string[] {
    return [this.address];
  }

  /**
   * Starts listening.
   *
   * @returns once the port is bound
   * @throws rejects with the listen error (address in use...)
   */
  listen(): Promise<void> {
    if (this.listening) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.listener.once('error', onError);
      this.listener.listen({ host: this.host, port: this.port }, () => {
        this.listener.removeListener('error', onError);
        this.port = (this.listener.address() as net.AddressInfo).port;
        this.listening = true;
        this.startedAt = Date.now();
        resolve();
      });
    });
  }

  /**
   * Stops listening, ends every connection and drops every job. Safe to call twice.
   *
   * @returns once the port is released
   */
  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    this.closing = new Promise<void>((resolve) => {
      if (this.epochTimer !== undefined) clearTimeout(this.epochTimer);
      // What is queued (the answer to a `shutdown`, say) goes out first.
      for (const conn of [...this.connections]) {
        conn.stream.flush();
        conn.destroy();
      }
      for (const job of this.jobs.values()) if (job.timer !== undefined) clearTimeout(job.timer);
      this.jobs.clear();
      this.functions.clear();
      this.epochJobs.clear();
      if (!this.listening) {
        resolve();
        return;
      }
      this.listener.close(() => resolve());
    });
    return this.closing;
  }

  /** Same as {@link close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * Gauges and counters per task, as admin `status` plus what happened since start.
   *
   * @returns a snapshot (a new object each call)
   */
  stats(): ServerStats {
    const tasks: Record<string, ServerTaskStats> = {};
    for (const fn of this.functions.values()) {
      tasks[fn.name] = { total: fn.total, running: fn.running, workers: fn.workers.size, ...fn.counters };
    }
    return { connections: this.connections.size, jobs: this.jobs.size, uptimeMs: this.startedAt === 0 ? 0 : Date.now() - this.startedAt, tasks };
  }

  /** @returns `<GearmanServer host:port jobs=N connections=N>` */
  toString(): string {
    return `<GearmanServer ${this.address} jobs=${this.jobs.size} connections=${this.connections.size}>`;
  }

  // -----------------------------------------------------------------------------------------------
  // Connections

  private accept(socket: net.Socket): void {
    if (this.closing !== undefined || this.connections.size >= this.maxConnections) {
      socket.destroy();
      return;
    }
    const conn = new ServerConnection(
      socket,
      this,
      ++this.connectionCounter,
      { maxPacketSize: this.maxPacketSize, stallTimeoutMs: this.stallTimeoutMs, maxLineLength: 8191, maxOutputBytes: this.maxOutputBytes },
      this.exceptions,
    );
    this.connections.add(conn);
    this.logger.info?.(`gearman server ${this.address}: connection ${conn.id} from ${conn.ip}`);
  }

  /** @internal */
  handleClose(conn: ServerConnection, reason: string | undefined): void {
    if (!this.connections.delete(conn)) return;
    if (reason !== undefined) this.logger.warn(`gearman server ${this.address}: closed connection ${conn.id} (${conn.ip}): ${reason}`);
    else this.logger.info?.(`gearman server ${this.address}: connection ${conn.id} (${conn.ip}) closed`);
    // Jobs it listened to: abandoned ones are ignored (dropped when a worker would take them).
    for (const job of conn.listening) {
      job.clients = job.clients.filter((c) => c !== conn);
      if (job.clients.length === 0 && job.worker === undefined) job.ignored = true;
    }
    conn.listening.clear();
    // Jobs it ran: back in the queue for the next worker, as gearmand.
    for (const job of conn.running) {
      this.logger.warn(`gearman server ${this.address}: worker connection ${conn.id} lost with ${job.handle} running; re-queued`);
      this.requeue(job);
    }
    conn.running.clear();
    for (const fn of conn.abilities) fn.workers.delete(conn);
    conn.abilities = [];
    if (this.draining) this.checkDrained();
  }

  /** @internal */
  handleRefused(conn: ServerConnection, type: number, reason: 'direction' | 'magic'): void {
    this.logger.debug(`gearman server ${this.address}: refused ${commandName(type)} (${reason}) from connection ${conn.id}`);
    if (reason === 'magic') conn.sendError('INVALID_MAGIC', 'Request magic expected');
    else conn.sendError('INVALID_COMMAND', 'Command not expected');
  }

  /** @internal */
  handleText(conn: ServerConnection, line: string): void {
    runAdminCommand(this, conn, line);
  }

  // -----------------------------------------------------------------------------------------------
  // Packets

  /** @internal */
  handlePacket(conn: ServerConnection, type: number, args: PacketArgs): void {
    switch (type) {
      case T.SUBMIT_JOB:
      case T.SUBMIT_JOB_BG:
      case T.SUBMIT_JOB_HIGH:
      case T.SUBMIT_JOB_HIGH_BG:
      case T.SUBMIT_JOB_LOW:
      case T.SUBMIT_JOB_LOW_BG: {
        const [priority, background] = SUBMIT_PRIORITY[type]!;
        this.submit(conn, args[0] as string, args[1] as string, args[2] as Buffer, priority, background, '', 0, true);
        return;
      }
      case T.SUBMIT_JOB_EPOCH: {
        const epoch = Number.parseInt(args[2] as string, 10);
        const when = Number.isFinite(epoch) && epoch > 0 ? epoch * 1000 : 0;
        this.submit(conn, args[0] as string, args[1] as string, args[3] as Buffer, NORMAL, true, '', when, true);
        return;
      }
      case T.SUBMIT_REDUCE_JOB:
      case T.SUBMIT_REDUCE_JOB_BACKGROUND: {
        const reducer = args[2] as string;
        if (Buffer.byteLength(reducer) > STORED_UNIQUE_BYTES + 1) {
          conn.sendError('ARGUMENT_TOO_LARGE', 'Unique value too large');
          return;
        }
        this.submit(conn, args[0] as string, args[1] as string, args[4] as Buffer, NORMAL, type === T.SUBMIT_REDUCE_JOB_BACKGROUND, reducer, 0, false);
        return;
      }
      case T.GRAB_JOB:
      case T.GRAB_JOB_UNIQ:
      case T.GRAB_JOB_ALL:
        this.grab(conn, type);
        return;
      case T.PRE_SLEEP:
        if (this.hasJobFor(conn)) conn.send(T.NOOP, NO_ARGS);
        else {
          conn.sleeping = true;
          conn.noopSent = false;
        }
        return;
      case T.WORK_COMPLETE:
      case T.WORK_FAIL:
      case T.WORK_EXCEPTION:
      case T.WORK_DATA:
      case T.WORK_WARNING:
      case T.WORK_STATUS:
        this.workResult(conn, type, args);
        return;
      case T.CAN_DO:
        this.canDo(conn, args[0] as string, undefined);
        return;
      case T.CAN_DO_TIMEOUT: {
        const ms = Number.parseInt(args[1] as string, 10);
        this.canDo(conn, args[0] as string, Number.isFinite(ms) && ms > 0 ? Math.max(ms, 1000) : 0);
        return;
      }
      case T.CANT_DO: {
        const fn = this.functions.get(args[0] as string);
        if (fn !== undefined && fn.workers.delete(conn)) {
          conn.abilities = conn.abilities.filter((f) => f !== fn);
          conn.timeouts?.delete(fn);
        }
        return;
      }
      case T.RESET_ABILITIES:
        for (const fn of conn.abilities) fn.workers.delete(conn);
        conn.abilities = [];
        conn.timeouts = undefined;
        return;
      case T.SET_CLIENT_ID:
        conn.clientId = truncateUtf8(args[0] as string, 127);
        return;
      case T.ECHO_REQ:
        conn.send(T.ECHO_RES, [args[0] as Buffer]);
        return;
      // The handle or unique is the packet's only argument, so it may hold a NUL; gearmand reads
      // it as a C string (up to the NUL), and so must the answer, where it is not the last.
      case T.GET_STATUS:
        this.getStatus(conn, cString(args[0] as string));
        return;
      case T.GET_STATUS_UNIQUE:
        this.getStatusUnique(conn, cString(args[0] as string));
        return;
      case T.OPTION_REQ: {
        const option = args[0] as string;
        if (option.toLowerCase() === 'exceptions' && Buffer.byteLength(option) < 64) {
          conn.exceptions = true;
          conn.send(T.OPTION_RES, [option]);
        } else conn.sendError('UNKNOWN_OPTION', 'Server does not recognize given option');
        return;
      }
      default:
        // ALL_YOURS, SUBMIT_JOB_SCHED: parsed, then refused, as gearmand 1.1.20.
        this.logger.debug(`gearman server ${this.address}: ${commandName(type)} not expected from connection ${conn.id}`);
        conn.sendError('INVALID_COMMAND', 'Command not expected');
    }
  }

  private submit(conn: ServerConnection, task: string, unique: string, data: Buffer, priority: Priority, background: boolean, reducer: string, when: number, checkUnique: boolean): void {
    const uniqueBytes = unique.length <= 21 ? unique.length : Buffer.byteLength(unique);
    if (checkUnique && uniqueBytes > STORED_UNIQUE_BYTES + 1) {
      conn.sendError('ARGUMENT_TOO_LARGE', 'Unique value too large');
      return;
    }
    const fn = this.ensureFunction(task);
    // 64 bytes: stored as its first 63 and never matched again (gearmand compares all 64).
    const stored = uniqueBytes > STORED_UNIQUE_BYTES ? truncateUtf8(unique, STORED_UNIQUE_BYTES) : unique;
    const key = uniqueBytes > STORED_UNIQUE_BYTES ? undefined : coalesceKey(unique, data);
    if (key !== undefined) {
      const existing = fn.uniques.get(key);
      if (existing !== undefined) {
        conn.send(T.JOB_CREATED, [existing.handle]);
        if (!background) {
          existing.clients.push(conn);
          conn.listening.add(existing);
          existing.ignored = false;
        }
        return;
      }
    }
    const limit = fn.maxQueue[priority];
    if ((limit > 0 && fn.total >= limit) || this.jobs.size >= this.maxQueuedJobs) {
      conn.sendError('QUEUE_ERROR', 'Job queue is full');
      return;
    }
    const handle = `${this.handlePrefix}:${++this.handleCounter}`;
    const job: AnyJob = new ServerJob(handle, fn, stored, key, data, priority, background, reducer, when !== 0 && when > Date.now() ? when : 0);
    this.jobs.set(handle, job);
    if (key !== undefined) fn.uniques.set(key, job);
    fn.total++;
    fn.counters.submitted++;
    if (!background) {
      job.clients.push(conn);
      conn.listening.add(job);
    }
    conn.send(T.JOB_CREATED, [handle]);
    if (job.when !== 0) this.delay(job);
    else this.enqueue(job);
  }

  private enqueue(job: AnyJob): void {
    job.queued = true;
    job.delayed = false;
    job.fn.queues[job.priority].push(job);
    this.wake(job.fn);
  }

  /** NOOP to each sleeping worker of `fn` not yet woken in this sleep (gearmand: once per sleep). */
  private wake(fn: AnyFunction): void {
    for (const worker of fn.workers) {
      if (worker.sleeping && !worker.noopSent) {
        worker.noopSent = true;
        worker.send(T.NOOP, NO_ARGS);
      }
    }
  }

  private delay(job: AnyJob): void {
    job.delayed = true;
    this.epochJobs.push(job);
    this.armEpochTimer();
  }

  private armEpochTimer(): void {
    const next = this.epochJobs.peek();
    if (next === undefined) return;
    if (this.epochTimer !== undefined && this.epochTimerAt <= next.when) return;
    if (this.epochTimer !== undefined) clearTimeout(this.epochTimer);
    this.epochTimerAt = next.when;
    this.epochTimer = setTimeout(() => this.releaseEpochJobs(), Math.max(0, next.when - Date.now()));
    this.epochTimer.unref();
  }

  private releaseEpochJobs(): void {
    this.epochTimer = undefined;
    const now = Date.now();
    for (let job = this.epochJobs.peek(); job !== undefined && job.when <= now; job = this.epochJobs.peek()) {
      this.epochJobs.pop();
      // Unlike gearmand 1.1.20, which leaves sleeping workers asleep until something else wakes
      // them, the job's time coming wakes its workers.
      if (this.jobs.get(job.handle) === job && job.delayed) this.enqueue(job);
    }
    this.armEpochTimer();
  }

  private hasJobFor(conn: ServerConnection): boolean {
    for (const fn of conn.abilities) if (fn.hasQueued()) return true;
    return false;
  }

  /** gearmand 1.1.20's take: the most recently registered function with a job, then HIGH, NORMAL, LOW. */
  private take(conn: ServerConnection): AnyJob | undefined | null {
    const abilities = conn.abilities;
    for (let i = abilities.length - 1; i >= 0; i--) {
      const queues = abilities[i]!.queues;
      for (let p = 0; p < 3; p++) {
        const job = queues[p]!.shift();
        if (job === undefined) continue;
        job.queued = false;
        if (job.ignored) {
          // Abandoned by its clients: dropped, and this worker told NO_JOB (protocol.md §4.7).
          this.remove(job);
          return null;
        }
        return job;
      }
    }
    return undefined;
  }

  private grab(conn: ServerConnection, type: number): void {
    conn.sleeping = false;
    conn.noopSent = false;
    const job = this.take(conn);
    if (job === undefined || job === null) {
      conn.send(T.NO_JOB, NO_ARGS);
      return;
    }
    job.worker = conn;
    job.fn.running++;
    conn.running.add(job);
    if (type === T.GRAB_JOB) conn.send(T.JOB_ASSIGN, [job.handle, job.fn.name, job.data]);
    else if (type === T.GRAB_JOB_ALL && job.reducer !== '') conn.send(T.JOB_ASSIGN_ALL, [job.handle, job.fn.name, job.unique, job.reducer, job.data]);
    else conn.send(T.JOB_ASSIGN_UNIQ, [job.handle, job.fn.name, job.unique, job.data]);
    const timeout = conn.timeouts?.get(job.fn);
    if (timeout !== undefined && timeout > 0) {
      job.timer = setTimeout(() => {
        job.timer = undefined;
        if (job.worker !== conn || this.jobs.get(job.handle) !== job) return;
        this.logger.debug(`gearman server ${this.address}: ${job.handle} timed out after ${timeout} ms on connection ${conn.id}; re-queued`);
        conn.running.delete(job);
        this.requeue(job);
      }, timeout);
      job.timer.unref();
    }
  }

  /** A running job goes back to its queue (worker lost, CAN_DO_TIMEOUT), or fails past jobRetries. */
  private requeue(job: AnyJob): void {
    if (job.timer !== undefined) {
      clearTimeout(job.timer);
      job.timer = undefined;
    }
    job.worker = undefined;
    job.fn.running--;
    job.numerator = 0;
    job.denominator = 0;
    job.retries++;
    if (this.jobRetries > 0 && job.retries >= this.jobRetries) {
      for (const client of job.clients) client.send(T.WORK_FAIL, [job.handle]);
      job.fn.counters.failed++;
      this.remove(job);
      return;
    }
    if (job.clients.length === 0 && !job.background) job.ignored = true;
    this.enqueue(job);
  }

  /** Forgets a finished or discarded job. */
  private remove(job: AnyJob): void {
    if (this.jobs.get(job.handle) !== job) return;
    this.jobs.delete(job.handle);
    if (job.coalesceKey !== undefined && job.fn.uniques.get(job.coalesceKey) === job) job.fn.uniques.delete(job.coalesceKey);
    job.fn.total--;
    if (job.worker !== undefined) {
      job.fn.running--;
      job.worker.running.delete(job);
      job.worker = undefined;
    }
    if (job.timer !== undefined) {
      clearTimeout(job.timer);
      job.timer = undefined;
    }
    for (const client of job.clients) client.listening.delete(job);
    if (this.draining) this.checkDrained();
  }

  private workResult(conn: ServerConnection, type: number, args: PacketArgs): void {
    const handle = args[0] as string;
    const job = this.jobs.get(handle);
    if (job === undefined || job.worker !== conn) {
      const text =
        type === T.WORK_DATA || type === T.WORK_WARNING
          ? 'Job does not exist on server'
          : type === T.WORK_EXCEPTION
            ? 'An exception was received for a job that does not exist'
            : 'Job given in work result not found';
      conn.sendError('JOB_NOT_FOUND', text);
      return;
    }
    const clients = job.clients;
    switch (type) {
      case T.WORK_STATUS: {
        job.numerator = toUint32(args[1] as string);
        job.denominator = toUint32(args[2] as string);
        for (let i = 0; i < clients.length; i++) clients[i]!.send(type, args);
        return;
      }
      case T.WORK_DATA:
      case T.WORK_WARNING:
        for (let i = 0; i < clients.length; i++) clients[i]!.send(type, args);
        return;
      case T.WORK_COMPLETE:
        job.fn.counters.completed++;
        for (let i = 0; i < clients.length; i++) clients[i]!.send(type, args);
        this.remove(job);
        return;
      case T.WORK_FAIL:
        job.fn.counters.failed++;
        for (let i = 0; i < clients.length; i++) clients[i]!.send(T.WORK_FAIL, [handle]);
        this.remove(job);
        return;
      case T.WORK_EXCEPTION: {
        job.fn.counters.exceptions++;
        // gearmand's conversion: a client that did not ask for exceptions gets WORK_FAIL, whose
        // payload is the handle with a trailing NUL (protocol.md §4.5).
        let failArgs: string[] | undefined;
        for (let i = 0; i < clients.length; i++) {
          const client = clients[i]!;
          if (client.exceptions) client.send(type, args);
          else client.send(T.WORK_FAIL, (failArgs ??= [handle + '\0']));
        }
        this.remove(job);
        return;
      }
    }
  }

  private canDo(conn: ServerConnection, task: string, timeoutMs: number | undefined): void {
    const fn = this.ensureFunction(task);
    if (fn.workers.has(conn)) conn.abilities = conn.abilities.filter((f) => f !== fn);
    else fn.workers.add(conn);
    conn.abilities.push(fn);
    conn.stream.flushFirst = true;
    if (timeoutMs !== undefined) {
      if (timeoutMs > 0) (conn.timeouts ??= new Map()).set(fn, timeoutMs);
      else conn.timeouts?.delete(fn);
    }
  }

  private getStatus(conn: ServerConnection, handle: string): void {
    // gearmand 1.1.20 closes the connection, unanswered, for a handle of 64 bytes or more
    // (protocol.md §4.12 says "no reply"; the connection is in fact closed).
    if (Buffer.byteLength(handle) >= 64) {
      conn.close('GET_STATUS with a handle of 64 bytes or more');
      return;
    }
    const job = this.jobs.get(handle);
    if (job === undefined) conn.send(T.STATUS_RES, [handle, '0', '0', '0', '0']);
    else conn.send(T.STATUS_RES, [handle, '1', job.worker === undefined ? '0' : '1', String(job.numerator), String(job.denominator)]);
  }

  private getStatusUnique(conn: ServerConnection, unique: string): void {
    // No reply at all, and the connection stays usable (gearmand 1.1.20).
    if (Buffer.byteLength(unique) >= 64) return;
    let found: AnyJob | undefined;
    for (const fn of this.functions.values()) {
      found = fn.uniques.get(unique);
      if (found !== undefined) break;
    }
    if (found === undefined) conn.send(T.STATUS_RES_UNIQUE, [unique, '0', '0', '0', '0', '0']);
    else {
      conn.send(T.STATUS_RES_UNIQUE, [unique, '1', found.worker === undefined ? '0' : '1', String(found.numerator), String(found.denominator), String(found.clients.length)]);
    }
  }

  // -----------------------------------------------------------------------------------------------
  // Admin helpers (admin.ts)

  /**
   * `cancel job`: foreground clients get WORK_FAIL at once; the job is only marked, as gearmand.
   * @internal
   */
  cancelJob(handle: string): boolean {
    const job = this.jobs.get(handle);
    if (job === undefined) return false;
    for (const client of job.clients) {
      client.send(T.WORK_FAIL, [job.handle]);
      client.listening.delete(job);
    }
    job.clients = [];
    job.ignored = true;
    job.stored = false;
    return true;
  }

  /** The function named `task`, created if new (`create function`, CAN_DO, submissions). @internal */
  ensureFunction(task: string): AnyFunction {
    let fn = this.functions.get(task);
    if (fn === undefined) {
      fn = new ServerFunction(task);
      this.functions.set(task, fn);
    }
    return fn;
  }

  /**
   * `drop function`: forgotten, though its queued jobs stay listed and unreachable, as gearmand.
   * @internal
   */
  dropFunction(fn: AnyFunction): void {
    if (this.functions.get(fn.name) === fn) this.functions.delete(fn.name);
  }

  /** `shutdown [graceful]` (only with `allowShutdown`). @internal */
  shutdown(graceful: boolean): void {
    if (!graceful) {
      setImmediate(() => void this.close());
      return;
    }
    this.draining = true;
    if (this.listening) this.listener.close();
    this.checkDrained();
  }

  private checkDrained(): void {
    if (this.jobs.size === 0) setImmediate(() => void this.close());
  }
}

function cString(text: string): string {
  const nul = text.indexOf('\0');
  return nul === -1 ? text : text.slice(0, nul);
}

function toUint32(text: string): number {
  const n = Number.parseInt(text, 10);
  return Number.isFinite(n) ? n >>> 0 : 0;
}
