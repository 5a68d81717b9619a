// A worker and a client in one script: the worker reverses strings, the client submits jobs.
import { GearmanClient, GearmanWorker, PRIORITY_HIGH } from 'gearman-ts';

const servers = (process.env.GEARMAN_SERVERS ?? 'localhost:4730').split(',');

const worker = new GearmanWorker(servers);
worker.registerTask('reverse', async (w, job) => {
  const text = job.data.toString('utf8');
  await w.sendJobStatus(job, 1, 2); // in-flight progress reaches the client
  return [...text].reverse().join('');
});
const working = worker.work();

const client = new GearmanClient(servers);
const request = await client.submitJob('reverse', 'Hello, Gearman!');
console.log(`${request.state}: ${request.result} (status ${request.status.numerator}/${request.status.denominator})`);

const words = ['alpha', 'beta', 'gamma', 'delta'];
const requests = await client.submitMultipleJobs(words.map((data) => ({ task: 'reverse', data, priority: PRIORITY_HIGH })));
for (const r of requests) console.log(`${r.job.data} -> ${r.result}`);

const background = await client.submitJob('reverse', 'fire and forget', { background: true });
console.log(`background job ${background.job.handle}: ${background.state}, complete=${background.complete}`);

client.shutdown();
worker.shutdown();
await working;
