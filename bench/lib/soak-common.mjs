// Shared by bench/soak.mjs and its worker processes (bench/lib/soak-worker.mjs).
import { createHash } from 'node:crypto';

/** The foreground task: the worker answers with resultFor(data). */
export const FG_TASK = 'soak-fg';
/** The background task: the worker records that it ran the job. */
export const BG_TASK = 'soak-bg';

/**
 * The one correct result of a foreground job: a digest of its data, so that a result delivered
 * to the wrong request (or corrupted) is told from the right one.
 * @param {string | Buffer} data
 * @returns {string}
 */
export function resultFor(data) {
  return createHash('sha256').update(data).digest('hex').slice(0, 32);
}
