// The README runs as written: every ```js and ```ts block is type-checked under strict TypeScript
// against the built package (as a user's editor would see it) and run as a script that must end
// by itself. JavaScript blocks that call require() are CommonJS, checked as JavaScript (.cjs with
// checkJs: TypeScript types require() calls in JavaScript files); the others, JavaScript or
// TypeScript, are checked as TypeScript ES modules (.mts), as a TypeScript user pasting them would.
// Host names in the blocks ('localhost:4730', 'otherhost:4730') are pointed at the embedded job
// server once the tree has one (spec/package/job-server.ts), else at the shared gearmand.
//
// A block tagged ```js vitest is a spec file shown to users, not a program: it is type-checked
// with the others (as a .test.mts) and run by vitest, from a folder that holds it and the module
// it imports (examples/testing-your-workers/word-count-worker.mjs, the one the README names).
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJobServer, type JobServer } from './job-server.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tsc = join(root, 'node_modules/typescript/bin/tsc');

interface Block {
  /** 1-based line of the opening fence. */
  line: number;
  lang: 'js' | 'ts';
  code: string;
  commonjs: boolean;
  /** Tagged ```js vitest: a spec file, run by vitest instead of node. */
  vitest: boolean;
}

/** The ```js / ```ts blocks of a Markdown file. */
export function codeBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(js|ts|javascript|typescript)(?:\s+(vitest))?\s*$/.exec(lines[i]!);
    if (open === null) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    const code = body.join('\n') + '\n';
    const lang = open[1]!.startsWith('t') ? 'ts' : 'js';
    blocks.push({ line: start + 1, lang, code, commonjs: lang === 'js' && /\brequire\(/.test(code), vitest: open[2] === 'vitest' });
  }
  return blocks;
}

/** The file a block is written to in the temporary folder. */
function fileOf(block: Block, n: number): string {
  if (block.vitest) return `block-${n}.test.mts`;
  return `block-${n}.${block.commonjs ? 'cjs' : 'mts'}`;
}

function run(file: string, args: string[], cwd: string, timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, timeout: timeoutMs }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

const blocks = codeBlocks(readFileSync(join(root, 'README.md'), 'utf8'));
let dir: string;
let server: JobServer | undefined;

describe('README code blocks', () => {
  beforeAll(async () => {
    // Inside the package, so `import 'gearman-ts'` resolves to this tree's build (self-reference).
    dir = mkdtempSync(join(root, '.readme-blocks-'));
    server = await startJobServer();
    for (const [n, block] of blocks.entries()) {
      const code = block.code.replace(/'[a-z][a-z0-9.-]*:4730'/g, `'${server.host}'`);
      writeFileSync(join(dir, fileOf(block, n)), code);
    }
    // The module the vitest block imports, as the README says it sits beside the spec.
    copyFileSync(join(root, 'examples/testing-your-workers/word-count-worker.mjs'), join(dir, 'word-count-worker.mjs'));
    // Its own vitest config, so vitest does not take the project's (found above this folder).
    writeFileSync(join(dir, 'vitest.config.mjs'), "export default { test: { include: ['*.test.mts'] } };\n");
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2023',
          lib: ['ES2023'],
          module: 'nodenext',
          moduleResolution: 'nodenext',
          types: ['node'],
          typeRoots: [join(root, 'node_modules/@types')],
          strict: true,
          exactOptionalPropertyTypes: true,
          noUncheckedIndexedAccess: true,
          skipLibCheck: false,
          allowJs: true,
          checkJs: true,
        },
        include: ['*.mts', '*.cjs'],
      }),
    );
    // JavaScript to run, type errors or not (the type check is its own spec).
    const emit = await run(process.execPath, [tsc, '-p', 'tsconfig.json', '--noCheck', '--outDir', 'out'], dir, 120_000);
    if (emit.code !== 0) throw new Error(`tsc could not emit the README blocks:\n${emit.stdout}${emit.stderr}`);
  }, 150_000);

  afterAll(async () => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    await server?.close();
  });

  it('has code blocks to run', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(2);
  });

  it('type-checks every block under strict TypeScript', async () => {
    const result = await run(process.execPath, [tsc, '-p', 'tsconfig.json', '--noEmit'], dir, 120_000);
    // Name the README line of each error, not the temporary file.
    const report = result.stdout.replace(/block-(\d+)(?:\.test)?\.(?:mts|cjs)/g, (_, n: string) => `README.md block at line ${blocks[Number(n)]!.line}`);
    expect(report).toBe('');
    expect(result.code).toBe(0);
  }, 150_000);

  it('has the vitest block of "Testing your workers"', () => {
    expect(blocks.filter((b) => b.vitest).length).toBeGreaterThanOrEqual(1);
  });

  for (const [n, block] of blocks.entries()) {
    if (block.vitest) {
      it(`runs the js vitest block at README.md line ${block.line} with vitest, and it passes`, async () => {
        const vitest = join(root, 'node_modules/vitest/vitest.mjs');
        const result = await run(process.execPath, [vitest, 'run', '--config', 'vitest.config.mjs', fileOf(block, n)], dir, 120_000);
        expect(result.code, `vitest on README.md line ${block.line}:\n${result.stdout}${result.stderr}`).toBe(0);
        // One test, and it passed (vitest colours its summary).
        expect(result.stdout.replace(/\x1b\[[0-9;]*m/g, '')).toMatch(/Tests\s+1 passed \(1\)/);
      }, 180_000);
      continue;
    }
    it(`runs the ${block.lang} block at README.md line ${block.line}, which ends by itself`, async () => {
      const file = join('out', `block-${n}.${block.commonjs ? 'cjs' : 'mjs'}`);
      const result = await run(process.execPath, [file], dir, 30_000);
      expect(result.stderr).toBe('');
      expect(result.code, `exit code of README.md line ${block.line} (null: it did not end within 30 s)`).toBe(0);
    }, 180_000);
  }
});
