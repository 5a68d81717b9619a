// A raw socket peer for the server specs: sends bytes exactly as given and records every reply
// (binary packets and admin text) as a readable string, so the embedded server and gearmand can
// be compared answer for answer.
import net from 'node:net';
import { PacketDecoder } from '../../lib/protocol/decoder.js';
import { commandName } from '../../lib/protocol/commands.js';

/** One reply, rendered: `JOB_CREATED "H:vm:1"` or `text "OK\r\n"`. */
export type Reply = string;

export class RawPeer {
  readonly replies: Reply[] = [];
  /** Replies already handed out by more() and admin(). */
  private cursor = 0;
  closed = false;
  private waiters: Array<() => void> = [];
  private readonly decoder: PacketDecoder;

  private constructor(readonly socket: net.Socket) {
    this.decoder = new PacketDecoder(
      {
        onPacket: (type, args) =>
          this.add(`${commandName(type)}${args.map((a) => ' ' + JSON.stringify(typeof a === 'string' ? a : a.toString('latin1'))).join('')}`),
        onText: (line, crlf) => this.add(`text ${JSON.stringify(line + (crlf ? '\r\n' : '\n'))}`),
      },
      { allowText: true, maxPacketSize: 64 * 1024 * 1024 },
    );
    socket.on('data', (chunk) => {
      try {
        this.decoder.push(chunk);
      } catch (err) {
        this.add(`undecodable ${(err as Error).message}`);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  static connect(port: number): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port, noDelay: true }, () => resolve(new RawPeer(socket)));
      socket.once('error', reject);
    });
  }

  private add(reply: Reply): void {
    this.replies.push(reply);
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  send(...bufs: Buffer[]): void {
    this.socket.write(Buffer.concat(bufs));
  }

  /** Sends an admin line ended by `\r\n` (as gearadmin does). */
  line(text: string): void {
    this.socket.write(text + '\r\n');
  }

  /** Resolves once `count` replies in all have arrived (or the socket closed); rejects after timeoutMs. */
  async until(count: number, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.replies.length < count && !this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected ${count} replies, got ${this.replies.length}: ${JSON.stringify(this.replies)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The next `n` replies not yet handed out (waits for them). */
  async more(n = 1, timeoutMs?: number): Promise<Reply[]> {
    const from = this.cursor;
    await this.until(from + n, timeoutMs);
    this.cursor = Math.min(this.replies.length, from + n);
    return this.replies.slice(from, from + n);
  }

  /**
   * The next `n` replies not yet handed out, all of them: rejects, with what did arrive, if the
   * server closes the connection first or they are not all there within `timeoutMs`. For the
   * reads of a compared transcript, where a short read must fail the spec where it happened.
   */
  async expectMore(n: number, timeoutMs = 10_000): Promise<Reply[]> {
    const from = this.cursor;
    await this.until(from + n, timeoutMs);
    if (this.replies.length < from + n) {
      throw new Error(`expected ${n} more replies, the server closed the connection after ${this.replies.length - from}: ${JSON.stringify(this.replies.slice(from))}`);
    }
    this.cursor = from + n;
    return this.replies.slice(from, from + n);
  }

  /** Sends an admin line and waits for its listing (up to the `.` line) or its one-line answer. */
  async admin(text: string): Promise<Reply[]> {
    const from = this.cursor;
    this.line(text);
    const deadline = Date.now() + 10_000;
    for (;;) {
      const got = this.replies.slice(from);
      const end = got.indexOf('text ".\\n"');
      if (got.length > 0 && (!isListing(text) || got[0]!.startsWith('text "ERR'))) {
        this.cursor = from + 1;
        return got.slice(0, 1);
      }
      if (end !== -1) {
        this.cursor = from + end + 1;
        return got.slice(0, end + 1);
      }
      if (this.closed) return [...got, 'closed'];
      if (Date.now() > deadline) throw new Error(`no complete answer to ${text}: ${JSON.stringify(got)}`);
      await this.until(this.replies.length + 1, deadline - Date.now()).catch(() => undefined);
    }
  }

  /** Resolves when the server has closed the connection. */
  async whenClosed(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('the server did not close the connection');
      await this.until(this.replies.length + 1, deadline - Date.now()).catch(() => undefined);
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

function isListing(command: string): boolean {
  const c = command.trim().toLowerCase().replace(/ +/g, ' ');
  return ['status', 'workers', 'prioritystatus', 'show jobs', 'show unique jobs', 'counters'].includes(c);
}
