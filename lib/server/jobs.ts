/**
 * The embedded server's job table: functions, their priority queues, jobs by handle and by
 * unique, and the epoch jobs waiting for their time. No I/O here: {@link ServerState} changes
 * the table and tells its caller (the connections) what to send through the {@link JobEvents}
 * it is given.
 *
 * Order, as gearmand 1.1.20 (protocol.md §4.14): within a function HIGH, then NORMAL, then LOW,
 * FIFO in each; across functions no global priority: a worker takes from its most recently
 * registered function that has a job.
 *
 * @module
 * @internal
 */
import { createHash } from 'node:crypto';
import { Fifo } from '../fifo.js';

/** Priority levels, in gearmand's order. @internal */
export const HIGH = 0;
/** @internal */
export const NORMAL = 1;
/** @internal */
export const LOW = 2;
/** @internal */
export type Priority = typeof HIGH | typeof NORMAL | typeof LOW;

/** gearmand stores at most 63 bytes of a unique. @internal */
export const STORED_UNIQUE_BYTES = 63;

/** Someone who may listen to a job: a client connection. @internal */
export interface JobListener {
  /** The connection asked for WORK_EXCEPTION (OPTION_REQ exceptions). */
  readonly exceptions: boolean;
}

/** Per-function counters since start (beyond gearmand: its `status` has only gauges). */
export interface TaskCounters {
  /** Submissions that created a job (coalesced ones not counted again). */
  submitted: number;
  /** Jobs that ended in WORK_COMPLETE. */
  completed: number;
  /** Jobs that ended in WORK_FAIL (including exceptions converted for clients and retry limits). */
  failed: number;
  /** Jobs that ended in WORK_EXCEPTION. */
  exceptions: number;
}

/** One job. @internal */
export class ServerJob<L extends JobListener = JobListener, W = unknown> {
  /** Foreground listeners; a connection that submitted twice is listed twice (gearmand). */
  clients: L[] = [];
  /** The worker running it, if any. */
  worker: W | undefined = undefined;
  numerator = 0;
  denominator = 0;
  retries = 0;
  /** Cancelled or abandoned: discarded when a worker would take it (NO_JOB). */
  ignored = false;
  /** In its function's queue (not running, not waiting for its epoch). */
  queued = false;
  /** Epoch job not yet due. */
  delayed = false;
  /**
   * `show jobs` QUEUED column: gearmand's "went through the queue store" flag, set for background
   * jobs and cleared by `cancel job`.
   */
  stored: boolean;
  /** Re-queue timer of CAN_DO_TIMEOUT while running. */
  timer: NodeJS.Timeout | undefined = undefined;

  constructor(
    readonly handle: string,
    readonly fn: ServerFunction<L, W>,
    /** As stored and shown to workers (at most 63 bytes). */
    readonly unique: string,
    /** The key under which it coalesces, or undefined. */
    readonly coalesceKey: string | undefined,
    readonly data: Buffer,
    readonly priority: Priority,
    readonly background: boolean,
    readonly reducer: string,
    /** Not runnable before this time (ms since the epoch); 0 = at once. */
    readonly when: number,
  ) {
    this.stored = background;
  }
}

/** One function (task name). @internal */
export class ServerFunction<L extends JobListener = JobListener, W = unknown> {
  readonly queues: [Fifo<ServerJob<L, W>>, Fifo<ServerJob<L, W>>, Fifo<ServerJob<L, W>>] = [new Fifo(), new Fifo(), new Fifo()];
  /** Jobs queued or running (gearmand's TOTAL), epoch jobs included. */
  total = 0;
  running = 0;
  /** Worker connections that registered it. */
  readonly workers = new Set<W>();
  /** Per-priority limit on `total`; 0 = none. */
  maxQueue: [number, number, number] = [0, 0, 0];
  readonly uniques = new Map<string, ServerJob<L, W>>();
  readonly counters: TaskCounters = { submitted: 0, completed: 0, failed: 0, exceptions: 0 };

  constructor(readonly name: string) {}

  /** Queued jobs (counting ignored ones until a worker would take them, as gearmand). */
  queuedCount(priority: Priority): number {
    return this.queues[priority].length;
  }

  /** True if a GRAB would find something (possibly an ignored job, as gearmand). */
  hasQueued(): boolean {
    return this.queues[0].length + this.queues[1].length + this.queues[2].length > 0;
  }
}

/** Bytes of a string as UTF-8, cut to `max` without splitting a character. */
export function truncateUtf8(value: string, max: number): string {
  if (value.length <= max / 3) return value;
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length <= max) return value;
  let end = max;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.toString('utf8', 0, end);
}

/** The coalescing key of a submission: its unique, or for `-` a hash of its data. */
export function coalesceKey(unique: string, data: Buffer): string | undefined {
  if (unique === '') return undefined;
  // `-`: coalesce on identical data (gearmand); with no data, never.
  if (unique === '-') return data.length === 0 ? undefined : '-' + createHash('sha1').update(data).digest('base64');
  return unique;
}

/** Earliest-first set of epoch jobs (a binary heap on `when`). @internal */
export class EpochHeap<J extends { when: number }> {
  private items: J[] = [];

  get length(): number {
    return this.items.length;
  }

  peek(): J | undefined {
    return this.items[0];
  }

  push(item: J): void {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]!.when <= a[i]!.when) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }

  pop(): J | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l]!.when < a[m]!.when) m = l;
        if (r < a.length && a[r]!.when < a[m]!.when) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }

  clear(): void {
    this.items = [];
  }
}
