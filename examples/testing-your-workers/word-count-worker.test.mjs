// Testing a worker without gearmand: the spec starts the embedded job server on a free port, runs
// the real worker against it, and asserts on what a client receives: the result, the progress
// updates and the in-flight data.
//   npx vitest run examples/testing-your-workers
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GearmanClient, GearmanWorker } from 'gearman-ts';
import { GearmanServer } from 'gearman-ts/server';
import { registerTasks } from './word-count-worker.mjs';

let server;
let worker;
let working;
let client;

beforeAll(async () => {
  server = await GearmanServer.start({ port: 0 });
  worker = new GearmanWorker(server.hostList);
  registerTasks(worker);
  working = worker.work();
  client = new GearmanClient(server.hostList);
});

afterAll(async () => {
  client.shutdown();
  worker.shutdown();
  await working;
  await server.close();
});

describe('count-words', () => {
  it('returns the counts, with one status update per line and long words as data', async () => {
    const statuses = [];
    const request = await client.submitJob('count-words', 'a quick brown fox\njumps over the extraordinarily lazy dog', {
      waitUntilComplete: false,
    });
    request.on('status', (status) => statuses.push(`${status.numerator}/${status.denominator}`));
    await client.waitUntilJobsCompleted([request], { pollTimeout: 10 });

    expect(request.state).toBe('COMPLETE');
    expect(JSON.parse(String(request.result))).toEqual({ lines: 2, words: 10 });
    expect(statuses).toEqual(['1/2', '2/2']);
    expect(request.dataUpdates.map(String)).toEqual(['extraordinarily']);
  });

  it('runs a batch, and the server counted every job', async () => {
    const texts = ['one', 'two words', 'three little words'];
    const requests = await client.submitMultipleJobs(texts.map((data) => ({ task: 'count-words', data })), { pollTimeout: 10 });
    expect(requests.map((r) => JSON.parse(String(r.result)).words)).toEqual([1, 2, 3]);
    expect(server.stats().tasks['count-words']).toMatchObject({ completed: 4, failed: 0, total: 0 });
  });
});
