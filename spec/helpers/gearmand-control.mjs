// Faults of a private gearmand started with ./gearmand.mjs: pause it (SIGSTOP, awaited until the
// kernel reports every thread stopped), resume it (SIGCONT), kill it (SIGKILL, awaited until it
// has exited) and restart it on the same port. Plain ESM, like gearmand.mjs, so that specs,
// examples and bench/soak.mjs can all import it without a build step.
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { startGearmand } from './gearmand.mjs';

/**
 * The scheduler states of every thread of `pid` (`R`, `S`, `T`, ... as in /proc/<pid>/task/<tid>/stat),
 * or null once the process is gone.
 * @param {number} pid
 * @returns {string[] | null}
 */
export function threadStates(pid) {
  let tids;
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return null;
  }
  const states = [];
  for (const tid of tids) {
    try {
      // The command name is in parentheses and may hold spaces: the state follows the last ') '.
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      states.push(stat.slice(stat.lastIndexOf(') ') + 2, stat.lastIndexOf(') ') + 3));
    } catch {
      // the thread ended between readdir and read
    }
  }
  return states;
}

/** @param {import('./gearmand.mjs').Gearmand} server */
function exited(server) {
  return server.child.exitCode !== null || server.child.signalCode !== null;
}

/**
 * Polls `predicate` (every 5 ms) until it holds; rejects after `timeoutMs` with `what`.
 * @param {() => boolean} predicate
 * @param {number} timeoutMs
 * @param {string} what
 */
async function until(predicate, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * Stops gearmand with SIGSTOP and resolves once the kernel reports every one of its threads
 * stopped (a signal takes effect asynchronously: until then its threads may still answer).
 * While paused it accepts connections (the kernel completes the handshake) and never answers.
 * @param {import('./gearmand.mjs').Gearmand} server
 * @param {number} [timeoutMs]
 * @returns {Promise<void>}
 */
export async function pauseGearmand(server, timeoutMs = 10_000) {
  if (exited(server)) throw new Error(`gearmand ${server.pid} on ${server.host} has exited; it cannot be paused`);
  process.kill(server.pid, 'SIGSTOP');
  await until(
    () => {
      const states = threadStates(server.pid);
      return states !== null && states.length > 0 && states.every((s) => s === 'T' || s === 't');
    },
    timeoutMs,
    `gearmand ${server.pid} on ${server.host} did not stop`,
  );
}

/**
 * Resumes a paused gearmand with SIGCONT and resolves once no thread is reported stopped; does
 * nothing if it has exited.
 * @param {import('./gearmand.mjs').Gearmand} server
 * @param {number} [timeoutMs]
 * @returns {Promise<void>}
 */
export async function resumeGearmand(server, timeoutMs = 10_000) {
  if (exited(server)) return;
  process.kill(server.pid, 'SIGCONT');
  await until(
    () => {
      const states = threadStates(server.pid);
      return states === null || states.every((s) => s !== 'T' && s !== 't');
    },
    timeoutMs,
    `gearmand ${server.pid} on ${server.host} did not resume`,
  );
}

/**
 * Kills gearmand with SIGKILL (paused or not: its queue is lost, as in a crash) and resolves once
 * it has exited and its run directory is removed.
 * @param {import('./gearmand.mjs').Gearmand} server
 * @returns {Promise<void>}
 */
export async function killGearmand(server) {
  if (!exited(server)) {
    const gone = new Promise((resolve) => server.child.once('exit', resolve));
    process.kill(server.pid, 'SIGKILL');
    await gone;
  }
  rmSync(server.dir, { recursive: true, force: true });
}

/**
 * Kills gearmand (if still running) and starts a new one on the same port, resolving once it
 * answers. A bind that fails because the port is not free yet is tried again, up to `attempts`
 * times.
 * @param {import('./gearmand.mjs').Gearmand} server
 * @param {{ args?: string[], threads?: number, attempts?: number }} [options]
 * @returns {Promise<import('./gearmand.mjs').Gearmand>}
 */
export async function restartGearmand(server, options = {}) {
  await killGearmand(server);
  const { attempts = 5, ...start } = options;
  let last;
  for (let i = 0; i < attempts; i++) {
    try {
      return await startGearmand({ ...start, port: server.port });
    } catch (err) {
      last = err;
    }
  }
  throw last;
}
