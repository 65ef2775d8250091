/**
 * Attack class 4 — masking follows the label, not the data.
 *
 * The masker plans per RowDescription column: by column NAME for card-security data, by scanning values
 * for a PAN-shaped digit string. PostgreSQL names a column after an alias or a function ("x", "lower",
 * "?column?"), keeps the base table's oid/attnum only for plain column references (through aliases,
 * subqueries and CTEs; a view column reports the VIEW's oid), and any expression can reshape a PAN so that no
 * scanner sees one (glued letters, padding, reversal, hex, a float, money, two halves in two columns…).
 *
 * Expected: a value derived from a card-security column — or a derived value of a PAN column — is
 * `[REDACTED]` for text types, the JSON string "[REDACTED]" for json/jsonb, NULL for every other type; a
 * plain PAN column (aliased, through subqueries, CTEs, views) is masked 6+4; row_to_json/to_json/to_jsonb
 * of a whole row stay valid JSON with the PAN field masked 6+4 and the CVV field "[REDACTED]". No clear card
 * data reaches the client, errors, notices, notifications, or the evidence.
 */
import { describe, expect, it } from 'vitest';
import type pg from 'pg';
import type { EvidenceEvent } from '../../shared/evidence/events.ts';
import { toServer as T } from '../../appliance/protocols/postgres/wire/index.ts';
import { Adversary, RO, RW, TEST_CVVS, TEST_PANS, attackSuite, cardLeaks, configTest, eventsText, policies, useAdversary, type PgClient } from './harness.ts';

const PROC = { repository: 'acme-proc/x' };
const adv: Adversary = useAdversary({
  policies: policies({
    more: `  - name: proc
    match: { subjects: ['repo:acme-proc/*'] }
    targets: [payments]
    statements: { read: allow, session: allow, transaction: allow, resource: allow, procedural: allow, copy-out: allow, default: block }
`,
  }),
  targetExtra: "    cardholderData: { pan: ['public.customers.card_as_number'] } # vigil-new\n",
  beforeStart: (pg) => {
    pg.psql('CREATE VIEW cust_v AS SELECT id, card_number AS num, cvv AS code FROM customers; GRANT SELECT ON cust_v TO svc_reporting;', { database: 'payments' });
    // What autovacuum does on any real database: the planner's statistics now hold sampled column values.
    pg.psql('ANALYZE customers', { database: 'payments' });
  },
});
const { attack, evidenceSuite } = attackSuite(adv);

const MASKED = ['411111******1111', '555555******4444', '378282*****0005'];
/** A CVV standing alone in a text (not inside a longer digit run: `(1,…,123,…)`, `{"a" : "123"}`), or as bytea hex. */
const cvvIn = (s: unknown) =>
  typeof s === 'string' && TEST_CVVS.some((c) => new RegExp(`(^|[^0-9])${c}([^0-9]|$)`).test(s) || s.includes(`\\x${Buffer.from(c).toString('hex')}`));

type Expect = 'redacted' | 'json-redacted' | 'null' | 'masked' | 'row-json' | 'no-cvv';
interface Case {
  name: string;
  sql: string;
  expect: Expect;
  binary?: boolean;
  /** Derived from the CVV: also scan the values (and the recording) for a standalone CVV. */
  cvv?: boolean;
}

const CASES: Case[] = [
  // derived from the card-security column
  { name: 'cvv AS x', sql: 'SELECT cvv AS x FROM customers ORDER BY id', expect: 'redacted', cvv: true },
  { name: "cvv||''", sql: "SELECT cvv||'' FROM customers ORDER BY id", expect: 'redacted', cvv: true },
  { name: 'cvv::int (keeps the name cvv)', sql: 'SELECT cvv::int FROM customers ORDER BY id', expect: 'null', cvv: true },
  { name: 'cvv::int AS n', sql: 'SELECT cvv::int AS n FROM customers ORDER BY id', expect: 'null', cvv: true },
  { name: 'lower(cvv)', sql: 'SELECT lower(cvv) FROM customers ORDER BY id', expect: 'redacted', cvv: true },
  { name: 'cvv::bytea', sql: 'SELECT cvv::bytea AS b FROM customers ORDER BY id', expect: 'null', cvv: true },
  { name: "json_build_object('a', cvv)", sql: "SELECT json_build_object('a', cvv) FROM customers ORDER BY id", expect: 'json-redacted', cvv: true },
  { name: 'ROW(cvv, id)', sql: 'SELECT ROW(cvv, id) FROM customers ORDER BY id', expect: 'null', cvv: true },
  { name: 'SELECT c FROM customers c', sql: 'SELECT c FROM customers c ORDER BY id', expect: 'null', cvv: true },
  { name: 'row_to_json(c)', sql: 'SELECT row_to_json(c) FROM customers c ORDER BY id', expect: 'row-json', cvv: true },
  { name: 'to_json(c)', sql: 'SELECT to_json(c) FROM customers c ORDER BY id', expect: 'row-json', cvv: true },
  { name: 'to_jsonb(c)', sql: 'SELECT to_jsonb(c) FROM customers c ORDER BY id', expect: 'row-json', cvv: true },
  // attribute notation: t.f is f(t)
  { name: 'c.row_to_json (attribute notation)', sql: 'SELECT c.row_to_json FROM customers c ORDER BY id', expect: 'row-json', cvv: true },
  { name: 'customers.to_jsonb (attribute notation, no alias)', sql: 'SELECT customers.to_jsonb FROM customers ORDER BY id', expect: 'row-json', cvv: true },
  { name: 'x.row_to_json of a subquery renaming cvv', sql: 'SELECT x.row_to_json FROM (SELECT id, cvv AS k FROM customers) x ORDER BY x.id', expect: 'no-cvv', cvv: true },
  { name: 'subquery alias of cvv', sql: 'SELECT x FROM (SELECT cvv AS x FROM customers ORDER BY id) s', expect: 'redacted', cvv: true },
  { name: 'CTE alias of cvv', sql: 'WITH w AS (SELECT id, cvv AS x FROM customers) SELECT x FROM w ORDER BY id', expect: 'redacted', cvv: true },
  { name: 'scalar subquery of cvv', sql: 'SELECT (SELECT cvv FROM customers WHERE id = 1) AS v', expect: 'redacted', cvv: true },
  { name: 'UNION ALL named after note, carrying cvv', sql: 'SELECT note FROM customers UNION ALL SELECT cvv FROM customers', expect: 'no-cvv', cvv: true },
  { name: 'string_agg(cvv)', sql: "SELECT string_agg(cvv, ',' ORDER BY id) FROM customers", expect: 'redacted', cvv: true },
  { name: 'view column code (= cvv)', sql: 'SELECT code FROM cust_v ORDER BY id', expect: 'redacted', cvv: true },
  { name: 'cvv AS x, binary', sql: 'SELECT cvv AS x FROM customers ORDER BY id', expect: 'redacted', binary: true, cvv: true },
  // the PAN column, plain (masked 6+4) and derived ([REDACTED] / NULL)
  { name: 'view column num (= card_number)', sql: 'SELECT num FROM cust_v ORDER BY id', expect: 'masked' },
  { name: 'card_number AS x', sql: 'SELECT card_number AS x FROM customers ORDER BY id', expect: 'masked' },
  { name: 'card_number AS x, binary', sql: 'SELECT card_number AS x FROM customers ORDER BY id', expect: 'masked', binary: true },
  { name: "card_number||''", sql: "SELECT card_number||'' FROM customers ORDER BY id", expect: 'redacted' },
  { name: "'x'||card_number", sql: "SELECT 'x'||card_number FROM customers ORDER BY id", expect: 'redacted' },
  { name: "lpad(card_number,20,'0')", sql: "SELECT lpad(card_number,20,'0') FROM customers ORDER BY id", expect: 'redacted' },
  { name: "card_number||'.5'", sql: "SELECT card_number||'.5' FROM customers ORDER BY id", expect: 'redacted' },
  { name: 'reverse(card_number)', sql: 'SELECT reverse(card_number) FROM customers ORDER BY id', expect: 'redacted' },
  { name: 'hex of the ASCII', sql: "SELECT encode(convert_to(card_number,'UTF8'),'hex') FROM customers ORDER BY id", expect: 'redacted' },
  { name: 'md5(card_number)', sql: 'SELECT md5(card_number) FROM customers ORDER BY id', expect: 'redacted' },
  { name: 'translate digits to letters', sql: "SELECT translate(card_number,'0123456789','abcdefghij') FROM customers ORDER BY id", expect: 'redacted' },
  { name: 'digits spaced one by one', sql: "SELECT regexp_replace(card_number, '(\\d)', '\\1 ', 'g') AS s FROM customers ORDER BY id", expect: 'redacted' },
  { name: 'card_as_number::float8', sql: 'SELECT card_as_number::float8 FROM customers ORDER BY id', expect: 'null' },
  { name: 'card_as_number::float8, binary', sql: 'SELECT card_as_number::float8 FROM customers ORDER BY id', expect: 'null', binary: true },
  { name: 'card_as_number::numeric, binary', sql: 'SELECT card_as_number::numeric FROM customers ORDER BY id', expect: 'null', binary: true },
  { name: 'card_as_number::money', sql: 'SELECT card_as_number::money FROM customers ORDER BY id', expect: 'null' },
  { name: 'to_hex(card_as_number)', sql: 'SELECT to_hex(card_as_number) FROM customers ORDER BY id', expect: 'redacted' },
  { name: 'array[card_number]', sql: 'SELECT array[card_number] FROM customers ORDER BY id', expect: 'null' },
  { name: 'json_agg(card_number)', sql: 'SELECT json_agg(card_number ORDER BY id) FROM customers', expect: 'json-redacted' },
  { name: 'card_as_number (declared in cardholderData), text', sql: 'SELECT card_as_number FROM customers ORDER BY id', expect: 'masked' },
  { name: 'card_as_number (declared in cardholderData), binary', sql: 'SELECT card_as_number FROM customers ORDER BY id', expect: 'null', binary: true },
];

const raw = { getTypeParser: () => (v: string | Buffer) => v };

async function query(c: PgClient, k: Case): Promise<(string | Buffer | null)[][]> {
  const r = await c.q({ text: k.sql, rowMode: 'array', types: raw, ...(k.binary ? { binary: true, queryMode: 'extended' } : {}) } as pg.QueryConfig);
  expect(r.error, 'the query runs (the gateway may rewrite values, not refuse the read)').toBeUndefined();
  return (r.rows ?? []) as unknown as (string | Buffer | null)[][];
}

const text = (v: string | Buffer | null) => (v === null ? null : Buffer.isBuffer(v) ? v.toString('utf8') : v);

function checkValues(k: Case, rows: (string | Buffer | null)[][]): void {
  const values = rows.map((r) => text(r[0]!));
  expect(values.length).toBeGreaterThan(0);
  if (k.cvv) expect(values.filter(cvvIn), 'a clear CVV reached the client').toEqual([]);
  switch (k.expect) {
    case 'redacted':
      // Binary text may carry the marker or NULL.
      if (k.binary) for (const v of values) expect(v === null || v === '[REDACTED]', `binary value ${v}`).toBe(true);
      else expect(values).toEqual(values.map(() => '[REDACTED]'));
      break;
    case 'json-redacted':
      expect(values).toEqual(values.map(() => '"[REDACTED]"'));
      break;
    case 'null':
      expect(values).toEqual(values.map(() => null));
      break;
    case 'masked':
      expect(values).toEqual(MASKED);
      break;
    case 'row-json':
      values.forEach((v, i) => {
        const row = JSON.parse(String(v)) as Record<string, unknown>;
        expect(row['card_number']).toBe(MASKED[i]);
        expect(row['cvv']).toBe('[REDACTED]');
      });
      break;
    case 'no-cvv':
      break;
  }
}

const recordedClean = (cvv: boolean) => (evs: EvidenceEvent[]) => {
  expect(cardLeaks(eventsText(evs)), 'clear card data in the recording').toEqual([]);
  if (cvv) {
    const rows = evs.filter((e) => e.type === 'result').flatMap((e) => ((e.rows as unknown[][] | undefined) ?? []).flat());
    expect(rows.filter(cvvIn), 'a clear CVV in the recorded rows').toEqual([]);
  }
};

describe('derived values through node-postgres', () => {
  configTest(adv);

  attack('proof: PostgreSQL returns every expression in clear', async () => {
    const d = await adv.directClient();
    const raw1 = await adv.direct();
    for (const k of CASES) {
      let vals: (string | Buffer | null)[];
      if (k.binary) {
        // node-postgres decodes even binary values as UTF-8 strings (lossy): read the exact bytes.
        const m = await raw1.exchange([T.parse('', k.sql), T.bind({ resultFormats: [1] }), T.execute(), T.sync()]);
        vals = m.flatMap((x) => (x.type === 'D' ? [x.values[0] ? Buffer.from(x.values[0]) : null] : []));
      } else {
        const r = await d.q({ text: k.sql, rowMode: 'array', types: raw } as pg.QueryConfig);
        expect(r.error, k.name).toBeUndefined();
        vals = (r.rows as unknown as (string | Buffer | null)[][]).map((x) => x[0]!);
      }
      expect(vals.length, k.name).toBeGreaterThan(0);
      // Every case carries a clear PAN form or a clear CVV on the server.
      expect(cardLeaks(vals).length > 0 || vals.map(text).some(cvvIn), `${k.name}: ${JSON.stringify(vals.map(text))}`).toBe(true);
    }
  });

  for (const k of CASES) {
    const name = k.name;
    attack(
      name,
      async () => {
        // node-postgres decodes binary values as bytes only with binary set on the client.
        const c = await adv.client(name, RO, k.binary ? { binary: true } : {});
        const rows = await query(c, k);
        expect(cardLeaks([c.received(), rows]), 'clear card data reached the client').toEqual([]);
        checkValues(k, rows);
      },
      recordedClean(Boolean(k.cvv)),
    );
  }

  attack(
    'two halves of the PAN in two columns',
    async () => {
      const c = await adv.client('two halves of the PAN in two columns', RO);
      const r = await c.q({ text: 'SELECT substr(card_number, 1, 8) AS a, substr(card_number, 9) AS b FROM customers ORDER BY id', rowMode: 'array', types: raw } as pg.QueryConfig);
      const rows = (r.rows ?? []) as unknown as string[][];
      expect(rows.map(([a, b]) => `${a}${b}`).filter((s) => TEST_PANS.includes(s)), 'the client can glue the halves back').toEqual([]);
      for (const [a, b] of rows) expect([a, b]).toEqual(['[REDACTED]', '[REDACTED]']);
    },
    (evs) => {
      recordedClean(false)(evs);
      const rows = evs.filter((e) => e.type === 'result').flatMap((e) => (e.rows as string[][] | undefined) ?? []);
      expect(rows.map((r) => r.join('')).filter((s) => TEST_PANS.includes(s)), 'the recorded halves glue back into a PAN').toEqual([]);
    },
  );
});

describe('RETURNING shows what was written, not what the column is called', () => {
  const WRITES = [
    { name: 'INSERT … SELECT cvv … RETURNING', sql: 'INSERT INTO audit_scratch (v) SELECT cvv FROM customers RETURNING v' },
    { name: 'UPDATE … SET v = card_number … RETURNING', sql: "UPDATE audit_scratch SET v = c.card_number || '' FROM customers c WHERE c.id = audit_scratch.id RETURNING audit_scratch.v" },
  ];
  for (const k of WRITES) {
    attack(
      k.name,
      async () => {
        const c = await adv.client(k.name, RW);
        const r = await c.q(k.sql);
        const values = (r.rows ?? []).map((row) => String(Object.values(row)[0]));
        expect(values.length, 'rows were returned').toBeGreaterThan(0);
        expect(values.filter(cvvIn), 'a clear CVV reached the client').toEqual([]);
        expect(cardLeaks([values])).toEqual([]);
      },
      (evs) => expect(cardLeaks([eventsText(evs)])).toEqual([]),
    );
  }
});

describe('COPY TO STDOUT follows the data too', () => {
  const COPIES = [
    { name: 'COPY customers TO STDOUT', sql: 'COPY customers TO STDOUT' },
    { name: 'COPY of a renamed CVV, CSV with header', sql: 'COPY (SELECT id, cvv AS x, card_number AS y FROM customers) TO STDOUT WITH (FORMAT csv, HEADER)' },
    { name: 'COPY of one column list, custom delimiter', sql: "COPY customers (cvv, card_number) TO STDOUT WITH (DELIMITER '|')" },
    { name: 'COPY of a derived PAN', sql: "COPY (SELECT lpad(card_number, 20, '0') FROM customers) TO STDOUT" },
  ];
  for (const k of COPIES) {
    attack(
      k.name,
      async () => {
        const c = await adv.raw(k.name, PROC);
        const m = await c.exchange(T.query(k.sql));
        const lines = m.filter((x) => x.type === 'd').map((x) => Buffer.from((x as { data: Uint8Array }).data).toString('utf8'));
        expect(lines.length, 'the rows came through').toBeGreaterThanOrEqual(3);
        expect(cardLeaks([lines])).toEqual([]);
        expect(lines.filter((l) => /(^|[^0-9])(123|456|7890)([^0-9]|$)/.test(l.replace(/^\d+\t/, ''))), 'a clear CVV reached the client').toEqual([]);
      },
      (evs) => expect(cardLeaks([eventsText(evs)])).toEqual([]),
    );
  }
});

describe('card data in errors, notifications and notices', () => {
  attack(
    "an error message echoing ('x'||card_number)::int",
    async () => {
      const d = await adv.directClient();
      const proof = await d.q("SELECT ('x'||card_number)::int FROM customers ORDER BY id");
      expect(proof.error?.message, 'PostgreSQL echoes the value').toContain('x4111111111111111');
      const c = await adv.client("an error message echoing ('x'||card_number)::int", RO);
      const r = await c.q("SELECT ('x'||card_number)::int FROM customers ORDER BY id");
      expect(r.error?.code).toBe('22P02');
      expect(cardLeaks([r.error?.message, r.error?.detail, c.received()])).toEqual([]);
    },
    recordedClean(false),
  );

  // The server quotes the value it could not convert: a CVV, or a PAN in a form no pattern recognises.
  const QUOTING: { name: string; sql: string; code: string; extended?: boolean }[] = [
    { name: "(cvv||'x')::int", sql: "SELECT (cvv||'x')::int FROM customers ORDER BY id", code: '22P02' },
    { name: 'cvv::date', sql: 'SELECT cvv::date FROM customers ORDER BY id', code: '22007' },
    { name: 'cvv::date, extended protocol', sql: 'SELECT cvv::date FROM customers ORDER BY id', code: '22007', extended: true },
    { name: "the CVV only in WHERE: (cvv||'q')::int = 1", sql: "SELECT id FROM customers WHERE (cvv||'q')::int = 1", code: '22P02' },
    { name: "('x'||reverse(card_number))::int", sql: "SELECT ('x'||reverse(card_number))::int FROM customers ORDER BY id", code: '22P02' },
    { name: 'md5(card_number)::int', sql: 'SELECT md5(card_number)::int FROM customers ORDER BY id', code: '22P02' },
    { name: "translate(card_number, digits, letters)::int", sql: "SELECT translate(card_number,'0123456789','abcdefghij')::int FROM customers ORDER BY id", code: '22P02' },
    { name: 'EXPLAIN ANALYZE of cvv::date', sql: 'EXPLAIN ANALYZE SELECT cvv::date FROM customers', code: '22007' },
    { name: 'a subquery in LIMIT', sql: "SELECT id FROM customers LIMIT (SELECT (cvv||'x')::int FROM customers ORDER BY id LIMIT 1)", code: '22P02' },
    { name: 'a subquery in OFFSET of a UNION', sql: "SELECT 1 UNION SELECT 2 OFFSET (SELECT (cvv||'x')::int FROM customers ORDER BY id LIMIT 1)", code: '22P02' },
  ];
  for (const k of QUOTING) {
    const name = `an error quoting a derived value: ${k.name}`;
    attack(
      name,
      async () => {
        const d = await adv.directClient();
        const proof = await d.q(k.sql);
        expect(cardLeaks([proof.error?.message]).length > 0 || cvvIn(proof.error?.message), `PostgreSQL quotes the value: ${proof.error?.message}`).toBe(true);
        const c = await adv.client(name, RO);
        const r = await c.q(k.extended ? { text: k.sql, values: [] , queryMode: 'extended' } as pg.QueryConfig : k.sql);
        expect(r.error?.code, 'the client still gets the server\'s SQLSTATE').toBe(k.code);
        expect(r.error?.message).toMatch(/^\[REDACTED by Vigil: SQLSTATE \w+ raised by a statement that reads card-security or PAN columns/);
        expect(cardLeaks([r.error?.message, r.error?.detail, c.received()])).toEqual([]);
        expect(cvvIn(r.error?.message) || cvvIn(c.received().toString('latin1').replace(/\x00/g, ' ')), 'a clear CVV in the error').toBe(false);
        await c.c.end().catch(() => undefined);
      },
      (evs) => {
        recordedClean(false)(evs);
        const errors = evs.filter((e) => e.type === 'error' && e.code === k.code);
        expect(errors.length, 'the error is recorded with its SQLSTATE, tied to the command').toBe(1);
        expect(typeof errors[0]!.command).toBe('number');
        expect(String(errors[0]!.message)).toMatch(/^\[REDACTED by Vigil/);
        expect(evs.filter((e) => (e.type === 'error' || e.type === 'notice') && (cvvIn(e.message) || cvvIn(e.detail))), 'a clear CVV in a recorded error').toEqual([]);
      },
    );
  }

  attack(
    'an error quoting a CVV in INSERT … ON CONFLICT DO UPDATE (write-allowed bot)',
    async () => {
      const name = 'an error quoting a CVV in INSERT … ON CONFLICT DO UPDATE (write-allowed bot)';
      const sql = "INSERT INTO accounts (id, status) VALUES (1, 'open') ON CONFLICT (id) DO UPDATE SET balance = (SELECT (cvv||'x')::numeric FROM customers WHERE id = 1)";
      const d = await adv.directClient();
      expect((await d.q(sql)).error?.message, 'PostgreSQL quotes the CVV').toMatch(/123x/);
      await d.c.end();
      const c = await adv.client(name, RW);
      const r = await c.q(sql);
      expect(r.error?.code).toBe('22P02');
      expect(r.error?.message).not.toMatch(/123/);
      await c.c.end().catch(() => undefined);
    },
    (evs) => expect(evs.filter((e) => e.type === 'error' && cvvIn(e.message))).toEqual([]),
  );

  attack(
    'an error of a statement reading no card data keeps its message',
    async () => {
      const c = await adv.client('an error of a statement reading no card data keeps its message', RO);
      const r = await c.q("SELECT (status||'x')::int FROM accounts WHERE id = 1");
      expect([r.error?.code, r.error?.message]).toEqual(['22P02', 'invalid input syntax for type integer: "openx"']);
      await c.c.end().catch(() => undefined);
    },
    (evs) => expect(evs.filter((e) => e.type === 'error').map((e) => e.message)).toEqual(['invalid input syntax for type integer: "openx"']),
  );

  attack(
    "a NOTIFY payload carrying glued card numbers that are not from a card column (strict scan)",
    async () => {
      const c = await adv.client("a NOTIFY payload carrying glued card numbers that are not from a card column (strict scan)", PROC);
      await c.q('LISTEN c');
      const r = await c.q(`SELECT pg_notify('c', 'x'||v) FROM (VALUES ('4111111111111111'), ('5555555555554444'), ('378282246310005')) t(v)`);
      expect(r.error).toBeUndefined();
      await c.q('SELECT 1');
      expect(c.notifications.length, 'the notifications arrive').toBe(3);
      expect(cardLeaks([c.notifications.map((n) => n.payload), c.received()])).toEqual([]);
    },
    recordedClean(false),
  );

  attack(
    'RAISE NOTICE of derived card data in a DO block',
    async () => {
      const c = await adv.client('RAISE NOTICE of derived card data in a DO block', PROC);
      const r = await c.q(`DO $$ DECLARE r record; BEGIN
        FOR r IN SELECT card_number, cvv FROM customers ORDER BY id LOOP
          RAISE NOTICE 'pan=% rev=% cvv=%', 'x' || r.card_number, reverse(r.card_number), r.cvv;
        END LOOP; END $$`);
      expect(r.error).toBeUndefined();
      expect(c.notices.length).toBe(3);
      const texts = c.notices.map((n) => n.message ?? '');
      expect(cardLeaks([texts, c.received()])).toEqual([]);
      expect(texts.filter((t) => /cvv=(123|456|7890)\b/.test(t)), 'a clear CVV in a notice').toEqual([]);
    },
    (evs) => {
      recordedClean(false)(evs);
      expect(evs.filter((e) => e.type === 'notice' && /cvv=(123|456|7890)\b/.test(String(e.message))), 'a clear CVV in a recorded notice').toEqual([]);
    },
  );
});

describe('functions that run SQL, read a relation or a cursor: their output derives from what that reads', () => {
  // query_to_xml, ts_stat… run SQL given as text; table_to_xml reads a relation named by a string;
  // cursor_to_xml fetches from a cursor. Nothing in the outer statement names a card column.
  const CASES: { name: string; sql: string[]; who?: { repository: string } }[] = [
    { name: 'query_to_xml of a CVV', sql: ["SELECT query_to_xml('SELECT cvv FROM customers', true, true, '')"] },
    { name: 'query_to_xml of a reversed PAN', sql: ["SELECT query_to_xml('SELECT reverse(card_number) AS r FROM customers', true, true, '')"] },
    { name: 'query_to_xml, named notation', sql: ["SELECT query_to_xml(query => 'SELECT cvv AS c FROM customers', nulls => true, tableforest => true, targetns => '')"] },
    { name: 'table_to_xml of the card table', sql: ["SELECT table_to_xml('public.customers', true, true, '')"] },
    { name: 'table_to_xml through a view', sql: ["SELECT table_to_xml('cust_v'::regclass, true, true, '')"] },
    { name: 'cursor_to_xml of a DECLAREd cursor', sql: ['BEGIN', 'DECLARE k2 CURSOR FOR SELECT reverse(card_number) AS r, cvv FROM customers', "SELECT cursor_to_xml('k2', 10, true, true, '')", 'ROLLBACK'] },
    { name: 'ts_stat over the CVVs, in FROM', sql: ["SELECT * FROM ts_stat('SELECT to_tsvector(''simple'', cvv) FROM customers')"] },
    { name: 'ts_stat over reversed PANs', sql: ["SELECT word FROM ts_stat('SELECT to_tsvector(''simple'', reverse(card_number)) FROM customers')"] },
    { name: 'query_to_xml whose SQL errors with the CVV', sql: ["SELECT query_to_xml('SELECT cvv::date FROM customers', true, true, '')"] },
  ];
  const texts = (rows: unknown[] | undefined) => JSON.stringify(rows ?? []);
  for (const k of CASES) {
    attack(
      k.name,
      async () => {
        const d = await adv.directClient();
        const direct: string[] = [];
        for (const sql of k.sql) {
          const r = await d.q(sql);
          direct.push(r.error ? r.error.message : texts(r.rows));
        }
        expect(cardLeaks(direct).length > 0 || direct.some((t) => /(>|"|\s)(123|456|7890)(<|"|\s)/.test(t)), `directly the card data comes back: ${direct.join(' ').slice(0, 200)}`).toBe(true);
        await d.c.end();
        const c = await adv.client(k.name, RO);
        const got: string[] = [];
        for (const sql of k.sql) {
          const r = await c.q(sql);
          got.push(r.error ? `${r.error.code} ${r.error.message}` : texts(r.rows));
        }
        expect(cardLeaks([got, c.received()])).toEqual([]);
        expect(got.filter((t) => /(>|"|\s)(123|456|7890)(<|"|\s)/.test(t)), 'a clear CVV reached the client').toEqual([]);
        await c.c.end().catch(() => undefined);
      },
      (evs) => {
        recordedClean(true)(evs);
        expect(evs.filter((e) => (e.type === 'error' || e.type === 'notice') && cvvIn(e.message)), 'a clear CVV in a recorded error').toEqual([]);
      },
    );
  }
});

describe('the catalog\'s copies of column values: planner statistics, other sessions\' SQL', () => {
  const CVV_ANYWHERE = /(^|[^0-9])(123|456|7890)([^0-9]|$)/;
  const STATS: { name: string; sql: string }[] = [
    { name: 'pg_stats histogram_bounds and most_common_vals', sql: "SELECT attname, most_common_vals::text, histogram_bounds::text FROM pg_stats WHERE tablename = 'customers' AND attname IN ('cvv', 'card_number')" },
    { name: 'pg_catalog.pg_stats through an alias and a cast', sql: "SELECT s.histogram_bounds::text::text[] AS h FROM pg_catalog.pg_stats s WHERE s.attname = 'cvv'" },
    { name: 'pg_stats in a subquery, array_to_string', sql: "SELECT array_to_string(h::text::text[], '|') FROM (SELECT histogram_bounds AS h FROM pg_stats WHERE attname = 'cvv') x" },
  ];
  for (const k of STATS) {
    attack(
      k.name,
      async () => {
        const d = await adv.directClient();
        const proof = await d.q({ text: k.sql, rowMode: 'array', types: raw } as pg.QueryConfig);
        expect(CVV_ANYWHERE.test(JSON.stringify(proof.rows)), `directly the statistics hold the CVVs: ${JSON.stringify(proof.rows)}`).toBe(true);
        await d.c.end();
        const c = await adv.client(k.name, RO);
        const r = await c.q({ text: k.sql, rowMode: 'array', types: raw } as pg.QueryConfig);
        expect(r.error).toBeUndefined();
        expect(JSON.stringify(r.rows).replace(/"(cvv|card_number)"/g, ''), 'a clear CVV from the statistics').not.toMatch(CVV_ANYWHERE);
        expect(cardLeaks([r.rows, c.received()])).toEqual([]);
        await c.c.end().catch(() => undefined);
      },
      recordedClean(true),
    );
  }

  for (const [name, sql] of [
    ["pg_stat_activity shows another session's statement with a CVV literal", "SELECT query FROM pg_stat_activity WHERE query LIKE '%security code%' AND pid <> pg_backend_pid()"],
    ['pg_stat_get_activity() called directly', "SELECT a.query FROM pg_stat_get_activity(NULL) a WHERE a.query LIKE '%security code%' AND a.pid <> pg_backend_pid()"],
  ] as const) attack(
    name,
    async () => {
      // Every Vigil session of a target logs in as the same role: pg_stat_activity shows their SQL to each other.
      const other = await adv.directClient();
      const running = other.q("SELECT pg_sleep(2), 'security code 456' AS note");
      await new Promise((r) => setTimeout(r, 300));
      const d = await adv.directClient();
      const proof = await d.q(sql);
      expect(JSON.stringify(proof.rows), 'directly, the other session\'s SQL is visible').toMatch(/security code 456/);
      await d.c.end();
      const c = await adv.client(name, RO);
      const r = await c.q({ text: sql, rowMode: 'array', types: raw } as pg.QueryConfig);
      await running;
      await other.c.end();
      expect(r.error).toBeUndefined();
      expect(r.rows?.length, 'the row is there').toBeGreaterThanOrEqual(1);
      expect(JSON.stringify(r.rows)).not.toMatch(/456/);
      await c.c.end().catch(() => undefined);
    },
    (evs) => expect(JSON.stringify(evs.filter((e) => e.type === 'result'))).not.toMatch(/security code 456/),
  );
});

describe('card data laundered through a side channel: a setting, a notification, a lock', () => {
  // Values that leave a statement other than as its result columns, where provenance masks: a setting read
  // back by a later statement (current_setting, SHOW) or reported to the client (ParameterStatus of
  // application_name), a NOTIFY payload for any listener, an advisory lock key visible in pg_locks.
  const REFUSED = /^refused by Vigil: .*(set_config|pg_notify|pg_advisory_lock).* reads card-security or PAN columns/;
  const CASES: { name: string; who: { repository: string }; sql: string; after?: string; listen?: boolean; lock?: boolean }[] = [
    { name: "set_config('x.y', cvv) read back with current_setting", who: RO, sql: "SELECT set_config('x.y', cvv, false) FROM customers WHERE id = 1", after: "SELECT current_setting('x.y', true) AS v" },
    { name: 'set_config of a reversed PAN read back with SHOW', who: RO, sql: "SELECT set_config('x.z', reverse(card_number), false) FROM customers WHERE id = 1", after: 'SHOW x.z' },
    { name: 'application_name set to the CVV (reported in ParameterStatus)', who: RO, sql: "SELECT 1 FROM customers WHERE id = 2 AND set_config('application_name', cvv, false) IS NOT NULL", after: "SELECT current_setting('application_name') AS v" },
    { name: "pg_notify('c', cvv) to a listener", who: PROC, sql: "SELECT pg_notify('c', cvv) FROM customers", listen: true },
    { name: 'an advisory lock keyed by the card number', who: PROC, sql: 'SELECT pg_advisory_lock(card_as_number) FROM customers WHERE id = 1', lock: true },
  ];
  for (const k of CASES) {
    attack(
      k.name,
      async () => {
        const d = await adv.directClient();
        if (k.listen) await d.q('LISTEN c');
        const proof = await d.q(k.sql);
        expect(proof.error, 'PostgreSQL runs it').toBeUndefined();
        const back = k.after ? await d.q({ text: k.after, rowMode: 'array', types: raw } as pg.QueryConfig) : undefined;
        if (k.listen) await d.q('SELECT 1');
        const lockRows = k.lock ? await d.q("SELECT classid, objid FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()") : undefined;
        const leaked = [back?.rows, d.notifications.map((n) => n.payload), lockRows?.rows?.map((r) => (BigInt(Number(r['classid'])) << 32n) + BigInt(Number(r['objid'])))];
        expect(cardLeaks(leaked).length > 0 || JSON.stringify(leaked).match(/"(123|456|7890)"/) !== null, `directly the value comes back: ${JSON.stringify(leaked, (_, v) => (typeof v === 'bigint' ? v.toString() : v))}`).toBe(true);
        await d.c.end();

        const c = await adv.client(k.name, k.who);
        if (k.listen) await c.q('LISTEN c');
        const r = await c.q(k.sql);
        expect(r.error?.code).toBe('42501');
        expect(r.error?.message).toMatch(REFUSED);
        const b = k.after ? await c.q({ text: k.after, rowMode: 'array', types: raw } as pg.QueryConfig) : undefined;
        await c.q('SELECT 1');
        const held = k.lock ? adv.sql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") : '0';
        expect(held, 'no advisory lock taken').toBe('0');
        expect(c.notifications, 'no notification').toEqual([]);
        expect(cardLeaks([b?.rows, c.received()])).toEqual([]);
        expect(JSON.stringify(b?.rows ?? []), 'no clear CVV read back').not.toMatch(/"(123|456|7890)"/);
        expect(c.received().includes(Buffer.from('application_name\u0000456')), 'no ParameterStatus with the CVV').toBe(false);
        await c.c.end().catch(() => undefined);
      },
      (evs) => {
        recordedClean(true)(evs);
        const cmd = evs.find((e) => e.type === 'command' && e.text === k.sql);
        expect(cmd, 'the statement is recorded').toBeDefined();
        expect(evs.filter((e) => e.type === 'decision' && e.command === cmd!.id).map((e) => [e.decision, e.rule])).toEqual([['block', 'vigil/card-data-side-channel']]);
        expect(evs.filter((e) => e.type === 'result' && e.command === cmd!.id)).toEqual([]);
      },
    );
  }

  attack(
    'set_config with a constant beside a card column read is still allowed when it is not about card data',
    async () => {
      const c = await adv.client('set_config with a constant beside a card column read is still allowed when it is not about card data', RO);
      const r = await c.q("SELECT set_config('x.k', 'constant', false) FROM accounts WHERE id = 1");
      expect(r.error).toBeUndefined();
    },
  );
});

evidenceSuite((col) => {
  it('the whole recording holds no clear card data in any event', () => expect(cardLeaks(eventsText(col().all()))).toEqual([]));
});
