/** RFC 6962 §2.1 MTH, written as the RFC states it. Slow (O(n)); the yardstick the fast paths are tested against. */
import { emptyRoot, nodeHash } from './hash.ts';
import { splitPoint } from './tree-math.ts';

export function rootFromLeafHashes(hashes: readonly Uint8Array[]): Uint8Array {
  if (hashes.length === 0) return emptyRoot();
  if (hashes.length === 1) return hashes[0]!.slice();
  const k = splitPoint(hashes.length);
  return nodeHash(rootFromLeafHashes(hashes.slice(0, k)), rootFromLeafHashes(hashes.slice(k)));
}
