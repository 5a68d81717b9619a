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

export const jobs: Command = {
  name: 'jobs',
  summary: 'every job a server holds, by handle (admin "show jobs")',
  help: `Usage: gearman-ts jobs [options]

Lists the jobs each server holds: handle, times re-queued, whether it was cancelled or abandoned
(IGNORED 1), and whether it is a background job (BACKGROUND 1).

Options:
${ADMIN_HELP}
${SERVERS_HELP}`,
  async run(argv, io) {
    const args = parseAdmin('jobs', argv, io);
    if (args.help) return write(io.stdout, jobs.help + '\n').then(() => EXIT.OK);
    const results = await eachServer(args.servers, args.pollTimeout, (admin) => admin.getJobs());
    return printRows<JobRow>(args, results, [
      { header: 'HANDLE', value: (r) => r.handle },
      { header: 'RETRIES', value: (r) => r.retries, right: true },
      { header: 'IGNORED', value: (r) => r.ignored, right: true },
      { header: 'BACKGROUND', value: (r) => r.queued, right: true },
    ], io);
  },
};
