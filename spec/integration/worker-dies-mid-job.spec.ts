// A worker process that dies while it runs a job (SIGKILL: no WORK_FAIL, its connection just
// closes): gearmand puts the job back in the queue, the next worker runs it, and the client's
// wait ends with that worker's result; nothing on the client side fails or times out.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { GearmanAdminClient, GearmanClient, JOB_COMPLETE } from '../../lib/index.js';
import { sharedHosts, taskName, until } from '../helpers/env.js';
import { startWorker } from '../helpers/workers.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** A worker process (the built package) whose callback for `task` kills its own process. */
const DYING_WORKER = `
import { GearmanWorker } from 'gearman-ts';
const [host, task] = process.argv.slice(1);
const worker = new GearmanWorker([host]);
worker.setClientId('dies-' + task);
worker.registerTask(task, () => { process.kill(process.pid, 'SIGKILL'); return new Promise(() => {}); });
await worker.work();
`;

describe('a worker that dies mid-job', () => {
  it('gearmand re-queues the job, the next worker runs it, and the client gets that result', async () => {
    const hosts = sharedHosts();
    const task = taskName('dies');
    const child = spawn(process.execPath, ['--input-type=module', '-e', DYING_WORKER, hosts[0]!, task], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    const admin = new GearmanAdminClient(hosts);
    const client = new GearmanClient(hosts);
    let worker: ReturnType<typeof startWorker> | undefined;
    try {
      await until(async () => (await admin.getWorkers()).some((w) => w.clientId === `dies-${task}` && w.tasks.includes(task)), 15_000, 20);
      const submitted = client.submitJob(task, 'payload', { pollTimeout: 30 });
      // The job went to the only worker there is, which died running it.
      expect(await exited, stderr).toBe('SIGKILL');
      worker = startWorker(hosts, { [task]: (_w, job) => `done ${String(job.data)}` });
      const request = await submitted;
      expect(request.state).toBe(JOB_COMPLETE);
      expect(request.timedOut).toBe(false);
      expect(String(request.result)).toBe('done payload');
      expect(worker.seen).toEqual([`${task}:payload`]);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await worker?.stop();
      client.shutdown();
      admin.shutdown();
    }
  });
});
