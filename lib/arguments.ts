/**
 * Argument checks shared by the client, the worker and the admin client: one rule and one
 * message per kind of mistake (options objects, `pollTimeout`, task names, uniques, client ids),
 * each an {@link InvalidArgumentError} that names the argument and where it was given.
 *
 * @module
 * @internal
 */
import { InvalidArgumentError } from './errors.js';

/**
 * Describes a value for an error message: `'undefined'`, `'null'`, `'number 5'`,
 * `'string "x"'` (cut at 40 characters), `'array'`, `'function f'`, `'GearmanJob'`, `'object'`.
 * @internal
 */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'undefined':
      return 'undefined';
    case 'string':
      return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
    case 'number':
    case 'bigint':
    case 'boolean':
      return `${typeof value} ${String(value)}`;
    case 'symbol':
      return 'symbol';
    case 'function':
      return value.name ? `function ${value.name}` : 'function';
    default: {
      if (Array.isArray(value)) return 'array';
      const name = (value as object).constructor?.name;
      return name && name !== 'Object' ? name : 'object';
    }
  }
}

/** `poll_timeout` → `pollTimeout`. */
function camelCase(key: string): string {
  return key.replace(/[_-]+([a-z0-9])/gi, (_, c: string) => c.toUpperCase());
}

/** Levenshtein distance, stopping early past `max`. */
function distance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      cur.push(v);
      if (v < best) best = v;
    }
    if (best > max) return max + 1;
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * The allowed key a mistyped or snake_case key most likely meant, or undefined.
 * @internal
 */
export function suggestKey(key: string, allowed: readonly string[]): string | undefined {
  const camel = camelCase(key);
  const lower = camel.toLowerCase();
  for (const k of allowed) if (k === camel || k.toLowerCase() === lower) return k;
  let best: string | undefined;
  let bestDistance = 3;
  for (const k of allowed) {
    const d = distance(lower, k.toLowerCase(), 2);
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
}

/**
 * Checks an options object: `undefined` and `null` mean none; anything but a plain object
 * (a number, a string, an array, a request...) is an {@link InvalidArgumentError} that says an
 * options object belongs there; so is a key not in `allowed`, named with the key it most likely
 * meant (`poll_timeout` → `pollTimeout`).
 *
 * @param value - what the caller passed
 * @param allowed - the keys this call takes
 * @param where - the call, for the message: `'submitJob'`, `'GearmanWorker options'`
 * @returns the object (or a shared empty one)
 * @throws {@link InvalidArgumentError}
 * @internal
 */
export function checkOptions<T extends object>(value: T | null | undefined, allowed: readonly string[], where: string): Partial<T> {
  if (value === undefined || value === null) return EMPTY as Partial<T>;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidArgumentError(
      `${where}: expected an options object { ${allowed.join(', ')} }, got ${describeValue(value)}; ` +
        'arguments after the first ones are named options, not positional arguments',
    );
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) {
    throw new InvalidArgumentError(`${where}: expected a plain options object { ${allowed.join(', ')} }, got ${describeValue(value)}`);
  }
  // for...in with an own-key test: the same keys as Object.keys (a plain object has no
  // enumerable inherited ones), without an array per call (every submitJob checks its options).
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    if (!allowed.includes(key)) {
      const hint = suggestKey(key, allowed);
      throw new InvalidArgumentError(
        `${where}: unknown option '${key}'` + (hint === undefined ? `; known options: ${allowed.join(', ')}` : `; did you mean '${hint}'?`),
      );
    }
  }
  return value;
}

const EMPTY = Object.freeze({});

/**
 * The one rule for `pollTimeout` (python-gearman's, in seconds) on every call that takes it:
 * `undefined`, `null` or `Infinity` mean no limit; otherwise a number `>= 0` (`0`: handle what
 * has arrived and return).
 *
 * @returns seconds, or `null` for no limit
 * @throws {@link InvalidArgumentError} for anything else (NaN, a negative number, a string)
 * @internal
 */
export function checkPollTimeout(value: unknown, where: string): number | null {
  if (value === undefined || value === null || value === Infinity) return null;
  if (typeof value !== 'number' || !(value >= 0)) {
    throw new InvalidArgumentError(`${where}: pollTimeout must be a number of seconds >= 0, null or undefined; got ${describeValue(value)}`);
  }
  return value;
}

/** Longest task name: libgearman refuses names over 512 bytes. */
export const MAX_TASK_BYTES = 512;
/** Longest client id gearmand keeps (it truncates past 127 bytes). */
export const MAX_CLIENT_ID_BYTES = 127;
/** Longest unique gearmand stores whole. */
export const MAX_UNIQUE_BYTES = 63;

/** Whitespace and control characters: gearmand's listings separate fields and lines with them. */
const UNSAFE_NAME = /[\s\0-\x1f\x7f]/;
/** Line breaks, NUL and control characters (spaces allowed). */
const CONTROL = /[\0-\x1f\x7f]/;

/**
 * The one rule for a task (function) name, on the client, the worker and the admin client:
 * a non-empty string of at most 512 UTF-8 bytes with no whitespace, NUL or control character.
 * gearmand would take more, but its admin listings (`status` is tab-separated, `workers`
 * space-separated, both line-based) could not show such a name, and `maxqueue`/`cancel job`
 * could not name it.
 *
 * @throws {@link InvalidArgumentError}
 * @internal
 */
export function checkTaskName(task: unknown, where: string): string {
  if (typeof task !== 'string' || task.length === 0) {
    throw new InvalidArgumentError(`${where}: task must be a non-empty string, got ${describeValue(task)}`);
  }
  if (UNSAFE_NAME.test(task)) {
    throw new InvalidArgumentError(
      `${where}: task ${JSON.stringify(task)} contains whitespace, NUL or a control character, which gearmand's admin listings cannot show`,
    );
  }
  const bytes = Buffer.byteLength(task);
  if (bytes > MAX_TASK_BYTES) {
    throw new InvalidArgumentError(`${where}: task name is ${bytes} bytes; at most ${MAX_TASK_BYTES} are allowed (libgearman's limit)`);
  }
  return task;
}

/**
 * The one rule for a unique given by the caller: `undefined`, `null` or `''` (generate one), or a
 * string of at most 63 UTF-8 bytes (gearmand stores no more) with no NUL or control character,
 * and not `'.'` (it would end gearmand's `show unique jobs` listing).
 *
 * @throws {@link InvalidArgumentError}
 * @internal
 */
export function checkUnique(unique: unknown, where: string): string | null {
  if (unique === undefined || unique === null || unique === '') return null;
  if (typeof unique !== 'string') throw new InvalidArgumentError(`${where}: unique must be a string, got ${describeValue(unique)}`);
  if (CONTROL.test(unique)) {
    throw new InvalidArgumentError(`${where}: unique ${JSON.stringify(unique)} contains NUL, a line break or a control character`);
  }
  if (unique === '.') throw new InvalidArgumentError(`${where}: unique '.' would end gearmand's 'show unique jobs' listing`);
  const bytes = Buffer.byteLength(unique);
  if (bytes > MAX_UNIQUE_BYTES) {
    throw new InvalidArgumentError(`${where}: unique is ${bytes} bytes; gearmand keeps at most ${MAX_UNIQUE_BYTES}`);
  }
  return unique;
}

/**
 * The one rule for a worker's client id: a non-empty string of at most 127 UTF-8 bytes (gearmand
 * truncates longer ones) with no NUL or control character and no `' : '` (the separator of
 * gearmand's `workers` listing).
 *
 * @throws {@link InvalidArgumentError}
 * @internal
 */
export function checkClientId(clientId: unknown, where: string): string {
  if (typeof clientId !== 'string' || clientId.length === 0) {
    throw new InvalidArgumentError(`${where}: clientId must be a non-empty string, got ${describeValue(clientId)}`);
  }
  if (CONTROL.test(clientId) || clientId.includes(' : ')) {
    throw new InvalidArgumentError(
      `${where}: clientId ${JSON.stringify(clientId)} contains NUL, a control character or ' : ', which gearmand's 'workers' listing cannot show`,
    );
  }
  const bytes = Buffer.byteLength(clientId);
  if (bytes > MAX_CLIENT_ID_BYTES) {
    throw new InvalidArgumentError(`${where}: clientId is ${bytes} bytes; gearmand keeps at most ${MAX_CLIENT_ID_BYTES}`);
  }
  return clientId;
}
