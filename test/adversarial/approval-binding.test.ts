/**
 * Attack class 3 — an approval for one statement that runs another.
 *
 * The portal p1 is bound to a DELETE of 50 accounts; then the statement name is re-Parsed as a one-row
 * UPDATE and p1 is executed. Held for approval, the approver must be shown what will run (the DELETE), the
 * approval must release that DELETE, and the evidence must tie request → decisions → the DELETE's command
 * event → its result (DELETE 50), with the verifier's approvals register consistent.
 */
import { describe, expect } from 'vitest';
import type { EvidenceEvent } from '../../shared/evidence/events.ts';
import { toServer as T } from '../../appliance/protocols/postgres/wire/index.ts';
import { Adversary, attackSuite, commands, holdNotice, problems, tags, useAdversary } from './harness.ts';

const adv: Adversary = useAdversary({
  extraConfig: 'approvals:\n  expirySeconds: 30\n',
  beforeStart: (pg) => {
    pg.psql(
      `CREATE TABLE accounts_direct AS SELECT * FROM accounts; GRANT ALL ON accounts_direct TO svc_reporting;`,
      { database: 'payments' },
    );
  },
});
const { attack, evidenceSuite } = attackSuite(adv);
const DAVE = { subject: 'dave@acme.test', groups: ['dba'] };
const requests = new Map<string, string>(); // attack name → request id

function swap(table: string, del: string, upd: string, named = true): Buffer[] {
  const s = named ? 's1' : '';
  const p = named ? 'p1' : '';
  return [T.parse(s, del.replace('accounts', table)), T.bind({ portal: p, statement: s }), ...(named ? [T.close('S', s)] : []), T.parse(s, upd.replace('accounts', table)), T.execute(p), T.sync()];
}

/** approval.requested → decided → the command of the request has `text` → a result with `tag` (or none). */
function chain(name: string, text: string, outcome: 'approved' | 'denied', tag: string | undefined) {
  return (evs: EvidenceEvent[], col: { report: { approvals?: { requestId: string; outcome: string; hashMatches: boolean; ran: boolean | null }[] } }) => {
    const id = requests.get(name);
    expect(id, 'the attack was held (a request id was announced)').toBeDefined();
    const req = evs.find((e) => e.type === 'approval.requested' && e.requestId === id);
    expect(req).toBeDefined();
    const decided = evs.filter((e) => e.type === 'approval.decided' && e.requestId === id);
    expect(decided.map((e) => [e.decision, e.commandHash])).toEqual([[outcome, req!.commandHash]]);
    const cmd = commands(evs).find((e) => e.id === req!.command);
    expect.soft(cmd?.text, 'the held command event records what ran').toBe(text);
    const results = evs.filter((e) => e.type === 'result' && e.command === req!.command).map((e) => e.tag);
    expect(results).toEqual(tag ? [tag] : []);
    const entry = col.report.approvals?.find((a) => a.requestId === id);
    expect(entry).toMatchObject({ outcome, hashMatches: true, ran: outcome === 'approved' });
  };
}

describe('the approval releases exactly what the approver saw', () => {
  const DELETE = 'DELETE FROM accounts WHERE id <= 50';
  const UPDATE = "UPDATE accounts SET status='x' WHERE id=1";
  const NAME = 'approve a held portal: approver must see the DELETE that will run';

  attack(
    NAME,
    async () => {
      const d = await adv.direct();
      expect(tags(await d.exchange(swap('accounts_direct', DELETE, UPDATE))), 'on PostgreSQL p1 runs the DELETE').toEqual(['DELETE 50']);
      d.close();

      const c = await adv.raw(NAME);
      const mark = c.messages.length;
      c.send(Buffer.concat(swap('accounts', DELETE, UPDATE)));
      const id = await holdNotice(c, mark);
      expect(id, 'the Execute is held for approval').toBeDefined();
      requests.set(NAME, id!);
      const pending = await adv.api('GET', '/v1/approvals?status=pending');
      const record = (pending.json['approvals'] as { id: string; command: string; classification: unknown }[]).find((a) => a.id === id);
      expect.soft(record?.command, 'what the approver is shown').toBe(DELETE);
      const approved = await adv.api('POST', `/v1/approvals/${id}/approve`, { reason: 'adversarial suite: approve what was shown' }, DAVE);
      expect(approved.status).toBe(200);
      await c.until((m) => m.slice(mark).some((x) => x.type === 'Z'), 15_000);
      const got = c.messages.slice(mark);
      expect(problems(got)).toEqual([expect.stringMatching(/^N:01000:Vigil is holding this command/)]);
      expect(tags(got)).toEqual(['DELETE 50']);
      expect(adv.sql('SELECT count(*) FROM accounts')).toBe('50');
    },
    chain(NAME, DELETE, 'approved', 'DELETE 50'),
  );

  const NAME2 = 'deny a held unnamed portal: approver must see the DELETE, nothing runs';
  const DELETE2 = 'DELETE FROM accounts WHERE id > 90';
  const UPDATE2 = "UPDATE accounts SET status='x' WHERE id=95";
  attack(
    NAME2,
    async () => {
      const before = adv.sql('SELECT count(*) FROM accounts');
      const d = await adv.direct();
      expect(tags(await d.exchange(swap('accounts_direct', DELETE2, UPDATE2, false)))).toEqual(['DELETE 10']);
      d.close();
      const c = await adv.raw(NAME2);
      const mark = c.messages.length;
      c.send(Buffer.concat(swap('accounts', DELETE2, UPDATE2, false)));
      const id = await holdNotice(c, mark);
      expect(id).toBeDefined();
      requests.set(NAME2, id!);
      expect.soft((await adv.approval(id!))['command'], 'what the approver is shown').toBe(DELETE2);
      const denied = await adv.api('POST', `/v1/approvals/${id}/deny`, { reason: 'adversarial suite' }, DAVE);
      expect(denied.status).toBe(200);
      await c.until((m) => m.slice(mark).some((x) => x.type === 'Z'), 15_000);
      expect(problems(c.messages.slice(mark))).toEqual([expect.stringMatching(/^N:01000:/), expect.stringMatching(/^E:42501:not approved .*denied by dave@acme\.test: adversarial suite/)]);
      expect(adv.sql('SELECT count(*) FROM accounts')).toBe(before);
      expect(adv.sql("SELECT count(*) FROM accounts WHERE status = 'x'")).toBe('0');
    },
    chain(NAME2, DELETE2, 'denied', undefined),
  );
});

evidenceSuite();
