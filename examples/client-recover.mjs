// "Recovering from failed connections" (python-gearman client docs, submit_multiple_requests).
// A pass-through proxy stands in for the Gearman server so the script can make it fail.
import net from 'node:net';
import { GearmanClient, GearmanWorker, ServerUnavailable, client } from 'gearman-ts';
import { checkRequestStatus, servers } from './check-request-status.mjs';

const [host, port] = servers[0].split(':');
const pipes = new Set();
const proxy = net.createServer((down) => {
  const up = net.connect(Number(port ?? 4730), host);
  down.pipe(up).pipe(down);
  for (const s of [down, up]) pipes.add(s).add(s.on('error', () => {}).on('close', () => pipes.delete(s)));
});
const listen = (p) => new Promise((resolve) => proxy.listen(p, '127.0.0.1', resolve));
await listen(0);
const proxyPort = proxy.address().port;
const failServer = () => (proxy.close(), pipes.forEach((s) => s.destroy())); // down: refuses connections

let first = true;
const failOnce = () => first && ((first = false), failServer()); // the first job "brings the server down"
const worker = new GearmanWorker(servers);
worker.registerTask('other_task', (w, job) => (failOnce(), new Promise((r) => setTimeout(r, 2000, `${job.data} done`))));
// Registered last, so gearmand hands it out first: the quick job is the one that fails the server.
worker.registerTask('task_name', (w, job) => (failOnce(), `${job.data} done`));
const working = worker.work();

const gmClient = new GearmanClient([`127.0.0.1:${proxyPort}`]);
const listOfJobs = [{ task: 'task_name', data: 'task binary string' }, { task: 'other_task', data: 'other binary string' }];
let failedRequests;
try {
  failedRequests = await gmClient.submitMultipleJobs(listOfJobs, { background: false, maxRetries: 1 });
} catch (err) {
  if (!(err instanceof ServerUnavailable)) throw err;
  failedRequests = err.requests; // the server failed: every request is back to JOB_UNKNOWN
}
console.assert(failedRequests.every((r) => r.state === client.JOB_UNKNOWN), "All connections didn't fail!");
await listen(proxyPort); // the server is back

// Re-send them; other_task takes 2 s, so it times out after 1 s.
const retriedConnectionFailedRequests = await gmClient.submitMultipleRequests(failedRequests, { waitUntilComplete: true, pollTimeout: 1.0 });
const timedOutRequests = retriedConnectionFailedRequests.filter((jobRequest) => jobRequest.timedOut);
retriedConnectionFailedRequests.forEach(checkRequestStatus);

// For the timed-out requests, wait a little longer until they are complete.
const retriedTimedOutRequests = await gmClient.submitMultipleRequests(timedOutRequests, { waitUntilComplete: true, pollTimeout: 4.0 });
retriedTimedOutRequests.forEach(checkRequestStatus);

gmClient.shutdown();
worker.shutdown();
proxy.close();
await working;
