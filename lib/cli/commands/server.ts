/**
 * `gearman-ts server`: the embedded job server in the foreground.
 *
 * @module
 * @internal
 */
import { EXIT, parse } from '../args.js';
import { type Command } from '../command.js';
import { write } from '../output.js';

export const server: Command = {
  name: 'server',
  summary: 'run the embedded job server in the foreground',
  help: `Usage: gearman-ts server [--port P] [--host H] [--verbose]

Runs the embedded Gearman job server until SIGINT or SIGTERM.

Options:
  -p, --port P       port to listen on (default 4730; 0 picks a free one)
  -H, --host H       address to listen on (default 127.0.0.1)
  -v, --verbose      log connections on stderr
  -h, --help         show this help`,
  async run(argv, io) {
    const { values } = parse('server', argv, { port: { type: 'string', short: 'p' }, host: { type: 'string', short: 'H' }, verbose: { type: 'boolean', short: 'v' } });
    if (values.help) return write(io.stdout, server.help + '\n').then(() => EXIT.OK);
    await write(io.stderr, 'gearman-ts server: the embedded server is not in this build\n');
    return EXIT.FAILED;
  },
};
