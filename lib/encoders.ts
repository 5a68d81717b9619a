/**
 * Data encoders: how job data is turned into bytes for the wire and back, as python-gearman's
 * `DataEncoder`. Only job data is encoded (SUBMIT_JOB* data on the client; WORK_* data on the
 * worker; results and updates decoded on the other side); task names, uniques and handles never are.
 *
 * @module
 */
import { InvalidArgumentError } from './errors.js';

/**
 * Anything with `encode`/`decode`: a class with static methods, or a plain object.
 *
 * The type of `decode`'s result is the type of what a client hands back: results, WORK_DATA and
 * WORK_WARNING payloads (see {@link DecodedType}): a client made with `{ dataEncoder: JsonEncoder }`
 * returns requests whose `result` is a {@link JsonValue}.
 *
 * @typeParam In - what `encode` accepts
 * @typeParam Out - what `decode` returns
 */
// `any` for the parameter: an encoder that accepts only some values is still an encoder.
export interface DataEncoderLike<In = any, Out = unknown> {
  /**
   * Turns a value into the bytes (or UTF-8 text) sent on the wire.
   * @param value - the job data (client) or the update or result (worker) to send
   * @returns the bytes, or text sent as UTF-8
   * @throws whatever the encoder throws for a value it cannot encode: the call that sent it rejects
   */
  encode(value: In): string | Uint8Array;
  /**
   * Turns received bytes into the value handed to the user.
   * @param data - the payload as received (a `Buffer` of its own, not shared with the socket)
   * @returns the value handed to the user
   * @throws whatever the encoder throws for data it cannot decode: that request fails
   * (`JOB_FAILED`, `request.error`), the connection stays
   */
  decode(data: Buffer): Out;
}

/** Any value JSON can carry, as {@link JsonEncoder} decodes it. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * What an encoder's `decode` returns: the type of results, data and warnings of a client using it.
 *
 * @typeParam E - the encoder (for a class with static methods, `typeof TheClass`)
 */
export type DecodedType<E> = E extends {
  /**
   * The encoder's decode.
   * @param data - the received payload
   */
  decode(data: Buffer): infer R;
} ? R : unknown;


function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return typeof value;
}

/**
 * Abstract base for encoders, for the python-gearman pattern of subclassing with static methods.
 *
 * @example
 * ```ts
 * class JsonDataEncoder extends DataEncoder {
 *   static override encode(value: unknown) { return JSON.stringify(value); }
 *   static override decode(data: Buffer) { return JSON.parse(data.toString('utf8')); }
 * }
 * class JsonClient extends GearmanClient { override dataEncoder = JsonDataEncoder; }
 * ```
 */
export class DataEncoder {
  /**
   * Encodes a value for the wire.
   * @param value - the job data (client) or the update or result (worker) to send
   * @returns the bytes, or text sent as UTF-8
   * @throws Error "not implemented": subclasses override it
   */
  static encode(value: unknown): string | Uint8Array {
    void value; // a stub: subclasses override it
    throw new Error(`${this.name}.encode is not implemented`);
  }

  /**
   * Decodes received bytes.
   * @param data - the payload as received (a `Buffer` of its own, not shared with the socket)
   * @returns the value handed to the user
   * @throws Error "not implemented": subclasses override it
   */
  static decode(data: Buffer): unknown {
    void data; // a stub: subclasses override it
    throw new Error(`${this.name}.decode is not implemented`);
  }
}

/**
 * The default encoder: strings (sent as UTF-8) and bytes pass through; received data is a `Buffer`.
 *
 * @example
 * ```ts
 * NoopEncoder.encode('hi'); // 'hi'
 * NoopEncoder.encode(42);   // throws TypeError
 * ```
 */
export class NoopEncoder extends DataEncoder {
  /**
   * Passes strings and bytes through.
   * @param value - the job data (client) or the update or result (worker) to send
   * @returns `value` unchanged
   * @throws {@link InvalidArgumentError} (a `TypeError`) if `value` is neither a string nor a `Uint8Array`/`Buffer`
   */
  static override encode(value: unknown): string | Uint8Array {
    if (typeof value === 'string' || value instanceof Uint8Array) return value;
    throw new InvalidArgumentError(`NoopEncoder expects a string or bytes (Buffer/Uint8Array), got ${typeName(value)}`);
  }

  /**
   * Hands the bytes over as they are.
   * @param data - the payload as received (a `Buffer` of its own, not shared with the socket)
   * @returns `data` unchanged
   */
  static override decode(data: Buffer): Buffer {
    return data;
  }
}

/**
 * Strings in, strings out: received data is decoded as UTF-8 text.
 *
 * @example
 * ```ts
 * const client = new GearmanClient(['localhost:4730'], { dataEncoder: Utf8Encoder });
 * const request = await client.submitJob('reverse', 'hello');
 * request.result; // 'olleh', typed string | null
 * ```
 */
export class Utf8Encoder extends DataEncoder {
  /**
   * Passes strings and bytes through (strings are sent as UTF-8).
   * @param value - the job data (client) or the update or result (worker) to send
   * @returns `value` unchanged
   * @throws {@link InvalidArgumentError} (a `TypeError`) if `value` is neither a string nor bytes
   */
  static override encode(value: unknown): string | Uint8Array {
    if (typeof value === 'string' || value instanceof Uint8Array) return value;
    throw new InvalidArgumentError(`Utf8Encoder expects a string or bytes, got ${typeName(value)}`);
  }

  /**
   * Decodes the bytes as UTF-8.
   * @param data - the payload as received (a `Buffer` of its own, not shared with the socket)
   * @returns the UTF-8 text of `data`
   */
  static override decode(data: Buffer): string {
    return data.toString('utf8');
  }
}

/**
 * Any JSON value in, the parsed value out. Empty data decodes as `null`.
 *
 * @example
 * ```ts
 * const client = new GearmanClient(['localhost:4730'], { dataEncoder: JsonEncoder });
 * const request = await client.submitJob('sum', [1, 2, 3]);
 * request.result; // 6, typed JsonValue
 * ```
 */
export class JsonEncoder extends DataEncoder {
  /**
   * Encodes the value as JSON text.
   * @param value - the job data (client) or the update or result (worker) to send
   * @returns its JSON text
   * @throws {@link InvalidArgumentError} (a `TypeError`) if `value` has no JSON form (a function, a symbol, `undefined`, a cycle)
   */
  static override encode(value: unknown): string | Uint8Array {
    const text = JSON.stringify(value);
    if (text === undefined) throw new InvalidArgumentError(`JsonEncoder cannot encode ${typeName(value)}`);
    return text;
  }

  /**
   * Parses the bytes as JSON (UTF-8).
   * @param data - the payload as received (a `Buffer` of its own, not shared with the socket)
   * @returns the parsed value, `null` for empty data
   * @throws SyntaxError if the data is not JSON
   */
  static override decode(data: Buffer): JsonValue {
    if (data.length === 0) return null;
    return JSON.parse(data.toString('utf8')) as JsonValue;
  }
}

/**
 * Checks that `encoder` has `encode` and `decode` functions.
 * @internal
 */
export function checkEncoder(encoder: unknown, where: string): DataEncoderLike {
  const e = encoder as DataEncoderLike | undefined;
  if (e === null || (typeof e !== 'object' && typeof e !== 'function') || typeof e.encode !== 'function' || typeof e.decode !== 'function') {
    throw new InvalidArgumentError(`${where}: dataEncoder must have encode() and decode() functions`);
  }
  return e;
}

/**
 * The encoder a subclass declares as a class attribute, python-gearman's pattern translated
 * literally: `class JsonClient extends GearmanClient { static dataEncoder = JsonEncoder }`. Looks
 * from `ctor` up to (not including) `base`; the nearest declaration wins.
 *
 * @returns the checked encoder, or undefined when no class between `ctor` and `base` declares one
 * @throws {@link InvalidArgumentError} if the declared value has no encode()/decode()
 * @internal
 */
export function staticDataEncoder(ctor: unknown, base: unknown): DataEncoderLike | undefined {
  for (let c = ctor as { name?: string } | null; c !== null && c !== undefined && c !== base; c = Object.getPrototypeOf(c) as { name?: string } | null) {
    if (Object.prototype.hasOwnProperty.call(c, 'dataEncoder')) {
      return checkEncoder((c as { dataEncoder: unknown }).dataEncoder, `${c.name ?? 'class'}.dataEncoder (static)`);
    }
  }
  return undefined;
}
