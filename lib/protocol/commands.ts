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
  CAN_DO: 1,
  CANT_DO: 2,
  RESET_ABILITIES: 3,
  PRE_SLEEP: 4,
  NOOP: 6,
  SUBMIT_JOB: 7,
  JOB_CREATED: 8,
  GRAB_JOB: 9,
  NO_JOB: 10,
  JOB_ASSIGN: 11,
  WORK_STATUS: 12,
  WORK_COMPLETE: 13,
  WORK_FAIL: 14,
  GET_STATUS: 15,
  ECHO_REQ: 16,
  ECHO_RES: 17,
  SUBMIT_JOB_BG: 18,
  ERROR: 19,
  STATUS_RES: 20,
  SUBMIT_JOB_HIGH: 21,
  SET_CLIENT_ID: 22,
  CAN_DO_TIMEOUT: 23,
  ALL_YOURS: 24,
  WORK_EXCEPTION: 25,
  OPTION_REQ: 26,
  OPTION_RES: 27,
  WORK_DATA: 28,
  WORK_WARNING: 29,
  GRAB_JOB_UNIQ: 30,
  JOB_ASSIGN_UNIQ: 31,
  SUBMIT_JOB_HIGH_BG: 32,
  SUBMIT_JOB_LOW: 33,
  SUBMIT_JOB_LOW_BG: 34,
  SUBMIT_JOB_SCHED: 35,
  SUBMIT_JOB_EPOCH: 36,
  SUBMIT_REDUCE_JOB: 37,
  SUBMIT_REDUCE_JOB_BACKGROUND: 38,
  GRAB_JOB_ALL: 39,
  JOB_ASSIGN_ALL: 40,
  GET_STATUS_UNIQUE: 41,
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
