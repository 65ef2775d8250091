/**
 * The transparency log's Merkle tree, persisted in SQLite as the hash of every perfect aligned subtree.
 * Any range RFC 6962's recursion visits is a fold of such nodes, so a root at any historical size or a
 * proof costs O(log n) point reads, and an append costs O(log n) inserts.
 *
 * Appends run inside the caller's transaction and never open one of their own. The right frontier (a
 * CompactRange) is cached so an append reads no node; the table stays the authority, and one index
 * seek per append checks that the cache still describes it. That is what keeps the two together when
 * the caller's transaction or savepoint rolls back: the table shrinks, the seek notices, the frontier is
 * reloaded. Equal sizes need not mean equal contents when a second process appends (`vigil export` beside
 * the gateway: a leaf this process rolled back may have been replaced by the other's), so the seek also
 * compares the last leaf's hash with the frontier's.
 */
import type Database from 'better-sqlite3';
import { VigilError } from '../../shared/errors.ts';
import {
  CompactRange,
  consistencyProof,
  decompose,
  emptyRoot,
  foldRight,
  inclusionProof,
  isHash,
  isRfcRange,
} from '../../shared/merkle/index.ts';
import { INSERT_LEAF, MERKLE_SCHEMA, SELECT_LAST_LEAF, SELECT_NODE, UPSERT_NODE } from './merkle-store-schema.ts';

export class MerkleStore {
  readonly #selectNode: Database.Statement<[number, number], Buffer>;
  readonly #selectLastLeaf: Database.Statement<[], number | null>;
  readonly #insertLeaf: Database.Statement<[number, Uint8Array]>;
  readonly #upsertNode: Database.Statement<[number, number, Uint8Array]>;
  /** Undefined after a failed append: reloaded from the table by the next one. */
  #frontier: CompactRange | undefined;
  /** The hash of the frontier's last leaf (undefined for the empty tree). */
  #lastLeaf: Uint8Array | undefined;

  constructor(db: Database.Database) {
    db.exec(MERKLE_SCHEMA);
    this.#selectNode = db.prepare<[number, number], Buffer>(SELECT_NODE).pluck();
    this.#selectLastLeaf = db.prepare<[], number | null>(SELECT_LAST_LEAF).pluck();
    this.#insertLeaf = db.prepare<[number, Uint8Array]>(INSERT_LEAF);
    this.#upsertNode = db.prepare<[number, number, Uint8Array]>(UPSERT_NODE);
    this.#frontier = this.#loadFrontier(this.size());
  }

  /** Appends a leaf hash and returns its index. */
  append(leafHash: Uint8Array): number {
    if (!isHash(leafHash)) throw new VigilError('E_MERKLE_HASH', 'a leaf hash must be 32 bytes');
    const index = this.size();
    let frontier = this.#frontier;
    if (frontier?.end !== index || !this.#lastLeafMatches(index)) frontier = this.#frontier = this.#loadFrontier(index);
    const parents: [number, number, Uint8Array][] = [];
    try {
      frontier.append(leafHash, (level, idx, hash) => {
        if (level > 0) parents.push([level, idx, hash]);
      });
      for (const [level, idx, hash] of parents) this.#upsertNode.run(level, idx, hash);
      this.#insertLeaf.run(index, leafHash);
      this.#lastLeaf = leafHash.slice();
    } catch (e) {
      this.#frontier = undefined;
      throw e;
    }
    return index;
  }

  #lastLeafMatches(size: number): boolean {
    if (size === 0) return true;
    const stored = this.#selectNode.get(0, size - 1);
    return stored !== undefined && this.#lastLeaf !== undefined && Buffer.compare(stored, this.#lastLeaf) === 0;
  }

  size(): number {
    const last = this.#selectLastLeaf.get();
    return last === null || last === undefined ? 0 : last + 1;
  }

  /** MTH of the first `size` leaves (default: all of them). */
  root(size?: number): Uint8Array {
    const n = size ?? this.size();
    this.#checkSize(n);
    return n === 0 ? emptyRoot() : foldRight(this.#readNodes(0, n));
  }

  /** MTH(D[begin:end]) for a range RFC 6962's recursion visits (the proof generators' oracle). */
  subtreeHash(begin: number, end: number): Uint8Array {
    if (!isRfcRange(begin, end)) {
      throw new VigilError('E_MERKLE_RANGE', `[${String(begin)}, ${String(end)}) is not a range of the RFC 6962 recursion`);
    }
    this.#checkSize(end);
    return this.#foldStored(begin, end);
  }

  inclusionProof(index: number, size: number): Uint8Array[] {
    this.#checkSize(size);
    return inclusionProof(index, size, (b, e) => this.#foldStored(b, e));
  }

  consistencyProof(oldSize: number, newSize: number): Uint8Array[] {
    this.#checkSize(newSize);
    return consistencyProof(oldSize, newSize, (b, e) => this.#foldStored(b, e));
  }

  /** Perfect-subtree hashes covering [0, end), left to right: input for CompactRange.fromHashes(0, end, …). */
  compactRange(end: number): Uint8Array[] {
    this.#checkSize(end);
    return this.#readNodes(0, end);
  }

  #loadFrontier(size: number): CompactRange {
    const leaf = size > 0 ? this.#selectNode.get(0, size - 1) : undefined;
    this.#lastLeaf = leaf === undefined ? undefined : new Uint8Array(leaf);
    return CompactRange.fromHashes(0, size, this.#readNodes(0, size));
  }

  #foldStored(begin: number, end: number): Uint8Array {
    return foldRight(this.#readNodes(begin, end));
  }

  #readNodes(begin: number, end: number): Uint8Array[] {
    return decompose(begin, end).map(({ level, index }) => {
      const hash = this.#selectNode.get(level, index);
      if (hash === undefined) {
        throw new VigilError('E_MERKLE_STORE', `merkle_nodes is missing node (${String(level)}, ${String(index)})`);
      }
      return new Uint8Array(hash);
    });
  }

  #checkSize(n: number): void {
    const size = this.size();
    if (!Number.isSafeInteger(n) || n < 0 || n > size) {
      throw new VigilError('E_MERKLE_RANGE', `tree size ${String(n)} is beyond the log's ${String(size)} leaves`);
    }
  }
}
