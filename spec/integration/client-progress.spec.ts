// Progress while you wait (#12): onStatus / onData / onWarning options and request.updates(),
// against gearmand, with a worker sending its updates in a known order.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { GearmanClient, GearmanJob, GearmanJobRequest, GearmanWorker, InvalidArgumentError, JOB_COMPLETE, JOB_CREATED, Utf8Encoder, type RequestUpdate } from '../../lib/index.js';
import { sharedHosts, taskName } from '../helpers/env.js';
import { deferred } from '../helpers/workers.js';

describe('client progress callbacks and update iterator', () => {
  const task = taskName('progress');
  const gated = taskName('progress-gated');
  let worker: GearmanWorker;
  let working: Promise<void>;
  let client: GearmanClient;
  /** Opened once per gated job: the worker sends nothing before the test has attached. */
  let gate = deferred();

  // d:1, s:1/3, w:careful, d:2, s:2/3, d:3, s:3/3, then the result.
  async function sendUpdates(w: GearmanWorker, job: Parameters<Parameters<GearmanWorker['registerTask']>[1]>[1]): Promise<string> {
    for (let i = 1; i <= 3; i++) {
      await w.sendJobData(job, `d:${i}`);
      await w.sendJobStatus(job, i, 3);
      if (i === 1) await w.sendJobWarning(job, 'careful');
    }
    return `done:${String(job.data)}`;
  }

  beforeAll(() => {
    worker = new GearmanWorker(sharedHosts());
    worker.registerTask(task, (w, job) => sendUpdates(w, job));
    worker.registerTask(gated, async (w, job) => {
      await gate.promise;
      return sendUpdates(w, job);
    });
    working = worker.work({ pollTimeout: 1 });
    client = new GearmanClient(sharedHosts());
  });
  afterAll(async () => {
    client.shutdown();
    worker.shutdown();
    await working;
  });

  const expected = ['data d:1', 'status 1/3', 'warning careful', 'data d:2', 'status 2/3', 'data d:3', 'status 3/3'];

  it('submitJob calls onData, onStatus and onWarning in the order the worker sent them, with the request', async () => {
    const seen: string[] = [];
    const requests = new Set<GearmanJobRequest>();
    const request = await client.submitJob(task, 'a', {
      onData: (data, r) => {
        seen.push(`data ${String(data)}`);
        requests.add(r);
      },
      onStatus: (numerator, denominator, r) => {
        expectTypeOf(numerator).toEqualTypeOf<number>();
        seen.push(`status ${numerator}/${denominator}`);
        requests.add(r);
      },
      onWarning: (data, r) => {
        seen.push(`warning ${String(data)}`);
        requests.add(r);
      },
    });
    expect(request.state).toBe(JOB_COMPLETE);
    expect(String(request.result)).toBe('done:a');
    expect(seen).toEqual(expected);
    expect([...requests]).toEqual([request]);
    // The callbacks were only for this call.
    expect(request.listenerCount('status')).toBe(0);
    expect(request.listenerCount('data')).toBe(0);
  });

  it('refuses a misspelt callback name, and a callback that is not a function, before sending', async () => {
    const t = taskName('progress-bad');
    await expect(client.submitJob(t, 'x', { on_status: () => undefined } as never)).rejects.toThrow(/onStatus/);
    await expect(client.submitJob(t, 'x', { onStatus: 'yes' as never })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(client.waitUntilJobsCompleted([], { onData: 1 as never })).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('the status event gives numbers, always present', async () => {
    const statuses: Array<[number, number, boolean, boolean, string]> = [];
    const request = new GearmanJobRequest(new GearmanJob(null, null, task, null, 'b'));
    request.on('status', (s) => statuses.push([s.numerator, s.denominator, s.known, s.running, s.handle]));
    await client.submitMultipleRequests([request]);
    const handle = request.job.handle!;
    expect(statuses).toEqual([
      [1, 3, true, true, handle],
      [2, 3, true, true, handle],
      [3, 3, true, true, handle],
    ]);
  });

  it('submitMultipleJobs calls each callback with the request the update is for', async () => {
    const seen = new Map<string, string[]>();
    const requests = await client.submitMultipleJobs(
      [
        { task, data: 'x', unique: `x-${task}` },
        { task, data: 'y', unique: `y-${task}` },
      ],
      {
        onData: (data, r) => seen.set(r.job.unique!, [...(seen.get(r.job.unique!) ?? []), `data ${String(data)}`]),
        onStatus: (n, d, r) => seen.set(r.job.unique!, [...(seen.get(r.job.unique!) ?? []), `status ${n}/${d}`]),
        onWarning: (data, r) => seen.set(r.job.unique!, [...(seen.get(r.job.unique!) ?? []), `warning ${String(data)}`]),
      },
    );
    expect(requests.map((r) => String(r.result))).toEqual(['done:x', 'done:y']);
    expect(seen.get(`x-${task}`)).toEqual(expected);
    expect(seen.get(`y-${task}`)).toEqual(expected);
  });

  it('request.updates() yields every update in order and ends at complete', async () => {
    gate = deferred();
    const request = await client.submitJob(gated, 'it', { waitUntilComplete: false });
    expect(request.state).toBe(JOB_CREATED);
    const updates = request.updates();
    gate.resolve();
    const seen: string[] = [];
    for await (const update of updates) {
      if (update.type === 'data' || update.type === 'warning') seen.push(`${update.type} ${String(update.data)}`);
      else if (update.type === 'status') seen.push(`status ${update.numerator}/${update.denominator}`);
      else if (update.type === 'complete') seen.push(`complete ${String(update.result)}`);
      else seen.push(update.type);
    }
    expect(seen).toEqual([...expected, 'complete done:it']);
    expect(request.state).toBe(JOB_COMPLETE);
    expect(request.listenerCount('complete')).toBe(0);
  });

  it('for await over the request itself, with a Utf8Encoder client (typed string updates)', async () => {
    const text = new GearmanClient(sharedHosts(), { dataEncoder: Utf8Encoder });
    try {
      gate = deferred();
      const request = await text.submitJob(gated, 'txt', { waitUntilComplete: false });
      gate.resolve();
      const kinds: string[] = [];
      let result: string | undefined;
      for await (const update of request) {
        expectTypeOf(update).toEqualTypeOf<RequestUpdate<string>>();
        kinds.push(update.type);
        if (update.type === 'complete') result = update.result;
      }
      expect(kinds).toEqual(['data', 'status', 'warning', 'data', 'status', 'data', 'status', 'complete']);
      expect(result).toBe('done:txt');
    } finally {
      text.shutdown();
    }
  });

  it('a break out of the loop stops listening; the request still completes', async () => {
    gate = deferred();
    const request = await client.submitJob(gated, 'brk', { waitUntilComplete: false });
    gate.resolve();
    for await (const update of request.updates()) {
      expect(update).toEqual({ type: 'data', data: Buffer.from('d:1') });
      break;
    }
    expect(request.listenerCount('data')).toBe(0);
    await client.waitUntilJobsCompleted([request]);
    expect(String(request.result)).toBe('done:brk');
  });

  it('a background request yields created and ends', async () => {
    const request = await client.submitJob(taskName('nobody'), 'bg', { background: true });
    const updates: string[] = [];
    for await (const update of request.updates()) updates.push(update.type);
    expect(updates).toEqual(['created']);
  });

  it('a script that only iterates stays alive until the terminal update (the client\'s idle sockets are unreferenced)', async () => {
    const late = taskName('progress-late');
    // The script submits, then iterates; nothing else keeps its event loop busy.
    const script = `
      import { GearmanClient } from 'gearman-ts';
      const client = new GearmanClient(${JSON.stringify(sharedHosts())});
      const request = await client.submitJob(${JSON.stringify(late)}, 'x', { waitUntilComplete: false });
      const updates = request.updates();
      console.log('listening');
      for await (const update of updates) console.log(update.type);
      client.shutdown();
    `;
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    const listening = new Promise<void>((resolve) =>
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('listening\n')) resolve();
      }),
    );
    const done = new Promise<{ code: number | null; stdout: string }>((resolve) => child.on('close', (code) => resolve({ code, stdout })));
    // Only once the script listens does a worker come, so the script has to wait for it.
    await Promise.race([listening, done]);
    const lateWorker = new GearmanWorker(sharedHosts());
    lateWorker.registerTask(late, async (w, job) => {
      await w.sendJobStatus(job, 1, 1);
      return 'late';
    });
    const lateWorking = lateWorker.work({ pollTimeout: 1 });
    try {
      const run = await done;
      expect(run.stdout.split('\n').filter(Boolean)).toEqual(['listening', 'status', 'complete']);
      expect(run.code).toBe(0);
    } finally {
      lateWorker.shutdown();
      await lateWorking;
    }
  });
});
