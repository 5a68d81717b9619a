/**
 * The `job` namespace, as python-gearman's `gearman.job` module.
 * @module
 */
export { GearmanJob, GearmanJobRequest } from '../job.js';
export { JOB_UNKNOWN, JOB_PENDING, JOB_CREATED, JOB_FAILED, JOB_COMPLETE } from '../constants.js';
