/**
 * The shape of a command: its name, one line for the tool's help, its own help, and `run`.
 *
 * @module
 * @internal
 */
import type { Io } from './output.js';

/** One `gearman-ts` command. @internal */
export interface Command {
  /** The word after `gearman-ts`. */
  name: string;
  /** One line for `gearman-ts --help`. */
  summary: string;
  /** The text of `gearman-ts <name> --help`. */
  help: string;
  /** Runs the command; resolves with the exit code. Throws {@link UsageError} for bad arguments. */
  run(argv: string[], io: Io): Promise<number>;
}

/** Lines about servers that every command's help ends with. @internal */
export const SERVERS_HELP = `  -s, --servers LIST   servers as host:port,... (default: $GEARMAN_SERVERS, else localhost:4730)
  -h, --help           show this help`;
