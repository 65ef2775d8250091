/**
 * Attack class 7 — table rules: "any table matches", names matched as written, search_path settable.
 *
 * Schemas: payments (cards), public (secrets, refunds), other (refunds). Policy: reads allowed only on
 * `payments.*` (an allow rule), writes to `refunds` blocked (in any schema), every other read blocked.
 * Expected (the fix's semantics): an allow rule naming tables applies only when ALL the statement's
 * relations are covered; block/require-approval when ANY is; `refunds` means that relation in any schema;
 * relations are resolved the way the server resolves them (search_path) and recorded as schema.relation.
 */
import { describe, expect } from 'vitest';
import type { EvidenceEvent } from '../../shared/evidence/events.ts';
import { Adversary, RO, attackSuite, commands, decisionsOf, tablesOf, useAdversary, type PgClient } from './harness.ts';

const adv: Adversary = useAdversary({
  policies: `
policies:
  - name: ro
    match: { subjects: ['repo:acme/*'] }
    targets: [payments]
    rules:
      - name: payments-reads
        when: { classes: [read], tables: ['payments.*'] }
        action: allow
      - name: no-refund-writes
        when: { classes: [write], tables: [refunds] }
        action: block
        reason: refunds are never written by bots
    statements: { read: block, write: allow, session: allow, transaction: allow }
`,
  beforeStart: (pg) => {
    pg.psql(
      `CREATE SCHEMA payments; CREATE SCHEMA other;
       CREATE TABLE payments.cards (id int PRIMARY KEY, label text); INSERT INTO payments.cards VALUES (1, 'card one');
       CREATE TABLE public.secrets (id int PRIMARY KEY, s text); INSERT INTO public.secrets VALUES (1, 'the secret');
       CREATE TABLE public.refunds (id int PRIMARY KEY, status text); INSERT INTO public.refunds VALUES (1, 'new');
       CREATE TABLE other.refunds (id int PRIMARY KEY, status text); INSERT INTO other.refunds VALUES (1, 'new');
       GRANT USAGE ON SCHEMA payments, other TO svc_reporting;
       GRANT SELECT, UPDATE ON ALL TABLES IN SCHEMA payments, other, public TO svc_reporting;`,
      { database: 'payments' },
    );
  },
});
const { attack, evidenceSuite } = attackSuite(adv);

const refund = (schema: string) => adv.sql(`SELECT status FROM ${schema}.refunds WHERE id = 1`);

/** Runs `setup` then `sql` in one session; returns the outcome of `sql`. */
async function attempt(name: string, sql: string, setup: string[] = []): Promise<{ c: PgClient; r: Awaited<ReturnType<PgClient['q']>> }> {
  const c = await adv.client(name, RO);
  for (const s of setup) expect((await c.q(s)).error, s).toBeUndefined();
  return { c, r: await c.q(sql) };
}

const blocked = (r: { error?: { code: string | undefined; message: string } | undefined; rows?: unknown[] | undefined }) => {
  expect(r.rows ?? [], 'no rows reached the client').toEqual([]);
  expect(r.error?.code).toBe('42501');
  expect(r.error?.message).toMatch(/^blocked by Vigil policy rule "ro\//);
};

/** The recorded command for `sql`: tables as the server resolves them, and its decision. */
function recorded(sql: string, tables: string[], decision: 'allow' | 'block') {
  return (evs: EvidenceEvent[]) => {
    const cmd = commands(evs).find((e) => e.text === sql);
    expect(cmd, 'the statement is recorded').toBeDefined();
    expect([...tablesOf(cmd)].sort(), 'recorded tables, schema-qualified as the server resolves them').toEqual([...tables].sort());
    expect(decisionsOf(evs, cmd!.id)).toEqual([decision]);
  };
}

describe('reads: an allow rule must cover every relation', () => {
  const cases: { name: string; sql: string; setup?: string[]; tables: string[]; allowed: boolean }[] = [
    { name: 'payments.cards joined with public.secrets', sql: 'SELECT * FROM payments.cards, public.secrets', tables: ['payments.cards', 'public.secrets'], allowed: false },
    { name: 'payments.cards alone', sql: 'SELECT * FROM payments.cards', tables: ['payments.cards'], allowed: true },
    { name: 'quoted and upper-case names of payments.cards', sql: 'SELECT * FROM "payments"."cards" c, PAYMENTS.CARDS d', tables: ['payments.cards'], allowed: true },
    { name: 'JOIN … USING with public.secrets', sql: 'SELECT * FROM payments.cards JOIN public.secrets USING (id)', tables: ['payments.cards', 'public.secrets'], allowed: false },
    { name: 'a CTE reading public.secrets', sql: 'WITH s AS (SELECT * FROM public.secrets) SELECT * FROM payments.cards, s', tables: ['public.secrets', 'payments.cards'], allowed: false },
    { name: 'a subquery reading public.secrets', sql: 'SELECT * FROM payments.cards WHERE id IN (SELECT id FROM public.secrets)', tables: ['payments.cards', 'public.secrets'], allowed: false },
    { name: 'database-qualified payments.public.secrets matches the glob payments.*', sql: 'SELECT * FROM payments.public.secrets', tables: ['public.secrets'], allowed: false },
    { name: 'SET search_path TO payments; SELECT * FROM cards', sql: 'SELECT * FROM cards', setup: ['SET search_path TO payments'], tables: ['payments.cards'], allowed: true },
    { name: 'SET search_path TO payments, public; SELECT * FROM secrets', sql: 'SELECT * FROM secrets', setup: ['SET search_path TO payments, public'], tables: ['public.secrets'], allowed: false },
    { name: 'SET search_path TO payments, public; SELECT * FROM cards, secrets', sql: 'SELECT * FROM cards, secrets', setup: ['SET search_path TO payments, public'], tables: ['payments.cards', 'public.secrets'], allowed: false },
  ];
  for (const k of cases) {
    attack(
      k.name,
      async () => {
        if (!k.allowed) {
          const d = await adv.directClient();
          for (const s of k.setup ?? []) await d.q(s);
          const proof = await d.q(k.sql);
          expect(proof.rows?.length, 'directly, the role reads the rows').toBeGreaterThan(0);
        }
        const { r } = await attempt(k.name, k.sql, k.setup);
        if (k.allowed) {
          expect(r.error).toBeUndefined();
          expect(r.rows?.length).toBeGreaterThan(0);
        } else blocked(r);
      },
      recorded(k.sql, k.tables, k.allowed ? 'allow' : 'block'),
    );
  }
});

describe('writes: a block rule on `refunds` applies in every schema', () => {
  const cases: { name: string; sql: string; setup?: string[]; schema: string; tables: string[] }[] = [
    { name: 'UPDATE public.refunds', sql: "UPDATE public.refunds SET status = 'paid' WHERE id = 1", schema: 'public', tables: ['public.refunds'] },
    { name: 'UPDATE other.refunds', sql: "UPDATE other.refunds SET status = 'paid' WHERE id = 1", schema: 'other', tables: ['other.refunds'] },
    { name: 'UPDATE payments.public.refunds (database-qualified)', sql: "UPDATE payments.public.refunds SET status = 'paid' WHERE id = 1", schema: 'public', tables: ['public.refunds'] },
    { name: 'SET search_path TO other, public; UPDATE refunds', sql: "UPDATE refunds SET status = 'paid' WHERE id = 1", setup: ['SET search_path TO other, public'], schema: 'other', tables: ['other.refunds'] },
  ];
  for (const k of cases) {
    attack(
      k.name,
      async () => {
        adv.sql("UPDATE public.refunds SET status = 'new'; UPDATE other.refunds SET status = 'new'");
        const before = refund(k.schema);
        const { r } = await attempt(k.name, k.sql, k.setup);
        expect(refund(k.schema), `${k.schema}.refunds unchanged`).toBe(before);
        blocked(r);
      },
      recorded(k.sql, k.tables, 'block'),
    );
  }
});

evidenceSuite();
