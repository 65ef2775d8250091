/** Schema and statements of the persistent Merkle tree: one row per perfect aligned subtree. */

/** Level 0 holds the leaf hashes; node (level L, idx j) covers leaves [j·2^L, (j+1)·2^L). */
export const MERKLE_SCHEMA = `
  CREATE TABLE IF NOT EXISTS merkle_nodes (
    level INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    hash BLOB NOT NULL,
    PRIMARY KEY (level, idx)
  ) WITHOUT ROWID`;

export const SELECT_NODE = 'SELECT hash FROM merkle_nodes WHERE level = ? AND idx = ?';

/** One index seek (min/max optimisation on the primary key), not a scan. */
export const SELECT_LAST_LEAF = 'SELECT max(idx) FROM merkle_nodes WHERE level = 0';

/** The leaf row is what makes an append exist, so a plain INSERT: a duplicate is an error. */
export const INSERT_LEAF = 'INSERT INTO merkle_nodes (level, idx, hash) VALUES (0, ?, ?)';

/**
 * Interior nodes are written before their leaf and may overwrite: what an append that failed half-way
 * (autocommit, disk full) left behind lies beyond the tree, is never read, and is replaced here.
 */
export const UPSERT_NODE = 'INSERT OR REPLACE INTO merkle_nodes (level, idx, hash) VALUES (?, ?, ?)';
