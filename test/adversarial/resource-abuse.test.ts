/**
 * Attack class 9 — resource abuse passes as a read.
 *
 * pg_sleep, advisory locks and pg_notify are SELECTs to the classifier; a statement may run for as long
 * as the bot likes, and the bot may lift statement_timeout itself. Expected: a `resource` class that a
 * policy must allow; `limits: { maxStatementSeconds: N }` makes the gateway cancel a statement running
 * longer (and record that it did); SET statement_timeout above N or to 0 is refused with 42501.
 */
import { describe, expect } from 'vitest';
import type { EvidenceEvent } from '../../shared/evidence/events.ts';
import { toServer as T } from '../../appliance/protocols/postgres/wire/index.ts';
import { Adversary, RO, attackSuite, classesOf, commands, configTest, decisionsOf, errorsOf, policies, resultsOf, useAdversary, type PgClient, type QueryOutcome } from './harness.ts';

const RES = { repository: 'acme-res/x' };
const adv: Adversary = useAdversary({
  policies: policies({
    more: `  - name: res
    match: { subjects: ['repo:acme-res/*'] }
    targets: [payments]
    statements: { read: allow, session: allow, transaction: allow, resource: allow, default: block }
    limits: { maxStatementSeconds: 2 } # vigil-new
`,
  }),
});
const { attack, evidenceSuite } = attackSuite(adv);

/** Runs `sql`; gives up after `guardMs` (closing the connection) so a missing limit costs seconds, not minutes. */
async function timed(c: PgClient, sql: string, guardMs: number): Promise<{ ms: number; r: QueryOutcome | 'still running' }> {
  const t0 = Date.now();
  const r = await Promise.race([c.q(sql), new Promise<'still running'>((res) => setTimeout(() => res('still running'), guardMs))]);
  if (r === 'still running') (c.c as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
  return { ms: Date.now() - t0, r };
}

/** The evidence says the gateway enforced the limit (an error or notice naming it) and the command had no ok result. */
function limitEnforced(sqlStart: string) {
  return (evs: EvidenceEvent[]) => {
    const cmd = commands(evs).find((e) => String(e.text).startsWith(sqlStart));
    expect(cmd).toBeDefined();
    const about = evs.filter((e) => (e.type === 'error' || e.type === 'notice') && (e.command === cmd!.id || e.command === undefined));
    expect(about.map((e) => String(e.message)).filter((m) => /maxStatementSeconds|statement (time )?limit|limit of 2 ?s/i.test(m)), 'a recorded event naming the enforced limit').not.toEqual([]);
    expect(resultsOf(evs, cmd!.id).filter((e) => e.status === 'ok')).toEqual([]);
  };
}

const refused = (r: QueryOutcome | 'still running') => {
  expect(r).not.toBe('still running');
  const o = r as QueryOutcome;
  expect(o.error?.code).toBe('42501');
  expect(o.error?.message).toMatch(/^blocked by Vigil policy rule/);
};

describe('limits: { maxStatementSeconds: 2 } with resource allowed', () => {
  configTest(adv);

  for (const sql of ['SELECT pg_sleep(10)', 'SELECT pg_sleep(0.5) FROM generate_series(1, 20)', 'SELECT count(*) FROM generate_series(1, 10000) a, generate_series(1, 10000) b']) {
    attack(
      `${sql} is cancelled after about 2 s`,
      async () => {
        const c = await adv.client(`${sql} is cancelled after about 2 s`, RES);
        const { ms, r } = await timed(c, sql, 7_000);
        expect(r, 'the statement was still running after 7 s').not.toBe('still running');
        expect((r as QueryOutcome).error, 'the client gets an error').toBeDefined();
        expect(ms).toBeGreaterThanOrEqual(1_500);
        expect(ms).toBeLessThan(5_000);
      },
      limitEnforced(sql),
      20_000,
    );
  }

  for (const sql of ['SET statement_timeout = 0', "SET statement_timeout = '1h'", 'SET SESSION statement_timeout TO 600000', "SELECT set_config('statement_timeout', '0', false)"]) {
    attack(
      `${sql} is refused`,
      async () => {
        const c = await adv.client(`${sql} is refused`, RES);
        const r = await c.q(sql);
        refused(r);
        const shown = await c.q('SHOW statement_timeout');
        expect(shown.rows?.[0]?.['statement_timeout'], 'the timeout was not lifted').not.toMatch(/^(0|1h|10min)$/);
      },
      (evs) => {
        const cmd = commands(evs).find((e) => e.text === sql);
        expect(decisionsOf(evs, cmd?.id)).toEqual(['block']);
      },
    );
  }

  attack(
    'BEGIN; SET LOCAL statement_timeout = 0; SELECT pg_sleep(10)',
    async () => {
      const c = await adv.client('BEGIN; SET LOCAL statement_timeout = 0; SELECT pg_sleep(10)', RES);
      await c.q('BEGIN');
      const set = await c.q('SET LOCAL statement_timeout = 0');
      const { ms } = await timed(c, 'SELECT pg_sleep(10)', 7_000);
      refused(set);
      expect(ms).toBeLessThan(5_000);
    },
    (evs) => expect(decisionsOf(evs, commands(evs).find((e) => e.text === 'SET LOCAL statement_timeout = 0')?.id)).toEqual(['block']),
    20_000,
  );

  attack(
    'SET statement_timeout = 1000 (below the limit) is allowed',
    async () => {
      const c = await adv.client('SET statement_timeout = 1000 (below the limit) is allowed', RES);
      expect((await c.q('SET statement_timeout = 1000')).error).toBeUndefined();
      expect((await c.q('SHOW statement_timeout')).rows).toEqual([{ statement_timeout: '1s' }]);
    },
  );

  attack(
    'startup statement_timeout=0 cannot lift the limit',
    async () => {
      // node-postgres never sends statement_timeout=0 (it skips falsy values): a raw startup packet does.
      const c = await adv.raw('startup statement_timeout=0 cannot lift the limit', RES, { statement_timeout: '0' });
      if (!c.ready) {
        // Refused at startup is fine, if it says why.
        expect(errorsOf(c.messages).map((e) => e.message).join(' ')).toMatch(/statement_timeout/);
        return;
      }
      const t0 = Date.now();
      const m = await c.exchange(T.query('SELECT pg_sleep(10)'), 1, 7_000);
      const ms = Date.now() - t0;
      c.close();
      expect(m.some((x) => x.type === 'Z'), 'still running after 7 s').toBe(true);
      expect(ms).toBeLessThan(5_000);
    },
    undefined,
    20_000,
  );
});

describe('without resource allowed (read-only policy)', () => {
  const blockedAsResource = (sql: string) => (evs: EvidenceEvent[]) => {
    const cmd = commands(evs).find((e) => e.text === sql);
    expect(cmd).toBeDefined();
    expect(classesOf(cmd)).toEqual(['resource']);
    expect(decisionsOf(evs, cmd!.id)).toEqual(['block']);
    expect(resultsOf(evs, cmd!.id)).toEqual([]);
  };

  for (const sql of ['SELECT pg_advisory_lock(1)', 'SELECT pg_try_advisory_lock(2)', 'SELECT pg_advisory_lock_shared(3)']) {
    attack(
      `${sql} is blocked`,
      async () => {
        const c = await adv.client(`${sql} is blocked`, RO);
        const r = await c.q(sql);
        // Asked while the session is still open: an advisory lock lives as long as the session.
        const held = adv.sql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'");
        refused(r);
        expect(held, 'no advisory lock is held').toBe('0');
      },
      blockedAsResource(sql),
    );
  }

  attack(
    "SELECT pg_notify('c','x') is blocked",
    async () => {
      const listener = await adv.directClient();
      await listener.q('LISTEN c');
      const c = await adv.client("SELECT pg_notify('c','x') is blocked", RO);
      const r = await c.q("SELECT pg_notify('c','x')");
      await new Promise((res) => setTimeout(res, 200));
      await listener.q('SELECT 1');
      refused(r);
      expect(listener.notifications, 'nobody was notified').toEqual([]);
    },
    blockedAsResource("SELECT pg_notify('c','x')"),
  );

  for (const sql of ['SELECT pg_sleep(1)', "SELECT pg_sleep_for('1 second')", "SELECT pg_sleep_until(now() + interval '1 second')"]) {
    attack(
      `${sql} is blocked`,
      async () => {
        const c = await adv.client(`${sql} is blocked`, RO);
        const { ms, r } = await timed(c, sql, 5_000);
        refused(r);
        expect(ms, 'it did not sleep').toBeLessThan(800);
      },
      blockedAsResource(sql),
    );
  }
});

describe('row locks are not reads (read-only policy: writes need approval)', () => {
  // SELECT … FOR UPDATE/SHARE needs UPDATE privilege and makes writers wait for the locking transaction:
  // PostgreSQL itself refuses it in a read-only transaction. A bot allowed only to read must not hold them.
  const writerBlocked = async (id: number): Promise<boolean> => {
    const w = await adv.directClient();
    await w.q("SET lock_timeout = '500ms'");
    const r = await w.q(`UPDATE accounts SET balance = balance WHERE id = ${id}`);
    await w.c.end();
    return r.error?.code === '55P03';
  };
  const CASES = [
    { name: 'SELECT … FOR UPDATE', sql: 'SELECT id FROM accounts WHERE id = 61 FOR UPDATE', id: 61 },
    { name: 'FOR NO KEY UPDATE in a subquery', sql: 'SELECT s.id FROM (SELECT id FROM accounts WHERE id = 62 FOR NO KEY UPDATE) s', id: 62 },
  ];
  for (const k of CASES) {
    attack(
      `${k.name} inside a transaction does not lock the row`,
      async () => {
        const d = await adv.directClient();
        await d.q('BEGIN');
        expect((await d.q(k.sql)).error).toBeUndefined();
        expect(await writerBlocked(k.id), 'directly, the lock makes a writer wait').toBe(true);
        await d.q('ROLLBACK');
        await d.c.end();

        const c = await adv.client(`${k.name} inside a transaction does not lock the row`, RO);
        await c.q('BEGIN');
        const r = await c.q(k.sql);
        expect(await writerBlocked(k.id), 'through Vigil a writer is not blocked').toBe(false);
        expect(r.error?.code, 'held for approval, then refused at expiry').toBe('42501');
        await c.q('ROLLBACK');
      },
      (evs) => {
        const cmd = commands(evs).find((e) => e.text === k.sql);
        expect(cmd).toBeDefined();
        expect(classesOf(cmd)).toEqual(['write']);
        expect((cmd!.classification as { tags: string[] }[])[0]!.tags).toContain('row-lock');
        expect(decisionsOf(evs, cmd!.id)).toEqual(['hold', 'expired']);
        expect(resultsOf(evs, cmd!.id)).toEqual([]);
      },
      20_000,
    );
  }
});

evidenceSuite();
