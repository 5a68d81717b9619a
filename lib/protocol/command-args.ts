/**
 * The argument tuple of each packet, as the decoder hands it over: text arguments are strings,
 * the binary last argument (job data) a `Buffer`. Derived by hand from the packet table in
 * `commands.ts` (argument names and the binary-last column); a handler's typed dispatch table
 * ({@link DispatchTable}) uses them, so `recvWorkComplete([handle, data])` is checked instead of
 * `args[1] as Buffer`.
 *
 * @module
 * @internal
 */
import { CommandType } from './commands.js';

const T = CommandType;

/** The arguments of each packet type the handlers receive (server → client, worker, admin). Published for `gearman-ts/internal` (not on the public API pages). */
export interface CommandArgs {
  [T.NOOP]: [];
  [T.JOB_CREATED]: [handle: string];
  [T.NO_JOB]: [];
  [T.JOB_ASSIGN]: [handle: string, task: string, data: Buffer];
  [T.WORK_STATUS]: [handle: string, numerator: string, denominator: string];
  [T.WORK_COMPLETE]: [handle: string, data: Buffer];
  [T.WORK_FAIL]: [handle: string];
  [T.ECHO_RES]: [data: Buffer];
  [T.ERROR]: [errorCode: string, errorText: string];
  [T.STATUS_RES]: [handle: string, known: string, running: string, numerator: string, denominator: string];
  [T.WORK_EXCEPTION]: [handle: string, data: Buffer];
  [T.OPTION_RES]: [optionName: string];
  [T.WORK_DATA]: [handle: string, data: Buffer];
  [T.WORK_WARNING]: [handle: string, data: Buffer];
  [T.JOB_ASSIGN_UNIQ]: [handle: string, task: string, unique: string, data: Buffer];
  [T.JOB_ASSIGN_ALL]: [handle: string, task: string, unique: string, reducer: string, data: Buffer];
  [T.STATUS_RES_UNIQUE]: [unique: string, known: string, running: string, numerator: string, denominator: string, waiting: string];
}

/** A packet type with a known argument tuple. Published for `gearman-ts/internal` (not on the public API pages). */
export type ReceivedCommand = keyof CommandArgs;

/**
 * A handler's dispatch table: packet type → the method that handles it, each typed with that
 * packet's arguments. Declare one per handler class and check it with `satisfies`:
 *
 * ```ts
 * const DISPATCH = {
 *   [T.JOB_CREATED]: (h, a) => h.recvJobCreated(a[0]),            // a: [handle: string]
 *   [T.WORK_COMPLETE]: (h, a) => h.recvWorkUpdate('complete', a[0], a[1]), // [string, Buffer]
 * } satisfies DispatchTable<ClientCommandHandler>;
 * ```
 *
 * and return it from the handler's `dispatchTable()`. A packet type missing from the table is an
 * UnknownCommandError. Index the tuple (`a[0]`) rather than destructure it on hot paths: array
 * destructuring may allocate an iterator per packet. Published for `gearman-ts/internal` (not on the public API pages).
 */
export type DispatchTable<H> = { readonly [K in ReceivedCommand]?: (handler: H, args: CommandArgs[K]) => void };
