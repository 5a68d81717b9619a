import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { HashRing, hashKey } from '../../lib/server-selection.js';

const addresses = (n: number, base = 4730): string[] => Array.from({ length: n }, (_, i) => `127.0.0.1:${base + i}`);
const ringOf = (list: string[]): HashRing<string> => new HashRing(list.map((key) => ({ key, value: key })));
const keys = Array.from({ length: 20_000 }, (_, i) => `job-${i}`);

describe('hashKey', () => {
  it('hashes UTF-8 bytes: the same for a string and for its code points written out', () => {
    expect(hashKey('é')).toBe(hashKey('\u00e9'));
    expect(hashKey('😀')).not.toBe(hashKey('\ud83d'));
    expect(hashKey('job-1')).not.toBe(hashKey('job-2'));
  });

  it('spreads sequential keys over the whole 32-bit range', () => {
    const buckets = new Array(16).fill(0);
    for (const key of keys) buckets[hashKey(key) >>> 28]++;
    for (const count of buckets) expect(count).toBeGreaterThan((keys.length / 16) * 0.85);
  });
});

describe('HashRing', () => {
  it('sends the same key to the same node, whatever the order of the list', () => {
    const list = addresses(4);
    const a = ringOf(list);
    const b = ringOf([...list].reverse());
    for (const key of keys.slice(0, 2000)) {
      expect(a.primary(key)).toBe(b.primary(key));
      expect(a.order(key)).toEqual(b.order(key));
      expect(a.primary(key)).toBe(a.primary(key));
    }
  });

  it('gives each of four nodes about a quarter of the keys', () => {
    const ring = ringOf(addresses(4));
    const counts = new Map<string, number>();
    for (const key of keys) counts.set(ring.primary(key), (counts.get(ring.primary(key)) ?? 0) + 1);
    expect(counts.size).toBe(4);
    for (const count of counts.values()) {
      expect(count).toBeGreaterThan(keys.length * 0.18);
      expect(count).toBeLessThan(keys.length * 0.32);
    }
  });

  it('moves about 1/N of the keys when a node is added, and only to the new node', () => {
    for (const n of [2, 3, 4, 8]) {
      const before = ringOf(addresses(n));
      const after = ringOf(addresses(n + 1));
      const added = addresses(n + 1)[n]!;
      let moved = 0;
      for (const key of keys) {
        const was = before.primary(key);
        const now = after.primary(key);
        if (was !== now) {
          moved++;
          expect(now).toBe(added);
        }
      }
      const share = moved / keys.length;
      expect(share).toBeGreaterThan((1 / (n + 1)) * 0.7);
      expect(share).toBeLessThan((1 / (n + 1)) * 1.3);
    }
  });

  it('orders every node once, owner first', () => {
    const ring = ringOf(addresses(5));
    for (const key of keys.slice(0, 500)) {
      const order = ring.order(key);
      expect(order[0]).toBe(ring.primary(key));
      expect(new Set(order).size).toBe(5);
    }
  });

  it('fails over in a stable order: without a node, its keys go to the next in their order, others stay', () => {
    const list = addresses(4);
    const full = ringOf(list);
    for (const down of list) {
      const without = ringOf(list.filter((a) => a !== down));
      for (const key of keys.slice(0, 5000)) {
        const order = full.order(key).filter((a) => a !== down);
        expect(without.primary(key)).toBe(order[0]);
        expect(without.order(key)).toEqual(order);
        if (full.primary(key) !== down) expect(without.primary(key)).toBe(full.primary(key));
      }
    }
  });

  it('keeps the fail-over property for arbitrary keys and host lists', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: 65535 }), { minLength: 2, maxLength: 6 }), fc.string(), (ports, key) => {
        const list = ports.map((p) => `127.0.0.1:${p}`);
        const full = ringOf(list);
        const order = full.order(key);
        expect(new Set(order).size).toBe(list.length);
        const without = ringOf(list.filter((a) => a !== order[0]));
        expect(without.primary(key)).toBe(order[1]);
      }),
      { numRuns: 200 },
    );
  });

  it('treats a repeated address as one node, and refuses an empty list', () => {
    const ring = ringOf(['a:1', 'a:1', 'b:2']);
    expect(ring.size).toBe(2);
    expect(ring.order('x')).toHaveLength(2);
    expect(() => ringOf([])).toThrow(RangeError);
    expect(ringOf(['only:1']).order('k')).toEqual(['only:1']);
  });
});
