/**
 * What the auditor gets from the PostgreSQL gateway: one verifiable archive per session — successful,
 * refused and failed ones — with identity, statements, decisions, masked parameters and rows, and never
 * a token, the target password, a SCRAM exchange or a clear card number (decrypted here to check).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { findCardData } from '../../../shared/pan/index.ts';
import type { EvidenceEvent } from '../../../shared/evidence/events.ts';
import type { VerificationReport } from '../../../shared/evidence/verify/report.ts';
import { TARGET_PASSWORD, exportAndVerify, startGatewayFixture, type GatewayFixture } from '../../helpers/gateway.ts';

let f: GatewayFixture;
let report: VerificationReport;
const events = new Map<string, EvidenceEvent[]>();
const tokens: string[] = [];
let logs = '';

beforeAll(async () => {
  f = await startGatewayFixture({
    extraTargets: `  - name: archive-db
    protocol: postgres
    host: 127.0.0.1
    port: 1
    database: nothing
    user: nobody
    connectTimeoutMs: 500
`,
  });
  const good = await f.token();
  tokens.push(good);
  const c = new pg.Client({ host: '127.0.0.1', port: f.port, user: 'bot', database: 'payments', password: good, ssl: { rejectUnauthorized: false } });
  await c.connect();
  await c.query('SELECT id, card_number, cvv FROM customers ORDER BY id');
  await c.query("INSERT INTO customers (id, name, card_number, cvv, note) VALUES (10, 'Literal Person', '4012888888881881', '999', 'x')");
  await c.query('INSERT INTO customers (id, name, card_number, cvv, note) VALUES ($1, $2, $3, $4, $5)', [11, 'Param Person', '6011111111111117', '321', 'card 5555555555554444']);
  await c.query('SELECT id FROM customers WHERE cvv = $1', ['321']);
  await c.query('DROP TABLE customers').catch(() => undefined);
  await c.end();
  const bad = await f.token({ audience: 'not-vigil' });
  tokens.push(bad);
  await f.psql('SELECT 1', { token: bad });
  await f.psql('SELECT 1', { database: 'archive-db' });
  logs = f.logs();
  await f.gateway.stop();
  const exported = await exportAndVerify(f);
  report = exported.report;
  for (const [id, evs] of exported.sessions) events.set(id, evs);
  await f.pg.stop();
}, 180_000);

const all = () => [...events.values()].flat();
const sessionWith = (pred: (e: EvidenceEvent) => boolean) => [...events.values()].find((evs) => evs.some(pred)) ?? [];

describe('the exported bundle', () => {
  it('verifies completely with the auditor key', () => {
    expect(report.checks.filter((c) => c.status !== 'pass')).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.sessions.map((s) => s.status)).toEqual(['complete', 'complete', 'complete']); // served, refused identity, target down
  });

  it('records identity (issuer, subject, groups, jti, keyed token hash) — never the token', () => {
    const id = all().find((e) => e.type === 'identity.verified')!;
    expect(id).toMatchObject({ method: 'oidc-jwt', issuer: 'https://token.actions.githubusercontent.com', subject: 'repo:acme/payments:ref:refs/heads/main', groups: expect.arrayContaining(['repo:acme/payments']) });
    expect(id.tokenId).toMatch(/^[0-9a-f-]{36}$/);
    expect(id.tokenHash).toMatch(/^b2k:[0-9a-f]{64}$/);
    const session = report.sessions.find((s) => s.context?.identity?.tokenHash === id.tokenHash);
    expect(session?.context?.target).toMatchObject({ name: 'payments', user: 'svc_reporting', credentialRef: 'file:secrets/payments.password' });
    expect(session?.context?.client?.tls).toMatch(/^TLSv1\.[23] /);
  });

  it('records statements with classification, decisions, masked literals and parameters', () => {
    const commands = all().filter((e) => e.type === 'command');
    expect(commands.map((e) => e.text)).toContain("INSERT INTO customers (id, name, card_number, cvv, note) VALUES (10, 'Literal Person', '401288******1881', '[REDACTED]', 'x')");
    const bound = commands.find((e) => Array.isArray(e.params) && (e.params as unknown[]).includes('Param Person'))!;
    expect(bound.params).toEqual(['11', 'Param Person', '601111******1117', '[REDACTED]', 'card 555555******4444']);
    expect(commands.find((e) => e.text === 'SELECT id FROM customers WHERE cvv = $1' && e.kind === 'sql')?.params).toEqual(['[REDACTED]']);
    const drop = commands.find((e) => e.text === 'DROP TABLE customers')!;
    expect(drop.classification).toEqual([{ class: 'ddl', command: 'DROP TABLE', tags: ['drop'], tables: ['public.customers'] }]); // resolved as the server resolves it
    expect(all().find((e) => e.type === 'decision' && e.command === drop.id && e.decision === 'block')).toMatchObject({ rule: 'ci-readonly/no-destructive-ddl' });
  });

  it('records results: columns, masked rows, counts, timings', () => {
    const r = all().find((e) => e.type === 'result' && Array.isArray(e.columns) && (e.columns as string[]).includes('cvv'))!;
    expect(r.columns).toEqual(['id', 'card_number', 'cvv']);
    expect(r.rows).toEqual([
      ['1', '411111******1111', '[REDACTED]'],
      ['2', '555555******4444', '[REDACTED]'],
      ['3', '378282*****0005', '[REDACTED]'],
    ]);
    expect(r).toMatchObject({ rowCount: 3, rowsOmitted: 0, tag: 'SELECT 3' });
    expect(r.durationMs).toBeGreaterThan(0);
    expect(all().find((e) => e.type === 'masking' && e.command === r.command)).toMatchObject({ kinds: { pan: 3, redacted: 3 } });
  });

  it('records a refused identity as its own session, with the reason', () => {
    const s = sessionWith((e) => e.type === 'identity.rejected');
    expect(s.find((e) => e.type === 'identity.rejected')).toMatchObject({ method: 'oidc-jwt', code: 'E_ID_AUDIENCE' });
    expect(s.find((e) => e.type === 'session.close')?.reason).toMatch(/^refused: /);
  });

  it('records a session whose target was down as failed, with 08006', () => {
    const s = sessionWith((e) => e.type === 'error' && e.code === '08006');
    expect(s.find((e) => e.type === 'error')?.message).toMatch(/could not open the session on target archive-db: cannot connect to 127\.0\.0\.1:1/);
  });

  it('holds no token, no target password, no SCRAM exchange and no clear card number', () => {
    const text = JSON.stringify(all());
    for (const t of tokens) {
      expect(text).not.toContain(t);
      expect(text).not.toContain(t.split('.')[2]!);
    }
    expect(text).not.toContain(TARGET_PASSWORD);
    expect(text).not.toMatch(/SCRAM|r=.*,s=.*,i=\d+|p=[A-Za-z0-9+/]{40}/);
    expect(findCardData(text)).toEqual([]);
    const raw = readFileSync(join(f.dir, 'bundle.vigil'));
    expect(raw.includes(Buffer.from(TARGET_PASSWORD))).toBe(false);
  });

  it('the appliance log holds no token, no password and no clear card number', () => {
    expect(logs.length).toBeGreaterThan(0);
    for (const t of tokens) expect(logs).not.toContain(t);
    expect(logs).not.toContain(TARGET_PASSWORD);
    expect(findCardData(logs)).toEqual([]);
  });
});
