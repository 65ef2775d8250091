import { describe, expect, it } from 'vitest';
import { toHex } from '../../../shared/bytes.ts';
import { CompactRange, decompose, emptyRoot, leafHash, rootFromLeafHashes, type NodeId } from '../../../shared/merkle/index.ts';

const N = 70;
const LEAVES = Array.from({ length: N }, (_, i) => leafHash(new Uint8Array([i, 0xc3])));

const span = ({ level, index }: NodeId) => [index * 2 ** level, (index + 1) * 2 ** level] as const;
const refs = new Map<string, Uint8Array>();
function nodeRef(n: NodeId): Uint8Array {
  const key = `${n.level}:${n.index}`;
  let h = refs.get(key);
  if (!h) refs.set(key, (h = rootFromLeafHashes(LEAVES.slice(...span(n)))));
  return h;
}

describe('decompose', () => {
  it('gives known decompositions', () => {
    expect(decompose(0, 0)).toEqual([]);
    expect(decompose(0, 8)).toEqual([{ level: 3, index: 0 }]);
    expect(decompose(0, 7)).toEqual([
      { level: 2, index: 0 },
      { level: 1, index: 2 },
      { level: 0, index: 6 },
    ]);
    expect(decompose(3, 13)).toEqual([
      { level: 0, index: 3 },
      { level: 2, index: 1 },
      { level: 2, index: 2 },
      { level: 0, index: 12 },
    ]);
  });

  it('covers [begin, end) exactly with maximal aligned subtrees, for all ranges within 0..70', () => {
    for (let b = 0; b <= N; b++) {
      for (let e = b; e <= N; e++) {
        const nodes = decompose(b, e);
        let pos = b;
        for (const n of nodes) {
          expect(span(n)[0]).toBe(pos);
          pos = span(n)[1];
        }
        expect(pos).toBe(e);
        // Maximal: no two neighbours are siblings, which could be merged into their parent.
        for (let i = 1; i < nodes.length; i++) {
          const [l, r] = [nodes[i - 1]!, nodes[i]!];
          expect(l.level === r.level && l.index % 2 === 0 && r.index === l.index + 1).toBe(false);
        }
        // At most two nodes per level (one in the left part, one in the right).
        expect(nodes.length).toBeLessThanOrEqual(2 * Math.max(1, Math.ceil(Math.log2(e - b + 1))));
      }
    }
  });

  it('works beyond 32 bits and rejects invalid ranges', () => {
    expect(decompose(2 ** 40, 2 ** 41 + 1)).toEqual([
      { level: 40, index: 1 },
      { level: 0, index: 2 ** 41 },
    ]);
    expect(decompose(0, 2 ** 53 - 1)).toHaveLength(53);
    for (const [b, e] of [
      [2, 1],
      [-1, 3],
      [0, 2 ** 53],
      [0.5, 3],
    ]) {
      expect(() => decompose(b!, e!)).toThrow(expect.objectContaining({ code: 'E_MERKLE_RANGE' }));
    }
  });
});

describe('CompactRange', () => {
  it('holds the hashes of decompose(begin, end) for every begin and end within 0..70', () => {
    for (let b = 0; b <= N; b++) {
      const range = CompactRange.empty(b);
      for (let e = b; e <= N; e++) {
        if (e > b) range.append(LEAVES[e - 1]!);
        expect(range.begin).toBe(b);
        expect(range.end).toBe(e);
        // Compared as hex: toEqual on thousands of byte arrays is what would dominate this test.
        expect(range.hashes().map(toHex)).toEqual(decompose(b, e).map((n) => toHex(nodeRef(n))));
      }
    }
  });

  it('reports every perfect node it completes, exactly once', () => {
    const range = CompactRange.empty();
    const seen = new Set<string>();
    for (let i = 0; i < N; i++) {
      const visited: NodeId[] = [];
      range.append(LEAVES[i]!, (level, index, hash) => {
        expect(hash).toEqual(nodeRef({ level, index }));
        visited.push({ level, index });
        const key = `${level}:${index}`;
        expect(seen.has(key)).toBe(false);
        seen.add(key);
      });
      expect(visited[0]).toEqual({ level: 0, index: i });
      // The completed nodes are the ancestors that end at leaf i + 1: as many as trailing ones of i.
      let trailingOnes = 0;
      for (let x = i; x % 2 === 1; x = (x - 1) / 2) trailingOnes++;
      expect(visited).toHaveLength(1 + trailingOnes);
    }
    // Every perfect subtree inside [0, 70) was reported: 70 + 35 + 17 + 8 + 4 + 2 + 1.
    expect(seen.size).toBe(137);
  });

  it('has the RFC 6962 root when it starts at 0, and none otherwise', () => {
    const range = CompactRange.empty();
    expect(range.root()).toEqual(emptyRoot());
    for (let i = 0; i < N; i++) {
      range.append(LEAVES[i]!);
      expect(range.root()).toEqual(rootFromLeafHashes(LEAVES.slice(0, i + 1)));
    }
    const offset = CompactRange.empty(3);
    offset.append(LEAVES[3]!);
    expect(() => offset.root()).toThrow(expect.objectContaining({ code: 'E_MERKLE_RANGE' }));
  });

  it('fromHashes restores a range that keeps appending identically, and validates its input', () => {
    const a = CompactRange.empty(5);
    for (let i = 5; i < 29; i++) a.append(LEAVES[i]!);
    const b = CompactRange.fromHashes(5, 29, a.hashes());
    for (let i = 29; i < N; i++) {
      a.append(LEAVES[i]!);
      b.append(LEAVES[i]!);
    }
    expect(b.hashes()).toEqual(a.hashes());

    const hashes = decompose(0, 13).map(nodeRef);
    expect(CompactRange.fromHashes(0, 13, hashes).root()).toEqual(rootFromLeafHashes(LEAVES.slice(0, 13)));
    const wrongCount = expect.objectContaining({ code: 'E_MERKLE_RANGE' });
    expect(() => CompactRange.fromHashes(0, 13, hashes.slice(1))).toThrow(wrongCount);
    expect(() => CompactRange.fromHashes(0, 13, [...hashes, hashes[0]!])).toThrow(wrongCount);
    expect(() => CompactRange.fromHashes(0, 0, hashes)).toThrow(wrongCount);
    expect(() => CompactRange.fromHashes(4, 3, [])).toThrow(wrongCount);
    expect(() => CompactRange.fromHashes(0, 1, [new Uint8Array(31)])).toThrow(expect.objectContaining({ code: 'E_MERKLE_HASH' }));
    expect(() => CompactRange.empty().append(new Uint8Array(33))).toThrow(expect.objectContaining({ code: 'E_MERKLE_HASH' }));
  });

  it('does not share its hashes with callers', () => {
    const range = CompactRange.empty();
    const leaf = LEAVES[0]!.slice();
    range.append(leaf);
    leaf.fill(0);
    range.hashes()[0]!.fill(0);
    range.root().fill(0);
    expect(range.root()).toEqual(LEAVES[0]);
  });
});
