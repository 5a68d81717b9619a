// Workers for the client specs: a real GearmanWorker serving a few test tasks.
import { GearmanWorker, type GearmanJob } from '../../lib/index.js';

export interface TestWorker {
  worker: GearmanWorker;
  /** Jobs the worker ran, in order: `task:data`. */
  seen: string[];
  stop(): Promise<void>;
}

export type Tasks = Record<string, (worker: GearmanWorker, job: GearmanJob) => unknown>;

/** Starts a worker on `hosts` serving `tasks`; `stop()` shuts it down and waits for `work()`. */
export function startWorker(hosts: string[], tasks: Tasks, options: ConstructorParameters<typeof GearmanWorker>[1] = {}): TestWorker {
  const worker = new GearmanWorker(hosts, options);
  const seen: string[] = [];
  for (const [task, callback] of Object.entries(tasks)) {
    worker.registerTask(task, (w, job) => {
      seen.push(`${job.task}:${Buffer.isBuffer(job.data) ? job.data.toString('latin1') : JSON.stringify(job.data)}`);
      return callback(w, job);
    });
  }
  const working = worker.work({ pollTimeout: 1 });
  return {
    worker,
    seen,
    async stop() {
      worker.shutdown();
      await working;
    },
  };
}

/** Echoes the job data back. */
export const echo = (_w: GearmanWorker, job: GearmanJob): unknown => job.data;

/** A promise and its resolve function. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
