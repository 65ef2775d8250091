/** RFC 6962 / RFC 9162 Merkle tree for the transparency log. Pure: runs in Node and in a browser worker. */
export { HASH_SIZE, emptyRoot, isHash, leafHash, nodeHash } from './hash.ts';
export { decompose, foldRight, type NodeId } from './nodes.ts';
export { CompactRange, type NodeVisitor } from './compact-range.ts';
export { rootFromLeafHashes } from './reference.ts';
export { consistencyProof, inclusionProof, type SubtreeOracle } from './proofs.ts';
export { verifyConsistency, verifyInclusion } from './verify.ts';
export { isRfcRange, splitPoint } from './tree-math.ts';
