/**
 * The binary Gearman packet types: one table row per packet, used by both the encoder and the
 * decoder. Names and numbers are those of gearmand's `PROTOCOL` file, so they grep against it.
 *
 * @module
 */

/** Magic of every packet sent to the server (`\0REQ`). */
export const MAGIC_REQ = 0x00524551;
/** Magic of every packet sent by the server (`\0RES`). */
export const MAGIC_RES = 0x00524553;
/** Size of a binary packet header: magic, type, payload size (4 bytes each). */
export const HEADER_SIZE = 12;

/**
 * Packet type numbers, by their `PROTOCOL` names.
 *
 * @example
 * ```ts
 * import { protocol } from 'gearman-ts';
 * protocol.CommandType.SUBMIT_JOB; // 7
 * ```
 */
export const CommandType = {
  /** Worker → server: the worker can run this task. */
  CAN_DO: 1,
  /** Worker → server: the worker no longer runs this task. */
  CANT_DO: 2,
  /** Worker → server: forget every task the worker registered. */
  RESET_ABILITIES: 3,
  /** Worker → server: the worker sleeps until a NOOP wakes it. */
  PRE_SLEEP: 4,
  /** Server → worker: wake up, a job may be waiting. */
  NOOP: 6,
  /** Client → server: a foreground job of normal priority. */
  SUBMIT_JOB: 7,
  /** Server → client: the job was accepted; its handle. */
  JOB_CREATED: 8,
  /** Worker → server: ask for a job (answered with JOB_ASSIGN). */
  GRAB_JOB: 9,
  /** Server → worker: no job for it now. */
  NO_JOB: 10,
  /** Server → worker: a job (handle, task, data). */
  JOB_ASSIGN: 11,
  /** Worker → server → client: progress (numerator, denominator). */
  WORK_STATUS: 12,
  /** Worker → server → client: the job succeeded; its result. */
  WORK_COMPLETE: 13,
  /** Worker → server → client: the job failed. */
  WORK_FAIL: 14,
  /** Client → server: the status of a job, by handle. */
  GET_STATUS: 15,
  /** Client or worker → server: echo this data back. */
  ECHO_REQ: 16,
  /** Server → client or worker: the echoed data. */
  ECHO_RES: 17,
  /** Client → server: a background job of normal priority. */
  SUBMIT_JOB_BG: 18,
  /** Server → client or worker: an error code and text. */
  ERROR: 19,
  /** Server → client: the answer to GET_STATUS. */
  STATUS_RES: 20,
  /** Client → server: a foreground job of high priority. */
  SUBMIT_JOB_HIGH: 21,
  /** Worker → server: the worker's id, shown by the admin `workers` command. */
  SET_CLIENT_ID: 22,
  /** Worker → server: as CAN_DO, with a time limit per job. */
  CAN_DO_TIMEOUT: 23,
  /** Worker → server: not implemented by gearmand 1.1 (answered with ERROR). */
  ALL_YOURS: 24,
  /** Worker → server → client: the job failed with exception data (to clients that asked for exceptions). */
  WORK_EXCEPTION: 25,
  /** Client or worker → server: turn on an option (`exceptions`). */
  OPTION_REQ: 26,
  /** Server → client or worker: the option was turned on. */
  OPTION_RES: 27,
  /** Worker → server → client: a data update. */
  WORK_DATA: 28,
  /** Worker → server → client: a warning update. */
  WORK_WARNING: 29,
  /** Worker → server: ask for a job with its unique (answered with JOB_ASSIGN_UNIQ). */
  GRAB_JOB_UNIQ: 30,
  /** Server → worker: a job (handle, task, unique, data). */
  JOB_ASSIGN_UNIQ: 31,
  /** Client → server: a background job of high priority. */
  SUBMIT_JOB_HIGH_BG: 32,
  /** Client → server: a foreground job of low priority. */
  SUBMIT_JOB_LOW: 33,
  /** Client → server: a background job of low priority. */
  SUBMIT_JOB_LOW_BG: 34,
  /** Client → server: a job scheduled cron-style (gearmand 1.1 refuses it with ERROR). */
  SUBMIT_JOB_SCHED: 35,
  /** Client → server: a background job to run no earlier than an epoch time. */
  SUBMIT_JOB_EPOCH: 36,
  /** Client → server: a map/reduce job (gearmand extension). */
  SUBMIT_REDUCE_JOB: 37,
  /** Client → server: a background map/reduce job (gearmand extension). */
  SUBMIT_REDUCE_JOB_BACKGROUND: 38,
  /** Worker → server: ask for a job with its unique and reducer (answered with JOB_ASSIGN_ALL). */
  GRAB_JOB_ALL: 39,
  /** Server → worker: a job with its unique and reducer. */
  JOB_ASSIGN_ALL: 40,
  /** Client → server: the status of a job, by unique. */
  GET_STATUS_UNIQUE: 41,
  /** Server → client: the answer to GET_STATUS_UNIQUE. */
  STATUS_RES_UNIQUE: 42,
} as const;

/** The name of a packet type, as in {@link CommandType}. */
export type CommandName = keyof typeof CommandType;

/** One row of the packet table. */
export interface CommandSpec {
  /** Packet type number. */
  readonly type: number;
  /** `PROTOCOL` name, e.g. `WORK_COMPLETE`. */
  readonly name: CommandName;
  /** Argument names in wire order. */
  readonly args: readonly string[];
  /**
   * True when the last argument is opaque data (it may contain NUL bytes and is decoded as a
   * `Buffer`); otherwise every argument is text.
   */
  readonly binaryLast: boolean;
  /** Handler method that receives this packet: `recv` + the camelCase name. */
  readonly method: string;
  /**
   * Who may send it: `'REQ'` only clients and workers (to the server), `'RES'` only the server,
   * `'both'` a worker to the server and the server on to clients (WORK_*), as protocol.md §2.
   */
  readonly direction: PacketDirection;
}

/** Which side sends a packet type: see {@link CommandSpec.direction}. */
export type PacketDirection = 'REQ' | 'RES' | 'both';

/**
 * Which end of a connection a codec sits at: `'client'` (clients, workers and admin clients: it
 * sends REQ packets and receives RES ones) or `'server'` (the reverse).
 */
export type PacketSide = 'client' | 'server';

/** Magic this side writes. */
export function sendMagic(side: PacketSide): number {
  return side === 'server' ? MAGIC_RES : MAGIC_REQ;
}

/** Magic this side expects to read. */
export function receiveMagic(side: PacketSide): number {
  return side === 'server' ? MAGIC_REQ : MAGIC_RES;
}

/** True when `side` may receive packets of this table row. */
export function receivableBy(spec: CommandSpec, side: PacketSide): boolean {
  return spec.direction === 'both' || spec.direction === (side === 'server' ? 'REQ' : 'RES');
}

const T = CommandType;
const SUBMIT = ['task', 'unique', 'data'];

// [type, argument names, binary last argument]; the direction comes from DIRECTIONS below.
const ROWS: ReadonlyArray<[number, string[], boolean]> = [
  [T.CAN_DO, ['task'], false],
  [T.CANT_DO, ['task'], false],
  [T.RESET_ABILITIES, [], false],
  [T.PRE_SLEEP, [], false],
  [T.NOOP, [], false],
  [T.SUBMIT_JOB, SUBMIT, true],
  [T.JOB_CREATED, ['handle'], false],
  [T.GRAB_JOB, [], false],
  [T.NO_JOB, [], false],
  [T.JOB_ASSIGN, ['handle', 'task', 'data'], true],
  [T.WORK_STATUS, ['handle', 'numerator', 'denominator'], false],
  [T.WORK_COMPLETE, ['handle', 'data'], true],
  [T.WORK_FAIL, ['handle'], false],
  [T.GET_STATUS, ['handle'], false],
  [T.ECHO_REQ, ['data'], true],
  [T.ECHO_RES, ['data'], true],
  [T.SUBMIT_JOB_BG, SUBMIT, true],
  [T.ERROR, ['errorCode', 'errorText'], false],
  [T.STATUS_RES, ['handle', 'known', 'running', 'numerator', 'denominator'], false],
  [T.SUBMIT_JOB_HIGH, SUBMIT, true],
  [T.SET_CLIENT_ID, ['clientId'], false],
  [T.CAN_DO_TIMEOUT, ['task', 'timeout'], false],
  [T.ALL_YOURS, [], false],
  [T.WORK_EXCEPTION, ['handle', 'data'], true],
  [T.OPTION_REQ, ['optionName'], false],
  [T.OPTION_RES, ['optionName'], false],
  [T.WORK_DATA, ['handle', 'data'], true],
  [T.WORK_WARNING, ['handle', 'data'], true],
  [T.GRAB_JOB_UNIQ, [], false],
  [T.JOB_ASSIGN_UNIQ, ['handle', 'task', 'unique', 'data'], true],
  [T.SUBMIT_JOB_HIGH_BG, SUBMIT, true],
  [T.SUBMIT_JOB_LOW, SUBMIT, true],
  [T.SUBMIT_JOB_LOW_BG, SUBMIT, true],
  [T.SUBMIT_JOB_SCHED, ['task', 'unique', 'minute', 'hour', 'dayOfMonth', 'month', 'dayOfWeek', 'data'], true],
  [T.SUBMIT_JOB_EPOCH, ['task', 'unique', 'epoch', 'data'], true],
  // gearmand 1.1.20 and libgearman put an (empty) aggregate field before the data: protocol.md §2.
  [T.SUBMIT_REDUCE_JOB, ['task', 'unique', 'reducer', 'aggregate', 'data'], true],
  [T.SUBMIT_REDUCE_JOB_BACKGROUND, ['task', 'unique', 'reducer', 'aggregate', 'data'], true],
  [T.GRAB_JOB_ALL, [], false],
  [T.JOB_ASSIGN_ALL, ['handle', 'task', 'unique', 'reducer', 'data'], true],
  [T.GET_STATUS_UNIQUE, ['unique'], false],
  [T.STATUS_RES_UNIQUE, ['unique', 'known', 'running', 'numerator', 'denominator', 'waiting'], false],
];

// protocol.md §2, "Magic" column: REQ only to the server, RES only from it, both for WORK_*.
const RES_ONLY: ReadonlySet<number> = new Set([
  T.NOOP, T.JOB_CREATED, T.NO_JOB, T.JOB_ASSIGN, T.ECHO_RES, T.ERROR, T.STATUS_RES, T.OPTION_RES,
  T.JOB_ASSIGN_UNIQ, T.JOB_ASSIGN_ALL, T.STATUS_RES_UNIQUE,
]);
const BOTH: ReadonlySet<number> = new Set([
  T.WORK_STATUS, T.WORK_COMPLETE, T.WORK_FAIL, T.WORK_EXCEPTION, T.WORK_DATA, T.WORK_WARNING,
]);

function directionOf(type: number): PacketDirection {
  return BOTH.has(type) ? 'both' : RES_ONLY.has(type) ? 'RES' : 'REQ';
}

const NAMES = new Map<number, CommandName>(
  (Object.entries(CommandType) as [CommandName, number][]).map(([name, type]) => [type, name]),
);

function methodName(name: string): string {
  return 'recv' + name.toLowerCase().replace(/(^|_)([a-z])/g, (_m, _u, c: string) => c.toUpperCase());
}

/** Highest packet type number in the table. */
export const MAX_COMMAND_TYPE = 42;

/**
 * The packet table indexed by type number; `undefined` for numbers that are not packet types
 * (0, 5, and anything above {@link MAX_COMMAND_TYPE}).
 */
export const COMMANDS: ReadonlyArray<CommandSpec | undefined> = (() => {
  const table: (CommandSpec | undefined)[] = new Array(MAX_COMMAND_TYPE + 1).fill(undefined);
  for (const [type, args, binaryLast] of ROWS) {
    const name = NAMES.get(type)!;
    table[type] = Object.freeze({ type, name, args: Object.freeze(args), binaryLast, method: methodName(name), direction: directionOf(type) });
  }
  return Object.freeze(table);
})();

/**
 * Looks up a packet type.
 *
 * @param type - packet type number
 * @returns its table row, or `undefined` if the number is not a packet type
 */
export function commandSpec(type: number): CommandSpec | undefined {
  return COMMANDS[type];
}

/**
 * The `PROTOCOL` name of a packet type, or `UNKNOWN(<n>)` for numbers that are not packet types.
 *
 * @param type - packet type number
 */
export function commandName(type: number): string {
  return COMMANDS[type]?.name ?? `UNKNOWN(${type})`;
}

/** Packet types that submit a job; gearmand answers each with JOB_CREATED or ERROR. */
export const SUBMIT_TYPES: ReadonlySet<number> = new Set([
  T.SUBMIT_JOB, T.SUBMIT_JOB_BG, T.SUBMIT_JOB_HIGH, T.SUBMIT_JOB_HIGH_BG, T.SUBMIT_JOB_LOW,
  T.SUBMIT_JOB_LOW_BG, T.SUBMIT_JOB_SCHED, T.SUBMIT_JOB_EPOCH, T.SUBMIT_REDUCE_JOB,
  T.SUBMIT_REDUCE_JOB_BACKGROUND,
]);
