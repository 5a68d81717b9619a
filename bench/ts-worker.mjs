// The gearman-ts worker side of scenarios S2-S4 (see bench/README.md). Started by bench/run.mjs:
//
//   node bench/ts-worker.mjs --port P                      serve `echo` until stopped (S2, S3)
//   node bench/ts-worker.mjs --port P --n N --warmup W     S4: the queue holds W + N jobs; time the last N
//   ... --concurrency C                                    run C jobs at once (S4 with concurrency, S5)
//   ... --sleep-ms M                                       each job awaits M ms before answering (S5, io-bound)
//
// Uses the built package (dist/) through its published name.
import { GearmanWorker } from 'gearman-ts';
import { performance } from 'node:perf_hooks';
import { FUNCTION, exitOnSigterm, finish, markStart, parseRoleArgs } from './lib/role.mjs';

const o = parseRoleArgs(process.argv.slice(2));
const n = Number(o.n ?? 0);
const warmup = Number(o.warmup ?? 0);
const limit = n > 0 ? warmup + n : -1;
const concurrency = Number(o.concurrency ?? 1);
const sleepMs = Number(o['sleep-ms'] ?? 0);

let count = 0;
let t0 = 0;
let t1 = 0;

class CountingWorker extends GearmanWorker {
  afterJob() {
    count++;
    if (limit < 0) return true;
    if (count === warmup) {
      markStart();
      t0 = performance.now();
    }
    if (count >= limit) {
      t1 = performance.now();
      return false;
    }
    return true;
  }
}

const worker = new CountingWorker([`${o.host ?? '127.0.0.1'}:${o.port}`], { concurrency });
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
worker.registerTask(FUNCTION, sleepMs > 0 ? async (_worker, job) => (await sleep(sleepMs), job.data) : (_worker, job) => job.data);
exitOnSigterm(() => worker.shutdown());

if (limit > 0 && warmup === 0) {
  markStart();
  t0 = performance.now();
}
await worker.work();
if (limit > 0) await finish({ jobs: n, seconds: (t1 - t0) / 1000 }, () => worker.shutdown());
