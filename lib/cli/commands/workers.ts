/**
 * `gearman-ts workers`: the worker connections of each server and the tasks they registered.
 *
 * @module
 * @internal
 */
import type { WorkerRow } from '../../index.js';
import { EXIT } from '../args.js';
import { ADMIN_HELP, eachServer, parseAdmin, printRows } from '../admin.js';
import { SERVERS_HELP, type Command } from '../command.js';
import { write } from '../output.js';

export const workers: Command = {
  name: 'workers',
  summary: 'connections and the tasks they registered (admin "workers")',
  help: `Usage: gearman-ts workers [options]

Lists every connection of each server: its file descriptor, address, client id and the tasks it
registered (clients show no tasks).

Options:
${ADMIN_HELP}
${SERVERS_HELP}`,
  async run(argv, io) {
    const args = parseAdmin('workers', argv, io);
    if (args.help) return write(io.stdout, workers.help + '\n').then(() => EXIT.OK);
    const results = await eachServer(args.servers, args.pollTimeout, (admin) => admin.getWorkers());
    return printRows<WorkerRow>(args, results, [
      { header: 'FD', value: (r) => r.fileDescriptor, right: true },
      { header: 'ADDRESS', value: (r) => r.ip },
      { header: 'CLIENT-ID', value: (r) => r.clientId },
      { header: 'TASKS', value: (r) => r.tasks.join(' ') },
    ], io);
  },
};
