/**
 * Cross-witnessing against an appliance that lies about its log (docs/fleet.md), with the real `vigil
 * fleet witness` / `vigil fleet verify` processes and a real PostgreSQL 15. Three members A, B, C cosign
 * each other; then A misbehaves. Each case asserts both halves: the witness did not cosign (nothing in
 * the store, its own state unchanged) AND the evidence says what happened (the refusal in the witness's
 * log, the verifier's verdict on A's bundle).
 *   - rollback: A's database is put back to an earlier copy; B refuses the smaller checkpoint, and the
 *     verifier fails A's bundle on B's earlier cosignature;
 *   - fork: A's rolled-back log grows past the cosigned size with other entries; B refuses it (no proof
 *     from what it cosigned, and a forged proof does not verify), and the verifier finds the fork;
 *   - a checkpoint under a key that is not A's fleet key is refused;
 *   - cosignatures by a retired witness's key, or by a key the fleet never knew, are refused by the
 *     verifier and never counted.
 */
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint, signCheckpoint } from '../../shared/evidence/checkpoint.ts';
import { signCosignature, statementDigest } from '../../shared/evidence/fleet.ts';
import type { SignedEnvelope } from '../../shared/evidence/signed.ts';
import { parseFleetTrustFile } from '../../shared/evidence/fleet.ts';
import { verifyFleet } from '../../shared/evidence/verify/fleet-verify.ts';
import { openFileSource } from '../../appliance/evidence/file-source.ts';
import { FleetRoster } from '../../appliance/fleet/roster.ts';
import { generateSigningKey } from '../../appliance/keys/signing-key.ts';
import { tempDir } from '../helpers/evidence.ts';
import { startPostgres, type PostgresServer } from '../helpers/postgres.ts';
import { exportMember, logged, makeMembers, vigil as vigilAsync, withMember, witnessRound, type MemberDir } from '../integration/fleet/members.ts';

let pg: PostgresServer;
let dir: string;
let A: MemberDir, B: MemberDir, C: MemberDir;
const sql = (q: string) => pg.psql(q, { database: 'fleet_attack' }).trim();
const witnessedByB = () => withMember(B, async (app) => app.db.prepare('SELECT size, root FROM fleet_witnessed WHERE subject = ?').get(A.applianceId) as { size: number; root: string });
const grow = (m: MemberDir, n: number, tag: string) =>
  withMember(m, async (app) => {
    for (let i = 0; i < n; i++) app.log.append('heartbeat', { liveSessions: 0, tag, n: i });
    return app.log.size();
  });
const dbFiles = (m: MemberDir) => ['vigil.db', 'vigil.db-wal', 'vigil.db-shm'].map((f) => join(m.dir, 'data', f));

async function fleetVerify(): Promise<{ code: number; stdout: string; stderr: string }> {
  const trust = join(dir, 'fleet-trust.json');
  expect((await vigilAsync(['fleet', 'trust', '--config', B.configPath, '--out', trust])).code).toBe(0);
  const files = await Promise.all([A, B, C].map((m) => exportMember(m, join(dir, `${m.name}-${Date.now()}.vigil`))));
  return vigilAsync(['fleet', 'verify', '--fleet-trust', trust, ...files]);
}

let cosignedM = 0;


beforeAll(async () => {
  pg = await startPostgres({ password: 'attack-Secret-2d7r' });
  pg.psql('CREATE DATABASE fleet_attack');
  dir = tempDir('vigil-fleet-attack-');
  [A, B, C] = makeMembers(dir, pg, 'fleet_attack', ['A', 'B', 'C']) as [MemberDir, MemberDir, MemberDir];
  for (const m of [A, B, C]) await withMember(m, (app, fleet) => new FleetRoster(fleet).add({ applianceId: app.id, signer: app.keys.current, keys: app.keys.records(), log: app.log }));
  for (const m of [A, B, C, A, B]) await witnessRound(m);
}, 180_000);
afterAll(async () => {
  await pg?.stop();
});

describe('an appliance rolling back or forking its log is caught by the others\' cosignatures', () => {
  it('rollback: B refuses A\'s smaller checkpoint, and stores no cosignature of it', async () => {
    const snapshot = join(dir, 'A-snapshot');
    mkdirSync(snapshot);
    for (const f of dbFiles(A)) if (existsSync(f)) copyFileSync(f, join(snapshot, f.split('/').pop()!));
    const k = await grow(A, 0, '');
    await grow(A, 6, 'before-rollback');
    await witnessRound(A);
    const cos = await vigilAsync(['fleet', 'witness', '--config', B.configPath]);
    const m = new RegExp(`^cosigned ${A.applianceId} at size (\\d+)$`, 'm').exec(cos.stdout);
    expect(m, cos.stdout + cos.stderr).not.toBeNull();
    cosignedM = Number(m![1]);
    expect(cosignedM).toBeGreaterThan(k + 1);
    // The attack: A's database is put back to the earlier copy.
    for (const f of dbFiles(A)) rmSync(f, { force: true });
    for (const f of dbFiles(A)) if (existsSync(join(snapshot, f.split('/').pop()!))) copyFileSync(join(snapshot, f.split('/').pop()!), f);
    const pub = await vigilAsync(['fleet', 'witness', '--config', A.configPath]);
    expect(pub.stderr).toMatch(/a witness cosigned a checkpoint of this appliance that its log no longer contains/);
    const r = await vigilAsync(['fleet', 'witness', '--config', B.configPath]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`^REFUSED ${A.applianceId} \\(rollback\\): size \\d+ is smaller than the size ${cosignedM} this witness cosigned: the log was rolled back$`, 'm'));
    // Not cosigned: nothing in the store beyond M, B's own state still at M.
    expect(sql(`SELECT max(size) FROM vigil_fleet_cosignatures WHERE witness_id = '${B.applianceId}' AND subject_id = '${A.applianceId}'`)).toBe(String(cosignedM));
    expect((await witnessedByB()).size).toBe(cosignedM);
    // The evidence: B's own log holds the refusal with both of A's signed checkpoints.
    const refusals = await logged(B, 'fleet.witness-refused');
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toMatchObject({ subject: A.applianceId, kind: 'rollback', cosigned: { size: cosignedM } });
    expect(readCheckpoint(refusals[0]!['offered']).size).toBeLessThan(cosignedM);
    expect(sql(`SELECT kind FROM vigil_fleet_refusals WHERE witness_id = '${B.applianceId}'`)).toBe('rollback');
    // Reported once, not at every round.
    await vigilAsync(['fleet', 'witness', '--config', B.configPath]);
    expect(await logged(B, 'fleet.witness-refused')).toHaveLength(1);
  });

  it('rollback: vigil fleet verify fails A\'s bundle on B\'s earlier cosignature (A\'s own bundle verifies alone)', async () => {
    const r = await fleetVerify();
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`^FAIL +${A.applianceId} \\(active\\)  bundle: \\S+ \\[integrity-only\\]`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`rollback: ${A.applianceId} signed size ${cosignedM} at \\S+ \\(cosigned by ${B.applianceId}\\), then a smaller log`));
    expect(r.stdout).toMatch(new RegExp(`witness refusal FAIL: rollback proven by ${B.applianceId}`));
    expect(r.stdout).toMatch(/^FAIL: the fleet's evidence does not verify$/m);
  });

  it('fork: A grows past the cosigned size on other entries; B refuses it, with or without a forged proof', async () => {
    const n = await grow(A, cosignedM + 4, 'forked');
    expect(n).toBeGreaterThan(cosignedM);
    const before = await witnessedByB();
    await vigilAsync(['fleet', 'witness', '--config', A.configPath]);
    const r = await vigilAsync(['fleet', 'witness', '--config', B.configPath]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`^REFUSED ${A.applianceId} \\(unproven\\): no consistency proof from size ${cosignedM} `, 'm'));
    // A forged proof: A's real signed checkpoint, a proof from M computed on the forked log, B's cosigned root.
    const latest = JSON.parse(sql(`SELECT envelope::text FROM vigil_fleet_checkpoints WHERE appliance_id = '${A.applianceId}' ORDER BY id DESC LIMIT 1`)) as SignedEnvelope;
    const size = readCheckpoint(latest).size;
    const proof = await withMember(A, async (app) => app.log.consistencyProof(cosignedM, size));
    const proofs = JSON.stringify([{ fromSize: cosignedM, fromRoot: before.root, proof }]);
    sql(`INSERT INTO vigil_fleet_checkpoints (appliance_id, size, root, envelope, proofs) VALUES ('${A.applianceId}', ${size}, '${readCheckpoint(latest).root}', '${JSON.stringify(latest)}', '${proofs}')`);
    const forged = await vigilAsync(['fleet', 'witness', '--config', B.configPath]);
    expect(forged.stdout).toMatch(new RegExp(`^REFUSED ${A.applianceId} \\(fork\\): size ${size} is not consistent with size ${cosignedM} this witness cosigned: the log was forked$`, 'm'));
    expect(await witnessedByB()).toEqual(before);
    expect(sql(`SELECT max(size) FROM vigil_fleet_cosignatures WHERE witness_id = '${B.applianceId}' AND subject_id = '${A.applianceId}'`)).toBe(String(cosignedM));
    expect((await logged(B, 'fleet.witness-refused')).map((e) => e['kind'])).toEqual(['rollback', 'unproven', 'fork']);
    // C last cosigned A before the attack, at a smaller size nothing proves this one consistent with: refused too.
    const byC = await vigilAsync(['fleet', 'witness', '--config', C.configPath]);
    expect(byC.stdout).toMatch(new RegExp(`^REFUSED ${A.applianceId} \\(unproven\\): no consistency proof from size \\d+`, 'm'));
  });

  it('fork: vigil fleet verify finds it: B\'s cosigned root at size M is not the one A\'s bundle gives', async () => {
    const r = await fleetVerify();
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`fork: ${B.applianceId} cosigned ${A.applianceId}'s root [0-9a-f]{16}… at size ${cosignedM}; the bundle's log has [0-9a-f]{16}…`));
    expect(r.stdout).toMatch(new RegExp(`^FAIL +${A.applianceId} `, 'm'));
  });

  it('a checkpoint signed by a key that is not A\'s fleet key is refused (bad-signature)', async () => {
    const { key } = generateSigningKey();
    const size = Number(sql(`SELECT max(size) FROM vigil_fleet_checkpoints WHERE appliance_id = '${A.applianceId}'`)) + 3;
    const env = signCheckpoint({ applianceId: A.applianceId, size, root: 'ab'.repeat(32), time: new Date().toISOString() }, key);
    sql(`INSERT INTO vigil_fleet_checkpoints (appliance_id, size, root, envelope, proofs) VALUES ('${A.applianceId}', ${size}, '${'ab'.repeat(32)}', '${JSON.stringify(env)}', '[]')`);
    const r = await vigilAsync(['fleet', 'witness', '--config', B.configPath]);
    expect(r.stdout).toMatch(new RegExp(`^REFUSED ${A.applianceId} \\(bad-signature\\): the checkpoint is not signed by ${A.applianceId}'s fleet key`, 'm'));
    expect(sql(`SELECT count(*) FROM vigil_fleet_cosignatures WHERE subject_id = '${A.applianceId}' AND size = ${size}`)).toBe('0');
  });
});

describe('a cosignature by a retired or unknown key is refused', () => {
  it('the verifier refuses them and does not count them for the appliance they cosign', async () => {
    // B's latest published checkpoint, genuinely signed by B.
    const bCp = JSON.parse(sql(`SELECT envelope::text FROM vigil_fleet_checkpoints WHERE appliance_id = '${B.applianceId}' ORDER BY id DESC LIMIT 1`)) as SignedEnvelope;
    const subject = (() => {
      const c = readCheckpoint(bCp);
      return { applianceId: c.applianceId, size: c.size, root: c.root, time: c.time, keyId: c.keyId };
    })();
    await withMember(A, (app, fleet) => new FleetRoster(fleet).retire({ applianceId: C.applianceId, by: app.id, signer: app.keys.current, reason: 'decommissioned', log: app.log }));
    const stranger = generateSigningKey().key;
    await withMember(C, async (app) => {
      // C, retired, keeps cosigning with its own key; and a key the fleet never knew signs as C.
      await new Promise((r) => setTimeout(r, 5));
      for (const signer of [app.keys.current, stranger]) {
        const cosignature = signCosignature({ witnessId: app.id, subject, checkpointDigest: statementDigest(bCp), from: null, cosignedAt: new Date().toISOString() }, signer);
        app.log.append('fleet.cosigned', { subject: B.applianceId, size: subject.size, root: subject.root, checkpoint: bCp, cosignature });
      }
    });
    const trust = await withMember(B, async (_app, fleet) => parseFleetTrustFile(JSON.stringify(await new FleetRoster(fleet).trustFile())));
    const files = await Promise.all([A, B, C].map((m) => exportMember(m, join(dir, `${m.name}-retired.vigil`))));
    const sources = files.map((name) => ({ name, src: openFileSource(name) }));
    try {
      const r = await verifyFleet(trust, sources);
      const mine = r.cosignatures.filter((c) => c.witnessId === C.applianceId && c.subjectId === B.applianceId && c.size === subject.size);
      expect(mine.map((c) => [c.status, c.detail])).toEqual([
        ['refused', expect.stringMatching(new RegExp(`witness key [0-9a-f]{16} of ${C.applianceId} signed at \\S+, after its window closed \\(\\S+: retired\\)`))],
        ['refused', expect.stringMatching(new RegExp(`witness key ${stranger.keyId} is not a fleet key of ${C.applianceId} \\(unknown key\\)`))],
      ]);
      const b = r.appliances.find((a) => a.applianceId === B.applianceId)!;
      expect(b.cosignatures.refused).toBe(2);
      // What counts for B is only what a member cosigned within its window.
      expect(b.cosignatures.pass).toBe(r.cosignatures.filter((c) => c.subjectId === B.applianceId && c.status === 'pass').length);
      expect(r.cosignatures.filter((c) => c.subjectId === B.applianceId && c.status === 'pass').every((c) => c.witnessId !== C.applianceId || c.cosignedAt! < trust.appliances.find((a) => a.applianceId === C.applianceId)!.keys[0]!.validUntil!)).toBe(true);
    } finally {
      for (const s of sources) s.src.close();
    }
  });
});
