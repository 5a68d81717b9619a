// "Sending multiple jobs all at once and behave like a non-blocking call" (python-gearman client
// docs, submit_multiple_jobs with waitUntilComplete: false, then waitUntilJobsCompleted).
import { setTimeout as sleep } from 'node:timers/promises';
import { GearmanClient, GearmanWorker } from 'gearman-ts';
import { checkRequestStatus, servers } from './check-request-status.mjs';

const worker = new GearmanWorker(servers);
worker.registerTask('task_name', (w, job) => job.data.toString().toUpperCase());
worker.registerTask('other_task', (w, job) => job.data.toString().split(' ').reverse().join(' '));
const working = worker.work();

const gmClient = new GearmanClient(servers);

const listOfJobs = [
  { task: 'task_name', data: 'binary data' },
  { task: 'other_task', data: 'other binary data' },
];
const submittedRequests = await gmClient.submitMultipleJobs(listOfJobs, { background: false, waitUntilComplete: false });

// Once the jobs are accepted we can do other things and collect the results later.
await sleep(1000);

// Wait at most 5 seconds before timing out incomplete requests.
const completedRequests = await gmClient.waitUntilJobsCompleted(submittedRequests, { pollTimeout: 5.0 });
for (const completedJobRequest of completedRequests) checkRequestStatus(completedJobRequest);

gmClient.shutdown();
worker.shutdown();
await working;
