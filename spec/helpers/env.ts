// Helpers shared by the integration specs.
import { inject } from 'vitest';
import { randomBytes } from 'node:crypto';
import './provided.js';

/** The shared gearmand of the integration project, as a host list. */
export function sharedHosts(): string[] {
  return [`127.0.0.1:${inject('gearmandPort')}`];
}

/** The shared gearmand's port. */
export function sharedPort(): number {
  return inject('gearmandPort');
}

/** A task name no other spec uses, so specs sharing one gearmand do not see each other's jobs. */
export function taskName(prefix = 'task'): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

/** Resolves when `predicate` holds, polling every `everyMs`; rejects after `timeoutMs`. */
export async function until(predicate: () => boolean | Promise<boolean>, timeoutMs = 5000, everyMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
