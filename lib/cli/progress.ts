/**
 * Progress of a batch: a bar redrawn in place on a terminal, or a plain line every few seconds
 * when stderr is a file or a pipe.
 *
 * @module
 * @internal
 */

/** Counters a batch keeps. @internal */
export interface BatchCounts {
  /** Jobs in the input. */
  total: number;
  /** Jobs the server accepted (JOB_CREATED). */
  accepted: number;
  /** Jobs that sent an update (status, data, warning) and have not finished. */
  running: number;
  /** Jobs finished successfully. */
  done: number;
  /** Jobs that failed, raised an exception or timed out. */
  failed: number;
  /** The last WORK_STATUS seen, for the bar. */
  lastStatus?: { numerator: number; denominator: number };
  /** Re-submissions after a lost connection. */
  resubmitted: number;
  /** Set while every server is down: why. */
  outage?: string;
}

/** Human time: 42s, 3m05s, 1h02m. @internal */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 10) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Draws {@link BatchCounts} on a stream, as a bar on a TTY or as periodic lines. @internal */
export class Progress {
  private readonly started = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private drawn = false;
  private readonly tty: boolean;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly counts: BatchCounts,
    { tty = Boolean(stream.isTTY), intervalMs }: { tty?: boolean; intervalMs?: number } = {},
  ) {
    this.tty = tty;
    const every = intervalMs ?? (tty ? 100 : 2000);
    this.timer = setInterval(() => this.draw(), every);
    this.timer.unref();
  }

  /** Seconds since the start. */
  elapsed(): number {
    return (Date.now() - this.started) / 1000;
  }

  /** The line describing the counts now. */
  line(width = 80): string {
    const c = this.counts;
    const finished = c.done + c.failed;
    const elapsed = this.elapsed();
    const rate = elapsed > 0 ? finished / elapsed : 0;
    const eta = rate > 0 ? (c.total - finished) / rate : NaN;
    const status = c.outage !== undefined ? ' (waiting for a server)' : c.lastStatus ? ` status ${c.lastStatus.numerator}/${c.lastStatus.denominator}` : '';
    const text =
      `${finished}/${c.total} accepted ${c.accepted} running ${c.running} done ${c.done} failed ${c.failed}` +
      ` ${rate.toFixed(0)}/s ETA ${finished >= c.total ? '0s' : formatDuration(eta)}${status}`;
    if (!this.tty) return `progress: ${text}`;
    const barWidth = Math.max(10, Math.min(40, width - text.length - 8));
    const share = c.total > 0 ? finished / c.total : 1;
    const filled = Math.round(share * barWidth);
    return `[${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}] ${String(Math.floor(share * 100)).padStart(3)}% ${text}`.slice(0, Math.max(20, width - 1));
  }

  /** Redraws (TTY) or prints one line (otherwise). */
  draw(): void {
    if (this.tty) {
      this.stream.write(`\r${this.line(this.stream.columns ?? 80)}\x1b[K`);
      this.drawn = true;
    } else {
      this.stream.write(this.line() + '\n');
    }
  }

  /** Erases the bar (before other output to the same terminal); the next draw brings it back. */
  clear(): void {
    if (this.tty && this.drawn) this.stream.write('\r\x1b[K');
  }

  /** Stops redrawing; leaves the last state on the screen, then a newline. */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    if (this.tty) {
      this.draw();
      if (this.drawn) this.stream.write('\n');
    }
  }
}
