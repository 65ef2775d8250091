/**
 * A running fleet witnesses itself: three real `vigil serve` processes on one shared PostgreSQL 15, added
 * with `vigil fleet add` while they run; their witness loops (sharedState.witness.intervalSeconds: 1)
 * publish, index the sessions they served and cosign each other. The bundles then verify as a fleet with
 * the session index (`vigil fleet verify --sessions`): every session shown with the appliance that served
 * it; a session the index names that its appliance's bundle lacks is missing (exit 1).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFleet, type Fleet, type FleetNode } from '../../helpers/fleet.ts';
import { bot, until } from '../../helpers/fleet-client.ts';
import { READ_POLICIES as POLICIES, exportMember, vigil, type MemberDir } from './members.ts';

let f: Fleet;
let nodes: FleetNode[];
const member = (n: FleetNode): MemberDir => ({ name: n.name, dir: n.dir, configPath: n.configPath, applianceId: n.applianceId });

beforeAll(async () => {
  f = await startFleet({ appliances: 3, policies: POLICIES, witnessIntervalSeconds: 1 });
  nodes = f.nodes;
}, 180_000);
afterAll(async () => {
  await f?.stop();
});

describe('a fleet of three running appliances', () => {
  it('added while running, they index their sessions and cosign each other', async () => {
    for (const n of nodes) expect((await vigil(['fleet', 'add', '--config', n.configPath])).code).toBe(0);
    for (const n of nodes.slice(0, 2)) {
      const b = await bot(f, n);
      expect((await b.c.query('SELECT count(*) FROM accounts')).rowCount).toBe(1);
      await b.c.end();
    }
    // Both sessions indexed, and every appliance cosigned by both others at a size that covers them.
    await until('sessions indexed', () => (f.sharedSql('SELECT count(*) FROM vigil_fleet_sessions').trim() === '2' ? true : undefined), 30_000);
    await until(
      'every pair cosigned past the sessions',
      () => {
        const pairs = f.sharedSql(
          `SELECT count(*) FROM (SELECT DISTINCT c.witness_id, c.subject_id FROM vigil_fleet_cosignatures c JOIN vigil_fleet_roster r ON r.appliance_id = c.subject_id
           WHERE c.size > COALESCE((SELECT max(log_index) FROM vigil_fleet_sessions s WHERE s.appliance_id = c.subject_id), 0)) p`,
        );
        return pairs.trim() === '6' ? true : undefined;
      },
      30_000,
    );
    const served = f.sharedSql("SELECT string_agg(appliance_id, ',' ORDER BY appliance_id) FROM vigil_fleet_sessions").trim().split(',');
    expect(served.sort()).toEqual([nodes[0]!.applianceId, nodes[1]!.applianceId].sort());
    expect(nodes.every((n) => n.said('witness round') > 0)).toBe(true);
  });

  it('their bundles verify as a fleet with the session index: each session shown on the appliance that served it', async () => {
    for (const n of nodes) await n.kill('SIGTERM');
    const trust = join(f.dir, 'fleet-trust.json');
    const sessions = join(f.dir, 'sessions.json');
    expect((await vigil(['fleet', 'trust', '--config', nodes[2]!.configPath, '--out', trust])).code).toBe(0);
    expect((await vigil(['fleet', 'sessions', '--config', nodes[2]!.configPath, '--out', sessions])).stdout).toBe(`2 session(s) on 2 appliance(s) written to ${sessions}\n`);
    const files = await Promise.all(nodes.map((n) => exportMember(member(n), join(f.dir, `${n.name}.vigil`))));
    const r = await vigil(['fleet', 'verify', '--fleet-trust', trust, '--sessions', sessions, ...files]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    for (const [i, n] of nodes.entries()) {
      expect(r.stdout).toMatch(new RegExp(`^PASS +${n.applianceId} \\(active\\)  bundle: \\S+${n.name}\\.vigil \\[integrity-only\\]  sessions: ${i < 2 ? 1 : 0}  cosignatures: [2-9]\\d* pass, 0 fail`, 'm'));
    }
    expect(r.stdout).toMatch(/^PASS: the fleet's evidence verifies$/m);

    // The index names a session of A that A's bundle does not hold (its log lost it): missing, exit 1.
    const index = JSON.parse(readFileSync(sessions, 'utf8')) as { sessions: Record<string, unknown>[] };
    const a = index.sessions.find((s) => s['applianceId'] === nodes[0]!.applianceId)!;
    index.sessions.push({ ...a, sessionId: 'f0e1d2c3-0000-4000-8000-000000000001', seq: 99 });
    const altered = join(f.dir, 'sessions-plus.json');
    writeFileSync(altered, JSON.stringify(index));
    const missing = await vigil(['fleet', 'verify', '--fleet-trust', trust, '--sessions', altered, ...files]);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toMatch(new RegExp(`^FAIL +${nodes[0]!.applianceId} .*sessions: 1 \\+ 1 MISSING`, 'm'));
    expect(missing.stdout).toMatch(/session f0e1d2c3-0000-4000-8000-000000000001 \(#99, started \S+\) is in the fleet's session index but not in its bundle: missing on this appliance/);
  });
});
