/**
 * gearman-ts: a TypeScript port of python-gearman 2.x. Client, worker and admin client for the
 * Gearman job server, with python-gearman's classes, methods, job states and `pollTimeout`
 * semantics.
 *
 * @example
 * ```ts
 * import * as gearman from 'gearman-ts';
 *
 * const client = new gearman.GearmanClient(['localhost:4730']);
 * const request = await client.submitJob('reverse', 'hello', { priority: gearman.PRIORITY_HIGH });
 * console.log(request.state === gearman.client.JOB_COMPLETE, String(request.result));
 * ```
 *
 * @module gearman-ts
 */
export { GearmanClient } from './client.js';
export type { GearmanClientOptions, ResultOf, JobSpec, SubmitOptions, SubmitJobOptions, SubmitRequestsOptions, WaitOptions, ProgressOptions, AbortOptions, UniqueStatus, UniqueStatusOptions } from './client.js';
export { GearmanWorker, WorkerJob, defaultRetryStrategy } from './worker.js';
export type { GearmanWorkerOptions, TaskCallback, WorkOptions, SendOptions, RegisterTaskOptions, StopOptions, GearmanWorkerEvents } from './worker.js';
export { GearmanAdminClient, ECHO_STRING, DEFAULT_ADMIN_CLIENT_TIMEOUT } from './admin-client.js';
export type { GearmanAdminClientOptions, AdminCallOptions, StatusRow, PriorityStatusRow, WorkerRow, JobRow } from './admin-client.js';
export { GearmanJob, GearmanJobRequest } from './job.js';
export type { GearmanJobRequestOptions, GearmanJobRequestEvents, JobStatus, JobDict } from './job.js';
export { DataEncoder, NoopEncoder, Utf8Encoder, JsonEncoder } from './encoders.js';
export type { DataEncoderLike, DecodedType, JsonValue } from './encoders.js';
export type { ReceivedStatus, RequestUpdate, RequestUpdates, UpdatesOptions } from './request-updates.js';
export type { ConnectionStateEvents } from './connection-events.js';
export type { ServerSelection } from './server-selection.js';
export {
  GearmanError,
  ConnectionError,
  ServerUnavailable,
  ProtocolError,
  UnknownCommandError,
  ExceededConnectionAttempts,
  InvalidClientState,
  InvalidWorkerState,
  InvalidAdminClientState,
  ListingTooLargeError,
  ServerError,
  ShutdownError,
  ConnectTimeoutError,
  InvalidArgumentError,
} from './errors.js';
export type { GearmanErrorOptions, GearmanErrorCode } from './errors.js';
export {
  PRIORITY_NONE,
  PRIORITY_LOW,
  PRIORITY_HIGH,
  JOB_UNKNOWN,
  JOB_PENDING,
  JOB_CREATED,
  JOB_FAILED,
  JOB_COMPLETE,
  DEFAULT_GEARMAN_PORT,
} from './constants.js';
export type { Priority, JobState } from './constants.js';
export type { HostEntry, HostObject } from './hosts.js';
export { ConnectionManager } from './connection-manager.js';
export type { ConnectionManagerOptions, Logger, PollResult, PollOptions } from './connection-manager.js';

/** python-gearman's `gearman.client` module: the client and the names it exports. */
export * as client from './ns/client.js';
/** python-gearman's `gearman.worker` module. */
export * as worker from './ns/worker.js';
/** python-gearman's `gearman.admin_client` module. */
export * as adminClient from './ns/admin-client.js';
/** python-gearman's `gearman.job` module. */
export * as job from './ns/job.js';
/** python-gearman's `gearman.errors` module. */
export * as errors from './ns/errors.js';
/** The wire protocol: packet table, encoder, decoder, admin text codec. */
export * as protocol from './ns/protocol.js';
