// "Sending a simple job as a blocking call" (python-gearman client docs, submit_job).
import { GearmanClient, GearmanWorker } from 'gearman-ts';
import { checkRequestStatus, servers } from './check-request-status.mjs';

// A worker for task_name in the same script, so the job has somewhere to run.
const worker = new GearmanWorker(servers);
worker.registerTask('task_name', (w, job) => `processed ${job.data.length} bytes`);
const working = worker.work();

const gmClient = new GearmanClient(servers);

// See lib/job.ts for the attributes of a GearmanJobRequest.
// Defaults to PRIORITY_NONE, background: false (foreground), waitUntilComplete: true.
const completedJobRequest = await gmClient.submitJob('task_name', 'arbitrary binary data');
checkRequestStatus(completedJobRequest);

gmClient.shutdown();
worker.shutdown();
await working;
