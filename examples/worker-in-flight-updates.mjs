// In-flight updates, as in the python-gearman docs: the worker sends the reversed text one
// character at a time with WORK_DATA and its progress with WORK_STATUS; the client in the same
// script prints each update as it arrives.
//   node examples/with-gearmand.mjs examples/worker-in-flight-updates.mjs
import { GearmanClient, GearmanJob, GearmanJobRequest, GearmanWorker } from 'gearman-ts';

const servers = (process.env.GEARMAN_SERVERS ?? 'localhost:4730').split(',');
const task = process.env.GEARMAN_TASK ?? 'reverse_inflight';

const worker = new GearmanWorker(servers);
worker.registerTask(task, async (gearmanWorker, job) => {
  const reversed = [...job.data.toString('utf8')].reverse();
  for (const [index, character] of reversed.entries()) {
    await gearmanWorker.sendJobData(job, character);
    await gearmanWorker.sendJobStatus(job, index + 1, reversed.length);
  }
  // Everything went out as WORK_DATA. (The docs return None; an empty result says so explicitly.)
  return '';
});
const working = worker.work();

const client = new GearmanClient(servers);
const request = new GearmanJobRequest(new GearmanJob(null, null, task, null, 'gearman'));
request.on('data', (data) => console.log(`data: ${data}`));
request.on('status', (status) => console.log(`status: ${status.numerator}/${status.denominator}`));
await client.submitMultipleRequests([request]);
console.log(`${request.state}: ${request.dataUpdates.join('')}`);

client.shutdown();
worker.shutdown();
await working;
