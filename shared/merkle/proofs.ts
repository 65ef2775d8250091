/**
 * RFC 6962 §2.1.1 PATH and §2.1.2 PROOF/SUBPROOF, over a subtree-hash oracle so the appliance can serve
 * proofs from stored nodes. Both recursions are unrolled top-down and reversed at the end, because the
 * RFC lists the deepest hash first.
 */
import { VigilError } from '../errors.ts';
import { isIndex, splitPoint } from './tree-math.ts';

/**
 * MTH(D[begin:end]). Only asked for ranges RFC 6962's recursion visits: begin is a multiple of the
 * largest power of two ≤ end − begin, so the range is a fold of perfect aligned subtrees.
 */
export type SubtreeOracle = (begin: number, end: number) => Uint8Array;

export function inclusionProof(index: number, size: number, subtree: SubtreeOracle): Uint8Array[] {
  if (!isIndex(index) || !isIndex(size) || index >= size) {
    throw new VigilError('E_MERKLE_RANGE', `no leaf ${String(index)} in a tree of size ${String(size)}`);
  }
  const out: Uint8Array[] = [];
  let begin = 0;
  let n = size;
  let m = index;
  while (n > 1) {
    const k = splitPoint(n);
    if (m < k) {
      out.push(subtree(begin + k, begin + n));
      n = k;
    } else {
      out.push(subtree(begin, begin + k));
      begin += k;
      m -= k;
      n -= k;
    }
  }
  return out.reverse();
}

/** Empty when oldSize is 0 or equals newSize (nothing to prove, RFC 9162 §2.1.4). */
export function consistencyProof(oldSize: number, newSize: number, subtree: SubtreeOracle): Uint8Array[] {
  if (!isIndex(oldSize) || !isIndex(newSize) || oldSize > newSize) {
    throw new VigilError('E_MERKLE_RANGE', `no consistency proof from size ${String(oldSize)} to ${String(newSize)}`);
  }
  if (oldSize === 0 || oldSize === newSize) return [];
  const out: Uint8Array[] = [];
  let begin = 0;
  let m = oldSize;
  let n = newSize;
  // SUBPROOF's flag b: true while the old tree's root is still a node the verifier already has.
  let known = true;
  while (m !== n) {
    const k = splitPoint(n);
    if (m <= k) {
      out.push(subtree(begin + k, begin + n));
      n = k;
    } else {
      out.push(subtree(begin, begin + k));
      begin += k;
      m -= k;
      n -= k;
      known = false;
    }
  }
  if (!known) out.push(subtree(begin, begin + m));
  return out.reverse();
}
