/**
 * `gearman-ts maxqueue TASK N`: limits a task's queue on each server.
 *
 * @module
 * @internal
 */
import { EXIT, UsageError, numberOption } from '../args.js';
import { ADMIN_HELP, eachServer, parseAdmin, printRows } from '../admin.js';
import { SERVERS_HELP, type Command } from '../command.js';
import { write } from '../output.js';

export const maxqueue: Command = {
  name: 'maxqueue',
  summary: "limit a task's queue length (admin \"maxqueue\")",
  help: `Usage: gearman-ts maxqueue TASK N [options]

Sets the longest queue TASK may have on every server (N = 0 or negative: no limit). Past it, a
submission gets "Job queue is full".

Options:
${ADMIN_HELP}
${SERVERS_HELP}`,
  async run(argv, io) {
    const args = parseAdmin('maxqueue', argv, io);
    if (args.help) return write(io.stdout, maxqueue.help + '\n').then(() => EXIT.OK);
    if (args.positionals.length !== 2) throw new UsageError(`expected TASK and N, got ${args.positionals.length} argument(s)`, 'maxqueue');
    const [task, sizeText] = args.positionals as [string, string];
    const size = numberOption('maxqueue', 'N', sizeText, { integer: true })!;
    const results = await eachServer(args.servers, args.pollTimeout, async (admin) => [{ task, size, answer: await admin.sendMaxqueue(task, size) }]);
    return printRows<{ task: string; size: number; answer: string }>(args, results, [
      { header: 'TASK', value: (r) => r.task },
      { header: 'MAX', value: (r) => r.size, right: true },
      { header: 'ANSWER', value: (r) => r.answer },
    ], io, { serverColumn: true });
  },
};
