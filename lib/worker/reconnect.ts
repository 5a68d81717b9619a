/**
 * The worker's reconnects: one back-off per connection (attempt counts, timers), when the
 * back-off starts again from 0, and outage reporting (a dead server is reported once per outage,
 * not at every attempt).
 *
 * The back-off restarts at attempt 0 only when a connection proved it works: its server answered
 * a GRAB (NO_JOB or a job) or an ECHO, or the connection stayed up {@link STABLE_CONNECTION_MS}.
 * Bytes alone prove nothing: a server that greets every connection with an unasked packet and is
 * then dropped for it must not be re-dialled at full speed.
 *
 * @module
 * @internal
 */
import type { GearmanConnection } from '../connection.js';

/** A connection that stayed up this long resets the back-off. @internal */
export const STABLE_CONNECTION_MS = 5000;

/** What the reconnects need from the worker. @internal */
export interface ReconnectHost {
  /** Reconnects are wanted (work() runs and is not stopping). */
  wanted(): boolean;
  /** The delay before attempt `attempt`, or null to give up (the user's retryStrategy). */
  delayFor(attempt: number): number | null;
  /** Dial `connection` again. */
  connect(connection: GearmanConnection): void;
  /** The strategy gave `connection` up after `attempts` attempts. */
  gaveUp(connection: GearmanConnection, attempts: number): void;
}

interface Entry {
  attempts: number;
  timer: NodeJS.Timeout | undefined;
  /** When the current connection came up; undefined while down. */
  connectedAt: number | undefined;
  /** The current (or last) connection proved it works. */
  proven: boolean;
  /** An outage is under way and was reported. */
  down: boolean;
}

/**
 * Back-off and outage state of every connection of one worker.
 * @internal
 */
export class Reconnects {
  private readonly entries = new Map<GearmanConnection, Entry>();

  constructor(private readonly host: ReconnectHost) {}

  private entry(connection: GearmanConnection): Entry {
    let e = this.entries.get(connection);
    if (e === undefined) {
      e = { attempts: 0, timer: undefined, connectedAt: undefined, proven: false, down: false };
      this.entries.set(connection, e);
    }
    return e;
  }

  /** Attempts made since the back-off last restarted. */
  attempts(connection: GearmanConnection): number {
    return this.entries.get(connection)?.attempts ?? 0;
  }

  /** A reconnect timer is pending for `connection`. */
  pending(connection: GearmanConnection): boolean {
    return this.entries.get(connection)?.timer !== undefined;
  }

  /**
   * `connection` connected. Returns true if an outage was reported for it (so the caller can say
   * it is back).
   */
  connected(connection: GearmanConnection): boolean {
    const e = this.entry(connection);
    e.connectedAt = Date.now();
    e.proven = false;
    const wasDown = e.down;
    e.down = false;
    return wasDown;
  }

  /** `connection`'s server answered something it was asked: the connection works. */
  proven(connection: GearmanConnection): void {
    const e = this.entries.get(connection);
    if (e !== undefined && e.connectedAt !== undefined) e.proven = true;
  }

  /**
   * `connection` failed (a lost connection or a failed connect). Returns true if this starts an
   * outage (report it), false if one is already reported.
   */
  failed(connection: GearmanConnection): boolean {
    const e = this.entry(connection);
    const since = e.connectedAt;
    e.connectedAt = undefined;
    if (since !== undefined && (e.proven || Date.now() - since >= STABLE_CONNECTION_MS)) e.attempts = 0;
    e.proven = false;
    if (e.down) return false;
    e.down = true;
    return true;
  }

  /** Schedules the next attempt for `connection` with the back-off (no-op if one is pending). */
  schedule(connection: GearmanConnection): void {
    if (!this.host.wanted()) return;
    const e = this.entry(connection);
    if (e.timer !== undefined) return;
    const attempt = e.attempts;
    const delay = this.host.delayFor(attempt);
    if (delay === null || delay === undefined || !(delay >= 0)) {
      connection.reconnectPending = false;
      e.attempts = 0;
      this.host.gaveUp(connection, attempt);
      return;
    }
    e.attempts = attempt + 1;
    connection.reconnectPending = true;
    // Not unref()ed: a worker must outlive an outage while work() runs (cleared when it ends).
    e.timer = setTimeout(() => {
      e.timer = undefined;
      if (!this.host.wanted()) {
        connection.reconnectPending = false;
        return;
      }
      this.host.connect(connection);
    }, delay);
  }

  /** Cancels every pending attempt and forgets all state. */
  clear(): void {
    for (const [connection, e] of this.entries) {
      if (e.timer !== undefined) clearTimeout(e.timer);
      connection.reconnectPending = false;
    }
    this.entries.clear();
  }
}
