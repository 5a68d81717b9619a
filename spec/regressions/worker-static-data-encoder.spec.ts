// Issue 9: `static dataEncoder = JsonEncoder`, the literal translation of a python-gearman class
// attribute, was ignored. It is honoured now, as the instance field is; the option and the
// instance field still win over it.
import { afterEach, describe, expect, it } from 'vitest';
import { GearmanClient, GearmanWorker, JOB_COMPLETE, JsonEncoder, NoopEncoder } from '../../lib/index.js';
import { sharedHosts, taskName } from '../helpers/env.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

class StaticJsonWorker extends GearmanWorker {
  static dataEncoder = JsonEncoder;
}

class FieldJsonWorker extends GearmanWorker {
  override dataEncoder = JsonEncoder;
}

describe('regression: a static dataEncoder on a GearmanWorker subclass', () => {
  it('decodes jobs and encodes results with it', async () => {
    const worker = new StaticJsonWorker(sharedHosts());
    expect(worker.dataEncoder).toBe(JsonEncoder);
    const task = taskName('static-json');
    worker.registerTask(task, (_w, job) => ({ sum: (job.data as { n: number[] }).n.reduce((a, b) => a + b, 0) }));
    const working = worker.work({ pollTimeout: 5 });
    const client = new GearmanClient(sharedHosts(), { dataEncoder: JsonEncoder });
    cleanups.push(async () => {
      worker.shutdown();
      await working;
      client.shutdown();
    });
    const request = await client.submitJob(task, { n: [1, 2, 3.5] }, { pollTimeout: 10 });
    expect(request.state).toBe(JOB_COMPLETE);
    expect(request.result).toEqual({ sum: 6.5 });
  });

  it('is inherited by a further subclass; the instance field and the option still win', () => {
    class Deeper extends StaticJsonWorker {}
    expect(new Deeper(sharedHosts()).dataEncoder).toBe(JsonEncoder);
    expect(new FieldJsonWorker(sharedHosts()).dataEncoder).toBe(JsonEncoder);
    expect(new StaticJsonWorker(sharedHosts(), { dataEncoder: NoopEncoder }).dataEncoder).toBe(NoopEncoder);
    expect(new GearmanWorker(sharedHosts()).dataEncoder).toBe(NoopEncoder);
  });
});
