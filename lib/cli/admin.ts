/**
 * What the admin commands share: one {@link GearmanAdminClient} per server, the same call on each,
 * a table (or `--json`) of what came back, and an error line per server that did not answer.
 *
 * @module
 * @internal
 */
import { GearmanAdminClient } from '../index.js';
import { EXIT, numberOption, parse, serverList } from './args.js';
import { describeError, exitCodeOf, write, type Io } from './output.js';
import { formatTable, type Column } from './table.js';

/** Admin options every admin command takes. @internal */
export const ADMIN_OPTIONS = {
  json: { type: 'boolean' },
  timeout: { type: 'string', short: 't' },
} as const;

/** Help lines for {@link ADMIN_OPTIONS}. @internal */
export const ADMIN_HELP = `      --json           print JSON (an array, one element per row) instead of a table
  -t, --timeout SECS   seconds to wait for each server's answer (default 10)`;

/** The outcome of one server's call. @internal */
export type ServerResult<T> = { server: string; ok: true; value: T } | { server: string; ok: false; error: unknown };

/**
 * Runs `call` against every server at once, each with its own admin client, and closes them.
 * @internal
 */
export async function eachServer<T>(servers: string[], pollTimeout: number, call: (admin: GearmanAdminClient) => Promise<T>): Promise<ServerResult<T>[]> {
  return Promise.all(
    servers.map(async (server): Promise<ServerResult<T>> => {
      const admin = new GearmanAdminClient([server], { pollTimeout, connectTimeoutMs: Math.max(1, pollTimeout * 1000) });
      try {
        return { server, ok: true, value: await call(admin) };
      } catch (error) {
        return { server, ok: false, error };
      } finally {
        admin.shutdown();
      }
    }),
  );
}

/** A parsed admin command line. @internal */
export interface AdminArgs {
  servers: string[];
  json: boolean;
  pollTimeout: number;
  positionals: string[];
  help: boolean;
}

/** Parses an admin command's arguments. @internal */
export function parseAdmin(command: string, argv: string[], io: Io): AdminArgs {
  const { values, positionals } = parse(command, argv, ADMIN_OPTIONS);
  if (values.help) return { servers: [], json: false, pollTimeout: 10, positionals, help: true };
  return {
    servers: serverList(values.servers, io.env),
    json: values.json ?? false,
    pollTimeout: numberOption(command, 'timeout', values.timeout, { min: 0 }) ?? 10,
    positionals,
    help: false,
  };
}

/**
 * Prints one error line per failed server on stderr and returns the exit code: 0 if all
 * answered, else the worst code of the failures (unreachable: 3, an ERR answer: 1).
 * @internal
 */
export async function reportFailures(results: ServerResult<unknown>[], io: Io): Promise<number> {
  let code: number = EXIT.OK;
  for (const r of results) {
    if (r.ok) continue;
    await write(io.stderr, `gearman-ts: ${r.server}: ${describeError(r.error)}\n`);
    code = Math.max(code, exitCodeOf(r.error));
  }
  return code;
}

/**
 * Prints rows gathered from every server: `--json` as one array, else a table with a SERVER
 * column when more than one server was asked (or always, for one-row-per-server answers).
 * @internal
 */
export async function printRows<R extends object>(
  args: AdminArgs,
  results: ServerResult<R[]>[],
  columns: Column<R>[],
  io: Io,
  { serverColumn = args.servers.length > 1 }: { serverColumn?: boolean } = {},
): Promise<number> {
  const rows: Array<R & { server: string }> = [];
  for (const r of results) if (r.ok) for (const row of r.value) rows.push({ server: r.server, ...row });
  if (args.json) {
    await write(io.stdout, JSON.stringify(rows) + '\n');
  } else {
    const cols: Column<R & { server: string }>[] = serverColumn ? [{ header: 'SERVER', value: (row) => row.server }, ...columns] : columns;
    if (results.some((r) => r.ok)) await write(io.stdout, formatTable(cols, rows));
  }
  return reportFailures(results, io);
}
