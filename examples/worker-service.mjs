// A worker as a production service: several jobs at once, progress reports, cancellation through
// job.signal, health logging, and a graceful stop on SIGTERM (the running jobs finish and their
// results reach the server; nothing is re-queued). Runs until SIGTERM or SIGINT.
//   GEARMAN_SERVERS=localhost:4730 WORKER_CONCURRENCY=4 node examples/worker-service.mjs
//   gearman -f resize 'photo.jpg'        # from another shell
//   kill -TERM <pid>                     # finishes what runs, then exits 0
import { GearmanWorker } from 'gearman-ts';
import { setTimeout as sleep } from 'node:timers/promises';

const servers = (process.env.GEARMAN_SERVERS ?? 'localhost:4730').split(',');
const task = process.env.GEARMAN_TASK ?? 'resize';
const concurrency = Number(process.env.WORKER_CONCURRENCY ?? 4);
const steps = Number(process.env.WORKER_STEPS ?? 5);
const stepMs = Number(process.env.WORKER_STEP_MS ?? 100);

const worker = new GearmanWorker(servers, { concurrency });
worker.setClientId(`${task}-service-${process.pid}`);

// Health: one line per connect, one per outage (the worker also logs the outage at warn).
worker.on('connect', (address) => console.log(`connected to ${address}`));
worker.on('disconnect', (address, error) => console.log(`lost ${address}: ${error?.message ?? 'closed'}`));

worker.registerTask(
  task,
  async (w, job) => {
    const name = String(job.data);
    for (let step = 1; step <= steps; step++) {
      // job.signal is aborted on shutdown(), past stop()'s grace period, or past timeoutMs:
      // stop early, and pass it on to whatever the job waits for (fetch, streams, timers).
      await sleep(stepMs, undefined, { signal: job.signal });
      await w.sendJobStatus(job, step, steps); // progress: request.status on the client
    }
    return `${name}: done in ${steps} steps by ${process.pid}`;
  },
  // The server gives a job up after 60 s (gearmand re-queues it for another worker).
  { timeoutMs: 60_000 },
);

// The SIGTERM recipe: stop() grabs nothing more, lets the running jobs finish (up to 30 s, then
// aborts their signals and closes), and work() resolves.
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => {
    console.log(`${signal}: finishing ${worker.runningJobCount} running job(s)`);
    void worker.stop({ timeoutMs: 30_000 });
  });
}

console.log(`serving ${task} with concurrency ${concurrency} (pid ${process.pid})`);
await worker.work();
console.log('stopped');
