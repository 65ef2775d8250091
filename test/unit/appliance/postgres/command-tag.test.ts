import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { tagRowCount } from '../../../../appliance/protocols/postgres/command-tag.ts';

// node-postgres's own reading of a tag, as the second opinion for every tag a server really sends.
const require = createRequire(import.meta.url);
const Result = require('pg/lib/result.js') as new () => { rowCount: number | null; addCommandComplete(m: { text: string }): void };
const nodePostgres = (tag: string) => {
  const r = new Result();
  r.addCommandComplete({ text: tag });
  return r.rowCount ?? undefined;
};

describe('tagRowCount', () => {
  const serverTags = [
    'INSERT 0 3', 'INSERT 0 0', 'UPDATE 1', 'UPDATE 0', 'DELETE 250', 'SELECT 4', 'SELECT 0', 'MERGE 1', 'FETCH 10', 'MOVE 5', 'COPY 2',
    'CREATE TABLE', 'DROP TABLE', 'BEGIN', 'COMMIT', 'ROLLBACK', 'SET', 'SHOW', 'EXPLAIN', 'TRUNCATE TABLE', 'PREPARE', 'DISCARD ALL', 'LISTEN', 'SUSPENDED', '',
  ];

  it.each(serverTags)('reads %j as node-postgres does', (tag) => {
    expect(tagRowCount(tag)).toBe(nodePostgres(tag));
  });

  it('reads the count after the OID of an INSERT, and large counts exactly', () => {
    expect(tagRowCount('INSERT 16384 1')).toBe(1);
    expect(tagRowCount('UPDATE 4294967297')).toBe(4294967297);
  });

  it('reports no count for a malformed tag, as libpq does (never a guess)', () => {
    for (const tag of ['UPDATE', 'UPDATE ', 'UPDATE 1x', 'UPDATE -1', 'INSERT 3', 'SELECT 1 2', 'update 1', 'UPDATE 99999999999999999999']) {
      expect(tagRowCount(tag)).toBeUndefined();
    }
  });
});
