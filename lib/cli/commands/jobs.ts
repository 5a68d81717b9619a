/**
 * `gearman-ts jobs`: every job each server holds (admin "show jobs").
 *
 * @module
 * @internal
 */
import type { JobRow } from '../../index.js';
import { EXIT } from '../args.js';
import { ADMIN_HELP, eachServer, parseAdmin, printRows } from '../admin.js';
import { SERVERS_HELP, type Command } from '../command.js';
import { write } from '../output.js';

/** One row as the tool prints it. @internal */
export interface JobLine {
  handle: string;
  retries: number;
  ignored: number;
  stored: number;
}

/**
 * gearmand's fourth column (`job_queued`: 1 while the job is in the queue store, i.e. a background
 * job not cancelled), which the admin client's rows name `stored` (`queued` in earlier releases).
 */
function jobLine(row: JobRow): JobLine {
  const r = row as unknown as { handle: string; retries: number; ignored: number; stored?: number; queued?: number };
  return { handle: r.handle, retries: r.retries, ignored: r.ignored, stored: r.stored ?? r.queued ?? 0 };
}

export const jobs: Command = {
  name: 'jobs',
  summary: 'every job a server holds, by handle (admin "show jobs")',
  help: `Usage: gearman-ts jobs [options]

Lists the jobs each server holds: handle, times re-queued (RETRIES), whether it was cancelled or
abandoned by its client (IGNORED 1), and whether it is in the server's queue store (STORED 1: a
background job that was not cancelled).

Options:
${ADMIN_HELP}
${SERVERS_HELP}`,
  async run(argv, io) {
    const args = parseAdmin('jobs', argv, io);
    if (args.help) return write(io.stdout, jobs.help + '\n').then(() => EXIT.OK);
    const results = await eachServer(args.servers, args.pollTimeout, async (admin) => (await admin.getJobs()).map(jobLine));
    return printRows<JobLine>(args, results, [
      { header: 'HANDLE', value: (r) => r.handle },
      { header: 'RETRIES', value: (r) => r.retries, right: true },
      { header: 'IGNORED', value: (r) => r.ignored, right: true },
      { header: 'STORED', value: (r) => r.stored, right: true },
    ], io);
  },
};
