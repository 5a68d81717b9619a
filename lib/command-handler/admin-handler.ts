/**
 * The admin client's per-connection handler, as python-gearman's
 * `GearmanAdminClientCommandHandler`, but matching answers strictly in request order (python-gearman
 * bug 25): every command sent waits in one FIFO, and each complete answer finishes the oldest one.
 * gearmand answers the text and binary requests of one connection in the order it got them
 * (protocol.md §4.15), so several commands can be in flight at once.
 *
 * A listing command (`status`, `workers`, `show jobs`, ...) is sent followed by an ECHO_REQ, its
 * fence: the listing is every line before the ECHO_RES. gearmand prints names as they were given,
 * so a `.` line may be a row (a job whose unique is `.`), and a line starting `ERR ` may be one
 * too; with the fence the listing is `rows…` then `.`, or a single `ERR` line, and nothing else.
 * A binary packet cannot be mistaken for a line (it starts with NUL, which no line holds).
 *
 * The handler sees its connection and an {@link AdminHandlerHost}: the four things it asks of the
 * admin client.
 *
 * @module
 */
import { CommandHandler } from './command-handler.js';
import { CommandType, type CommandName } from '../protocol/commands.js';
import type { PacketArg } from '../protocol/encoder.js';
import type { PacketArgs } from '../protocol/decoder.js';
import { adminLine, isErrLine, parseErrLine, type AdminResponseKind } from '../protocol/admin.js';
import { Fifo } from '../fifo.js';
import { ConnectionError, InvalidAdminClientState, ListingTooLargeError, ProtocolError, ServerError, UnknownCommandError, type GearmanError } from '../errors.js';
import type { GearmanConnection } from '../connection.js';
import type { ConnectionManager } from '../connection-manager.js';

/** Bounds on one listing (see the admin client's `maxListingRows` / `maxListingBytes`). Published for `gearman-ts/internal` (not on the public API pages). */
export interface ListingLimits {
  /** Most rows one listing may have. */
  readonly maxListingRows: number;
  /** Most bytes one listing may have (its lines with their `\n`, the `.` line included). */
  readonly maxListingBytes: number;
}

/**
 * What an {@link AdminClientCommandHandler} needs from its owner (the {@link GearmanAdminClient}
 * implements it): queue bytes on the handler's connection, wake the waits on a command, log, and
 * the listing limits. A unit spec passes a plain object.
 * Published for `gearman-ts/internal` (not on the public API pages).
 */
export interface AdminHandlerHost extends ListingLimits {
  /**
   * Queues an admin text line on `handler`'s connection.
   * @throws {@link ConnectionError} if that connection is gone
   */
  sendText(handler: CommandHandler, text: string): void;
  /**
   * Queues a packet on `handler`'s connection.
   * @throws {@link ConnectionError} if that connection is gone
   */
  sendCommand(handler: CommandHandler, type: number, args: readonly PacketArg[], validated?: boolean): void;
  /** Wakes the waits watching `target` (a command). */
  wake(target: object): void;
  /** Reports a server ERROR that answers no command. */
  onGearmanError(handler: CommandHandler, error: ServerError): void;
}

/**
 * One admin command sent and awaiting its answer; the admin client's wait watches it.
 * @internal
 */
export class AdminCommand {
  /** The rows of a listing, without the `.` line. */
  lines: string[] = [];
  /** Bytes of the listing's lines, each with its `\n`, the `.` line included (for `maxListingBytes`). */
  bytes = 0;
  /** The one-line answer, the echoed bytes, or `null` (a shutdown the server answered by closing). */
  result: string | Buffer | null | undefined = undefined;
  /** Why the command failed: an `ERR` answer, an ERROR packet, or the connection's loss. */
  error: GearmanError | undefined = undefined;
  /** The answer is complete (or the command failed). */
  done = false;
  /** Poll loops waiting on this command (managed by the connection manager). */
  waiters: unknown = undefined;
  /** A listing's fence: the ECHO_REQ payload sent after it, whose ECHO_RES ends the listing. */
  fence: string | undefined = undefined;

  /**
   * @param name - the command text without its line ending (`status`, `cancel job H:x:1`), or
   * `ECHO_REQ`
   * @param kind - how it is answered
   */
  constructor(
    readonly name: string,
    readonly kind: AdminResponseKind | 'echo',
  ) {}
}

type PacketMethod = (handler: AdminClientCommandHandler, args: PacketArgs) => void;

/** The packets an admin connection handles, by type. */
const PACKETS = {
  [CommandType.ECHO_RES]: (handler, args) => handler.recvEchoRes(args),
  [CommandType.ERROR]: (handler, args) => handler.recvError(args),
} satisfies Partial<Record<(typeof CommandType)[CommandName], PacketMethod>>;

const DISPATCH: ReadonlyMap<number, PacketMethod> = new Map(Object.entries(PACKETS).map(([type, fn]) => [Number(type), fn]));

let fenceSequence = 0;

/**
 * One admin connection's state: the FIFO of commands awaiting an answer.
 *
 * @example
 * ```ts
 * // What GearmanAdminClient does for getStatus():
 * const command = handler.sendTextCommand(['status'], 'list');
 * // ... once command.done: parseStatus(command.lines)
 * ```
 */
export class AdminClientCommandHandler extends CommandHandler {
  /** What this handler asks of its owner. */
  readonly host: AdminHandlerHost;
  private readonly sent = new Fifo<AdminCommand>();

  /**
   * @param host - the owning admin client (see {@link AdminHandlerHost})
   * @param connection - the connection served
   */
  constructor(host: AdminHandlerHost, connection: GearmanConnection) {
    // The base class keeps its owner as a ConnectionManager for the handlers that use one (its
    // data encoder, its sendCommand); this handler overrides or leaves those and reaches its owner
    // only through `host`, so a unit spec may pass any AdminHandlerHost.
    super(host as AdminHandlerHost & ConnectionManager<CommandHandler>, connection);
    this.host = host;
  }

  /** Commands sent and not answered yet. */
  get pendingCount(): number {
    return this.sent.length;
  }

  /**
   * Queues an admin text command (python-gearman's `send_text_command`); a listing is followed by
   * its fence, an ECHO_REQ.
   *
   * @param words - the command and its arguments (already checked)
   * @param kind - `'line'` for one-line answers, `'list'` for listings ended by `.`
   * @returns what will hold the answer
   * @throws {@link ConnectionError} if the connection is gone (nothing is queued)
   * @throws {@link InvalidArgumentError} for a line too long for gearmand
   * @internal
   */
  sendTextCommand(words: string[], kind: AdminResponseKind): AdminCommand {
    const command = new AdminCommand(words.join(' '), kind);
    this.host.sendText(this, adminLine(...words));
    if (kind === 'list') {
      command.fence = `gearman-ts listing ${++fenceSequence}`;
      this.host.sendCommand(this, CommandType.ECHO_REQ, [command.fence]);
    }
    this.sent.push(command);
    return command;
  }

  /**
   * Queues ECHO_REQ (python-gearman's `send_echo_request`).
   *
   * @param data - the bytes to echo
   * @returns what will hold the echoed bytes
   * @throws {@link ConnectionError} if the connection is gone (nothing is queued)
   * @internal
   */
  sendEchoRequest(data: string | Uint8Array): AdminCommand {
    const command = new AdminCommand('ECHO_REQ', 'echo');
    this.host.sendCommand(this, CommandType.ECHO_REQ, [data]);
    this.sent.push(command);
    return command;
  }

  /**
   * Dispatches one packet through this handler's table (ECHO_RES, ERROR).
   *
   * @throws {@link UnknownCommandError} for any other packet (the connection is then closed)
   */
  override recvCommand(type: number, args: PacketArgs): void {
    const fn = DISPATCH.get(type);
    if (fn === undefined) {
      throw new UnknownCommandError(`${this.connection.address}: the admin client received packet type ${type}, which no admin command is answered with`);
    }
    fn(this, args);
  }

  private finish(command: AdminCommand): void {
    command.done = true;
    this.sent.shift();
    this.host.wake(command);
  }

  private where(command: AdminCommand): string {
    return `${this.connection.address} '${command.name}'`;
  }

  /**
   * One text line from the server: part or all of the oldest command's answer.
   *
   * @param line - the line without its `\n` or `\r\n` (which ending it had does not matter: a
   * listing ends at its fence, not at a line that looks like an end or an error)
   * @throws {@link InvalidAdminClientState} for a line no text command awaits; the connection is
   * then closed (its answers can no longer be matched) and the commands on it fail with this error
   * @throws {@link ListingTooLargeError} when the oldest command's listing passes
   * `maxListingRows` or `maxListingBytes`; the connection is then reset
   */
  recvTextCommand(line: string): void {
    const command = this.sent.peek();
    if (command === undefined || command.kind === 'echo') {
      throw new InvalidAdminClientState(
        `${this.connection.address}: unexpected admin line ${JSON.stringify(line.slice(0, 80))} (${command === undefined ? 'no command awaits an answer' : 'an ECHO_RES was expected'})`,
      );
    }
    if (command.kind === 'line') {
      command.result = line;
      command.error = parseErrLine(line, this.where(command));
      this.finish(command);
      return;
    }
    command.lines.push(line);
    command.bytes += Buffer.byteLength(line) + 1;
    const { maxListingRows, maxListingBytes } = this.host;
    // The `.` line is not a row, so a listing of exactly maxListingRows rows fits.
    if (command.lines.length > maxListingRows + 1 || command.bytes > maxListingBytes) {
      const limit = command.bytes > maxListingBytes ? 'maxListingBytes' : 'maxListingRows';
      const error = new ListingTooLargeError(
        `${this.where(command)}: listing passed ${limit} (${limit === 'maxListingRows' ? `${maxListingRows} rows` : `${maxListingBytes} bytes`}) before its end; connection reset`,
        { limit, rows: command.lines.length, bytes: command.bytes },
      );
      command.lines = [];
      throw error;
    }
  }

  /**
   * ECHO_RES: the fence of the oldest command, a listing, which it ends; or the answer to the
   * oldest command, an echo.
   *
   * @throws {@link InvalidAdminClientState} if the oldest command is neither, or the echo is not
   * the fence sent (the connection is then closed)
   */
  recvEchoRes(args: PacketArgs): void {
    const command = this.sent.peek();
    if (command?.kind === 'list') {
      const echoed = (args[0] as Buffer).toString('utf8');
      if (echoed !== command.fence) {
        throw new InvalidAdminClientState(`${this.where(command)}: the listing's fence came back as ${JSON.stringify(echoed.slice(0, 80))}, not ${JSON.stringify(command.fence)}`);
      }
      this.endListing(command);
      return;
    }
    if (command === undefined || command.kind !== 'echo') {
      throw new InvalidAdminClientState(
        `${this.connection.address}: unexpected ECHO_RES (${command === undefined ? 'no command awaits an answer' : `'${command.name}' awaits a text answer`})`,
      );
    }
    command.result = args[0] as Buffer;
    this.finish(command);
  }

  /** A listing's fence arrived: its lines are `rows…` then `.`, or one `ERR` line. */
  private endListing(command: AdminCommand): void {
    const lines = command.lines;
    if (lines.length !== 0 && lines[lines.length - 1] === '.') {
      lines.pop();
    } else if (lines.length === 1 && isErrLine(lines[0]!)) {
      command.error = parseErrLine(lines[0]!, this.where(command));
      command.lines = [];
    } else {
      // The stream is still in step (the fence came back where expected): only this call fails.
      command.error = new ProtocolError(
        `${this.where(command)}: listing ended without its '.' line (${lines.length} line(s)${lines.length === 0 ? '' : `, the last ${JSON.stringify(lines[lines.length - 1]!.slice(0, 80))}`})`,
      );
      command.lines = [];
    }
    this.finish(command);
  }

  /**
   * ERROR packet: gearmand sends one in place of the answer to a binary request it refuses, so it
   * fails the oldest command; with none waiting it is only reported.
   */
  override recvError(args: PacketArgs): void {
    const [code, text] = args as [string, string];
    const command = this.sent.peek();
    if (command === undefined) {
      this.host.onGearmanError(this, new ServerError(`${this.connection.address}: server error ${code}: ${text}`, code, text));
      return;
    }
    command.error = new ServerError(`${this.where(command)}: server answered ERROR ${code}${text ? ': ' + text : ''}`, code, text);
    this.finish(command);
  }

  /**
   * The connection is gone: every command still waiting fails with `error`, except a `shutdown`
   * that was the oldest one: a server that closes the connection in answer to it has done what it
   * was asked, so it resolves with `null`. When a listing that grew too large reset the
   * connection, the commands behind it fail with a {@link ConnectionError} caused by it.
   */
  override onIoError(error: GearmanError): void {
    const commands = this.sent.drain();
    for (let i = 0; i < commands.length; i++) {
      const command = commands[i]!;
      if (i === 0 && command.name.startsWith('shutdown') && error instanceof ConnectionError && error.code === 'CONNECTION_ERROR') {
        command.result = null;
      } else if (i > 0 && error instanceof ListingTooLargeError) {
        command.error = new ConnectionError(`${this.connection.address}: connection reset: ${error.message.replace(`${this.connection.address} `, '')}`, { cause: error });
      } else {
        command.error = error;
      }
      command.done = true;
      this.host.wake(command);
    }
  }
}
