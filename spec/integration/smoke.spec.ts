import { describe, expect, it } from 'vitest';
import { GearmanClient, GearmanWorker, JOB_COMPLETE } from '../../lib/index.js';
import { sharedHosts, taskName } from '../helpers/env.js';

describe('client and worker against gearmand', () => {
  it('runs a foreground job end to end', async () => {
    const task = taskName('reverse');
    const worker = new GearmanWorker(sharedHosts());
    worker.registerTask(task, (_w, job) => Buffer.from(job.data as Buffer).reverse());
    const working = worker.work({ pollTimeout: 1 });
    const client = new GearmanClient(sharedHosts());
    try {
      const request = await client.submitJob(task, 'hello');
      expect(request.state).toBe(JOB_COMPLETE);
      expect(String(request.result)).toBe('olleh');
    } finally {
      client.shutdown();
      worker.shutdown();
      await working;
    }
  });
});
