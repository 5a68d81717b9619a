/**
 * The text admin protocol: command lines and the parsers of gearmand's answers
 * (protocol.md §3). Lines end in `\n` (listings, `version`, `getpid`) or `\r\n` (`OK` of
 * `maxqueue` and `cancel job`, every `ERR`); the decoder strips either ending. A listing ends with
 * a `.` line; an error is one `ERR <code> <text>` line (text with `+` for spaces) and replaces the
 * whole listing, `.` included.
 *
 * gearmand prints names as they were given, so a name another library submitted may hold a tab, a
 * line break, or be `.` (a unique): the admin client ends every listing command with an ECHO_REQ
 * (see `command-handler/admin-handler.ts`), so the listing is every line before the ECHO_RES and a
 * `.` row can be told from the `.` that ends the listing; the row parsers here read each row from
 * the right (the numeric columns last) and join a line that is not a whole row with the next one.
 *
 * Ported from python-gearman's `protocol.py` (text commands) and `admin_client_handler.py`
 * (`recv_server_*` parsers), with typed rows and `ERR` recognised.
 *
 * @module
 */
import { InvalidArgumentError, ProtocolError, ServerError } from '../errors.js';
import { describeValue } from '../arguments.js';

/** How an admin command is answered: one line, or lines up to a `.` line. */
export type AdminResponseKind = 'line' | 'list';

/** One row of `status` (python-gearman's `get_status()` dict). */
export interface StatusRow {
  /** The function name. */
  task: string;
  /** Jobs queued or running (gearmand's TOTAL column; python-gearman's `queued`). */
  queued: number;
  /** Jobs a worker is running. */
  running: number;
  /** Connections that registered the task. */
  workers: number;
}

/**
 * One row of `prioritystatus` (gearmand 1.1): jobs waiting for a worker, per priority. Running
 * jobs are not counted (unlike {@link StatusRow.queued}).
 */
export interface PriorityStatusRow {
  /** The function name. */
  task: string;
  /** Queued (not running) jobs of priority HIGH. */
  high: number;
  /** Queued (not running) jobs of normal priority. */
  normal: number;
  /** Queued (not running) jobs of priority LOW. */
  low: number;
  /** Connections that registered the task. */
  workers: number;
}

/** One row of `workers`: one connection of the server (clients and admin connections too). */
export interface WorkerRow {
  /** The server's file descriptor of the connection, as printed. */
  fileDescriptor: string;
  /** The peer address, as printed. */
  ip: string;
  /** The client id as the server prints it: `-` when unset; may contain spaces. */
  clientId: string;
  /** Registered functions, most recently registered first (gearmand's order). */
  tasks: string[];
}

/**
 * One row of `show jobs`: gearmand 1.1 prints `HANDLE\tRETRIES\tIGNORED\tQUEUED`.
 *
 * The names are the meaning of gearmand 1.1's columns, chosen so that none of them is one of
 * python-gearman's names for other columns: python-gearman's `get_jobs()` calls the 2nd, 3rd and
 * 4th columns `queued`, `canceled` and `enabled`, which is not what gearmand 1.1 prints there.
 *
 * | column | gearmand 1.1 (`job->…`) | here | python-gearman |
 * |---|---|---|---|
 * | 2 | `retries` | `retries` | `queued` |
 * | 3 | `ignore_job` | `ignored` | `canceled` |
 * | 4 | `job_queued` | `stored` | `enabled` |
 */
export interface JobRow {
  /** The job handle. */
  handle: string;
  /** Times the job was re-queued (its worker was lost, or a CAN_DO_TIMEOUT ran out). */
  retries: number;
  /** 1 once cancelled (`cancel job`) or abandoned by its foreground client, else 0. */
  ignored: number;
  /**
   * 1 while the job is in gearmand's queue store (`job_queued`): a background job (gearmand hands
   * every one to its store, even the default one that keeps nothing, and marks the jobs it restored
   * from the store at startup) until it is cancelled; 0 for a foreground job. It is not "queued"
   * in the sense of waiting for a worker: {@link StatusRow} counts those.
   */
  stored: number;
}

/**
 * Longest admin line gearmand reads, newline included (protocol.md §1.2: a longer line closes the
 * connection).
 */
export const MAX_ADMIN_LINE_BYTES = 8192;

/** Longest job handle gearmand makes (it reads handles of at most 63 bytes). */
const MAX_HANDLE_BYTES = 63;

/** Whitespace, NUL and control characters: gearmand splits admin lines on spaces and ends them at `\n`. */
const UNSAFE_WORD = /[\s\0-\x1f\x7f]/;

/**
 * The rule for `cancel job`'s handle: a non-empty string of at most 63 UTF-8 bytes with no
 * whitespace, NUL or control character (a space would split it into two words, a line break would
 * end the command and start another one). gearmand's handles (`H:host:n`) always pass.
 *
 * @param handle - the argument
 * @param where - the call, for the message (`'cancelJob'`)
 * @returns `handle`
 * @throws {@link InvalidArgumentError}
 * @internal
 */
export function checkAdminHandle(handle: unknown, where: string): string {
  if (typeof handle !== 'string' || handle.length === 0) {
    throw new InvalidArgumentError(`${where}: handle must be a non-empty string, got ${describeValue(handle)}`);
  }
  if (UNSAFE_WORD.test(handle)) {
    throw new InvalidArgumentError(
      `${where}: handle ${JSON.stringify(handle)} contains whitespace, NUL or a control character, which gearmand's handles never hold and the admin text protocol cannot carry`,
    );
  }
  const bytes = Buffer.byteLength(handle);
  if (bytes > MAX_HANDLE_BYTES) {
    throw new InvalidArgumentError(`${where}: handle is ${bytes} bytes; gearmand's handles are at most ${MAX_HANDLE_BYTES}`);
  }
  return handle;
}

/**
 * Checks an integer argument of an admin command (`maxqueue`'s size).
 *
 * @param value - the argument
 * @param name - what it is (`'maxSize'`)
 * @param where - the call, for the message (`'sendMaxqueue'`)
 * @returns `value` as decimal text
 * @throws {@link InvalidArgumentError} for anything but a safe integer
 * @internal
 */
export function checkAdminInteger(value: unknown, name: string, where: string): string {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new InvalidArgumentError(`${where}: ${name} must be an integer, got ${describeValue(value)}`);
  }
  return String(value);
}

/**
 * Builds an admin command line, `\r\n`-terminated as `gearadmin` sends it (with a bare `\n`,
 * gearmand 1.1 drops the last character of some arguments: protocol.md §3.1).
 *
 * @param words - the command and its arguments, already checked
 * @returns the line
 * @throws {@link InvalidArgumentError} if the line is longer than {@link MAX_ADMIN_LINE_BYTES}
 * @internal
 */
export function adminLine(...words: string[]): string {
  const line = words.join(' ') + '\r\n';
  const bytes = Buffer.byteLength(line);
  if (bytes > MAX_ADMIN_LINE_BYTES) {
    throw new InvalidArgumentError(`admin command '${words[0]}' would be ${bytes} bytes; gearmand reads lines of at most ${MAX_ADMIN_LINE_BYTES}`);
  }
  return line;
}

/** `ERR`, a code, optionally one `+`-encoded text word (gearmand), optionally a trailing space (Perl). */
const STRICT_ERR = /^ERR ([^\s]+)(?: ([^\s]*))?$/;

/**
 * Tells whether a line is an `ERR` answer.
 *
 * One-line commands are never answered with a line starting `ERR ` unless it is an error. With
 * `strict`, the exact shape of gearmand's and the Perl server's error lines is required: a code
 * and at most one `+`-encoded word, no tab.
 *
 * @param line - the line, without its line ending
 * @param strict - require the strict shape
 */
export function isErrLine(line: string, strict = false): boolean {
  if (strict) return STRICT_ERR.test(line);
  return line === 'ERR' || line.startsWith('ERR ');
}

/**
 * Parses an `ERR <code> <text>` line into a {@link ServerError} (`serverCode`, and `serverText`
 * with gearmand's `+` for space undone).
 *
 * @example
 * ```ts
 * parseErrLine('ERR UNKNOWN_COMMAND Unknown+server+commandshutdown', 'localhost:4730');
 * // ServerError { serverCode: 'UNKNOWN_COMMAND', serverText: 'Unknown server commandshutdown' }
 * ```
 *
 * @param line - the line, without its line ending
 * @param where - prefix of the message (host:port and the command)
 * @returns the error, or `undefined` if the line is not an error line
 */
export function parseErrLine(line: string, where: string): ServerError | undefined {
  if (!isErrLine(line)) return undefined;
  const rest = line.slice(4);
  const space = rest.indexOf(' ');
  const code = space === -1 ? rest : rest.slice(0, space);
  const text = space === -1 ? '' : rest.slice(space + 1).replace(/\+/g, ' ').trimEnd();
  return new ServerError(`${where}: server answered ERR ${code}${text ? ': ' + text : ''}`, code, text);
}

const INTEGER = /^-?\d+$/;

/**
 * Reads the rows of a tab-separated listing whose last `count` columns are integers and whose
 * first column is a name, each row from the right: the name is everything before the integers, so
 * a name with a tab (which another library may have submitted) is kept whole. A line that does not
 * end in `count` integer columns is the start of a name with a line break in it: it is joined
 * (with `\n`) to the next line. Returns the name and the integers of each row.
 *
 * @throws {@link ProtocolError} if lines are left over that no row completes
 */
function rowsFromRight(lines: readonly string[], count: number, what: string): Array<[name: string, numbers: number[]]> {
  const rows: Array<[string, number[]]> = [];
  let pending: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = pending === undefined ? lines[i]! : `${pending}\n${lines[i]!}`;
    const fields = line.split('\t');
    let ok = fields.length > count;
    for (let k = fields.length - count; ok && k < fields.length; k++) ok = INTEGER.test(fields[k]!);
    if (!ok) {
      pending = line;
      continue;
    }
    pending = undefined;
    const numbers = fields.slice(fields.length - count).map(Number);
    rows.push([fields.slice(0, fields.length - count).join('\t'), numbers]);
  }
  if (pending !== undefined) {
    throw new ProtocolError(
      `${what}: expected a name and ${count} tab-separated integers, got ${JSON.stringify(pending.length > 200 ? pending.slice(0, 200) + '...' : pending)}`,
    );
  }
  return rows;
}

/**
 * Parses the lines of `status` (`TASK\tTOTAL\tRUNNING\tWORKERS`).
 *
 * Each row is read from the right, so a task name with a tab or a line break (refused by this
 * library's client and worker, but another library may have submitted one) comes back whole.
 *
 * @example
 * ```ts
 * parseStatus(['resize\t3\t0\t1']); // [{ task: 'resize', queued: 3, running: 0, workers: 1 }]
 * ```
 *
 * @param lines - the listing without its `.` line
 * @throws {@link ProtocolError} for lines that do not end in 3 tab-separated integers
 */
export function parseStatus(lines: readonly string[]): StatusRow[] {
  return rowsFromRight(lines, 3, 'status').map(([task, [queued, running, workers]]) => ({ task, queued: queued!, running: running!, workers: workers! }));
}

/**
 * Parses the lines of `prioritystatus` (`TASK\tHIGH\tNORMAL\tLOW\tWORKERS`, gearmand 1.1),
 * each row from the right as {@link parseStatus}.
 *
 * @example
 * ```ts
 * parsePriorityStatus(['resize\t1\t2\t0\t1']); // [{ task: 'resize', high: 1, normal: 2, low: 0, workers: 1 }]
 * ```
 *
 * @param lines - the listing without its `.` line
 * @throws {@link ProtocolError} for lines that do not end in 4 tab-separated integers
 */
export function parsePriorityStatus(lines: readonly string[]): PriorityStatusRow[] {
  return rowsFromRight(lines, 4, 'prioritystatus').map(([task, [high, normal, low, workers]]) => ({
    task,
    high: high!,
    normal: normal!,
    low: low!,
    workers: workers!,
  }));
}

/**
 * Parses one `workers` line, or returns `undefined` if it has no ` : ` separator.
 */
function workerRow(line: string): WorkerRow | undefined {
  const first = line.indexOf(' ');
  const second = first === -1 ? -1 : line.indexOf(' ', first + 1);
  if (first <= 0 || second === -1) return undefined;
  const rest = line.slice(second + 1);
  // The separator is a ':' word: after a space or at the start (gearmand prints an empty client
  // id as 'FD IP  : …'; 'FD IP : …' is read the same way), and before a space or the end.
  let sep = -1;
  for (let i = rest.length - 1; i >= 0; i--) {
    if (rest[i] === ':' && (i === 0 || rest[i - 1] === ' ') && (i === rest.length - 1 || rest[i + 1] === ' ')) {
      sep = i;
      break;
    }
  }
  if (sep === -1) return undefined;
  const clientId = rest.slice(0, Math.max(0, sep - 1));
  const tasks = rest.slice(sep + 1).split(' ').filter((t) => t.length > 0);
  return { fileDescriptor: line.slice(0, first), ip: line.slice(first + 1, second), clientId, tasks };
}

/**
 * Parses the lines of `workers`: `FD IP CLIENT_ID : TASK TASK…`.
 *
 * gearmand prints the client id as it was set, so it may contain spaces (or be empty:
 * `FD IP  : …`). The separator taken is the last `:` that stands alone as a word, so an id such as
 * `web 1 : 42` (which this library's `setClientId` refuses, but another library may set) parses.
 * What the protocol cannot tell apart: a task named `:` (the tasks before it would be read as part
 * of the client id) and a task name with a space (another library's; it reads as two tasks). A
 * line with no separator is the start of a client id with a line break in it, and is joined (with
 * `\n`) to the next line.
 *
 * @example
 * ```ts
 * parseWorkers(['38 127.0.0.1 worker 1 : email resize', '39 127.0.0.1 - :']);
 * // [{ fileDescriptor: '38', ip: '127.0.0.1', clientId: 'worker 1', tasks: ['email', 'resize'] },
 * //  { fileDescriptor: '39', ip: '127.0.0.1', clientId: '-', tasks: [] }]
 * ```
 *
 * @param lines - the listing without its `.` line
 * @throws {@link ProtocolError} for lines left over without the fields or the ` : ` separator
 */
export function parseWorkers(lines: readonly string[]): WorkerRow[] {
  const rows: WorkerRow[] = [];
  let pending: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = pending === undefined ? lines[i]! : `${pending}\n${lines[i]!}`;
    const row = workerRow(line);
    if (row === undefined) {
      pending = line;
      continue;
    }
    pending = undefined;
    rows.push(row);
  }
  if (pending !== undefined) throw new ProtocolError(`workers: no 'FD IP CLIENT_ID :' fields in ${JSON.stringify(pending.slice(0, 200))}`);
  return rows;
}

/**
 * Parses the lines of `show jobs` (`HANDLE\tRETRIES\tIGNORED\tQUEUED`, gearmand 1.1) into
 * {@link JobRow}s (`{ handle, retries, ignored, stored }`; see there for the columns and
 * python-gearman's names for them).
 *
 * @example
 * ```ts
 * parseJobs(['H:vm:4\t0\t1\t0']); // [{ handle: 'H:vm:4', retries: 0, ignored: 1, stored: 0 }]
 * ```
 *
 * @param lines - the listing without its `.` line
 * @throws {@link ProtocolError} for lines that do not end in 3 tab-separated integers
 */
export function parseJobs(lines: readonly string[]): JobRow[] {
  return rowsFromRight(lines, 3, 'show jobs').map(([handle, [retries, ignored, stored]]) => ({
    handle,
    retries: retries!,
    ignored: ignored!,
    stored: stored!,
  }));
}

/**
 * Parses the lines of `show unique jobs`: one unique per job, `''` for a job submitted without one
 * (gearmand prints an empty line), `'.'` for a job whose unique is `.` (the admin client tells it
 * from the end of the listing). A unique with a line break (refused by this library's client)
 * reads as two.
 *
 * @param lines - the listing without its `.` line
 * @returns a copy of `lines`
 */
export function parseUniqueJobs(lines: readonly string[]): string[] {
  return [...lines];
}

/**
 * Strips gearmand's `OK ` prefix from a one-line answer (`OK 1.1.20+ds` → `1.1.20+ds`); a line
 * without it (the Perl server's `v1.130.1`) is returned as it is.
 *
 * @param line - one answer line, without its line ending
 * @returns the line without `OK `
 */
export function stripOk(line: string): string {
  return line === 'OK' ? '' : line.startsWith('OK ') ? line.slice(3) : line;
}

// -------------------------------------------------------------------------------------------------
// Formatters: the answers as gearmand 1.1.20 writes them (protocol.md §3.2), for the embedded
// server. Each returns the exact bytes of the answer, line endings included; the parsers above
// read them back.

/** `OK\r\n`: maxqueue, cancel job, create function, drop function. @internal */
export const ADMIN_OK = 'OK\r\n';

/**
 * One `ERR` line: `ERR <CODE> <text>\r\n`, spaces in the text written as `+` (gearmand's form);
 * no text → `ERR <CODE>\r\n`.
 * @internal
 */
export function formatErr(code: string, text?: string): string {
  return text === undefined || text === '' ? `ERR ${code}\r\n` : `ERR ${code} ${text.replace(/ /g, '+')}\r\n`;
}

/** `OK <value>\n`: version, getpid, verbose. @internal */
export function formatOkValue(value: string | number): string {
  return `OK ${value}\n`;
}

/** A listing: each row ended by `\n`, then `.\n`. @internal */
export function formatListing(rows: readonly string[]): string {
  return rows.length === 0 ? '.\n' : rows.join('\n') + '\n.\n';
}

/** `status` rows (`FUNC\tTOTAL\tRUNNING\tWORKERS`). @internal */
export function formatStatus(rows: readonly StatusRow[]): string {
  return formatListing(rows.map((r) => `${r.task}\t${r.queued}\t${r.running}\t${r.workers}`));
}

/** `prioritystatus` rows (`FUNC\tHIGH\tNORMAL\tLOW\tWORKERS`). @internal */
export function formatPriorityStatus(rows: readonly PriorityStatusRow[]): string {
  return formatListing(rows.map((r) => `${r.task}\t${r.high}\t${r.normal}\t${r.low}\t${r.workers}`));
}

/**
 * `workers` rows (`FD IP CLIENT_ID : FUNC FUNC...`; no trailing space without functions; `-` for
 * no client id).
 * @internal
 */
export function formatWorkers(rows: readonly WorkerRow[]): string {
  return formatListing(rows.map((r) => `${r.fileDescriptor} ${r.ip} ${r.clientId === '' ? '-' : r.clientId} :${r.tasks.map((t) => ' ' + t).join('')}`));
}

/** `show jobs` rows (`HANDLE\tRETRIES\tIGNORED\tQUEUED`). @internal */
export function formatJobs(rows: readonly JobRow[]): string {
  return formatListing(rows.map((r) => `${r.handle}\t${r.retries}\t${r.ignored}\t${r.stored}`));
}

/** `show unique jobs`: one unique per line, empty lines for jobs without one. @internal */
export function formatUniqueJobs(uniques: readonly string[]): string {
  return uniques.map((u) => u + '\n').join('') + '.\n';
}
