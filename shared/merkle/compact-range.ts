/**
 * A compact range (as in transparency-dev/merkle): the tree over leaves [begin, end) kept as the hashes
 * of its maximal perfect subtrees, left to right — at most 2·log2(n) hashes, enough to append and to
 * compute the root without the leaves.
 */
import { VigilError } from '../errors.ts';
import { emptyRoot, isHash, nodeHash } from './hash.ts';
import { decompose, foldRight } from './nodes.ts';
import { isIndex, isOdd } from './tree-math.ts';

/** Told about every perfect node an append creates: the leaf first, then each completed parent. */
export type NodeVisitor = (level: number, index: number, hash: Uint8Array) => void;

export class CompactRange {
  readonly begin: number;
  #end: number;
  readonly #hashes: Uint8Array[];

  private constructor(begin: number, end: number, hashes: Uint8Array[]) {
    this.begin = begin;
    this.#end = end;
    this.#hashes = hashes;
  }

  static empty(begin = 0): CompactRange {
    return CompactRange.fromHashes(begin, begin, []);
  }

  /** `hashes` must be the perfect-subtree hashes of `decompose(begin, end)`, in that order. */
  static fromHashes(begin: number, end: number, hashes: readonly Uint8Array[]): CompactRange {
    const want = decompose(begin, end).length;
    if (hashes.length !== want) {
      throw new VigilError(
        'E_MERKLE_RANGE',
        `a compact range over [${String(begin)}, ${String(end)}) has ${String(want)} hashes, got ${String(hashes.length)}`,
      );
    }
    if (!hashes.every(isHash)) throw new VigilError('E_MERKLE_HASH', 'compact range hashes must be 32 bytes');
    return new CompactRange(begin, end, hashes.map((h) => h.slice()));
  }

  get end(): number {
    return this.#end;
  }

  hashes(): Uint8Array[] {
    return this.#hashes.map((h) => h.slice());
  }

  /** Appends leaf `end`; merges it with every left sibling that is inside the range. */
  append(leafHash: Uint8Array, visit?: NodeVisitor): void {
    if (!isHash(leafHash)) throw new VigilError('E_MERKLE_HASH', 'a leaf hash must be 32 bytes');
    if (!isIndex(this.#end + 1)) throw new VigilError('E_MERKLE_RANGE', 'compact range is full');
    let hash: Uint8Array = leafHash.slice();
    let level = 0;
    let index = this.#end;
    visit?.(level, index, hash);
    // The last stored hash is this node's left sibling exactly when the node is a right child and the
    // sibling starts inside the range (see decompose: the range's last node is its largest aligned tail).
    while (isOdd(index) && (index - 1) * 2 ** level >= this.begin) {
      hash = nodeHash(this.#hashes.pop()!, hash);
      level++;
      index = (index - 1) / 2;
      visit?.(level, index, hash);
    }
    this.#hashes.push(hash);
    this.#end++;
  }

  /** RFC 6962 MTH of leaves [0, end). Only a range starting at leaf 0 has a root. */
  root(): Uint8Array {
    if (this.begin !== 0) throw new VigilError('E_MERKLE_RANGE', 'only a compact range starting at 0 has a root');
    return this.#hashes.length === 0 ? emptyRoot() : foldRight(this.#hashes);
  }
}
