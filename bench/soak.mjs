// Soak: foreground and background jobs through one client and two worker processes while a
// private gearmand is SIGKILLed and restarted on the same port, again and again. Prints how every
// request ended and exits non-zero if any is unaccounted for, wrong, or hanging. Not a timed test:
// see bench/README.md ("Soak") for what it checks and what "lost" means.
//
//   npm run build && node bench/soak.mjs [--fg N] [--bg N] [--kills K] ... (--help)
//
// Uses the built package (dist/) through its published name, as the workers do.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  ExceededConnectionAttempts,
  GearmanAdminClient,
  GearmanClient,
  GearmanJob,
  GearmanJobRequest,
  JOB_COMPLETE,
  JOB_CREATED,
  JOB_FAILED,
  JOB_UNKNOWN,
} from 'gearman-ts';
import { startGearmand } from '../spec/helpers/gearmand.mjs';
import { killGearmand, restartGearmand } from '../spec/helpers/gearmand-control.mjs';
import { BG_TASK, FG_TASK, resultFor } from './lib/soak-common.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));

const DEFAULTS = {
  fg: 8000,
  bg: 8000,
  kills: 5,
  inflight: 100,
  batch: 25,
  backlog: 50,
  size: 64,
  'work-ms': 4,
  'down-ms': 300,
  'max-retries': 5,
  rounds: 20,
  'poll-timeout': 10,
  bound: 60,
  threads: 4,
};

const HELP = `usage: node bench/soak.mjs [options]   (after npm run build)

  --fg N            foreground jobs (submitJob, ${DEFAULTS.inflight} in flight)       default ${DEFAULTS.fg}
  --bg N            background jobs (submitMultipleRequests in batches)  default ${DEFAULTS.bg}
  --kills K         times gearmand is SIGKILLed and restarted            default ${DEFAULTS.kills}
  --inflight P      foreground calls in flight at once                   default ${DEFAULTS.inflight}
  --batch B         background jobs per submission                       default ${DEFAULTS.batch}
  --backlog N       submit the next batch once gearmand queues at most N
                    background jobs (0: no pacing)                       default ${DEFAULTS.backlog}
  --size BYTES      payload size of every job                            default ${DEFAULTS.size}
  --work-ms MS      a worker takes up to MS per job (random)             default ${DEFAULTS['work-ms']}
  --down-ms MS      gearmand stays down MS after each kill               default ${DEFAULTS['down-ms']}
  --max-retries R   maxRetries of every submission                       default ${DEFAULTS['max-retries']}
  --rounds N        re-submissions per request before giving up          default ${DEFAULTS.rounds}
  --poll-timeout S  pollTimeout of every call, seconds                   default ${DEFAULTS['poll-timeout']}
  --bound S         a request not settled S seconds after its first
                    submission is hanging (the soak fails)               default ${DEFAULTS.bound}
  --threads N       gearmand --threads                                   default ${DEFAULTS.threads}
`;

function parseArgs(argv) {
  const o = { ...DEFAULTS };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      process.stdout.write(HELP);
      process.exit(0);
    }
    const key = arg.startsWith('--') ? arg.slice(2) : undefined;
    const value = argv[i + 1];
    if (key === undefined || !(key in DEFAULTS) || value === undefined || !Number.isFinite(Number(value)) || Number(value) < 0) {
      process.stderr.write(`soak: bad argument near ${arg}\n\n${HELP}`);
      process.exit(2);
    }
    o[key] = Number(value);
    i++;
  }
  if (o.inflight < 1 || o.batch < 1) {
    process.stderr.write('soak: --inflight and --batch must be at least 1\n');
    process.exit(2);
  }
  return o;
}

const o = parseArgs(process.argv.slice(2));
const t0 = performance.now();
const elapsed = () => (performance.now() - t0) / 1000;
const log = (line) => process.stderr.write(`[${elapsed().toFixed(1).padStart(6)} s] ${line}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A payload of `--size` bytes that starts with the job's name, so the worker logs name it. */
function payload(name) {
  const pad = Math.max(0, o.size - name.length - 1);
  return `${name}:${randomBytes(Math.ceil(pad / 2)).toString('hex').slice(0, pad)}`;
}

// ------------------------------------------------------------------------------------------------
// gearmand, workers, client

const runDir = mkdtempSync(join(tmpdir(), 'gearman-soak-'));
let server = await startGearmand({ threads: o.threads });
const host = server.host;
log(`gearmand ${server.version} pid ${server.pid} on ${host}; worker logs in ${runDir}`);

const workers = [1, 2].map((id) => {
  const file = join(runDir, `worker-${id}.log`);
  const child = spawn(process.execPath, [join(HERE, 'lib', 'soak-worker.mjs'), host, file, String(id), String(o['work-ms'])], {
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  const w = { id, file, child, stderr: '', exit: undefined, stopping: false };
  child.stderr.on('data', (d) => (w.stderr += d));
  child.on('exit', (code, signal) => {
    w.exit = { code, signal };
    if (!w.stopping) log(`worker ${id} exited unexpectedly (code ${code}, signal ${signal}): ${w.stderr.slice(-2000)}`);
  });
  return w;
});

// Interrupted: stop what the soak started (by pid), then exit.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    for (const w of workers) if (w.exit === undefined) w.child.kill('SIGKILL');
    if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
    rmSync(runDir, { recursive: true, force: true });
    rmSync(server.dir, { recursive: true, force: true });
    process.exit(130);
  });
}

const admin = () => new GearmanAdminClient([host], { pollTimeout: 2 });

/** Resolves once gearmand lists `n` connections that registered both tasks. */
async function workersRegistered(n, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const a = admin();
    try {
      const rows = await a.getWorkers();
      if (rows.filter((r) => r.tasks.includes(FG_TASK) && r.tasks.includes(BG_TASK)).length >= n) return;
    } catch {
      // not up yet
    } finally {
      a.shutdown();
    }
    if (Date.now() > deadline) throw new Error(`${n} workers did not register within ${timeoutMs} ms`);
    await sleep(50);
  }
}

await workersRegistered(2);
log('2 worker processes registered');

const client = new GearmanClient([host]);

// ------------------------------------------------------------------------------------------------
// Kills

let kills = 0;
const killLog = [];
let progress = 0; // foreground jobs settled + background jobs accepted
const total = o.fg + o.bg;

async function killer() {
  for (let k = 1; k <= o.kills; k++) {
    // Spread the kills over the run: kill k comes once k/(kills+1) of the work is through.
    const target = Math.floor((total * k) / (o.kills + 1));
    while (progress < target && !mainDone) await sleep(5);
    if (mainDone) break;
    const at = elapsed();
    kills++;
    await killGearmand(server);
    log(`kill ${k}: SIGKILL gearmand pid ${server.pid} (${progress}/${total} through)`);
    await sleep(o['down-ms']);
    const restartAt = performance.now();
    server = await restartGearmand(server, { threads: o.threads });
    killLog.push({ k, at, restartMs: performance.now() - restartAt });
    log(`kill ${k}: gearmand back, pid ${server.pid}, same port`);
  }
}

// ------------------------------------------------------------------------------------------------
// Requests and how they ended

/** @type {Map<string, { kind: 'fg' | 'bg', start: number, end?: number, outcome?: string, detail?: string, resubmits: number, attempts?: number, createdAtKill?: number }>} */
const jobs = new Map();
let mainDone = false;
/** Set when the soak stops waiting (hanging requests): no new request is started after it. */
let stopping = false;

/** Re-submission delay: the server may be down for a while (the recovery recipe's back-off). */
const backoff = (round) => Math.min(1000, 50 * 2 ** round);

/** One round of the docs' recovery recipe: re-submit with submitMultipleRequests. */
async function resubmit(requests, waitUntilComplete) {
  try {
    return { requests: await client.submitMultipleRequests(requests, { waitUntilComplete, pollTimeout: o['poll-timeout'] }) };
  } catch (err) {
    return { error: err, requests: err?.requests };
  }
}

function isDone(request) {
  return request.background ? request.state === JOB_CREATED || request.complete : request.state === JOB_COMPLETE || request.state === JOB_FAILED;
}

async function foreground(i) {
  const name = `fg${i}`;
  const data = payload(name);
  const rec = { kind: 'fg', start: performance.now(), resubmits: 0 };
  jobs.set(name, rec);
  let request;
  let lastError;
  try {
    request = await client.submitJob(FG_TASK, data, { maxRetries: o['max-retries'], pollTimeout: o['poll-timeout'] });
  } catch (err) {
    lastError = err;
    request = err?.requests?.[0];
    if (request === undefined) {
      settle(rec, 'unaccounted', `submitJob rejected without error.requests: ${err?.name}: ${err?.message}`);
      return;
    }
  }
  while (!isDone(request) && rec.resubmits < o.rounds) {
    if (lastError instanceof ExceededConnectionAttempts) break;
    await sleep(backoff(rec.resubmits));
    rec.resubmits++;
    const r = await resubmit([request], true);
    lastError = r.error;
    if (r.requests?.[0] !== undefined) request = r.requests[0];
    else if (r.error !== undefined && !(r.error instanceof ExceededConnectionAttempts)) {
      settle(rec, 'unaccounted', `submitMultipleRequests rejected without error.requests: ${r.error?.name}: ${r.error?.message}`);
      return;
    }
  }
  rec.attempts = request.connectionAttempts;
  if (request.state === JOB_COMPLETE) {
    const got = Buffer.isBuffer(request.result) ? request.result.toString('latin1') : String(request.result);
    if (got !== resultFor(data)) settle(rec, 'wrong', `result ${JSON.stringify(got.slice(0, 40))}, expected ${resultFor(data)}`);
    else settle(rec, rec.resubmits === 0 ? 'complete' : 'recovered');
  } else if (request.state === JOB_FAILED) {
    settle(rec, 'failed', request.error?.message ?? (request.exception !== undefined ? `exception ${String(request.exception)}` : 'WORK_FAIL'));
  } else if (request.state === JOB_UNKNOWN || request.timedOut) {
    settle(rec, 'unknown', `state ${request.state} after ${rec.resubmits} re-submissions${lastError ? `; last error: ${lastError.name}: ${lastError.message}` : ''}`);
  } else {
    settle(rec, 'unaccounted', `state ${request.state}, timedOut ${request.timedOut}`);
  }
}

async function background(first, count) {
  const requests = [];
  for (let i = first; i < first + count; i++) {
    const name = `bg${i}`;
    const data = payload(name);
    const rec = { kind: 'bg', start: performance.now(), resubmits: 0 };
    jobs.set(name, rec);
    const request = new GearmanJobRequest(new GearmanJob(null, null, BG_TASK, null, data), { background: true, maxAttempts: o['max-retries'] + 1 });
    // The kill count when JOB_CREATED arrived: a later kill may have taken the queued job with it.
    request.on('created', () => (rec.createdAtKill = kills));
    requests.push({ name, rec, request });
  }
  let pending = requests;
  let round = 0;
  let lastError;
  for (;;) {
    const r = await resubmit(
      pending.map((p) => p.request),
      false,
    );
    lastError = r.error;
    if (r.error !== undefined && r.requests === undefined && !(r.error instanceof ExceededConnectionAttempts)) {
      for (const p of pending) settle(p.rec, 'unaccounted', `submitMultipleRequests rejected without error.requests: ${r.error?.name}: ${r.error?.message}`);
      return;
    }
    pending = pending.filter((p) => !isDone(p.request));
    for (const p of requests) if (p.rec.outcome === undefined && isDone(p.request)) acceptedBg(p);
    if (pending.length === 0 || round >= o.rounds || lastError instanceof ExceededConnectionAttempts) break;
    await sleep(backoff(round));
    round++;
    for (const p of pending) p.rec.resubmits++;
  }
  for (const p of pending) {
    p.rec.attempts = p.request.connectionAttempts;
    settle(p.rec, 'not accepted', `state ${p.request.state} after ${p.rec.resubmits} re-submissions${lastError ? `; last error: ${lastError.name}: ${lastError.message}` : ''}`);
  }
}

function acceptedBg(p) {
  p.rec.attempts = p.request.connectionAttempts;
  // Settled as accepted; whether it ran is decided from the worker logs at the end.
  settle(p.rec, p.rec.resubmits === 0 ? 'accepted' : 'accepted after re-submission');
}

function settle(rec, outcome, detail) {
  if (rec.outcome !== undefined) return;
  rec.outcome = outcome;
  rec.detail = detail;
  rec.end = performance.now();
  progress++;
}

async function foregroundLoop() {
  let next = 0;
  const lane = async () => {
    while (next < o.fg && !stopping) await foreground(next++);
  };
  await Promise.all(Array.from({ length: Math.min(o.inflight, Math.max(1, o.fg)) }, lane));
}

/** Resolves once gearmand queues at most --backlog background jobs (or it cannot be asked now). */
async function paced() {
  if (o.backlog === 0) return;
  const deadline = Date.now() + o.bound * 1000;
  while (Date.now() < deadline) {
    const a = admin();
    try {
      const row = (await a.getStatus()).find((r) => r.task === BG_TASK);
      if (row === undefined || row.queued <= o.backlog) return;
    } catch {
      return; // gearmand down: submit, and let the recipe deal with it
    } finally {
      a.shutdown();
    }
    await sleep(20);
  }
}

async function backgroundLoop() {
  for (let i = 0; i < o.bg && !stopping; i += o.batch) {
    await paced();
    await background(i, Math.min(o.batch, o.bg - i));
  }
}

// ------------------------------------------------------------------------------------------------
// Run, with a watchdog for hanging requests

const hanging = new Set();
const watchdog = setInterval(() => {
  const now = performance.now();
  for (const [name, rec] of jobs) if (rec.outcome === undefined && now - rec.start > o.bound * 1000) hanging.add(name);
}, 250);

log(`soak: ${o.fg} foreground (${o.inflight} in flight), ${o.bg} background (batches of ${o.batch}), ${o.kills} kills`);
const main = Promise.all([foregroundLoop(), backgroundLoop()]).then(() => (mainDone = true));
const killing = killer();
// Wait for the work, or until a request has been pending past the bound and nothing moves.
let lastProgress = -1;
let stalledSince = performance.now();
while (!mainDone) {
  await Promise.race([main, sleep(250)]);
  if (progress !== lastProgress) {
    lastProgress = progress;
    stalledSince = performance.now();
  }
  if (hanging.size > 0 && performance.now() - stalledSince > 2000) break;
}
stopping = true;
await killing;
const submitSeconds = elapsed();

// Let the queue drain: every accepted background job either runs or was lost with a killed server.
let drained = false;
if (!mainDone) log(`${hanging.size} request(s) hanging past ${o.bound} s; not waiting for them`);
else {
  log('all requests settled; waiting until gearmand holds no queued or running soak job');
  const deadline = Date.now() + o.bound * 1000;
  while (Date.now() < deadline) {
    const a = admin();
    try {
      const rows = await a.getStatus();
      const busy = rows.filter((r) => (r.task === FG_TASK || r.task === BG_TASK) && (r.queued > 0 || r.running > 0));
      if (busy.length === 0) {
        drained = true;
        break;
      }
    } catch {
      // gearmand busy: try again
    } finally {
      a.shutdown();
    }
    await sleep(100);
  }
}

clearInterval(watchdog);
client.shutdown();
for (const w of workers) {
  w.stopping = true;
  if (w.exit === undefined) w.child.kill('SIGTERM');
}
await Promise.all(workers.map((w) => (w.exit !== undefined ? undefined : new Promise((resolve) => w.child.once('exit', resolve)))));
await server.stop();

// ------------------------------------------------------------------------------------------------
// Effects: what the workers ran

const ran = new Map(); // name -> times run
for (const w of workers) {
  if (!existsSync(w.file)) continue;
  for (const line of readFileSync(w.file, 'latin1').split('\n')) {
    if (line === '') continue;
    const name = line.slice(3, line.indexOf(':'));
    ran.set(name, (ran.get(name) ?? 0) + 1);
  }
}
rmSync(runDir, { recursive: true, force: true });

for (const [name, rec] of jobs) {
  if (rec.kind !== 'bg' || !rec.outcome?.startsWith('accepted')) continue;
  if ((ran.get(name) ?? 0) > 0) continue;
  // Accepted but never run: gearmand keeps background jobs in memory (no persistent queue here),
  // so a SIGKILL after JOB_CREATED loses the queued ones. Only a kill after acceptance explains it.
  if (rec.createdAtKill !== undefined && rec.createdAtKill < kills) rec.outcome = 'accepted, lost in a kill';
  else rec.outcome = drained ? 'accepted, missing' : 'accepted, not run (queue not drained)';
}

// A request that took longer than the bound to settle, or never settled, was hanging, whatever
// it ended as.
const boundMs = o.bound * 1000;
const endOfRun = performance.now();
for (const rec of jobs.values()) {
  const took = (rec.end ?? endOfRun) - rec.start;
  if (took > boundMs) {
    rec.detail = `${rec.outcome === undefined ? 'not settled' : `ended as ${rec.outcome}`} after ${(took / 1000).toFixed(1)} s`;
    rec.outcome = 'hanging';
  }
}

// ------------------------------------------------------------------------------------------------
// Report

// SOAK_DEBUG=1: every request on stderr, for digging into one run.
if (process.env.SOAK_DEBUG) {
  for (const [name, r] of jobs) {
    const took = r.end === undefined ? 'open' : `${((r.end - r.start) / 1000).toFixed(3)} s`;
    process.stderr.write(`${name} ${r.outcome} took ${took} from ${((r.start - t0) / 1000).toFixed(2)} s, re-submitted ${r.resubmits}, sent ${r.attempts ?? '?'}, ran ${ran.get(name) ?? 0}${r.detail ? `: ${r.detail}` : ''}\n`);
  }
}
const count = (kind, outcome) => [...jobs.values()].filter((r) => r.kind === kind && r.outcome === outcome).length;
const ranTwice = (kind) => [...jobs.entries()].filter(([name, r]) => r.kind === kind && (ran.get(name) ?? 0) > 1).length;
const neverStarted = (kind, n) => n - [...jobs.values()].filter((r) => r.kind === kind).length;
const resent = (kind) => [...jobs.values()].filter((r) => r.kind === kind && (r.attempts ?? 0) > 1).length;

const FG_ROWS = [
  ['complete', 'completed with its own correct result, first call', true],
  ['recovered', 'completed with its own correct result after re-submission (recipe)', true],
  ['failed', 'failed (WORK_FAIL, WORK_EXCEPTION or a server ERROR)', true],
  ['unknown', `unknown: still JOB_UNKNOWN or timed out after ${o.rounds} re-submissions`, true],
  ['wrong', 'WRONG: completed with a result that is not its own', false],
  ['unaccounted', 'UNACCOUNTED: ended in no state above', false],
];
const BG_ROWS = [
  ['accepted', 'accepted at the first call, ran', true],
  ['accepted after re-submission', 'accepted after re-submission (recipe), ran', true],
  ['accepted, lost in a kill', "accepted, never ran: queued when gearmand was SIGKILLed (lost with its in-memory queue)", true],
  ['not accepted', `not accepted after ${o.rounds} re-submissions`, true],
  ['accepted, missing', 'MISSING: accepted, no kill after it, never ran', false],
  ['accepted, not run (queue not drained)', 'NOT DRAINED: accepted, gearmand still held soak jobs at the end', false],
  ['unaccounted', 'UNACCOUNTED: ended in no state above', false],
];

const lines = [];
const out = (s = '') => lines.push(s);
out(`## Soak: ${o.fg} foreground + ${o.bg} background jobs, ${kills} SIGKILL + restart of gearmand`);
out();
out(`node bench/soak.mjs ${Object.entries(o).map(([k, v]) => `--${k} ${v}`).join(' ')}`);
out();
out(`gearmand ${server.version} (--threads ${o.threads}) on ${host}, 1 client, 2 worker processes; ` +
  `submissions took ${submitSeconds.toFixed(1)} s, the whole run ${elapsed().toFixed(1)} s.`);
out(`Kills at ${killLog.map((k) => `${k.at.toFixed(1)} s`).join(', ') || '(none)'}; down ${o['down-ms']} ms each, restart took ${killLog.map((k) => `${k.restartMs.toFixed(0)}`).join('/') || '-'} ms.`);
out();
let bad = 0;
const table = (title, kind, rows, n) => {
  out(`| ${title} | requests |`);
  out('|---|---:|');
  let sum = 0;
  for (const [outcome, label, ok] of rows) {
    const c = count(kind, outcome);
    sum += c;
    if (!ok) bad += c;
    out(`| ${label} | ${c} |`);
  }
  const hang = count(kind, 'hanging');
  const unstarted = neverStarted(kind, n);
  bad += hang + unstarted;
  out(`| HANGING: not settled within ${o.bound} s of its first submission | ${hang} |`);
  if (unstarted > 0) out(`| NEVER SUBMITTED (the soak stopped first) | ${unstarted} |`);
  out(`| **total** | **${sum + hang + unstarted}** of ${n} |`);
  out();
  const times = [...jobs.values()].filter((r) => r.kind === kind && r.end !== undefined).map((r) => r.end - r.start).sort((a, b) => a - b);
  const q = (f) => (times.length === 0 ? 0 : times[Math.min(times.length - 1, Math.floor(f * times.length))] / 1000);
  out(`Sent more than once to gearmand (connectionAttempts > 1): ${resent(kind)}; ran more than once (worker logs): ${ranTwice(kind)}. ` +
    `Time to settle (${kind === 'fg' ? 'complete' : 'accepted'}): p50 ${q(0.5).toFixed(3)} s, p99 ${q(0.99).toFixed(3)} s, max ${q(1).toFixed(3)} s.`);
  out();
};
table('Foreground: how each request ended', 'fg', FG_ROWS, o.fg);
table('Background: how each request ended', 'bg', BG_ROWS, o.bg);

for (const w of workers) {
  if (w.exit !== undefined && (w.exit.code !== 0 && w.exit.signal !== 'SIGTERM')) {
    bad++;
    out(`Worker ${w.id} died: code ${w.exit.code}, signal ${w.exit.signal}. ${w.stderr.slice(-1000)}`);
  } else if (w.stderr.trim() !== '') out(`Worker ${w.id} stderr: ${w.stderr.trim().slice(-1000)}`);
}

const details = [...jobs.entries()].filter(([, r]) => r.detail !== undefined && !['complete', 'recovered', 'accepted', 'accepted after re-submission'].includes(r.outcome));
if (details.length > 0) {
  out('First details:');
  for (const [name, r] of details.slice(0, 10)) out(`- ${name}: ${r.outcome}: ${r.detail}`);
  out();
}
out(bad === 0 ? 'PASS: every request is accounted for, every result is its own, nothing hangs.' : `FAIL: ${bad} request(s) wrong, unaccounted for, missing or hanging (or a worker died).`);
process.stdout.write(lines.join('\n') + '\n');
process.exit(bad === 0 ? 0 : 1);
