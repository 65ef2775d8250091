import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MerkleStore } from '../../../appliance/log/merkle-store.ts';
import {
  CompactRange,
  emptyRoot,
  leafHash,
  rootFromLeafHashes,
  verifyConsistency,
  verifyInclusion,
} from '../../../shared/merkle/index.ts';

const LEAVES = Array.from({ length: 300 }, (_, i) => leafHash(new Uint8Array([i & 255, i >> 8, 0x77])));

let dir: string;
let file: string;
let db: Database.Database;

function open(): Database.Database {
  const d = new Database(file);
  d.pragma('journal_mode = WAL');
  return d;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-merkle-'));
  file = join(dir, 'log.db');
  db = open();
});

afterEach(() => {
  if (db.open) db.close();
  rmSync(dir, { recursive: true, force: true });
});

function fill(store: MerkleStore, n: number, from = 0): void {
  for (let i = from; i < n; i++) expect(store.append(LEAVES[i]!)).toBe(i);
}

describe('MerkleStore', () => {
  it('starts empty with the empty root', () => {
    const store = new MerkleStore(db);
    expect(store.size()).toBe(0);
    expect(store.root()).toEqual(emptyRoot());
    expect(store.root(0)).toEqual(emptyRoot());
    expect(store.compactRange(0)).toEqual([]);
  });

  it('has the reference root after every append, and every historical root afterwards', () => {
    const store = new MerkleStore(db);
    for (let i = 0; i < 130; i++) {
      expect(store.append(LEAVES[i]!)).toBe(i);
      expect(store.size()).toBe(i + 1);
      expect(store.root()).toEqual(rootFromLeafHashes(LEAVES.slice(0, i + 1)));
    }
    for (let n = 0; n <= 130; n++) {
      expect(store.root(n), `size ${n}`).toEqual(rootFromLeafHashes(LEAVES.slice(0, n)));
      expect(CompactRange.fromHashes(0, n, store.compactRange(n)).root()).toEqual(store.root(n));
    }
  });

  it('stores exactly the perfect subtrees, returned as plain Uint8Arrays', () => {
    const store = new MerkleStore(db);
    fill(store, 70);
    // 70 leaves + 35 + 17 + 8 + 4 + 2 + 1 perfect interior nodes.
    expect(db.prepare('SELECT count(*) FROM merkle_nodes').pluck().get()).toBe(137);
    expect(db.prepare('SELECT max(level) FROM merkle_nodes').pluck().get()).toBe(6);
    const r = store.root();
    expect(Object.getPrototypeOf(r)).toBe(Uint8Array.prototype);
    expect(store.subtreeHash(64, 70)).toEqual(rootFromLeafHashes(LEAVES.slice(64, 70)));
    expect(store.subtreeHash(0, 64)).toEqual(rootFromLeafHashes(LEAVES.slice(0, 64)));
  });

  it('serves inclusion and consistency proofs that the shared verifiers accept', () => {
    const store = new MerkleStore(db);
    fill(store, 45);
    for (let n = 1; n <= 45; n++) {
      const root = store.root(n);
      for (let i = 0; i < n; i++) {
        expect(verifyInclusion(LEAVES[i]!, i, n, store.inclusionProof(i, n), root), `${i} of ${n}`).toBe(true);
      }
      for (let m = 0; m <= n; m++) {
        expect(verifyConsistency(m, n, store.root(m), root, store.consistencyProof(m, n)), `${m} → ${n}`).toBe(true);
      }
    }
  });

  it('refuses sizes beyond the log and ranges outside RFC 6962 recursion', () => {
    const store = new MerkleStore(db);
    fill(store, 10);
    const range = expect.objectContaining({ code: 'E_MERKLE_RANGE' });
    expect(() => store.root(11)).toThrow(range);
    expect(() => store.root(-1)).toThrow(range);
    expect(() => store.inclusionProof(3, 11)).toThrow(range);
    expect(() => store.inclusionProof(10, 10)).toThrow(range);
    expect(() => store.consistencyProof(3, 11)).toThrow(range);
    expect(() => store.consistencyProof(5, 4)).toThrow(range);
    expect(() => store.compactRange(11)).toThrow(range);
    expect(() => store.subtreeHash(8, 11)).toThrow(range);
    expect(() => store.subtreeHash(1, 3)).toThrow(range); // [1, 3) is no node of any RFC 6962 tree
    expect(() => store.subtreeHash(4, 4)).toThrow(range);
    expect(() => store.append(new Uint8Array(31))).toThrow(expect.objectContaining({ code: 'E_MERKLE_HASH' }));
    expect(store.size()).toBe(10);
  });

  it('resumes after reopening the database', () => {
    let store = new MerkleStore(db);
    fill(store, 77);
    db.close();
    db = open();
    store = new MerkleStore(db);
    expect(store.size()).toBe(77);
    expect(store.root()).toEqual(rootFromLeafHashes(LEAVES.slice(0, 77)));
    fill(store, 200, 77);
    expect(store.root()).toEqual(rootFromLeafHashes(LEAVES.slice(0, 200)));
    expect(store.root(77)).toEqual(rootFromLeafHashes(LEAVES.slice(0, 77)));
  });

  it('appends inside the caller’s transaction', () => {
    const store = new MerkleStore(db);
    const indexes = db.transaction(() => [store.append(LEAVES[0]!), store.append(LEAVES[1]!), store.append(LEAVES[2]!)])();
    expect(indexes).toEqual([0, 1, 2]);
    expect(store.root()).toEqual(rootFromLeafHashes(LEAVES.slice(0, 3)));
  });
});

describe('MerkleStore under rollback', () => {
  it('an append inside a transaction that throws leaves size and root unchanged', () => {
    const store = new MerkleStore(db);
    fill(store, 11);
    const root = store.root();
    expect(() =>
      db.transaction(() => {
        store.append(LEAVES[11]!);
        store.append(LEAVES[12]!);
        expect(store.size()).toBe(13); // visible inside the transaction
        throw new Error('caller failed');
      })(),
    ).toThrow('caller failed');
    expect(store.size()).toBe(11);
    expect(store.root()).toEqual(root);

    // The next append takes the index the rolled-back one had, and the tree is right.
    expect(store.append(LEAVES[200]!)).toBe(11);
    expect(store.root()).toEqual(rootFromLeafHashes([...LEAVES.slice(0, 11), LEAVES[200]!]));
    fill(store, 40, 12);
    const want = [...LEAVES.slice(0, 11), LEAVES[200]!, ...LEAVES.slice(12, 40)];
    expect(store.root()).toEqual(rootFromLeafHashes(want));
    expect(new MerkleStore(db).root()).toEqual(rootFromLeafHashes(want));
  });

  it('survives a rolled-back savepoint inside a transaction that commits', () => {
    const store = new MerkleStore(db);
    fill(store, 5);
    const inner = db.transaction(() => {
      store.append(LEAVES[100]!);
      store.append(LEAVES[101]!);
      store.append(LEAVES[102]!);
      throw new Error('inner failed');
    });
    db.transaction(() => {
      store.append(LEAVES[5]!);
      expect(() => inner()).toThrow('inner failed');
      expect(store.size()).toBe(6);
      expect(store.append(LEAVES[6]!)).toBe(6);
      expect(store.append(LEAVES[7]!)).toBe(7);
    })();
    expect(store.size()).toBe(8);
    expect(store.root()).toEqual(rootFromLeafHashes(LEAVES.slice(0, 8)));
    fill(store, 33, 8);
    expect(store.root()).toEqual(rootFromLeafHashes(LEAVES.slice(0, 33)));
  });

  it('survives an explicit ROLLBACK that empties the tree', () => {
    const store = new MerkleStore(db);
    db.exec('BEGIN');
    fill(store, 9);
    db.exec('ROLLBACK');
    expect(store.size()).toBe(0);
    expect(store.root()).toEqual(emptyRoot());
    expect(store.append(LEAVES[50]!)).toBe(0);
    expect(store.root()).toEqual(LEAVES[50]);
  });

  it('recovers from an append that failed half-way in autocommit mode', () => {
    const store = new MerkleStore(db);
    fill(store, 5);
    // Leaf 5 completes node (1, 2); make the leaf's own insert fail after that node was written.
    db.exec(`CREATE TEMP TRIGGER fail_leaf_5 BEFORE INSERT ON main.merkle_nodes
             WHEN NEW.level = 0 AND NEW.idx = 5 BEGIN SELECT RAISE(ABORT, 'disk full'); END`);
    expect(() => store.append(LEAVES[99]!)).toThrow('disk full');
    db.exec('DROP TRIGGER fail_leaf_5');
    expect(db.prepare('SELECT count(*) FROM merkle_nodes WHERE level = 1 AND idx = 2').pluck().get()).toBe(1);
    expect(store.size()).toBe(5);
    expect(store.root()).toEqual(rootFromLeafHashes(LEAVES.slice(0, 5)));
    // The leftover node lies beyond the tree; the next append of leaf 5 replaces it.
    fill(store, 16, 5);
    expect(store.root()).toEqual(rootFromLeafHashes(LEAVES.slice(0, 16)));
    expect(store.root(6)).toEqual(rootFromLeafHashes(LEAVES.slice(0, 6)));
  });

  it('keeps up with a second store writing the same table', () => {
    const a = new MerkleStore(db);
    const b = new MerkleStore(db);
    fill(a, 3);
    expect(b.append(LEAVES[3]!)).toBe(3);
    expect(a.append(LEAVES[4]!)).toBe(4);
    expect(a.root()).toEqual(rootFromLeafHashes(LEAVES.slice(0, 5)));
  });

  it('a leaf it rolled back, replaced by another process at the same index, is not folded in', () => {
    // `vigil export` beside the gateway: two connections to one file, each with its own store.
    const other = open();
    const gateway = new MerkleStore(db);
    const exporter = new MerkleStore(other);
    fill(gateway, 6);
    expect(() =>
      db.transaction(() => {
        gateway.append(LEAVES[6]!);
        throw new Error('caller failed'); // the gateway's cached frontier now ends at 7, the table at 6
      })(),
    ).toThrow('caller failed');
    expect(exporter.append(LEAVES[250]!)).toBe(6); // the table is at 7 again, with another leaf 6
    expect(gateway.append(LEAVES[7]!)).toBe(7);
    const want = [...LEAVES.slice(0, 6), LEAVES[250]!, LEAVES[7]!];
    expect(gateway.root()).toEqual(rootFromLeafHashes(want));
    fill(gateway, 20, 8);
    expect(new MerkleStore(other).root()).toEqual(rootFromLeafHashes([...want, ...LEAVES.slice(8, 20)]));
    other.close();
  });

  it('reports a corrupt table instead of serving a wrong root', () => {
    const store = new MerkleStore(db);
    fill(store, 8);
    db.prepare('DELETE FROM merkle_nodes WHERE level = 3').run();
    expect(() => store.root()).toThrow(expect.objectContaining({ code: 'E_MERKLE_STORE' }));
    expect(() => new MerkleStore(db)).toThrow(expect.objectContaining({ code: 'E_MERKLE_STORE' }));
  });
});

describe('MerkleStore at scale', () => {
  it('appends 100k leaves in one transaction and serves proofs deep in the tree', () => {
    const store = new MerkleStore(db);
    const leaves = Array.from({ length: 100_000 }, (_, i) => leafHash(new Uint8Array([i & 255, (i >> 8) & 255, i >> 16])));
    db.transaction(() => {
      for (const leaf of leaves) store.append(leaf);
    })();
    expect(store.size()).toBe(100_000);
    const reference = CompactRange.empty();
    for (const leaf of leaves) reference.append(leaf);
    expect(store.root()).toEqual(reference.root());
    expect(verifyInclusion(leaves[77_777]!, 77_777, 100_000, store.inclusionProof(77_777, 100_000), store.root())).toBe(true);
    expect(verifyConsistency(65_537, 100_000, store.root(65_537), store.root(), store.consistencyProof(65_537, 100_000))).toBe(true);
  });
});
