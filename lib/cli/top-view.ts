/**
 * `top`'s model and frame: samples of every server's status folded per task, rates, a sparkline
 * of queue depth, and the text of one frame for a given terminal size. No I/O here.
 *
 * @module
 * @internal
 */
import type { StatusRow } from '../index.js';

/** Sort keys of `top`, in the order `s` cycles through them. @internal */
export const SORT_KEYS = ['queued', 'running', 'workers', 'rate', 'task'] as const;
/** One sort key. @internal */
export type SortKey = (typeof SORT_KEYS)[number];

/** Per-task counters a server may report (the embedded server does), cumulative since its start. @internal */
export interface TaskCounters {
  submitted: number;
  completed: number;
  failed: number;
  exceptions: number;
}

/** What one server answered in one sample. @internal */
export interface ServerSample {
  server: string;
  rows?: StatusRow[];
  counters?: Map<string, TaskCounters>;
  error?: string;
}

/** One task's line, folded over every server. @internal */
export interface TaskLine {
  task: string;
  queued: number;
  running: number;
  workers: number;
  /** Jobs finished per second (from counters), or the change of queue depth per second. */
  rate: number | undefined;
  /** Whether {@link rate} comes from counters (finished/s) or from depth changes (Δqueued/s). */
  rateFromCounters: boolean;
  history: number[];
  /** The task's counters summed over the servers that report them. */
  counters?: TaskCounters;
}

/** The state `top` keeps between samples. @internal */
export class TopModel {
  /** Samples of queue depth kept per task. */
  readonly historyLength: number;
  private readonly history = new Map<string, number[]>();
  private previous: { at: number; queued: Map<string, number>; finished: Map<string, number> } | undefined;
  lines: TaskLine[] = [];
  servers: ServerSample[] = [];
  sampledAt = 0;

  constructor(historyLength = 30) {
    this.historyLength = historyLength;
  }

  /** Folds one sample of every server in. */
  add(samples: ServerSample[], at = Date.now()): void {
    const queued = new Map<string, number>();
    const running = new Map<string, number>();
    const workers = new Map<string, number>();
    const finished = new Map<string, number>();
    const totals = new Map<string, TaskCounters>();
    for (const s of samples) {
      for (const row of s.rows ?? []) {
        queued.set(row.task, (queued.get(row.task) ?? 0) + row.queued);
        running.set(row.task, (running.get(row.task) ?? 0) + row.running);
        workers.set(row.task, (workers.get(row.task) ?? 0) + row.workers);
      }
      for (const [task, c] of s.counters ?? []) {
        finished.set(task, (finished.get(task) ?? 0) + c.completed + c.failed + c.exceptions);
        const t = totals.get(task) ?? { submitted: 0, completed: 0, failed: 0, exceptions: 0 };
        totals.set(task, { submitted: t.submitted + c.submitted, completed: t.completed + c.completed, failed: t.failed + c.failed, exceptions: t.exceptions + c.exceptions });
      }
    }
    const prev = this.previous;
    const dt = prev ? (at - prev.at) / 1000 : 0;
    const lines: TaskLine[] = [];
    for (const [task, q] of queued) {
      let h = this.history.get(task);
      if (h === undefined) this.history.set(task, (h = []));
      h.push(q);
      if (h.length > this.historyLength) h.splice(0, h.length - this.historyLength);
      let rate: number | undefined;
      const fromCounters = finished.has(task);
      if (prev && dt > 0) {
        if (fromCounters && prev.finished.has(task)) rate = (finished.get(task)! - prev.finished.get(task)!) / dt;
        else if (!fromCounters) rate = (q - (prev.queued.get(task) ?? q)) / dt;
      }
      lines.push({ task, queued: q, running: running.get(task) ?? 0, workers: workers.get(task) ?? 0, rate, rateFromCounters: fromCounters, history: h, counters: totals.get(task) });
    }
    for (const task of this.history.keys()) if (!queued.has(task)) this.history.delete(task);
    this.previous = { at, queued, finished };
    this.lines = lines;
    this.servers = samples;
    this.sampledAt = at;
  }
}

const BLOCKS = '▁▂▃▄▅▆▇█';

/** A sparkline of `values` scaled to their maximum (all zero: a flat baseline). @internal */
export function sparkline(values: number[], width: number): string {
  const shown = values.slice(-width);
  const max = Math.max(0, ...shown);
  return shown.map((v) => (max === 0 ? BLOCKS[0] : BLOCKS[Math.min(7, Math.round((v / max) * 7))])).join('');
}

/** What the frame shows besides the model. @internal */
export interface ViewState {
  sort: SortKey;
  descending: boolean;
  filter: string;
  /** Text being typed after `/`, when typing. */
  editing: string | undefined;
  intervalSeconds: number;
  columns: number;
  rows: number;
  /** Draw the key help line (not in --once output). */
  interactive: boolean;
}

function formatRate(line: TaskLine): string {
  if (line.rate === undefined) return '-';
  const r = Math.abs(line.rate) >= 10 ? line.rate.toFixed(0) : line.rate.toFixed(1);
  return line.rateFromCounters ? `${r}/s` : `${line.rate > 0 ? '+' : ''}${r}/s`;
}

/** The lines visible now, filtered and sorted. @internal */
export function visibleLines(model: TopModel, view: ViewState): TaskLine[] {
  const filter = view.filter.toLowerCase();
  const lines = model.lines.filter((l) => filter === '' || l.task.toLowerCase().includes(filter));
  const key = view.sort;
  const dir = view.descending ? -1 : 1;
  lines.sort((a, b) => {
    const c = key === 'task' ? a.task.localeCompare(b.task) : key === 'rate' ? (a.rate ?? -Infinity) - (b.rate ?? -Infinity) : a[key] - b[key];
    return c !== 0 ? c * dir : a.task.localeCompare(b.task);
  });
  return lines;
}

/** The frame's lines, each at most `columns` wide, at most `rows` of them. @internal */
export function renderFrame(model: TopModel, view: ViewState): string[] {
  const lines = visibleLines(model, view);
  const up = model.servers.filter((s) => s.error === undefined).length;
  const clock = new Date(model.sampledAt || Date.now()).toISOString().slice(11, 19);
  const out: string[] = [];
  out.push(
    `gearman-ts top  ${clock} UTC  servers ${up}/${model.servers.length} up  every ${view.intervalSeconds}s  sort ${view.sort} ${view.descending ? 'desc' : 'asc'}` +
      (view.filter ? `  filter "${view.filter}"` : ''),
  );
  const sum = (k: 'queued' | 'running' | 'workers') => lines.reduce((n, l) => n + l[k], 0);
  out.push(`tasks ${lines.length}  queued ${sum('queued')}  running ${sum('running')}  workers ${sum('workers')}`);
  for (const s of model.servers) if (s.error !== undefined) out.push(`! ${s.server}: ${s.error}`);
  out.push('');
  const taskWidth = Math.min(40, Math.max(4, ...lines.map((l) => l.task.length)));
  const fixed = taskWidth + 2 + 8 + 2 + 8 + 2 + 8 + 2 + 9 + 2;
  const sparkWidth = Math.max(0, Math.min(model.historyLength, view.columns - fixed));
  const row = (task: string, q: string, r: string, w: string, rate: string, spark: string) =>
    `${task.padEnd(taskWidth).slice(0, taskWidth)}  ${q.padStart(8)}  ${r.padStart(8)}  ${w.padStart(8)}  ${rate.padStart(9)}  ${spark}`.trimEnd();
  out.push(row('TASK', 'QUEUED', 'RUNNING', 'WORKERS', 'RATE', sparkWidth >= 7 ? 'HISTORY' : ''));
  const footer = view.interactive ? (view.editing !== undefined ? `filter: ${view.editing}_  (Enter apply, Esc cancel)` : 'q quit  s sort  r reverse  / filter  Esc clear filter') : undefined;
  const room = Math.max(0, view.rows - out.length - (footer ? 2 : 0));
  const shown = !view.interactive || lines.length <= room ? lines : lines.slice(0, Math.max(0, room - 1));
  for (const l of shown) out.push(row(l.task, String(l.queued), String(l.running), String(l.workers), formatRate(l), sparkWidth >= 1 ? sparkline(l.history, sparkWidth) : ''));
  if (shown.length < lines.length) out.push(`… ${lines.length - shown.length} more`);
  if (lines.length === 0) out.push(view.filter ? '(no task matches the filter)' : '(no tasks)');
  if (footer) {
    while (out.length < view.rows - 1) out.push('');
    // A terminal too short for the header: keep what fits, and the keys.
    if (out.length > view.rows - 1) out.length = Math.max(0, view.rows - 1);
    out.push(footer);
  }
  return out.map((l) => (l.length > view.columns ? l.slice(0, view.columns) : l));
}
