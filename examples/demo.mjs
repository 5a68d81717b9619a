// The demo of `npm run demo`: a job server, a worker and a client doing real work.
//
// It starts the embedded job server on a free loopback port (or, with GEARMAN_SERVERS set, uses
// those servers instead), runs a worker that counts the primes below a number and reports its
// progress, and a client that submits a batch of such jobs and prints each result as it arrives.
//   npm run demo
//   GEARMAN_SERVERS=127.0.0.1:4730 npm run demo      # against your own gearmand
import { GearmanClient, GearmanWorker } from 'gearman-ts';
import { GearmanServer } from 'gearman-ts/server';

const server = process.env.GEARMAN_SERVERS ? undefined : await GearmanServer.start({ port: 0 });
const hosts = server ? server.hostList : process.env.GEARMAN_SERVERS.split(',');
console.log(server ? `embedded job server listening on ${server.address}` : `using GEARMAN_SERVERS=${hosts.join(',')}`);

// The worker: counts primes below `limit`, sending WORK_STATUS every tenth of the way.
const worker = new GearmanWorker(hosts);
worker.setClientId('demo-worker');
worker.registerTask('demo-count-primes', async (w, job) => {
  const limit = Number(job.data.toString());
  let count = 0;
  for (let n = 2; n < limit; n++) {
    let prime = true;
    for (let d = 2; d * d <= n; d++) {
      if (n % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) count++;
    if (n % Math.ceil(limit / 10) === 0) await w.sendJobStatus(job, n, limit);
  }
  return String(count);
});
const working = worker.work();

// The client: a batch of jobs, each reported as it completes.
const client = new GearmanClient(hosts);
const limits = [10_000, 20_000, 50_000, 100_000, 150_000, 200_000, 300_000, 400_000];
const started = Date.now();
let done = 0;
let updates = 0;
const jobs = limits.map((limit) => ({ task: 'demo-count-primes', data: String(limit) }));
const pending = client.submitMultipleJobs(jobs, { waitUntilComplete: false });
const requests = await pending;
for (const request of requests) {
  request.on('status', () => updates++);
  request.on('complete', (result) => {
    done++;
    const bar = '#'.repeat(done) + '.'.repeat(limits.length - done);
    console.log(`[${bar}] ${request.job.handle}: ${String(result).padStart(6)} primes below ${request.job.data}`);
  });
}
const finished = await client.waitUntilJobsCompleted(requests, { pollTimeout: 60 });

const failed = finished.filter((r) => r.state !== 'COMPLETE');
console.log(`${finished.length - failed.length}/${finished.length} jobs complete in ${Date.now() - started} ms, ${updates} progress updates received`);
const expected = { 10000: '1229', 100000: '9592' };
for (const r of finished) {
  const want = expected[String(r.job.data)];
  if (want !== undefined && String(r.result) !== want) failed.push(r);
}

client.shutdown();
worker.shutdown();
await working;
if (server) {
  const t = server.stats().tasks['demo-count-primes'];
  console.log(`server counters: submitted ${t.submitted}, completed ${t.completed}, failed ${t.failed}`);
  await server.close();
}
if (failed.length > 0) {
  console.error(`${failed.length} job(s) did not end as expected`);
  process.exit(1);
}
