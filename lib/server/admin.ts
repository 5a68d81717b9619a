/**
 * The embedded server's admin text commands, answered byte for byte as gearmand 1.1.20 does
 * (protocol.md §3.2), with the formatters of `lib/protocol/admin.ts`. One extra command,
 * `counters`, lists per-task counters since start (gearmand answers it `ERR UNKNOWN_COMMAND`).
 *
 * @module
 * @internal
 */
import {
  ADMIN_OK,
  formatErr,
  formatJobs,
  formatListing,
  formatOkValue,
  formatPriorityStatus,
  formatStatus,
  formatUniqueJobs,
  formatWorkers,
} from '../protocol/admin.js';
import type { ServerConnection } from './connection.js';
import type { GearmanServer } from './server.js';
import { HIGH, LOW, NORMAL } from './jobs.js';

/** gearmand reads at most this many words of a line; a sixth closes the connection. */
const MAX_WORDS = 5;

function unknownCommand(word: string): string {
  return formatErr('UNKNOWN_COMMAND', `Unknown server command${word}`);
}

function incompleteArguments(word: string): string {
  return formatErr('INVALID_ARGUMENTS', `An incomplete set of arguments was sent to this command ${word}`);
}

/**
 * Answers one admin line on `conn`.
 * @internal
 */
export function runAdminCommand(server: GearmanServer, conn: ServerConnection, line: string): void {
  // A leading space makes an empty first word; runs of spaces collapse after it.
  const words = line.split(' ');
  const argv: string[] = [words[0]!];
  for (let i = 1; i < words.length; i++) if (words[i] !== '') argv.push(words[i]!);
  if (argv.length > MAX_WORDS) {
    conn.close('admin line with more than 5 words');
    return;
  }
  conn.sendText(answer(server, conn, argv));
}

function answer(server: GearmanServer, conn: ServerConnection, argv: string[]): string {
  const command = argv[0]!;
  const name = command.toLowerCase();
  const argc = argv.length;
  if (name === 'workers') {
    const rows = [...server.connections].map((c) => ({
      fileDescriptor: String(c.id),
      ip: c.ip,
      clientId: c.clientId === '' ? '-' : c.clientId,
      tasks: c.abilities.map((fn) => fn.name).reverse(),
    }));
    return formatWorkers(rows);
  }
  if (name === 'status') {
    return formatStatus([...server.functions.values()].map((fn) => ({ task: fn.name, queued: fn.total, running: fn.running, workers: fn.workers.size })));
  }
  if (name === 'prioritystatus') {
    return formatPriorityStatus(
      [...server.functions.values()].map((fn) => ({
        task: fn.name,
        high: fn.queuedCount(HIGH),
        normal: fn.queuedCount(NORMAL),
        low: fn.queuedCount(LOW),
        workers: fn.workers.size,
      })),
    );
  }
  if (name === 'counters') {
    return formatListing(
      [...server.functions.values()].map((fn) => `${fn.name}\t${fn.counters.submitted}\t${fn.counters.completed}\t${fn.counters.failed}\t${fn.counters.exceptions}`),
    );
  }
  if (argc >= 3 && name === 'cancel') {
    if (argc === 3 && argv[1]!.toLowerCase() === 'job') return server.cancelJob(argv[2]!) ? ADMIN_OK : formatErr('UNKNOWN_JOB');
    return formatErr('UNKNOWN_ERROR');
  }
  if (argc >= 2 && name === 'show') {
    const what = argv[1]!.toLowerCase();
    if (argc === 3 && what === 'unique' && argv[2]!.toLowerCase() === 'jobs') {
      const uniques: string[] = [];
      for (const job of server.jobs.values()) uniques.push(job.unique);
      return formatUniqueJobs(uniques);
    }
    if (argc === 2 && what === 'jobs') {
      return formatJobs([...server.jobs.values()].map((job) => ({ handle: job.handle, retries: job.retries, ignored: job.ignored ? 1 : 0, queued: job.stored ? 1 : 0 })));
    }
    return formatErr('UNKNOWN_SHOW_ARGUMENTS');
  }
  if (name === 'create') {
    if (argc === 3 && argv[1]!.toLowerCase() === 'function') {
      server.ensureFunction(argv[2]!);
      return ADMIN_OK;
    }
    return incompleteArguments(command);
  }
  if (name === 'drop') {
    if (argc === 3 && argv[1]!.toLowerCase() === 'function') {
      const wanted = argv[2]!.toLowerCase();
      for (const fn of server.functions.values()) {
        if (fn.name.toLowerCase() !== wanted) continue;
        if (fn.workers.size !== 0 || fn.running !== 0) return 'ERR there are still connected workers or executing clients\r\n';
        server.dropFunction(fn);
        return ADMIN_OK;
      }
      return 'ERR function not found\r\n';
    }
    return incompleteArguments(command);
  }
  if (name === 'maxqueue') {
    if (argc === 1) return incompleteArguments(command);
    const limits: [number, number, number] = [0, 0, 0];
    for (let p = 0; p < 3; p++) limits[p] = argc > p + 2 ? Math.max(0, atoi(argv[p + 2]!)) : 0;
    // One number applies to every priority.
    if (argc <= 3) limits[1] = limits[2] = limits[0];
    const fn = server.functions.get(argv[1]!);
    if (fn !== undefined) fn.maxQueue = limits;
    return ADMIN_OK;
  }
  if (name === 'getpid') return formatOkValue(process.pid);
  if (name === 'verbose') return formatOkValue('INFO');
  if (name === 'version') return formatOkValue(server.version);
  if (name === 'shutdown' && server.allowShutdown && argc <= 2) {
    const graceful = argc === 2 && argv[1]!.toLowerCase() === 'graceful';
    if (argc === 1 || graceful) {
      server.shutdown(graceful);
      return 'OK\n';
    }
  }
  void conn;
  return unknownCommand(command);
}

/** C's atoi: leading whitespace, an optional sign, digits; anything else stops (0 if none). */
function atoi(text: string): number {
  const m = /^\s*([+-]?\d+)/.exec(text);
  if (m === null) return 0;
  const n = Number.parseInt(m[1]!, 10);
  return Math.max(-2147483648, Math.min(2147483647, n));
}
