/**
 * `gearman-ts server`: the embedded job server in the foreground, until SIGINT or SIGTERM.
 *
 * @module
 * @internal
 */
import { GearmanServer } from '../../server/index.js';
import { EXIT, UsageError, numberOption, parse } from '../args.js';
import { type Command } from '../command.js';
import { describeError, write } from '../output.js';

const OPTIONS = {
  port: { type: 'string', short: 'p' },
  host: { type: 'string', short: 'H' },
  verbose: { type: 'boolean', short: 'v' },
} as const;

export const server: Command = {
  name: 'server',
  summary: 'run the embedded job server in the foreground',
  help: `Usage: gearman-ts server [--port P] [--host H] [--verbose]

Runs the embedded Gearman job server (in memory: jobs do not survive a restart) until SIGINT or
SIGTERM, which close every connection and release the port. Prints "listening on HOST:PORT" on
stderr once it accepts connections.

Options:
  -p, --port P       port to listen on (default 4730; 0 picks a free one)
  -H, --host H       address to listen on (default 127.0.0.1; 0.0.0.0 or :: to serve others)
  -v, --verbose      log connections and the server's diagnostics on stderr
  -h, --help         show this help`,
  async run(argv, io) {
    const { values, positionals } = parse('server', argv, OPTIONS);
    if (values.help) return write(io.stdout, server.help + '\n').then(() => EXIT.OK);
    if (values.servers !== undefined) throw new UsageError('--servers does not apply: use --host and --port', 'server');
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`, 'server');
    const port = numberOption('server', 'port', values.port, { min: 0, max: 65535, integer: true }) ?? 4730;
    const host = values.host ?? '127.0.0.1';
    const verbose = values.verbose ?? false;
    const stamp = () => new Date().toISOString();
    const line = (level: string) => (message: string, ...rest: unknown[]) =>
      void io.stderr.write(`${stamp()} ${level} ${[message, ...rest.map((r) => (r instanceof Error ? describeError(r) : String(r)))].join(' ')}\n`);
    const none = () => {};
    const logger = { debug: verbose ? line('DEBUG') : none, info: verbose ? line('INFO') : none, warn: line('WARN'), error: line('ERROR') };
    let running: GearmanServer;
    try {
      running = await GearmanServer.start({ host, port, logger });
    } catch (err) {
      await write(io.stderr, `gearman-ts server: cannot listen on ${host}:${port}: ${describeError(err)}\n`);
      return EXIT.FAILED;
    }
    await write(io.stderr, `${stamp()} listening on ${running.address}\n`);
    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'));
      process.once('SIGTERM', () => resolve('SIGTERM'));
    });
    await write(io.stderr, `${stamp()} ${signal}: closing\n`);
    await running.close();
    await write(io.stderr, `${stamp()} closed\n`);
    return EXIT.OK;
  },
};
