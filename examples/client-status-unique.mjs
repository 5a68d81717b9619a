// The status of a job by its unique (GET_STATUS_UNIQUE), including how many clients wait on it.
//   node examples/with-gearmand.mjs examples/client-status-unique.mjs
import { GearmanClient } from 'gearman-ts';

const servers = (process.env.GEARMAN_SERVERS ?? 'localhost:4730').split(',');
const client = new GearmanClient(servers);
const other = new GearmanClient(servers);

// Two clients wait on one job (same unique, coalesced); no worker runs it yet.
const first = client.submitJob('report', 'q3', { unique: 'report-q3', pollTimeout: 1 });
const second = other.submitJob('report', 'q3', { unique: 'report-q3', pollTimeout: 1 });
let status;
do status = await client.getJobStatusByUnique('report-q3');
while (status.waitingClients < 2);
console.log(status); // { unique: 'report-q3', known: true, running: false, numerator: 0, denominator: 0, waitingClients: 2, timedOut: false }
await Promise.all([first, second]); // both time out after 1 s: no worker here
console.log((await client.getJobStatusByUnique('no-such-job')).known); // false
await client[Symbol.asyncDispose]();
await other[Symbol.asyncDispose]();
