/**
 * Attack class 8 — a statement over 64 KiB runs in full but is recorded (and shown to approvers) cut short.
 *
 * Expected: the recorded command text is the whole statement up to the 1 MiB hard limit (the approval
 * request shows it too); a statement over 1 MiB is refused with 54000 before reaching the target, and the
 * evidence records that refusal.
 */
import { describe, expect } from 'vitest';
import type { EvidenceEvent } from '../../shared/evidence/events.ts';
import { toServer as T } from '../../appliance/protocols/postgres/wire/index.ts';
import { Adversary, RO, RW, attackSuite, commands, decisionsOf, holdNotice, policies, problems, resultsOf, tags, useAdversary } from './harness.ts';

const BLOCK = { repository: 'acme-block/x' };
const adv: Adversary = useAdversary({
  policies: policies({
    more: `  - name: block
    match: { subjects: ['repo:acme-block/*'] }
    targets: [payments]
    statements: { read: allow, session: allow, transaction: allow, write: block, default: block }
`,
  }),
  extraConfig: 'approvals:\n  expirySeconds: 30\n',
  beforeStart: (pg) => {
    pg.psql("INSERT INTO audit_scratch (v) SELECT 'row ' || g FROM generate_series(1, 10) g", { database: 'payments' });
  },
});
const { attack, evidenceSuite } = attackSuite(adv);

const KIB = 1024;
const padded = (bytes: number, tail: string) => `SELECT '${'a'.repeat(bytes)}' AS pad; ${tail}`;
const row = (id: number) => adv.sql(`SELECT count(*) FROM audit_scratch WHERE id = ${id}`);

/** The command event whose text ends with `tail`: recorded whole (exactly `sql`). */
function recordedWhole(sql: string, tail: string) {
  return (evs: EvidenceEvent[]) => {
    const cmds = commands(evs).filter((e) => String(e.text).startsWith("SELECT 'aaaa") || String(e.text).startsWith('WITH pad'));
    expect(cmds.length, 'the long statement is recorded').toBeGreaterThan(0);
    const cmd = cmds[0]!;
    expect(String(cmd.text).length, 'recorded length').toBe(sql.length);
    expect(String(cmd.text).endsWith(tail), 'the recorded text ends with the write').toBe(true);
    return cmd;
  };
}

describe('statements over 64 KiB', () => {
  const S1 = padded(70 * KIB, 'DELETE FROM audit_scratch WHERE id = 1');
  attack(
    '70 KiB of padding, then a DELETE (write allowed): runs, recorded whole',
    async () => {
      const c = await adv.client('70 KiB of padding, then a DELETE (write allowed): runs, recorded whole', RW);
      const r = await c.q(S1);
      expect(r.error).toBeUndefined();
      expect(row(1), 'the DELETE ran').toBe('0');
    },
    (evs) => {
      const cmd = recordedWhole(S1, 'DELETE FROM audit_scratch WHERE id = 1')(evs);
      expect(resultsOf(evs, cmd.id).map((e) => e.tag)).toEqual(['SELECT 1', 'DELETE 1']);
    },
  );

  const S2 = padded(70 * KIB, 'DELETE FROM audit_scratch WHERE id = 2');
  attack(
    '70 KiB of padding, then a DELETE (write blocked): refused, recorded whole',
    async () => {
      const c = await adv.client('70 KiB of padding, then a DELETE (write blocked): refused, recorded whole', BLOCK);
      const r = await c.q(S2);
      expect(r.error?.code).toBe('42501');
      expect(row(2)).toBe('1');
    },
    (evs) => {
      const cmd = recordedWhole(S2, 'DELETE FROM audit_scratch WHERE id = 2')(evs);
      expect(decisionsOf(evs, cmd.id)).toEqual(['block']);
      expect(resultsOf(evs, cmd.id)).toEqual([]);
    },
  );

  const S3 = padded(70 * KIB, 'DELETE FROM audit_scratch WHERE id = 3');
  attack(
    '70 KiB of padding, then a DELETE (needs approval): the approver sees the DELETE',
    async () => {
      const c = await adv.raw('70 KiB of padding, then a DELETE (needs approval): the approver sees the DELETE', RO);
      const mark = c.messages.length;
      c.send(T.query(S3));
      const id = await holdNotice(c, mark);
      expect(id).toBeDefined();
      const shown = String((await adv.approval(id!))['command']);
      expect.soft(shown.length, 'the approver is shown the whole statement').toBe(S3.length);
      expect.soft(shown.endsWith('DELETE FROM audit_scratch WHERE id = 3'), 'the approver is shown the DELETE at the end').toBe(true);
      await adv.api('POST', `/v1/approvals/${id}/deny`, { reason: 'adversarial suite' }, { subject: 'dave@acme.test', groups: ['dba'] });
      await c.until((m) => m.slice(mark).some((x) => x.type === 'Z'));
      expect(problems(c.messages.slice(mark))).toEqual([expect.stringMatching(/^N:01000:/), expect.stringMatching(/^E:42501:not approved/)]);
      expect(row(3)).toBe('1');
    },
    (evs) => {
      const cmd = recordedWhole(S3, 'DELETE FROM audit_scratch WHERE id = 3')(evs);
      expect(decisionsOf(evs, cmd.id)).toEqual(['hold', 'denied']);
      expect(resultsOf(evs, cmd.id)).toEqual([]);
    },
  );

  const S4 = `WITH pad AS (SELECT '${'a'.repeat(70 * KIB)}' AS p) DELETE FROM audit_scratch WHERE id = 4`;
  attack(
    'a 70 KiB Parse/Bind/Execute of a DELETE: runs, recorded whole',
    async () => {
      const c = await adv.raw('a 70 KiB Parse/Bind/Execute of a DELETE: runs, recorded whole', RW);
      const m = await c.exchange([T.parse('', S4), T.bind({}), T.execute(), T.sync()]);
      expect(tags(m)).toEqual(['DELETE 1']);
      expect(row(4)).toBe('0');
    },
    (evs) => {
      const exec = commands(evs).find((e) => e.portal !== undefined);
      expect(String(exec?.text).length, 'the Execute is recorded with the whole statement').toBe(S4.length);
      expect(String(exec?.text).endsWith('DELETE FROM audit_scratch WHERE id = 4')).toBe(true);
    },
  );

  const S5 = padded(1024 * KIB - 200, 'DELETE FROM audit_scratch WHERE id = 5');
  attack(
    'just under 1 MiB, then a DELETE (write allowed): runs, recorded whole',
    async () => {
      expect(Buffer.byteLength(S5)).toBeLessThanOrEqual(1024 * KIB);
      const c = await adv.client('just under 1 MiB, then a DELETE (write allowed): runs, recorded whole', RW);
      const r = await c.q(S5);
      expect(r.error).toBeUndefined();
      expect(row(5)).toBe('0');
    },
    (evs) => void recordedWhole(S5, 'DELETE FROM audit_scratch WHERE id = 5')(evs),
  );
});

describe('over the 1 MiB hard limit', () => {
  const BIG = padded(1126 * KIB, 'DELETE FROM audit_scratch WHERE id = 6');
  attack(
    '1.1 MiB statement: 54000, target unchanged',
    async () => {
      const c = await adv.client('1.1 MiB statement: 54000, target unchanged', RW);
      const r = await c.q(BIG);
      expect(row(6)).toBe('1');
      expect(r.error?.code).toBe('54000');
      expect((await c.q('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
    },
    (evs) => {
      expect(evs.filter((e) => e.type === 'error').map((e) => e.code), 'the refusal is recorded').toContain('54000');
      expect(evs.filter((e) => e.type === 'result' && /^DELETE/.test(String(e.tag)))).toEqual([]);
    },
  );
});

evidenceSuite();
