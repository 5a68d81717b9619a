/**
 * Priorities and request states, with python-gearman's values.
 *
 * @module
 */
export { DEFAULT_GEARMAN_PORT } from './hosts.js';

/** Normal priority. */
export const PRIORITY_NONE = null;
/** Low priority. */
export const PRIORITY_LOW = 'LOW';
/** High priority. */
export const PRIORITY_HIGH = 'HIGH';
/** A job priority. */
export type Priority = typeof PRIORITY_NONE | typeof PRIORITY_LOW | typeof PRIORITY_HIGH;

/** Never sent, or the connection carrying it was lost. */
export const JOB_UNKNOWN = 'UNKNOWN';
/** Submitted; no handle yet. */
export const JOB_PENDING = 'PENDING';
/** The server answered JOB_CREATED: the handle is known. */
export const JOB_CREATED = 'CREATED';
/** WORK_FAIL or WORK_EXCEPTION received, or the server refused the submission. */
export const JOB_FAILED = 'FAILED';
/** WORK_COMPLETE received. */
export const JOB_COMPLETE = 'COMPLETE';
/** A request state. */
export type JobState = typeof JOB_UNKNOWN | typeof JOB_PENDING | typeof JOB_CREATED | typeof JOB_FAILED | typeof JOB_COMPLETE;
