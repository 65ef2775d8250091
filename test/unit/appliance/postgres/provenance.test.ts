/**
 * ProvenanceAnalyzer over a hand-built context (a few in-memory relations, no database) and real parse
 * trees. Expected output names and column order are PostgreSQL's (checked on PostgreSQL 18 where noted).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { CatalogRelation } from '../../../../appliance/protocols/postgres/catalog/target-catalog.ts';
import { ownClass, relationClasses, type ClassRules, type ColumnClass } from '../../../../appliance/protocols/postgres/provenance/column-classes.ts';
import { ProvenanceAnalyzer, type Field, type ProvenanceContext, type StatementOutput } from '../../../../appliance/protocols/postgres/provenance/provenance.ts';
import { SqlClassifier } from '../../../../appliance/sql/index.ts';

const RULES: ClassRules = { pan: [], sad: [], redact: [] };

function relation(schema: string, name: string, columns: (string | [string, string])[], definition: string | null = null): CatalogRelation {
  return {
    oid: Math.floor(Math.random() * 1e9),
    schema,
    name,
    kind: definition === null ? 'r' : 'v',
    columns: columns.map((c, i) => ({ attnum: i + 1, name: typeof c === 'string' ? c : c[0], typeOid: 25, comment: typeof c === 'string' ? null : c[1] })),
    definition,
    policyFunctions: [],
  };
}

const CARDS = relation('public', 'cards', ['id', 'holder', 'card_number', 'cvv', 'expiry']);
const CUSTOMERS = relation('public', 'customers', ['id', 'name', 'email']);
const ORDERS = relation('public', 'orders', ['id', 'customer_id', 'total']);
const SECRETS = relation('vault', 'secrets', ['id', ['token', 'vigil:sad']]);
const CARD_VIEW = relation('public', 'card_view', ['masked', 'who'], 'SELECT lower(card_number) AS masked, holder AS who FROM cards');
const BROKEN_VIEW = relation('public', 'broken_view', ['a', 'b'], 'SELECT …');
const ALL = [CARDS, CUSTOMERS, ORDERS, SECRETS, CARD_VIEW, BROKEN_VIEW];
const PATH = ['pg_catalog', 'public'];

let classifier: SqlClassifier;
const cursors = new Map<string, string>();

beforeAll(async () => {
  classifier = await SqlClassifier.create();
  cursors.set('card_cursor', 'SELECT cvv, id FROM cards');
});

function tree(sql: string): unknown {
  const c = classifier.classify(sql);
  expect(c.parseError, sql).toBeUndefined();
  expect(c.statements).toHaveLength(1);
  return c.statements[0]!.tree;
}

const context: ProvenanceContext = {
  relation(parts) {
    const name = parts[parts.length - 1]!;
    const schema = parts.length >= 2 ? parts[parts.length - 2] : undefined;
    if (schema !== undefined) return ALL.find((r) => r.schema === schema && r.name === name);
    for (const s of PATH) {
      const r = ALL.find((x) => x.schema === s && x.name === name);
      if (r) return r;
    }
    return undefined;
  },
  classes: (rel) => relationClasses(rel, RULES),
  viewColumns(rel) {
    if (rel === CARD_VIEW) {
      return [
        { name: 'masked', prov: { cls: 'pan', plain: false } },
        { name: 'who', prov: { cls: 'cardholder', plain: true, source: 'public.cards.holder' } },
      ];
    }
    return undefined;
  },
  cursor: (name) => (cursors.has(name) ? tree(cursors.get(name)!) : undefined),
  nameClass: (column) => ownClass({ schema: undefined, table: undefined, column, comment: null }, RULES),
  parse: (sql) => classifier.classify(sql).statements.map((s) => s.tree),
};

function analyze(sql: string): StatementOutput | undefined {
  return new ProvenanceAnalyzer(context).statement(tree(sql));
}

function output(sql: string): StatementOutput {
  const o = analyze(sql);
  if (!o) throw new Error(`no output for ${sql}`);
  return o;
}

type Col = [name: string, cls: ColumnClass, plain: boolean];
const summary = (fields: readonly Field[]): Col[] => fields.map((f) => [f.name, f.prov.cls, f.prov.plain]);
const cols = (sql: string): Col[] => summary(output(sql).columns);

/** What the masker falls back to for a column when the shape is not certain (mask-plan.ts). */
function effective(o: StatementOutput, i: number): ColumnClass {
  const c = o.columns[i]!.prov.cls;
  if (o.exact) return c;
  const rank = { none: 0, cardholder: 1, pan: 2, sad: 3 };
  return rank[o.referenced] > rank[c] ? o.referenced : c;
}

const CARD_COLUMNS: Col[] = [
  ['id', 'cardholder', true],
  ['holder', 'cardholder', true],
  ['card_number', 'pan', true],
  ['cvv', 'sad', true],
  ['expiry', 'cardholder', true],
];

describe('plain columns', () => {
  it('straight from a table, with their source', () => {
    const o = output('SELECT id, card_number, cvv FROM cards');
    expect(summary(o.columns)).toEqual([
      ['id', 'cardholder', true],
      ['card_number', 'pan', true],
      ['cvv', 'sad', true],
    ]);
    expect(o.columns.map((c) => c.prov.source)).toEqual(['public.cards.id', 'public.cards.card_number', 'public.cards.cvv']);
    expect(o.exact).toBe(true);
    expect(o.referenced).toBe('sad');
  });

  it('a table without card data', () => {
    const o = output('SELECT name, email FROM customers');
    expect(summary(o.columns)).toEqual([
      ['name', 'none', true],
      ['email', 'none', true],
    ]);
    expect(o.referenced).toBe('none');
  });

  it.each<[string, Col[]]>([
    ['SELECT c.card_number AS n FROM cards c', [['n', 'pan', true]]],
    ['SELECT cards.cvv FROM cards', [['cvv', 'sad', true]]],
    ['SELECT public.cards.cvv FROM public.cards', [['cvv', 'sad', true]]],
    ['SELECT public.cards.cvv FROM cards', [['cvv', 'sad', true]]],
    ['SELECT x FROM (SELECT card_number AS x FROM cards) s', [['x', 'pan', true]]],
    ['SELECT a, b FROM (SELECT id, card_number FROM cards) s(a, b)', [['a', 'cardholder', true], ['b', 'pan', true]]],
    ['WITH t AS (SELECT card_number FROM cards) SELECT card_number FROM t', [['card_number', 'pan', true]]],
    ['WITH t(n) AS (SELECT card_number FROM cards) SELECT n FROM t', [['n', 'pan', true]]],
    ['WITH a AS (SELECT cvv FROM cards), b AS (SELECT cvv AS x FROM a) SELECT x FROM b', [['x', 'sad', true]]],
    ['WITH a AS (SELECT cvv FROM cards) SELECT * FROM (SELECT cvv FROM a) s', [['cvv', 'sad', true]]],
    ['WITH d AS (DELETE FROM cards RETURNING card_number) SELECT card_number FROM d', [['card_number', 'pan', true]]],
    ['SELECT token FROM vault.secrets', [['token', 'sad', true]]],
    ['SELECT who FROM card_view', [['who', 'cardholder', true]]],
    ['SELECT l.x FROM cards c, LATERAL (SELECT c.card_number AS x) l', [['x', 'pan', true]]],
    ['SELECT (SELECT c.cvv) FROM cards c', [['cvv', 'sad', true]]],
    ['SELECT (SELECT card_number FROM cards LIMIT 1) AS first', [['first', 'pan', true]]],
    ['TABLE customers', [['id', 'none', true], ['name', 'none', true], ['email', 'none', true]]],
  ])('%s', (sql, expected) => expect(cols(sql)).toEqual(expected));

  it('a CTE hides a table of the same name', () => {
    expect(cols('WITH customers AS (SELECT card_number AS name FROM cards) SELECT name FROM customers')).toEqual([['name', 'pan', true]]);
  });

  it('a view: its columns as its definition gives them', () => {
    expect(cols('SELECT masked, who FROM card_view')).toEqual([
      ['masked', 'pan', false],
      ['who', 'cardholder', true],
    ]);
  });

  it('a view Vigil cannot read: not exact', () => {
    expect(output('SELECT a FROM broken_view').exact).toBe(false);
  });
});

describe('set operations and recursion', () => {
  it('UNION: the stricter class, plain only when both sides are', () => {
    expect(cols('SELECT card_number FROM cards UNION SELECT name FROM customers')).toEqual([['card_number', 'pan', true]]);
    expect(cols('SELECT name FROM customers UNION ALL SELECT lower(card_number) FROM cards')).toEqual([['name', 'pan', false]]);
    expect(cols('SELECT id, name FROM customers INTERSECT SELECT id, cvv FROM cards')).toEqual([
      ['id', 'cardholder', true],
      ['name', 'sad', true],
    ]);
    expect(cols('SELECT name FROM customers EXCEPT SELECT holder FROM cards')).toEqual([['name', 'cardholder', true]]);
  });

  it('sides of different widths (an error on the server): not exact', () => {
    expect(output('SELECT id FROM customers UNION SELECT id, cvv FROM cards').exact).toBe(false);
  });

  it('a recursive CTE: a column fed by card data in the recursive term carries its class', () => {
    const o = output("WITH RECURSIVE r(n, p) AS (SELECT 1, ''::text UNION ALL SELECT n + 1, card_number FROM r, cards WHERE n < 3) SELECT p FROM r");
    expect(effective(o, 0)).toBe('pan');
    expect(o.columns[0]!.prov.plain).toBe(false);
  });

  it('a recursive CTE: classes travel between its columns through the recursion', () => {
    const o = output("WITH RECURSIVE r(a, b, c) AS (SELECT 'x'::text, 'y'::text, 'z'::text UNION ALL SELECT b, c, cvv FROM r, cards) SELECT a FROM r");
    expect(effective(o, 0)).toBe('sad');
  });

  it('a recursive CTE named like a table: the recursive term reads the CTE, not the table, at every step', () => {
    // customers(id, name, email) exists; with UNION the recursion ends once the rows repeat, id holding the CVV.
    const sql = "WITH RECURSIVE customers(id, name, email) AS (SELECT 'x', 'y', 'z' UNION SELECT name, email, cvv FROM customers, cards) SELECT id FROM customers";
    expect(effective(output(sql), 0)).toBe('sad');
  });

  it('a recursive CTE of a chain longer than two: the class reaches the end of it', () => {
    const o = output("WITH RECURSIVE r(a, b, c, d, e) AS (SELECT '1', '2', '3', '4', '5' UNION SELECT b, c, d, e, card_number FROM r, cards) SELECT a, e FROM r");
    expect(o.exact).toBe(true);
    expect(effective(o, 0)).toBe('pan');
    expect(o.columns.map((c) => c.prov.plain)).toEqual([false, false]);
  });

  it('WITH RECURSIVE: a CTE reads a later CTE named like a table, not the table (PostgreSQL 18 returns the CVV)', () => {
    const sql = 'WITH RECURSIVE a AS (SELECT name FROM customers), customers(name) AS (SELECT cvv FROM cards) SELECT name FROM a';
    expect(effective(output(sql), 0)).toBe('sad');
  });

  it('WITH (not recursive): the same name before its CTE is the table', () => {
    const o = output('WITH a AS (SELECT name FROM customers), customers(name) AS (SELECT cvv FROM cards) SELECT name FROM a');
    expect(summary(o.columns)).toEqual([['name', 'none', true]]);
    expect(o.exact).toBe(true);
  });

  it('a recursive CTE without a column list is exact once settled', () => {
    const o = output('WITH RECURSIVE r AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT n FROM r');
    expect(o.exact).toBe(true);
    expect(summary(o.columns)).toEqual([['n', 'none', false]]);
  });

  it('mutually recursive CTEs (which PostgreSQL refuses) still settle', () => {
    const o = output("WITH RECURSIVE a(x) AS (SELECT 'a'::text UNION SELECT y FROM b), b(y) AS (SELECT cvv FROM cards UNION SELECT x FROM a) SELECT x FROM a");
    expect(effective(o, 0)).toBe('sad');
  });

  it('a recursive CTE that only passes a column along keeps it plain', () => {
    const o = output('WITH RECURSIVE r(x) AS (SELECT holder FROM cards UNION ALL SELECT x FROM r) SELECT x FROM r');
    expect(o.columns[0]!.prov).toMatchObject({ cls: 'cardholder', plain: true });
  });

  it('VALUES: computed columns named column1…', () => {
    expect(cols("VALUES (1, 'a'), (2, 'b')")).toEqual([
      ['column1', 'none', false],
      ['column2', 'none', false],
    ]);
    expect(cols('SELECT x FROM (VALUES (1)) v(x)')).toEqual([['x', 'none', false]]);
  });
});

describe('joins', () => {
  it('JOIN ON: each column from its side', () => {
    expect(cols('SELECT c.card_number, u.email FROM cards c JOIN customers u ON u.id = c.id')).toEqual([
      ['card_number', 'pan', true],
      ['email', 'none', true],
    ]);
  });

  it('JOIN USING: the merged column first, then the rest of each side (PostgreSQL order)', () => {
    expect(cols('SELECT * FROM cards JOIN customers USING (id)')).toEqual([['id', 'cardholder', true], ...CARD_COLUMNS.slice(1), ['name', 'none', true], ['email', 'none', true]]);
    expect(cols('SELECT id FROM cards JOIN customers USING (id)')).toEqual([['id', 'cardholder', true]]);
  });

  it('the tables behind a JOIN USING stay reachable by their names', () => {
    expect(cols('SELECT cards.cvv, customers.* FROM cards JOIN customers USING (id)')).toEqual([
      ['cvv', 'sad', true],
      ['id', 'none', true],
      ['name', 'none', true],
      ['email', 'none', true],
    ]);
  });

  it('NATURAL JOIN: common columns merged', () => {
    expect(cols('SELECT * FROM customers NATURAL JOIN orders')).toEqual([
      ['id', 'none', true],
      ['name', 'none', true],
      ['email', 'none', true],
      ['customer_id', 'none', true],
      ['total', 'none', true],
    ]);
    expect(cols('SELECT * FROM customers NATURAL JOIN cards')).toEqual([['id', 'cardholder', true], ['name', 'none', true], ['email', 'none', true], ...CARD_COLUMNS.slice(1)]);
  });

  it('an aliased join is one item with its own column names', () => {
    expect(cols('SELECT j.card_number FROM (cards JOIN customers USING (id)) AS j')).toEqual([['card_number', 'pan', true]]);
    expect(cols('SELECT x FROM (cards JOIN customers USING (id)) AS j(x)')).toEqual([['x', 'cardholder', true]]);
  });

  it('the same table twice', () => {
    expect(output('SELECT * FROM cards a JOIN cards b USING (id)').columns.map((c) => c.name)).toEqual([
      'id', 'holder', 'card_number', 'cvv', 'expiry', 'holder', 'card_number', 'cvv', 'expiry',
    ]);
  });
});

describe('derived values', () => {
  it.each<[string, Col[]]>([
    ['SELECT lower(card_number) FROM cards', [['lower', 'pan', false]]],
    ['SELECT card_number::bigint FROM cards', [['card_number', 'pan', false]]],
    ['SELECT CAST(cvv AS int) AS v FROM cards', [['v', 'sad', false]]],
    ["SELECT card_number || '' AS x FROM cards", [['x', 'pan', false]]],
    ["SELECT coalesce(cvv, 'none') AS x FROM cards", [['x', 'sad', false]]],
    ['SELECT CASE WHEN id > 0 THEN card_number END AS x FROM cards', [['x', 'pan', false]]],
    ['SELECT count(*), max(cvv) FROM cards', [['count', 'none', false], ['max', 'sad', false]]],
    ["SELECT string_agg(card_number, ',') FROM cards", [['string_agg', 'pan', false]]],
    ['SELECT lag(card_number) OVER (ORDER BY id) FROM cards', [['lag', 'pan', false]]],
    ['SELECT ARRAY(SELECT card_number FROM cards) AS a', [['a', 'pan', false]]],
    ['SELECT name IN (SELECT cvv FROM cards) AS hit FROM customers', [['hit', 'sad', false]]],
    ['SELECT EXISTS (SELECT 1 FROM cards WHERE cvv = $1)', [['exists', 'none', false]]],
    ['SELECT 1 AS one, $1::text AS p', [['one', 'none', false], ['p', 'none', false]]],
    ['SELECT (c).cvv FROM cards c', [['cvv', 'sad', false]]],
  ])('%s', (sql, expected) => {
    const got = cols(sql);
    expect(got.map(([, cls, plain]) => [cls, plain])).toEqual(expected.map(([, cls, plain]) => [cls, plain]));
    expect(got.map(([n]) => n)).toEqual(expected.map(([n]) => n));
  });
});

describe('output names (PostgreSQL 18\'s own, for the same expressions)', () => {
  it.each<[string, string]>([
    ['(SELECT 1 AS x)', 'x'],
    ['(SELECT 2)', '?column?'],
    ['(SELECT a FROM (SELECT 1 a) s)', 'a'],
    ['(SELECT cvv FROM cards UNION SELECT name FROM customers)', 'cvv'],
    ['CASE WHEN true THEN 1 END', 'case'],
    ['ROW(1, 2)', 'row'],
    ['(1, 2)', 'row'],
    ['coalesce(1)', 'coalesce'],
    ['greatest(1)', 'greatest'],
    ['least(2)', 'least'],
    ['ARRAY[1]', 'array'],
    ['ARRAY(SELECT 1)', 'array'],
    ['EXISTS (SELECT 1)', 'exists'],
    ['nullif(1, 1)', 'nullif'],
    ['current_user', 'current_user'],
    ['session_user', 'session_user'],
    ['user', 'user'],
    ['current_timestamp', 'current_timestamp'],
    ['localtime(2)', 'localtime'],
    ['current_catalog', 'current_catalog'],
    ['current_schema', 'current_schema'],
    ["'a' COLLATE \"C\"", '?column?'],
    ['xmlelement(name a)', 'xmlelement'],
    ["xmlserialize(content '<a/>'::xml as text)", 'xmlserialize'],
    ["json_object('a' VALUE 1)", 'json_object'],
    ['json_array(1)', 'json_array'],
    ['json_scalar(1)', 'json_scalar'],
    ["json('1')", 'json'],
    ["json_serialize('1'::json)", 'json_serialize'],
    ["json_value('1'::jsonb, '$')", 'json_value'],
    ['1 IS NULL', '?column?'],
    ['1 + 1', '?column?'],
    ['lower(\'A\')', 'lower'],
    ['1::text', 'text'],
    ["'x'::varchar(3)", 'varchar'],
  ])('SELECT %s → %s', (expr, name) => {
    expect(output(`SELECT ${expr}`).columns.map((c) => c.name)).toEqual([name]);
  });
});

describe('whole rows', () => {
  it('SELECT c FROM cards c: a record of every column', () => {
    const [col] = output('SELECT c FROM cards c').columns;
    expect(col!.name).toBe('c');
    expect(col!.prov).toMatchObject({ cls: 'sad', plain: false, row: { as: 'record' } });
    expect(summary(col!.prov.row!.fields)).toEqual(CARD_COLUMNS);
  });

  it('a table name as a whole row', () => {
    expect(output('SELECT cards FROM cards').columns[0]!.prov.row?.fields).toHaveLength(5);
  });

  it.each(['row_to_json', 'to_json', 'to_jsonb', 'json_agg', 'jsonb_agg'])('%s(c): a JSON object of the row', (fn) => {
    const [col] = output(`SELECT ${fn}(c) FROM cards c`).columns;
    expect(col!.prov).toMatchObject({ cls: 'sad', plain: false, row: { as: 'json' } });
    expect(col!.prov.row!.fields.map((f) => f.name)).toEqual(['id', 'holder', 'card_number', 'cvv', 'expiry']);
  });

  it('the row of a subquery or CTE', () => {
    const sub = output('SELECT row_to_json(s) FROM (SELECT id, card_number FROM cards) s').columns[0]!;
    expect(sub.prov).toMatchObject({ cls: 'pan', row: { as: 'json' } });
    expect(summary(sub.prov.row!.fields)).toEqual([
      ['id', 'cardholder', true],
      ['card_number', 'pan', true],
    ]);
    expect(output('WITH t AS (SELECT cvv FROM cards) SELECT t FROM t').columns[0]!.prov).toMatchObject({ cls: 'sad', row: { as: 'record' } });
  });

  it('a row of a table without card data is a row of class none', () => {
    expect(output('SELECT row_to_json(u) FROM customers u').columns[0]!.prov).toMatchObject({ cls: 'none', row: { as: 'json' } });
  });

  it('ROW(…) is a record of its fields', () => {
    const p = output('SELECT ROW(id, card_number) FROM cards').columns[0]!.prov;
    expect(p).toMatchObject({ cls: 'pan', plain: false, row: { as: 'record' } });
    expect(p.row!.fields.map((f) => f.prov.cls)).toEqual(['cardholder', 'pan']);
  });

  it('a whole row used in an expression is derived from all of it', () => {
    expect(cols('SELECT md5(c::text) FROM cards c')).toEqual([['md5', 'sad', false]]);
  });

  // PostgreSQL 18: row_to_json(c.*) returns {"id":1,"card_number":"4111…","cvv":"123"}, c.*::text and
  // ROW(c.*) the row's text "(1,4111…,123)", all with no table origin in RowDescription.
  it.each([
    'SELECT row_to_json(c.*) FROM cards c',
    'SELECT c.*::text FROM cards c',
    'SELECT ROW(c.*) FROM cards c',
    'SELECT array_agg(c.*) FROM cards c',
    'SELECT md5(cards.*::text) FROM cards',
  ])('%s: t.* inside an expression is the whole row', (sql) => {
    const o = output(sql);
    expect(o.columns).toHaveLength(1);
    expect(effective(o, 0)).toBe('sad');
    expect(o.referenced).toBe('sad');
  });

  it('row_to_json(c.*) can be masked field by field like row_to_json(c)', () => {
    const p = output('SELECT row_to_json(c.*) FROM cards c').columns[0]!.prov;
    expect(p).toMatchObject({ cls: 'sad', row: { as: 'json' } });
    expect(p.row!.fields.map((f) => f.name)).toEqual(['id', 'holder', 'card_number', 'cvv', 'expiry']);
  });
});

describe('* and t.* expansion', () => {
  it.each<[string, string[]]>([
    ['SELECT * FROM cards', ['id', 'holder', 'card_number', 'cvv', 'expiry']],
    ['SELECT c.*, u.email FROM cards c, customers u', ['id', 'holder', 'card_number', 'cvv', 'expiry', 'email']],
    ['SELECT u.*, c.* FROM cards c JOIN customers u ON true', ['id', 'name', 'email', 'id', 'holder', 'card_number', 'cvv', 'expiry']],
    ['SELECT *, 1 AS one FROM customers', ['id', 'name', 'email', 'one']],
    ['SELECT * FROM customers, orders', ['id', 'name', 'email', 'id', 'customer_id', 'total']],
    ['SELECT * FROM (SELECT cvv, id FROM cards) s', ['cvv', 'id']],
    ['SELECT (c).* FROM cards c', ['id', 'holder', 'card_number', 'cvv', 'expiry']],
    ['SELECT * FROM generate_series(1, 3)', ['generate_series']],
    ['SELECT * FROM generate_series(1, 3) AS g(n)', ['n']],
    ['SELECT * FROM unnest(ARRAY[1]) u', ['u']],
  ])('%s → %j', (sql, names) => {
    const o = output(sql);
    expect(o.columns.map((c) => c.name)).toEqual(names);
    expect(o.exact).toBe(true);
  });

  it('* keeps each column\'s class', () => {
    expect(cols('SELECT * FROM cards')).toEqual(CARD_COLUMNS);
  });

  it('a function in FROM without a column list: not exact', () => {
    const o = output('SELECT * FROM some_function()');
    expect(o.exact).toBe(false);
    expect(output("SELECT * FROM json_each('{}')").exact).toBe(false);
  });

  it('* over a table and a function without a column list: not exact, and the function\'s inputs count', () => {
    expect(output('SELECT * FROM customers, some_function()').exact).toBe(false);
    const o = output('SELECT * FROM json_each(row_to_json((SELECT c FROM cards c LIMIT 1)))');
    expect(o.exact).toBe(false);
    expect(o.referenced).toBe('sad');
  });

  it('a function in FROM with a column definition list: its columns, classed by name and arguments', () => {
    const o = output('SELECT * FROM some_function(1) AS f(card_number text, note text)');
    expect(o.exact).toBe(true);
    expect(summary(o.columns)).toEqual([
      ['card_number', 'pan', false],
      ['note', 'none', false],
    ]);
  });

  it('a function in FROM fed card data: its columns are derived from it', () => {
    expect(cols('SELECT x FROM cards c, LATERAL upper(c.cvv) AS x')).toEqual([['x', 'sad', false]]);
  });

  it('TABLESAMPLE: the sampled table\'s columns, classed as the table\'s', () => {
    expect(cols('SELECT lower(token), id FROM vault.secrets TABLESAMPLE BERNOULLI (50)')).toEqual([
      ['lower', 'sad', false],
      ['id', 'cardholder', true],
    ]);
    expect(cols('SELECT * FROM cards c TABLESAMPLE SYSTEM (10) REPEATABLE (1)')).toEqual(CARD_COLUMNS);
  });

  it('XMLTABLE and JSON_TABLE: their columns are derived from what they read', () => {
    const xml = output("SELECT x.v FROM cards c, XMLTABLE('/r' PASSING (c.cvv::xml) COLUMNS v text PATH '.') x");
    expect(effective(xml, 0)).toBe('sad');
    const json = output("SELECT jt.* FROM cards c, JSON_TABLE(to_jsonb(c), '$' COLUMNS (v text PATH '$.cvv')) jt");
    expect(json.columns.length === 0 || effective(json, 0) === 'sad').toBe(true);
    expect(json.exact).toBe(false);
    expect(json.referenced).toBe('sad');
  });

  it('an unknown relation: not exact, and its columns classed by name', () => {
    const o = output('SELECT * FROM mystery');
    expect(o.exact).toBe(false);
    const named = output('SELECT cvv, note FROM mystery');
    expect(named.exact).toBe(false);
    expect(named.columns.map((c) => c.prov.cls)).toEqual(['sad', 'none']);
  });

  it('an unknown column: not exact', () => {
    expect(output('SELECT nosuch FROM customers').exact).toBe(false);
  });
});

describe('RETURNING', () => {
  it.each<[string, Col[]]>([
    ['DELETE FROM cards WHERE id = 1 RETURNING card_number, cvv', [['card_number', 'pan', true], ['cvv', 'sad', true]]],
    ["UPDATE cards SET holder = 'x' RETURNING lower(card_number)", [['lower', 'pan', false]]],
    ['INSERT INTO cards (id) VALUES (1) RETURNING *', CARD_COLUMNS],
    ['DELETE FROM customers u USING cards c WHERE c.id = u.id RETURNING c.cvv, u.name', [['cvv', 'sad', true], ['name', 'none', true]]],
    ['UPDATE customers u SET name = 1 FROM cards c WHERE c.id = u.id RETURNING c.card_number', [['card_number', 'pan', true]]],
  ])('%s', (sql, expected) => expect(cols(sql)).toEqual(expected));

  it('without RETURNING: no rows', () => {
    expect(analyze('DELETE FROM cards')).toBeUndefined();
    expect(analyze("UPDATE cards SET holder = 'x'")).toBeUndefined();
  });

  it('what a DML statement writes counts as read', () => {
    expect(output("UPDATE customers u SET name = c.cvv FROM cards c WHERE c.id = u.id RETURNING u.id").referenced).toBe('sad');
    expect(output('INSERT INTO customers (id, name) SELECT id, cvv FROM cards RETURNING id').referenced).toBe('sad');
  });

  // PostgreSQL returns the new value of an assigned column (INSERT … SELECT cvv … RETURNING name returns
  // the CVV), and RowDescription names the target column as its origin: the class comes from what was
  // assigned (and mask-plan.ts takes the stricter of the tree and the server).
  it('a RETURNING column assigned in the same statement takes the class of what was assigned', () => {
    expect(effective(output('INSERT INTO customers (id, name) SELECT id, cvv FROM cards RETURNING name'), 0)).toBe('sad');
    expect(effective(output('UPDATE customers u SET name = reverse(c.card_number) FROM cards c WHERE c.id = u.id RETURNING u.name'), 0)).toBe('pan');
  });

  it('MERGE … RETURNING (PostgreSQL 17+): rows with the provenance of each expression', () => {
    const o = analyze("MERGE INTO customers u USING cards c ON c.id = u.id WHEN MATCHED THEN UPDATE SET name = 'x' RETURNING c.cvv || '' AS x, u.email");
    expect(o).toBeDefined();
    expect(summary(o!.columns)).toEqual([
      ['x', 'sad', false],
      ['email', 'none', true],
    ]);
    expect(o!.referenced).toBe('sad');
  });

  it('MERGE without RETURNING: no rows; what its WHEN clauses write counts as read', () => {
    expect(analyze('MERGE INTO customers u USING cards c ON c.id = u.id WHEN MATCHED THEN UPDATE SET name = c.cvv')).toBeUndefined();
    const o = output('MERGE INTO customers u USING cards c ON c.id = u.id WHEN NOT MATCHED THEN INSERT (id, name) VALUES (c.id, c.card_number) RETURNING u.id');
    expect(o.referenced).toBe('pan');
  });
});

describe('COPY', () => {
  it('a table: every column in order', () => {
    expect(cols('COPY cards TO STDOUT')).toEqual(CARD_COLUMNS);
  });

  it('a column list: those columns in that order', () => {
    expect(cols('COPY cards (cvv, id) TO STDOUT')).toEqual([
      ['cvv', 'sad', true],
      ['id', 'cardholder', true],
    ]);
  });

  it('a query', () => {
    expect(cols("COPY (SELECT lower(card_number) AS l, id FROM cards) TO STDOUT WITH (FORMAT csv)")).toEqual([
      ['l', 'pan', false],
      ['id', 'cardholder', true],
    ]);
  });

  it('COPY FROM returns no rows', () => {
    expect(analyze('COPY cards FROM STDIN')).toBeUndefined();
  });

  it('an unknown table: not exact', () => {
    expect(output('COPY mystery TO STDOUT').exact).toBe(false);
    expect(output('COPY mystery (cvv) TO STDOUT').exact).toBe(false);
  });
});

describe('cursors and other statements', () => {
  it('DECLARE: the output of its query; FETCH: that of the cursor it names', () => {
    expect(cols('DECLARE c1 CURSOR FOR SELECT card_number FROM cards')).toEqual([['card_number', 'pan', true]]);
    expect(cols('FETCH 10 FROM card_cursor')).toEqual([
      ['cvv', 'sad', true],
      ['id', 'cardholder', true],
    ]);
    expect(analyze('FETCH ALL FROM unknown_cursor')).toBeUndefined();
  });

  it.each(['EXPLAIN SELECT cvv FROM cards', 'SHOW search_path', 'SET work_mem = 1', 'BEGIN'])('%s: no rows Vigil knows of', (sql) => {
    expect(analyze(sql)).toBeUndefined();
  });
});

describe('limits of the analysis', () => {
  it('nesting deeper than the analysis goes: not exact, and what is below counts as card-security data', () => {
    let sql = 'SELECT cvv FROM cards';
    for (let i = 0; i < 70; i++) sql = `SELECT (${sql}) AS x`;
    const o = output(sql);
    expect(o.exact).toBe(false);
    expect(effective(o, 0)).toBe('sad');
  });

  it('nested WITH RECURSIVE lists: the work is bounded, and what was not read counts as card-security data', () => {
    let sql = 'SELECT cvv AS n FROM cards';
    for (let i = 0; i < 22; i++) sql = `WITH RECURSIVE r${i}(n) AS (SELECT '1'::text UNION ALL (${sql})) SELECT n FROM r${i}`;
    const started = performance.now();
    const o = output(sql);
    // Unbounded, this took about 26 s (the gateway's event loop held all that time).
    expect(performance.now() - started).toBeLessThan(5000);
    expect(o.exact).toBe(false);
    expect(effective(o, 0)).toBe('sad');
  });

  it('nesting within the limit is followed exactly', () => {
    let sql = 'SELECT cvv FROM cards';
    for (let i = 0; i < 30; i++) sql = `SELECT (${sql}) AS x`;
    const o = output(sql);
    expect(o.exact).toBe(true);
    expect(o.columns[0]!.prov.cls).toBe('sad');
  });
});

describe('referenced: what the statement reads anywhere', () => {
  it.each<[string, ColumnClass]>([
    ["SELECT id FROM cards WHERE cvv = '123'", 'sad'],
    ["SELECT name FROM customers WHERE EXISTS (SELECT 1 FROM cards WHERE cvv = '1')", 'sad'],
    ['SELECT name FROM customers ORDER BY (SELECT max(card_number) FROM cards)', 'pan'],
    ['SELECT count(*) FROM cards GROUP BY cvv', 'sad'],
    ['SELECT u.name FROM customers u JOIN cards c ON c.cvv = u.name', 'sad'],
    ['SELECT DISTINCT ON (card_number) name FROM customers, cards', 'pan'],
    ['SELECT count(*) FROM cards HAVING max(cvv) > $1', 'sad'],
    ['SELECT name FROM customers', 'none'],
    ['SELECT count(*) FROM cards', 'none'],
    ['SELECT * FROM cards', 'sad'],
  ])('%s → %s', (sql, expected) => expect(output(sql).referenced).toBe(expected));

  it('a filter does not change the class of the columns returned', () => {
    expect(cols("SELECT id FROM cards WHERE cvv = '123'")).toEqual([['id', 'cardholder', true]]);
  });
});
