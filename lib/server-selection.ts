/**
 * Server selection by unique: a consistent-hash ring over the client's servers, so that every
 * client given the same host list sends the same unique to the same server (and gearmand can
 * coalesce the submissions), adding or removing a server moves only about 1/N of the uniques,
 * and each unique has a fixed fail-over order when its server is down.
 *
 * The ring is keyed by each server's address (`host:port`), not by its position in the list, so
 * two clients that list the same servers in a different order still agree. Each server owns
 * {@link DEFAULT_VIRTUAL_NODES} points on a 32-bit ring; a unique belongs to the first point at or
 * after its own hash, and its fail-over order is the distinct servers met walking on from there.
 * Removing a server therefore hands each of its uniques to the server next in that unique's order,
 * and leaves every other unique where it was.
 *
 * No network, no timers: the client builds one ring per host list and asks it for an order.
 *
 * @module
 * @internal
 */
import { createHash } from 'node:crypto';

/** Ring points per server: enough that four servers get shares within a few percent. @internal */
export const DEFAULT_VIRTUAL_NODES = 160;

/** How a client picks the server for a request. */
export type ServerSelection = 'shuffle' | 'unique-hash';

/** The values `serverSelection` accepts. @internal */
export const SERVER_SELECTIONS: readonly ServerSelection[] = ['shuffle', 'unique-hash'];

/**
 * 32-bit FNV-1a over the UTF-8 bytes of `key`, with murmur3's final mix for avalanche (FNV alone
 * clusters keys that differ only in their last characters, such as `job-1`, `job-2`).
 * @internal
 */
export function hashKey(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    let c = key.charCodeAt(i);
    // UTF-8 bytes without allocating: one to four per code point.
    if (c < 0x80) {
      h = Math.imul(h ^ c, 0x01000193);
      continue;
    }
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < key.length) {
      const low = key.charCodeAt(i + 1);
      if (low >= 0xdc00 && low < 0xe000) {
        c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
        i++;
      }
    }
    if (c < 0x800) {
      h = Math.imul(h ^ (0xc0 | (c >> 6)), 0x01000193);
    } else if (c < 0x10000) {
      h = Math.imul(h ^ (0xe0 | (c >> 12)), 0x01000193);
      h = Math.imul(h ^ (0x80 | ((c >> 6) & 0x3f)), 0x01000193);
    } else {
      h = Math.imul(h ^ (0xf0 | (c >> 18)), 0x01000193);
      h = Math.imul(h ^ (0x80 | ((c >> 12) & 0x3f)), 0x01000193);
      h = Math.imul(h ^ (0x80 | ((c >> 6) & 0x3f)), 0x01000193);
    }
    h = Math.imul(h ^ (0x80 | (c & 0x3f)), 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * A consistent-hash ring over named nodes.
 *
 * @typeParam T - what a node stands for (the client uses its connections)
 * @example
 * ```ts
 * const ring = new HashRing([{ key: '10.0.0.1:4730', value: a }, { key: '10.0.0.2:4730', value: b }]);
 * ring.order('user-42'); // [b, a]: b owns 'user-42'; a takes it while b is down
 * ```
 * @internal
 */
export class HashRing<T> {
  /** Ring points, ascending. */
  private readonly points: Uint32Array;
  /** Node index of each point. */
  private readonly owners: Uint16Array;
  private readonly values: T[];

  /**
   * @param nodes - one entry per server; keys must be distinct (a repeated key is one node)
   * @param virtualNodes - points per node
   * @throws RangeError for no nodes, more than 65535, or a `virtualNodes` that is not a positive integer
   */
  constructor(nodes: readonly { key: string; value: T }[], virtualNodes = DEFAULT_VIRTUAL_NODES) {
    if (!Number.isInteger(virtualNodes) || virtualNodes < 1) throw new RangeError(`virtualNodes must be a positive integer, got ${String(virtualNodes)}`);
    const seen = new Set<string>();
    const unique: { key: string; value: T }[] = [];
    for (const node of nodes) {
      if (seen.has(node.key)) continue;
      seen.add(node.key);
      unique.push(node);
    }
    if (unique.length === 0 || unique.length > 0xffff) throw new RangeError(`a hash ring needs 1 to 65535 nodes, got ${unique.length}`);
    this.values = unique.map((node) => node.value);
    // Points come from MD5 of "address-index" (four 32-bit points per digest, as ketama), so
    // they do not depend on the order of the list, only on the addresses.
    const entries: { point: number; owner: number; key: string }[] = [];
    unique.forEach((node, owner) => {
      for (let v = 0; v < virtualNodes; v += 4) {
        const digest = createHash('md5').update(`${node.key}-${v / 4}`).digest();
        for (let k = 0; k < 4 && v + k < virtualNodes; k++) entries.push({ point: digest.readUInt32LE(k * 4), owner, key: node.key });
      }
    });
    // Ties (two nodes on one point) break by address, so every client builds the same ring.
    entries.sort((a, b) => a.point - b.point || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    this.points = Uint32Array.from(entries, (e) => e.point);
    this.owners = Uint16Array.from(entries, (e) => e.owner);
  }

  /** How many distinct nodes the ring holds. */
  get size(): number {
    return this.values.length;
  }

  /** Index of the first point at or after `hash` (wrapping to 0). */
  private at(hash: number): number {
    const points = this.points;
    let lo = 0;
    let hi = points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (points[mid]! < hash) lo = mid + 1;
      else hi = mid;
    }
    return lo === points.length ? 0 : lo;
  }

  /** The node that owns `key`. */
  primary(key: string): T {
    return this.values[this.owners[this.at(hashKey(key))]!]!;
  }

  /**
   * Every node, in `key`'s fail-over order: its owner first, then the distinct nodes met walking
   * on around the ring. The same for every call and every client with the same addresses.
   */
  order(key: string): T[] {
    const n = this.values.length;
    if (n === 1) return [this.values[0]!];
    const out: T[] = [];
    const taken = new Uint8Array(n);
    const owners = this.owners;
    const total = owners.length;
    for (let i = this.at(hashKey(key)), steps = 0; out.length < n && steps < total; i = i + 1 === total ? 0 : i + 1, steps++) {
      const owner = owners[i]!;
      if (taken[owner] === 0) {
        taken[owner] = 1;
        out.push(this.values[owner]!);
      }
    }
    return out;
  }
}
