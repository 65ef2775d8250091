import { beforeAll, describe, expect, it } from 'vitest';
import { SqlClassifier, type Classification } from '../../../../appliance/sql/index.ts';
import { lexShape } from '../../../../appliance/sql/shape-lexer.ts';
import { rng } from '../../../helpers/seeded-random.ts';

let uncached: SqlClassifier;

beforeAll(async () => {
  uncached = await SqlClassifier.create({ cacheSize: 0 });
});

// The tree is the first statement of a shape's (literal values and offsets in it are that one's): not compared.
const strip = (c: Classification) => ({ statements: c.statements.map(({ tree: _tree, ...s }) => s), fingerprint: c.fingerprint, parseError: c.parseError });

describe('shape lexer', () => {
  it('keys pgbench-style statements by shape, with exact literal offsets', () => {
    const a = lexShape('SELECT abalance FROM pgbench_accounts WHERE aid = 41123;')!;
    const b = lexShape('SELECT abalance FROM pgbench_accounts WHERE aid = 7;')!;
    expect(a.key).toBe(b.key);
    expect(a.key).toBe('SELECT abalance FROM pgbench_accounts WHERE aid = \x01i;');
    expect(a.literals).toEqual([50, 55]);
    expect(b.literals).toEqual([50, 51]);
    const u = lexShape("UPDATE t SET s = 'it''s', n = -12.50, p = $1 WHERE id = 2147483648")!;
    expect(u.key).toBe('UPDATE t SET s = \x01s, n = -\x01n, p = $1 WHERE id = \x01n');
    expect(u.literals).toEqual([17, 24, 31, 36, 56, 66]);
  });

  it('gives different keys to different token kinds and to anything outside literals', () => {
    const key = (s: string) => lexShape(s)?.key;
    const distinct = [
      'SELECT 1',
      'SELECT 1.5',
      "SELECT '1'",
      'SELECT $1',
      'SELECT $2',
      'SELECT  1',
      'SELECT 1 ',
      'select 1',
      'SELECT "a"',
      'SELECT a',
      'SELECT -1',
      'SELECT - 1',
    ];
    expect(new Set(distinct.map(key)).size).toBe(distinct.length);
    expect(key('SELECT 2147483647')).toBe(key('SELECT 0'));
    // Past int4 PostgreSQL lexes digits as FCONST, like a decimal.
    expect(key('SELECT 2147483648')).not.toBe(key('SELECT 1'));
    expect(key('SELECT 2147483648')).toBe(key('SELECT 1.5'));
    expect(key('SELECT 00000000002147483647')).toBe(key('SELECT 1'));
  });

  it.each([
    ['a line comment', 'SELECT 1 -- x'],
    ['a block comment', 'SELECT /* x */ 1'],
    ['an operator hiding a comment', 'SELECT 1 +-- x\n1'],
    ['E string', "SELECT E'x'"],
    ['lower-case e string', "SELECT e'x'"],
    ['bit string', "SELECT B'101'"],
    ['hex string', "SELECT X'1F'"],
    ['national string', "SELECT N'x'"],
    ['Unicode string', "SELECT U&'x'"],
    ['Unicode identifier', 'SELECT U&"x"'],
    ['dollar quotes', 'SELECT $$x$$'],
    ['tagged dollar quotes', 'SELECT $a$x$a$'],
    ['a backslash in a string', "SELECT 'a\\'"],
    ['a backslash outside a string', 'SELECT 1 \\g'],
    ['non-ASCII in a string', "SELECT 'é'"],
    ['non-ASCII in an identifier', 'SELECT café FROM t'],
    ['an odd quoted identifier', 'SELECT "a b"'],
    ['an escaped quote in an identifier', 'SELECT "a""b"'],
    ['an empty quoted identifier', 'SELECT ""'],
    ['an unterminated string', "SELECT 'abc"],
    ['an unterminated identifier', 'SELECT "abc'],
    ['string continuation', "SELECT 'a'\n'b'"],
    ['adjacent strings', "SELECT 'a' 'b'"],
    ['an exponent', 'SELECT 1e5'],
    ['a trailing dot', 'SELECT 1.'],
    ['a leading dot', 'SELECT .5'],
    ['a hexadecimal integer', 'SELECT 0x1F'],
    ['an underscored integer', 'SELECT 1_000'],
    ['trailing junk after a number', 'SELECT 1abc'],
    ['trailing junk after a parameter', 'SELECT $1abc'],
    ['a form feed', 'SELECT\f1'],
    ['a NUL', 'SELECT 1\0'],
    ['a backtick', 'SELECT `a`'],
    ['braces', 'SELECT {1}'],
  ])('refuses %s', (_, sql) => {
    expect(lexShape(sql)).toBeUndefined();
  });
});

describe('cache', () => {
  it('a hit re-derives statement and literal offsets from the new text', async () => {
    const c = await SqlClassifier.create();
    const sql = (cvv: string, id: number) => `UPDATE cards SET cvv = '${cvv}' WHERE id = ${id}; SELECT * FROM cards WHERE pin = -${id}`;
    const first = c.classify(sql('1', 1));
    expect(first.cacheHit).toBe(false);
    for (const [cvv, id] of [
      ['123456', 99999],
      ['', 0],
      ["it''s", 2147483647],
    ] as const) {
      const text = sql(cvv, id);
      const hit = c.classify(text);
      expect(hit.cacheHit).toBe(true);
      expect(strip(hit)).toEqual(strip(uncached.classify(text)));
      const [update, select] = hit.statements;
      expect(text.slice(update!.location.start, update!.location.end)).toBe(`UPDATE cards SET cvv = '${cvv}' WHERE id = ${id}`);
      expect(text.slice(select!.location.start, select!.location.end)).toBe(`SELECT * FROM cards WHERE pin = -${id}`);
      expect(c.redactForRecording(text, hit)).toBe(
        `UPDATE cards SET cvv = '[REDACTED]' WHERE id = ${id}; SELECT * FROM cards WHERE pin = '[REDACTED]'`,
      );
    }
  });

  it('is an LRU bounded by cacheSize', async () => {
    const c = await SqlClassifier.create({ cacheSize: 2 });
    c.classify('SELECT 1 FROM a');
    c.classify('SELECT 1 FROM b');
    expect(c.classify('SELECT 2 FROM a').cacheHit).toBe(true); // a is now the most recent
    c.classify('SELECT 1 FROM c'); // evicts b
    expect(c.cachedShapes).toBe(2);
    expect(c.classify('SELECT 3 FROM b').cacheHit).toBe(false);
    expect(c.classify('SELECT 3 FROM c').cacheHit).toBe(true);
  });

  it('a caller mutating a result cannot poison the cache', async () => {
    const c = await SqlClassifier.create();
    const r = c.classify('DROP TABLE t');
    r.statements[0]!.tags.length = 0;
    r.statements[0]!.tables.push('x');
    const hit = c.classify('DROP TABLE t');
    expect(hit.cacheHit).toBe(true);
    expect(hit.statements[0]).toMatchObject({ tags: ['drop'], tables: ['t'] });
    hit.statements[0]!.class = 'read';
    expect(c.classify('DROP TABLE t').statements[0]!.class).toBe('ddl');
  });

  it('does not cache a verdict that read a literal, or a literal the tree does not hold as a constant', async () => {
    const c = await SqlClassifier.create();
    for (const [a, b] of [
      ["SELECT set_config('work_mem', '1MB', false)", "SELECT set_config('role', 'admin', false)"],
      ['EXPLAIN (ANALYZE 0) DELETE FROM t', 'EXPLAIN (ANALYZE 1) DELETE FROM t'],
      ['FETCH 5 FROM c', 'FETCH 6 FROM c'],
      ["COPY t TO '/tmp/a'", "COPY t TO '/tmp/b'"],
      ["UPDATE t SET (a, b) = ('x', 'y')", "UPDATE t SET (a, b) = ('z', 'w')"], // the parser repeats the row per column
    ]) {
      c.classify(a!);
      const r = c.classify(b!);
      expect(r.cacheHit, b).toBe(false);
      expect(strip(r)).toEqual(strip(uncached.classify(b!)));
    }
  });

  it('does not cache texts over 16 KiB', async () => {
    const c = await SqlClassifier.create();
    const rows = (count: number, n: number) => `INSERT INTO t (a) VALUES ${Array.from({ length: count }, () => `(${n})`).join(', ')}`;
    expect(rows(3000, 1).length).toBeLessThan(16 * 1024);
    c.classify(rows(3000, 1));
    expect(c.classify(rows(3000, 2)).cacheHit).toBe(true);
    expect(rows(4000, 1).length).toBeGreaterThan(16 * 1024);
    c.classify(rows(4000, 1));
    expect(c.classify(rows(4000, 2)).cacheHit).toBe(false);
    expect(c.cachedShapes).toBe(1);
  });

  it('does not cache parse errors', async () => {
    const c = await SqlClassifier.create();
    c.classify('SELECT 1 FROM');
    expect(c.classify('SELECT 1 FROM').cacheHit).toBe(false);
  });

  it('cacheSize 0 disables it', () => {
    uncached.classify('SELECT 1');
    expect(uncached.classify('SELECT 1').cacheHit).toBe(false);
    expect(uncached.cachedShapes).toBe(0);
  });
});

/**
 * Statements built so that a careless normaliser would give a benign and a malicious one the same key.
 * Whatever was classified first, each must classify exactly as it does with no cache at all.
 */
const ATTACKS: string[][] = [
  // A backslash does not escape a quote in '…' (standard_conforming_strings on): the DROP is real here…
  ["SELECT 'a\\' ; DROP TABLE x; --'", "SELECT 'a'' ; DROP TABLE x; --'", "SELECT 'a' ; SELECT 1; --'", "SELECT 'a\\', '; DROP TABLE x; --'"],
  // …and does escape it in E'…', where the whole tail is one literal.
  ["SELECT E'a\\' ; DROP TABLE x; --'", "SELECT 'a' ; DROP TABLE x; --'", "SELECT E'a' ; DROP TABLE x"],
  // Comments.
  ['SELECT 1 -- ; DROP TABLE x', 'SELECT 1 ; DROP TABLE x', 'SELECT 1 /* ; DROP TABLE x */', 'SELECT 1 /* */ ; DROP TABLE x', "SELECT '--' ; DROP TABLE x"],
  ["SELECT 1 --'\n; DROP TABLE x --'", "SELECT 1 -'\n; DROP TABLE x --'", "SELECT '1 --'\n; DROP TABLE x --''"],
  // Dollar quoting.
  ['SELECT $a$ x $a$; DROP TABLE x', 'SELECT $a$ x; DROP TABLE x $a$', 'SELECT $$ x $$; DROP TABLE x', "SELECT ' x '; DROP TABLE x"],
  ['SELECT $1; DROP TABLE x', 'SELECT $$1; DROP TABLE x$$'],
  // String continuation: one literal across a newline, two literals on one line.
  ["SELECT 'a'\n'b'", "SELECT 'a' 'b'", "SELECT 'a',\n'b'", "SELECT 'a'\n';DROP TABLE x;--'"],
  // Unicode escapes and other prefixed strings.
  ["SELECT U&'\\0027; DROP TABLE x; --'", "SELECT U&' ; DROP TABLE x; --'", "SELECT X'1F'; DROP TABLE x", "SELECT B'1'; DROP TABLE x", "SELECT N'a'; DROP TABLE x"],
  // Numbers whose lexing is not plain digits.
  ['SELECT 1e1; DROP TABLE x', 'SELECT 1; DROP TABLE x', 'SELECT 1.; DROP TABLE x', 'SELECT .1; DROP TABLE x', 'SELECT 0x1; DROP TABLE x', 'SELECT 1_0; DROP TABLE x'],
  ['FETCH 5 FROM c', 'FETCH 99999999999 FROM c'],
  // Literal values the verdict depends on.
  ["SELECT set_config('work_mem', '1MB', false)", "SELECT set_config('role', 'postgres', false)", "SELECT set_config('ROLE', 'postgres', false)", "SELECT set_config('standard_conforming_strings', 'off', false)"],
  ['EXPLAIN (ANALYZE 0) DELETE FROM accounts', 'EXPLAIN (ANALYZE 1) DELETE FROM accounts', "EXPLAIN (ANALYZE 'off') DELETE FROM accounts", "EXPLAIN (ANALYZE 'on') DELETE FROM accounts"],
  // Quoted identifiers.
  ['SELECT "a" FROM t; DROP TABLE x', 'SELECT "a;" FROM t', 'SELECT "a"" ; DROP TABLE x; --" FROM t', 'SELECT "a" ; DROP TABLE x; --" FROM t'],
  // Non-ASCII look-alikes and invisible characters.
  ["SELECT 'a'; DROP TABLE x", "SELECT 'a'\u037e DROP TABLE x", "SELECT 'a'\u00a0; DROP TABLE x", "SELECT 'é'; DROP TABLE x"],
  // A role name or a setting written as a literal or as an identifier.
  ["SET ROLE 'admin'", 'SET ROLE admin', "SET search_path = 'admin'", "SET \"role\" = 'admin'"],
  // NUL truncation.
  ["SELECT 'a'\0; DROP TABLE x", "SELECT 'a'; DROP TABLE x"],
];

describe('cache safety', () => {
  it.each(ATTACKS.map((group, i) => [i, group] as const))('group %i classifies the same in any cache order', async (_, group) => {
    const expected = new Map(group.map((sql) => [sql, strip(uncached.classify(sql))]));
    for (const order of [group, [...group].reverse()]) {
      const c = await SqlClassifier.create();
      for (let round = 0; round < 2; round++) {
        for (const sql of order) expect(strip(c.classify(sql)), JSON.stringify(sql)).toEqual(expected.get(sql));
      }
    }
  });

  it('the headline cases classify as PostgreSQL would run them', () => {
    const classes = (sql: string) => uncached.classify(sql).statements.map((s) => s.class);
    expect(classes("SELECT 'a\\' ; DROP TABLE x; --'")).toEqual(['read', 'ddl']);
    expect(classes("SELECT 'a'' ; DROP TABLE x; --'")).toEqual(['read']);
    expect(classes("SELECT E'a\\' ; DROP TABLE x; --'")).toEqual(['read']);
    expect(classes('SELECT $a$ x; DROP TABLE x $a$')).toEqual(['read']);
    expect(classes('SELECT $a$ x $a$; DROP TABLE x')).toEqual(['read', 'ddl']);
    expect(classes('SELECT 1 -- ; DROP TABLE x')).toEqual(['read']);
    expect(classes("SELECT 'a'\u037e DROP TABLE x")).toEqual(['unknown']);
  });

  it('random statements give the same answer cached and uncached, whatever came first', async () => {
    const rand = rng(0xc0ffee);
    const pick = <T>(a: readonly T[]) => a[Math.floor(rand() * a.length)]!;
    const strings = ["'x'", "'it''s'", "'a\\'", "E'a\\''", "'--'", "'/*'", "';'", "'$$'", "'é'", "''", "'a'\n'b'", '$$;$$', "U&'\\0041'", "'DROP TABLE x'"];
    const numbers = ['0', '7', '-3', '2147483647', '2147483648', '1.5', '1e3', '0x10', '.5', '- 4', '1_000'];
    const values = [...strings, ...numbers, '$1', '$2', 'NULL', 'true'];
    const templates = [
      (v: () => string) => `SELECT abalance FROM pgbench_accounts WHERE aid = ${v()}`,
      (v: () => string) => `UPDATE cards SET cvv = ${v()}, note = ${v()} WHERE id = ${v()}`,
      (v: () => string) => `INSERT INTO cards (token, cvv, pin) VALUES (${v()}, ${v()}, ${v()}), (${v()}, ${v()}, ${v()})`,
      (v: () => string) => `SELECT ${v()}; DELETE FROM t WHERE pin = ${v()}; SELECT ${v()}`,
      (v: () => string) => `WITH d AS (DELETE FROM q WHERE id = ${v()} RETURNING *) SELECT * FROM d WHERE cvv IN (${v()}, ${v()})`,
      (v: () => string) => `SELECT set_config(${v()}, ${v()}, false)`,
      (v: () => string) => `EXPLAIN (ANALYZE ${v()}) UPDATE t SET x = ${v()}`,
      (v: () => string) => `SELECT * FROM t WHERE a = ${v()} LIMIT ${v()} OFFSET ${v()}`,
      (v: () => string) => `SELECT ${v()}::varchar(${v()}) FROM t WHERE track2 LIKE ${v()}`,
    ];
    const sqls = Array.from({ length: 600 }, () => pick(templates)(() => pick(values)));
    const c = await SqlClassifier.create({ cacheSize: 50 });
    let hits = 0;
    for (const sql of sqls) {
      const r = c.classify(sql);
      if (r.cacheHit) hits++;
      expect(strip(r), JSON.stringify(sql)).toEqual(strip(uncached.classify(sql)));
    }
    expect(hits).toBeGreaterThan(25); // the cache did serve a share of them
  });
});
