// The gearman-ts client side of scenarios S1-S3 (see bench/README.md). Started by bench/run.mjs:
//
//   node bench/ts-client.mjs --scenario S1|S2|S3 --port P --n N [--warmup W] [--batch B] [--p P]
//
// Uses the built package (dist/) through its published name.
import { GearmanClient, JOB_COMPLETE, JOB_CREATED } from 'gearman-ts';
import { performance } from 'node:perf_hooks';
import { FUNCTION, PAYLOAD, exitOnSigterm, fail, finish, markStart, parseRoleArgs, percentile } from './lib/role.mjs';

const o = parseRoleArgs(process.argv.slice(2));
const n = Number(o.n ?? 0);
const warmup = Number(o.warmup ?? 0);
const batch = Math.max(1, Number(o.batch ?? 500));
const inflight = Math.max(1, Number(o.p ?? 100));
const client = new GearmanClient([`${o.host ?? '127.0.0.1'}:${o.port}`]);
exitOnSigterm(() => client.shutdown());

/** S1: `count` background jobs through submitMultipleJobs, `batch` per call, one call at a time. */
async function submitBackground(count) {
  let created = 0;
  for (let done = 0; done < count; ) {
    const k = Math.min(batch, count - done);
    const jobs = new Array(k);
    for (let i = 0; i < k; i++) jobs[i] = { task: FUNCTION, data: PAYLOAD };
    const requests = await client.submitMultipleJobs(jobs, { background: true });
    for (let i = 0; i < k; i++) if (requests[i].state === JOB_CREATED) created++;
    done += k;
  }
  if (created !== count) fail(`S1: ${created} JOB_CREATED for ${count} submissions`);
}

function ok(request) {
  return request.state === JOB_COMPLETE && request.result.length === PAYLOAD.length;
}

/** S2: one submitJob after another; latency of each. */
async function sequential(count, latencies) {
  let failed = 0;
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    const request = await client.submitJob(FUNCTION, PAYLOAD);
    if (latencies !== undefined) latencies[i] = performance.now() - t;
    if (!ok(request)) failed++;
  }
  if (failed !== 0) fail(`S2: ${failed} of ${count} jobs did not complete with the payload`);
}

/** S3: `inflight` concurrent submitJob calls on one client, each starting the next when it ends. */
async function window(count, width) {
  let submitted = 0;
  let completed = 0;
  const lane = async () => {
    while (submitted < count) {
      submitted++;
      const request = await client.submitJob(FUNCTION, PAYLOAD);
      if (ok(request)) completed++;
    }
  };
  const lanes = [];
  for (let i = 0; i < Math.min(width, count); i++) lanes.push(lane());
  await Promise.all(lanes);
  if (completed !== count) fail(`S3: ${completed} of ${count} jobs completed with the payload`);
}

switch (o.scenario) {
  case 'S1': {
    await submitBackground(warmup);
    markStart();
    const t0 = performance.now();
    await submitBackground(n);
    const seconds = (performance.now() - t0) / 1000;
    await finish({ jobs: n, seconds }, () => client.shutdown());
    break;
  }
  case 'S2': {
    await sequential(warmup);
    const latencies = new Float64Array(n);
    markStart();
    const t0 = performance.now();
    await sequential(n, latencies);
    const seconds = (performance.now() - t0) / 1000;
    latencies.sort();
    await finish({ jobs: n, seconds, p50Ms: percentile(latencies, 0.5), p99Ms: percentile(latencies, 0.99) }, () => client.shutdown());
    break;
  }
  case 'S3': {
    if (warmup > 0) await window(warmup, inflight);
    markStart();
    const t0 = performance.now();
    await window(n, inflight);
    const seconds = (performance.now() - t0) / 1000;
    await finish({ jobs: n, seconds, inflight }, () => client.shutdown());
    break;
  }
  default:
    fail(`unknown scenario ${String(o.scenario)}`);
}
