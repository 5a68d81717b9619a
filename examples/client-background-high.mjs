// "Sending a high priority, background, blocking call" (python-gearman client docs, submit_job).
// A background request is complete as soon as the server has accepted it: it has no result.
import { GearmanClient, PRIORITY_HIGH } from 'gearman-ts';
import { checkRequestStatus, servers } from './check-request-status.mjs';

const gmClient = new GearmanClient(servers);

const submittedJobRequest = await gmClient.submitJob('task_name', 'arbitrary binary data', {
  priority: PRIORITY_HIGH,
  background: true,
});

checkRequestStatus(submittedJobRequest);
console.log(`handle ${submittedJobRequest.job.handle}`);

// No shutdown needed: idle client connections do not keep the process alive.
