/**
 * Attack class 5 — clear PANs reach the recording.
 *
 * The recorder masks with the same detector as the client path, and that detector deliberately skips
 * PAN-shaped digits glued to letters, split by dots or slashes, or written in full-width digits. The
 * verifier re-scans with the same detector, so it says PASS while the decrypted evidence holds the card
 * number. The client may get back what it sent itself; the evidence must hold no test PAN in any form.
 */
import { describe, expect } from 'vitest';
import type { EvidenceEvent } from '../../shared/evidence/events.ts';
import { toServer as T } from '../../appliance/protocols/postgres/wire/index.ts';
import { Adversary, RO, attackSuite, cardLeaks, eventsText, fullWidth, policies, rowsOf, useAdversary } from './harness.ts';

const FW = fullWidth('4111111111111111');
// Mixed separators ('4111 1111-1111 1111') are a deliberate miss of strict mode: joining groups across
// separators of different kinds matched 38.7 % of ordinary SQL-result lines (docs/pan-detection.md).
const GLUED = ['x4111111111111111', '4111111111111111x', '4111.1111.1111.1111', FW, '4111/1111/1111/1111', 'PAN5555555555554444'];

const adv: Adversary = useAdversary({
  policies: policies({ roStatements: '{ read: allow, session: allow, transaction: allow, copy-out: allow, write: require-approval, default: block }' }),
  beforeStart: (pg) => {
    pg.psql(
      `CREATE TABLE glued (id int PRIMARY KEY, v text);
       INSERT INTO glued VALUES ${GLUED.map((g, i) => `(${i + 1}, '${g}')`).join(', ')};
       GRANT SELECT ON glued TO svc_reporting;`,
      { database: 'payments' },
    );
  },
});
const { attack, evidenceSuite } = attackSuite(adv);

const clean = (evs: EvidenceEvent[]) => expect(cardLeaks(eventsText(evs)), 'a test PAN in the decrypted evidence').toEqual([]);

describe('glued, split and full-width PANs in what is recorded', () => {
  for (const g of GLUED) {
    const name = `literal '${g}'`;
    attack(
      name,
      async () => {
        const c = await adv.client(name, RO);
        const r = await c.q(`SELECT '${g}' AS v`);
        expect(r.rows, 'the statement ran: the value went through the recorder').toEqual([{ v: expect.any(String) }]);
      },
      clean,
    );
  }

  for (const g of ['x4111111111111111', '4111.1111.1111.1111', FW]) {
    const name = `bind parameter '${g}'`;
    attack(
      name,
      async () => {
        const c = await adv.client(name, RO);
        const r = await c.q('SELECT $1::text AS v', [g]);
        expect(r.ok).toBe(true);
      },
      clean,
    );
  }

  attack(
    'a column alias holding a glued PAN',
    async () => {
      const c = await adv.client('a column alias holding a glued PAN', RO);
      const r = await c.q('SELECT 1 AS "x4111111111111111"');
      expect(r.ok).toBe(true);
    },
    clean,
  );

  attack(
    'a comment holding a glued PAN',
    async () => {
      const c = await adv.client('a comment holding a glued PAN', RO);
      const r = await c.q('SELECT 1 AS one /* card x4111111111111111 */');
      expect(r.ok).toBe(true);
    },
    clean,
  );

  attack(
    'an error message echoing a glued PAN',
    async () => {
      const c = await adv.client('an error message echoing a glued PAN', RO);
      const r = await c.q("SELECT 'x4111111111111111'::int");
      expect(r.error?.code).toBe('22P02');
    },
    clean,
  );

  attack(
    'a NOTIFY payload holding a glued PAN',
    async () => {
      const c = await adv.client('a NOTIFY payload holding a glued PAN', RO);
      await c.q('LISTEN c');
      const r = await c.q("NOTIFY c, 'x4111111111111111'");
      await c.q('SELECT 1');
      expect(r.ok).toBe(true);
      expect(c.notifications.length).toBe(1);
    },
    clean,
  );

  attack(
    'COPY TO STDOUT of a table holding glued PANs',
    async () => {
      const c = await adv.raw('COPY TO STDOUT of a table holding glued PANs');
      const m = await c.exchange(T.query('COPY glued TO STDOUT'));
      expect(m.filter((x) => x.type === 'd').length, 'the COPY data went through the recorder').toBe(GLUED.length);
    },
    clean,
  );

  attack(
    'SELECT of a table holding glued PANs',
    async () => {
      const c = await adv.raw('SELECT of a table holding glued PANs');
      const m = await c.exchange(T.query('SELECT v FROM glued ORDER BY id'));
      expect(rowsOf(m).length).toBe(GLUED.length);
    },
    clean,
  );
});

evidenceSuite();
