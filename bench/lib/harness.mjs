// Process handling for bench/run.mjs: spawning the role processes, reading their line protocol
// (see lib/role.mjs), CPU and peak RSS from /proc, the gearmand admin `status` command, and
// cleanup of everything this run started (by pid, never by name).
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import readline from 'node:readline';

/** Clock ticks per second for /proc/<pid>/stat times. */
export const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * utime + stime of a process (all its threads), in seconds, or null if it is gone.
 * @param {number} pid
 */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); utime is field 14, stime field 15.
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return null;
  }
}

/**
 * Peak resident set size (VmHWM) in MiB, or null if the process is gone.
 * @param {number} pid
 */
export function peakRssMiB(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** Every child this run started, so that an interrupted run leaves nothing behind. */
const live = new Set();

function killAll() {
  for (const child of live) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}

/** Registers a child (a gearmand started by startGearmand, say) for cleanup on exit. */
export function track(child) {
  live.add(child);
  child.once('exit', () => live.delete(child));
}

process.once('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, () => {
    killAll();
    process.exit(130);
  });
}

/**
 * A role process (C program or a bench/ts-*.mjs script) and its stdout lines.
 */
export class RoleProcess {
  /**
   * @param {string} label  for messages
   * @param {string} command
   * @param {string[]} args
   * @param {{ cwd?: string, env?: NodeJS.ProcessEnv }} [options]
   */
  constructor(label, command, args, options = {}) {
    this.label = label;
    this.child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.pid = this.child.pid;
    track(this.child);
    this.stderr = '';
    this.lines = [];
    this.waiters = [];
    this.exitCode = undefined;
    this.child.stderr.on('data', (d) => {
      this.stderr += d;
      if (this.stderr.length > 20_000) this.stderr = this.stderr.slice(-20_000);
    });
    this.child.stdin.on('error', () => {});
    readline.createInterface({ input: this.child.stdout }).on('line', (line) => {
      this.lines.push(line);
      this.pump();
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exitCode = code ?? signal;
        resolve(this.exitCode);
        // Let readline deliver what is still buffered, then fail the waiters left.
        setImmediate(() => this.pump());
      });
    });
  }

  pump() {
    while (this.waiters.length > 0) {
      const waiter = this.waiters[0];
      const i = this.lines.findIndex((line) => line === waiter.prefix || line.startsWith(`${waiter.prefix} `));
      if (i !== -1) {
        const line = this.lines[i];
        this.lines.splice(0, i + 1);
        this.waiters.shift();
        clearTimeout(waiter.timer);
        waiter.resolve(line);
        continue;
      }
      if (this.exitCode !== undefined) {
        this.waiters.shift();
        clearTimeout(waiter.timer);
        waiter.reject(new Error(`${this.label} exited (${this.exitCode}) before printing "${waiter.prefix}"${this.stderr ? `:\n${this.stderr.trim()}` : ''}`));
        continue;
      }
      break;
    }
  }

  /**
   * The next line that is `prefix` or starts with `prefix `.
   * @param {string} prefix
   * @param {number} timeoutMs
   * @returns {Promise<string>}
   */
  waitFor(prefix, timeoutMs) {
    return new Promise((resolve, reject) => {
      const waiter = { prefix, resolve, reject, timer: undefined };
      waiter.timer = setTimeout(() => {
        const i = this.waiters.indexOf(waiter);
        if (i !== -1) this.waiters.splice(i, 1);
        reject(new Error(`${this.label}: no "${prefix}" within ${Math.round(timeoutMs / 1000)} s${this.stderr ? `:\n${this.stderr.trim()}` : ''}`));
      }, timeoutMs);
      this.waiters.push(waiter);
      this.pump();
    });
  }

  /** Lets a role that printed `done` exit. */
  closeStdin() {
    this.child.stdin.end();
  }

  /** Stops it by pid: stdin closed, SIGTERM, SIGKILL after `graceMs`. */
  async stop(graceMs = 5000) {
    if (this.exitCode !== undefined) return this.exitCode;
    this.closeStdin();
    const soft = setTimeout(() => this.child.kill('SIGTERM'), 200);
    const hard = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const code = await this.exited;
    clearTimeout(soft);
    clearTimeout(hard);
    return code;
  }
}

/**
 * The admin `status` table of gearmand.
 * @param {number} port
 * @returns {Promise<Map<string, { queued: number, running: number, workers: number }>>}
 */
export function adminStatus(port, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let buf = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`gearmand on port ${port} did not answer "status" within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('connect', () => socket.write('status\r\n'));
    socket.on('data', (d) => {
      buf += d;
      if (/(^|\n)\.\r?\n$/.test(buf)) {
        clearTimeout(timer);
        socket.destroy();
        const rows = new Map();
        for (const line of buf.split('\n')) {
          const cols = line.replace(/\r$/, '').split('\t');
          if (cols.length === 4) rows.set(cols[0], { queued: Number(cols[1]), running: Number(cols[2]), workers: Number(cols[3]) });
        }
        resolve(rows);
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/**
 * Polls `check` every 20 ms until it returns true.
 * @param {() => Promise<boolean> | boolean} check
 * @param {number} timeoutMs
 * @param {string} what  for the error
 */
export async function waitUntil(check, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Median of numbers (mean of the two middle ones for an even count); null for none. */
export function median(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

function cpuTimes() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = v[3] + (v[4] ?? 0);
  return { idle, total: v.reduce((a, b) => a + b, 0) };
}

/**
 * Share of the whole machine's CPU time that was idle over the next `ms` milliseconds (0..1).
 * @param {number} ms
 */
export async function idleShare(ms = 1000) {
  const a = cpuTimes();
  await new Promise((r) => setTimeout(r, ms));
  const b = cpuTimes();
  return b.total === a.total ? 1 : (b.idle - a.idle) / (b.total - a.total);
}
