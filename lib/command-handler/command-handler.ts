/**
 * Base of the per-connection command handlers, as python-gearman's `GearmanCommandHandler`: it
 * holds one connection's protocol state, receives that connection's packets through `recv*`
 * methods named after the packet (`recvJobCreated` for JOB_CREATED), and sends packets through
 * the manager. It never touches a socket.
 *
 * @module
 */
import { COMMANDS, commandName } from '../protocol/commands.js';
import type { PacketArg } from '../protocol/encoder.js';
import type { PacketArgs } from '../protocol/decoder.js';
import { UnknownCommandError, ServerError, type GearmanError } from '../errors.js';
import type { GearmanConnection } from '../connection.js';
import type { ConnectionManager } from '../connection-manager.js';

type RecvMethod = (this: CommandHandler, args: PacketArgs) => void;

const dispatchTables = new WeakMap<object, Array<RecvMethod | undefined>>();

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
  /** The manager that owns this handler. */
  readonly connectionManager: ConnectionManager<CommandHandler>;
  /** The connection this handler serves (for identification; the handler never does I/O). */
  readonly connection: GearmanConnection;
  private readonly table: Array<RecvMethod | undefined>;

  /**
   * @param connectionManager - the owning manager
   * @param connection - the connection served
   */
  constructor(connectionManager: ConnectionManager<CommandHandler>, connection: GearmanConnection) {
    this.connectionManager = connectionManager;
    this.connection = connection;
    this.table = dispatchTable(Object.getPrototypeOf(this) as object);
  }

  /** Called once, right after the connection is established (python-gearman's `initial_state`). */
  initialState(): void {}

  /**
   * Called when the connection is lost or closed; the handler is discarded afterwards.
   * @param error - why the connection went away
   */
  onIoError(error: GearmanError): void {
    void error;
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
    const fn = this.table[type];
    if (fn === undefined) {
      throw new UnknownCommandError(
        `${this.connection.address}: ${this.constructor.name} received ${commandName(type)}, which it does not handle`,
      );
    }
    fn.call(this, args);
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
