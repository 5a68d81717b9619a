// Progress while you wait: onStatus / onData callbacks on submitJob, and the updates of a request
// as an async iterator.
//   node examples/with-gearmand.mjs examples/client-progress.mjs
import { GearmanClient, GearmanJob, GearmanJobRequest, GearmanWorker } from 'gearman-ts';

const servers = (process.env.GEARMAN_SERVERS ?? 'localhost:4730').split(',');

const worker = new GearmanWorker(servers);
worker.registerTask('resize', async (w, job) => {
  for (let step = 1; step <= 3; step++) {
    await w.sendJobData(job, `chunk ${step}`);
    await w.sendJobStatus(job, step, 3);
  }
  return `resized ${job.data}`;
});
const working = worker.work();

const client = new GearmanClient(servers);

// 1. Callbacks, called in order as the updates arrive; the promise still resolves at the end.
const request = await client.submitJob('resize', 'cat.png', {
  onStatus: (numerator, denominator) => console.log(`status ${numerator}/${denominator}`),
  onData: (data) => console.log(`data ${data}`),
});
console.log(`result ${request.result}`);

// 2. An iterator: it sees the updates that arrive after it is made, so make the request and its
// iterator first, submit without waiting for the result, then follow the request to its end.
const next = new GearmanJobRequest(new GearmanJob(null, null, 'resize', null, 'dog.png'));
const updates = next.updates();
await client.submitMultipleRequests([next], { waitUntilComplete: false });
for await (const update of updates) {
  if (update.type === 'status') console.log(`progress ${Math.round((100 * update.numerator) / update.denominator)}%`);
  else if (update.type === 'complete') console.log(`done ${update.result}`);
}

// [Symbol.asyncDispose] is what `await using client = ...` calls (TypeScript, or Node 24+).
await client[Symbol.asyncDispose]();
worker.shutdown();
await working;
