/** Addressing of perfect aligned subtrees: node (level L, index j) covers leaves [j·2^L, (j+1)·2^L). */
import { VigilError } from '../errors.ts';
import { nodeHash } from './hash.ts';
import { isIndex } from './tree-math.ts';

export interface NodeId {
  level: number;
  index: number;
}

/**
 * The maximal perfect aligned subtrees that exactly cover [begin, end), left to right: the nodes of a
 * compact range. Greedy from the left works because aligned subtrees nest or are disjoint.
 */
export function decompose(begin: number, end: number): NodeId[] {
  if (!isIndex(begin) || !isIndex(end) || begin > end) {
    throw new VigilError('E_MERKLE_RANGE', `invalid leaf range [${String(begin)}, ${String(end)})`);
  }
  const out: NodeId[] = [];
  let pos = begin;
  while (pos < end) {
    let level = 0;
    let size = 1;
    while (pos % (size * 2) === 0 && pos + size * 2 <= end) {
      size *= 2;
      level++;
    }
    out.push({ level, index: pos / size });
    pos += size;
  }
  return out;
}

/**
 * MTH of a range made of perfect subtrees (left to right): the right fold RFC 6962's recursion yields.
 * Always a fresh array, never one of the inputs.
 */
export function foldRight(hashes: readonly Uint8Array[]): Uint8Array {
  const last = hashes[hashes.length - 1];
  if (last === undefined) throw new VigilError('E_MERKLE_RANGE', 'cannot fold an empty range');
  let acc: Uint8Array = last.slice();
  for (let i = hashes.length - 2; i >= 0; i--) acc = nodeHash(hashes[i]!, acc);
  return acc;
}
