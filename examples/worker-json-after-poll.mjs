// The python-gearman docs' "extending the worker": a JSON data encoder shared by a worker and a
// client, and an afterPoll hook for housekeeping between polls, which here also ends work().
//   node examples/with-gearmand.mjs examples/worker-json-after-poll.mjs
import { DataEncoder, GearmanClient, GearmanWorker } from 'gearman-ts';

const servers = (process.env.GEARMAN_SERVERS ?? 'localhost:4730').split(',');
const task = process.env.GEARMAN_TASK ?? 'sum_json';

class JSONDataEncoder extends DataEncoder {
  static encode(value) { return JSON.stringify(value); }
  static decode(data) { return JSON.parse(data.toString('utf8')); }
}

class DBRollbackJSONWorker extends GearmanWorker {
  dataEncoder = JSONDataEncoder;
  jobsLeft = 3;
  afterPoll(anyActivity) {
    // Housekeeping after every poll goes here (the docs roll back their DB connections).
    return this.jobsLeft > 0; // false ends work()
  }
}

class JSONClient extends GearmanClient { dataEncoder = JSONDataEncoder; }

const worker = new DBRollbackJSONWorker(servers);
worker.registerTask(task, (gearmanWorker, job) => {
  gearmanWorker.jobsLeft--;
  return { sum: job.data.numbers.reduce((a, b) => a + b, 0) }; // job.data is already an object
});
const working = worker.work();

const client = new JSONClient(servers);
for (const numbers of [[1, 2, 3], [10, 20], [0.5, 0.25]]) {
  const request = await client.submitJob(task, { numbers });
  console.log(`${JSON.stringify(numbers)} -> ${JSON.stringify(request.result)}`);
}
client.shutdown();
await working; // resolves by itself: afterPoll returned false after the third job
console.log('worker stopped: afterPoll returned false');
