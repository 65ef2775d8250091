/**
 * The masking policy's two switches, attacked: `postgres.masking.unmaskColumns` (a documented PCI DSS 3.4.1
 * exception: this role sees the plain PAN column in clear) must not open anything else — not a derived value,
 * not a whole row, not the CVV, not an error quoting the number — and the recording stays masked whatever the
 * client was shown; `postgres.masking.derivedPan: block` refuses a computed card number instead of redacting
 * it, and the evidence says so.
 */
import { describe, expect } from 'vitest';
import type pg from 'pg';
import type { EvidenceEvent } from '../../shared/evidence/events.ts';
import { Adversary, TEST_CVVS, TEST_PANS, attackSuite, cardLeaks, commands, eventsText, policies, useAdversary, type PgClient } from './harness.ts';

const UNMASK = { repository: 'acme-unmask/x' };
const STRICT = { repository: 'acme-strict/x' };
const adv: Adversary = useAdversary({
  policies: policies({
    more: `  - name: unmask
    match: { subjects: ['repo:acme-unmask/*'] }
    targets: [payments]
    statements: { read: allow, session: allow, transaction: allow, default: block }
    postgres: { masking: { unmaskColumns: ['public.customers.card_number'] } }
  - name: strictpan
    match: { subjects: ['repo:acme-strict/*'] }
    targets: [payments]
    statements: { read: allow, session: allow, transaction: allow, default: block }
    postgres: { masking: { derivedPan: block } }
`,
  }),
});
const { attack, evidenceSuite } = attackSuite(adv);

const CLEAR = ['4111111111111111', '5555555555554444', '378282246310005'];
const MASKED = ['411111******1111', '555555******4444', '378282*****0005'];
const raw = { getTypeParser: () => (v: string) => v };
const values = async (c: PgClient, sql: string) => {
  const r = await c.q({ text: sql, rowMode: 'array', types: raw } as pg.QueryConfig);
  return { r, vals: ((r.rows ?? []) as unknown as (string | null)[][]).map((x) => x[0] ?? null) };
};
const cvvIn = (s: unknown) => typeof s === 'string' && TEST_CVVS.some((c) => new RegExp(`(^|[^0-9])${c}([^0-9]|$)`).test(s));
/** The recording holds no test PAN in any form, and no CVV in a result row. */
const recordedMasked = (evs: EvidenceEvent[]) => {
  expect(cardLeaks(eventsText(evs)), 'a test PAN in the recording').toEqual([]);
  const rows = evs.filter((e) => e.type === 'result').flatMap((e) => ((e.rows as unknown[][] | undefined) ?? []).flat());
  expect(rows.filter(cvvIn)).toEqual([]);
};

describe('unmaskColumns opens the plain column to the client only', () => {
  attack(
    'the unmasked plain column: clear to the client, masked 6+4 in the recording',
    async () => {
      const c = await adv.client('the unmasked plain column: clear to the client, masked 6+4 in the recording', UNMASK);
      const { vals } = await values(c, 'SELECT card_number AS n FROM customers ORDER BY id');
      expect(vals, 'the documented exception: this role sees the PANs').toEqual(CLEAR);
    },
    (evs) => {
      recordedMasked(evs);
      const cmd = commands(evs).find((e) => String(e.text).startsWith('SELECT card_number AS n'));
      const rows = evs.filter((e) => e.type === 'result' && e.command === cmd?.id).flatMap((e) => (e.rows as string[][] | undefined) ?? []);
      expect(rows.map((r) => r[0]), 'recorded rows are masked 6+4').toEqual(MASKED);
    },
  );

  const STILL: { name: string; sql: string; expect: (v: (string | null)[]) => void }[] = [
    { name: "a derived value card_number||''", sql: "SELECT card_number||'' FROM customers ORDER BY id", expect: (v) => expect(v).toEqual(v.map(() => '[REDACTED]')) },
    { name: 'reverse(card_number)', sql: 'SELECT reverse(card_number) FROM customers ORDER BY id', expect: (v) => expect(v).toEqual(v.map(() => '[REDACTED]')) },
    { name: 'the whole row as JSON', sql: 'SELECT row_to_json(c) FROM customers c ORDER BY id', expect: (v) => expect(v.map((j) => JSON.parse(String(j)).card_number)).toEqual(MASKED) },
    { name: 'the CVV beside it', sql: 'SELECT cvv FROM customers ORDER BY id', expect: (v) => expect(v).toEqual(v.map(() => '[REDACTED]')) },
    { name: 'card_as_number, another column with the same digits', sql: 'SELECT card_as_number::text FROM customers ORDER BY id', expect: (v) => expect(v.filter((x) => TEST_PANS.includes(String(x)))).toEqual([]) },
  ];
  for (const k of STILL) {
    attack(
      `unmasked role: ${k.name} stays masked`,
      async () => {
        const c = await adv.client(`unmasked role: ${k.name} stays masked`, UNMASK);
        const { r, vals } = await values(c, k.sql);
        expect(r.error).toBeUndefined();
        expect(vals.length).toBe(3);
        k.expect(vals);
        expect(vals.filter(cvvIn), 'a clear CVV').toEqual([]);
        expect(cardLeaks([vals])).toEqual([]);
      },
      recordedMasked,
    );
  }

  attack(
    'unmasked role: an error quoting the card number is redacted',
    async () => {
      const c = await adv.client('unmasked role: an error quoting the card number is redacted', UNMASK);
      const r = await c.q("SELECT ('x'||reverse(card_number))::int FROM customers");
      expect(r.error?.code).toBe('22P02');
      expect(cardLeaks([r.error?.message, c.received()])).toEqual([]);
    },
    recordedMasked,
  );
});

describe('derivedPan: block', () => {
  for (const sql of ["SELECT lpad(card_number, 20, '0') FROM customers", 'SELECT md5(card_number) FROM customers', "SELECT x FROM (SELECT 'n:'||card_number AS x FROM customers) s"]) {
    attack(
      `derivedPan: block refuses ${sql}`,
      async () => {
        const c = await adv.client(`derivedPan: block refuses ${sql}`, STRICT);
        const r = await c.q(sql);
        expect(r.rows ?? [], 'no rows').toEqual([]);
        expect(r.error?.code).toBe('42501');
        expect(r.error?.message).toMatch(/derivedPan: block/);
      },
      (evs) => {
        const cmd = commands(evs).find((e) => e.text === sql);
        expect(cmd).toBeDefined();
        expect(evs.filter((e) => e.type === 'decision' && e.command === cmd!.id).map((e) => [e.decision, e.rule])).toEqual([['block', 'strictpan/masking']]);
        expect(evs.filter((e) => e.type === 'result' && e.command === cmd!.id)).toEqual([]);
      },
    );
  }

  attack(
    'derivedPan: block still returns the plain column, masked 6+4',
    async () => {
      const c = await adv.client('derivedPan: block still returns the plain column, masked 6+4', STRICT);
      const { r, vals } = await values(c, 'SELECT card_number FROM customers ORDER BY id');
      expect(r.error).toBeUndefined();
      expect(vals).toEqual(MASKED);
    },
    recordedMasked,
  );
});

evidenceSuite();
