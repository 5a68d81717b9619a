// Ask a Gearman server about itself: its version, the queue of every task, the connected workers,
// the jobs it holds, and how long a round trip takes. Servers come from GEARMAN_SERVERS (the first
// one is asked). Each call gives up after 5 s, connecting included.
//   GEARMAN_SERVERS=127.0.0.1:4730 node examples/admin.mjs
import { GearmanAdminClient } from 'gearman-ts';

const [server] = (process.env.GEARMAN_SERVERS || 'localhost:4730').split(',');
const admin = new GearmanAdminClient([server], { pollTimeout: 5 });

try {
  console.log(`${server}: gearmand ${await admin.getVersion()}`);

  const tasks = await admin.getStatus();
  console.log(`${tasks.length} task(s):`);
  for (const { task, queued, running, workers } of tasks) {
    console.log(`  ${task}: ${queued} queued, ${running} running, ${workers} worker(s)`);
  }

  const connections = await admin.getWorkers();
  console.log(`${connections.length} connection(s):`);
  for (const { ip, clientId, tasks: can } of connections) {
    console.log(`  ${ip} ${clientId}: ${can.length > 0 ? can.join(' ') : '(no tasks)'}`);
  }

  // show jobs: gearmand 1.1's columns are retries, ignored (cancelled or abandoned) and stored (a
  // background job in the queue store); python-gearman calls them queued, canceled, enabled.
  const jobs = await admin.getJobs();
  const retried = jobs.filter((job) => job.retries > 0).length;
  const ignored = jobs.filter((job) => job.ignored === 1).length;
  console.log(`${jobs.length} job(s) held: ${retried} re-queued after a lost worker, ${ignored} cancelled or abandoned`);

  const seconds = await admin.pingServer();
  console.log(`ping: ${(seconds * 1000).toFixed(2)} ms`);
} finally {
  admin.shutdown(); // nothing stays open, so the script ends here
}
