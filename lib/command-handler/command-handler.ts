/**
 * Base of the per-connection command handlers, as python-gearman's `GearmanCommandHandler`: it
 * holds one connection's protocol state, receives that connection's packets, and sends packets
 * through its host (the manager). It never touches a socket.
 *
 * Two ways to receive packets:
 * - A typed dispatch table (the pattern to adopt): the subclass overrides `dispatchTable()` to
 *   return a `DispatchTable<Self>` (see `protocol/command-args.ts`) checked with `satisfies`;
 *   each entry gets that packet's argument tuple. `ClientCommandHandler` does this.
 * - By name, for subclasses without a table: `recv<Packet>(args)` methods named after the
 *   packet (`recvJobCreated` for JOB_CREATED), found once per class.
 *
 * @module
 */
import { COMMANDS, commandName } from '../protocol/commands.js';
import type { PacketArg } from '../protocol/encoder.js';
import type { PacketArgs } from '../protocol/decoder.js';
import { UnknownCommandError, ServerError, type GearmanError } from '../errors.js';
import type { GearmanConnection } from '../connection.js';
import type { ConnectionManager, Logger } from '../connection-manager.js';
import type { DataEncoderLike } from '../encoders.js';
import type { DispatchTable } from '../protocol/command-args.js';

type RecvMethod = (this: CommandHandler, args: PacketArgs) => void;

/**
 * What every handler needs from the object that owns it (the manager implements it): sending on
 * its connection, the data encoder, the logger, and where unclaimed server errors go. A handler
 * subclass declares its own narrower-or-wider host beside it (`ClientHandlerHost`).
 * Published for `gearman-ts/internal` (not on the public API pages).
 */
export interface HandlerHost {
  /** Converts job data to and from bytes. */
  readonly dataEncoder: DataEncoderLike;
  /** Where diagnostics go. */
  readonly logger: Logger;
  /** Queues a packet on `handler`'s connection (throws ConnectionError if it is gone). */
  sendCommand(handler: CommandHandler, type: number, args: readonly PacketArg[], validated?: boolean): void;
  /** Queues an admin text line on `handler`'s connection (admin handlers). */
  sendText(handler: CommandHandler, text: string): void;
  /** Wakes the waits watching `target`. */
  wake(target: object): void;
  /** A server ERROR that nothing claimed. */
  onGearmanError(handler: CommandHandler, error: ServerError): void;
}

const dispatchTables = new WeakMap<object, Array<RecvMethod | undefined>>();

type TableEntry = (handler: CommandHandler, args: PacketArgs) => void;

const typedTables = new WeakMap<object, Array<TableEntry | undefined>>();

function typedTable(table: DispatchTable<never>): Array<TableEntry | undefined> {
  let converted = typedTables.get(table);
  if (converted === undefined) {
    converted = new Array<TableEntry | undefined>(COMMANDS.length).fill(undefined);
    for (const [type, fn] of Object.entries(table) as Array<[string, TableEntry]>) converted[Number(type)] = fn;
    typedTables.set(table, converted);
  }
  return converted;
}

function dispatchTable(proto: object): Array<RecvMethod | undefined> {
  let table = dispatchTables.get(proto);
  if (table === undefined) {
    table = COMMANDS.map((spec) => {
      if (spec === undefined) return undefined;
      const fn = (proto as Record<string, unknown>)[spec.method];
      return typeof fn === 'function' ? (fn as RecvMethod) : undefined;
    });
    dispatchTables.set(proto, table);
  }
  return table;
}

/**
 * One connection's protocol state. Subclasses add `recv<Packet>(args)` methods; a packet with no
 * method is an {@link UnknownCommandError}.
 *
 * @example
 * ```ts
 * class EchoHandler extends CommandHandler {
 *   recvEchoRes([data]: PacketArgs) { console.log(data); }
 * }
 * ```
 */
export abstract class CommandHandler {
  /** The manager that owns this handler (its host). */
  readonly connectionManager: HandlerHost;
  /** The connection this handler serves (for identification; the handler never does I/O). */
  readonly connection: GearmanConnection;
  private readonly table: Array<RecvMethod | undefined>;
  private readonly typed: Array<TableEntry | undefined> | undefined;

  /**
   * @param connectionManager - the owning manager, or any `HandlerHost`
   * @param connection - the connection served
   */
  constructor(connectionManager: HandlerHost | ConnectionManager<CommandHandler>, connection: GearmanConnection) {
    this.connectionManager = connectionManager;
    this.connection = connection;
    const typed = this.dispatchTable();
    this.typed = typed === undefined ? undefined : typedTable(typed);
    this.table = typed === undefined ? dispatchTable(Object.getPrototypeOf(this) as object) : [];
  }

  /**
   * The subclass's typed dispatch table, or undefined to dispatch by `recv<Packet>` method names.
   * Return the same (module-level) object every time: it is converted once per table.
   */
  protected dispatchTable(): DispatchTable<never> | undefined {
    return undefined;
  }

  /** Called once, right after the connection is established (python-gearman's `initial_state`). */
  initialState(): void {}

  /**
   * Called when the connection is lost or closed; the handler is discarded afterwards.
   * @param error - why the connection went away
   */
  onIoError(error: GearmanError): void {
    void error; // the base holds no state to lose
  }

  /** Encodes job data with the manager's data encoder. */
  encodeData(value: unknown): string | Uint8Array {
    return this.connectionManager.dataEncoder.encode(value);
  }

  /** Decodes job data with the manager's data encoder. */
  decodeData(data: Buffer): unknown {
    return this.connectionManager.dataEncoder.decode(data);
  }

  /**
   * Queues a packet on this handler's connection.
   *
   * @throws {@link ProtocolError} if the arguments do not fit the packet (nothing is queued)
   * @throws {@link ConnectionError} if the connection is gone
   */
  sendCommand(type: number, args: readonly PacketArg[] = [], validated = false): void {
    this.connectionManager.sendCommand(this, type, args, validated);
  }

  /**
   * Dispatches one packet to its `recv*` method.
   *
   * @throws {@link UnknownCommandError} if this handler has no method for the packet
   */
  recvCommand(type: number, args: PacketArgs): void {
    const typed = this.typed;
    if (typed !== undefined) {
      const entry = typed[type];
      if (entry === undefined) throw this.unknownCommand(type);
      entry(this, args);
      return;
    }
    const fn = this.table[type];
    if (fn === undefined) throw this.unknownCommand(type);
    fn.call(this, args);
  }

  private unknownCommand(type: number): UnknownCommandError {
    return new UnknownCommandError(`${this.connection.address}: ${this.constructor.name} received ${commandName(type)}, which it does not handle`);
  }

  /**
   * ERROR packet: `[errorCode, errorText]`. The base reports it to the manager
   * (`onGearmanError`, which logs it); subclasses match it to what it answers.
   */
  recvError(args: PacketArgs): void {
    const [code, text] = args as [string, string];
    this.connectionManager.onGearmanError(this, new ServerError(`${this.connection.address}: server error ${code}: ${text}`, code, text));
  }
}
