// Exhaustive properties for every tree size 1..70: generated proofs verify, roots agree across the three
// implementations, and every tampering is rejected.
import { describe, expect, it } from 'vitest';
import { fromHex } from '../../../shared/bytes.ts';
import {
  CompactRange,
  consistencyProof,
  emptyRoot,
  inclusionProof,
  isRfcRange,
  leafHash,
  rootFromLeafHashes,
  splitPoint,
  verifyConsistency,
  verifyInclusion,
  type SubtreeOracle,
} from '../../../shared/merkle/index.ts';

const N = 70;
const LEAVES = Array.from({ length: N }, (_, i) => leafHash(new Uint8Array([i & 255, i >> 8, 0x5a])));
const ROOTS = Array.from({ length: N + 1 }, (_, n) => rootFromLeafHashes(LEAVES.slice(0, n)));
const SOME_HASH = fromHex('abacaba000000000000000000000000000000000000000000060061e00123456');

const subtrees = new Map<string, Uint8Array>();

/** The reference oracle, which also checks it is only asked for ranges of RFC 6962's recursion. */
function oracle(size: number): SubtreeOracle {
  return (b, e) => {
    if (!isRfcRange(b, e) || e > size) throw new Error(`oracle asked for [${b}, ${e}) of ${size}`);
    const key = `${b}:${e}`;
    let h = subtrees.get(key);
    if (!h) subtrees.set(key, (h = rootFromLeafHashes(LEAVES.slice(b, e))));
    return h;
  };
}

/** The left/right decisions of PATH(m, D[n]): two claims with the same shape hash the same way. */
function inclusionShape(m: number, n: number): string {
  if (!(m >= 0 && m < n)) return 'invalid';
  let s = '';
  while (n > 1) {
    const k = splitPoint(n);
    if (m < k) {
      s += 'r';
      n = k;
    } else {
      s += 'l';
      m -= k;
      n -= k;
    }
  }
  return s;
}

/** The decisions of SUBPROOF(m, D[n], true), and whether the old root is known at the end. */
function consistencyShape(m: number, n: number): string {
  if (!(m > 0 && m < n)) return `trivial:${m}:${n}`;
  let s = '';
  let known = true;
  while (m !== n) {
    const k = splitPoint(n);
    if (m <= k) {
      s += 'r';
      n = k;
    } else {
      s += 'l';
      m -= k;
      n -= k;
      known = false;
    }
  }
  return `${s}:${known}`;
}

/** Copies of the proof with one byte changed: every byte for small proofs, three per hash otherwise. */
function* byteFlips(proof: Uint8Array[], exhaustive: boolean): Generator<Uint8Array[]> {
  for (let i = 0; i < proof.length; i++) {
    for (const at of exhaustive ? Array.from({ length: 32 }, (_, j) => j) : [0, (i * 7 + 3) % 32, 31]) {
      const copy = proof.map((h) => h.slice());
      copy[i]![at]! ^= 1 << (at % 8);
      yield copy;
    }
  }
}

function* lengthChanges(proof: Uint8Array[]): Generator<Uint8Array[]> {
  yield [...proof, SOME_HASH];
  yield [SOME_HASH, ...proof];
  if (proof.length > 0) {
    yield proof.slice(0, -1);
    yield proof.slice(1);
    yield [...proof, proof[proof.length - 1]!];
    yield [proof[0]!, ...proof];
  }
}

describe('roots', () => {
  it('CompactRange and the reference agree for sizes 0..70', () => {
    const range = CompactRange.empty();
    expect(range.root()).toEqual(emptyRoot());
    for (let n = 1; n <= N; n++) {
      range.append(LEAVES[n - 1]!);
      expect(range.root(), `size ${n}`).toEqual(ROOTS[n]);
      expect(CompactRange.fromHashes(0, n, range.hashes()).root()).toEqual(ROOTS[n]);
    }
  });
});

describe('inclusion proofs, every size 1..70 and every index', () => {
  it('verify, and nothing else does', () => {
    let checked = 0;
    let sameShape = 0;
    for (let n = 1; n <= N; n++) {
      const root = ROOTS[n]!;
      for (let i = 0; i < n; i++) {
        const proof = inclusionProof(i, n, oracle(n));
        const leaf = LEAVES[i]!;
        expect(proof.length).toBe(inclusionShape(i, n).length);
        expect(verifyInclusion(leaf, i, n, proof, root), `${i} of ${n}`).toBe(true);

        // Wrong leaf, wrong root.
        expect(verifyInclusion(LEAVES[(i + 1) % N]!, i, n, proof, root)).toBe(false);
        expect(verifyInclusion(leaf, i, n, proof, ROOTS[n - 1]!)).toBe(false);
        // Wrong index: always fails (another leaf has another path).
        for (const j of [i - 1, i + 1, i ^ 1, i ^ 2, n, n + 5, -1, 2 ** 53]) {
          if (j !== i) expect(verifyInclusion(leaf, j, n, proof, root), `index ${j} for ${i} of ${n}`).toBe(false);
        }
        // Wrong size: fails unless the path has the same shape, where the hashing is literally identical
        // (the tree size is bound by the signed root, not by the proof).
        for (const m of [n - 1, n + 1, n * 2, Math.floor(n / 2), 0, 2 ** 53]) {
          const same = inclusionShape(i, m) === inclusionShape(i, n);
          if (same) sameShape++;
          expect(verifyInclusion(leaf, i, m, proof, root), `size ${m} for ${i} of ${n}`).toBe(same);
        }
        for (const p of byteFlips(proof, n <= 12)) expect(verifyInclusion(leaf, i, n, p, root)).toBe(false);
        for (const p of lengthChanges(proof)) expect(verifyInclusion(leaf, i, n, p, root)).toBe(false);
        checked++;
      }
    }
    expect(checked).toBe((N * (N + 1)) / 2);
    expect(sameShape).toBeGreaterThan(0); // the wrong-size check exercised both outcomes
  });
});

describe('consistency proofs, every size 1..70 and every old size', () => {
  it('verify, and nothing else does', () => {
    let checked = 0;
    let sameShape = 0;
    for (let n = 1; n <= N; n++) {
      for (let m = 0; m <= n; m++) {
        const r1 = ROOTS[m]!;
        const r2 = ROOTS[n]!;
        const proof = consistencyProof(m, n, oracle(n));
        expect(verifyConsistency(m, n, r1, r2, proof), `${m} → ${n}`).toBe(true);
        checked++;
        if (m === 0 || m === n) {
          expect(proof).toEqual([]);
          expect(verifyConsistency(m, n, r1, r2, [SOME_HASH])).toBe(false);
          if (m > 0) expect(verifyConsistency(m, n, r1, SOME_HASH, [])).toBe(false);
          continue;
        }

        expect(verifyConsistency(m, n, r1, r2, [])).toBe(false);
        expect(verifyConsistency(m, n, r2, r1, proof)).toBe(false);
        expect(verifyConsistency(m, n, ROOTS[m - 1]!, r2, proof)).toBe(false);
        expect(verifyConsistency(m, n, r1, ROOTS[n - 1]!, proof)).toBe(false);
        // Wrong sizes: fail unless the proof's shape is the same (identical hashing, as for inclusion).
        for (const [a, b] of [
          [m - 1, n],
          [m + 1, n],
          [m ^ 2, n],
          [m, n - 1],
          [m, n + 1],
          [m, n * 2],
          [m, Math.floor(n / 2)],
          [n, m],
          [0, n],
        ] as const) {
          if (a === m && b === n) continue;
          const same = consistencyShape(a, b) === consistencyShape(m, n);
          if (same) sameShape++;
          expect(verifyConsistency(a, b, r1, r2, proof), `${a} → ${b} for ${m} → ${n}`).toBe(same);
        }
        for (const p of byteFlips(proof, n <= 12)) expect(verifyConsistency(m, n, r1, r2, p)).toBe(false);
        for (const p of lengthChanges(proof)) expect(verifyConsistency(m, n, r1, r2, p)).toBe(false);
      }
    }
    expect(checked).toBe((N * (N + 3)) / 2);
    expect(sameShape).toBeGreaterThan(0);
  });
});

describe('hostile input', () => {
  it('returns false quickly for huge sizes and huge proofs', () => {
    const big = Array.from({ length: 100_000 }, () => SOME_HASH);
    const t = performance.now();
    expect(verifyInclusion(LEAVES[0]!, 0, 2 ** 53 - 1, big, SOME_HASH)).toBe(false);
    expect(verifyConsistency(1, 2 ** 53 - 1, SOME_HASH, SOME_HASH, big)).toBe(false);
    const deep = Array.from({ length: 53 }, () => SOME_HASH);
    expect(verifyInclusion(LEAVES[0]!, 2 ** 53 - 2, 2 ** 53 - 1, deep, SOME_HASH)).toBe(false);
    expect(verifyConsistency(2 ** 52 + 1, 2 ** 53 - 1, SOME_HASH, SOME_HASH, deep)).toBe(false);
    expect(performance.now() - t).toBeLessThan(1000);
  });

  it('returns false (never throws) on malformed arguments', () => {
    const bad: unknown[] = [NaN, Infinity, -1, 0.5, '1', null, undefined, 2 ** 53];
    for (const x of bad) {
      expect(verifyInclusion(LEAVES[0]!, x as number, 1, [], LEAVES[0]!)).toBe(false);
      expect(verifyInclusion(LEAVES[0]!, 0, x as number, [], LEAVES[0]!)).toBe(false);
      expect(verifyConsistency(x as number, 1, ROOTS[1]!, ROOTS[1]!, [])).toBe(false);
      expect(verifyConsistency(1, x as number, ROOTS[1]!, ROOTS[1]!, [])).toBe(false);
    }
    expect(verifyInclusion(LEAVES[0]!, 0, 1, [new Uint8Array(31)], LEAVES[0]!)).toBe(false);
    expect(verifyInclusion(LEAVES[0]!, 0, 2, [LEAVES[1]!.subarray(1)], ROOTS[2]!)).toBe(false);
  });

  it('generators reject impossible requests with a typed error', () => {
    expect(() => inclusionProof(3, 3, oracle(3))).toThrow(expect.objectContaining({ code: 'E_MERKLE_RANGE' }));
    expect(() => inclusionProof(0, 0, oracle(0))).toThrow(expect.objectContaining({ code: 'E_MERKLE_RANGE' }));
    expect(() => consistencyProof(4, 3, oracle(4))).toThrow(expect.objectContaining({ code: 'E_MERKLE_RANGE' }));
    expect(() => consistencyProof(-1, 3, oracle(3))).toThrow(expect.objectContaining({ code: 'E_MERKLE_RANGE' }));
  });
});
