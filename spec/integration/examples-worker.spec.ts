// Runs the worker examples (examples/worker-*.mjs) against the shared gearmand and checks what
// they print. Each must end by itself. They import 'gearman-ts', which resolves to dist/ (the
// package's self-reference), so this needs `npm run build` first (`npm test` does it).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { sharedHosts, taskName } from '../helpers/env.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

function runExample(file: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [`examples/${file}`],
      {
        cwd: root,
        timeout: 20_000,
        env: { ...process.env, GEARMAN_SERVERS: sharedHosts().join(','), GEARMAN_TASK: taskName(file.replace(/\.mjs$/, '')) },
      },
      (error, stdout, stderr) => resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr }),
    );
  });
}

beforeAll(() => {
  if (!existsSync(`${root}/dist/index.js`)) throw new Error('dist/ is missing: run `npm run build` before this spec (npm test does)');
});

describe('worker examples', () => {
  it('worker-reverse.mjs reverses each word and ends', async () => {
    const { code, stdout, stderr } = await runExample('worker-reverse.mjs');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout.trim().split('\n')).toEqual(['stressed -> desserts', 'drawer -> reward', 'gearman -> namraeg']);
  });

  it('worker-in-flight-updates.mjs prints each WORK_DATA and WORK_STATUS as it arrives, then the result', async () => {
    const { code, stdout, stderr } = await runExample('worker-in-flight-updates.mjs');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const expected = [...'namraeg'].flatMap((c, i) => [`data: ${c}`, `status: ${i + 1}/7`]);
    expect(stdout.trim().split('\n')).toEqual([...expected, 'COMPLETE: namraeg']);
  });

  it('worker-json-after-poll.mjs exchanges JSON and is stopped by afterPoll', async () => {
    const { code, stdout, stderr } = await runExample('worker-json-after-poll.mjs');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout.trim().split('\n')).toEqual([
      '[1,2,3] -> {"sum":6}',
      '[10,20] -> {"sum":30}',
      '[0.5,0.25] -> {"sum":0.75}',
      'worker stopped: afterPoll returned false',
    ]);
  });
});
