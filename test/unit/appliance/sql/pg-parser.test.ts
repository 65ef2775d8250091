import { fingerprintSync, loadModule, parseSync, scanSync } from 'libpg-query';
import { beforeAll, describe, expect, it } from 'vitest';
import { SqlClassifier } from '../../../../appliance/sql/index.ts';
import { PgParser } from '../../../../appliance/sql/pg-parser.ts';

let parser: PgParser;

beforeAll(async () => {
  await loadModule();
  parser = await PgParser.load();
});

const QUERIES = [
  'SELECT 1; DROP TABLE t',
  "INSERT INTO cartes (nom, cvv) VALUES ('Zoë', '123') RETURNING id",
  'WITH d AS (DELETE FROM q RETURNING *) SELECT * FROM d',
  "COPY (SELECT * FROM t) TO PROGRAM 'gzip'",
  "DO $$ BEGIN RAISE NOTICE 'x'; END $$",
];

/** The wrapper drives the module through libpg_query's C structs: it must agree with the package's own API. */
describe('PgParser', () => {
  it('returns the package parseSync tree, fingerprint and tokens', () => {
    for (const q of QUERIES) {
      const r = parser.parse(q);
      expect(r.ok).toBe(true);
      expect(r.ok && r.tree).toEqual(parseSync(q));
      expect(parser.fingerprint(q)).toBe(fingerprintSync(q));
      expect(parser.scan(q)).toEqual(scanSync(q).tokens);
    }
  });

  it('reports syntax errors with PostgreSQL message and position (in characters, as PostgreSQL counts)', () => {
    expect(parser.parse('SELECT \u00e9 FROM WHERE')).toEqual({ ok: false, kind: 'syntax', message: 'syntax error at or near "WHERE"', cursor: 14 });
    expect(parser.fingerprint('SELECT FROM WHERE')).toBeUndefined();
  });

  it('retires an instance that trapped, continues on the spare and reloads one', async () => {
    const deep = `SELECT 1${'+1'.repeat(30_000)}`;
    const before = parser.faults;
    const r = parser.parse(deep);
    expect(r).toMatchObject({ ok: false, kind: 'fault' });
    expect(parser.faults).toBe(before + 1);
    // The spare answers at once…
    expect(parser.parse('SELECT 2')).toMatchObject({ ok: true });
    // …and two faults before a new spare is loaded leave no instance: callers are told, then it recovers.
    parser.parse(deep);
    expect(parser.parse('SELECT 3')).toMatchObject({ ok: false, kind: 'unavailable' });
    await parser.ready();
    expect(parser.parse('SELECT 4')).toMatchObject({ ok: true });
    await parser.ready();
    parser.parse(deep);
    expect(parser.parse('SELECT 5')).toMatchObject({ ok: true });
    await parser.ready();
  });

  it('a classifier fails closed while the parser restarts', async () => {
    const c = await SqlClassifier.create({ cacheSize: 0 });
    const deep = `SELECT 1${'+1'.repeat(30_000)}`;
    expect(c.classify(deep).statements[0]).toMatchObject({ class: 'unknown', tags: ['parser-fault'] });
    c.classify(deep);
    const r = c.classify('SELECT 1');
    expect(r.statements[0]).toMatchObject({ class: 'unknown', tags: ['parser-fault'] });
    expect(r.parseError).toMatch(/restarting/);
    await c.parser.ready();
    expect(c.classify('SELECT 1').statements[0]!.class).toBe('read');
  });
});
