// gearman-ts against libgearman, side by side (issue 6). See bench/README.md.
//
//   npm run bench                                   everything: S1-S4, flatness, memory
//   npm run bench -- --scenario S3 --runs 5 --n 20000
//   npm run bench -- --scenario S1,S4 --cpu-prof    also profile the gearman-ts processes
//
// Every scenario run gets a fresh private gearmand on loopback (same options for both sides);
// client, worker and gearmand are separate processes, so CPU time and peak RSS are read per
// process from /proc.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { gearmandPath, startGearmand } from '../spec/helpers/gearmand.mjs';
import { RoleProcess, adminStatus, cpuSeconds, idleShare, median, peakRssMiB, track, waitUntil } from './lib/harness.mjs';
import { summarize } from './cpuprofile-summary.mjs';

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH, '..');
const C_SOURCE = path.join(BENCH, 'c', 'bench.c');
const C_BINARY = path.join(BENCH, 'build', 'bench');
const OUT = path.join(BENCH, 'out');
const NODE = process.execPath;
const LIB_NAMES = { c: 'libgearman', ts: 'gearman-ts' };
const ALL = ['S1', 'S2', 'S3', 'S4', 'S4c', 'S5', 'flat', 'memory'];
const DEFAULT_N = { S1: 50_000, S2: 20_000, S3: 50_000, S4: 50_000 };
const TARGET_RATIO = { S1: 1.2, S2: 1.0, S3: 1.0, S4: 1.0 };
const TITLES = { S1: 'S1 bg-submit', S2: 'S2 fg-seq', S3: 'S3 fg-par', S4: 'S4 work-drain' };
const TIMEOUT_MS = 15 * 60_000;

const HELP = `npm run bench -- [options]

  --scenario LIST     comma-separated, from S1,S2,S3,S4,S4c,S5,flat,memory (default: all)
                      S4c: S4 with the gearman-ts worker at --s4-concurrency slots next to one
                      libgearman worker process; S5: io-bound jobs (each awaits --s5-sleep-ms) with
                      --s5-concurrency slots, against the ideal concurrency / sleep
  --runs N            runs per library and scenario, alternating the libraries (default 3)
  --n N               jobs per run for S1-S4 (default S1 ${DEFAULT_N.S1}, S2 ${DEFAULT_N.S2}, S3 ${DEFAULT_N.S3}, S4 ${DEFAULT_N.S4})
  --warmup N          untimed jobs before each timed window (default: 10% of n)
  --p N               S3 jobs in flight (default 100)
  --batch N           S1 submissions per batch, both libraries (default 500)
  --flat-p LIST       in-flight counts of the flatness check (default 10,1000,10000)
  --flat-n N          jobs per flatness run (default 50000)
  --mem-bg-n N        background jobs of the first memory check (default 1000000)
  --mem-batch N       their batch size (default 10000)
  --mem-inflight-n N  foreground requests in flight of the second memory check (default 100000)
  --s4-concurrency L  S4c: gearman-ts worker concurrency values (default 4,16)
  --s5-concurrency L  S5: gearman-ts worker concurrency values (default 1,10,100)
  --s5-sleep-ms N     S5: how long each job awaits (default 10)
  --lib LIST          c,ts (default both)
  --threads N         gearmand --threads (default 4, gearmand's default)
  --pin MODE          CPU placement, the same for both libraries: one (default: client, worker and
                      every gearmand thread on CPU 0), split (gearmand on CPU 0, client and worker
                      on CPU 1), none (the OS decides; runs then vary up to 5x); see bench/README.md
  --wait-idle PCT     before each run, wait (up to 2 min) until the machine was PCT% idle for 1 s
                      (for shared machines; default 0: off)
  --cpu-prof          run the gearman-ts processes with node --cpu-prof, summarize the profiles
  --build             run \`npm run build\` first
  --json FILE         where to write all measurements (default bench/out/results-<time>.json)
  --embedded          instead: our client and worker against gearmand and the embedded server, side by
                      side (bench/server.mjs; --embedded --help for its options)
`;

// -------------------------------------------------------------------------------------------
// Options

function parseOptions(argv) {
  const o = {
    scenarios: ALL,
    runs: 3,
    n: undefined,
    warmup: undefined,
    p: 100,
    batch: 500,
    flatP: [10, 1000, 10000],
    flatN: 50_000,
    memBgN: 1_000_000,
    memBatch: 10_000,
    memInflightN: 100_000,
    libs: ['c', 'ts'],
    s4Concurrency: [4, 16],
    s5Concurrency: [1, 10, 100],
    s5SleepMs: 10,
    threads: 4,
    waitIdle: 0,
    pin: 'one',
    cpuProf: false,
    build: false,
    json: undefined,
  };
  const int = (name, v) => {
    if (!/^\d+$/.test(v ?? '')) throw new Error(`${name} expects a non-negative integer, got ${v}`);
    return Number(v);
  };
  const list = (v) => String(v ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => (inline !== undefined ? inline : argv[++i]);
    switch (flag) {
      case '--help':
      case '-h':
        process.stdout.write(HELP);
        process.exit(0);
        break;
      case '--scenario':
      case '--scenarios': {
        const picked = list(value()).map((s) => (/^s4c$/i.test(s) ? 'S4c' : /^s[1-5]$/i.test(s) ? s.toUpperCase() : s.toLowerCase()));
        for (const s of picked) if (!ALL.includes(s)) throw new Error(`unknown scenario ${s}; pick from ${ALL.join(', ')}`);
        o.scenarios = picked;
        break;
      }
      case '--runs':
        o.runs = Math.max(1, int(flag, value()));
        break;
      case '--n':
        o.n = Math.max(1, int(flag, value()));
        break;
      case '--warmup':
        o.warmup = int(flag, value());
        break;
      case '--p':
        o.p = Math.max(1, int(flag, value()));
        break;
      case '--batch':
        o.batch = Math.max(1, int(flag, value()));
        break;
      case '--flat-p':
        o.flatP = list(value()).map((v) => Math.max(1, int(flag, v)));
        break;
      case '--flat-n':
        o.flatN = Math.max(1, int(flag, value()));
        break;
      case '--mem-bg-n':
        o.memBgN = Math.max(1, int(flag, value()));
        break;
      case '--mem-batch':
        o.memBatch = Math.max(1, int(flag, value()));
        break;
      case '--mem-inflight-n':
        o.memInflightN = Math.max(1, int(flag, value()));
        break;
      case '--lib':
      case '--libs': {
        const libs = list(value()).map((s) => (s === 'libgearman' ? 'c' : s === 'gearman-ts' ? 'ts' : s));
        for (const l of libs) if (!(l in LIB_NAMES)) throw new Error(`unknown library ${l}; use c (libgearman) or ts (gearman-ts)`);
        o.libs = libs;
        break;
      }
      case '--s4-concurrency':
        o.s4Concurrency = list(value()).map((v) => Math.max(1, int(flag, v)));
        break;
      case '--s5-concurrency':
        o.s5Concurrency = list(value()).map((v) => Math.max(1, int(flag, v)));
        break;
      case '--s5-sleep-ms':
        o.s5SleepMs = Math.max(1, int(flag, value()));
        break;
      case '--threads':
        o.threads = Math.max(1, int(flag, value()));
        break;
      case '--pin': {
        const mode = value();
        if (!['none', 'one', 'split'].includes(mode)) throw new Error(`--pin takes none, one or split, got ${mode}`);
        o.pin = mode;
        break;
      }
      case '--wait-idle':
        o.waitIdle = Math.min(99, int(flag, value()));
        break;
      case '--cpu-prof':
        o.cpuProf = true;
        break;
      case '--build':
        o.build = true;
        break;
      case '--json':
        o.json = value();
        break;
      default:
        throw new Error(`unknown option ${a}\n\n${HELP}`);
    }
  }
  return o;
}

const log = (msg) => process.stderr.write(`${msg}\n`);

// -------------------------------------------------------------------------------------------
// Preflight: gearmand, the built package, gcc + libgearman-dev, the C program

function newestMtime(dir, ext) {
  let newest = 0;
  if (!existsSync(dir)) return newest;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(p, ext));
    else if (entry.name.endsWith(ext)) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

async function preflight(o) {
  const gearmand = gearmandPath();
  const versionText = spawnSync(gearmand, ['--version'], { encoding: 'utf8' }).stdout ?? '';
  const version = /gearmand\s+(\S+)/.exec(versionText)?.[1] ?? versionText.trim();
  if (o.build) {
    log('building dist/ (npm run build) ...');
    const r = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
    if (r.status !== 0) throw new Error('npm run build failed');
  }
  const dist = path.join(ROOT, 'dist', 'index.js');
  if (o.libs.includes('ts')) {
    if (!existsSync(dist)) throw new Error('dist/ is missing: run `npm run build` first (or pass --build)');
    if (newestMtime(path.join(ROOT, 'lib'), '.ts') > newestMtime(path.join(ROOT, 'dist'), '.js')) {
      log('warning: lib/ has changed since dist/ was built; the bench measures dist/ (run `npm run build`, or pass --build)');
    }
    // The role scripts import the package by its name (package self-reference), as users do.
    await import('gearman-ts');
  }
  if (o.libs.includes('c') || o.scenarios.includes('S4') || o.scenarios.includes('S4c') || o.scenarios.includes('S5')) buildC();
  if (o.pin !== 'none') {
    const t = spawnSync('taskset', ['-c', '0', 'true']);
    if (t.error || t.status !== 0) throw new Error('--pin needs taskset (util-linux)');
    if (o.pin === 'split' && os.cpus().length < 2) throw new Error('--pin split needs 2 CPUs');
    placement = o.pin === 'one' ? { gearmand: '0', roles: '0' } : { gearmand: '0', roles: '1' };
  }
  return { gearmand, version };
}

function buildC() {
  const install = 'install them with: sudo apt-get install -y gcc libgearman-dev';
  const gcc = spawnSync('gcc', ['--version'], { encoding: 'utf8' });
  if (gcc.error || gcc.status !== 0) throw new Error(`gcc was not found; the libgearman side of the bench is a C program (bench/c/bench.c): ${install}`);
  if (!existsSync('/usr/include/libgearman-1.0/gearman.h') && !existsSync('/usr/local/include/libgearman-1.0/gearman.h')) {
    throw new Error(`the libgearman headers (libgearman-1.0/gearman.h) were not found: ${install}`);
  }
  if (existsSync(C_BINARY) && statSync(C_BINARY).mtimeMs >= statSync(C_SOURCE).mtimeMs) return;
  mkdirSync(path.dirname(C_BINARY), { recursive: true });
  log(`compiling ${path.relative(ROOT, C_SOURCE)} -> ${path.relative(ROOT, C_BINARY)}`);
  const r = spawnSync('gcc', ['-O2', '-Wall', '-o', C_BINARY, C_SOURCE, '-lgearman'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`compiling bench/c/bench.c failed (${install}):\n${r.stderr}`);
}

// -------------------------------------------------------------------------------------------
// Role processes

let profileDir;

function nodeArgs(name) {
  if (profileDir === undefined) return [];
  const interval = process.env.BENCH_CPU_PROF_INTERVAL; // microseconds between samples (node's default: 1000)
  return ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}.cpuprofile`, ...(interval ? [`--cpu-prof-interval=${interval}`] : [])];
}

function flags(obj) {
  const out = [];
  for (const [k, v] of Object.entries(obj)) if (v !== undefined) out.push(`--${k}`, String(v));
  return out;
}

/** --pin: the CPU of gearmand and of the client and worker processes, or undefined. */
let placement = { gearmand: undefined, roles: undefined };

/** A client, worker or memory-check process; under --pin started through taskset (which execs it, so the pid is the role's). */
function role(label, command, args, options) {
  if (placement.roles === undefined) return new RoleProcess(label, command, args, options);
  return new RoleProcess(label, 'taskset', ['-c', placement.roles, command, ...args], options);
}

function spawnClient(lib, params, profName) {
  if (lib === 'c') return role('libgearman client', C_BINARY, ['client', ...flags(params)]);
  return role('gearman-ts client', NODE, [...nodeArgs(profName), path.join(BENCH, 'ts-client.mjs'), ...flags(params)], { cwd: ROOT });
}

function spawnWorker(lib, params, profName) {
  if (lib === 'c') return role('libgearman worker', C_BINARY, ['worker', ...flags(params)]);
  return role('gearman-ts worker', NODE, [...nodeArgs(profName), path.join(BENCH, 'ts-worker.mjs'), ...flags(params)], { cwd: ROOT });
}

/**
 * Waits for `timed` to print start and done; samples CPU of every process at both, peak RSS at
 * done.
 * @param {RoleProcess} timed
 * @param {Record<string, number | undefined>} pids  role -> pid
 */
async function measure(timed, pids) {
  await timed.waitFor('start', TIMEOUT_MS);
  const cpu0 = {};
  for (const [role, pid] of Object.entries(pids)) if (pid !== undefined) cpu0[role] = cpuSeconds(pid);
  const w0 = performance.now();
  const line = await timed.waitFor('done', TIMEOUT_MS);
  const wall = (performance.now() - w0) / 1000;
  const cpu = {};
  const rss = {};
  for (const [role, pid] of Object.entries(pids)) {
    if (pid === undefined) continue;
    const c1 = cpuSeconds(pid);
    cpu[role] = c1 === null || cpu0[role] === null ? null : (100 * (c1 - cpu0[role])) / wall;
    cpu[`${role}Seconds`] = c1 === null || cpu0[role] === null ? null : c1 - cpu0[role];
    rss[role] = peakRssMiB(pid);
  }
  const result = JSON.parse(line.slice('done '.length));
  return { ...result, jobsPerSec: result.jobs / result.seconds, cpu, rss };
}

async function finishRole(role) {
  role.closeStdin();
  const timer = setTimeout(() => role.stop(), 10_000);
  await role.exited;
  clearTimeout(timer);
}

const idleSamples = [];

/** With --wait-idle: lets other work on a shared machine pass before a run starts. */
async function waitForIdle(o) {
  if (!(o.waitIdle > 0)) return;
  const deadline = Date.now() + 120_000;
  let share = await idleShare(1000);
  while (share * 100 < o.waitIdle && Date.now() < deadline) share = await idleShare(1000);
  if (share * 100 < o.waitIdle) log(`note: the machine was only ${Math.round(share * 100)}% idle after waiting 2 min; running anyway`);
  idleSamples.push(Math.round(share * 100));
}

async function withGearmand(o, fn) {
  await waitForIdle(o);
  const gd = await startGearmand({ threads: o.threads, args: o.gearmandArgs ?? [] });
  track(gd.child);
  if (placement.gearmand !== undefined) {
    // -a: every thread of gearmand (its I/O threads are already running).
    const r = spawnSync('taskset', ['-a', '-p', '-c', placement.gearmand, String(gd.pid)], { encoding: 'utf8' });
    if (r.status !== 0) {
      await gd.stop();
      throw new Error(`taskset could not pin gearmand: ${r.stderr || r.error}`);
    }
  }
  const roles = [];
  try {
    return await fn(gd, roles);
  } finally {
    for (const role of roles) await role.stop();
    await gd.stop();
  }
}

async function waitForWorker(port) {
  await waitUntil(async () => ((await adminStatus(port)).get('echo')?.workers ?? 0) >= 1, 10_000, 'the worker to register echo');
}

/** Fills the queue with `count` background echo jobs through the C client (untimed). */
async function preload(port, count, o) {
  const loader = role('preload (libgearman client)', C_BINARY, ['client', ...flags({ scenario: 'S1', port, n: count, warmup: 0, batch: o.batch })]);
  await loader.waitFor('done', TIMEOUT_MS);
  await finishRole(loader);
  const queued = (await adminStatus(port)).get('echo')?.queued ?? 0;
  if (queued !== count) throw new Error(`preload: gearmand holds ${queued} echo jobs, expected ${count}`);
}

/**
 * One run of one scenario for one library, on a fresh gearmand.
 * @param {'S1'|'S2'|'S3'|'S4'} scenario
 * @param {'c'|'ts'} lib
 */
async function runScenario(o, scenario, lib, { n, warmup, p, tag }) {
  return withGearmand(o, async (gd, roles) => {
    const port = gd.port;
    const pids = { client: undefined, worker: undefined, gearmand: gd.pid };
    let timed;
    if (scenario === 'S4') {
      await preload(port, warmup + n, o);
      timed = spawnWorker(lib, { port, n, warmup }, `${tag}-worker`);
      roles.push(timed);
      pids.worker = timed.pid;
    } else {
      if (scenario !== 'S1') {
        const worker = spawnWorker(lib, { port }, `${tag}-worker`);
        roles.push(worker);
        pids.worker = worker.pid;
        await waitForWorker(port);
      }
      timed = spawnClient(lib, { scenario, port, n, warmup, batch: scenario === 'S1' ? o.batch : undefined, p: scenario === 'S3' ? p : undefined }, `${tag}-client`);
      roles.push(timed);
      pids.client = timed.pid;
    }
    const m = await measure(timed, pids);
    if (scenario === 'S4') {
      // The worker counted its jobs; the queue must now be empty.
      await waitUntil(async () => ((await adminStatus(port)).get('echo')?.queued ?? 0) === 0, 5000, 'the echo queue to be empty after S4');
    }
    await finishRole(timed);
    return m;
  });
}

// -------------------------------------------------------------------------------------------
// Formatting

const num = (v, digits = 0) => (v === null || v === undefined || Number.isNaN(v) ? '-' : v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }));
const triple = (obj, keys, digits) => keys.map((k) => (obj[k] === null || obj[k] === undefined ? '-' : num(obj[k], digits))).join(' / ');

function markdownTable(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

/** Per-metric medians over runs. */
function summarizeRuns(runs) {
  if (runs.length === 0) return null;
  const roles = ['client', 'worker', 'gearmand'];
  const pick = (f) => median(runs.map(f));
  return {
    runs: runs.length,
    jobsPerSec: pick((r) => r.jobsPerSec),
    p50Ms: pick((r) => r.p50Ms),
    p99Ms: pick((r) => r.p99Ms),
    cpu: Object.fromEntries(roles.map((k) => [k, pick((r) => r.cpu[k])])),
    cpuSecondsPerJob: Object.fromEntries(roles.map((k) => [k, pick((r) => (r.cpu[`${k}Seconds`] ?? NaN) / r.jobs)])),
    rss: Object.fromEntries(roles.map((k) => [k, pick((r) => r.rss[k])])),
    all: runs.map((r) => Math.round(r.jobsPerSec)),
  };
}

// -------------------------------------------------------------------------------------------
// The parts of a full run

async function runScenarios(o, results) {
  const picked = o.scenarios.filter((s) => /^S[1-4]$/.test(s));
  for (const scenario of picked) {
    const n = o.n ?? DEFAULT_N[scenario];
    const warmup = o.warmup ?? Math.round(n / 10);
    results.scenarios[scenario] = { n, warmup, p: scenario === 'S3' ? o.p : undefined, batch: scenario === 'S1' ? o.batch : undefined, runs: { c: [], ts: [] } };
    for (let run = 0; run < o.runs; run++) {
      // ABBA order: c ts, ts c, c ts, ...
      const order = run % 2 === 0 ? o.libs : [...o.libs].reverse();
      for (const lib of order) {
        const m = await runScenario(o, scenario, lib, { n, warmup, p: o.p, tag: `${scenario}-${lib}-run${run + 1}` });
        results.scenarios[scenario].runs[lib].push(m);
        log(`${TITLES[scenario]} run ${run + 1}/${o.runs} ${LIB_NAMES[lib].padEnd(10)} ${num(m.jobsPerSec).padStart(9)} jobs/s${m.p50Ms !== undefined ? `  p50 ${num(m.p50Ms, 3)} ms  p99 ${num(m.p99Ms, 3)} ms` : ''}  CPU% client/worker/gearmand ${triple(m.cpu, ['client', 'worker', 'gearmand'], 0)}`);
      }
    }
  }
}

function scenarioTable(o, results) {
  const header = [
    'Scenario',
    'libgearman jobs/s',
    'gearman-ts jobs/s',
    'ratio',
    'target',
    'p50/p99 ms libgearman',
    'p50/p99 ms gearman-ts',
    'CPU% cli/wrk/gmd libgearman',
    'CPU% cli/wrk/gmd gearman-ts',
    'peak RSS MB cli/wrk/gmd libgearman',
    'peak RSS MB cli/wrk/gmd gearman-ts',
  ];
  const rows = [];
  const verdicts = [];
  for (const [scenario, s] of Object.entries(results.scenarios)) {
    const c = summarizeRuns(s.runs.c);
    const t = summarizeRuns(s.runs.ts);
    s.summary = { c, ts: t };
    const ratio = c && t ? t.jobsPerSec / c.jobsPerSec : null;
    s.summary.ratio = ratio;
    const lat = (x) => (x && x.p50Ms !== null ? `${num(x.p50Ms, 3)} / ${num(x.p99Ms, 3)}` : '-');
    const cpu = (x) => (x ? triple(x.cpu, ['client', 'worker', 'gearmand'], 0) : '-');
    const rss = (x) => (x ? triple(Object.fromEntries(Object.entries(x.rss).map(([k, v]) => [k, v === null ? null : (v * 1048576) / 1e6])), ['client', 'worker', 'gearmand'], 1) : '-');
    const label = `${TITLES[scenario]}${scenario === 'S3' ? ` (P=${s.p})` : ''}${scenario === 'S1' ? ` (batch ${s.batch})` : ''}, N=${num(s.n)}`;
    rows.push([label, c ? num(c.jobsPerSec) : '-', t ? num(t.jobsPerSec) : '-', ratio === null ? '-' : `${ratio.toFixed(2)}x`, `>= ${TARGET_RATIO[scenario].toFixed(1)}x`, lat(c), lat(t), cpu(c), cpu(t), rss(c), rss(t)]);
    if (ratio !== null) verdicts.push({ target: `${TITLES[scenario]}: gearman-ts/libgearman >= ${TARGET_RATIO[scenario].toFixed(1)}x`, measured: `${ratio.toFixed(2)}x (${num(t.jobsPerSec)} vs ${num(c.jobsPerSec)} jobs/s)`, pass: ratio >= TARGET_RATIO[scenario] });
  }
  // CPU time per job is steadier than jobs/s on a busy machine: it shows what each library costs
  // each process, whoever else wants the cores.
  const perJob = [];
  for (const [scenario, s] of Object.entries(results.scenarios)) {
    const us = (x) => (x ? triple(Object.fromEntries(Object.entries(x.cpuSecondsPerJob).map(([k, v]) => [k, v === null ? null : v * 1e6])), ['client', 'worker', 'gearmand'], 1) : '-');
    perJob.push([TITLES[scenario], us(s.summary.c), us(s.summary.ts)]);
  }
  const cpuTable = markdownTable(['Scenario', 'CPU us/job cli/wrk/gmd libgearman', 'CPU us/job cli/wrk/gmd gearman-ts'], perJob);
  return { table: `${markdownTable(header, rows)}\n\n${cpuTable}`, verdicts };
}

async function runFlatness(o, results) {
  const n = o.flatN;
  const warmup = o.warmup ?? Math.round(n / 10);
  results.flat = { n, warmup, points: {} };
  for (const p of o.flatP) {
    results.flat.points[p] = { c: [], ts: [] };
    for (let run = 0; run < o.runs; run++) {
      const order = run % 2 === 0 ? o.libs : [...o.libs].reverse();
      for (const lib of order) {
        const m = await runScenario(o, 'S3', lib, { n, warmup, p, tag: `flat-P${p}-${lib}-run${run + 1}` });
        results.flat.points[p][lib].push(m);
        log(`flatness P=${p} run ${run + 1}/${o.runs} ${LIB_NAMES[lib].padEnd(10)} ${num(m.jobsPerSec).padStart(9)} jobs/s  client CPU ${num((1e6 * m.cpu.clientSeconds) / m.jobs, 1)} us/job`);
      }
    }
  }
}

function flatnessTable(o, results) {
  const header = ['jobs in flight'];
  for (const lib of o.libs) header.push(`${LIB_NAMES[lib]} jobs/s`, `${LIB_NAMES[lib]} wall us/job`, `${LIB_NAMES[lib]} client CPU us/job`);
  const rows = [];
  const per = { c: { wall: [], cpu: [] }, ts: { wall: [], cpu: [] } };
  for (const [p, byLib] of Object.entries(results.flat.points)) {
    const row = [num(Number(p))];
    for (const lib of o.libs) {
      const s = summarizeRuns(byLib[lib]);
      const wall = 1e6 / s.jobsPerSec;
      const cpu = 1e6 * s.cpuSecondsPerJob.client;
      per[lib].wall.push(wall);
      per[lib].cpu.push(cpu);
      row.push(num(s.jobsPerSec), num(wall, 1), num(cpu, 1));
    }
    rows.push(row);
  }
  const spread = (v) => Math.max(...v) / Math.min(...v);
  const last = ['max/min'];
  for (const lib of o.libs) last.push('', `${spread(per[lib].wall).toFixed(2)}x`, `${spread(per[lib].cpu).toFixed(2)}x`);
  rows.push(last);
  const verdicts = [];
  if (o.libs.includes('ts')) {
    const cpuSpread = spread(per.ts.cpu);
    const wallSpread = spread(per.ts.wall);
    results.flat.spread = { cpu: cpuSpread, wall: wallSpread };
    verdicts.push({
      target: `Flatness: gearman-ts client CPU per job at ${o.flatP.join(' / ')} in flight within 1.5x`,
      measured: `max/min ${cpuSpread.toFixed(2)}x (${per.ts.cpu.map((v) => num(v, 1)).join(' / ')} us/job)`,
      pass: cpuSpread <= 1.5,
    });
  }
  return { table: markdownTable(header, rows), verdicts };
}

async function runMemory(o, results) {
  results.memory = {};
  // 1. 1M background jobs in batches of 10k, no reference kept: peak RSS of the client process.
  // gearmand's job hash tables have 991 buckets by default, so each submission costs time in
  // proportion to the queue length: 1M queued jobs took over 6 minutes, all of it in gearmand.
  // gearmand's documented remedy for large queues keeps this check about the client.
  results.memory.bg = await withGearmand({ ...o, gearmandArgs: ['--hashtable-buckets=1000003'] }, async (gd, roles) => {
    const proc = role('gearman-ts memory (bg)', NODE, [...nodeArgs('memory-bg'), path.join(BENCH, 'ts-memory.mjs'), ...flags({ mode: 'bg', port: gd.port, n: o.memBgN, batch: o.memBatch })], { cwd: ROOT });
    roles.push(proc);
    const m = await measure(proc, { client: proc.pid, gearmand: gd.pid });
    await finishRole(proc);
    return m;
  });
  log(`memory: ${num(o.memBgN)} background jobs in batches of ${num(o.memBatch)}: ${num(results.memory.bg.jobsPerSec)} jobs/s, client peak RSS ${num((results.memory.bg.rss.client * 1048576) / 1e6, 1)} MB`);
  // 2. 100k foreground requests in flight (no worker): growth per request after a full GC.
  results.memory.inflight = await withGearmand(o, async (gd, roles) => {
    const proc = role('gearman-ts memory (in flight)', NODE, ['--expose-gc', ...nodeArgs('memory-inflight'), path.join(BENCH, 'ts-memory.mjs'), ...flags({ mode: 'inflight', port: gd.port, n: o.memInflightN })], { cwd: ROOT });
    roles.push(proc);
    const m = await measure(proc, { client: proc.pid, gearmand: gd.pid });
    const held = (await adminStatus(gd.port)).get('bench_hold')?.queued ?? 0;
    if (held !== o.memInflightN) throw new Error(`in-flight check: gearmand holds ${held} requests, expected ${o.memInflightN}`);
    await finishRole(proc);
    return m;
  });
  const f = results.memory.inflight;
  log(`memory: ${num(o.memInflightN)} foreground requests in flight: heap +${num(f.heapPerRequest)} B/request, RSS +${num(f.rssPerRequest)} B/request`);
  // 3. The same with V8's young generation capped at 1 MB per semi-space: V8 grows it (up to
  // 16 MB x 2) while the requests are allocated, and that growth shows in the RSS difference
  // whatever each request costs. This run separates the two.
  results.memory.inflightSmallYoung = await withGearmand(o, async (gd, roles) => {
    const proc = role('gearman-ts memory (in flight, small young generation)', NODE, ['--expose-gc', '--max-semi-space-size=1', ...nodeArgs('memory-inflight-small-young'), path.join(BENCH, 'ts-memory.mjs'), ...flags({ mode: 'inflight', port: gd.port, n: o.memInflightN })], { cwd: ROOT });
    roles.push(proc);
    const m = await measure(proc, { client: proc.pid, gearmand: gd.pid });
    await finishRole(proc);
    return m;
  });
  const g = results.memory.inflightSmallYoung;
  log(`memory: the same with --max-semi-space-size=1: heap +${num(g.heapPerRequest)} B/request, RSS +${num(g.rssPerRequest)} B/request`);
}

function memoryTable(o, results) {
  const bg = results.memory.bg;
  const inf = results.memory.inflight;
  const rssMB = (bg.rss.client * 1048576) / 1e6;
  const rows = [
    [`${num(o.memBgN)} background jobs, batches of ${num(o.memBatch)}, no reference kept: client peak RSS (VmHWM)`, `${num(rssMB, 1)} MB`, '< 150 MB', rssMB < 150 ? 'PASS' : 'FAIL'],
    [`${num(o.memInflightN)} foreground requests in flight: JS heap + external growth per request`, `${num(inf.heapPerRequest)} B`, '< 1 KB', inf.heapPerRequest < 1000 ? 'PASS' : 'FAIL'],
    [`${num(o.memInflightN)} foreground requests in flight: RSS growth per request`, `${num(inf.rssPerRequest)} B`, '< 1 KB', inf.rssPerRequest < 1000 ? 'PASS' : 'FAIL'],
  ];
  const small = results.memory.inflightSmallYoung;
  if (small !== undefined) {
    rows.push([
      `${num(o.memInflightN)} foreground requests in flight: RSS growth per request, node --max-semi-space-size=1 (without V8's young-generation growth)`,
      `${num(small.rssPerRequest)} B`,
      '< 1 KB',
      small.rssPerRequest < 1000 ? 'PASS' : 'FAIL',
    ]);
  }
  const verdicts = rows.map((r) => ({ target: `Memory: ${r[0]} ${r[2]}`, measured: r[1], pass: r[3] === 'PASS' }));
  return { table: markdownTable(['check', 'measured', 'target', 'result'], rows), verdicts };
}

// -------------------------------------------------------------------------------------------
// Worker concurrency (issue 11): S4c (S4 with N slots next to one libgearman worker) and S5
// (io-bound jobs that each await a few ms). Both drain a preloaded queue, as S4 does.

/** One drain of `warmup + n` preloaded jobs by one worker process. */
async function runDrain(o, lib, { n, warmup, concurrency, sleepMs, tag, gearmandArgs }) {
  return withGearmand(gearmandArgs === undefined ? o : { ...o, gearmandArgs }, async (gd, roles) => {
    const port = gd.port;
    await preload(port, warmup + n, o);
    const params = lib === 'c' ? { port, n, warmup } : { port, n, warmup, concurrency, 'sleep-ms': sleepMs };
    const timed = spawnWorker(lib, params, `${tag}-worker`);
    roles.push(timed);
    const m = await measure(timed, { client: undefined, worker: timed.pid, gearmand: gd.pid });
    await waitUntil(async () => ((await adminStatus(port)).get('echo')?.queued ?? 0) === 0, 5000, `the echo queue to be empty after ${tag}`);
    await finishRole(timed);
    return m;
  });
}

async function runWorkerConcurrency(o, results) {
  const s4c = o.scenarios.includes('S4c');
  const s5 = o.scenarios.includes('S5') && o.libs.includes('ts');
  if (!s4c && !s5) return;
  results.workerConcurrency = {};
  if (s4c) {
    const n = o.n ?? DEFAULT_N.S4;
    const warmup = o.warmup ?? Math.round(n / 10);
    const runs = { c: [] };
    for (const c of o.s4Concurrency) runs[`ts${c}`] = [];
    results.workerConcurrency.S4c = { n, warmup, runs };
    for (let run = 0; run < o.runs; run++) {
      const order = [...(o.libs.includes('c') ? ['c'] : []), ...(o.libs.includes('ts') ? o.s4Concurrency.map((c) => `ts${c}`) : [])];
      if (run % 2 === 1) order.reverse();
      for (const key of order) {
        const lib = key === 'c' ? 'c' : 'ts';
        const concurrency = key === 'c' ? 1 : Number(key.slice(2));
        const m = await runDrain(o, lib, { n, warmup, concurrency, sleepMs: 0, tag: `S4c-${key}-run${run + 1}` });
        runs[key].push(m);
        log(`S4c run ${run + 1}/${o.runs} ${key === 'c' ? 'libgearman (1 worker process)' : `gearman-ts concurrency ${concurrency}`} ${num(m.jobsPerSec).padStart(9)} jobs/s  worker CPU ${num((1e6 * m.cpu.workerSeconds) / m.jobs, 1)} us/job`);
      }
    }
  }
  if (s5) {
    const sleepMs = o.s5SleepMs;
    const points = {};
    results.workerConcurrency.S5 = { sleepMs, points };
    for (const concurrency of o.s5Concurrency) {
      const ideal = (concurrency * 1000) / sleepMs;
      // About 3 s of work at the ideal rate (at least 200 jobs).
      const n = o.n ?? Math.max(200, Math.round(ideal * 3));
      const warmup = o.warmup ?? Math.round(n / 10);
      points[concurrency] = { n, warmup, ideal, runs: [] };
      for (let run = 0; run < o.runs; run++) {
        // A queue of 30,000 jobs in gearmand's default 991 hash buckets makes every GRAB cost
        // gearmand time in proportion to the queue (see S1 size above): S5 measures the worker.
        const m = await runDrain(o, 'ts', { n, warmup, concurrency, sleepMs, tag: `S5-c${concurrency}-run${run + 1}`, gearmandArgs: ['--hashtable-buckets=1000003'] });
        points[concurrency].runs.push(m);
        log(`S5 concurrency ${concurrency} run ${run + 1}/${o.runs} ${num(m.jobsPerSec).padStart(9)} jobs/s (ideal ${num(ideal)}, ${num((100 * m.jobsPerSec) / ideal, 1)}%)  worker CPU ${num((1e6 * m.cpu.workerSeconds) / m.jobs, 1)} us/job`);
      }
    }
  }
}

function workerConcurrencyTables(o, results) {
  const parts = [];
  const verdicts = [];
  const wc = results.workerConcurrency;
  if (wc.S4c) {
    const c = wc.S4c.runs.c.length > 0 ? summarizeRuns(wc.S4c.runs.c) : null;
    const rows = [];
    if (c) rows.push(['libgearman, 1 worker process', num(c.jobsPerSec), '1.00x', num(c.cpuSecondsPerJob.worker * 1e6, 1), num(c.cpu.worker)]);
    for (const conc of o.s4Concurrency) {
      const runs = wc.S4c.runs[`ts${conc}`];
      if (!runs || runs.length === 0) continue;
      const t = summarizeRuns(runs);
      const ratio = c ? t.jobsPerSec / c.jobsPerSec : null;
      rows.push([`gearman-ts, concurrency ${conc}`, num(t.jobsPerSec), ratio === null ? '-' : `${ratio.toFixed(2)}x`, num(t.cpuSecondsPerJob.worker * 1e6, 1), num(t.cpu.worker)]);
      if (ratio !== null && conc === 16) {
        verdicts.push({ target: 'S4 at concurrency 16: gearman-ts >= 1.5x one libgearman worker process', measured: `${ratio.toFixed(2)}x (${num(t.jobsPerSec)} vs ${num(c.jobsPerSec)} jobs/s)`, pass: ratio >= 1.5 });
      }
    }
    parts.push(`S4 work-drain with worker concurrency, N=${num(wc.S4c.n)} (median of ${o.runs})`, '', markdownTable(['worker', 'jobs/s', 'vs libgearman', 'worker CPU us/job', 'worker CPU%'], rows));
  }
  if (wc.S5) {
    const rows = [];
    for (const [conc, point] of Object.entries(wc.S5.points)) {
      const t = summarizeRuns(point.runs);
      const share = t.jobsPerSec / point.ideal;
      rows.push([num(Number(conc)), num(point.n), num(t.jobsPerSec), num(point.ideal), `${(100 * share).toFixed(1)}%`, num(t.cpuSecondsPerJob.worker * 1e6, 1), num(t.cpu.worker)]);
      if (Number(conc) === 100) verdicts.push({ target: `S5 io-bound at concurrency 100: >= 80% of ideal (${num(point.ideal)} jobs/s)`, measured: `${(100 * share).toFixed(1)}% (${num(t.jobsPerSec)} jobs/s)`, pass: share >= 0.8 });
    }
    if (parts.length > 0) parts.push('');
    parts.push(`S5 io-bound: each job awaits ${wc.S5.sleepMs} ms; one gearman-ts worker process (median of ${o.runs})`, '', markdownTable(['concurrency', 'N', 'jobs/s', 'ideal jobs/s', 'of ideal', 'worker CPU us/job', 'worker CPU%'], rows));
  }
  return { table: parts.join('\n'), verdicts };
}

// -------------------------------------------------------------------------------------------

async function main() {
  const o = parseOptions(process.argv.slice(2));
  if (o.runs < 3) log(`note: --runs ${o.runs}; the issue asks for the median of at least 3 runs`);
  const env = await preflight(o);
  mkdirSync(OUT, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  if (o.cpuProf) {
    profileDir = path.join(OUT, `profiles-${stamp}`);
    mkdirSync(profileDir, { recursive: true });
    log(`profiling the gearman-ts processes into ${path.relative(ROOT, profileDir)} (throughput is lower under the profiler)`);
  }
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const results = {
    started: new Date().toISOString(),
    machine: { cpus: os.cpus().length, node: process.version, gearmand: env.version, gearmandThreads: o.threads, gearmanTs: pkg.version },
    options: o,
    scenarios: {},
  };
  const distMtime = () => newestMtime(path.join(ROOT, 'dist'), '.js');
  const distBuilt = distMtime();
  results.machine.distBuilt = new Date(distBuilt).toISOString();
  const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  if (head.status === 0) results.machine.commit = head.stdout.trim();
  log(`gearman-ts ${pkg.version} (dist/) vs libgearman, gearmand ${env.version}, --threads=${o.threads}, Node ${process.version}, ${results.machine.cpus} CPUs; ${o.runs} runs each`);

  const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  results.machine.loadavgStart = loadavg();
  const t0 = performance.now();
  await runScenarios(o, results);
  await runWorkerConcurrency(o, results);
  if (o.scenarios.includes('flat')) await runFlatness(o, results);
  if (o.scenarios.includes('memory') && o.libs.includes('ts')) await runMemory(o, results);

  const out = [];
  const verdicts = [];
  out.push('');
  if (distMtime() !== distBuilt) out.push('WARNING: dist/ was rebuilt while the bench ran; runs may have measured different builds');
  out.push(`gearman-ts ${pkg.version} (dist/ built ${results.machine.distBuilt}${results.machine.commit ? `, HEAD ${results.machine.commit}` : ''}) vs libgearman ${env.version}; gearmand --threads=${o.threads} on 127.0.0.1, fresh per run; Node ${process.version}; ${results.machine.cpus} CPUs`);
  results.machine.loadavgEnd = loadavg();
  results.idleBeforeRuns = idleSamples;
  out.push(`CPU placement (--pin): ${o.pin === 'none' ? 'none (the OS schedules client, worker and gearmand)' : o.pin === 'one' ? 'one (client, worker and gearmand all on CPU 0)' : 'split (gearmand on CPU 0, client and worker on CPU 1)'}`);
  out.push(`median of ${o.runs} alternating runs per library; 32-byte payloads; CPU% = one core per 100; MB = 10^6 bytes; load average ${results.machine.loadavgStart} at start, ${results.machine.loadavgEnd} at end`);
  if (idleSamples.length > 0) out.push(`--wait-idle ${o.waitIdle}: machine idle before the runs: min ${Math.min(...idleSamples)}%, median ${median(idleSamples)}%`);
  if (Object.keys(results.scenarios).length > 0) {
    const s = scenarioTable(o, results);
    out.push('', s.table);
    verdicts.push(...s.verdicts);
  }
  if (results.workerConcurrency) {
    const w = workerConcurrencyTables(o, results);
    out.push('', w.table);
    verdicts.push(...w.verdicts);
  }
  if (results.flat) {
    const f = flatnessTable(o, results);
    out.push('', `Flatness: S3 with ${o.flatP.join(', ')} jobs in flight, N=${num(o.flatN)} (median of ${o.runs})`, '', f.table);
    verdicts.push(...f.verdicts);
  }
  if (results.memory) {
    const m = memoryTable(o, results);
    out.push('', 'Memory (gearman-ts client)', '', m.table);
    verdicts.push(...m.verdicts);
  }
  if (verdicts.length > 0) {
    out.push('', 'Targets', '', markdownTable(['target', 'measured', 'result'], verdicts.map((v) => [v.target, v.measured, v.pass ? 'PASS' : 'FAIL'])));
  }
  results.verdicts = verdicts;
  results.seconds = (performance.now() - t0) / 1000;
  out.push('', `total ${num(results.seconds)} s`);
  process.stdout.write(`${out.join('\n')}\n`);

  const jsonPath = o.json ?? path.join(OUT, `results-${stamp}.json`);
  writeFileSync(jsonPath, JSON.stringify(results, null, 2));
  log(`all measurements: ${path.relative(process.cwd(), jsonPath)}`);

  if (profileDir !== undefined) {
    const files = readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile')).sort();
    for (const file of files) {
      process.stdout.write(`\n== profile ${path.relative(ROOT, path.join(profileDir, file))}\n`);
      process.stdout.write(`${summarize(JSON.parse(readFileSync(path.join(profileDir, file), 'utf8')), 15)}\n`);
    }
  }
}

// --embedded: the embedded server against gearmand, with our client and worker (bench/server.mjs).
const start = process.argv.includes('--embedded') ? () => import('./server.mjs').then((m) => m.runServerBench(process.argv.slice(2))) : main;

start().then(
  () => process.exit(0),
  (err) => {
    log(`bench failed: ${err?.stack ?? err}`);
    process.exit(1);
  },
);
