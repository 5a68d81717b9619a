// Shared by the gearman-ts role processes (ts-client.mjs, ts-worker.mjs, ts-memory.mjs): option
// parsing and the line protocol bench/run.mjs reads on their stdout. The C program
// (bench/c/bench.c) speaks the same protocol:
//
//   start          the timed window begins (run.mjs samples CPU times now)
//   done {json}    it ended; the JSON holds at least { jobs, seconds }
//
// After `done` a role waits for its stdin to close, so run.mjs can still read its CPU time and
// peak RSS from /proc, then exits.

/** The same 32 bytes the C program sends. */
export const PAYLOAD = Buffer.from('0123456789abcdefghijklmnopqrstuv', 'latin1');
export const FUNCTION = 'echo';

/**
 * `--key value` pairs into an object; numeric values become numbers.
 * @param {string[]} argv
 * @returns {Record<string, string | number>}
 */
export function parseRoleArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i];
    const value = argv[i + 1];
    if (!key?.startsWith('--') || value === undefined) throw new Error(`bad arguments near ${key ?? '(end)'}: expected --key value pairs`);
    out[key.slice(2)] = /^\d+$/.test(value) ? Number(value) : value;
  }
  return out;
}

export function markStart() {
  process.stdout.write('start\n');
}

/**
 * Reports the result, waits until run.mjs closes stdin, then exits.
 * @param {Record<string, unknown>} result
 * @param {() => void} [cleanup]
 */
export async function finish(result, cleanup) {
  process.stdout.write(`done ${JSON.stringify(result)}\n`);
  await new Promise((resolve) => {
    process.stdin.on('end', resolve);
    process.stdin.on('error', resolve);
    process.stdin.resume();
  });
  cleanup?.();
  process.exit(0);
}

/** Nearest-rank percentile of sorted values (the same rule as the C program). */
export function percentile(sorted, p) {
  const n = sorted.length;
  if (n === 0) return NaN;
  const rank = Math.min(n, Math.max(1, Math.ceil(p * n)));
  return sorted[rank - 1];
}

/** Exit with a message on stderr (run.mjs shows it). */
export function fail(message) {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

/** So a profile (--cpu-prof) is written when run.mjs stops this process with SIGTERM. */
export function exitOnSigterm(cleanup) {
  process.on('SIGTERM', () => {
    try {
      cleanup?.();
    } finally {
      process.exit(0);
    }
  });
}
