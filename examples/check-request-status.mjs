// The helper every client example of the python-gearman docs uses (with the docs' slip mended:
// the unique lives on the job, `request.job.unique`).
import { client } from 'gearman-ts';

export function checkRequestStatus(jobRequest) {
  if (jobRequest.complete) {
    console.log(`Job ${jobRequest.job.unique} finished!  Result: ${jobRequest.state} - ${jobRequest.result}`);
  } else if (jobRequest.timedOut) {
    console.log(`Job ${jobRequest.job.unique} timed out!`);
  } else if (jobRequest.state === client.JOB_UNKNOWN) {
    console.log(`Job ${jobRequest.job.unique} connection failed!`);
  }
}

/** Servers from GEARMAN_SERVERS (comma-separated), default localhost:4730. */
export const servers = (process.env.GEARMAN_SERVERS ?? 'localhost:4730').split(',');
