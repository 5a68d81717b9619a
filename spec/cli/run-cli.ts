// Runs the built command-line tool (dist/cli/main.js) as a user would: `node dist/cli/main.js ...`.
// Run `npm run build` first; the specs fail loudly when the build is missing.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  stdoutBytes: Buffer;
}

function cliEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...process.env, NODE_DEBUG: '' };
  delete out.GEARMAN_SERVERS;
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete out[k];
    else out[k] = v;
  }
  return out;
}

function checkBuilt(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
}

/** A running `gearman-ts` process with its output so far. */
export class CliProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  private readonly chunks: Buffer[] = [];
  readonly exited: Promise<CliRun>;

  constructor(args: string[], options: { env?: Record<string, string | undefined>; input?: string | Buffer } = {}) {
    checkBuilt();
    this.child = spawn(process.execPath, [CLI, ...args], { cwd: root, env: cliEnv(options.env ?? {}), stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d: Buffer) => {
      this.chunks.push(d);
      this.stdout += d.toString('utf8');
    });
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString('utf8')));
    this.child.stdin!.on('error', () => {});
    if (options.input !== undefined) this.child.stdin!.end(options.input);
    else this.child.stdin!.end();
    this.exited = new Promise((resolve) => {
      this.child.on('close', (code, signal) => resolve({ code, signal, stdout: this.stdout, stderr: this.stderr, stdoutBytes: Buffer.concat(this.chunks) }));
    });
  }

  /** Resolves when stderr (or stdout) matches `pattern`; rejects if the process exits first. */
  async waitFor(pattern: RegExp, stream: 'stderr' | 'stdout' = 'stderr', timeoutMs = 20_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    void this.exited.then(() => (exited = true));
    for (;;) {
      const m = this[stream].match(pattern);
      if (m) return m;
      if (exited) throw new Error(`process exited before ${pattern} appeared on ${stream}:\nstdout: ${this.stdout}\nstderr: ${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`${pattern} did not appear on ${stream} within ${timeoutMs} ms:\nstderr: ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Sends `signal` and resolves with how the process ended. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<CliRun> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}

/** Runs `gearman-ts args...` to its end. */
export function runCli(args: string[], options: { env?: Record<string, string | undefined>; input?: string | Buffer } = {}): Promise<CliRun> {
  return new CliProcess(args, options).exited;
}
