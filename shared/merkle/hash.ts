/**
 * RFC 6962 §2.1 hashing. The 0x00 / 0x01 prefixes keep a leaf from ever being mistaken for an interior
 * node (second-preimage resistance of the tree), and they are what make our roots interoperable.
 */
import { sha256, sha256Parts } from '../crypto/hash.ts';

export const HASH_SIZE = 32;

const LEAF_PREFIX = new Uint8Array([0x00]);
const NODE_PREFIX = new Uint8Array([0x01]);

export function leafHash(data: Uint8Array): Uint8Array {
  return sha256Parts(LEAF_PREFIX, data);
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256Parts(NODE_PREFIX, left, right);
}

let empty: Uint8Array | undefined;

/** MTH({}) = SHA-256 of the empty string. Computed lazily: the crypto backend loads asynchronously. */
export function emptyRoot(): Uint8Array {
  empty ??= sha256(new Uint8Array(0));
  return empty.slice();
}

export function isHash(h: unknown): h is Uint8Array {
  return h instanceof Uint8Array && h.length === HASH_SIZE;
}
