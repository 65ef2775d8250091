/**
 * Approvals across a fleet: two `vigil serve` appliances share one PostgreSQL 15 (separate from the
 * target). A command held on A is listed, decided and refused through B (its admin API and `vigil
 * approvals … --url B`), A releases it on the decision it reads from the store, and A's evidence shows
 * the decision by B's approver. Concurrent decisions on both appliances at the N-of-M edges settle once.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvidenceEvent } from '../../../shared/evidence/events.ts';
import { vigilAsync } from '../../helpers/cli.ts';
import { tempDir } from '../../helpers/evidence.ts';
import { admin, startFleet, type Fleet, type FleetNode } from '../../helpers/fleet.ts';
import { bot, later, rejection } from '../../helpers/fleet-client.ts';
import { exportAndVerify } from '../../helpers/gateway.ts';

let f: Fleet;
let A: FleetNode;
let B: FleetNode;

const POLICIES = `
policies:
  - name: ci
    match: { subjects: ['repo:acme/*', 'alice@acme.test'] }
    targets: [payments]
    rules:
      - name: two-leads
        when: { classes: [write], tables: [accounts] }
        action: require-approval
        approvers: { groups: [payments-leads], required: 2 }
    statements: { read: allow, transaction: allow, write: require-approval, default: block }
    approvers: { groups: [dba] }
`;

beforeAll(async () => {
  f = await startFleet({ policies: POLICIES, githubProvider: '    singleUseTokens: true\n' });
  [A, B] = f.nodes as [FleetNode, FleetNode];
}, 180_000);
afterAll(async () => {
  await f?.stop();
});

const count = (where: string) => f.target.psql(`SELECT count(*) FROM audit_scratch WHERE ${where}`, { database: 'payments' }).trim();
const balance = (id: number) => f.target.psql(`SELECT balance FROM accounts WHERE id = ${id}`, { database: 'payments' }).trim();
const approve = async (node: FleetNode, id: string, who: string, groups: string[], reason = 'ok') =>
  admin(node, 'POST', `/v1/approvals/${id}/approve`, await f.staffToken(who, groups), { reason });
const deny = async (node: FleetNode, id: string, who: string, groups: string[], reason: string) =>
  admin(node, 'POST', `/v1/approvals/${id}/deny`, await f.staffToken(who, groups), { reason });

const ids: Record<string, string> = {};

describe('a command held on appliance A', () => {
  it('is listed on B, approved through `vigil approvals approve --url B`, and A runs it', async () => {
    const b = await bot(f, A);
    const requested = b.nextRequest();
    const insert = later(b.c.query("INSERT INTO audit_scratch (v) VALUES ('fleet approved on B')"));
    const id = (ids['approved'] = await requested);
    expect(count("v = 'fleet approved on B'"), 'held: nothing reached the target').toBe('0');
    const dave = await f.staffToken('dave@acme.test', ['dba']);
    const listed = await admin(B, 'GET', '/v1/approvals?status=pending', dave);
    expect(listed.body.approvals.map((a: { id: string }) => a.id), 'B lists the request A holds').toContain(id);
    const tokenFile = join(tempDir(), 'token');
    writeFileSync(tokenFile, dave);
    const r = await vigilAsync(['approvals', 'approve', id, '--reason', 'CHG-77 via B', '--url', B.adminUrl, '--ca', B.adminCa, '--token-file', tokenFile]);
    expect([r.code, r.stdout.trim()]).toEqual([0, `approved ${id}: the held command runs now`]);
    expect((await insert).rowCount).toBe(1);
    expect(count("v = 'fleet approved on B'")).toBe('1');
    const shown = await admin(A, 'GET', `/v1/approvals/${id}`, dave);
    expect(shown.body.approval).toMatchObject({ status: 'approved', decisions: [{ approver: { subject: 'dave@acme.test' }, decision: 'approve', reason: 'CHG-77 via B' }] });
    await b.c.end();
  });

  it('denied through B: 42501 with B\'s approver and reason; the target is unchanged', async () => {
    const b = await bot(f, A);
    const requested = b.nextRequest();
    const del = later(b.c.query("DELETE FROM audit_scratch WHERE v = 'fleet approved on B'"));
    const id = (ids['denied'] = await requested);
    expect((await deny(B, id, 'erin@acme.test', ['dba'], 'not during the freeze')).status).toBe(200);
    expect(await rejection(del)).toEqual({ code: '42501', message: 'not approved (Vigil rule "ci/write"): denied by erin@acme.test: not during the freeze' });
    expect(count("v = 'fleet approved on B'")).toBe('1');
    expect((await b.c.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
    await b.c.end();
  });

  it('separation of duties holds on B: the requester cannot approve its own command there', async () => {
    const b = await bot(f, A, await f.staffToken('alice@acme.test', ['dba']));
    const requested = b.nextRequest();
    const insert = later(b.c.query("INSERT INTO audit_scratch (v) VALUES ('alice self')"));
    const id = await requested;
    const self = await approve(B, id, 'alice@acme.test', ['dba']);
    expect([self.status, self.body.error?.code]).toEqual([403, 'E_APPROVAL_SELF']);
    const outsider = await approve(B, id, 'mallory@acme.test', ['payments-leads']);
    expect([outsider.status, outsider.body.error?.code]).toEqual([403, 'E_APPROVAL_NOT_APPROVER']);
    expect(count("v = 'alice self'")).toBe('0');
    expect((await approve(A, id, 'dave@acme.test', ['dba'])).status).toBe(200);
    expect((await insert).rowCount).toBe(1);
    await b.c.end();
  });
});

describe('concurrent decisions on two appliances (row lock in the shared store)', () => {
  async function heldUpdate(id: number) {
    const b = await bot(f, A);
    const requested = b.nextRequest();
    const q = later(b.c.query(`UPDATE accounts SET balance = balance + 1 WHERE id = ${id}`));
    return { b, q, req: await requested };
  }

  it('2-of-M: two approvers at once on A and B both count, and the command runs once', async () => {
    const before = balance(1);
    const { b, q, req } = await heldUpdate(1);
    const [x, y] = await Promise.all([approve(A, req, 'lead1@acme.test', ['payments-leads']), approve(B, req, 'lead2@acme.test', ['payments-leads'])]);
    expect([x.status, y.status]).toEqual([200, 200]);
    expect((await q).rowCount).toBe(1);
    expect(Number(balance(1))).toBe(Number(before) + 1);
    const rec = (await admin(B, 'GET', `/v1/approvals/${req}`, await f.staffToken('dave@acme.test', ['dba']))).body.approval;
    expect(rec.status).toBe('approved');
    expect(rec.decisions).toHaveLength(2);
    await b.c.end();
  });

  it('2-of-M: three approvers at once — exactly two count, the third is refused as decided', async () => {
    const before = balance(2);
    const { b, q, req } = await heldUpdate(2);
    const rs = await Promise.all([
      approve(A, req, 'lead1@acme.test', ['payments-leads']),
      approve(B, req, 'lead2@acme.test', ['payments-leads']),
      approve(B, req, 'lead3@acme.test', ['payments-leads']),
    ]);
    expect(rs.map((r) => r.status).sort()).toEqual([200, 200, 409]);
    expect(rs.find((r) => r.status === 409)!.body.error.code).toBe('E_APPROVAL_DECIDED');
    expect((await q).rowCount).toBe(1);
    expect(Number(balance(2))).toBe(Number(before) + 1);
    await b.c.end();
  });

  it('the same approver on A and B at once counts once', async () => {
    const { b, q, req } = await heldUpdate(3);
    const rs = await Promise.all([approve(A, req, 'lead1@acme.test', ['payments-leads']), approve(B, req, 'lead1@acme.test', ['payments-leads'])]);
    expect(rs.map((r) => r.status).sort()).toEqual([200, 409]);
    expect(rs.find((r) => r.status === 409)!.body.error.code).toBe('E_APPROVAL_TWICE');
    const rec = (await admin(B, 'GET', `/v1/approvals/${req}`, await f.staffToken('dave@acme.test', ['dba']))).body.approval;
    expect([rec.status, rec.decisions.length]).toEqual(['pending', 1]);
    expect((await deny(A, req, 'lead2@acme.test', ['payments-leads'], 'cleanup')).status).toBe(200);
    expect((await rejection(q)).code).toBe('42501');
    await b.c.end();
  });

  it('the last approval and a denial at once: exactly one wins, and the target agrees with it', async () => {
    const before = balance(4);
    const { b, q, req } = await heldUpdate(4);
    expect((await approve(A, req, 'lead1@acme.test', ['payments-leads'])).status).toBe(200);
    const [yes, no] = await Promise.all([approve(A, req, 'lead2@acme.test', ['payments-leads']), deny(B, req, 'lead3@acme.test', ['payments-leads'], 'race')]);
    expect([yes.status, no.status].sort()).toEqual([200, 409]);
    const ran = yes.status === 200;
    const result = await q.then(() => 'ran', () => 'refused');
    expect(result).toBe(ran ? 'ran' : 'refused');
    expect(Number(balance(4))).toBe(Number(before) + (ran ? 1 : 0));
    await b.c.end();
  });
});

describe('single-use tokens are single-use across the fleet', () => {
  it('a token used on A is refused on B', async () => {
    const token = await f.token();
    const a = await bot(f, A, token);
    await a.c.end();
    const err = await rejection(bot(f, B, token));
    expect(err.message).toMatch(/already used/);
  });
});

describe("A's evidence", () => {
  it('shows the decision B took, by B\'s approver, before the release; the bundle verifies', async () => {
    await A.kill('SIGTERM');
    const { report, sessions } = await exportAndVerify({ configPath: A.configPath, dir: A.dir, trust: A.trust, auditor: f.auditor });
    expect(report.checks.filter((c) => c.status === 'fail'), JSON.stringify(report.checks.filter((c) => c.status === 'fail'))).toEqual([]);
    const events = [...sessions.values()].flat() as EvidenceEvent[];
    for (const n of f.nodes) expect(n.logs(), `${n.name} logged the shared store's password`).not.toContain(f.shared.password);
    const of = (id: string) => events.filter((e) => e.requestId === id);
    const approved = of(ids['approved']!);
    expect(approved.find((e) => e.type === 'approval.decided')).toMatchObject({ decision: 'approved', approver: { subject: 'dave@acme.test', issuer: 'https://login.acme.test' }, reason: 'CHG-77 via B', remaining: 0 });
    const decidedSeq = approved.find((e) => e.type === 'approval.decided')!.seq as number;
    const released = approved.find((e) => e.type === 'command.released');
    expect(released, 'the release is recorded').toBeDefined();
    expect(released!.seq as number).toBeGreaterThan(decidedSeq);
    expect(of(ids['denied']!).find((e) => e.type === 'approval.decided')).toMatchObject({ decision: 'denied', approver: { subject: 'erin@acme.test' }, reason: 'not during the freeze' });
    expect(of(ids['denied']!).some((e) => e.type === 'command.released'), 'a denied command was released').toBe(false);
    expect(report.approvals?.find((a) => a.requestId === ids['approved'])).toMatchObject({ outcome: 'approved', ran: true, hashMatches: true });
    expect(report.approvals?.find((a) => a.requestId === ids['denied'])).toMatchObject({ outcome: 'denied', ran: false });
  });
});
