/**
 * Three `vigil serve` appliances behind a real HAProxy (Debian's, TCP mode, health-checked round robin),
 * sharing one PostgreSQL 15 store and witnessing each other. The one holding a command for approval is
 * killed -9: nobody can approve it, the client reconnects through HAProxy, the restart cancels it and it
 * never ran. Then one is killed -9 in the middle of a session:
 * the client's connection breaks, it reconnects through HAProxy and lands on a live appliance; the killed
 * one, restarted, seals that session as interrupted; the fleet's bundles then verify with the session index,
 * the interrupted session shown on the appliance that served it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, startFleet, type Fleet, type FleetNode } from '../../helpers/fleet.ts';
import { bot, later, rejection, until, type Bot } from '../../helpers/fleet-client.ts';
import { HAPROXY, startHaproxy, type Balancer } from './haproxy.ts';
import { exportMember, vigil } from './members.ts';

let f: Fleet;
let lb: Balancer;

const POLICIES = `
policies:
  - name: ci
    match: { subjects: ['repo:acme/*'] }
    targets: [payments]
    statements: { read: allow, transaction: allow, write: require-approval, default: block }
    approvers: { groups: [dba] }
`;

/** Which appliance served the session that started on `n`-th index row (the index is read from the logs each second). */
let base = 0;
async function servedBy(nth: number): Promise<{ node: FleetNode; sessionId: string }> {
  const row = await until(`session ${base + nth} indexed`, () => {
    const r = f.sharedSql(`SELECT appliance_id || ' ' || session_id FROM vigil_fleet_sessions ORDER BY started_at, session_id OFFSET ${base + nth - 1} LIMIT 1`).trim();
    return r || undefined;
  }, 20_000);
  const [id, sessionId] = row.split(' ') as [string, string];
  return { node: f.nodes.find((n) => n.applianceId === id)!, sessionId };
}

const viaBalancer = (): Promise<Bot> => bot(f, { pgPort: lb.port } as FleetNode);

beforeAll(async () => {
  if (!existsSync(HAPROXY)) throw new Error(`${HAPROXY} is missing: run scripts/ensure-system-packages.sh (Debian package haproxy)`);
  f = await startFleet({ appliances: 3, policies: POLICIES, witnessIntervalSeconds: 1 });
  for (const n of f.nodes) expect((await vigil(['fleet', 'add', '--config', n.configPath])).code).toBe(0);
  await balanceAll();
}, 180_000);
afterAll(async () => {
  await lb?.stop();
  await f?.stop();
});

const balanceAll = async () => {
  await lb?.stop();
  lb = await startHaproxy(f.dir, f.nodes.map((n) => ({ name: n.name, port: n.pgPort })));
};

describe('HAProxy in front of three appliances', () => {
  it('a command held on the appliance killed -9 never runs: nobody can approve it, the client reconnects, the restart cancels it', async () => {
    const b = await viaBalancer();
    const requested = b.nextRequest();
    later(b.c.query("INSERT INTO audit_scratch (v) VALUES ('held behind haproxy')"));
    const id = await requested;
    const owner = f.sharedSql(`SELECT appliance_id FROM vigil_approvals WHERE id = '${id}'`).trim();
    const holder = f.nodes.find((n) => n.applianceId === owner)!;
    await until('offered', () => (f.sharedSql(`SELECT offered FROM vigil_approvals WHERE id = '${id}'`).trim() === 't' ? true : undefined));
    await holder.kill('SIGKILL');
    await until("the store to drop the holder's presence lock", () =>
      f.sharedSql(`SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = ((hashtext('${owner}')::bigint) & 4294967295)::oid AND objsubid = 2`).trim() === '0' ? true : undefined,
    );
    const other = f.nodes.find((n) => n.running())!;
    const r = await admin(other, 'POST', `/v1/approvals/${id}/approve`, await f.staffToken('dave@acme.test', ['dba']), { reason: 'CHG-1' });
    expect([r.status, r.body.error?.code]).toEqual([409, 'E_APPROVAL_NOT_WAITING']);
    const again = await viaBalancer();
    expect((await again.c.query('SELECT count(*) FROM audit_scratch')).rowCount, 'the client reconnects through HAProxy').toBe(1);
    await again.c.end();
    await holder.start();
    await until('the restart to cancel it in the store', () => (f.sharedSql(`SELECT status FROM vigil_approvals WHERE id = '${id}'`).trim() === 'cancelled' ? true : undefined));
    expect(holder.said('approval requests left pending by the previous run were cancelled')).toBe(1);
    expect(f.target.psql("SELECT count(*) FROM audit_scratch WHERE v = 'held behind haproxy'", { database: 'payments' }).trim()).toBe('0');
    await balanceAll(); // the restarted appliance listens on a new port: the balancer is told
    // Both sessions indexed (the holder's at its first round after the restart, if not before the kill).
    base = await until('both sessions indexed', () => (f.sharedSql('SELECT count(*) FROM vigil_fleet_sessions').trim() === '2' ? 2 : undefined));
  });

  it('spreads sessions over the appliances; a kill -9 breaks one, the client reconnects to a live one', async () => {
    const bots: Bot[] = [];
    const served: { node: FleetNode; sessionId: string }[] = [];
    for (let i = 1; i <= 3; i++) {
      const b = await viaBalancer();
      expect((await b.c.query('SELECT count(*) FROM accounts')).rowCount).toBe(1);
      bots.push(b);
      served.push(await servedBy(i));
    }
    expect(new Set(served.map((s) => s.node.name)).size, 'round robin: one session on each').toBe(3);
    const victim = served[0]!.node;
    await victim.kill('SIGKILL');
    const broken = await rejection(bots[0]!.c.query('SELECT 1'));
    expect(broken.message).toMatch(/Connection terminated|ECONNRESET|terminated unexpectedly|not queryable/);
    // The client reconnects through the same address: HAProxy has taken the dead one out (or redispatches).
    const again = await viaBalancer();
    expect((await again.c.query('SELECT count(*) FROM accounts')).rowCount).toBe(1);
    const moved = await servedBy(4);
    expect(moved.node.name).not.toBe(victim.name);
    expect(moved.node.running()).toBe(true);
    for (const b of [...bots.slice(1), again]) await b.c.end();

    // The killed appliance comes back (on a new port, outside the balancer) and seals the broken session.
    const sealed = victim.said('sealed an interrupted session left by the previous run'); // it may be the holder restarted above
    await victim.start();
    expect(victim.said('sealed an interrupted session left by the previous run')).toBe(sealed + 1);
    expect(f.sharedSql('SELECT count(*) FROM vigil_fleet_sessions').trim()).toBe(String(base + 4));
    // Its witnesses see it again: cosigned past the restart by both others, then everyone stops.
    await until('the restarted appliance cosigned again by both others', () => {
      const n = f.sharedSql(
        `SELECT count(DISTINCT witness_id) FROM vigil_fleet_cosignatures WHERE subject_id = '${victim.applianceId}' AND size > (SELECT max(log_index) FROM vigil_fleet_sessions WHERE appliance_id = '${victim.applianceId}') + 3`,
      );
      return n.trim() === '2' ? true : undefined;
    }, 30_000);
    for (const n of f.nodes) await n.kill('SIGTERM');

    const trust = join(f.dir, 'fleet-trust.json');
    const sessions = join(f.dir, 'sessions.json');
    expect((await vigil(['fleet', 'trust', '--config', f.nodes[1]!.configPath, '--out', trust])).code).toBe(0);
    expect((await vigil(['fleet', 'sessions', '--config', f.nodes[1]!.configPath, '--out', sessions])).stdout).toMatch(/^6 session\(s\) on 3 appliance\(s\)/);
    const files = await Promise.all(f.nodes.map((n) => exportMember({ name: n.name, dir: n.dir, configPath: n.configPath, applianceId: n.applianceId }, join(f.dir, `${n.name}.vigil`))));
    const r = await vigil(['fleet', 'verify', '--fleet-trust', trust, '--sessions', sessions, '--json', ...files]);
    const report = JSON.parse(r.stdout) as { status: string; sessions: { applianceId: string; sessionId: string; status: string }[]; appliances: { applianceId: string; status: string; details: string[] }[] };
    expect(report.appliances.map((a) => [a.status, a.details])).toEqual(f.nodes.map(() => ['pass', []]));
    expect(report.status).toBe('pass');
    expect(report.sessions.find((s) => s.sessionId === served[0]!.sessionId)).toMatchObject({ applianceId: victim.applianceId, status: 'interrupted' });
    expect(report.sessions.find((s) => s.sessionId === moved.sessionId)).toMatchObject({ applianceId: moved.node.applianceId, status: 'complete' });
    expect(r.code).toBe(0);
  });
});
