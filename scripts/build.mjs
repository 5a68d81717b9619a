// `npm run build` (also `prepare`, so a git install and `npm pack` ship dist/): a clean dist/,
// tsc, then the declaration fix-up that keeps the stripped .d.ts files consistent.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
rmSync('dist', { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json'], { stdio: 'inherit' });
execFileSync(process.execPath, ['scripts/fix-stripped-dts.mjs', 'dist'], { stdio: 'inherit' });
