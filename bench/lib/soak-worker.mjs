// A worker process of bench/soak.mjs, using the built package:
//
//   node bench/lib/soak-worker.mjs <host:port> <log file> <worker id> <max work ms>
//
// Serves soak-fg (answers resultFor(data)) and soak-bg, taking up to <max work ms> per job, and
// appends one line per job it finished to <log file> ("fg <data>" or "bg <data>") before the
// answer is sent, so the soak can check which jobs ran. SIGTERM shuts it down.
import { appendFileSync } from 'node:fs';
import { GearmanWorker } from 'gearman-ts';
import { BG_TASK, FG_TASK, resultFor } from './soak-common.mjs';

const [host, logFile, id, maxWorkMsArg] = process.argv.slice(2);
if (host === undefined || logFile === undefined || id === undefined) {
  console.error('usage: soak-worker.mjs <host:port> <log file> <worker id> [max work ms]');
  process.exit(2);
}
const maxWorkMs = Number(maxWorkMsArg ?? 0);

const work = () => (maxWorkMs > 0 ? new Promise((resolve) => setTimeout(resolve, Math.random() * maxWorkMs)) : undefined);

const worker = new GearmanWorker([host]);
worker.setClientId(`soak-worker-${id}`);
const serveForeground = () =>
  worker.registerTask(FG_TASK, async (_w, job) => {
    const data = job.data.toString('latin1');
    await work();
    appendFileSync(logFile, `fg ${data}\n`);
    return resultFor(data);
  });
const serveBackground = () =>
  worker.registerTask(BG_TASK, async (_w, job) => {
    const data = job.data.toString('latin1');
    await work();
    appendFileSync(logFile, `bg ${data}\n`);
    return '';
  });
// gearmand hands a worker the job of the task it registered last first: with a busy background
// queue a worker that registered soak-bg last would never run a foreground job. Worker 1 prefers
// soak-bg, worker 2 soak-fg, so each task always has a worker that serves it first.
if (id === '1') {
  serveForeground();
  serveBackground();
} else {
  serveBackground();
  serveForeground();
}

process.on('SIGTERM', () => worker.shutdown());
await worker.work();
