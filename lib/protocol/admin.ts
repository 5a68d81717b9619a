/**
 * The text admin protocol: command lines and the parsers of gearmand's answers
 * (protocol.md §3: lines end in `\n` or `\r\n`; listings end with a `.` line; errors are one
 * `ERR <code> <text>` line with `+` for spaces, and end a listing too).
 *
 * @module
 */
import { GearmanError, ProtocolError, ServerError } from '../errors.js';

/** How an admin command is answered. */
export type AdminResponseKind = 'line' | 'list';

/** One row of `status`. */
export interface StatusRow {
  task: string;
  /** Jobs queued or running (gearmand's TOTAL). */
  queued: number;
  running: number;
  /** Connections that registered the task. */
  workers: number;
}

/** One row of `workers`. */
export interface WorkerRow {
  fileDescriptor: string;
  ip: string;
  /** The client id, `-` when unset. */
  clientId: string;
  tasks: string[];
}

/** One row of `show jobs` (gearmand 1.1's columns). */
export interface JobRow {
  handle: string;
  /** Times the job was re-queued. */
  retries: number;
  /** 1 once cancelled or abandoned by its foreground client. */
  ignored: number;
  /** 1 for background jobs. */
  queued: number;
}

/**
 * Checks one word of an admin command line: gearmand splits lines on spaces and reads at most
 * 5 words, so a word with whitespace or a line break would change the command.
 *
 * @throws {@link GearmanError} (code `'INVALID_ARGUMENT'`) naming the argument
 * @internal
 */
export function checkAdminWord(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new GearmanError(`${name} must be a non-empty string, got ${JSON.stringify(value)}`, { code: 'INVALID_ARGUMENT' });
  }
  if (/[\s\0]/.test(value)) {
    throw new GearmanError(`${name} ${JSON.stringify(value)} contains whitespace or NUL, which the admin text protocol cannot carry`, { code: 'INVALID_ARGUMENT' });
  }
  if (value.length > 4000) throw new GearmanError(`${name} is ${value.length} characters; gearmand reads admin lines of at most 8 KiB`, { code: 'INVALID_ARGUMENT' });
  return value;
}

/** An admin command line, `\r\n`-terminated as `gearadmin` sends it. @internal */
export function adminLine(...words: string[]): string {
  return words.join(' ') + '\r\n';
}

/**
 * Parses an `ERR <code> <text>` line.
 *
 * @returns the error, or `undefined` if the line is not an error line
 */
export function parseErrLine(line: string, where: string): ServerError | undefined {
  if (line !== 'ERR' && !line.startsWith('ERR ')) return undefined;
  const rest = line.slice(4);
  const space = rest.indexOf(' ');
  const code = space === -1 ? rest : rest.slice(0, space);
  const text = space === -1 ? '' : rest.slice(space + 1).replace(/\+/g, ' ');
  return new ServerError(`${where}: server answered ERR ${code}${text ? ': ' + text : ''}`, code, text);
}

function integer(field: string, what: string, line: string): number {
  if (!/^-?\d+$/.test(field)) throw new ProtocolError(`${what}: expected an integer, got ${JSON.stringify(field)} in line ${JSON.stringify(line)}`);
  return Number(field);
}

/**
 * Parses the lines of `status`.
 * @throws {@link ProtocolError} for a line that is not 4 tab-separated fields with numbers
 */
export function parseStatus(lines: string[]): StatusRow[] {
  return lines.map((line) => {
    const f = line.split('\t');
    if (f.length !== 4) throw new ProtocolError(`status: expected 4 tab-separated fields, got ${f.length} in ${JSON.stringify(line)}`);
    return { task: f[0]!, queued: integer(f[1]!, 'status', line), running: integer(f[2]!, 'status', line), workers: integer(f[3]!, 'status', line) };
  });
}

/**
 * Parses the lines of `workers`: `FD IP CLIENT_ID : TASK TASK…`. A client id may contain spaces,
 * so the separator is the last ` :` that ends the line or is followed by a space.
 * @throws {@link ProtocolError} for a malformed line
 */
export function parseWorkers(lines: string[]): WorkerRow[] {
  return lines.map((line) => {
    const first = line.indexOf(' ');
    const second = first === -1 ? -1 : line.indexOf(' ', first + 1);
    if (first <= 0 || second === -1) throw new ProtocolError(`workers: malformed line ${JSON.stringify(line)}`);
    const rest = line.slice(second + 1);
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
 * Parses the lines of `show jobs`.
 * @throws {@link ProtocolError} for a line that is not 4 tab-separated fields with numbers
 */
export function parseJobs(lines: string[]): JobRow[] {
  return lines.map((line) => {
    const f = line.split('\t');
    if (f.length !== 4) throw new ProtocolError(`show jobs: expected 4 tab-separated fields, got ${f.length} in ${JSON.stringify(line)}`);
    return { handle: f[0]!, retries: integer(f[1]!, 'show jobs', line), ignored: integer(f[2]!, 'show jobs', line), queued: integer(f[3]!, 'show jobs', line) };
  });
}

/** Strips gearmand's `OK ` prefix from a one-line answer. */
export function stripOk(line: string): string {
  return line === 'OK' ? '' : line.startsWith('OK ') ? line.slice(3) : line;
}
