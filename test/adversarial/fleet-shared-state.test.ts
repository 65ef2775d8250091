/**
 * Fail closed on the fleet's shared store (docs/fleet.md), with real processes: two `vigil serve`
 * appliances, A reaching the shared PostgreSQL through a proxy the test cuts. Each case asserts both
 * halves: the target did not change (or did, once, on a decision A read from the store) AND A's evidence
 * says what happened.
 *   - store stopped: a new held command is refused with a clear error; an allowed SELECT works and is
 *     recorded; once the store is back, held commands work again;
 *   - A silently partitioned while its command is held: B's approver approves in the store, A cannot read
 *     it and never releases; the hold ends at its expiry;
 *   - a decision taken while A was cut off: acted on when A reconnects and reads it, not before;
 *   - A's LISTEN connection killed (pg_terminate_backend) while held: not released; A reconnects and
 *     releases on the decision it then reads;
 *   - the store stopped while held: not released; expiry ends it, and the store learns it on return;
 *   - A killed -9 while held: B cannot approve (nobody waits), and A's restart cancels it in the store.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvidenceEvent } from '../../shared/evidence/events.ts';
import { PRESENCE_LOCK_CLASS } from '../../appliance/store/shared/postgres.ts';
import { admin, startFleet, type Fleet, type FleetNode } from '../helpers/fleet.ts';
import { bot, later, rejection, until } from '../helpers/fleet-client.ts';
import { exportAndVerify } from '../helpers/gateway.ts';

let f: Fleet;
let A: FleetNode;
let B: FleetNode;

const POLICIES = `
policies:
  - name: ci
    match: { subjects: ['repo:acme/*'] }
    targets: [payments]
    rules:
      - name: quick
        when: { classes: [write], tables: [probe] }
        action: require-approval
        approvers: { groups: [dba], expirySeconds: 5 }
    statements: { read: allow, transaction: allow, write: require-approval, default: block }
    approvers: { groups: [dba] }
`;

beforeAll(async () => {
  f = await startFleet({ policies: POLICIES, proxied: [0] });
  [A, B] = f.nodes as [FleetNode, FleetNode];
  f.target.psql('CREATE TABLE probe (v text); GRANT ALL ON probe TO svc_reporting', { database: 'payments' });
}, 180_000);
afterAll(async () => {
  await f?.stop();
});

const count = (table: string, v: string) => f.target.psql(`SELECT count(*) FROM ${table} WHERE v = '${v}'`, { database: 'payments' }).trim();
const dave = () => f.staffToken('dave@acme.test', ['dba']);
const approve = async (node: FleetNode, id: string) => admin(node, 'POST', `/v1/approvals/${id}/approve`, await dave(), { reason: 'ok' });
const sharedStatus = (id: string) => f.sharedSql(`SELECT status FROM vigil_approvals WHERE id = '${id}'`).trim();
const reconnected = (node: FleetNode, before: number) => until(`${node.name} to reconnect to the shared store`, () => (node.said('connected to the shared store') > before ? true : undefined), 30_000);
/** The store's view of an appliance's presence lock (held by its LISTEN connection). */
const presenceOf = (n: FleetNode) => `locktype = 'advisory' AND granted AND classid = ${PRESENCE_LOCK_CLASS} AND objid = ((hashtext('${n.applianceId}')::bigint) & 4294967295)::oid`;
const presence = (n: FleetNode) => f.sharedSql(`SELECT count(*) FROM pg_locks WHERE ${presenceOf(n)}`).trim();
/** Offered to approvers (listed by B): the owner's archive holds the request and the store says so. */
const offered = (id: string) =>
  until(`${id} to be offered`, async () => ((await admin(B, 'GET', '/v1/approvals?status=pending', await dave())).body.approvals?.some((a: { id: string }) => a.id === id) ? true : undefined));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const ids: Record<string, string> = {};

describe('the shared store is down', () => {
  it('a new held command is refused with a clear error; an allowed SELECT works; held commands work again once it is back', async () => {
    const b = await bot(f, A);
    const ups = A.said('connected to the shared store');
    const downs = A.said('lost the shared store');
    await f.stopShared();
    await until('A to notice', () => (A.said('lost the shared store') > downs ? true : undefined));
    const err = await rejection(b.c.query("INSERT INTO audit_scratch (v) VALUES ('refused while store down')"));
    expect(err.code).toBe('42501');
    expect(err.message).toMatch(/the approval request could not be created: the fleet's shared store \(PostgreSQL\) is unreachable/);
    expect(count('audit_scratch', 'refused while store down'), 'the refused command reached the target').toBe('0');
    expect((await b.c.query('SELECT count(*)::int AS n FROM customers -- during the outage')).rows).toEqual([{ n: 3 }]);

    await f.startShared();
    await reconnected(A, ups);
    const requested = b.nextRequest();
    const q = later(b.c.query("INSERT INTO audit_scratch (v) VALUES ('after the store returned')"));
    const id = await requested;
    await until('B to take the decision', async () => ((await approve(B, id)).status === 200 ? true : undefined), 30_000);
    expect((await q).rowCount).toBe(1);
    expect(count('audit_scratch', 'after the store returned')).toBe('1');
    await b.c.end();
  });
});

describe('partitioned from the shared store while a command is held', () => {
  it('silent partition: approved in the store by B, A never reads it and never releases; the hold expires', async () => {
    const b = await bot(f, A);
    const requested = b.nextRequest();
    const q = later(b.c.query("INSERT INTO probe VALUES ('partitioned')"));
    const id = (ids['partitioned'] = await requested);
    await offered(id);
    const ups = A.said('connected to the shared store');
    A.proxy!.cut('blackhole');
    try {
      // The store still believes A is connected (its backend and presence lock live on): B's decision is taken.
      expect((await approve(B, id)).status).toBe(200);
      expect(sharedStatus(id)).toBe('approved');
      const err = await rejection(q);
      expect(err.code).toBe('42501');
      expect(err.message).toMatch(/no decision before/);
      expect(count('probe', 'partitioned'), 'A released a command on a decision it never read').toBe('0');
    } finally {
      A.proxy!.restore();
    }
    await reconnected(A, ups);
    await sleep(500);
    expect(count('probe', 'partitioned')).toBe('0');
    await b.c.end();
  });

  it('a decision taken while A was cut off is not acted on until A reads it: released at the reconnect, not before', async () => {
    const b = await bot(f, A);
    const requested = b.nextRequest();
    const q = later(b.c.query("INSERT INTO audit_scratch (v) VALUES ('decided during the partition')"));
    const id = (ids['reconciled'] = await requested);
    await offered(id);
    const ups = A.said('connected to the shared store');
    A.proxy!.cut('blackhole');
    try {
      expect((await approve(B, id)).status).toBe(200);
      await sleep(1500);
      expect(count('audit_scratch', 'decided during the partition'), 'released before A could read the decision').toBe('0');
    } finally {
      A.proxy!.restore();
    }
    await reconnected(A, ups);
    expect((await q).rowCount).toBe(1);
    expect(count('audit_scratch', 'decided during the partition')).toBe('1');
    await b.c.end();
  });

  it("A's LISTEN connection killed: still held, never released without a decision; released on the one it reads after reconnecting", async () => {
    const b = await bot(f, A);
    const requested = b.nextRequest();
    const q = later(b.c.query("INSERT INTO audit_scratch (v) VALUES ('backend killed')"));
    const id = (ids['terminated'] = await requested);
    await offered(id);
    const ups = A.said('connected to the shared store');
    const killed = f.sharedSql(`SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE ${presenceOf(A)}`);
    expect(killed.trim()).toBe('1');
    await reconnected(A, ups);
    await sleep(300);
    expect(count('audit_scratch', 'backend killed'), 'released without a decision').toBe('0');
    await until('B to take the decision', async () => ((await approve(B, id)).status === 200 ? true : undefined));
    expect((await q).rowCount).toBe(1);
    expect(count('audit_scratch', 'backend killed')).toBe('1');
    await b.c.end();
  });

  it('the store stopped while held: not released; the hold expires, and the store learns it when back', async () => {
    const b = await bot(f, A);
    const requested = b.nextRequest();
    const q = later(b.c.query("INSERT INTO probe VALUES ('store stopped while held')"));
    const id = (ids['stopped'] = await requested);
    await offered(id);
    const ups = A.said('connected to the shared store');
    await f.stopShared();
    const err = await rejection(q);
    expect(err.message).toMatch(/no decision before/);
    expect(count('probe', 'store stopped while held')).toBe('0');
    await f.startShared();
    await reconnected(A, ups);
    await until('the store to hold the expiry', () => (sharedStatus(id) === 'expired' ? true : undefined));
    await b.c.end();
  });
});

describe('the appliance holding a command dies', () => {
  it('B cannot approve what nobody waits for; the restart cancels it in the store', async () => {
    const b = await bot(f, A);
    const requested = b.nextRequest();
    later(b.c.query("INSERT INTO audit_scratch (v) VALUES ('held at kill -9')"));
    const id = (ids['killed'] = await requested);
    await offered(id);
    await A.kill('SIGKILL');
    await until("the store to drop A's presence lock", () => (presence(A) === '0' ? true : undefined));
    const r = await approve(B, id);
    expect([r.status, r.body.error?.code]).toEqual([409, 'E_APPROVAL_NOT_WAITING']);
    expect(sharedStatus(id)).toBe('pending');
    await A.start();
    await until('A to cancel it in the store', () => (sharedStatus(id) === 'cancelled' ? true : undefined));
    const shown = (await admin(B, 'GET', `/v1/approvals/${id}`, await dave())).body.approval;
    expect(shown).toMatchObject({ status: 'cancelled', outcomeReason: 'the appliance restarted while the request was pending; the held connection was lost' });
    expect(count('audit_scratch', 'held at kill -9')).toBe('0');
  });
});

describe("A's evidence says what happened", () => {
  it('the refusal, the recorded SELECT, the expiries without a release, the release after reconnecting', async () => {
    await A.kill('SIGTERM');
    const { report, sessions } = await exportAndVerify({ configPath: A.configPath, dir: A.dir, trust: A.trust, auditor: f.auditor });
    const failed = report.checks.filter((c) => c.status === 'fail');
    for (const n of f.nodes) expect(n.logs(), `${n.name} logged the shared store's password`).not.toContain(f.shared.password);
    expect(failed, JSON.stringify(failed)).toEqual([]);
    const events = [...sessions.values()].flat() as EvidenceEvent[];
    const cmd = (text: string) => events.find((e) => e.type === 'command' && String(e.text).includes(text));
    const inSession = (c: EvidenceEvent | undefined) => [...sessions.entries()].find(([, evs]) => evs.includes(c as EvidenceEvent))?.[1] ?? [];
    const rel = (c: EvidenceEvent | undefined) => inSession(c).filter((e) => e.command === c?.id);

    const refused = cmd('refused while store down');
    expect(refused, 'the refused command is recorded').toBeDefined();
    const refusal = rel(refused).filter((e) => e.type === 'decision');
    expect(refusal.map((e) => e.decision)).toEqual(['hold', 'denied']);
    expect(String(refusal[1]!.reason)).toMatch(/shared store \(PostgreSQL\) is unreachable/);
    expect(rel(refused).some((e) => e.type === 'command.released')).toBe(false);

    const select = cmd('during the outage');
    expect(rel(select).map((e) => e.type)).toEqual(expect.arrayContaining(['decision', 'result']));
    expect(rel(select).find((e) => e.type === 'decision')!.decision).toBe('allow');

    for (const k of ['partitioned', 'stopped']) {
      const evs = events.filter((e) => e.requestId === ids[k]);
      expect(evs.map((e) => e.type), k).toEqual(expect.arrayContaining(['approval.requested', 'approval.expired', 'decision']));
      expect(evs.some((e) => e.type === 'approval.decided' || e.type === 'command.released'), `${k}: a decision A never read, or a release`).toBe(false);
      expect(evs.find((e) => e.type === 'decision')!.decision).toBe('expired');
    }
    for (const k of ['terminated', 'reconciled']) {
      const evs = events.filter((e) => e.requestId === ids[k]);
      expect(evs.map((e) => e.type), k).toEqual(expect.arrayContaining(['approval.requested', 'approval.decided', 'command.released']));
      expect(report.approvals?.find((a) => a.requestId === ids[k]), k).toMatchObject({ outcome: 'approved', ran: true, hashMatches: true });
    }
    expect(report.approvals?.find((a) => a.requestId === ids['partitioned'])).toMatchObject({ ran: false });
  });
});
