/**
 * Cross-witnessing on a real PostgreSQL 15, three appliances: each publishes its checkpoint and cosigns
 * the others'; a later checkpoint is cosigned only after its consistency proof from the last cosigned one
 * verifies; cosignatures are entries of the witness's own log; a retired member neither witnesses nor is
 * witnessed. Their bundles then verify as a fleet against the fleet trust file (`verifyFleet`), every
 * appliance witnessed.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCosignature } from '../../../shared/evidence/fleet.ts';
import { verifyFleet } from '../../../shared/evidence/verify/fleet-verify.ts';
import { FleetRoster } from '../../../appliance/fleet/roster.ts';
import { openFileSource } from '../../../appliance/evidence/file-source.ts';
import { tempDir } from '../../helpers/evidence.ts';
import { startPostgres, type PostgresServer } from '../../helpers/postgres.ts';
import { exportMember, logged, makeMembers, withMember, witnessRound, type MemberDir } from './members.ts';

let pg: PostgresServer;
let dir: string;
let A: MemberDir, B: MemberDir, C: MemberDir;
const sql = (q: string) => pg.psql(q, { database: 'fleet_witness' }).trim();

beforeAll(async () => {
  pg = await startPostgres({ password: 'witness-Secret-5m1p' });
  pg.psql('CREATE DATABASE fleet_witness');
  dir = tempDir('vigil-witness-');
  [A, B, C] = makeMembers(dir, pg, 'fleet_witness', ['A', 'B', 'C']) as [MemberDir, MemberDir, MemberDir];
  for (const m of [A, B, C]) await withMember(m, (app, fleet) => new FleetRoster(fleet).add({ applianceId: app.id, signer: app.keys.current, keys: app.keys.records(), log: app.log }));
}, 120_000);
afterAll(async () => {
  await pg?.stop();
});

describe('witness rounds', () => {
  it('each appliance publishes its checkpoint and cosigns the two others (first sight: from nothing)', async () => {
    const first = await witnessRound(A);
    expect(first.published).toBeDefined();
    expect(first.skipped.map((s) => s.why)).toEqual(['no checkpoint published yet', 'no checkpoint published yet']);
    await witnessRound(B);
    await witnessRound(C);
    await witnessRound(A);
    // B ran before C had published anything: it cosigns C in its next round.
    expect(sql('SELECT count(*) FROM vigil_fleet_cosignatures')).toBe('5');
    expect((await witnessRound(B)).cosigned).toEqual([{ subject: C.applianceId, size: expect.any(Number) }]);
    expect(sql('SELECT count(*) FROM vigil_fleet_cosignatures')).toBe('6');
    const cos = await logged(A, 'fleet.cosigned');
    expect(cos.map((e) => e['subject']).sort()).toEqual([B.applianceId, C.applianceId].sort());
    expect(readCosignature(cos[0]!['cosignature'])).toMatchObject({ witnessId: A.applianceId, from: null });
    const again = await witnessRound(B);
    expect(again.cosigned, 'nothing new: nothing cosigned twice').toEqual([]);
  });

  it('a grown log is cosigned after the proof from the last cosigned size verifies', async () => {
    const before = Number(sql(`SELECT max(size) FROM vigil_fleet_cosignatures WHERE witness_id = '${B.applianceId}' AND subject_id = '${A.applianceId}'`));
    await withMember(A, async (app) => {
      for (let i = 0; i < 5; i++) app.log.append('heartbeat', { liveSessions: 0, n: i });
    });
    const pub = await witnessRound(A);
    expect(pub.published!.size).toBeGreaterThan(before);
    const proofs = JSON.parse(sql(`SELECT proofs::text FROM vigil_fleet_checkpoints WHERE appliance_id = '${A.applianceId}' ORDER BY id DESC LIMIT 1`)) as { fromSize: number }[];
    expect(proofs.map((p) => p.fromSize)).toContain(before);
    const r = await witnessRound(B);
    expect(r.cosigned).toContainEqual({ subject: A.applianceId, size: pub.published!.size });
    const last = (await logged(B, 'fleet.cosigned')).filter((e) => e['subject'] === A.applianceId).at(-1)!;
    expect(readCosignature(last['cosignature']).from).toMatchObject({ size: before });
    await witnessRound(C);
  });

  it('the three bundles verify as a fleet: every log witnessed, every cosignature checked', async () => {
    await witnessRound(A); // A cosigns what B and C became
    const trust = await withMember(B, (_app, fleet) => new FleetRoster(fleet).trustFile());
    const files = await Promise.all([A, B, C].map((m) => exportMember(m, join(dir, `${m.name}.vigil`))));
    const sources = files.map((f) => ({ name: f, src: openFileSource(f) }));
    try {
      const r = await verifyFleet(trust, sources);
      expect(r.trust.problems).toEqual([]);
      for (const a of r.appliances) {
        expect(a.details, a.applianceId).toEqual([]);
        expect(a.status).toBe('pass');
        expect(a.cosignatures.pass).toBeGreaterThanOrEqual(2);
        expect(a.cosignatures.fail + a.cosignatures.refused).toBe(0);
      }
      expect(r.status).toBe('pass');
      // Without B's bundle: B is unknown, and what B cosigned cannot be counted; nothing is a pass by default.
      const partial = await verifyFleet(trust, sources.filter((s) => !s.name.endsWith('B.vigil')));
      expect(partial.appliances.find((a) => a.applianceId === B.applianceId)).toMatchObject({ status: 'unknown', bundle: null });
      expect(partial.status).toBe('partial');
    } finally {
      for (const s of sources) s.src.close();
    }
  });

  it('a retired member neither witnesses nor is witnessed', async () => {
    await withMember(A, (app, fleet) => new FleetRoster(fleet).retire({ applianceId: C.applianceId, by: app.id, signer: app.keys.current, reason: 'test', log: app.log }));
    const byC = await witnessRound(C);
    expect(byC.skipped).toEqual([{ subject: '*', why: 'this appliance is retired' }]);
    await withMember(C, async (app) => app.log.append('heartbeat', { liveSessions: 0 }));
    const byA = await witnessRound(A);
    expect(byA.cosigned.map((c) => c.subject)).not.toContain(C.applianceId);
    expect(byA.refused).toEqual([]);
  });
});
