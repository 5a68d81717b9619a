// A script that got its results can end: idle client connections do not keep the process alive.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { sharedHosts, taskName } from '../helpers/env.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

function runScript(source: string, timeoutMs = 10_000): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(process.execPath, ['--input-type=module', '-e', source], { cwd: root, timeout: timeoutMs }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr, ms: Date.now() - started });
    });
  });
}

describe('process lifetime', () => {
  it('ends after a background submission and a status query without shutdown()', async () => {
    const task = taskName('idle');
    const run = await runScript(`
      import { GearmanClient } from 'gearman-ts';
      const client = new GearmanClient(${JSON.stringify(sharedHosts())});
      const request = await client.submitJob(${JSON.stringify(task)}, 'x', { background: true });
      await client.getJobStatus(request);
      console.log(request.state, request.status.known);
    `);
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe('CREATED true');
    expect(run.code).toBe(0);
    expect(run.ms).toBeLessThan(5000);
  });

  it('stays alive while a call waits, then ends once it has its result', async () => {
    const task = taskName('wait');
    const run = await runScript(`
      import { GearmanClient, GearmanWorker } from 'gearman-ts';
      const hosts = ${JSON.stringify(sharedHosts())};
      const client = new GearmanClient(hosts);
      // The worker only starts after 300 ms: the process must not exit while the call waits.
      setTimeout(() => {
        const worker = new GearmanWorker(hosts);
        worker.registerTask(${JSON.stringify(task)}, (w, job) => { setImmediate(() => worker.shutdown()); return 'late'; });
        worker.work();
      }, 300).unref();
      const request = await client.submitJob(${JSON.stringify(task)}, 'x');
      console.log(request.state, String(request.result));
    `);
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe('COMPLETE late');
    expect(run.code).toBe(0);
  });
});
