/**
 * Reads the embedded server's per-task counters (admin `counters`: `TASK\tSUBMITTED\tCOMPLETED\t
 * FAILED\tEXCEPTIONS` rows, then `.`). gearmand has no such command and answers
 * `ERR UNKNOWN_COMMAND`; that server is then not asked again. The admin client has no method for
 * a command beyond gearmand's, so this speaks the text protocol on its own socket.
 *
 * @module
 * @internal
 */
import net from 'node:net';
import type { TaskCounters } from './top-view.js';

function splitHost(server: string): { host: string; port: number } {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(server);
  if (v6) return { host: v6[1]!, port: Number(v6[2] ?? 4730) };
  const i = server.lastIndexOf(':');
  return i === -1 ? { host: server, port: 4730 } : { host: server.slice(0, i), port: Number(server.slice(i + 1)) };
}

/** Asks one server for its counters once per call; remembers servers that lack the command. @internal */
export class CountersReader {
  private readonly unsupported = new Set<string>();

  constructor(private readonly timeoutMs: number) {}

  /** The counters of `server`, or undefined (no such command, or no answer). */
  read(server: string): Promise<Map<string, TaskCounters> | undefined> {
    if (this.unsupported.has(server)) return Promise.resolve(undefined);
    const { host, port } = splitHost(server);
    return new Promise((resolve) => {
      const socket = net.connect({ host, port });
      let text = '';
      const done = (value: Map<string, TaskCounters> | undefined) => {
        socket.destroy();
        resolve(value);
      };
      socket.setTimeout(this.timeoutMs, () => done(undefined));
      socket.on('error', () => done(undefined));
      socket.on('connect', () => socket.write('counters\r\n'));
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        text += chunk;
        if (text.startsWith('ERR')) {
          if (text.includes('\n')) {
            this.unsupported.add(server);
            done(undefined);
          }
          return;
        }
        const end = text.startsWith('.\n') || text.startsWith('.\r\n') ? 0 : text.search(/\n\.\r?\n/);
        if (end === -1) return;
        const rows = new Map<string, TaskCounters>();
        for (const line of text.slice(0, end).split('\n')) {
          const cells = line.replace(/\r$/, '').split('\t');
          if (cells.length < 5) continue;
          const [task, submitted, completed, failed, exceptions] = cells as [string, string, string, string, string];
          rows.set(task, { submitted: Number(submitted), completed: Number(completed), failed: Number(failed), exceptions: Number(exceptions) });
        }
        done(rows);
      });
    });
  }
}
