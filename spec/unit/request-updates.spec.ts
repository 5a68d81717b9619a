import { describe, expect, it } from 'vitest';
import { GearmanJob, GearmanJobRequest } from '../../lib/job.js';
import { JOB_COMPLETE, JOB_CREATED, JOB_FAILED } from '../../lib/constants.js';
import { requestUpdates, type RequestUpdate } from '../../lib/request-updates.js';

const newRequest = (background = false): GearmanJobRequest => new GearmanJobRequest(new GearmanJob(null, null, 'task', 'u', 'data'), { background });
const status = (numerator: number, denominator: number) => ({ handle: 'H:1', known: true, running: true, numerator, denominator, timeReceived: 1 });

async function collect<R>(it: AsyncIterable<RequestUpdate<R>>): Promise<RequestUpdate<R>[]> {
  const out: RequestUpdate<R>[] = [];
  for await (const u of it) out.push(u);
  return out;
}

describe('requestUpdates', () => {
  it('buffers updates emitted before they are read and ends after complete, detaching its listeners', async () => {
    const request = newRequest();
    const updates = requestUpdates(request);
    expect(request.listenerCount('status')).toBe(1);
    request.emit('created', 'H:1');
    request.emit('data', 'd1');
    request.emit('status', status(1, 3));
    request.emit('warning', 'w1');
    request.emit('status', status(2, 3));
    request.state = JOB_COMPLETE;
    request.emit('complete', 'done');
    request.emit('data', 'after the end');
    expect(request.listenerCount('status')).toBe(0);
    expect(request.listenerCount('complete')).toBe(0);
    expect(await collect(updates)).toEqual([
      { type: 'created', handle: 'H:1' },
      { type: 'data', data: 'd1' },
      { type: 'status', numerator: 1, denominator: 3, status: status(1, 3) },
      { type: 'warning', data: 'w1' },
      { type: 'status', numerator: 2, denominator: 3, status: status(2, 3) },
      { type: 'complete', result: 'done' },
    ]);
  });

  it('hands updates to readers already waiting, in order', async () => {
    const request = newRequest();
    const updates = requestUpdates(request);
    const first = updates.next();
    const second = updates.next();
    const third = updates.next();
    request.emit('data', 'a');
    request.emit('failed', undefined);
    expect(await first).toEqual({ value: { type: 'data', data: 'a' }, done: false });
    expect(await second).toEqual({ value: { type: 'failed', error: undefined }, done: false });
    expect(await third).toEqual({ value: undefined, done: true });
  });

  it('ends a background request at created', async () => {
    const request = newRequest(true);
    const updates = requestUpdates(request);
    request.emit('created', 'H:2');
    expect(await collect(updates)).toEqual([{ type: 'created', handle: 'H:2' }]);
    expect(request.listenerCount('created')).toBe(0);
  });

  it('ends at unknown (the connection was lost)', async () => {
    const request = newRequest();
    const updates = requestUpdates(request);
    request.emit('unknown', undefined);
    expect(await collect(updates)).toEqual([{ type: 'unknown', error: undefined }]);
  });

  it('yields the terminal update of a request already finished', async () => {
    const done = newRequest();
    done.state = JOB_COMPLETE;
    done.result = 'r';
    expect(await collect(requestUpdates(done))).toEqual([{ type: 'complete', result: 'r' }]);
    const failed = newRequest();
    failed.state = JOB_FAILED;
    expect(await collect(requestUpdates(failed))).toEqual([{ type: 'failed', error: undefined }]);
    const bg = newRequest(true);
    bg.state = JOB_CREATED;
    bg.job.handle = 'H:3';
    expect(await collect(requestUpdates(bg))).toEqual([{ type: 'created', handle: 'H:3' }]);
    expect(done.listenerCount('complete') + failed.listenerCount('failed') + bg.listenerCount('created')).toBe(0);
  });

  it('return() (a break) detaches and ends pending reads', async () => {
    const request = newRequest();
    const held: boolean[] = [];
    const updates = requestUpdates(request, {}, (on) => held.push(on));
    const pending = updates.next();
    expect(await updates.return()).toEqual({ value: undefined, done: true });
    expect(await pending).toEqual({ value: undefined, done: true });
    expect(request.listenerCount('data')).toBe(0);
    expect(held).toEqual([true, false]);
    request.emit('data', 'x');
    expect(await updates.next()).toEqual({ value: undefined, done: true });
  });

  it('a break inside for await removes the listeners', async () => {
    const request = newRequest();
    const updates = requestUpdates(request);
    request.emit('data', 1);
    request.emit('data', 2);
    for await (const u of updates) {
      expect(u).toEqual({ type: 'data', data: 1 });
      break;
    }
    expect(request.listenerCount('data')).toBe(0);
  });

  it('an abort rejects the pending read with the reason, and detaches', async () => {
    const request = newRequest();
    const controller = new AbortController();
    const updates = requestUpdates(request, { signal: controller.signal });
    const pending = updates.next();
    const reason = new Error('enough');
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    expect(request.listenerCount('status')).toBe(0);
    expect(await updates.next()).toEqual({ value: undefined, done: true });
  });

  it('an already aborted signal rejects the first read with an AbortError', async () => {
    const updates = requestUpdates(newRequest(), { signal: AbortSignal.abort() });
    await expect(updates.next()).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('keeps a burst of 10,000 updates in order', async () => {
    const request = newRequest();
    const updates = requestUpdates(request);
    for (let i = 0; i < 10_000; i++) request.emit('data', i);
    request.emit('complete', 'end');
    const all = await collect(updates);
    expect(all).toHaveLength(10_001);
    expect(all.slice(0, -1).every((u, i) => u.type === 'data' && u.data === i)).toBe(true);
  });
});
