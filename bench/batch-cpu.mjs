// CPU time of the client per background job, in batches (the bench's S1 and memory-bg shape):
// `submitMultipleJobs(batch, { background: true })`, batch after batch, against a private gearmand.
// CPU time (process.cpuUsage: user + system of this process) varies far less than wall time on a
// shared machine, so two builds can be compared run by run.
//
//   npm run build && node bench/batch-cpu.mjs [--root DIR] [--batch 10000] [--batches 10] [--warmup 3]
//
// --root: the package root whose dist/ is measured (default this worktree). Prints one JSON line.
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startGearmand } from '../spec/helpers/gearmand.mjs';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? fallback : args[i + 1];
};
const batch = Number(opt('batch', 10000));
const batches = Number(opt('batches', 10));
const warmup = Number(opt('warmup', 3));
const root = resolve(opt('root', fileURLToPath(new URL('..', import.meta.url))));
const { GearmanClient, JOB_CREATED } = await import(pathToFileURL(join(root, 'dist/index.js')).href);
const PAYLOAD = Buffer.from('0123456789abcdefghijklmnopqrstuv', 'latin1');

const gd = await startGearmand({ args: ['--hashtable-buckets=1000003'] });
const client = new GearmanClient([`127.0.0.1:${gd.port}`]);

async function runBatch() {
  const jobs = new Array(batch);
  for (let i = 0; i < batch; i++) jobs[i] = { task: 'echo', data: PAYLOAD };
  const requests = await client.submitMultipleJobs(jobs, { background: true });
  for (let i = 0; i < batch; i++) if (requests[i].state !== JOB_CREATED) throw new Error(`request ${i} is ${requests[i].state}`);
}

try {
  for (let b = 0; b < warmup; b++) await runBatch();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let b = 0; b < batches; b++) await runBatch();
  const cpu = process.cpuUsage(c0);
  const wall = performance.now() - t0;
  const jobs = batch * batches;
  console.log(JSON.stringify({ root, jobs, cpuUsPerJob: +((cpu.user + cpu.system) / jobs).toFixed(3), wallUsPerJob: +((wall * 1000) / jobs).toFixed(3) }));
} finally {
  client.shutdown();
  await gd.stop();
}
