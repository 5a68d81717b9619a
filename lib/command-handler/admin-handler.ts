/**
 * The admin client's per-connection handler, as python-gearman's
 * `GearmanAdminClientCommandHandler`, but matching answers strictly in request order: each command
 * waits in a FIFO; a text line (or an ECHO_RES) answers the oldest one. Commands whose caller gave
 * up (timeout) stay in the FIFO so their late answer is consumed, not handed to the next command.
 *
 * @module
 */
import { CommandHandler } from './command-handler.js';
import { CommandType } from '../protocol/commands.js';
import type { PacketArgs } from '../protocol/decoder.js';
import { adminLine, parseErrLine, type AdminResponseKind } from '../protocol/admin.js';
import { Fifo } from '../fifo.js';
import { InvalidAdminClientState, type GearmanError } from '../errors.js';
import type { GearmanConnection } from '../connection.js';
import type { ConnectionManager } from '../connection-manager.js';

/** One admin command awaiting its answer. @internal */
export class AdminCommand {
  /** Listing lines (list commands). */
  lines: string[] = [];
  /** The one-line answer, or the echoed data. */
  result: string | Buffer | undefined = undefined;
  error: GearmanError | undefined = undefined;
  done = false;
  /** The caller timed out; the answer is dropped when it comes. */
  abandoned = false;
  waiters: unknown = undefined;

  constructor(
    /** The command text (e.g. `status`), or `ECHO_REQ`. */
    readonly name: string,
    readonly kind: AdminResponseKind | 'echo',
  ) {}
}

/**
 * Per-connection admin state.
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

  /** Queues an admin text command and returns what will hold its answer. */
  sendTextCommand(words: string[], kind: AdminResponseKind): AdminCommand {
    const command = new AdminCommand(words.join(' '), kind);
    this.connectionManager.sendText(this, adminLine(...words));
    this.sent.push(command);
    return command;
  }

  /** Queues ECHO_REQ with `data`. */
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

  /**
   * One line of text: it answers the oldest command.
   *
   * @throws {@link InvalidAdminClientState} for a line no command awaits (the connection is then
   * closed, since the answers can no longer be matched)
   */
  recvTextCommand(line: string): void {
    const command = this.sent.peek();
    if (command === undefined || command.kind === 'echo') {
      throw new InvalidAdminClientState(`${this.connection.address}: unexpected admin line ${JSON.stringify(line.slice(0, 80))} (${command === undefined ? 'no command awaits an answer' : 'an ECHO_RES was expected'})`);
    }
    if (command.kind === 'line' || command.lines.length === 0) {
      const error = parseErrLine(line, `${this.connection.address} '${command.name}'`);
      if (error !== undefined) {
        command.error = error;
        this.finish(command);
        return;
      }
    }
    if (command.kind === 'line') {
      command.result = line;
      this.finish(command);
    } else if (line === '.') this.finish(command);
    else command.lines.push(line);
  }

  /** ECHO_RES: answers the oldest command, which must be an echo. */
  recvEchoRes(args: PacketArgs): void {
    const command = this.sent.peek();
    if (command === undefined || command.kind !== 'echo') {
      throw new InvalidAdminClientState(`${this.connection.address}: unexpected ECHO_RES (${command === undefined ? 'no command awaits an answer' : `'${command.name}' awaits a text answer`})`);
    }
    command.result = args[0] as Buffer;
    this.finish(command);
  }

  /** ERROR packet: answers the oldest command (gearmand sends one for a bad binary request). */
  override recvError(args: PacketArgs): void {
    const command = this.sent.peek();
    if (command === undefined) {
      super.recvError(args);
      return;
    }
    const [code, text] = args as [string, string];
    command.error = parseErrLine(`ERR ${code} ${text}`, `${this.connection.address} '${command.name}'`);
    this.finish(command);
  }

  /** Every command still waiting ends with the connection's error. */
  override onIoError(error: GearmanError): void {
    for (const command of this.sent.drain()) {
      command.error = error;
      command.done = true;
      this.connectionManager.wake(command);
    }
  }
}
