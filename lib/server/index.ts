/**
 * `gearman-ts/server`: the embedded job server.
 *
 * @example
 * ```ts
 * import { GearmanServer } from 'gearman-ts/server';
 * await using server = await GearmanServer.start({ port: 0 });
 * console.log(server.hostList); // ['127.0.0.1:PORT']
 * ```
 *
 * @module gearman-ts/server
 */
export { GearmanServer } from './server.js';
export type { GearmanServerOptions, ServerStats, ServerTaskStats } from './server.js';
export type { TaskCounters } from './jobs.js';
