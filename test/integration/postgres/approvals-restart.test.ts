/**
 * Pending requests survive an appliance crash as records: the held connection does not, so after the
 * restart the request is cancelled (stored, logged, announced) and can never release anything.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { ROOT } from '../../helpers/cli.ts';
import { startGatewayFixture, type GatewayFixture } from '../../helpers/gateway.ts';

let f: GatewayFixture;
const children: ChildProcess[] = [];

beforeAll(async () => {
  f = await startGatewayFixture({
    policies: `
policies:
  - name: ci
    match: { subjects: ['repo:acme/*'] }
    targets: [payments]
    statements: { read: allow, write: require-approval, default: block }
    approvers: { groups: [dba] }
`,
    listener: '',
  });
  await f.gateway.stop();
}, 120_000);
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await f?.pg.stop();
});

function serve(): Promise<{ child: ChildProcess; pgPort: number; adminUrl: string }> {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'vigil.mjs'), 'serve', '--config', f.configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /PostgreSQL on [\d.]+:(\d+), admin API on (https:\/\/[\d.]+:\d+)/.exec(out);
      if (m) resolve({ child, pgPort: Number(m[1]), adminUrl: m[2]! });
    });
    child.once('exit', (code) => reject(new Error(`vigil serve exited (${code}): ${out}`)));
  });
}

function get(url: string, token: string): Promise<Record<string, any>> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca: readFileSync(f.adminCa), headers: { authorization: `Bearer ${token}` } }, (res) => {
      let t = '';
      res.on('data', (d) => (t += d));
      res.on('end', () => resolve(JSON.parse(t)));
    });
    req.on('error', reject);
    req.end();
  });
}

it('a request pending when the appliance dies is cancelled at the next start', async () => {
  const first = await serve();
  const c = new pg.Client({ host: '127.0.0.1', port: first.pgPort, user: 'bot', database: 'payments', password: await f.token(), ssl: { rejectUnauthorized: false } });
  c.on('error', () => undefined);
  await c.connect();
  const id = await new Promise<string>((resolve) => {
    c.on('notice', (n) => {
      const m = /request (apr_[\w-]+)/.exec(n.message ?? '');
      if (m) resolve(m[1]!);
    });
    c.query("INSERT INTO audit_scratch (v) VALUES ('held at crash')").catch(() => undefined);
  });
  first.child.kill('SIGKILL');
  await new Promise((r) => first.child.once('exit', r));

  const second = await serve();
  const staff = await f.staffToken('dave@acme.test', ['dba']);
  const r = await get(`${second.adminUrl}/v1/approvals/${id}`, staff);
  expect(r.approval).toMatchObject({ status: 'cancelled', outcomeReason: 'the appliance restarted while the request was pending; the held connection was lost' });
  second.child.kill('SIGTERM');
  await new Promise((res) => second.child.once('exit', res));
  expect(f.pg.psql("SELECT count(*) FROM audit_scratch WHERE v = 'held at crash'", { database: 'payments' }).trim()).toBe('0');
  const db = new Database(join(f.dir, 'appliance', 'data', 'vigil.db'), { readonly: true });
  const entries = db.prepare("SELECT data FROM log_entries WHERE type LIKE 'approval.%' OR type = 'session.interrupted'").pluck().all() as string[];
  db.close();
  expect(entries.map((e) => JSON.parse(e).type)).toEqual(['approval.requested', 'session.interrupted', 'approval.cancelled']);
  await c.end().catch(() => undefined);
}, 120_000);
