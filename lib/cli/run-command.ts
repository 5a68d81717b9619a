/**
 * Runs one command for one job: the job's data on its stdin, its stdout collected, its stderr
 * split into lines as they come. stdin is written while stdout and stderr are read, so payloads of
 * any size pass without the pipe deadlock of a runner that writes everything before reading.
 *
 * @module
 * @internal
 */
import { spawn, type ChildProcess } from 'node:child_process';

/** How a command ended. @internal */
export interface CommandOutcome {
  /** Exit status, or null when a signal ended it. */
  code: number | null;
  /** The signal that ended it, if any. */
  signal: NodeJS.Signals | null;
  /** Everything it wrote to stdout. */
  stdout: Buffer;
  /** The last {@link TAIL_BYTES} of what it wrote to stderr. */
  stderrTail: string;
  /** Set when it could not be started (e.g. ENOENT). */
  spawnError?: Error;
}

/** Bytes of stderr kept for the failure message. @internal */
export const TAIL_BYTES = 2048;

/** Running commands, so a hard stop can end them. @internal */
export const runningChildren = new Set<ChildProcess>();

/**
 * Spawns `command args`, feeds `input`, resolves when it has exited and its pipes are drained.
 * @param abortSignal - aborting it sends the command SIGTERM
 * @param onStderrLine - called per complete stderr line (without its newline), and once for a
 * last line without one
 * @internal
 */
export function runCommand(
  command: string,
  args: string[],
  input: Uint8Array,
  env: NodeJS.ProcessEnv,
  abortSignal: AbortSignal | undefined,
  onStderrLine: (line: string) => void,
): Promise<CommandOutcome> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let tail = Buffer.alloc(0);
    let partial = '';
    let child: ChildProcess;
    try {
      child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
    } catch (err) {
      resolve({ code: null, signal: null, stdout: Buffer.alloc(0), stderrTail: '', spawnError: err as Error });
      return;
    }
    runningChildren.add(child);
    // The job was aborted (a stop's grace period passed, or shutdown): end its command too.
    const onAbort = () => child.kill('SIGTERM');
    if (abortSignal?.aborted) onAbort();
    else abortSignal?.addEventListener('abort', onAbort, { once: true });
    let spawnError: Error | undefined;
    child.on('error', (err) => {
      spawnError ??= err;
    });
    // A command that exits without reading its stdin makes the write fail with EPIPE: not an error
    // of the job by itself (its exit status says how it went).
    child.stdin!.on('error', () => {});
    child.stdout!.on('data', (d: Buffer) => chunks.push(d));
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      const bytes = Buffer.from(d);
      tail = bytes.length >= TAIL_BYTES ? bytes.subarray(bytes.length - TAIL_BYTES) : Buffer.concat([tail, bytes]).subarray(-TAIL_BYTES);
      partial += d;
      let nl: number;
      while ((nl = partial.indexOf('\n')) !== -1) {
        onStderrLine(partial.slice(0, nl).replace(/\r$/, ''));
        partial = partial.slice(nl + 1);
      }
    });
    child.on('close', (code, signal) => {
      runningChildren.delete(child);
      abortSignal?.removeEventListener('abort', onAbort);
      if (partial !== '') onStderrLine(partial);
      resolve({ code, signal, stdout: Buffer.concat(chunks), stderrTail: tail.toString('utf8').replace(/^\uFFFD+/, '').trim(), spawnError });
    });
    child.stdin!.end(input);
  });
}
