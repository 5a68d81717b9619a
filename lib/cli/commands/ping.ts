/**
 * `gearman-ts ping`: an ECHO round trip to each server, in milliseconds.
 *
 * @module
 * @internal
 */
import { EXIT } from '../args.js';
import { ADMIN_HELP, eachServer, parseAdmin, printRows } from '../admin.js';
import { SERVERS_HELP, type Command } from '../command.js';
import { write } from '../output.js';

export const ping: Command = {
  name: 'ping',
  summary: 'an ECHO round trip to each server, in ms',
  help: `Usage: gearman-ts ping [options]

Sends ECHO to each server and prints the round trip in milliseconds. Exit code 3 if any server
does not answer.

Options:
${ADMIN_HELP}
${SERVERS_HELP}`,
  async run(argv, io) {
    const args = parseAdmin('ping', argv, io);
    if (args.help) return write(io.stdout, ping.help + '\n').then(() => EXIT.OK);
    const results = await eachServer(args.servers, args.pollTimeout, async (admin) => [{ ms: Math.round((await admin.pingServer()) * 1e6) / 1e3 }]);
    return printRows<{ ms: number }>(args, results, [{ header: 'MS', value: (r) => r.ms.toFixed(3), right: true }], io, { serverColumn: true });
  },
};
