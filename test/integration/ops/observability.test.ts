/**
 * /metrics, /healthz, /readyz on the admin listener of a real gateway in front of a real PostgreSQL 15;
 * a SIGHUP-style reload signed into the transparency log and reported by the verifier; graceful shutdown
 * draining sessions with a deadline. ≈ 15 s.
 */
import { spawn } from 'node:child_process';
import { request } from 'node:https';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../helpers/cli.ts';
import { exportAndVerify, startGatewayFixture, TARGET_PASSWORD, type GatewayFixture } from '../../helpers/gateway.ts';

const METRICS_TOKEN = 'metrics-token-7Hq2xZp9Lw4e';
let f: GatewayFixture;

function get(path: string, token?: string): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(f.adminUrl);
    const req = request(
      { host: u.hostname, port: u.port, path, method: 'GET', ca: readFileSync(f.adminCa), checkServerIdentity: () => undefined, headers: token ? { authorization: `Bearer ${token}` } : {} },
      (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type'] ?? '') }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Every sample line as {name, labels, value}. */
function samples(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  const out: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

const value = (text: string, name: string, labels: Record<string, string> = {}) =>
  samples(text)
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);

beforeAll(async () => {
  f = await startGatewayFixture({
    files: { 'secrets/metrics.token': METRICS_TOKEN + '\n' },
    adminExtra: '    metrics: { tokenFile: secrets/metrics.token }\n',
    extraConfig: 'shutdown: { drainSeconds: 2 }\n',
  });
}, 120_000);

afterAll(async () => {
  await f?.stop();
});

describe('health, readiness, metrics', () => {
  it('answers /healthz and /readyz without authentication; /metrics only with its bearer token', async () => {
    expect((await get('/healthz')).status).toBe(200);
    const ready = await get('/readyz');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toEqual({ ready: true, checks: { 'listener.postgres': 'up', journal: 'ok', state: 'serving' } });
    expect((await get('/metrics')).status).toBe(401);
    expect((await get('/metrics', 'not-the-token-at-all-0000')).status).toBe(401);
    // An identity token (even a valid approver's) is not the metrics credential.
    expect((await get('/metrics', await f.staffToken('alice', ['dba-approvers']))).status).toBe(401);
    const m = await get('/metrics', METRICS_TOKEN);
    expect(m.status).toBe(200);
    expect(m.type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(m.body).toContain('# TYPE vigil_journal_commit_seconds histogram');
    // Shipping is not configured here: nothing pending; no session is due for its purge.
    expect(m.body).toMatch(/^vigil_shipping_pending 0$/m);
    expect(m.body).toMatch(/^vigil_shipping_lag_seconds 0$/m);
    expect(m.body).toMatch(/^vigil_retention_overdue 0$/m);
  });

  it('counts sessions, decisions, masking, journal commits, archive bytes and identity failures — with no identity, statement or secret in a label', async () => {
    const before = (await get('/metrics', METRICS_TOKEN)).body;
    expect((await f.psql('SELECT card_number FROM customers ORDER BY id')).stdout).not.toContain('4111111111111111');
    expect((await f.psql('DROP TABLE customers')).code).not.toBe(0);
    expect((await f.psql('SELECT 1', { token: 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.bm90LWEtc2lnbmF0dXJl' })).code).not.toBe(0);
    // A session is counted when the gateway has sealed it, which may be just after psql exits.
    let after = '';
    for (let i = 0; i < 50; i++) {
      after = (await get('/metrics', METRICS_TOKEN)).body;
      if (value(after, 'vigil_sessions_total') - value(before, 'vigil_sessions_total') >= 3 && value(after, 'vigil_sessions_open') === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const delta = (name: string, labels: Record<string, string> = {}) => value(after, name, labels) - value(before, name, labels);
    expect(delta('vigil_sessions_total', { protocol: 'postgres', outcome: 'served' })).toBe(2);
    expect(delta('vigil_sessions_total', { protocol: 'postgres', outcome: 'unauthenticated' })).toBe(1);
    expect(value(after, 'vigil_sessions_open', { protocol: 'postgres' })).toBe(0);
    expect(delta('vigil_commands_total', { protocol: 'postgres', class: 'read', decision: 'allow' })).toBeGreaterThanOrEqual(1);
    expect(delta('vigil_commands_total', { protocol: 'postgres', class: 'ddl', decision: 'block' })).toBe(1);
    expect(delta('vigil_masked_values_total', { kind: 'pan' })).toBeGreaterThanOrEqual(3);
    expect(delta('vigil_journal_commit_seconds_count')).toBeGreaterThan(0);
    expect(delta('vigil_journal_commit_group_size_count')).toBeGreaterThan(0);
    expect(delta('vigil_archive_bytes_written_total')).toBeGreaterThan(1000);
    const idFail = samples(after).filter((s) => s.name === 'vigil_identity_failures_total');
    expect(idFail.length).toBeGreaterThan(0);
    for (const s of idFail) expect(s.labels['reason']).toMatch(/^E_[A-Z0-9_]+$/);
    // Labels: every value a short word or an error code; none an identity, a table, a statement, a secret, digits.
    const secrets = [TARGET_PASSWORD, METRICS_TOKEN, 'repo:acme', 'acme/payments', 'customers', 'card_number', 'DROP', 'svc_reporting', 'eyJ'];
    for (const s of samples(after)) {
      for (const [k, v] of Object.entries(s.labels)) {
        if (k === 'le' || k === 'quantile') continue;
        // prom-client's default process metrics carry the Node version (vigil_nodejs_version_info): not ours.
        if (s.name === 'vigil_nodejs_version_info') continue;
        if (s.name.startsWith('vigil_nodejs_') || s.name.startsWith('vigil_process_')) continue;
        expect(v, `${s.name}{${k}}`).toMatch(/^([a-z][a-z0-9._-]{0,31}|E_[A-Z0-9_]{1,48})$/);
        expect(v).not.toMatch(/\d{4}/);
        for (const x of secrets) expect(v.toLowerCase()).not.toContain(x.toLowerCase());
      }
    }
    for (const x of [TARGET_PASSWORD, METRICS_TOKEN, '4111111111111111', 'repo:acme/payments']) expect(after).not.toContain(x);
  });

  it('logs one JSON line per event that matters, with the session id, and never the statement text', () => {
    const lines = f.logs().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    const events = (e: string) => lines.filter((l) => l['event'] === e);
    const closed = events('session.closed');
    expect(closed.length).toBeGreaterThanOrEqual(3);
    for (const l of [...events('session.opened'), ...closed, ...events('session.identified')]) expect(l['sessionId']).toMatch(/^[0-9a-f-]{36}$/);
    expect(events('session.identified')[0]).toMatchObject({ protocol: 'postgres', subject: 'repo:acme/payments:ref:refs/heads/main', target: 'payments', policy: 'ci-readonly' });
    const blocked = events('command.decided').find((l) => l['decision'] === 'block');
    expect(blocked).toMatchObject({ rule: 'ci-readonly/no-destructive-ddl', classes: ['ddl'], sessionId: expect.any(String) });
    expect(events('identity.rejected')[0]).toMatchObject({ code: 'E_ID_MALFORMED', sessionId: expect.any(String) });
    expect(f.logs()).not.toMatch(/DROP TABLE|card_number FROM/);
  });
});

describe('reload in the signed log, and graceful shutdown', () => {
  let reloadDigest = '';
  let held: pg.Client;

  it('signs a reload that changed the file into the transparency log (config.changed with its digest)', () => {
    const text = readFileSync(f.configPath, 'utf8');
    writeFileSync(f.configPath, text.replace('resource: allow', 'resource: block'));
    const r = f.gateway.reload();
    reloadDigest = r.digest;
    const entries = [...f.gateway.appliance.log.entries(0, f.gateway.appliance.log.size())].map((l) => JSON.parse(l) as Record<string, unknown>);
    const last = entries.filter((e) => e['type'] === 'config.changed').at(-1);
    expect(last).toMatchObject({ digest: r.digest, previousDigest: r.previousDigest, reason: 'reload', applied: ['policies'] });
    // Re-reading the same file logs nothing more.
    const size = f.gateway.appliance.log.size();
    f.gateway.reload();
    expect(f.gateway.appliance.log.size()).toBe(size);
  });

  it('SIGTERM drain: stops accepting, says not ready, lets a session that ends in time end, interrupts the rest at the deadline', async () => {
    held = new pg.Client({ host: '127.0.0.1', port: f.port, user: 'ci-bot', database: 'payments', password: await f.token(), ssl: { rejectUnauthorized: false } });
    await held.connect();
    held.on('error', () => undefined);
    await held.query('SELECT 1');
    const quick = new pg.Client({ host: '127.0.0.1', port: f.port, user: 'ci-bot', database: 'payments', password: await f.token(), ssl: { rejectUnauthorized: false } });
    await quick.connect();
    const t0 = Date.now();
    const stopping = f.gateway.stop();
    await new Promise((r) => setTimeout(r, 200));
    const ready = await get('/readyz');
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body)).toMatchObject({ ready: false, checks: { state: 'draining' } });
    // New connections are refused while draining.
    const late = new pg.Client({ host: '127.0.0.1', port: f.port, user: 'ci-bot', database: 'payments', password: await f.token(), ssl: { rejectUnauthorized: false }, connectionTimeoutMillis: 3000 });
    await expect(late.connect()).rejects.toThrow();
    // One session ends within the window: it is served, not interrupted.
    await quick.query('SELECT 2');
    await quick.end();
    await stopping;
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(1900);
    expect(took).toBeLessThan(8000);
    await expect(held.query('SELECT 3')).rejects.toThrow();
    const logs = f.logs();
    expect(logs).toMatch(/"event":"shutdown.drained","drained":1,"interrupted":1/);
  }, 30_000);

  it('the verifier reports the reload and the interrupted session', async () => {
    const { report, sessions } = await exportAndVerify(f);
    expect(report.ok).toBe(true);
    expect(report.configChanges?.some((c) => c.digest === reloadDigest && c.reason === 'reload' && c.applied.includes('policies'))).toBe(true);
    const reasons = [...sessions.values()].map((evs) => evs.find((e) => e.type === 'session.close')?.['reason']);
    expect(reasons.filter((r) => typeof r === 'string' && r.startsWith('interrupted: the appliance shut down'))).toHaveLength(1);
  });

  it('through `vigil serve` and a real SIGTERM: keeps serving the open session for drainSeconds, then ends it and exits 0', async () => {
    // The in-process gateway is stopped (above); the same appliance now runs as `vigil serve`.
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'vigil.mjs'), 'serve', '--config', f.configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const until = async (what: () => boolean, ms = 30_000) => {
      for (let t = Date.now(); Date.now() - t < ms && !what(); ) await new Promise((r) => setTimeout(r, 50));
      expect(what(), out + err).toBe(true);
    };
    try {
      await until(() => /PostgreSQL on 127\.0\.0\.1:\d+/.test(out));
      const port = Number(/PostgreSQL on 127\.0\.0\.1:(\d+)/.exec(out)![1]);
      const c = new pg.Client({ host: '127.0.0.1', port, user: 'ci-bot', database: 'payments', password: await f.token(), ssl: { rejectUnauthorized: false } });
      await c.connect();
      c.on('error', () => undefined);
      await c.query('SELECT 1');
      const t0 = Date.now();
      child.kill('SIGTERM');
      await until(() => out.includes('vigil: stopping: draining open sessions for up to 2 s'));
      // Still serving the open session while draining.
      expect((await c.query('SELECT 2 AS n')).rows[0]).toEqual({ n: 2 });
      expect(await exited).toBe(0);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(1900);
      await expect(c.query('SELECT 3')).rejects.toThrow();
      expect(err).toMatch(/"event":"session.interrupted"/);
      expect(err).toMatch(/"event":"shutdown.drained","drained":0,"interrupted":1/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 60_000);
});
