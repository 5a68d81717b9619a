/**
 * The `'connect'` and `'disconnect'` events of the client and the admin client: which server
 * was reached and which was lost, with the error that ended the connection.
 *
 * Listeners run outside the library's own code paths: `'connect'` fires in a microtask after the
 * connection got its handler (so a listener may submit at once), and a listener that throws has
 * its error rethrown on `process.nextTick` (ioredis's rule) instead of breaking the connection
 * or the other listeners.
 *
 * @module
 * @internal
 */
import type { GearmanConnection } from './connection.js';
import { InvalidArgumentError, type GearmanError } from './errors.js';

/** The events of {@link GearmanClient} and {@link GearmanAdminClient}. */
export interface ConnectionStateEvents {
  /** A connection to `address` (`host:port`) was established and is ready. */
  connect: [address: string];
  /**
   * The connection to `address` ended: `error` says why; it is undefined when `shutdown()` or
   * `[Symbol.asyncDispose]()` closed it.
   */
  disconnect: [address: string, error?: GearmanError];
}

type Listener<K extends keyof ConnectionStateEvents> = (...args: ConnectionStateEvents[K]) => void;

interface Entry {
  fn: (address: string, error?: GearmanError) => void;
  once: boolean;
}

/**
 * Tracks which connections were announced as connected, and calls the listeners.
 * @internal
 */
export class ConnectionAnnouncer {
  private readonly listeners = new Map<keyof ConnectionStateEvents, Entry[]>();
  private readonly announced = new Set<GearmanConnection>();

  /** Adds a listener. */
  on<K extends keyof ConnectionStateEvents>(event: K, fn: Listener<K>, once = false): void {
    checkEvent(event);
    if (typeof fn !== 'function') throw new InvalidArgumentError(`the '${event}' listener must be a function, got ${typeof fn}`);
    const list = this.listeners.get(event);
    const entry: Entry = { fn: fn as unknown as Entry['fn'], once };
    if (list === undefined) this.listeners.set(event, [entry]);
    else list.push(entry);
  }

  /** Removes a listener (the most recently added registration of it). */
  off<K extends keyof ConnectionStateEvents>(event: K, fn: Listener<K>): void {
    const list = this.listeners.get(event);
    if (list === undefined) return;
    for (let i = list.length - 1; i >= 0; i--) {
      if (list[i]!.fn === (fn as unknown as Entry['fn'])) {
        list.splice(i, 1);
        break;
      }
    }
  }

  /** How many listeners `event` has. */
  count(event: keyof ConnectionStateEvents): number {
    return this.listeners.get(event)?.length ?? 0;
  }

  /** `connection` just got its handler: announce it in a microtask, if it is still up then. */
  connected(connection: GearmanConnection): void {
    queueMicrotask(() => {
      if (!connection.connected || connection.handler === undefined || this.announced.has(connection)) return;
      this.announced.add(connection);
      this.emit('connect', connection.address);
    });
  }

  /** `connection` was lost (or closed): announce it if it had been announced as connected. */
  lost(connection: GearmanConnection, error?: GearmanError): void {
    if (!this.announced.delete(connection)) return;
    this.emit('disconnect', connection.address, error);
  }

  private emit<K extends keyof ConnectionStateEvents>(event: K, ...args: ConnectionStateEvents[K]): void {
    const list = this.listeners.get(event);
    if (list === undefined || list.length === 0) return;
    const entries = list.slice();
    if (entries.some((e) => e.once)) this.listeners.set(event, list.filter((e) => !e.once));
    for (const entry of entries) {
      try {
        entry.fn(...(args as [string, GearmanError?]));
      } catch (err) {
        process.nextTick(() => {
          throw err;
        });
      }
    }
  }
}

function checkEvent(event: unknown): void {
  if (event !== 'connect' && event !== 'disconnect') {
    throw new InvalidArgumentError(`unknown event ${JSON.stringify(event)}: the events are 'connect' and 'disconnect'`);
  }
}

/**
 * What `[Symbol.asyncDispose]()` does for the client and the admin client: `shutdown()`, then
 * wait until every socket it closed has emitted `'close'`.
 * @internal
 */
export async function shutdownAndWait(manager: { readonly connectionList: readonly GearmanConnection[]; shutdown(): void }): Promise<void> {
  const sockets = manager.connectionList.map((c) => c.socket).filter((s) => s !== undefined);
  manager.shutdown();
  await Promise.all(sockets.map((socket) => (socket.closed ? undefined : new Promise<void>((resolve) => socket.once('close', () => resolve())))));
}
