// Runs examples/admin.mjs (which imports the built package, dist/: run `npm run build` first)
// against the shared gearmand, with a worker of our own connected, and checks what it prints
// against gearadmin and against that worker.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { GearmanWorker } from '../../lib/index.js';
import { sharedHosts, sharedPort, taskName, until } from '../helpers/env.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));

describe('examples/admin.mjs', () => {
  it('prints the version, task queues, connections and a ping time, then ends by itself', async () => {
    expect(existsSync(`${root}dist/index.js`), 'dist/ is missing: run npm run build').toBe(true);
    const task = taskName('admin-example');
    const clientId = `example ${task}`;
    const worker = new GearmanWorker(sharedHosts());
    worker.setClientId(clientId);
    worker.registerTask(task, () => 'done');
    const working = worker.work();
    try {
      const gearadmin = (flag: string) => run('gearadmin', ['-h', '127.0.0.1', '-p', String(sharedPort()), flag], { encoding: 'utf8' });
      await until(async () => (await gearadmin('--workers')).stdout.includes(` ${clientId} : ${task}\n`));
      const version = (await gearadmin('--server-version')).stdout.trim();

      const { stdout, stderr } = await run(process.execPath, ['examples/admin.mjs'], {
        cwd: root,
        env: { ...process.env, GEARMAN_SERVERS: sharedHosts()[0] },
        encoding: 'utf8',
        timeout: 20_000,
      });

      expect(stderr).toBe('');
      const lines = stdout.split('\n');
      expect(lines[0]).toBe(`${sharedHosts()[0]}: gearmand ${version}`);
      expect(lines).toContain(`  ${task}: 0 queued, 0 running, 1 worker(s)`);
      expect(lines).toContain(`  127.0.0.1 ${clientId}: ${task}`);
      // The example's own admin connection registered nothing.
      expect(lines).toContain('  127.0.0.1 -: (no tasks)');
      expect(lines.filter((l) => /^\d+ task\(s\):$/.test(l))).toHaveLength(1);
      expect(lines.filter((l) => /^\d+ connection\(s\):$/.test(l))).toHaveLength(1);
      expect(lines.at(-2)).toMatch(/^ping: \d+\.\d\d ms$/);
      expect(lines.at(-1)).toBe('');
    } finally {
      worker.shutdown();
      await working;
    }
  });
});
