/**
 * The `client` namespace: `gearman.client.JOB_UNKNOWN`, as python-gearman's `gearman.client` module.
 * @module
 */
export { GearmanClient } from '../client.js';
export {
  PRIORITY_NONE, PRIORITY_LOW, PRIORITY_HIGH, JOB_UNKNOWN, JOB_PENDING, JOB_CREATED, JOB_FAILED, JOB_COMPLETE,
} from '../constants.js';
