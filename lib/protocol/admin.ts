/**
 * The text admin protocol: command lines and the parsers of gearmand's answers
 * (protocol.md §3). Lines end in `\n` (listings, `version`, `getpid`) or `\r\n` (`OK` of
 * `maxqueue` and `cancel job`, every `ERR`); the decoder strips either ending. A listing ends with
 * a `.` line; an error is one `ERR <code> <text>` line (text with `+` for spaces) and replaces the
 * whole listing, `.` included.
 *
 * Ported from python-gearman's `protocol.py` (text commands) and `admin_client_handler.py`
 * (`recv_server_*` parsers), with typed rows and `ERR` recognised.
 *
 * @module
 */
import { GearmanError, ProtocolError, ServerError } from '../errors.js';

/** How an admin command is answered: one line, or lines up to a `.` line. */
export type AdminResponseKind = 'line' | 'list';

/** One row of `status` (python-gearman's `get_status()` dict). */
export interface StatusRow {
  /** The function name. */
  task: string;
  /** Jobs queued or running (gearmand's TOTAL column). */
  queued: number;
  /** Jobs a worker is running. */
  running: number;
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

/** One row of `show jobs` (gearmand 1.1's columns). */
export interface JobRow {
  /** The job handle. */
  handle: string;
  /** Times the job was re-queued (worker lost, timeout). */
  retries: number;
  /** 1 once cancelled or abandoned by its foreground client, else 0. */
  ignored: number;
  /** 1 for background jobs (they go through the queue store), 0 for foreground ones. */
  queued: number;
}

/**
 * Longest admin line gearmand reads, newline included (protocol.md §1.2: a longer line closes the
 * connection).
 */
export const MAX_ADMIN_LINE_BYTES = 8192;

/** ASCII whitespace and NUL: gearmand splits admin lines on spaces and ends them at `\n`. */
const UNSAFE_WORD = /[\0\t\n\v\f\r ]/;

/**
 * Checks one argument of an admin command line (a task name, a job handle): a space would split it
 * into two words, a line break would end the command and start another one, a NUL would make the
 * server read a binary packet.
 *
 * @param value - the argument
 * @param name - what it is, for the message (`'task'`, `'handle'`)
 * @returns `value`
 * @throws {@link GearmanError} (code `'INVALID_ARGUMENT'`) for a non-string, an empty string, or
 * one with whitespace or NUL
 * @internal
 */
export function checkAdminWord(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new GearmanError(`${name} must be a non-empty string, got ${describe(value)}`, { code: 'INVALID_ARGUMENT' });
  }
  if (UNSAFE_WORD.test(value)) {
    throw new GearmanError(
      `${name} ${JSON.stringify(value)} contains whitespace, a line break or NUL, which the admin text protocol cannot carry`,
      { code: 'INVALID_ARGUMENT' },
    );
  }
  return value;
}

/**
 * Checks an integer argument of an admin command (`maxqueue`'s size).
 *
 * @returns `value` as decimal text
 * @throws {@link GearmanError} (code `'INVALID_ARGUMENT'`) for anything but a safe integer
 * @internal
 */
export function checkAdminInteger(value: unknown, name: string): string {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new GearmanError(`${name} must be an integer, got ${describe(value)}`, { code: 'INVALID_ARGUMENT' });
  }
  return String(value);
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : typeof value === 'number' ? String(value) : typeof value;
}

/**
 * Builds an admin command line, `\r\n`-terminated as `gearadmin` sends it (with a bare `\n`,
 * gearmand 1.1 drops the last character of some arguments: protocol.md §3.1).
 *
 * @param words - the command and its arguments, already checked with {@link checkAdminWord}
 * @returns the line
 * @throws {@link GearmanError} (code `'INVALID_ARGUMENT'`) if the line is longer than
 * {@link MAX_ADMIN_LINE_BYTES}
 * @internal
 */
export function adminLine(...words: string[]): string {
  const line = words.join(' ') + '\r\n';
  const bytes = Buffer.byteLength(line);
  if (bytes > MAX_ADMIN_LINE_BYTES) {
    throw new GearmanError(`admin command '${words[0]}' would be ${bytes} bytes; gearmand reads lines of at most ${MAX_ADMIN_LINE_BYTES}`, {
      code: 'INVALID_ARGUMENT',
    });
  }
  return line;
}

/** `ERR`, a code, optionally one `+`-encoded text word (gearmand), optionally a trailing space (Perl). */
const STRICT_ERR = /^ERR ([^\s]+)(?: ([^\s]*))?$/;

/**
 * Tells whether a line is an `ERR` answer.
 *
 * One-line commands are never answered with a line starting `ERR ` unless it is an error. In a
 * listing only the first line can be one, and a listing row could start with `ERR ` too (a unique
 * such as `ERR X`), so there the strict shape of gearmand's and the Perl server's error lines is
 * required: a code and at most one `+`-encoded word, no tab.
 *
 * @param line - the line, without its line ending
 * @param strict - the line is the first line of a listing
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

function integer(field: string, what: string, line: string): number {
  if (!/^-?\d+$/.test(field)) {
    throw new ProtocolError(`${what}: expected an integer, got ${JSON.stringify(field)} in line ${JSON.stringify(line)}`);
  }
  return Number(field);
}

function tabFields(line: string, what: string, count: number): string[] {
  const fields = line.split('\t');
  if (fields.length !== count) {
    throw new ProtocolError(`${what}: expected ${count} tab-separated fields, got ${fields.length} in ${JSON.stringify(line)}`);
  }
  return fields;
}

/**
 * Parses the lines of `status` (`TASK\tTOTAL\tRUNNING\tWORKERS`).
 *
 * @example
 * ```ts
 * parseStatus(['resize\t3\t0\t1']); // [{ task: 'resize', queued: 3, running: 0, workers: 1 }]
 * ```
 *
 * @param lines - the listing without its `.` line
 * @throws {@link ProtocolError} for a line that is not 4 tab-separated fields ending in 3 integers
 */
export function parseStatus(lines: readonly string[]): StatusRow[] {
  return lines.map((line) => {
    const f = tabFields(line, 'status', 4);
    return { task: f[0]!, queued: integer(f[1]!, 'status', line), running: integer(f[2]!, 'status', line), workers: integer(f[3]!, 'status', line) };
  });
}

/**
 * Parses the lines of `workers`: `FD IP CLIENT_ID : TASK TASK…`.
 *
 * The client id is printed unescaped, so it may contain spaces (or be empty: `FD IP  : …`). The
 * separator taken is the last `:` that stands alone as a word, so an id like `a : b` parses; a task
 * named `:` on a connection does not (the protocol cannot tell them apart).
 *
 * @example
 * ```ts
 * parseWorkers(['38 127.0.0.1 worker 1 : email resize', '39 127.0.0.1 - :']);
 * // [{ fileDescriptor: '38', ip: '127.0.0.1', clientId: 'worker 1', tasks: ['email', 'resize'] },
 * //  { fileDescriptor: '39', ip: '127.0.0.1', clientId: '-', tasks: [] }]
 * ```
 *
 * @param lines - the listing without its `.` line
 * @throws {@link ProtocolError} for a line without the fields or the ` : ` separator
 */
export function parseWorkers(lines: readonly string[]): WorkerRow[] {
  return lines.map((line) => {
    const first = line.indexOf(' ');
    const second = first === -1 ? -1 : line.indexOf(' ', first + 1);
    if (first <= 0 || second === -1) throw new ProtocolError(`workers: malformed line ${JSON.stringify(line)}`);
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
    if (sep === -1) throw new ProtocolError(`workers: no ' : ' separator in ${JSON.stringify(line)}`);
    const clientId = rest.slice(0, Math.max(0, sep - 1));
    const tasks = rest.slice(sep + 1).split(' ').filter((t) => t.length > 0);
    return { fileDescriptor: line.slice(0, first), ip: line.slice(first + 1, second), clientId, tasks };
  });
}

/**
 * Parses the lines of `show jobs` (`HANDLE\tRETRIES\tIGNORED\tQUEUED`, gearmand 1.1).
 *
 * @example
 * ```ts
 * parseJobs(['H:vm:4\t0\t1\t0']); // [{ handle: 'H:vm:4', retries: 0, ignored: 1, queued: 0 }]
 * ```
 *
 * @param lines - the listing without its `.` line
 * @throws {@link ProtocolError} for a line that is not 4 tab-separated fields ending in 3 integers
 */
export function parseJobs(lines: readonly string[]): JobRow[] {
  return lines.map((line) => {
    const f = tabFields(line, 'show jobs', 4);
    return { handle: f[0]!, retries: integer(f[1]!, 'show jobs', line), ignored: integer(f[2]!, 'show jobs', line), queued: integer(f[3]!, 'show jobs', line) };
  });
}

/**
 * Parses the lines of `show unique jobs`: one unique per job, `''` for a job submitted without one
 * (gearmand prints an empty line).
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

/** One row of `prioritystatus`: counts of queued (not running) jobs per priority. @internal */
export interface PriorityStatusRow {
  task: string;
  high: number;
  normal: number;
  low: number;
  workers: number;
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
  return formatListing(rows.map((r) => `${r.handle}\t${r.retries}\t${r.ignored}\t${r.queued}`));
}

/** `show unique jobs`: one unique per line, empty lines for jobs without one. @internal */
export function formatUniqueJobs(uniques: readonly string[]): string {
  return uniques.map((u) => u + '\n').join('') + '.\n';
}
