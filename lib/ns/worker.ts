/**
 * The `worker` namespace, as python-gearman's `gearman.worker` module.
 * @module
 */
export { GearmanWorker, WorkerJob, defaultRetryStrategy } from '../worker.js';
/** Default `work()` cycle length in seconds (python-gearman's `POLL_TIMEOUT_IN_SECONDS`). */
export const POLL_TIMEOUT_IN_SECONDS = 60;
