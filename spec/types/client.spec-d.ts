// Type tests (#12): data and results typed through the client's encoder, status fields that
// the server always sends typed as present. Checked by `npm run typecheck` (tsc over spec/) and
// by `vitest --typecheck`; nothing here runs.
import { describe, expectTypeOf, test } from 'vitest';
import {
  GearmanAdminClient,
  GearmanClient,
  GearmanJob,
  GearmanJobRequest,
  JsonEncoder,
  NoopEncoder,
  Utf8Encoder,
  type DataEncoderLike,
  type DecodedType,
  type GearmanError,
  type JsonValue,
  type ReceivedStatus,
  type RequestUpdate,
  type UniqueStatus,
} from '../../lib/index.js';

describe('encoder types', () => {
  test('each built-in encoder names what it takes and gives', () => {
    expectTypeOf<DecodedType<typeof NoopEncoder>>().toEqualTypeOf<Buffer>();
    expectTypeOf<DecodedType<typeof Utf8Encoder>>().toEqualTypeOf<string>();
    expectTypeOf<DecodedType<typeof JsonEncoder>>().toEqualTypeOf<JsonValue>();
    expectTypeOf(NoopEncoder).toMatchTypeOf<DataEncoderLike>();
    expectTypeOf(JsonEncoder).toMatchTypeOf<DataEncoderLike>();
  });
});

describe('client results typed through the encoder', () => {
  test('the default client: Buffer results (data is checked by the encoder at run time)', () => {
    const client = new GearmanClient(['localhost:4730']);
    expectTypeOf(client.submitJob('t', 'x')).resolves.toEqualTypeOf<GearmanJobRequest<Buffer>>();
    expectTypeOf(client.submitJob('t', Buffer.from('x'))).resolves.toHaveProperty('result').toEqualTypeOf<Buffer | null>();
    expectTypeOf(client.submitMultipleJobs([{ task: 't', data: 'x' }])).resolves.toEqualTypeOf<GearmanJobRequest<Buffer>[]>();
  });

  test('a Utf8Encoder client: string results', () => {
    const client = new GearmanClient([], { dataEncoder: Utf8Encoder });
    expectTypeOf(client.submitJob('t', 'x')).resolves.toEqualTypeOf<GearmanJobRequest<string>>();
  });

  test('a JsonEncoder client: JsonValue results', () => {
    const client = new GearmanClient([], { dataEncoder: JsonEncoder });
    expectTypeOf(client.submitJob('t', { n: 1 })).resolves.toEqualTypeOf<GearmanJobRequest<JsonValue>>();
    void client.submitJob('t', [1, 2, 3], {
      onData: (data, request) => {
        expectTypeOf(data).toEqualTypeOf<JsonValue>();
        expectTypeOf(request).toEqualTypeOf<GearmanJobRequest<JsonValue>>();
      },
      onWarning: (data) => expectTypeOf(data).toEqualTypeOf<JsonValue>(),
      onStatus: (numerator, denominator, request) => {
        expectTypeOf(numerator).toEqualTypeOf<number>();
        expectTypeOf(denominator).toEqualTypeOf<number>();
        expectTypeOf(request.result).toEqualTypeOf<JsonValue | null>();
      },
    });
  });

  test('a python-style subclass: typed by its dataEncoder field, or by the type argument', () => {
    class JsonClient extends GearmanClient<typeof JsonEncoder> {
      override dataEncoder = JsonEncoder;
    }
    expectTypeOf(new JsonClient().submitJob('t', { a: 1 })).resolves.toEqualTypeOf<GearmanJobRequest<JsonValue>>();
    // The python-gearman translation, without a type argument: the overriding field counts.
    class Translated extends GearmanClient {
      override dataEncoder = JsonEncoder;
    }
    expectTypeOf(new Translated().submitJob('t', { a: 1 })).resolves.toEqualTypeOf<GearmanJobRequest<JsonValue>>();
    class TextClient extends GearmanClient {
      override dataEncoder = Utf8Encoder;
    }
    void new TextClient().submitJob('t', 'x', { onData: (data) => expectTypeOf(data).toEqualTypeOf<string>() });
  });

  test('a custom encoder object: its own types', () => {
    const point = {
      encode: (p: { x: number; y: number }): string => `${p.x},${p.y}`,
      decode: (b: Buffer): { x: number; y: number } => {
        const [x, y] = b.toString().split(',').map(Number);
        return { x: x!, y: y! };
      },
    };
    const client = new GearmanClient([], { dataEncoder: point });
    expectTypeOf(client.submitJob('t', { x: 1, y: 2 })).resolves.toEqualTypeOf<GearmanJobRequest<{ x: number; y: number }>>();
  });

  test('requests of the caller keep their own type through the waits', () => {
    const client = new GearmanClient();
    const mine = [new GearmanJobRequest(new GearmanJob(null, null, 't', null, 'x'))];
    expectTypeOf(client.submitMultipleRequests(mine)).resolves.toEqualTypeOf<GearmanJobRequest<unknown>[]>();
    expectTypeOf(client.waitUntilJobsCompleted(mine)).resolves.toEqualTypeOf<GearmanJobRequest<unknown>[]>();
  });
});

describe('status and updates', () => {
  test('the status event gives every field the server always sends', () => {
    const request = new GearmanJobRequest<string>(new GearmanJob(null, null, 't', null, 'x'));
    request.on('status', (status) => {
      expectTypeOf(status).toEqualTypeOf<ReceivedStatus>();
      expectTypeOf(status.numerator).toEqualTypeOf<number>();
      expectTypeOf(status.denominator).toEqualTypeOf<number>();
      expectTypeOf(status.known).toEqualTypeOf<boolean>();
      expectTypeOf(status.running).toEqualTypeOf<boolean>();
      expectTypeOf(status.handle).toEqualTypeOf<string>();
    });
    request.on('complete', (result) => expectTypeOf(result).toEqualTypeOf<string>());
    request.on('data', (data) => expectTypeOf(data).toEqualTypeOf<string>());
    expectTypeOf(request.dataUpdates).toEqualTypeOf<string[]>();
  });

  test('updates() and for await yield RequestUpdate of the result type', async () => {
    const request = new GearmanJobRequest<string>(new GearmanJob(null, null, 't', null, 'x'));
    for await (const update of request.updates()) {
      expectTypeOf(update).toEqualTypeOf<RequestUpdate<string>>();
      if (update.type === 'complete') expectTypeOf(update.result).toEqualTypeOf<string>();
      if (update.type === 'status') expectTypeOf(update.status).toEqualTypeOf<ReceivedStatus>();
      if (update.type === 'failed') expectTypeOf(update.error).toEqualTypeOf<GearmanError | undefined>();
    }
    for await (const update of request) expectTypeOf(update).toEqualTypeOf<RequestUpdate<string>>();
  });

  test('getJobStatusByUnique gives every field', () => {
    const client = new GearmanClient();
    expectTypeOf(client.getJobStatusByUnique('u')).resolves.toEqualTypeOf<UniqueStatus>();
    expectTypeOf<UniqueStatus>().toEqualTypeOf<{
      unique: string;
      known: boolean;
      running: boolean;
      numerator: number;
      denominator: number;
      waitingClients: number;
      timedOut: boolean;
    }>();
  });
});

describe('options, events, disposal', () => {
  test('signal and when are options; serverSelection takes two names', () => {
    const client = new GearmanClient([], { serverSelection: 'unique-hash' });
    void client.submitJob('t', 'x', { signal: AbortSignal.timeout(1), background: true, when: new Date() });
    void client.submitJob('t', 'x', { background: true, when: 1_700_000_000 });
    // @ts-expect-error not a selection
    void new GearmanClient([], { serverSelection: 'random' });
    // @ts-expect-error a signal is an AbortSignal
    void client.submitJob('t', 'x', { signal: true });
  });

  test('connect and disconnect listeners on the client and the admin client', () => {
    for (const target of [new GearmanClient(), new GearmanAdminClient()]) {
      target.on('connect', (address) => expectTypeOf(address).toEqualTypeOf<string>());
      target.on('disconnect', (address, error) => {
        expectTypeOf(address).toEqualTypeOf<string>();
        expectTypeOf(error).toEqualTypeOf<GearmanError | undefined>();
      });
      // @ts-expect-error no such event
      target.on('connected', () => undefined);
    }
  });

  test('both are AsyncDisposable', () => {
    expectTypeOf(new GearmanClient()).toMatchTypeOf<AsyncDisposable>();
    expectTypeOf(new GearmanAdminClient()).toMatchTypeOf<AsyncDisposable>();
  });
});
