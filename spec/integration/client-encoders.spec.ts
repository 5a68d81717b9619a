// Data encoders on the client: the python-gearman subclass pattern, the constructor option, a
// plain object with encode/decode, and what happens when decoding fails.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DataEncoder,
  GearmanClient,
  GearmanError,
  JOB_COMPLETE,
  JOB_FAILED,
  JsonEncoder,
  Utf8Encoder,
} from '../../lib/index.js';
import { sharedHosts, taskName } from '../helpers/env.js';
import { startWorker, type TestWorker } from '../helpers/workers.js';

class ReversingEncoder extends DataEncoder {
  static override encode(value: unknown): string {
    return [...String(value)].reverse().join('');
  }
  static override decode(data: Buffer): unknown {
    return `decoded:${data.toString()}`;
  }
}

class ReversingClient extends GearmanClient {
  override dataEncoder = ReversingEncoder;
}

describe('client data encoders', () => {
  const echoTask = taskName('raw-echo');
  let worker: TestWorker;

  beforeAll(() => {
    // The worker sees raw bytes and sends them back unchanged.
    worker = startWorker(sharedHosts(), { [echoTask]: (_w, job) => job.data });
  });
  afterAll(async () => {
    await worker.stop();
  });

  it('a subclass overriding dataEncoder encodes what it sends and decodes what comes back', async () => {
    const client = new ReversingClient(sharedHosts());
    try {
      const request = await client.submitJob(echoTask, 'abc');
      expect(worker.seen).toContain(`${echoTask}:cba`);
      expect(request.result).toBe('decoded:cba');
      expect(request.job.data).toBe('abc');
    } finally {
      client.shutdown();
    }
  });

  it('the dataEncoder option: JSON values in and out', async () => {
    const client = new GearmanClient(sharedHosts(), { dataEncoder: JsonEncoder });
    try {
      const value = { list: [1, 2, 3], nested: { ok: true }, text: 'ü' };
      const request = await client.submitJob(echoTask, value);
      expect(request.result).toEqual(value);
      const many = await client.submitMultipleJobs([1, 'two', null, [3]].map((data) => ({ task: echoTask, data })));
      expect(many.map((r) => r.result)).toEqual([1, 'two', null, [3]]);
    } finally {
      client.shutdown();
    }
  });

  it('Utf8Encoder gives strings back', async () => {
    const client = new GearmanClient(sharedHosts(), { dataEncoder: Utf8Encoder });
    try {
      const request = await client.submitJob(echoTask, 'héllo');
      expect(request.result).toBe('héllo');
    } finally {
      client.shutdown();
    }
  });

  it('accepts a plain object with encode and decode; rejects one without', async () => {
    const encoder = { encode: (v: unknown) => `<${String(v)}>`, decode: (b: Buffer) => b.toString().toUpperCase() };
    const client = new GearmanClient(sharedHosts(), { dataEncoder: encoder });
    try {
      const request = await client.submitJob(echoTask, 'plain');
      expect(request.result).toBe('<PLAIN>');
    } finally {
      client.shutdown();
    }
    expect(() => new GearmanClient(sharedHosts(), { dataEncoder: { encode: () => '' } as never })).toThrow(TypeError);
  });

  it('an encoder that cannot encode rejects before anything is sent', async () => {
    const client = new GearmanClient(sharedHosts(), { dataEncoder: JsonEncoder });
    try {
      await expect(client.submitJob(echoTask, () => 1)).rejects.toBeInstanceOf(TypeError);
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      await expect(client.submitJob(echoTask, cyclic)).rejects.toBeInstanceOf(TypeError);
      expect(client.connectionList[0]!.connected).toBe(false);
    } finally {
      client.shutdown();
    }
  });

  it('a result the encoder cannot decode fails that request (request.error); the connection goes on', async () => {
    const client = new GearmanClient(sharedHosts(), { dataEncoder: JsonEncoder });
    const raw = new GearmanClient(sharedHosts());
    const task = taskName('not-json');
    const w = startWorker(sharedHosts(), { [task]: () => 'this is not json' });
    try {
      const request = await client.submitJob(task, 'x', { pollTimeout: 5 });
      expect(request.state).toBe(JOB_FAILED);
      expect(request.error).toBeInstanceOf(GearmanError);
      expect(request.error!.code).toBe('DECODE_ERROR');
      expect(request.error!.cause).toBeInstanceOf(SyntaxError);
      const next = await client.submitJob(echoTask, { still: 'working' });
      expect(next.state).toBe(JOB_COMPLETE);
      expect(next.result).toEqual({ still: 'working' });
      // The same bytes reach a client with the default encoder intact.
      const bytes = await raw.submitJob(task, 'x');
      expect(String(bytes.result)).toBe('this is not json');
    } finally {
      client.shutdown();
      raw.shutdown();
      await w.stop();
    }
  });
});
