/**
 * `gearman-ts submit --jsonl`: many jobs from JSON lines, submitted in windows with
 * `submitMultipleJobs`, re-submitting the ones a lost server left `JOB_UNKNOWN` (the client docs'
 * recovery recipe), one JSON result per line in input order, and progress on stderr.
 *
 * @module
 * @internal
 */
import { createReadStream } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ConnectionError,
  GearmanClient,
  JOB_COMPLETE,
  JOB_CREATED,
  JOB_UNKNOWN,
  ServerUnavailable,
  type GearmanJobRequest,
  type JobSpec,
  type Priority,
} from '../../index.js';
import { EXIT, UsageError } from '../args.js';
import { describeError, payloadFields, payloadText, readAll, write, type Io } from '../output.js';
import { Progress, formatDuration, type BatchCounts } from '../progress.js';
import { parsePriority } from './submit.js';

/** What `runBatch` needs. @internal */
export interface BatchOptions {
  servers: string[];
  source: string;
  defaultTask: string | undefined;
  defaultPriority: Priority | undefined;
  background: boolean;
  pollTimeout: number | null;
  window: number;
  retryForSeconds: number;
  quiet: boolean;
}

interface Line {
  line: number;
  spec: JobSpec;
}

/** Reads and checks every line before anything is sent. @internal */
export function parseLines(text: string, defaultTask: string | undefined, defaultPriority: Priority | undefined): Line[] {
  const out: Line[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (raw === '') continue;
    const where = `line ${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      throw new UsageError(`${where}: not JSON (${(err as Error).message})`, 'submit');
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UsageError(`${where}: expected an object {"task","data","unique","priority"}`, 'submit');
    const o = value as Record<string, unknown>;
    for (const key of Object.keys(o)) {
      if (!['task', 'data', 'dataBase64', 'unique', 'priority'].includes(key)) throw new UsageError(`${where}: unknown field ${JSON.stringify(key)} (expected task, data, dataBase64, unique, priority)`, 'submit');
    }
    const task = o.task ?? defaultTask;
    if (typeof task !== 'string' || task === '') throw new UsageError(`${where}: no "task" (and no default TASK given)`, 'submit');
    if (o.unique !== undefined && o.unique !== null && typeof o.unique !== 'string') throw new UsageError(`${where}: "unique" must be a string`, 'submit');
    if (o.priority !== undefined && o.priority !== null && typeof o.priority !== 'string') throw new UsageError(`${where}: "priority" must be "high", "normal" or "low"`, 'submit');
    let data: string | Buffer;
    if (typeof o.dataBase64 === 'string') data = Buffer.from(o.dataBase64, 'base64');
    else if (o.data === undefined || o.data === null) data = '';
    else data = typeof o.data === 'string' ? o.data : JSON.stringify(o.data);
    const priority = o.priority === undefined || o.priority === null ? defaultPriority : parsePriority(o.priority as string, `${where}: "priority"`);
    out.push({ line: i + 1, spec: { task, data, unique: (o.unique as string | undefined) ?? undefined, priority } });
  }
  return out;
}

/** One result line. @internal */
export function resultRecord(line: number, request: GearmanJobRequest, background: boolean): Record<string, unknown> {
  const state = request.timedOut && !request.complete ? 'TIMEOUT' : request.state;
  const record: Record<string, unknown> = { line, task: request.job.task, unique: request.job.unique, handle: request.job.handle ?? null, state };
  if (!background && request.state === JOB_COMPLETE) Object.assign(record, payloadFields('result', request.result));
  if (request.exception !== null && request.exception !== undefined) record.exception = payloadText(request.exception);
  if (request.error !== undefined) record.error = describeError(request.error);
  return record;
}

function succeeded(request: GearmanJobRequest, background: boolean): boolean {
  return background ? request.state === JOB_CREATED : request.state === JOB_COMPLETE;
}

/** Runs a batch; resolves with the exit code. @internal */
export async function runBatch(options: BatchOptions, io: Io): Promise<number> {
  const input = options.source === '-' ? await readAll(io.stdin) : await readAll(createReadStream(options.source)).catch((err: Error) => {
    throw new UsageError(`cannot read ${options.source}: ${err.message}`, 'submit');
  });
  const lines = parseLines(input.toString('utf8'), options.defaultTask, options.defaultPriority);
  const counts: BatchCounts = { total: lines.length, accepted: 0, running: 0, done: 0, failed: 0, resubmitted: 0 };
  const progress = options.quiet ? undefined : new Progress(io.stderr, counts);
  const client = new GearmanClient(options.servers);
  let timedOut = 0;
  try {
    for (let start = 0; start < lines.length; start += options.window) {
      const window = lines.slice(start, start + options.window);
      const requests = await runWindow(client, window, options, counts, progress, io);
      let out = '';
      for (let i = 0; i < requests.length; i++) {
        const request = requests[i]!;
        if (request.timedOut && !request.complete) timedOut++;
        out += JSON.stringify(resultRecord(window[i]!.line, request, options.background)) + '\n';
      }
      // Results and the bar on one terminal: erase the bar so the lines do not land after it.
      if (io.stdout.isTTY) progress?.clear();
      await write(io.stdout, out);
    }
  } finally {
    progress?.stop();
    client.shutdown();
  }
  const elapsed = progress?.elapsed() ?? 0;
  const failed = counts.failed;
  const summary =
    `${lines.length} job(s): ${counts.done} ${options.background ? 'accepted' : 'complete'}, ${failed - timedOut} failed, ${timedOut} timed out` +
    (counts.resubmitted > 0 ? `, ${counts.resubmitted} re-submitted after a lost server` : '') +
    (elapsed > 0 ? ` in ${formatDuration(elapsed)} (${(lines.length / elapsed).toFixed(0)}/s)` : '');
  if (failed > 0 || !options.quiet) await write(io.stderr, `${failed > 0 ? 'gearman-ts submit: ' : ''}${summary}\n`);
  return failed > 0 ? EXIT.FAILED : EXIT.OK;
}

/** Submits one window and waits until each of its jobs is settled, re-submitting lost ones. */
async function runWindow(client: GearmanClient, window: Line[], options: BatchOptions, counts: BatchCounts, progress: Progress | undefined, io: Io): Promise<GearmanJobRequest[]> {
  const accepted = new WeakSet<GearmanJobRequest>();
  const running = new WeakSet<GearmanJobRequest>();
  const settled = new WeakSet<GearmanJobRequest>();
  const onAccepted = (r: GearmanJobRequest) => {
    if (accepted.has(r) || r.job.handle === null || r.job.handle === undefined) return;
    accepted.add(r);
    counts.accepted++;
  };
  const onSettled = (r: GearmanJobRequest) => {
    if (settled.has(r) || !r.complete) return;
    settled.add(r);
    if (running.has(r)) counts.running--;
    if (succeeded(r, options.background)) counts.done++;
    else counts.failed++;
  };
  const watch = (r: GearmanJobRequest) => {
    const update = () => {
      if (running.has(r) || settled.has(r)) return;
      running.add(r);
      counts.running++;
    };
    r.on('created', () => onAccepted(r));
    r.on('status', (s) => {
      update();
      counts.lastStatus = { numerator: s.numerator ?? 0, denominator: s.denominator ?? 0 };
    });
    r.on('data', update);
    r.on('warning', update);
    r.on('complete', () => onSettled(r));
    r.on('failed', () => onSettled(r));
  };

  const deadline = () => Date.now() + options.retryForSeconds * 1000;
  let giveUpAt = deadline();
  let backoffMs = 100;
  const specs = window.map((l) => l.spec);
  const common = { background: options.background, maxRetries: 1_000_000, pollTimeout: options.pollTimeout };
  let requests: GearmanJobRequest[];
  try {
    requests = await client.submitMultipleJobs(specs, { ...common, waitUntilComplete: false });
  } catch (err) {
    const held = (err as { requests?: GearmanJobRequest[] }).requests;
    // No server ever took a job of this run: a wrong address, not an outage to ride out.
    if (!isOutage(err) || held === undefined || held.length !== specs.length) throw err;
    if (counts.accepted === 0 && !held.some((r) => typeof r.job.handle === 'string')) throw err;
    requests = held;
  }
  for (const r of requests) {
    watch(r);
    onAccepted(r);
  }
  // A request already finished while the accept phase ran (a fast worker) counts now.
  for (const r of requests) onSettled(r);

  for (;;) {
    const open = requests.filter((r) => !r.complete);
    if (open.length === 0) break;
    const lost = open.filter((r) => r.state === JOB_UNKNOWN);
    const waiting = open.filter((r) => r.state !== JOB_UNKNOWN);
    // Nothing lost and the last wait ran out: those jobs timed out.
    if (lost.length === 0 && waiting.every((r) => r.timedOut)) {
      for (const r of waiting) {
        settled.add(r);
        if (running.has(r)) counts.running--;
        counts.failed++;
      }
      break;
    }
    try {
      if (lost.length > 0) {
        counts.resubmitted += lost.length;
        await client.submitMultipleRequests(lost, { waitUntilComplete: false, pollTimeout: options.pollTimeout });
        for (const r of lost) onAccepted(r);
      }
      if (!options.background) await client.waitUntilJobsCompleted(open.filter((r) => r.state !== JOB_UNKNOWN), { pollTimeout: options.pollTimeout });
      backoffMs = 100;
      giveUpAt = deadline();
      if (counts.outage !== undefined) {
        counts.outage = undefined;
        progress?.clear();
        await write(io.stderr, 'gearman-ts submit: a server is back; going on\n');
      }
    } catch (err) {
      if (!isOutage(err) || counts.accepted === 0) throw err;
      if (Date.now() > giveUpAt) {
        throw new ServerUnavailable(`giving up after ${options.retryForSeconds} s without a server: ${describeError(err)}`, { cause: err });
      }
      if (counts.outage === undefined) {
        counts.outage = describeError(err);
        progress?.clear();
        await write(io.stderr, `gearman-ts submit: lost every server (${counts.outage}); re-submitting the lost jobs for up to ${options.retryForSeconds} s\n`);
      }
      // Every server is down: wait and send the lost jobs again (the recipe of the client docs).
      await sleep(backoffMs);
      backoffMs = Math.min(2000, backoffMs * 2);
    }
    for (const r of requests) onSettled(r);
  }
  return requests;
}

function isOutage(err: unknown): boolean {
  return err instanceof ServerUnavailable || err instanceof ConnectionError;
}
