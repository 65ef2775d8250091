/**
 * Just-in-time approval of one held command, end to end: a CI bot's write is held (the connection stays
 * open, the bot gets a NOTICE with the request id), human approvers decide with their own tokens through
 * the `vigil approvals` command and the admin API, webhooks announce it, and everything is evidence.
 */
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvidenceEvent } from '../../../shared/evidence/events.ts';
import { verifyBundle } from '../../../shared/evidence/verify/verify-bundle.ts';
import { Appliance } from '../../../appliance/appliance.ts';
import { openFileSource } from '../../../appliance/evidence/file-source.ts';
import { exportBundle } from '../../../appliance/export/export-bundle.ts';
import { startGatewayFixture, type GatewayFixture } from '../../helpers/gateway.ts';
import { vigilAsync } from '../../helpers/cli.ts';
import { tempDir } from '../../helpers/evidence.ts';

let f: GatewayFixture;
let hooks: Server;
const received: { path: string; body: Record<string, unknown> }[] = [];
let failing = 0;

const POLICIES = `
policies:
  - name: ci-payments
    match: { subjects: ['repo:acme/*', 'alice@acme.test'] }
    targets: ['payments*']
    rules:
      - name: quick-expiry
        when: { classes: [write], tables: [pgbench_history] }
        action: require-approval
        approvers: { groups: [dba], expirySeconds: 5 }
      - name: refunds-two-approvers
        when: { classes: [write], tables: [accounts] }
        action: require-approval
        reason: changes to accounts need two payments leads
        approvers: { groups: [payments-leads], required: 2 }
    statements: { read: allow, transaction: allow, write: require-approval, default: block }
    approvers: { groups: [dba] }
`;

beforeAll(async () => {
  hooks = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      if (req.url === '/broken') {
        failing++;
        res.writeHead(500).end();
        return;
      }
      received.push({ path: req.url ?? '', body: JSON.parse(body) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => hooks.listen(0, '127.0.0.1', () => r()));
  const hp = (hooks.address() as { port: number }).port;
  f = await startGatewayFixture({
    policies: POLICIES,
    beforeStart: (pg) => {
      pg.psql('CREATE TABLE pgbench_history (filler text); GRANT ALL ON pgbench_history TO svc_reporting', { database: 'payments' });
    },
    extraConfig: `approvals:
  expirySeconds: 120
  webhooks:
    - { url: 'http://127.0.0.1:${hp}/slack', format: slack }
    - { url: 'http://127.0.0.1:${hp}/json', format: json }
    - { url: 'http://127.0.0.1:${hp}/broken', format: json, attempts: 3, backoffMs: 20 }
`,
  });
}, 120_000);
afterAll(async () => {
  await f?.stop().catch(() => undefined);
  hooks?.close();
});

async function bot(subject?: string): Promise<{ c: pg.Client; notices: string[]; nextRequest: () => Promise<string> }> {
  const password = subject ? await f.staffToken(subject, ['dba']) : await f.token();
  const c = new pg.Client({ host: '127.0.0.1', port: f.port, user: 'bot', database: 'payments', password, ssl: { rejectUnauthorized: false } });
  await c.connect();
  const notices: string[] = [];
  const waiters: ((id: string) => void)[] = [];
  c.on('notice', (n) => {
    notices.push(`${n.message} | ${n.hint ?? ''}`);
    const id = /request (apr_[\w-]+)/.exec(n.message ?? '')?.[1];
    if (id) waiters.shift()?.(id);
  });
  return { c, notices, nextRequest: () => new Promise((r) => waiters.push(r)) };
}

async function approver(subject: string, groups: string[]): Promise<string> {
  const path = join(tempDir(), 'token');
  writeFileSync(path, await f.staffToken(subject, groups));
  return path;
}

function cli(args: string[], tokenFile: string) {
  return vigilAsync(['approvals', ...args, '--url', f.adminUrl, '--ca', f.adminCa, '--token-file', tokenFile]);
}

function api(method: string, path: string, token: string, body?: object): Promise<{ status: number; json: Record<string, any> }> {
  return new Promise((resolve, reject) => {
    const payload = body ? JSON.stringify(body) : undefined;
    const req = request(`${f.adminUrl}${path}`, { method, ca: readFileSync(f.adminCa), headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** A query whose failure is expected later: handled from the start so it never counts as unhandled. */
function later<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

async function rejection(p: Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return { code: (e as { code?: string }).code, message: (e as Error).message };
  }
  throw new Error('expected the statement to fail');
}

describe('a held command', () => {
  it('waits with a NOTICE naming the request; approved through the CLI, it runs', async () => {
    const b = await bot();
    const requested = b.nextRequest();
    const insert = later(b.c.query("INSERT INTO audit_scratch (v) VALUES ('approved write') -- vigil:justification=CHG-1001 nightly fix"));
    const id = await requested;
    expect(b.notices[0]).toMatch(new RegExp(`Vigil is holding this command for approval \\(request ${id}\\); it runs once approved, until .*Z \\| an approver runs: vigil approvals approve ${id} --url https://127\\.0\\.0\\.1:\\d+`));
    expect(f.pg.psql("SELECT count(*) FROM audit_scratch WHERE v = 'approved write'", { database: 'payments' }).trim()).toBe('0');
    const dave = await approver('dave@acme.test', ['dba']);
    const show = await cli(['show', id], dave);
    expect(show.stdout).toMatch(/PENDING \(0\/1 approvals/);
    expect(show.stdout).toMatch(/justified {3}CHG-1001 nightly fix/);
    const r = await cli(['approve', id, '--reason', 'matches CHG-1001'], dave);
    expect([r.code, r.stdout.trim()]).toEqual([0, `approved ${id}: the held command runs now`]);
    expect((await insert).rowCount).toBe(1);
    expect(f.pg.psql("SELECT count(*) FROM audit_scratch WHERE v = 'approved write'", { database: 'payments' }).trim()).toBe('1');
    await b.c.end();
  });

  it('denied: 42501 with the approver and reason; the session continues', async () => {
    const b = await bot();
    const requested = b.nextRequest();
    const del = later(b.c.query('DELETE FROM audit_scratch'));
    const id = await requested;
    const r = await cli(['deny', id, '--reason', 'not during the freeze'], await approver('dave@acme.test', ['dba']));
    expect(r.stdout.trim()).toBe(`denied ${id}: the client gets your reason`);
    expect(await rejection(del)).toEqual({ code: '42501', message: `not approved (Vigil rule "ci-payments/write"): denied by dave@acme.test: not during the freeze` });
    expect((await b.c.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
    await b.c.end();
  });

  it('no decision before expiry: refused', async () => {
    const b = await bot();
    const requested = b.nextRequest();
    const upd = later(b.c.query("UPDATE pgbench_history SET filler = 'x'"));
    await requested;
    expect(await rejection(upd)).toMatchObject({ code: '42501', message: expect.stringMatching(/no decision before \d{4}-/) });
    await b.c.end();
  });

  it('separation of duties: the requester cannot approve its own command', async () => {
    const b = await bot('alice@acme.test');
    const requested = b.nextRequest();
    const ins = later(b.c.query("INSERT INTO audit_scratch (v) VALUES ('self')"));
    const id = await requested;
    const self = await cli(['approve', id], await approver('alice@acme.test', ['dba']));
    expect([self.code, self.stderr]).toEqual([1, expect.stringContaining('the requester cannot approve or deny its own request (separation of duties)')]);
    await cli(['deny', id, '--reason', 'self-approval attempt'], await approver('dave@acme.test', ['dba']));
    await rejection(ins);
    await b.c.end();
  });

  it('only approver groups: outside every group is 403; in another rule\'s group is refused for this one', async () => {
    const b = await bot();
    const requested = b.nextRequest();
    const refund = later(b.c.query("UPDATE accounts SET status = 'refunded' WHERE id = 7"));
    const id = await requested;
    const marketing = await api('POST', `/v1/approvals/${id}/approve`, await f.staffToken('mallory@acme.test', ['marketing']));
    expect([marketing.status, marketing.json.error.code]).toEqual([403, 'E_NOT_APPROVER']);
    const dba = await api('POST', `/v1/approvals/${id}/approve`, await f.staffToken('dave@acme.test', ['dba']));
    expect([dba.status, dba.json.error.code]).toEqual([403, 'E_APPROVAL_NOT_APPROVER']);
    expect(dba.json.error.message).toMatch(/not in an approver group for rule ci-payments\/refunds-two-approvers \(payments-leads\)/);
    const noToken = await api('GET', '/v1/approvals', 'not-a-token');
    expect(noToken.status).toBe(401);
    // N-of-M: two different payments leads.
    const first = await cli(['approve', id, '--reason', 'refund #7 checked'], await approver('lea@acme.test', ['payments-leads']));
    expect(first.stdout.trim()).toBe(`approved ${id}: waiting for 1 more approver`);
    const twice = await cli(['approve', id], await approver('lea@acme.test', ['payments-leads']));
    expect(twice.stderr).toMatch(/you already decided request .*; it needs 2 different approvers/);
    expect(f.pg.psql("SELECT status FROM accounts WHERE id = 7", { database: 'payments' }).trim()).toBe('open');
    const second = await cli(['approve', id, '--reason', 'second pair of eyes'], await approver('max@acme.test', ['payments-leads']));
    expect(second.stdout.trim()).toBe(`approved ${id}: the held command runs now`);
    expect((await refund).rowCount).toBe(1);
    await b.c.end();
  });

  it('an approval is used once: replaying its id cannot release another command', async () => {
    const b = await bot();
    const dave = await approver('dave@acme.test', ['dba']);
    let requested = b.nextRequest();
    const one = later(b.c.query("INSERT INTO audit_scratch (v) VALUES ('one')"));
    const first = await requested;
    await cli(['approve', first], dave);
    await one;
    requested = b.nextRequest();
    const two = later(b.c.query("INSERT INTO audit_scratch (v) VALUES ('two')"));
    const second = await requested;
    expect(second).not.toBe(first);
    const replay = await cli(['approve', first], dave);
    expect(replay.stderr).toMatch(new RegExp(`request ${first} is already approved; an approval is used once, for its own command`));
    expect(f.pg.psql("SELECT count(*) FROM audit_scratch WHERE v = 'two'", { database: 'payments' }).trim()).toBe('0');
    await cli(['deny', second, '--reason', 'no'], dave);
    await rejection(two);
    await b.c.end();
  });

  it('a client that disconnects cancels its request', async () => {
    const b = await bot();
    const requested = b.nextRequest();
    b.c.query("INSERT INTO audit_scratch (v) VALUES ('gone')").catch(() => undefined);
    const id = await requested;
    b.c.on('error', () => undefined); // the test cuts the connection on purpose
    b.c.connection.stream.destroy();
    for (let i = 0; i < 50; i++) {
      const r = await api('GET', `/v1/approvals/${id}`, await f.staffToken('dave@acme.test', ['dba']));
      if (r.json.approval.status !== 'pending') break;
      await new Promise((res) => setTimeout(res, 50));
    }
    const r = await api('GET', `/v1/approvals/${id}`, await f.staffToken('dave@acme.test', ['dba']));
    expect(r.json.approval).toMatchObject({ status: 'cancelled', outcomeReason: 'the client went away while the request was pending' });
    const late = await cli(['approve', id], await approver('dave@acme.test', ['dba']));
    expect(late.stderr).toMatch(/is already cancelled/);
  });

  it('webhooks announce requests and decisions; a failing receiver is retried and never blocks', async () => {
    const slack = received.filter((r) => r.path === '/slack').map((r) => String(r.body['text']));
    expect(slack.some((t) => /^:hourglass: Approval needed \(apr_[\w-]+\) for repo:acme\/payments:ref:refs\/heads\/main → payments, rule ci-payments\/write:/.test(t))).toBe(true);
    expect(slack.some((t) => /:white_check_mark: dave@acme\.test approved apr_/.test(t))).toBe(true);
    expect(slack.some((t) => /:alarm_clock: apr_.* expired without a decision/.test(t))).toBe(true);
    const json = received.filter((r) => r.path === '/json').map((r) => r.body);
    expect(json.some((b) => b['event'] === 'requested' && (b['approval'] as { commandHash: string }).commandHash.length === 64)).toBe(true);
    expect(failing).toBeGreaterThanOrEqual(3);
    expect(f.logs()).toMatch(/approval webhook delivery failed/);
  });
});

describe('evidence of approvals', () => {
  it('every request and decision is in the archive and the log, bound to its command by hash', async () => {
    await f.gateway.stop();
    const app = await Appliance.open(f.configPath);
    const out = join(f.dir, 'approvals.vigil');
    await exportBundle(app, { out });
    const logTypes = app.db.prepare('SELECT type FROM log_entries').pluck().all() as string[];
    await app.close();
    expect(logTypes).toEqual(expect.arrayContaining(['approval.requested', 'approval.decided', 'approval.expired', 'approval.cancelled']));
    const events: EvidenceEvent[] = [];
    const src = openFileSource(out);
    const report = await verifyBundle(src, f.trust, { auditor: f.auditor, onEvents: (_, evs) => events.push(...evs) });
    src.close();
    expect(report.ok).toBe(true);
    const check = report.checks.find((c) => c.id === 'approvals');
    expect(check).toMatchObject({ status: 'pass', summary: expect.stringMatching(/held command\(s\) in \d+ decrypted archive\(s\): \d+ approved, each bound by its hash/) });
    expect(check?.covered).toBe(check?.total);
    const register = report.approvals ?? [];
    expect(register.every((a) => a.hashMatches)).toBe(true);
    expect(register.filter((a) => a.outcome === 'approved').every((a) => a.ran)).toBe(true);
    expect(new Set(register.map((a) => a.outcome))).toEqual(new Set(['approved', 'denied', 'expired', 'cancelled']));
    const requests = events.filter((e) => e.type === 'approval.requested');
    expect(requests.length).toBeGreaterThanOrEqual(7);
    for (const r of requests) {
      const outcome = events.find((e) => e.type === 'decision' && e.requestId === r.requestId);
      expect(outcome?.commandHash).toBe(r.commandHash);
      for (const d of events.filter((e) => e.type === 'approval.decided' && e.requestId === r.requestId)) expect(d.commandHash).toBe(r.commandHash);
    }
    const refund = requests.find((r) => (r.approvers as { required: number }).required === 2)!;
    const decided = events.filter((e) => e.type === 'approval.decided' && e.requestId === refund.requestId).map((e) => [(e.approver as { subject: string }).subject, e.reason, e.remaining]);
    expect(decided).toEqual([
      ['lea@acme.test', 'refund #7 checked', 1],
      ['max@acme.test', 'second pair of eyes', 0],
    ]);
    expect(events.find((e) => e.type === 'decision' && e.requestId === refund.requestId)).toMatchObject({ decision: 'approved', approvedBy: ['lea@acme.test', 'max@acme.test'] });
  });
});
