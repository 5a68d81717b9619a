// After `tsc` with `stripInternal`: keeps the published .d.ts files consistent with themselves.
//
// stripInternal drops every declaration tagged @internal. Two shapes then no longer type-check
// for a consumer who compiles with `skipLibCheck: false`:
// - `class C implements I` where C's members that satisfy I were internal. A class's `implements`
//   clause means nothing to a consumer (assignability is structural), so it is removed.
// - `protected abstract m()` on a base class whose subclasses' implementations were internal.
//   The member stays, without `abstract` (the class itself stays abstract).
// The edits are made in place on the emitted text, so the rest of each file is left as tsc wrote it.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

const root = process.argv[2] ?? 'dist';

function* declarationFiles(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* declarationFiles(path);
    else if (entry.name.endsWith('.d.ts')) yield path;
  }
}

let changed = 0;
for (const file of declarationFiles(root)) {
  const text = readFileSync(file, 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const cuts = []; // [start, end) ranges to delete
  const visit = (node) => {
    if (ts.isClassDeclaration(node)) {
      for (const clause of node.heritageClauses ?? []) {
        if (clause.token === ts.SyntaxKind.ImplementsKeyword) cuts.push([clause.getFullStart(), clause.getEnd()]);
      }
      for (const member of node.members) {
        for (const modifier of ts.getModifiers(member) ?? []) {
          if (modifier.kind === ts.SyntaxKind.AbstractKeyword) cuts.push([modifier.getStart(), modifier.getEnd() + 1]);
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  if (cuts.length === 0) continue;
  let out = text;
  for (const [start, end] of cuts.sort((a, b) => b[0] - a[0])) out = out.slice(0, start) + out.slice(end);
  writeFileSync(file, out);
  changed++;
}
console.log(`fix-stripped-dts: ${changed} declaration file(s) adjusted under ${root}/`);
