/**
 * Cancellation of a wait with an `AbortSignal`. A Gearman client cannot withdraw a job it has
 * submitted (the protocol has no such packet), so an abort only ends the caller's wait: the
 * promise rejects at once with `signal.reason`, the wait stops watching its requests, and the
 * requests keep whatever state they had reached.
 *
 * @module
 * @internal
 */
import { InvalidArgumentError } from './errors.js';
import { describeValue } from './arguments.js';

/**
 * Checks a `signal` option: `undefined`/`null` or an `AbortSignal`.
 *
 * @param signal - the option's value
 * @param where - the call, for the message
 * @returns the signal, or undefined
 * @throws {@link InvalidArgumentError} for anything else
 * @internal
 */
export function checkSignal(signal: unknown, where: string): AbortSignal | undefined {
  if (signal === undefined || signal === null) return undefined;
  if (signal instanceof AbortSignal) return signal;
  // Signals from another realm (a polyfill, a vm context) carry the same surface.
  const s = signal as Partial<AbortSignal>;
  if (typeof s === 'object' && typeof s.aborted === 'boolean' && typeof s.addEventListener === 'function' && typeof s.removeEventListener === 'function') {
    return signal as AbortSignal;
  }
  throw new InvalidArgumentError(`${where}: signal must be an AbortSignal, got ${describeValue(signal)}`);
}

/**
 * What an aborted wait rejects with: the signal's reason (a `DOMException` named `AbortError`
 * for a plain `controller.abort()`, a `TimeoutError` for `AbortSignal.timeout()`, or whatever
 * was passed to `abort(reason)`).
 * @internal
 */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/**
 * Calls `onAbort` once when `signal` aborts, synchronously inside the signal's `abort()` (so a
 * wait ends within the same turn); returns the function that removes the listener.
 * @internal
 */
export function listenForAbort(signal: AbortSignal, onAbort: (reason: unknown) => void): () => void {
  const listener = (): void => onAbort(abortReason(signal));
  signal.addEventListener('abort', listener, { once: true });
  return () => signal.removeEventListener('abort', listener);
}

/**
 * `promise`, ended early by `signal`: rejects with the signal's reason as soon as it aborts
 * (after calling `onAbort`, which stops the underlying wait), otherwise settles as `promise`
 * does. The abort listener is removed when either happens. A rejection of `promise` after the
 * abort is swallowed (the caller already has its answer).
 *
 * @param promise - the wait
 * @param signal - the caller's signal, or undefined (then `promise` is returned as it is)
 * @param onAbort - stops the wait (ends its poll loop, clears its timer)
 * @internal
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined, onAbort?: (reason: unknown) => void): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) {
    promise.catch(() => {});
    const reason = abortReason(signal);
    onAbort?.(reason);
    return Promise.reject(reason);
  }
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const detach = listenForAbort(signal, (reason) => {
      if (settled) return;
      settled = true;
      try {
        onAbort?.(reason);
      } finally {
        reject(reason);
      }
    });
    promise.then(
      (value) => {
        detach();
        if (settled) return;
        settled = true;
        resolve(value);
      },
      (error: unknown) => {
        detach();
        if (settled) return;
        settled = true;
        reject(error);
      },
    );
  });
}
