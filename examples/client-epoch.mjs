// A scheduled job: `when` sends SUBMIT_JOB_EPOCH (background only). gearmand 1.1.20 does not wake
// a sleeping worker when the time comes (gearmand issue #343); the workaround is to submit any
// job for a function the worker registered at the due time, which wakes it to grab both.
//   node examples/with-gearmand.mjs examples/client-epoch.mjs
import { GearmanClient, GearmanWorker } from 'gearman-ts';

const servers = (process.env.GEARMAN_SERVERS ?? 'localhost:4730').split(',');
const started = Date.now();

const worker = new GearmanWorker(servers);
const ran = new Promise((resolve) => {
  worker.registerTask('send_reminder', (w, job) => {
    console.log(`ran ${job.data} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    resolve();
    return '';
  });
});
worker.registerTask('wake', () => ''); // the no-op used to nudge sleeping workers
const working = worker.work();

const client = new GearmanClient(servers);
const when = new Date(Date.now() + 2000);
const request = await client.submitJob('send_reminder', 'reminder #1', { background: true, when });
console.log(`scheduled ${request.job.handle} for epoch ${request.when}`);

// The workaround for gearmand #343: nudge the workers when the job is due.
setTimeout(() => client.submitJob('wake', '', { background: true }), request.when * 1000 - Date.now() + 50);
await ran;

await client[Symbol.asyncDispose]();
worker.shutdown();
await working;
