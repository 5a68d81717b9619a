// The embedded server against gearmand, side by side: our client and worker (bench/ts-*.mjs)
// doing S1-S4 against gearmand and against GearmanServer (run in its own process by
// spec/helpers/embedded-server.mjs), alternating run by run; then the memory each server holds
// per queued background job. See bench/README.md, "The embedded server".
//
//   npm run bench -- --embedded                       S1-S4 and memory, 3 runs each
//   npm run bench -- --embedded --scenario S1,S4 --runs 5 --n 20000
//   npm run bench -- --embedded --scenario memory --mem-n 1000000
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { startGearmand } from '../spec/helpers/gearmand.mjs';
import { summarize } from './cpuprofile-summary.mjs';
import { RoleProcess, adminStatus, cpuSeconds, median, peakRssMiB, track, waitUntil } from './lib/harness.mjs';

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH, '..');
const NODE = process.execPath;
const DEFAULT_N = { S1: 50_000, S2: 20_000, S3: 50_000, S4: 50_000 };
const TITLES = { S1: 'S1 bg-submit', S2: 'S2 fg-seq', S3: 'S3 fg-par', S4: 'S4 work-drain' };
const SERVERS = ['gearmand', 'embedded'];
const TIMEOUT_MS = 15 * 60_000;
const log = (msg) => process.stderr.write(`${msg}\n`);

const HELP = `npm run bench -- --embedded [options]

  --scenario LIST   from S1,S2,S3,S4,memory (default: all)
  --runs N          runs per server and scenario, alternating the servers (default 3)
  --n N             jobs per timed window (default S1 ${DEFAULT_N.S1}, S2 ${DEFAULT_N.S2}, S3 ${DEFAULT_N.S3}, S4 ${DEFAULT_N.S4})
  --p N             S3 jobs in flight (default 100)
  --batch N         S1 submissions per batch (default 500)
  --mem-n N         background jobs queued for the memory check (default 1000000)
  --pin MODE        one (default: the server, client and worker all on CPU 0) or none
  --cpu-prof        run the embedded server under node --cpu-prof and summarize its profiles
                    (bench/out/server-profiles-<time>/; gearmand runs are not profiled)
`;

function parse(argv) {
  const o = { scenarios: ['S1', 'S2', 'S3', 'S4', 'memory'], runs: 3, n: undefined, p: 100, batch: 500, memN: 1_000_000, pin: 'one', cpuProf: false };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].includes('=') ? argv[i].split('=', 2) : [argv[i], undefined];
    const value = () => inline ?? argv[++i];
    if (flag === '--embedded') continue;
    else if (flag === '--help' || flag === '-h') {
      process.stdout.write(HELP);
      process.exit(0);
    } else if (flag === '--scenario' || flag === '--scenarios') o.scenarios = value().split(',').map((s) => (/^s\d$/i.test(s) ? s.toUpperCase() : s));
    else if (flag === '--runs') o.runs = Math.max(1, Number(value()));
    else if (flag === '--n') o.n = Math.max(1, Number(value()));
    else if (flag === '--p') o.p = Math.max(1, Number(value()));
    else if (flag === '--batch') o.batch = Math.max(1, Number(value()));
    else if (flag === '--mem-n') o.memN = Math.max(1, Number(value()));
    else if (flag === '--pin') o.pin = value();
    else if (flag === '--cpu-prof') o.cpuProf = true;
    else throw new Error(`unknown option ${flag}\n\n${HELP}`);
  }
  return o;
}

function pinned(command, args, o) {
  return o.pin === 'one' ? ['taskset', ['-c', '0', command, ...args]] : [command, args];
}

function roleProcess(label, script, params, o) {
  const args = [path.join(BENCH, script)];
  for (const [k, v] of Object.entries(params)) if (v !== undefined) args.push(`--${k}`, String(v));
  const [command, argv] = pinned(NODE, args, o);
  return new RoleProcess(label, command, argv, { cwd: ROOT });
}

// The embedded server under `node --cpu-prof` (spec/helpers/embedded-server.mjs takes no node
// options): port 0, read back from its `listening on` line; SIGTERM ends it with process.exit,
// which writes the profile.
async function startProfiledEmbedded(dir) {
  const script = path.join(ROOT, 'spec/helpers/embedded-server.mjs');
  const child = spawn(NODE, ['--cpu-prof', `--cpu-prof-dir=${dir}`, script, '--port=0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const port = await new Promise((resolve, reject) => {
    child.stderr.on('data', (d) => {
      stderr += d;
      const m = /listening on [^\s]*:(\d+)/.exec(stderr);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`the profiled embedded server exited (${code}): ${stderr}`)));
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  return { port, pid: child.pid, child, stop };
}

async function withServer(kind, o, fn) {
  const server = kind === 'embedded' && o.profileDir ? await startProfiledEmbedded(o.profileDir) : await startGearmand({ server: kind, threads: 4 });
  track(server.child);
  if (o.pin === 'one') {
    const r = spawnSync('taskset', ['-a', '-p', '-c', '0', String(server.pid)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`taskset could not pin the ${kind} server: ${r.stderr || r.error}`);
  }
  const roles = [];
  try {
    return await fn(server, roles);
  } finally {
    for (const role of roles) await role.stop();
    await server.stop();
  }
}

async function finishRole(role) {
  role.closeStdin();
  const timer = setTimeout(() => role.stop(), 10_000);
  await role.exited;
  clearTimeout(timer);
}

/** The server's read and write system calls so far (/proc/<pid>/io, every thread), or null. */
function syscalls(pid) {
  try {
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    return { reads: Number(/^syscr:\s+(\d+)/m.exec(io)[1]), writes: Number(/^syscw:\s+(\d+)/m.exec(io)[1]) };
  } catch {
    return null;
  }
}

async function measure(timed, pids) {
  await timed.waitFor('start', TIMEOUT_MS);
  const io0 = syscalls(pids.server);
  const cpu0 = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, pid === undefined ? null : cpuSeconds(pid)]));
  const w0 = performance.now();
  const line = await timed.waitFor('done', TIMEOUT_MS);
  const wall = (performance.now() - w0) / 1000;
  const result = JSON.parse(line.slice('done '.length));
  const cpu = {};
  for (const [k, pid] of Object.entries(pids)) {
    const c1 = pid === undefined ? null : cpuSeconds(pid);
    cpu[k] = c1 === null || cpu0[k] === null ? null : c1 - cpu0[k];
  }
  const io1 = syscalls(pids.server);
  const io = io0 === null || io1 === null ? null : { reads: (io1.reads - io0.reads) / result.jobs, writes: (io1.writes - io0.writes) / result.jobs };
  return { io, jobs: result.jobs, seconds: result.seconds, jobsPerSec: result.jobs / result.seconds, wall, cpu, serverRssMiB: peakRssMiB(pids.server) };
}

async function preload(port, count, o) {
  const loader = roleProcess('preload (gearman-ts client)', 'ts-client.mjs', { scenario: 'S1', port, n: count, warmup: 0, batch: o.batch }, o);
  await loader.waitFor('done', TIMEOUT_MS);
  await finishRole(loader);
  const queued = (await adminStatus(port)).get('echo')?.queued ?? 0;
  if (queued !== count) throw new Error(`preload: the server holds ${queued} echo jobs, expected ${count}`);
}

async function runOne(kind, scenario, o, n, warmup) {
  return withServer(kind, o, async (server, roles) => {
    const port = server.port;
    const pids = { server: server.pid, client: undefined, worker: undefined };
    let timed;
    if (scenario === 'S4') {
      await preload(port, warmup + n, o);
      timed = roleProcess('worker', 'ts-worker.mjs', { port, n, warmup }, o);
      roles.push(timed);
      pids.worker = timed.pid;
    } else {
      if (scenario !== 'S1') {
        const worker = roleProcess('worker', 'ts-worker.mjs', { port }, o);
        roles.push(worker);
        pids.worker = worker.pid;
        await waitUntil(async () => ((await adminStatus(port)).get('echo')?.workers ?? 0) >= 1, 10_000, 'the worker to register echo');
      }
      timed = roleProcess('client', 'ts-client.mjs', { scenario, port, n, warmup, batch: scenario === 'S1' ? o.batch : undefined, p: scenario === 'S3' ? o.p : undefined }, o);
      roles.push(timed);
      pids.client = timed.pid;
    }
    const m = await measure(timed, pids);
    await finishRole(timed);
    return m;
  });
}

function currentRssMiB(pid) {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function memoryOne(kind, o) {
  return withServer(kind, o, async (server) => {
    const before = currentRssMiB(server.pid);
    const t0 = performance.now();
    await preload(server.port, o.memN, o);
    const seconds = (performance.now() - t0) / 1000;
    const after = currentRssMiB(server.pid);
    return { jobs: o.memN, rssBeforeMiB: before, rssAfterMiB: after, bytesPerJob: ((after - before) * 1024 * 1024) / o.memN, peakMiB: peakRssMiB(server.pid), seconds };
  });
}

const fmt = (v, d = 0) => (v === null || v === undefined || Number.isNaN(v) ? '-' : v.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }));

function table(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

export async function runServerBench(argv) {
  const o = parse(argv);
  if (o.cpuProf) {
    o.profileDir = path.join(BENCH, 'out', `server-profiles-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    mkdirSync(o.profileDir, { recursive: true });
  }
  const results = {};
  for (const scenario of o.scenarios.filter((s) => /^S[1-4]$/.test(s))) {
    const n = o.n ?? DEFAULT_N[scenario];
    const warmup = Math.round(n / 10);
    results[scenario] = { gearmand: [], embedded: [] };
    for (let run = 0; run < o.runs; run++) {
      for (const kind of run % 2 === 0 ? SERVERS : [...SERVERS].reverse()) {
        log(`${TITLES[scenario]}: run ${run + 1}/${o.runs} against ${kind} (n=${n})`);
        const m = await runOne(kind, scenario, o, n, warmup);
        log(`  ${fmt(m.jobsPerSec)} jobs/s, server ${fmt((1e6 * m.cpu.server) / m.jobs, 1)} µs CPU/job (client ${fmt((1e6 * m.cpu.client) / m.jobs, 1)}, worker ${fmt((1e6 * m.cpu.worker) / m.jobs, 1)}), ${fmt(m.io?.reads, 2)} reads and ${fmt(m.io?.writes, 2)} writes/job`);
        results[scenario][kind].push(m);
      }
    }
  }
  const rows = [];
  for (const [scenario, r] of Object.entries(results)) {
    const med = (kind, f) => median(r[kind].map(f));
    const g = med('gearmand', (m) => m.jobsPerSec);
    const e = med('embedded', (m) => m.jobsPerSec);
    rows.push([
      TITLES[scenario],
      fmt(g),
      fmt(e),
      fmt(e / g, 2) + 'x',
      fmt(med('gearmand', (m) => (1e6 * m.cpu.server) / m.jobs), 1),
      fmt(med('embedded', (m) => (1e6 * m.cpu.server) / m.jobs), 1),
      `${fmt(med('gearmand', (m) => m.io?.writes), 2)} / ${fmt(med('embedded', (m) => m.io?.writes), 2)}`,
      `${fmt(med('gearmand', (m) => m.serverRssMiB), 0)} / ${fmt(med('embedded', (m) => m.serverRssMiB), 0)}`,
      `${r.gearmand.map((m) => fmt(m.jobsPerSec)).join(', ')} / ${r.embedded.map((m) => fmt(m.jobsPerSec)).join(', ')}`,
    ]);
  }
  if (rows.length > 0) {
    console.log(`\nOur client and worker against gearmand and against the embedded server (pin: ${o.pin}; medians of ${o.runs} runs)\n`);
    console.log(
      table(['scenario', 'gearmand jobs/s', 'embedded jobs/s', 'embedded/gearmand', 'gearmand µs CPU/job', 'embedded µs CPU/job', 'server writes/job (g / e)', 'server peak RSS MiB (g / e)', 'every run (g / e)'], rows),
    );
  }
  if (o.profileDir) {
    for (const file of readdirSync(o.profileDir).filter((f) => f.endsWith('.cpuprofile')).sort()) {
      console.log(`\nEmbedded server profile ${path.join(o.profileDir, file)}\n`);
      console.log(summarize(JSON.parse(readFileSync(path.join(o.profileDir, file), 'utf8')), 15));
    }
  }
  if (o.scenarios.includes('memory')) {
    const mem = [];
    for (const kind of SERVERS) {
      log(`memory: ${fmt(o.memN)} queued background jobs into ${kind}`);
      mem.push([kind, await memoryOne(kind, o)]);
    }
    console.log(`\nMemory held per queued background job (${fmt(o.memN)} jobs of 32 bytes with a 32-character unique)\n`);
    console.log(
      table(
        ['server', 'RSS before MiB', 'RSS after MiB', 'bytes per job', 'peak RSS MiB', 'queued in s'],
        mem.map(([kind, m]) => [kind, fmt(m.rssBeforeMiB, 1), fmt(m.rssAfterMiB, 1), fmt(m.bytesPerJob), fmt(m.peakMiB, 0), fmt(m.seconds, 1)]),
      ),
    );
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  runServerBench(process.argv.slice(2)).catch((err) => {
    log(err.stack ?? String(err));
    process.exit(1);
  });
}
