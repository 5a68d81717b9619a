/**
 * `WorkerJob`: the {@link GearmanJob} a task callback gets, with its cancellation signal.
 *
 * @module
 */
import { GearmanJob } from '../job.js';
import type { GearmanConnection } from '../connection.js';

/**
 * A job assigned to a worker: a {@link GearmanJob} plus {@link WorkerJob.signal}.
 *
 * @example
 * ```ts
 * worker.registerTask('fetch', async (worker, job) => {
 *   const res = await fetch(String(job.data), { signal: job.signal });
 *   return await res.text();
 * });
 * ```
 */
export class WorkerJob extends GearmanJob {
  #controller: AbortController | undefined = undefined;
  #reason: unknown = undefined;
  #aborted = false;
  /** The CAN_DO_TIMEOUT timer of this job, if its task has a timeout. @internal */
  timer: NodeJS.Timeout | undefined = undefined;
  /**
   * The server gave the job up (its CAN_DO_TIMEOUT passed; gearmand re-queued it): its result is
   * not sent. @internal
   */
  expired = false;
  /** The worker's list of running jobs (see `RunningJobs`), linked through the jobs. @internal */
  prevRunning: WorkerJob | undefined = undefined;
  /** @internal */
  nextRunning: WorkerJob | undefined = undefined;
  /** The job is in that list. @internal */
  running = false;

  /**
   * Made by the worker for each JOB_ASSIGN (a task callback receives it; user code does not build one).
   * @param connection - the connection it was assigned on
   * @param handle - job handle
   * @param task - task name
   * @param unique - unique id, or null (JOB_ASSIGN)
   * @param data - decoded data
   */
  constructor(connection: GearmanConnection | null, handle: string | null, task: string, unique: string | null, data: unknown) {
    super(connection, handle, task, unique, data);
    // Set here, so every job has the same shape from the start (the handler sets `handler` next,
    // the worker `answered` when it answers).
    this.handler = undefined;
    this.answered = false;
  }

  /**
   * Aborted when the job should stop: {@link GearmanWorker.shutdown} ran, {@link GearmanWorker.stop}'s
   * grace period passed, or the task's CAN_DO_TIMEOUT (`registerTask(..., { timeoutMs })`) passed.
   * Its `reason` is a {@link ShutdownError} or a `TimeoutError` `DOMException`. Made on first use.
   */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** Whether the job's signal is aborted. */
  get aborted(): boolean {
    return this.#aborted;
  }

  /** Aborts the signal (once). @internal */
  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }
}

/**
 * The jobs a worker runs, as a list linked through the jobs themselves: adding and removing a
 * job allocates and hashes nothing (a `Set` of fresh objects costs a hash per job).
 * @internal
 */
export class RunningJobs {
  private first: WorkerJob | undefined = undefined;
  /** How many jobs are in the list. */
  size = 0;

  add(job: WorkerJob): void {
    if (job.running) return;
    job.running = true;
    job.prevRunning = undefined;
    job.nextRunning = this.first;
    if (this.first !== undefined) this.first.prevRunning = job;
    this.first = job;
    this.size++;
  }

  delete(job: WorkerJob): void {
    if (!job.running) return;
    job.running = false;
    const prev = job.prevRunning;
    const next = job.nextRunning;
    if (prev === undefined) this.first = next;
    else prev.nextRunning = next;
    if (next !== undefined) next.prevRunning = prev;
    job.prevRunning = job.nextRunning = undefined;
    this.size--;
  }

  has(job: WorkerJob): boolean {
    return job.running;
  }

  /** A snapshot of the running jobs, newest first. */
  list(): WorkerJob[] {
    const all: WorkerJob[] = [];
    for (let job = this.first; job !== undefined; job = job.nextRunning) all.push(job);
    return all;
  }
}
