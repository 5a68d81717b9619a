/**
 * `gearman-ts version`: each server's version (and the tool's own with `--local`).
 *
 * @module
 * @internal
 */
import { EXIT } from '../args.js';
import { ADMIN_HELP, eachServer, parseAdmin, printRows } from '../admin.js';
import { SERVERS_HELP, type Command } from '../command.js';
import { write } from '../output.js';

export const version: Command = {
  name: 'version',
  summary: "each server's version (admin \"version\")",
  help: `Usage: gearman-ts version [options]

Prints the version each server reports. (gearman-ts --version prints the tool's own.)

Options:
${ADMIN_HELP}
${SERVERS_HELP}`,
  async run(argv, io) {
    const args = parseAdmin('version', argv, io);
    if (args.help) return write(io.stdout, version.help + '\n').then(() => EXIT.OK);
    const results = await eachServer(args.servers, args.pollTimeout, async (admin) => [{ version: await admin.getVersion() }]);
    return printRows<{ version: string }>(args, results, [{ header: 'VERSION', value: (r) => r.version }], io, { serverColumn: true });
  },
};
