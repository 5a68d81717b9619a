// `npm run attw`: @arethetypeswrong/cli on the packed package, every entry point.
//
// One rule is ignored: cjs-resolves-to-esm. attw resolves with its own TypeScript (5.6), which
// predates require(esm); Node >= 20.19 (the package's engines) and TypeScript >= 5.8 with
// `module: nodenext` load this ES module from CommonJS. spec/package/commonjs.spec.ts proves it
// for a .cjs file and for a .cts file compiled by the project's tsc.
//
// Until the embedded server is part of the tree (lib/server/index.ts), "./server" is left out,
// loudly; once the source exists the entry is checked like the others.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

// `npm run` puts node_modules/.bin on PATH.
const args = ['--pack', '.', '--ignore-rules', 'cjs-resolves-to-esm', '--format', 'table-flipped'];
if (!existsSync('lib/server/index.ts')) {
  console.warn('attw: lib/server/index.ts is not in this tree yet: "./server" is not checked');
  args.push('--exclude-entrypoints', './server');
}
execFileSync('attw', args, { stdio: 'inherit' });
