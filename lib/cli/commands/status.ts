/**
 * `gearman-ts status`: every task's queued / running / workers on each server.
 *
 * @module
 * @internal
 */
import type { StatusRow } from '../../index.js';
import { EXIT } from '../args.js';
import { ADMIN_HELP, eachServer, parseAdmin, printRows } from '../admin.js';
import { SERVERS_HELP, type Command } from '../command.js';
import { write } from '../output.js';

export const status: Command = {
  name: 'status',
  summary: 'queued, running and workers per task (admin "status")',
  help: `Usage: gearman-ts status [TASK...] [options]

Shows each task's jobs queued (including running), running, and registered workers, on every
server. With TASK names, only those tasks.

Options:
${ADMIN_HELP}
${SERVERS_HELP}`,
  async run(argv, io) {
    const args = parseAdmin('status', argv, io);
    if (args.help) return write(io.stdout, status.help + '\n').then(() => EXIT.OK);
    const only = new Set(args.positionals);
    const results = await eachServer(args.servers, args.pollTimeout, async (admin) => {
      const rows = await admin.getStatus();
      return only.size === 0 ? rows : rows.filter((r) => only.has(r.task));
    });
    return printRows<StatusRow>(args, results, [
      { header: 'TASK', value: (r) => r.task },
      { header: 'QUEUED', value: (r) => r.queued, right: true },
      { header: 'RUNNING', value: (r) => r.running, right: true },
      { header: 'WORKERS', value: (r) => r.workers, right: true },
    ], io);
  },
};
