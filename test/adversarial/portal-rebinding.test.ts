/**
 * Attack class 2 — a portal runs what its statement was at Bind time, not what the statement's NAME
 * means at Execute time.
 *
 * PostgreSQL 15 (verified below, directly): closing or replacing a prepared statement keeps every portal
 * already bound from it (named or unnamed); the unnamed portal survives a new Parse of the unnamed
 * statement; inside a transaction block portals survive Sync, DEALLOCATE and DEALLOCATE ALL; SQL CLOSE
 * closes a protocol portal and DECLARE can make a new one under the same name, which a protocol Execute
 * then runs. A gateway that looks up "portal → statement name → current statement" at Execute decides and
 * masks for the wrong statement.
 *
 * Policy: read-only, writes need approval (expiry 5 s). Expected: the write is held with its real text,
 * then refused at expiry (42501); the account is unchanged; masking follows the portal's real columns; the
 * evidence's command event for the Execute carries the bound statement's text and class, a `hold`, no result.
 */
import { describe, expect } from 'vitest';
import type { EvidenceEvent } from '../../shared/evidence/events.ts';
import { toServer as T } from '../../appliance/protocols/postgres/wire/index.ts';
import { Adversary, attackSuite, classesOf, commands, decisionsOf, holdNotice, problems, resultsOf, rowsOf, tags, useAdversary, type Raw } from './harness.ts';

const adv: Adversary = useAdversary({
  beforeStart: (pg) => {
    pg.psql(
      `INSERT INTO audit_scratch (v) SELECT 'row ' || g FROM generate_series(1, 5) g;
       CREATE TABLE scratch_direct (id serial PRIMARY KEY, v text);
       INSERT INTO scratch_direct (v) SELECT 'row ' || g FROM generate_series(1, 5) g;
       GRANT ALL ON scratch_direct TO svc_reporting;`,
      { database: 'payments' },
    );
  },
});
const { attack, evidenceSuite } = attackSuite(adv);

const status = (id: number) => adv.sql(`SELECT status FROM accounts WHERE id = ${id}`);
const reopen = (id: number) => adv.sql(`UPDATE accounts SET status = 'open' WHERE id = ${id}`);
const update = (id: number) => `UPDATE accounts SET status='frozen' WHERE id=${id}`;

/** Sends `msgs`, reads the approval request a hold announces (if any), waits for `ready` ReadyForQuery. */
async function run(c: Raw, msgs: Buffer[], ready = 1): Promise<{ messages: ReturnType<typeof problems>; display: string | undefined; tags: string[]; rows: (string | null)[][] }> {
  const mark = c.messages.length;
  c.send(Buffer.concat(msgs));
  const id = await holdNotice(c, mark);
  const display = id ? String((await adv.approval(id))['command']) : undefined;
  await c.until((m) => m.slice(mark).filter((x) => x.type === 'Z').length >= ready, 30_000);
  const got = c.messages.slice(mark);
  return { messages: problems(got), display, tags: tags(got), rows: rowsOf(got) };
}

const HOLD = expect.stringMatching(/^N:01000:Vigil is holding this command for approval \(request apr_/);
const REFUSED = expect.stringMatching(/^E:42501:/);

/** The command event recorded for the portal's Execute: bound text, class write, held, no result. */
function executeHeld(re: RegExp) {
  return (evs: EvidenceEvent[]) => {
    const exec = commands(evs).filter((e) => e.portal !== undefined);
    expect(exec.length, 'an Execute is recorded').toBeGreaterThan(0);
    const writes = exec.filter((e) => re.test(String(e.text)));
    expect(exec.map((e) => e.text), 'the Execute is recorded with the text the portal was bound to').toEqual(expect.arrayContaining([expect.stringMatching(re)]));
    for (const e of writes) {
      expect(classesOf(e)).toEqual(['write']);
      expect(decisionsOf(evs, e.id)).toEqual(['hold', 'expired']);
      expect(resultsOf(evs, e.id), 'no result for a held, expired command').toEqual([]);
    }
    expect(evs.filter((e) => e.type === 'result' && /^(UPDATE|DELETE)/.test(String(e.tag))), 'no write ran in this session').toEqual([]);
  };
}

describe('a portal keeps its statement', () => {
  attack(
    'named: Bind p1 ← s1 (UPDATE), Close S s1, Parse s1 = SELECT 1, Execute p1',
    async () => {
      const swap = (id: number) => [T.parse('s1', update(id)), T.bind({ portal: 'p1', statement: 's1' }), T.close('S', 's1'), T.parse('s1', 'SELECT 1'), T.execute('p1'), T.sync()];
      const d = await adv.direct();
      expect(tags(await d.exchange(swap(91))), 'PostgreSQL runs the UPDATE the portal was bound to').toEqual(['UPDATE 1']);
      expect(status(91)).toBe('frozen');
      reopen(91);
      d.close();

      const c = await adv.raw('named: Bind p1 ← s1 (UPDATE), Close S s1, Parse s1 = SELECT 1, Execute p1');
      const r = await run(c, swap(1));
      expect(status(1), 'account 1 unchanged').toBe('open');
      expect(r.tags).not.toContain('UPDATE 1');
      expect(r.display, 'the approver is shown the UPDATE').toMatch(/^UPDATE accounts SET status='frozen' WHERE id=1$/);
      expect(r.messages).toEqual([HOLD, REFUSED]);
    },
    executeHeld(/UPDATE accounts SET status='frozen' WHERE id=1/),
  );

  attack(
    'unnamed: Bind "" ← "" (UPDATE), Parse "" = SELECT 1, Execute ""',
    async () => {
      const swap = (id: number) => [T.parse('', update(id)), T.bind({}), T.parse('', 'SELECT 1'), T.execute(''), T.sync()];
      const d = await adv.direct();
      expect(tags(await d.exchange(swap(92))), 'replacing the unnamed statement keeps the unnamed portal').toEqual(['UPDATE 1']);
      expect(status(92)).toBe('frozen');
      reopen(92);
      d.close();

      const c = await adv.raw('unnamed: Bind "" ← "" (UPDATE), Parse "" = SELECT 1, Execute ""');
      const r = await run(c, swap(2));
      expect(status(2), 'account 2 unchanged').toBe('open');
      expect(r.display).toMatch(/^UPDATE accounts SET status='frozen' WHERE id=2$/);
      expect(r.messages).toEqual([HOLD, REFUSED]);
    },
    executeHeld(/UPDATE accounts SET status='frozen' WHERE id=2/),
  );

  attack(
    'unnamed with Close S "" between',
    async () => {
      const swap = (id: number) => [T.parse('', update(id)), T.bind({}), T.close('S', ''), T.parse('', 'SELECT 1'), T.execute(''), T.sync()];
      const d = await adv.direct();
      expect(tags(await d.exchange(swap(93)))).toEqual(['UPDATE 1']);
      reopen(93);
      d.close();
      const c = await adv.raw('unnamed with Close S "" between');
      const r = await run(c, swap(3));
      expect(status(3)).toBe('open');
      expect(r.messages).toEqual([HOLD, REFUSED]);
    },
    executeHeld(/UPDATE accounts SET status='frozen' WHERE id=3/),
  );

  attack(
    'in a transaction: Bind, Sync, DEALLOCATE ALL, Parse s1 = SELECT 1, Execute p1, COMMIT',
    async () => {
      const steps = (id: number) => [
        [T.query('BEGIN')],
        [T.parse('s1', update(id)), T.bind({ portal: 'p1', statement: 's1' }), T.sync()],
        [T.query('DEALLOCATE ALL')],
        [T.parse('s1', 'SELECT 1'), T.execute('p1'), T.sync()],
        [T.query('COMMIT')],
      ];
      const d = await adv.direct();
      const seen: string[] = [];
      for (const s of steps(94)) seen.push(...tags(await d.exchange(s)));
      expect(seen, 'a portal survives Sync and DEALLOCATE ALL inside a transaction').toEqual(['BEGIN', 'DEALLOCATE ALL', 'UPDATE 1', 'COMMIT']);
      expect(status(94)).toBe('frozen');
      reopen(94);
      d.close();

      const c = await adv.raw('in a transaction: Bind, Sync, DEALLOCATE ALL, Parse s1 = SELECT 1, Execute p1, COMMIT');
      const all: string[] = [];
      let display: string | undefined;
      for (const s of steps(4)) {
        const r = await run(c, s);
        all.push(...r.messages);
        display ??= r.display;
      }
      expect(status(4)).toBe('open');
      expect(display).toMatch(/^UPDATE accounts SET status='frozen' WHERE id=4$/);
      expect(all).toEqual(expect.arrayContaining([HOLD, REFUSED]));
    },
    executeHeld(/UPDATE accounts SET status='frozen' WHERE id=4/),
  );

  attack(
    'pipelined: the named and the unnamed swap in one TCP write',
    async () => {
      const c = await adv.raw('pipelined: the named and the unnamed swap in one TCP write');
      const msgs = [
        T.parse('s9', update(5)), T.bind({ portal: 'p9', statement: 's9' }), T.close('S', 's9'), T.parse('s9', 'SELECT 1'), T.execute('p9'), T.sync(),
        T.parse('', update(6)), T.bind({}), T.parse('', 'SELECT 1'), T.execute(''), T.sync(),
      ];
      const mark = c.messages.length;
      c.send(Buffer.concat(msgs));
      await c.until((m) => m.slice(mark).filter((x) => x.type === 'Z').length >= 2, 30_000);
      expect([status(5), status(6)]).toEqual(['open', 'open']);
      expect(problems(c.messages.slice(mark))).toEqual([HOLD, REFUSED, HOLD, REFUSED]);
    },
    (evs) => {
      executeHeld(/UPDATE accounts SET status='frozen' WHERE id=5/)(evs);
      executeHeld(/UPDATE accounts SET status='frozen' WHERE id=6/)(evs);
    },
    40_000,
  );

  attack(
    'stale undo: a failed re-Parse is rolled back over a DEALLOCATE and a new Parse of the name',
    async () => {
      const before = adv.sql('SELECT count(*) FROM audit_scratch');
      const steps = (table: string) => [
        { msgs: [T.parse('s1', 'SELECT 1'), T.sync()], ready: 1 },
        { msgs: [T.parse('s1', 'SELECT 2'), T.sync(), T.query('DEALLOCATE s1'), T.parse('s1', `DELETE FROM ${table}`), T.sync()], ready: 3 },
        { msgs: [T.bind({ statement: 's1' }), T.execute(), T.sync()], ready: 1 },
      ];
      const d = await adv.direct();
      const seen: string[] = [];
      for (const s of steps('scratch_direct')) seen.push(...tags(await d.exchange(s.msgs, s.ready)));
      expect(seen, 'on PostgreSQL s1 is the DELETE').toEqual(['DEALLOCATE', 'DELETE 5']);
      d.close();

      const c = await adv.raw('stale undo: a failed re-Parse is rolled back over a DEALLOCATE and a new Parse of the name');
      const r: { messages: string[]; display: string | undefined }[] = [];
      for (const s of steps('audit_scratch')) r.push(await run(c, s.msgs, s.ready));
      expect(adv.sql('SELECT count(*) FROM audit_scratch'), 'no row deleted').toBe(before);
      expect(r[1]!.messages).toEqual(['E:42P05:prepared statement "s1" already exists']);
      expect(r[2]!.display).toBe('DELETE FROM audit_scratch');
      expect(r[2]!.messages).toEqual([HOLD, REFUSED]);
    },
    executeHeld(/^DELETE FROM audit_scratch$/),
  );
});

describe('rebinding tricks PostgreSQL itself defeats (regression guards)', () => {
  attack(
    're-Bind of a bound portal name fails (42P03): the Execute after it never runs',
    async () => {
      const msgs = (id: number) => [T.parse('s1', update(id)), T.parse('s2', 'SELECT 1'), T.bind({ portal: 'p1', statement: 's1' }), T.bind({ portal: 'p1', statement: 's2' }), T.execute('p1'), T.sync()];
      const d = await adv.direct();
      const dm = await d.exchange(msgs(95));
      expect([problems(dm), tags(dm), status(95)]).toEqual([['E:42P03:cursor "p1" already exists'], [], 'open']);
      d.close();
      const c = await adv.raw('re-Bind of a bound portal name fails (42P03): the Execute after it never runs');
      const r = await run(c, msgs(7));
      expect(status(7)).toBe('open');
      expect(r.tags).toEqual([]);
    },
    (evs) => expect(evs.filter((e) => e.type === 'result' && /^UPDATE/.test(String(e.tag)))).toEqual([]),
  );

  attack(
    'Close P p1 then re-Bind p1 to SELECT 1: the SELECT is what runs',
    async () => {
      const msgs = (id: number) => [T.parse('s1', update(id)), T.parse('s2', 'SELECT 1'), T.bind({ portal: 'p1', statement: 's1' }), T.close('P', 'p1'), T.bind({ portal: 'p1', statement: 's2' }), T.execute('p1'), T.sync()];
      const d = await adv.direct();
      expect(tags(await d.exchange(msgs(96)))).toEqual(['SELECT 1']);
      d.close();
      const c = await adv.raw('Close P p1 then re-Bind p1 to SELECT 1: the SELECT is what runs');
      const r = await run(c, msgs(8));
      expect([r.tags, r.rows, status(8)]).toEqual([['SELECT 1'], [['1']], 'open']);
    },
    (evs) => {
      const exec = commands(evs).find((e) => e.portal === 'p1');
      expect([exec?.text, decisionsOf(evs, exec?.id)]).toEqual(['SELECT 1', ['allow']]);
    },
  );

  attack(
    'DISCARD ALL / DEALLOCATE ALL between Bind and Execute outside a transaction: the portal is gone',
    async () => {
      // Each round uses fresh names: both commands drop every prepared statement, so s_n is free again after it.
      const msgs = (id: number, sql: string) => [T.parse(`s_${sql}`, update(id)), T.bind({ portal: 'p1', statement: `s_${sql}` }), T.query(sql), T.parse(`s_${sql}`, 'SELECT 1'), T.execute('p1'), T.sync()];
      const d = await adv.direct();
      for (const sql of ['DISCARD ALL', 'DEALLOCATE ALL']) {
        const dm = await d.exchange(msgs(97, sql), 2);
        expect(problems(dm), 'a simple Query ends the implicit transaction and its portals').toEqual(['E:34000:portal "p1" does not exist']);
      }
      d.close();
      const c = await adv.raw('DISCARD ALL / DEALLOCATE ALL between Bind and Execute outside a transaction: the portal is gone');
      for (const sql of ['DISCARD ALL', 'DEALLOCATE ALL']) await run(c, msgs(9, sql), 2);
      expect([status(9), status(97)]).toEqual(['open', 'open']);
    },
    (evs) => expect(evs.filter((e) => e.type === 'result' && /^UPDATE/.test(String(e.tag)))).toEqual([]),
  );
});

describe('masking follows the portal', () => {
  const CVV_REDACTED = [['[REDACTED]'], ['[REDACTED]'], ['[REDACTED]']];
  const noCvvRecorded = (evs: EvidenceEvent[]) => {
    const rows = evs.filter((e) => e.type === 'result').flatMap((e) => (e.rows as unknown[][] | undefined) ?? []).flat();
    expect(rows.filter((v) => typeof v === 'string' && /^(123|456|7890)$/.test(v)), 'a clear CVV in the recorded rows').toEqual([]);
  };

  attack(
    'Describe P p1 (cvv), Close S s1, Parse s1 = SELECT text, Execute p1',
    async () => {
      const msgs = [T.parse('s1', 'SELECT cvv FROM customers ORDER BY id'), T.bind({ portal: 'p1', statement: 's1' }), T.describe('P', 'p1'), T.close('S', 's1'), T.parse('s1', "SELECT 'x'::text"), T.execute('p1'), T.sync()];
      const d = await adv.direct();
      expect(rowsOf(await d.exchange(msgs)), 'PostgreSQL returns the CVVs through p1').toEqual([['123'], ['456'], ['7890']]);
      d.close();
      const c = await adv.raw('Describe P p1 (cvv), Close S s1, Parse s1 = SELECT text, Execute p1');
      expect(rowsOf(await c.exchange(msgs))).toEqual(CVV_REDACTED);
    },
    noCvvRecorded,
  );

  attack(
    'no Describe from the client: Close S s1, Parse s1 = SELECT text, Execute p1',
    async () => {
      const msgs = [T.parse('s1', 'SELECT cvv FROM customers ORDER BY id'), T.bind({ portal: 'p1', statement: 's1' }), T.close('S', 's1'), T.parse('s1', "SELECT 'x'::text"), T.execute('p1'), T.sync()];
      const c = await adv.raw('no Describe from the client: Close S s1, Parse s1 = SELECT text, Execute p1');
      expect(rowsOf(await c.exchange(msgs))).toEqual(CVV_REDACTED);
    },
    noCvvRecorded,
  );

  attack(
    'SQL CLOSE + DECLARE re-create a described protocol portal under the same name',
    async () => {
      const steps = [
        [T.query('BEGIN')],
        [T.parse('s1', "SELECT 'x'::text AS x"), T.bind({ portal: 'p1', statement: 's1' }), T.describe('P', 'p1'), T.sync()],
        [T.query('CLOSE p1')],
        [T.query('DECLARE p1 CURSOR FOR SELECT cvv FROM customers ORDER BY id')],
        [T.execute('p1'), T.sync()],
        [T.query('COMMIT')],
      ];
      const d = await adv.direct();
      const drows: (string | null)[][] = [];
      for (const s of steps) drows.push(...rowsOf(await d.exchange(s)));
      expect(drows, 'a protocol Execute runs the SQL cursor that took the name').toEqual([['123'], ['456'], ['7890']]);
      d.close();
      const c = await adv.raw('SQL CLOSE + DECLARE re-create a described protocol portal under the same name');
      const rows: (string | null)[][] = [];
      for (const s of steps) rows.push(...rowsOf(await c.exchange(s)));
      expect(rows.filter((r) => r[0] !== 'x')).toEqual(CVV_REDACTED);
    },
    noCvvRecorded,
  );

  attack(
    'DECLARE … WITH HOLD outlives the transaction; Execute it through the protocol',
    async () => {
      const c = await adv.raw('DECLARE … WITH HOLD outlives the transaction; Execute it through the protocol');
      await c.exchange(T.query('DECLARE h1 CURSOR WITH HOLD FOR SELECT cvv FROM customers ORDER BY id'));
      const m = await c.exchange([T.execute('h1'), T.sync()]);
      // Either refused (a portal Vigil did not see bound) or masked — never the clear CVVs.
      expect(rowsOf(m).filter((r) => r[0] !== '[REDACTED]')).toEqual([]);
    },
    noCvvRecorded,
  );
});

evidenceSuite();
