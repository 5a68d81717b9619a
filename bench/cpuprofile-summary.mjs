// Summarizes a V8 .cpuprofile (written by `node --cpu-prof`, e.g. by `npm run bench -- --cpu-prof`):
// the functions with the most self time, the gearman-ts functions with the most inclusive time,
// and the share of time per area (gearman-ts, Node internals, GC, idle, ...).
//
//   node bench/cpuprofile-summary.mjs <file.cpuprofile> [more files] [--top 20]
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function location(frame) {
  let url = frame.url || '';
  if (url.startsWith('file://')) url = fileURLToPath(url);
  if (url.startsWith(ROOT)) url = path.relative(ROOT, url);
  return url ? `${url}:${frame.lineNumber + 1}` : '';
}

function area(frame) {
  const name = frame.functionName;
  const url = frame.url || '';
  if (name === '(garbage collector)') return 'GC';
  if (name === '(idle)') return 'idle';
  if (name === '(program)') return 'native (program)';
  if (name === '(root)') return 'root';
  if (/\/dist\//.test(url)) return 'gearman-ts (dist/)';
  if (/\/bench\//.test(url)) return 'bench script';
  if (/node_modules/.test(url)) return 'dependencies';
  if (url.startsWith('node:') || url === '') return 'Node internals / native';
  return 'other';
}

/**
 * @param {any} profile  parsed .cpuprofile JSON
 * @param {number} top
 * @returns {string}
 */
export function summarize(profile, top = 20) {
  const byId = new Map();
  for (const node of profile.nodes) byId.set(node.id, node);
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const key = (node) => `${node.callFrame.functionName || '(anonymous)'}\u0000${location(node.callFrame)}`;

  const self = new Map();
  const inclusive = new Map();
  const areas = new Map();
  let total = 0;
  const { samples, timeDeltas } = profile;
  for (let i = 0; i < samples.length; i++) {
    const dt = Math.max(0, timeDeltas[i] ?? 0);
    const node = byId.get(samples[i]);
    if (node === undefined) continue;
    total += dt;
    const k = key(node);
    self.set(k, (self.get(k) ?? 0) + dt);
    const a = area(node.callFrame);
    areas.set(a, (areas.get(a) ?? 0) + dt);
    const seen = new Set();
    for (let id = node.id; id !== undefined; id = parent.get(id)) {
      const n = byId.get(id);
      const kk = key(n);
      if (seen.has(kk)) continue;
      seen.add(kk);
      if (area(n.callFrame) === 'gearman-ts (dist/)') inclusive.set(kk, (inclusive.get(kk) ?? 0) + dt);
    }
  }
  const busy = total - (areas.get('idle') ?? 0);
  const fmt = (us) => `${(us / 1000).toFixed(1).padStart(8)} ms ${((100 * us) / busy).toFixed(1).padStart(5)}%`;
  const row = ([k, us]) => {
    const [name, loc] = k.split('\u0000');
    return `${fmt(us)}  ${name}${loc ? `  ${loc}` : ''}`;
  };
  const out = [];
  out.push(`total ${(total / 1000).toFixed(0)} ms sampled, ${(busy / 1000).toFixed(0)} ms not idle (percentages are of the non-idle time)`);
  out.push('by area:');
  for (const entry of [...areas].filter(([a]) => a !== 'idle').sort((a, b) => b[1] - a[1])) out.push(`  ${fmt(entry[1])}  ${entry[0]}`);
  out.push(`top ${top} by self time:`);
  for (const entry of [...self].filter(([k]) => !k.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, top)) out.push(`  ${row(entry)}`);
  out.push(`top ${top} gearman-ts functions by inclusive time:`);
  for (const entry of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top)) out.push(`  ${row(entry)}`);
  return out.join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  let top = 20;
  const files = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--top') top = Number(args[++i]);
    else files.push(args[i]);
  }
  if (files.length === 0) {
    console.error('usage: node bench/cpuprofile-summary.mjs <file.cpuprofile> [...] [--top 20]');
    process.exit(2);
  }
  for (const file of files) {
    console.log(`== ${file}`);
    console.log(summarize(JSON.parse(readFileSync(file, 'utf8')), top));
  }
}
