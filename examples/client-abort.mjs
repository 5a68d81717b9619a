// Cancelling a wait with an AbortSignal. Gearman has no way to withdraw a submitted job: an
// abort ends the caller's wait at once, and the job stays queued (or running) on the server.
//   node examples/with-gearmand.mjs examples/client-abort.mjs
import { GearmanClient } from 'gearman-ts';

const servers = (process.env.GEARMAN_SERVERS ?? 'localhost:4730').split(',');
const client = new GearmanClient(servers);

// No worker serves 'slow_task', so only the signal ends this wait.
try {
  await client.submitJob('slow_task', 'data', { signal: AbortSignal.timeout(500) });
} catch (err) {
  console.log(`gave up: ${err.name}`); // TimeoutError
}

const controller = new AbortController();
const waiting = client.submitJob('slow_task', 'more data', { signal: controller.signal });
setTimeout(() => controller.abort(), 100);
await waiting.catch((err) => console.log(`aborted: ${err.name}`)); // AbortError

const status = await client.getJobStatusByUnique('not-a-job', { signal: AbortSignal.timeout(2000) });
console.log(`status of an unknown unique: known=${status.known}`);
await client[Symbol.asyncDispose]();
