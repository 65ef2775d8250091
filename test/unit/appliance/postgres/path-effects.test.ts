import { beforeAll, describe, expect, it } from 'vitest';
import { needsSearchPath, pathEffect, splitIdentifiers, type PathEffect } from '../../../../appliance/protocols/postgres/catalog/path-effects.ts';
import { SqlClassifier, type ClassifiedStatement } from '../../../../appliance/sql/index.ts';

let classifier: SqlClassifier;
beforeAll(async () => {
  classifier = await SqlClassifier.create();
});

function one(sql: string): ClassifiedStatement {
  const c = classifier.classify(sql);
  expect(c.parseError, sql).toBeUndefined();
  expect(c.statements).toHaveLength(1);
  return c.statements[0]!;
}

const effect = (sql: string): PathEffect => pathEffect(one(sql));
const set = (...values: string[]): PathEffect => ({ kind: 'set', values });
const UNKNOWN: PathEffect = { kind: 'unknown' };
const NONE: PathEffect = { kind: 'none' };
const REVERT: PathEffect = { kind: 'may-revert' };

describe('pathEffect: SET search_path', () => {
  it.each<[string, PathEffect]>([
    ['SET search_path TO app, public', set('app', 'public')],
    ['SET search_path = App, "Mixed Case", \'lit eral\'', set('app', 'Mixed Case', 'lit eral')],
    ['SET search_path TO "$user", public', set('$user', 'public')],
    ['SET LOCAL search_path TO app', set('app')],
    ['SET SESSION search_path TO app', set('app')],
    ["SET SCHEMA 'app'", set('app')],
    ['SET search_path TO pg_temp, app', set('pg_temp', 'app')],
  ])('%s follows the constants', (sql, expected) => expect(effect(sql)).toEqual(expected));

  it('reads the values of this statement, not those of an earlier one of the same shape', () => {
    expect(effect("SET search_path TO 'a'")).toEqual(set('a'));
    expect(effect("SET search_path TO 'b'")).toEqual(set('b'));
  });

  it.each([
    'SET search_path TO DEFAULT',
    'RESET search_path',
    'RESET ALL',
    'SET search_path FROM CURRENT',
    'SET search_path TO 1',
  ])('%s: unknown (the server is asked)', (sql) => expect(effect(sql)).toEqual(UNKNOWN));

  it.each(['SET work_mem = \'64MB\'', 'SET TIME ZONE UTC', "SET application_name = 'x'", 'RESET work_mem', 'SELECT 1', 'SHOW search_path'])(
    '%s: no effect',
    (sql) => expect(effect(sql)).toEqual(NONE),
  );
});

describe('pathEffect: set_config', () => {
  it.each<[string, PathEffect]>([
    ["SELECT set_config('search_path', 'a, \"B\"', false)", set('a', 'B')],
    ["SELECT pg_catalog.set_config('search_path', '', false)", set()],
    ["SELECT set_config('SEARCH_PATH', 'App', true)", set('app')],
  ])('%s with constants is followed', (sql, expected) => expect(effect(sql)).toEqual(expected));

  it.each([
    "SELECT set_config('search_path', $1, false)",
    "SELECT set_config('search_path', 'a' || 'b', false)",
    "SELECT set_config('search_path', '\"unterminated', false)",
    "SELECT set_config('search_path', 'a b', false)",
    "SELECT set_config('search_path', 'a', false), set_config('search_path', 'b', false)",
    "SELECT set_config('search_path', 'a', false), set_config('work_mem', '1MB', false)",
    "SELECT set_config($1, 'a', false)",
    "SELECT set_config('role', 'admin', false)",
    "SELECT set_config('session_authorization', 'admin', false)",
  ])('%s: unknown', (sql) => expect(effect(sql)).toEqual(UNKNOWN));

  // Checked on PostgreSQL 18: none of these changes the path, the set_config is never evaluated.
  it.each([
    "SELECT set_config('search_path', 'decoy', false) WHERE false",
    "SELECT set_config('search_path', 'decoy', false) LIMIT 0",
    "SELECT CASE WHEN false THEN set_config('search_path', 'decoy', false) END",
    "SELECT set_config('search_path', 'decoy', false) FROM generate_series(1, 0)",
    "SELECT 1 WHERE false AND set_config('search_path', 'decoy', false) IS NULL",
    "SELECT coalesce('x', set_config('search_path', 'decoy', false))",
    "EXPLAIN SELECT set_config('search_path', 'decoy', false)",
    "PREPARE p AS SELECT set_config('search_path', 'decoy', false)",
    "DECLARE c CURSOR FOR SELECT set_config('search_path', 'decoy', false)",
    "CREATE VIEW v AS SELECT set_config('search_path', 'decoy', false)",
    "SELECT set_config('search_path', 'decoy', false) UNION ALL SELECT 'x'",
    "VALUES (set_config('search_path', 'decoy', false))",
  ])('%s may not run the set_config: unknown, not followed', (sql) => expect(effect(sql)).toEqual(UNKNOWN));

  it('a plain SELECT of set_config among other targets is followed', () => {
    expect(effect("SELECT 1 AS one, set_config('search_path', 'a', false) ORDER BY 1")).toEqual(set('a'));
  });

  it('set_config of another setting has no effect on the path', () => {
    expect(effect("SELECT set_config('work_mem', '1MB', false)")).toEqual(NONE);
  });
});

describe('pathEffect: roles, DISCARD, transaction ends', () => {
  it.each(['SET ROLE admin', 'RESET ROLE', 'SET SESSION AUTHORIZATION admin', 'RESET SESSION AUTHORIZATION', 'SET LOCAL ROLE admin', 'SET ROLE NONE'])(
    '%s: unknown ($user may name another schema)',
    (sql) => expect(effect(sql)).toEqual(UNKNOWN),
  );

  it.each(['DISCARD ALL', 'DISCARD PLANS', 'DISCARD TEMP', 'DISCARD SEQUENCES'])('%s: unknown', (sql) => expect(effect(sql)).toEqual(UNKNOWN));

  it.each(['ROLLBACK', 'ABORT', 'ROLLBACK TO SAVEPOINT s1', 'COMMIT', 'END', 'COMMIT AND CHAIN', "PREPARE TRANSACTION 'tx1'"])(
    '%s: may revert an earlier SET',
    (sql) => expect(effect(sql)).toEqual(REVERT),
  );

  it.each(['BEGIN', 'START TRANSACTION', 'SAVEPOINT s1', 'RELEASE SAVEPOINT s1'])('%s: no effect', (sql) => expect(effect(sql)).toEqual(NONE));
});

describe('needsSearchPath', () => {
  it.each([
    ['SELECT * FROM orders', true],
    ['SELECT * FROM app.orders', false],
    ['SELECT now()', true],
    ['SELECT pg_catalog.now()', false],
    ['SELECT 1 + 1', true],
    ['SELECT 1', false],
    ['SELECT * FROM app.orders o JOIN customers c ON c.id = o.customer_id', true],
    ['WITH x AS (SELECT 1 AS a) SELECT a FROM x', false],
    ['INSERT INTO app.orders (id) VALUES (1)', false],
    ['INSERT INTO orders (id) VALUES (1)', true],
  ])('%s → %s', (sql, expected) => expect(needsSearchPath(one(sql))).toBe(expected));
});

describe('splitIdentifiers', () => {
  it.each<[string, string[]]>([
    ['a', ['a']],
    ['a,b', ['a', 'b']],
    ['  a ,  b  ', ['a', 'b']],
    ['A, Public', ['a', 'public']],
    ['"A", "Public"', ['A', 'Public']],
    ['"a""b"', ['a"b']],
    ['"a,b", c', ['a,b', 'c']],
    ['"with space"', ['with space']],
    ['""', ['']],
    ['$user, public', ['$user', 'public']],
    ['"$user", public', ['$user', 'public']],
    ['a\t,\nb', ['a', 'b']],
    ['my-schema', ['my-schema']],
    ['', []],
    ['   ', []],
  ])('%j → %j', (text, expected) => expect(splitIdentifiers(text)).toEqual(expected));

  it.each(['a,', ',a', 'a,,b', 'a b', '"unterminated', '"a"b', '"a" "b"', 'a, "b'])('%j is malformed', (text) => {
    expect(splitIdentifiers(text)).toBeUndefined();
  });

  // PostgreSQL (verified on 18): unquoted names are folded in ASCII only in a UTF-8 database (by the
  // server's locale in a single-byte one), a no-break space is part of a name, not a separator, and names
  // are truncated to 63 bytes. Where Vigil cannot be sure of the server's result it must not guess.
  it('does not fold non-ASCII letters as the server would not', () => {
    const r = splitIdentifiers('École');
    expect(r === undefined || (r.length === 1 && r[0] === 'École')).toBe(true);
  });

  it('does not take a no-break space (or other Unicode space) for a separator', () => {
    for (const text of ['a,\u00a0b', 'a\u00a0', '\u2003a', 'a,\ufeffb']) {
      const r = splitIdentifiers(text);
      expect(r, JSON.stringify(text)).not.toEqual(text.startsWith('a,') ? ['a', 'b'] : ['a']);
    }
  });

  it('does not keep a name longer than the server keeps it', () => {
    for (const text of ['x'.repeat(64), `"${'X'.repeat(64)}"`, 'é'.repeat(32)]) {
      const r = splitIdentifiers(text);
      expect(r === undefined || Buffer.byteLength(r[0]!) <= 63, text).toBe(true);
    }
    expect(splitIdentifiers('x'.repeat(63))).toEqual(['x'.repeat(63)]);
  });

  it('a vertical tab (whitespace from PostgreSQL 16 on, not before) is not guessed at', () => {
    for (const text of ['a\v', 'a,\vb', 'a\vb']) expect(splitIdentifiers(text), JSON.stringify(text)).toBeUndefined();
  });
});
