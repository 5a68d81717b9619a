// The python-gearman docs' basic worker: reverse each job's data. A client in the same script
// submits a few words; then the worker is shut down and the script ends.
//   node examples/with-gearmand.mjs examples/worker-reverse.mjs
import { GearmanClient, GearmanWorker } from 'gearman-ts';

const servers = (process.env.GEARMAN_SERVERS ?? 'localhost:4730').split(',');
const task = process.env.GEARMAN_TASK ?? 'reverse';

const worker = new GearmanWorker(servers);
worker.setClientId('reverse-example'); // optional: shown by `gearadmin --workers`

// job.data is a Buffer. The docs return reversed(job.data), an iterator, which cannot be sent:
// a result must be a string or bytes, so build the reversed string.
worker.registerTask(task, (gearmanWorker, job) => [...job.data.toString('utf8')].reverse().join(''));

// work() resolves once shutdown() is called (or afterPoll/afterJob return false).
const working = worker.work();

const client = new GearmanClient(servers);
for (const word of ['stressed', 'drawer', 'gearman']) {
  const request = await client.submitJob(task, word);
  console.log(`${word} -> ${request.result}`);
}

client.shutdown();
worker.shutdown();
await working;
