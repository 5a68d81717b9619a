// The memory checks of bench/README.md, on the gearman-ts client. Started by bench/run.mjs:
//
//   node bench/ts-memory.mjs --mode bg --port P [--n 1000000] [--batch 10000]
//       N background jobs through submitMultipleJobs, one batch at a time, keeping no reference to
//       finished batches; run.mjs reads the peak RSS (VmHWM) of this process.
//   node --expose-gc bench/ts-memory.mjs --mode inflight --port P [--n 100000]
//       N foreground submitJob calls left in flight (no worker serves the task); heap and RSS
//       growth per request after a full GC. All requests share one 32-byte payload, so the
//       growth is what the library keeps per request beyond its payload.
import { GearmanClient, JOB_CREATED } from 'gearman-ts';
import { performance } from 'node:perf_hooks';
import { PAYLOAD, fail, finish, markStart, parseRoleArgs } from './lib/role.mjs';

const o = parseRoleArgs(process.argv.slice(2));
const client = new GearmanClient([`${o.host ?? '127.0.0.1'}:${o.port}`]);

function fullGc() {
  if (typeof globalThis.gc !== 'function') fail('run with node --expose-gc');
  for (let i = 0; i < 4; i++) globalThis.gc();
}

function snapshot() {
  const m = process.memoryUsage();
  return { heap: m.heapUsed + m.external, heapUsed: m.heapUsed, external: m.external, rss: m.rss };
}

if (o.mode === 'bg') {
  const n = Number(o.n ?? 1_000_000);
  const batch = Number(o.batch ?? 10_000);
  markStart();
  const t0 = performance.now();
  let created = 0;
  for (let done = 0; done < n; ) {
    const k = Math.min(batch, n - done);
    const jobs = new Array(k);
    for (let i = 0; i < k; i++) jobs[i] = { task: 'echo', data: PAYLOAD };
    const requests = await client.submitMultipleJobs(jobs, { background: true });
    for (let i = 0; i < k; i++) if (requests[i].state === JOB_CREATED) created++;
    done += k;
  }
  const seconds = (performance.now() - t0) / 1000;
  if (created !== n) fail(`${created} JOB_CREATED for ${n} submissions`);
  await finish({ jobs: n, seconds, maxRssMiB: process.resourceUsage().maxRSS / 1024 }, () => client.shutdown());
} else if (o.mode === 'inflight') {
  const n = Number(o.n ?? 100_000);
  // Connect and warm up with requests of their own (left in flight too), so the baseline holds
  // the connection, its buffers and the compiled code.
  for (let i = 0; i < 1000; i++) void client.submitJob('bench_hold_warmup', PAYLOAD);
  await client.submitJob('bench_probe', PAYLOAD, { background: true });
  fullGc();
  const before = snapshot();
  markStart();
  const t0 = performance.now();
  // Nothing is kept here: the promises are dropped; only the library holds the requests.
  for (let i = 0; i < n; i++) void client.submitJob('bench_hold', PAYLOAD);
  // Replies come back in order on one connection: once this JOB_CREATED is in, all the
  // submissions above have theirs.
  await client.submitJob('bench_probe', PAYLOAD, { background: true });
  const seconds = (performance.now() - t0) / 1000;
  fullGc();
  const after = snapshot();
  // No shutdown() on exit: it would reject the promises nobody listens to.
  await finish({
    jobs: n,
    seconds,
    heapPerRequest: (after.heap - before.heap) / n,
    heapUsedPerRequest: (after.heapUsed - before.heapUsed) / n,
    externalPerRequest: (after.external - before.external) / n,
    rssPerRequest: (after.rss - before.rss) / n,
    before,
    after,
  });
} else {
  fail(`unknown mode ${String(o.mode)}`);
}
