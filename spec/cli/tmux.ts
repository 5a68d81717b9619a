// A private tmux server (its own socket) for specs that draw in a pseudo-terminal.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);

export class Tmux {
  readonly socket = `gearman-ts-spec-${randomBytes(4).toString('hex')}`;

  private tmux(...args: string[]): Promise<{ stdout: string }> {
    return run('tmux', ['-L', this.socket, '-f', '/dev/null', ...args], { encoding: 'utf8' });
  }

  /** Starts `command` (a shell line) in a detached tmux window of the given size. */
  async start(command: string, columns = 100, rows = 24): Promise<void> {
    await this.tmux('new-session', '-d', '-s', 'spec', '-x', String(columns), '-y', String(rows), command);
  }

  /** The visible screen, one string per line. */
  async capture(): Promise<string[]> {
    return (await this.tmux('capture-pane', '-p', '-t', 'spec')).stdout.split('\n');
  }

  /** Resolves with the screen once `predicate` holds on it; rejects with the last screen after `timeoutMs`. */
  async waitForScreen(predicate: (screen: string[]) => boolean, timeoutMs = 20_000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    let screen: string[] = [];
    for (;;) {
      try {
        screen = await this.capture();
      } catch {
        screen = [];
      }
      if (predicate(screen)) return screen;
      if (Date.now() > deadline) throw new Error(`screen did not match within ${timeoutMs} ms:\n${screen.join('\n')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async sendKeys(...keys: string[]): Promise<void> {
    await this.tmux('send-keys', '-t', 'spec', ...keys);
  }

  async resize(columns: number, rows: number): Promise<void> {
    await this.tmux('resize-window', '-t', 'spec', '-x', String(columns), '-y', String(rows));
  }

  /** Whether the window (its command) is still running. */
  async alive(): Promise<boolean> {
    try {
      await this.tmux('has-session', '-t', 'spec');
      return true;
    } catch {
      return false;
    }
  }

  async kill(): Promise<void> {
    await this.tmux('kill-server').catch(() => {});
  }
}
