#!/usr/bin/env node
/**
 * `gearman-ts`: the command-line tool. Dispatches to one module per command; every command is
 * built on the package's public API.
 *
 * @module
 * @internal
 */
import { readFileSync } from 'node:fs';
import { EXIT, UsageError } from './args.js';
import type { Command } from './command.js';
import { describeError, exitCodeOf, processIo, write, type Io } from './output.js';
import { submit } from './commands/submit.js';
import { work } from './commands/work.js';
import { status } from './commands/status.js';
import { workers } from './commands/workers.js';
import { jobs } from './commands/jobs.js';
import { version } from './commands/version.js';
import { ping } from './commands/ping.js';
import { maxqueue } from './commands/maxqueue.js';
import { cancel } from './commands/cancel.js';
import { top } from './commands/top.js';
import { server } from './commands/server.js';

/** Every command, in the order `--help` lists them. @internal */
export const COMMANDS: Command[] = [submit, work, status, workers, jobs, version, ping, maxqueue, cancel, top, server];

function toolVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function toolHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `Usage: gearman-ts COMMAND [options]

Submit jobs to Gearman job servers, run shell commands as workers, inspect and run servers.

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Run gearman-ts COMMAND --help for a command's options.

Servers: --servers host:port,... on any command, else $GEARMAN_SERVERS, else localhost:4730.
Exit codes: 0 done; 1 a job failed or timed out, or a server refused; 2 bad arguments or an
unknown command; 3 no server could be reached; 130 interrupted.
`;
}

/**
 * Runs the tool on `argv` (without node and the script) and resolves with the exit code.
 * @internal
 */
export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const about = name === 'help' && rest[0] !== undefined ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
    await write(name === undefined ? io.stderr : io.stdout, about ? about.help + '\n' : toolHelp());
    return name === undefined ? EXIT.USAGE : EXIT.OK;
  }
  if (name === '--version' || name === '-V') {
    await write(io.stdout, `gearman-ts ${toolVersion()}\n`);
    return EXIT.OK;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    const close = COMMANDS.find((c) => c.name.startsWith(name.slice(0, 3)) && name.length >= 2);
    await write(io.stderr, `gearman-ts: unknown command ${JSON.stringify(name)}${close ? ` (did you mean ${close.name}?)` : ''}\nRun gearman-ts --help for the list.\n`);
    return EXIT.USAGE;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      await write(io.stderr, `gearman-ts ${command.name}: ${err.message}\nRun gearman-ts ${command.name} --help for usage.\n`);
    } else {
      await write(io.stderr, `gearman-ts ${command.name}: ${describeError(err)}\n`);
    }
    return exitCodeOf(err);
  }
}

// A reader that went away (`gearman-ts status | head -1`) ends the tool quietly, as for any Unix tool.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
  });
}
const code = await main(process.argv.slice(2));
process.exitCode = code;
// Everything a command opened is closed by now; should a socket linger in its close handshake,
// do not let it hold the exit for long.
setTimeout(() => process.exit(code), 2000).unref();
