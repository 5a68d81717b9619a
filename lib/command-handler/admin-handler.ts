/**
 * The admin client's per-connection handler, as python-gearman's
 * `GearmanAdminClientCommandHandler`, but matching answers strictly in request order (python-gearman
 * bug 25): every command sent waits in one FIFO, and each complete answer (a line, a listing ended
 * by `.`, an `ERR` line, an ECHO_RES or an ERROR packet) finishes the oldest one. gearmand answers
 * the text and binary requests of one connection in the order it got them (protocol.md §5), so
 * several commands can be in flight at once.
 *
 * @module
 */
import { CommandHandler } from './command-handler.js';
import { CommandType } from '../protocol/commands.js';
import type { PacketArgs } from '../protocol/decoder.js';
import { adminLine, isErrLine, parseErrLine, type AdminResponseKind } from '../protocol/admin.js';
import { Fifo } from '../fifo.js';
import { ConnectionError, InvalidAdminClientState, ServerError, type GearmanError } from '../errors.js';
import type { GearmanConnection } from '../connection.js';
import type { ConnectionManager } from '../connection-manager.js';

/**
 * One admin command sent and awaiting its answer; the admin client's wait watches it.
 * @internal
 */
export class AdminCommand {
  /** The rows of a listing, without the `.` line. */
  lines: string[] = [];
  /** The one-line answer, the echoed bytes, or `null` (a shutdown the server answered by closing). */
  result: string | Buffer | null | undefined = undefined;
  /** Why the command failed: an `ERR` answer, an ERROR packet, or the connection's loss. */
  error: GearmanError | undefined = undefined;
  /** The answer is complete (or the command failed). */
  done = false;
  /** Poll loops waiting on this command (managed by the connection manager). */
  waiters: unknown = undefined;

  /**
   * @param name - the command text without arguments' line ending (`status`, `cancel job H:x:1`),
   * or `ECHO_REQ`
   * @param kind - how it is answered
   */
  constructor(
    readonly name: string,
    readonly kind: AdminResponseKind | 'echo',
  ) {}
}

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
  private readonly sent = new Fifo<AdminCommand>();

  /**
   * @param connectionManager - the owning admin client
   * @param connection - the connection served
   */
  constructor(connectionManager: ConnectionManager<AdminClientCommandHandler>, connection: GearmanConnection) {
    super(connectionManager as unknown as ConnectionManager, connection);
  }

  /** Commands sent and not answered yet. */
  get pendingCount(): number {
    return this.sent.length;
  }

  /**
   * Queues an admin text command (python-gearman's `send_text_command`).
   *
   * @param words - the command and its arguments (already checked)
   * @param kind - `'line'` for one-line answers, `'list'` for listings ended by `.`
   * @returns what will hold the answer
   * @throws {@link ConnectionError} if the connection is gone (nothing is queued)
   * @throws {@link GearmanError} (code `'INVALID_ARGUMENT'`) for a line too long for gearmand
   * @internal
   */
  sendTextCommand(words: string[], kind: AdminResponseKind): AdminCommand {
    const command = new AdminCommand(words.join(' '), kind);
    this.connectionManager.sendText(this, adminLine(...words));
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
    this.sendCommand(CommandType.ECHO_REQ, [data]);
    this.sent.push(command);
    return command;
  }

  private finish(command: AdminCommand): void {
    command.done = true;
    this.sent.shift();
    this.connectionManager.wake(command);
  }

  private where(command: AdminCommand): string {
    return `${this.connection.address} '${command.name}'`;
  }

  /**
   * One text line from the server: part or all of the oldest command's answer.
   *
   * @param line - the line without its `\n` or `\r\n`
   * @param crlf - whether it ended in `\r\n`, when the decoder reports it: gearmand ends `ERR`
   * lines with `\r\n` and listing rows with `\n`, which settles whether a listing's first line
   * starting `ERR ` is an error. Without it, the shape of the line decides (`isErrLine` in
   * `protocol/admin.ts`).
   * @throws {@link InvalidAdminClientState} for a line no text command awaits; the connection is
   * then closed (its answers can no longer be matched) and the commands on it fail with this error
   */
  recvTextCommand(line: string, crlf?: boolean): void {
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
    // A listing: an error can only replace it entirely, so only its first line can be one.
    if (command.lines.length === 0 && (crlf === undefined ? isErrLine(line, true) : crlf && isErrLine(line))) {
      command.error = parseErrLine(line, this.where(command));
      this.finish(command);
    } else if (line === '.') {
      this.finish(command);
    } else {
      command.lines.push(line);
    }
  }

  /**
   * ECHO_RES: answers the oldest command, which must be an echo.
   *
   * @throws {@link InvalidAdminClientState} if no echo is the oldest command (the connection is
   * then closed)
   */
  recvEchoRes(args: PacketArgs): void {
    const command = this.sent.peek();
    if (command === undefined || command.kind !== 'echo') {
      throw new InvalidAdminClientState(
        `${this.connection.address}: unexpected ECHO_RES (${command === undefined ? 'no command awaits an answer' : `'${command.name}' awaits a text answer`})`,
      );
    }
    command.result = args[0] as Buffer;
    this.finish(command);
  }

  /**
   * ERROR packet: gearmand sends one in place of the answer to a binary request it refuses, so it
   * fails the oldest command; with none waiting it is only logged.
   */
  override recvError(args: PacketArgs): void {
    const command = this.sent.peek();
    if (command === undefined) {
      super.recvError(args);
      return;
    }
    const [code, text] = args as [string, string];
    command.error = new ServerError(`${this.where(command)}: server answered ERROR ${code}${text ? ': ' + text : ''}`, code, text);
    this.finish(command);
  }

  /**
   * The connection is gone: every command still waiting fails with `error`, except a `shutdown`
   * that was the oldest one: a server that closes the connection in answer to it has done what it
   * was asked, so it resolves with `null`.
   */
  override onIoError(error: GearmanError): void {
    const commands = this.sent.drain();
    for (let i = 0; i < commands.length; i++) {
      const command = commands[i]!;
      if (i === 0 && command.name.startsWith('shutdown') && error instanceof ConnectionError && error.code === 'CONNECTION_ERROR') {
        command.result = null;
      } else {
        command.error = error;
      }
      command.done = true;
      this.connectionManager.wake(command);
    }
  }
}
