/**
 * Argument parsing shared by every command: `node:util` `parseArgs` with the common options
 * (`--servers`, `--json`, `--help`), the server list, and usage errors with their exit code.
 *
 * @module
 * @internal
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { GearmanAdminClient } from '../index.js';

/** Exit codes of the tool. @internal */
export const EXIT = {
  /** Everything worked. */
  OK: 0,
  /** A job failed or timed out, or a server answered with an error. */
  FAILED: 1,
  /** Bad arguments or an unknown command. */
  USAGE: 2,
  /** No server could be reached. */
  UNAVAILABLE: 3,
  /** Interrupted (SIGINT) before the work was done. */
  INTERRUPTED: 130,
} as const;

/** A mistake in the command line: printed with the command's usage hint, exit code 2. @internal */
export class UsageError extends Error {
  override name = 'UsageError';
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
  }
}

/** Options every command accepts. @internal */
export const COMMON_OPTIONS = {
  servers: { type: 'string', short: 's' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * Parses `argv` against `options` (plus the common ones), turning parseArgs' errors into a
 * {@link UsageError} that names the command.
 * @internal
 */
export function parse<O extends Options>(command: string, argv: string[], options: O): ReturnType<typeof parseArgs<{ args: string[]; options: typeof COMMON_OPTIONS & O; allowPositionals: true; strict: true }>> {
  try {
    return parseArgs({ args: argv, options: { ...COMMON_OPTIONS, ...options }, allowPositionals: true, strict: true });
  } catch (err) {
    const message = (err as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    throw new UsageError(message, command);
  }
}

/** The environment variable that names the servers when `--servers` is not given. @internal */
export const SERVERS_ENV = 'GEARMAN_SERVERS';
/** Servers used when neither `--servers` nor `GEARMAN_SERVERS` names any. @internal */
export const DEFAULT_SERVERS = ['localhost:4730'];

/**
 * The server list: `--servers a:1,b:2`, else `GEARMAN_SERVERS`, else `localhost:4730`. Each entry
 * is checked by the library's own host parser, so a bad one fails before anything connects.
 * @throws {@link UsageError} for an empty list or a malformed entry
 * @internal
 */
export function serverList(option: string | undefined, env: NodeJS.ProcessEnv = process.env): string[] {
  const source = option !== undefined ? '--servers' : env[SERVERS_ENV] ? SERVERS_ENV : undefined;
  const text = option ?? env[SERVERS_ENV];
  if (source === undefined || text === undefined) return [...DEFAULT_SERVERS];
  const entries = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (entries.length === 0) throw new UsageError(`${source} names no server (expected host:port,...)`);
  for (const entry of entries) {
    try {
      new GearmanAdminClient([entry]).shutdown();
    } catch (err) {
      throw new UsageError(`bad server ${JSON.stringify(entry)} in ${source}: ${(err as Error).message}`);
    }
  }
  return entries;
}

/**
 * A number option: `name` must parse as a finite number within [min, max] (and be an integer if
 * asked).
 * @throws {@link UsageError}
 * @internal
 */
export function numberOption(
  command: string,
  name: string,
  value: string | undefined,
  { min = -Infinity, max = Infinity, integer = false }: { min?: number; max?: number; integer?: boolean } = {},
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    const kind = integer ? 'an integer' : 'a number';
    const range = min > -Infinity && max < Infinity ? ` from ${min} to ${max}` : min > -Infinity ? ` >= ${min}` : '';
    throw new UsageError(`--${name} must be ${kind}${range}, got ${JSON.stringify(value)}`, command);
  }
  return n;
}
