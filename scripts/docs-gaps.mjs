// `npm run docs:gaps`: what typedoc's notDocumented validation does not check. Builds the API
// model (typedoc --json) and lists public classes without an @example and parameters without a
// description, each with the file it is declared in. Exits non-zero if there is any.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'gearman-ts-docs-'));
const json = join(dir, 'api.json');
try {
  // `npm run` puts node_modules/.bin on PATH.
  execFileSync('typedoc', ['--json', json, '--out', join(dir, 'html'), '--logLevel', 'Error'], { stdio: 'inherit' });
  const project = JSON.parse(readFileSync(json, 'utf8'));
  const gaps = [];
  const where = (r) => (r.sources?.[0]?.fileName ?? '?').replace(/^.*?(?=lib\/)/, '');
  const walk = (r, path) => {
    if (r.inheritedFrom !== undefined) return;
    const name = path ? `${path}.${r.name}` : r.name;
    if (r.kind === 128 /* Class */ && !(r.comment?.blockTags ?? []).some((t) => t.tag === '@example')) {
      gaps.push(`${where(r)}: class ${name} has no @example`);
    }
    for (const s of r.signatures ?? []) {
      const missing = (s.parameters ?? []).filter((p) => p.comment === undefined).map((p) => p.name);
      if (missing.length > 0) gaps.push(`${where(s)}: ${name}(${missing.join(', ')}): parameter without a description`);
    }
    for (const child of r.children ?? []) walk(child, r.kind === 1 /* Project */ ? '' : name);
  };
  walk(project, '');
  for (const line of [...new Set(gaps)].sort()) console.log(line);
  console.log(`docs:gaps: ${gaps.length} gap(s)`);
  process.exitCode = gaps.length > 0 ? 1 : 0;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
