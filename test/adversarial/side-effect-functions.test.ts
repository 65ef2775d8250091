/**
 * Attack class 6 — functions with side effects run as reads.
 *
 * The classifier calls every SELECT a read unless it names a "dangerous" function. Sequences, large
 * objects, user functions that write (directly, through a STABLE wrapper, a view, query_to_xml, or a
 * function that shadows a built-in once search_path puts its schema first) all change the target from a
 * SELECT. Policy here: `write: block`. Expected: refused by Vigil (42501 "blocked by Vigil policy rule"),
 * the target unchanged, and the evidence classifies the statement as `write` (or `unknown` for dynamic
 * SQL), with decision block and no result. One case under `write: require-approval` must be held.
 *
 * PostgreSQL 15 facts used here (verified directly below): a STABLE function may call a VOLATILE one that
 * writes; query_to_xml runs its query read-only (an UPDATE in it fails with 0A000) but a VOLATILE function
 * called from that query still writes; `SET search_path = public, pg_catalog` makes `upper('a')` resolve
 * to public.upper(text); lo_create/lo_from_bytea/lo_put/lo_unlink need no privilege beyond ownership; the
 * target role cannot call adminpack's pg_file_write (permission denied) unless granted.
 */
import { describe, expect } from 'vitest';
import type { EvidenceEvent } from '../../shared/evidence/events.ts';
import { Adversary, RO, attackSuite, classesOf, commands, decisionsOf, policies, resultsOf, useAdversary } from './harness.ts';

const APPR = { repository: 'acme-appr/x' };
const adv: Adversary = useAdversary({
  policies: policies({
    roStatements: '{ read: allow, session: allow, transaction: allow, write: block, default: block }',
    more: `  - name: appr
    match: { subjects: ['repo:acme-appr/*'] }
    targets: [payments]
    statements: { read: allow, session: allow, transaction: allow, write: require-approval, default: block }
    approvers: { groups: [dba] }
`,
  }),
  beforeStart: (pg) => {
    pg.psql(
      `CREATE SEQUENCE s; GRANT USAGE, SELECT, UPDATE ON SEQUENCE s TO svc_reporting;
       CREATE FUNCTION bump(n int) RETURNS int LANGUAGE plpgsql VOLATILE AS $$ BEGIN UPDATE accounts SET status = 'bumped' WHERE id = n; RETURN 1; END $$;
       CREATE FUNCTION stable_bump(n int) RETURNS int LANGUAGE sql STABLE AS $$ SELECT bump(n) $$;
       CREATE FUNCTION public.upper(text) RETURNS text LANGUAGE plpgsql AS $$ BEGIN UPDATE accounts SET status = 'upper' WHERE id = 16; RETURN 'U'; END $$;
       CREATE FUNCTION public.lower(text) RETURNS text LANGUAGE plpgsql AS $$ BEGIN UPDATE accounts SET status = 'lower' WHERE id = 21; RETURN 'L'; END $$;
       CREATE VIEW v_bump AS SELECT bump(19) AS b;
       CREATE FUNCTION freeze_row(accounts) RETURNS int LANGUAGE sql VOLATILE AS $$ UPDATE accounts SET status = 'frozen-by-attr' WHERE id = $1.id RETURNING 1 $$;
       GRANT EXECUTE ON FUNCTION freeze_row(accounts) TO svc_reporting;
       CREATE FUNCTION freeze_later(a accounts, how text DEFAULT 'frozen-by-default-arg') RETURNS int LANGUAGE sql VOLATILE AS $$ UPDATE accounts SET status = how WHERE id = a.id RETURNING 1 $$;
       GRANT EXECUTE ON FUNCTION freeze_later(accounts, text) TO svc_reporting;
       GRANT SELECT ON v_bump TO svc_reporting;
       CREATE EXTENSION adminpack;
       SELECT lo_from_bytea(424242, 'original');
       ALTER LARGE OBJECT 424242 OWNER TO svc_reporting;`,
      { database: 'payments' },
    );
  },
});
const { attack, evidenceSuite } = attackSuite(adv);

const seq = () => adv.sql('SELECT last_value || \'/\' || is_called FROM s');
const los = () => adv.sql('SELECT count(*) FROM pg_largeobject_metadata');
const lo = () => adv.sql("SELECT CASE WHEN EXISTS (SELECT FROM pg_largeobject_metadata WHERE oid = 424242) THEN encode(lo_get(424242), 'escape') ELSE '<gone>' END");
const acct = (id: number) => () => adv.sql(`SELECT status FROM accounts WHERE id = ${id}`);
const reopen = (id: number) => () => adv.sql(`UPDATE accounts SET status = 'open' WHERE id = ${id}`);

interface Case {
  name: string;
  sql: string;
  /** What the attack changes, read as the superuser. */
  state: () => string;
  /** Puts the state back after the direct proof. */
  reset?: () => void;
  /** false when PostgreSQL itself refuses the side effect (kept as a regression guard). */
  realOnPostgres?: boolean;
}

const CASES: Case[] = [
  { name: "nextval('s')", sql: "SELECT nextval('s')", state: seq },
  { name: "setval('s', 100)", sql: "SELECT setval('s', 100)", state: seq, reset: () => void adv.sql("SELECT setval('s', 5)") },
  { name: 'lo_create(0)', sql: 'SELECT lo_create(0)', state: los },
  { name: "lo_from_bytea(0, 'x')", sql: "SELECT lo_from_bytea(0, 'x')", state: los },
  { name: 'lo_put on an owned large object', sql: "SELECT lo_put(424242, 0, 'CHANGED!')", state: lo, reset: () => void adv.sql("SELECT lo_put(424242, 0, 'original')") },
  { name: 'lo_unlink of an owned large object', sql: 'SELECT lo_unlink(424242)', state: lo, reset: () => void adv.sql("SELECT lo_from_bytea(424242, 'original'); ALTER LARGE OBJECT 424242 OWNER TO svc_reporting") },
  { name: 'a VOLATILE user function that updates', sql: 'SELECT bump(11)', state: acct(11), reset: reopen(11) },
  { name: 'the writer in WHERE', sql: 'SELECT * FROM accounts WHERE bump(12) > 0 AND id = 1', state: acct(12), reset: reopen(12) },
  { name: 'the writer inside a CTE', sql: 'WITH b AS (SELECT bump(13) AS x) SELECT * FROM b', state: acct(13), reset: reopen(13) },
  { name: 'the writer inside a subquery', sql: 'SELECT (SELECT bump(14)) AS x', state: acct(14), reset: reopen(14) },
  { name: 'a STABLE SQL function calling the writer', sql: 'SELECT stable_bump(15)', state: acct(15), reset: reopen(15) },
  { name: "SET search_path = public, pg_catalog; SELECT upper('a')", sql: "SET search_path = public, pg_catalog; SELECT upper('a')", state: acct(16), reset: reopen(16) },
  { name: "set_config('search_path', 'public, pg_catalog') then lower('a')", sql: "SELECT set_config('search_path', 'public, pg_catalog', false); SELECT lower('A')", state: acct(21), reset: reopen(21) },
  { name: 'query_to_xml of a SELECT calling the writer', sql: "SELECT query_to_xml('SELECT bump(18)', true, false, '')", state: acct(18), reset: reopen(18) },
  { name: 'a view whose column calls the writer', sql: 'SELECT * FROM v_bump', state: acct(19), reset: reopen(19) },
  { name: 'query_to_xml of an UPDATE … RETURNING', sql: "SELECT query_to_xml('UPDATE accounts SET status=''q'' WHERE id=17 RETURNING 1', true, false, '')", state: acct(17), realOnPostgres: false },
  // Attribute notation: PostgreSQL reads t.f, (t).f and (t.*).f as f(t) when t has no column f — a function
  // call with no parentheses, which a parser sees as a column reference.
  { name: 'attribute notation a.freeze_row', sql: 'SELECT a.freeze_row FROM accounts a WHERE a.id = 31', state: acct(31), reset: reopen(31) },
  { name: 'attribute notation (a).freeze_row in WHERE', sql: 'SELECT a.id FROM accounts a WHERE a.id = 32 AND (a).freeze_row = 1', state: acct(32), reset: reopen(32) },
  { name: 'attribute notation accounts.freeze_row, no alias', sql: 'SELECT accounts.freeze_row FROM accounts WHERE id = 33', state: acct(33), reset: reopen(33) },
  { name: 'attribute notation of a function whose second argument has a default', sql: 'SELECT a.freeze_later FROM accounts a WHERE a.id = 35', state: acct(35), reset: reopen(35) },
  { name: 'attribute notation inside query_to_xml', sql: "SELECT query_to_xml('SELECT a.freeze_row FROM accounts a WHERE a.id = 36', true, false, '')", state: acct(36), reset: reopen(36) },
  { name: 'attribute notation (a.*).freeze_row', sql: 'SELECT (a.*).freeze_row FROM accounts a WHERE a.id = 34', state: acct(34), reset: reopen(34) },
  { name: 'pg_file_write (adminpack)', sql: "SELECT pg_file_write('vigil-adv.txt', 'x', false)", state: () => adv.sql("SELECT count(*) FROM pg_ls_dir('.') f WHERE f = 'vigil-adv.txt'"), realOnPostgres: false },
];

/** The recorded command: not classified as a plain read, blocked (or held), no result. */
function refusedAsWrite(sqlStart: string, decision: string[] = ['block']) {
  return (evs: EvidenceEvent[]) => {
    const cmd = commands(evs).find((e) => String(e.text).startsWith(sqlStart));
    expect(cmd, 'the statement is recorded').toBeDefined();
    const classes = classesOf(cmd);
    // adminpack's file functions are reviewed as dangerous (server files): class procedural.
    expect(classes.some((c) => c === 'write' || c === 'unknown' || c === 'procedural'), `classified as ${classes.join(', ')}`).toBe(true);
    expect(decisionsOf(evs, cmd!.id)).toEqual(decision);
    expect(resultsOf(evs, cmd!.id), 'no result: it did not run').toEqual([]);
  };
}

describe('side-effecting functions under write: block', () => {
  for (const k of CASES) {
    attack(
      k.name,
      async () => {
        const before = k.state();
        const d = await adv.directClient();
        const proof = await d.q(k.sql);
        if (k.realOnPostgres === false) {
          expect(proof.ok, `PostgreSQL itself refuses: ${proof.error?.message}`).toBe(false);
          expect(k.state()).toBe(before);
        } else {
          expect(proof.error, 'the bot role can run it directly').toBeUndefined();
          expect(k.state(), 'directly, it changes the target').not.toBe(before);
          k.reset?.();
        }
        const baseline = k.state();
        const c = await adv.client(k.name, RO);
        const r = await c.q(k.sql);
        expect(k.state(), 'the target is unchanged').toBe(baseline);
        expect(r.error?.code).toBe('42501');
        expect(r.error?.message).toMatch(/^blocked by Vigil policy rule "ro\//);
        expect((await c.q('SELECT 1 AS ok')).rows, 'the session continues').toEqual([{ ok: 1 }]);
      },
      refusedAsWrite(k.sql),
    );
  }
});

describe('under write: require-approval the side effect is held', () => {
  attack(
    'SELECT bump(20) is held, then refused at expiry',
    async () => {
      const c = await adv.client('SELECT bump(20) is held, then refused at expiry', APPR);
      const r = await c.q('SELECT bump(20)');
      expect(acct(20)()).toBe('open');
      expect(c.notices.map((n) => n.message)).toEqual([expect.stringMatching(/^Vigil is holding this command for approval/)]);
      expect(r.error?.code).toBe('42501');
    },
    refusedAsWrite('SELECT bump(20)', ['hold', 'expired']),
    20_000,
  );
});

evidenceSuite();
