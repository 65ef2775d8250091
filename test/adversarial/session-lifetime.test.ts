/**
 * Sessions do not outlive what admitted them (issue 8, item 11): a session ends when its token expires
 * (plus the provider's clock tolerance), when it idles longer than the policy's limit, and at its maximum
 * duration; a statement running at that moment is cancelled on the target; a single-use token is refused
 * the second time, also after the gateway restarts. Real PostgreSQL 15, the real gateway, node-postgres.
 */
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvidenceEvent } from '../../shared/evidence/events.ts';
import type { VerificationReport } from '../../shared/evidence/verify/report.ts';
import { Gateway } from '../../appliance/gateway.ts';
import { AUDIENCE, startGatewayFixture, type GatewayFixture, exportAndVerify } from '../helpers/gateway.ts';

const TOLERANCE = 1;
// pg_sleep is class read today and may become `resource`: both allowed, everything else blocked.
const POLICIES = `
policies:
  - name: expiry
    match: { subjects: ['repo:acme/expiry*'] }
    targets: [payments]
    statements: { read: allow, resource: allow, write: allow, default: block }
    limits: { idleSeconds: 60 }
  - name: idle
    match: { subjects: ['repo:acme/idle*'] }
    targets: [payments]
    statements: { read: allow, resource: allow, default: block }
    limits: { idleSeconds: 2 }
  - name: max
    match: { subjects: ['repo:acme/max*'] }
    targets: [payments]
    statements: { read: allow, resource: allow, default: block }
    limits: { idleSeconds: 60, maxSessionSeconds: 3 }
  - name: ci
    match: { subjects: ['repo:acme/*'] }
    targets: [payments]
    statements: { read: allow, resource: allow, default: block }
`;

let f: GatewayFixture;
/** The gateway after the restart (the fixture's own is stopped by then). */
let restarted: Gateway | undefined;

beforeAll(async () => {
  f = await startGatewayFixture({ policies: POLICIES, githubProvider: `    clockToleranceSeconds: ${TOLERANCE}\n    singleUseTokens: true\n` });
}, 120_000);

afterAll(async () => {
  await restarted?.stop();
  await f?.gateway.stop();
  await f?.pg.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Watched {
  client: pg.Client;
  /** The error the gateway ended the session with, and when (Date.now()). */
  ended: Promise<{ error: Error & { code?: string; severity?: string }; at: number }>;
}

async function connect(token: string, port = f.port): Promise<Watched> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'bot', database: 'payments', password: token, ssl: { rejectUnauthorized: false } });
  const ended = new Promise<{ error: Error; at: number }>((resolve) => client.on('error', (error) => resolve({ error, at: Date.now() })));
  await client.connect();
  return { client, ended };
}

/** Connecting must fail; resolves with the error. */
async function refused(token: string, port = f.port): Promise<Error & { code?: string }> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'bot', database: 'payments', password: token, ssl: { rejectUnauthorized: false } });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (e) {
    return e as Error & { code?: string };
  }
  await client.end();
  throw new Error('the gateway accepted a connection it should have refused');
}

const target = (sql: string) => f.pg.psql(sql, { database: 'payments' }).trim();
const expOf = (token: string) => (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number; jti?: string }).exp * 1000;

describe('a session ends when its token expires', () => {
  it('works at 1 s, ends just after expiry + tolerance with FATAL 57P01, and nothing runs after', async () => {
    const token = await f.token({ repository: 'acme/expiry', lifetimeSeconds: 3 });
    const exp = expOf(token);
    const s = await connect(token);
    await sleep(Math.max(0, exp - 2_000 - Date.now())); // about 1 s into the token's life
    expect((await s.client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);

    const { error, at } = await s.ended;
    expect(error.code).toBe('57P01');
    expect(error.severity).toBe('FATAL');
    expect(error.message).toBe(`your identity token expired at ${new Date(exp).toISOString().replace('.000Z', 'Z')}; connect again with a fresh token`);
    expect(at).toBeGreaterThanOrEqual(exp + TOLERANCE * 1000);
    expect(at).toBeLessThan(exp + TOLERANCE * 1000 + 1_500);

    await sleep(Math.max(0, exp + 3_000 - Date.now())); // 6 s after the token was minted
    await expect(s.client.query("INSERT INTO audit_scratch (v) VALUES ('after expiry')")).rejects.toThrow();
    expect(target("SELECT count(*) FROM audit_scratch WHERE v = 'after expiry'")).toBe('0');
    // And the same token cannot open a new session.
    const again = await refused(token);
    expect(again.code).toBe('28P01');
    expect(again.message).toMatch(/^token expired at /);
  });

  it('cancels a statement running at expiry: it never commits on the target', async () => {
    const token = await f.token({ repository: 'acme/expiry-running', lifetimeSeconds: 3 });
    const exp = expOf(token);
    const s = await connect(token);
    // Runs past the token's end: would insert at about 9 s if closing the connection alone were relied on.
    const running = s.client.query("INSERT INTO audit_scratch (v) SELECT 'running at expiry' FROM pg_sleep(7)");
    const outcome = await running.then(
      () => 'completed',
      (e: Error & { code?: string }) => e.code ?? e.message,
    );
    expect(outcome).toBe('57P01');
    expect(Date.now()).toBeLessThan(exp + TOLERANCE * 1000 + 1_500);
    await sleep(Math.max(0, exp + 7_000 - Date.now()));
    expect(target("SELECT count(*) FROM audit_scratch WHERE v = 'running at expiry'")).toBe('0');
    expect(target("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%running at expiry%' AND pid <> pg_backend_pid()")).toBe('0');
  }, 30_000);
});

describe('idle limit (limits.idleSeconds: 2)', () => {
  it('ends an idle session with FATAL 57P05 naming the limit', async () => {
    const started = Date.now();
    const s = await connect(await f.token({ repository: 'acme/idle' }));
    await s.client.query('SELECT 1');
    const quietFrom = Date.now();
    const { error, at } = await s.ended;
    expect(error.code).toBe('57P05');
    expect(error.message).toBe('the session was idle for more than 2 s (policy limits.idleSeconds); connect again');
    // The gateway's quiet clock starts when it relays the answer, a little before this client has read it.
    expect(at - quietFrom).toBeGreaterThanOrEqual(1_900);
    expect(at - started).toBeLessThan(5_000);
  });

  it('does not end a session running pg_sleep(3), and counts idleness from when it finished', async () => {
    const s = await connect(await f.token({ repository: 'acme/idle-busy' }));
    let endedAt: number | undefined;
    void s.ended.then((e) => (endedAt = e.at));
    const r = await s.client.query('SELECT true AS slept FROM pg_sleep(3)');
    expect(r.rows).toEqual([{ slept: true }]);
    const finished = Date.now();
    expect(endedAt).toBeUndefined();
    const { error, at } = await s.ended;
    expect(error.code).toBe('57P05');
    expect(at - finished).toBeGreaterThanOrEqual(1_900);
  });
});

describe('maximum duration (limits.maxSessionSeconds: 3)', () => {
  it('ends a busy, never idle session at 3 s with FATAL 57P01', async () => {
    const started = Date.now();
    const s = await connect(await f.token({ repository: 'acme/max' }));
    let ended = false;
    void s.ended.then(() => (ended = true));
    while (!ended && Date.now() - started < 6_000) {
      await s.client.query('SELECT 1').catch(() => undefined);
      await sleep(300);
    }
    const { error, at } = await s.ended;
    expect(error.code).toBe('57P01');
    expect(error.message).toBe('the session reached its maximum duration of 3 s (policy limits.maxSessionSeconds); connect again');
    expect(at - started).toBeGreaterThanOrEqual(3_000);
    expect(at - started).toBeLessThan(4_500);
  });
});

describe('singleUseTokens', () => {
  let used: string;

  it('refuses a token the second time (28P01) and a token without jti', async () => {
    used = await f.token({ repository: 'acme/payments' });
    const first = await connect(used);
    expect((await first.client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await first.client.end();

    const second = await refused(used);
    expect(second.code).toBe('28P01');
    expect(second.message).toBe('this token was already used, and tokens from this issuer are single-use; request a fresh token');

    const noJti = await f.idp.mintGithubActions({ repository: 'acme/payments', audience: AUDIENCE, claims: { jti: undefined } });
    const e = await refused(noJti);
    expect(e.code).toBe('28P01');
    expect(e.message).toBe('token has no jti claim; tokens from this issuer are single-use and must carry one');
  });

  it('still refuses it after the gateway restarts', async () => {
    await f.gateway.stop();
    restarted = await Gateway.start(f.configPath, { logger: pino({ level: 'silent' }) });
    const port = restarted.addresses.postgres!.port;
    const e = await refused(used, port);
    expect(e.code).toBe('28P01');
    expect(e.message).toMatch(/already used/);
    // A fresh token is fine.
    const fresh = await connect(await f.token({ repository: 'acme/payments' }), port);
    await fresh.client.query('SELECT 1');
    await fresh.client.end();
  }, 60_000);
});

describe('the evidence', () => {
  let report: VerificationReport;
  const events = new Map<string, EvidenceEvent[]>();
  const sessionOf = (subjectPrefix: string) =>
    [...events.values()].find((evs) => evs.some((e) => e.type === 'identity.verified' && String(e.subject).startsWith(subjectPrefix))) ?? [];

  beforeAll(async () => {
    await restarted!.stop();
    restarted = undefined;
    const exported = await exportAndVerify(f);
    report = exported.report;
    for (const [id, evs] of exported.sessions) events.set(id, evs);
  }, 60_000);

  it('verifies with the auditor key, every session complete', () => {
    expect(report.checks.filter((c) => c.status !== 'pass')).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.sessions.every((s) => s.status === 'complete')).toBe(true);
  });

  it('records the expired session: its limits, the FATAL, and a close reason naming the expiry', () => {
    const s = sessionOf('repo:acme/expiry:');
    const limits = s.find((e) => e.type === 'notice' && e.kind === 'session-limits');
    expect(limits).toMatchObject({ toleranceSeconds: TOLERANCE, idleSeconds: 60 });
    expect(limits?.credentialEndsAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(s.find((e) => e.type === 'error' && e.code === '57P01')?.message).toMatch(/^your identity token expired at /);
    const close = s.at(-1)!;
    expect(close.type).toBe('session.close');
    expect(close.reason).toMatch(/^ended by the gateway: identity token expired at \S+Z \(session ended at \S+Z, after the 1 s clock tolerance\)$/);
    // Nothing was recorded as run after the first SELECT.
    expect(s.filter((e) => e.type === 'command').map((e) => e.text)).toEqual(['SELECT 1 AS one']);
  });

  it('records idle and maximum-duration ends', () => {
    expect(sessionOf('repo:acme/idle:').at(-1)?.reason).toBe('ended by the gateway: idle for more than 2 s (limits.idleSeconds)');
    expect(sessionOf('repo:acme/max:').at(-1)?.reason).toBe('ended by the gateway: maximum session duration reached (limits.maxSessionSeconds 3 s)');
  });

  it('records each replay refusal with its code', () => {
    const rejected = [...events.values()].flat().filter((e) => e.type === 'identity.rejected');
    expect(rejected.filter((e) => e.code === 'E_ID_TOKEN_REPLAYED')).toHaveLength(2);
    expect(rejected.some((e) => e.code === 'E_ID_MALFORMED' && /no jti/.test(String(e.reason)))).toBe(true);
  });
});
