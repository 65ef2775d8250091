/**
 * Proof verification exactly as RFC 9162 §2.1.3.2 and §2.1.4.2 describe it. Input is untrusted: every
 * failure is `false`, never an exception, and every loop is bounded by the proof length or by 53.
 */
import { bytesEqual } from '../bytes.ts';
import { emptyRoot, isHash, nodeHash } from './hash.ts';
import { half, isIndex, isOdd, isPowerOfTwo } from './tree-math.ts';

/** No tree below 2^53 leaves needs more (a path has ≤ 53 hashes, a consistency proof ≤ 2·53). */
const MAX_PROOF = 2 * 53;

function wellFormed(proof: readonly Uint8Array[]): boolean {
  return Array.isArray(proof) && proof.length <= MAX_PROOF && proof.every(isHash);
}

/** "Right-shift both fn and sn equally until either LSB(fn) is set or fn is 0." */
function shiftToSetBit(fn: number, sn: number): [number, number] {
  while (!isOdd(fn) && fn !== 0) {
    fn = half(fn);
    sn = half(sn);
  }
  return [fn, sn];
}

export function verifyInclusion(
  leafHash: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (!isIndex(index) || !isIndex(size) || index >= size) return false;
  if (!isHash(leafHash) || !isHash(root) || !wellFormed(proof)) return false;
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      r = nodeHash(p, r);
      if (!isOdd(fn)) [fn, sn] = shiftToSetBit(fn, sn);
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && bytesEqual(r, root);
}

/**
 * Equal sizes need an empty proof and equal roots. From size 0 the proof is empty too (RFC 9162
 * §2.1.4.1 defines proofs only for 0 < first < second); we also insist the old root is MTH({}), the only
 * root a size-0 tree can have.
 */
export function verifyConsistency(
  oldSize: number,
  newSize: number,
  oldRoot: Uint8Array,
  newRoot: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  if (!isIndex(oldSize) || !isIndex(newSize) || oldSize > newSize) return false;
  if (!isHash(oldRoot) || !isHash(newRoot) || !wellFormed(proof)) return false;
  if (oldSize === 0 && !bytesEqual(oldRoot, emptyRoot())) return false;
  if (oldSize === newSize) return proof.length === 0 && bytesEqual(oldRoot, newRoot);
  if (oldSize === 0) return proof.length === 0;
  if (proof.length === 0) return false;

  const path = isPowerOfTwo(oldSize) ? [oldRoot, ...proof] : proof;
  let fn = oldSize - 1;
  let sn = newSize - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (let i = 1; i < path.length; i++) {
    const c = path[i]!;
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!isOdd(fn)) [fn, sn] = shiftToSetBit(fn, sn);
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && bytesEqual(fr, oldRoot) && bytesEqual(sr, newRoot);
}
