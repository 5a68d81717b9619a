/**
 * `gearman-ts/internal`: the machinery under the public classes, for tests and for users who
 * build on the poll loop or the command handlers themselves. Nothing here is covered by semantic
 * versioning: names and shapes may change in any release.
 *
 * It re-exports the connection (`GearmanConnection`), the connection manager and its poll-loop
 * types, the command handlers (`CommandHandler`, `ClientCommandHandler`, `WorkerCommandHandler`,
 * `AdminClientCommandHandler`) with the host interfaces they are built with (`HandlerHost`,
 * `ClientHandlerHost`, `AdminHandlerHost`) and the typed dispatch table (`DispatchTable`), host
 * parsing, and the argument checks. Declarations that the
 * sources tag as internal exist at run time but are left out of the published `.d.ts` files.
 *
 * @example
 * ```ts
 * import { GearmanConnection, WorkerCommandHandler } from 'gearman-ts/internal';
 * ```
 *
 * @module
 */
export * from './connection.js';
export * from './connection-manager.js';
export * from './command-handler/command-handler.js';
export * from './command-handler/client-handler.js';
export * from './command-handler/worker-handler.js';
export * from './command-handler/admin-handler.js';
export * from './hosts.js';
export * from './arguments.js';
export * from './fifo.js';
export type { CommandArgs, ReceivedCommand, DispatchTable } from './protocol/command-args.js';
