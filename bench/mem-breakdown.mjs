// What the client keeps per foreground request in flight, object by object: the inflight memory
// check of bench/ts-memory.mjs, with a heap snapshot before and after, grouped by constructor.
//
//   npm run build && node --expose-gc bench/mem-breakdown.mjs [--n 10000] [--root DIR] [--top 30]
//
// --root: the package root whose dist/ is measured (default this worktree), so two builds can be
// compared side by side on the same gearmand. Starts its own private gearmand on 127.0.0.1.
import { writeHeapSnapshot } from 'node:v8';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startGearmand } from '../spec/helpers/gearmand.mjs';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? fallback : args[i + 1];
};
const n = Number(opt('n', 10000));
const top = Number(opt('top', 30));
/** --retainers type:name: for the objects of that kind, which (retainer kind, edge) hold them. */
const retainersOf = opt('retainers', undefined);
const root = resolve(opt('root', fileURLToPath(new URL('..', import.meta.url))));
const { GearmanClient } = await import(pathToFileURL(join(root, 'dist/index.js')).href);

if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');
const fullGc = () => {
  for (let i = 0; i < 4; i++) globalThis.gc();
};

/** Self size and count per "type:name" of every node of a heap snapshot. */
function summarize(file) {
  const snap = JSON.parse(readFileSync(file, 'utf8'));
  rmSync(file);
  const meta = snap.snapshot.meta;
  const fields = meta.node_fields;
  const types = meta.node_types[0];
  const F = fields.length;
  const iType = fields.indexOf('type');
  const iName = fields.indexOf('name');
  const iSize = fields.indexOf('self_size');
  const nodes = snap.nodes;
  const strings = snap.strings;
  const out = new Map();
  if (retainersOf !== undefined) out.retainers = retainerCounts(snap, retainersOf);
  if (retainersOf !== undefined && process.argv.includes('--path')) out.paths = retainerPaths(snap, retainersOf);
  for (let i = 0; i < nodes.length; i += F) {
    const type = types[nodes[i + iType]];
    let name = strings[nodes[i + iName]];
    if (type === 'string' || type === 'concatenated string' || type === 'sliced string') name = '';
    if (type === 'code' || type === 'hidden') name = name.length > 40 ? name.slice(0, 40) : name;
    const key = `${type}:${name}`;
    const e = out.get(key) ?? { count: 0, size: 0 };
    e.count++;
    e.size += nodes[i + iSize];
    out.set(key, e);
  }
  return out;
}

function retainerCounts(snap, wanted) {
  const meta = snap.snapshot.meta;
  const F = meta.node_fields.length;
  const E = meta.edge_fields.length;
  const types = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const iType = meta.node_fields.indexOf('type');
  const iName = meta.node_fields.indexOf('name');
  const iEdges = meta.node_fields.indexOf('edge_count');
  const eType = meta.edge_fields.indexOf('type');
  const eName = meta.edge_fields.indexOf('name_or_index');
  const eTo = meta.edge_fields.indexOf('to_node');
  const { nodes, edges, strings } = snap;
  const label = (i) => `${types[nodes[i + iType]]}:${strings[nodes[i + iName]]}`;
  const counts = new Map();
  let e = 0;
  for (let i = 0; i < nodes.length; i += F) {
    const from = label(i);
    const fromWanted = from === wanted;
    for (let k = 0; k < nodes[i + iEdges]; k++, e += E) {
      const to = edges[e + eTo];
      if (fromWanted) {
        // Outgoing edges of the wanted kind too, marked with '->'.
        const et = edgeTypes[edges[e + eType]];
        const en = et === 'element' || et === 'hidden' || typeof strings[edges[e + eName]] !== 'string' || /^\d+$/.test(strings[edges[e + eName]]) ? `[${et}]` : strings[edges[e + eName]];
        const key = `-> .${en} ${label(to)}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      if (label(to) !== wanted) continue;
      const et = edgeTypes[edges[e + eType]];
      if (et !== 'element' && et !== 'hidden' && strings[edges[e + eName]] === '__proto__') continue;
      const en = et === 'element' || et === 'hidden' || typeof strings[edges[e + eName]] !== 'string' || /^\d+$/.test(strings[edges[e + eName]]) ? `[${et}]` : strings[edges[e + eName]];
      const key = `${from} .${en} (${et})`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return counts;
}

/** For the newest few nodes of kind `wanted`: the chain of first strong retainers, 8 levels up. */
function retainerPaths(snap, wanted) {
  const meta = snap.snapshot.meta;
  const F = meta.node_fields.length;
  const E = meta.edge_fields.length;
  const types = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const iType = meta.node_fields.indexOf('type');
  const iName = meta.node_fields.indexOf('name');
  const iId = meta.node_fields.indexOf('id');
  const iEdges = meta.node_fields.indexOf('edge_count');
  const eType = meta.edge_fields.indexOf('type');
  const eName = meta.edge_fields.indexOf('name_or_index');
  const eTo = meta.edge_fields.indexOf('to_node');
  const { nodes, edges, strings } = snap;
  const label = (i) => `${types[nodes[i + iType]]}:${strings[nodes[i + iName]]}`;
  const retainer = new Map(); // node index -> [from index, edge label]
  let e = 0;
  for (let i = 0; i < nodes.length; i += F) {
    for (let k = 0; k < nodes[i + iEdges]; k++, e += E) {
      const et = edgeTypes[edges[e + eType]];
      if (et === 'weak' || et === 'shortcut') continue;
      const to = edges[e + eTo];
      if (retainer.has(to)) continue;
      const en = et === 'element' || et === 'hidden' ? `[${edges[e + eName]}]` : strings[edges[e + eName]];
      if (en === '__proto__' || en === 'map') continue;
      retainer.set(to, [i, `${en} (${et})`]);
    }
  }
  const picks = [];
  for (let i = 0; i < nodes.length; i += F) if (label(i) === wanted) picks.push(i);
  picks.sort((a, b) => nodes[b + iId] - nodes[a + iId]);
  const out = [];
  for (const start of picks.slice(0, 3)) {
    const chain = [label(start)];
    let at = start;
    for (let level = 0; level < 8; level++) {
      const r = retainer.get(at);
      if (r === undefined) break;
      chain.push(`<- ${r[1]} of ${label(r[0])}`);
      at = r[0];
    }
    out.push(chain.join('\n     '));
  }
  return out;
}

function snapshot(tag) {
  fullGc();
  const file = join(tmpdir(), `mem-breakdown-${process.pid}-${tag}.heapsnapshot`);
  writeHeapSnapshot(file);
  return summarize(file);
}

const gd = await startGearmand();
const client = new GearmanClient([`127.0.0.1:${gd.port}`]);
const PAYLOAD = Buffer.alloc(32, 'x');
// The calls left in flight reject when gearmand stops at the end: nobody listens.
process.on('unhandledRejection', () => undefined);
try {
  for (let i = 0; i < 1000; i++) void client.submitJob('bench_hold_warmup', PAYLOAD);
  await client.submitJob('bench_probe', PAYLOAD, { background: true });
  fullGc();
  const m0 = process.memoryUsage();
  const before = snapshot('before');
  for (let i = 0; i < n; i++) void client.submitJob('bench_hold', PAYLOAD);
  await client.submitJob('bench_probe', PAYLOAD, { background: true });
  fullGc();
  const m1 = process.memoryUsage();
  const after = snapshot('after');
  const rows = [];
  for (const [key, a] of after) {
    const b = before.get(key) ?? { count: 0, size: 0 };
    const size = a.size - b.size;
    const count = a.count - b.count;
    if (size !== 0 || count !== 0) rows.push({ key, perRequest: size / n, countPerRequest: count / n });
  }
  rows.sort((x, y) => y.perRequest - x.perRequest);
  const total = rows.reduce((s, r) => s + r.perRequest, 0);
  console.log(`root ${root}, ${n} requests in flight`);
  console.log(`memoryUsage: heapUsed+external +${(((m1.heapUsed + m1.external) - (m0.heapUsed + m0.external)) / n).toFixed(1)} B/request`);
  console.log(`snapshot self sizes: +${total.toFixed(1)} B/request\n`);
  console.log('B/request  objects/request  type:name');
  for (const r of rows.slice(0, top)) console.log(`${r.perRequest.toFixed(1).padStart(9)}  ${r.countPerRequest.toFixed(3).padStart(15)}  ${r.key}`);
  if (retainersOf !== undefined) {
    console.log(`\nretainers of ${retainersOf} (edges per request, after minus before)`);
    const rs = [];
    for (const [key, c] of after.retainers) rs.push([key, (c - (before.retainers.get(key) ?? 0)) / n]);
    rs.sort((x, y) => y[1] - x[1]);
    for (const [key, c] of rs.slice(0, top)) if (c !== 0) console.log(`${c.toFixed(3).padStart(9)}  ${key}`);
    for (const p of after.paths ?? []) console.log(`\n  ${p}`);
  }
} finally {
  await gd.stop();
  process.exit(0);
}
