/**
 * Backup and restore without rollback: `vigil backup` while the appliance is in use, `vigil restore` refuses
 * a backup older than a checkpoint shipped to the bucket or held by an auditor (nothing written), restores a
 * current one, and the restored appliance continues the same log — `vigil verify` of a later bundle against
 * the trust file pinned before the restore passes, with every session of before and after. The shipper
 * itself refuses to ship from a data directory older than the bucket (a restore done by hand with cp).
 * Real appliance, real versitygw, real CLI.
 */
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Appliance } from '../../appliance/appliance.ts';
import { Bucket } from '../../appliance/shipping/bucket.ts';
import { Shipper } from '../../appliance/shipping/shipper.ts';
import { vigil } from '../helpers/cli.ts';
import { failures, memberBytes, newAppliance, tempDir, type TestAppliance } from '../helpers/evidence.ts';
import { startS3, type TestS3 } from '../helpers/s3.ts';
import { recordSessions } from '../helpers/viewer-evidence.ts';

let s3: TestS3;
// A cold machine builds versitygw first (scripts/ensure-s3.sh, ≈ 2 min; scripts/test.sh does it before vitest).
beforeAll(async () => {
  s3 = await startS3();
}, 600_000);
afterAll(() => s3?.stop());

async function record(configPath: string, subjects: string[]): Promise<void> {
  const app = await Appliance.open(configPath);
  try {
    await recordSessions(app, subjects.map((subject) => ({ subject, commands: 1 })));
  } finally {
    await app.close();
  }
}

async function ship(configPath: string) {
  const app = await Appliance.open(configPath);
  const bucket = new Bucket(app.loaded.config.shipping!, app.loaded.resolvePath);
  try {
    return await new Shipper(app, bucket, app.loaded.config.shipping!).runOnce();
  } finally {
    bucket.destroy();
    await app.close();
  }
}

function ok(args: string[]) {
  const r = vigil(args);
  expect(r.code, `${args.join(' ')}\n${r.stderr}`).toBe(0);
  return r;
}

/** A trust file pinning the checkpoint of `bundle` (what an auditor keeps after verifying it). */
async function pinTo(a: TestAppliance, bundle: string, out: string): Promise<string> {
  const cp = JSON.parse(Buffer.from(await memberBytes(new Uint8Array(readFileSync(bundle)), 'checkpoint.json')).toString('utf8'));
  writeFileSync(out, JSON.stringify({ ...JSON.parse(readFileSync(a.trustPath, 'utf8')), checkpoint: cp }));
  return out;
}

describe('backup and restore', () => {
  it('refuses a backup older than the bucket, restores a current one, and the log continues: verify passes across the restore', async () => {
    await s3.createLockedBucket('restore');
    const a = newAppliance();
    writeFileSync(a.configPath, readFileSync(a.configPath, 'utf8') + `\nshipping:\n  endpoint: ${s3.endpoint}\n  bucket: restore\n  credentialsFile: ${s3.credentialsFile}\n`);
    const work = tempDir();
    await record(a.configPath, ['bot-1', 'bot-2']);
    ok(['export', '--config', a.configPath, '--out', join(work, 'before.vigil')]);
    const pinned = await pinTo(a, join(work, 'before.vigil'), join(work, 'trust-before.json'));
    expect((await ship(a.configPath)).failed).toEqual([]);

    const old = ok(['backup', '--config', a.configPath, '--out', join(work, 'old')]);
    expect(old.stdout).toMatch(/wrote backup .*: log \d+ entries \(checkpoint \d+\), 2 archives\n/);
    expect(statSync(join(work, 'old')).mode & 0o077).toBe(0);
    expect(existsSync(join(work, 'old', 'config', 'keys'))).toBe(true);
    expect(existsSync(join(work, 'old', 'config', 'data'))).toBe(false);

    await record(a.configPath, ['bot-3']);
    expect((await ship(a.configPath)).failed).toEqual([]); // the bucket now has a checkpoint the old backup lacks

    const refused = vigil(['restore', '--backup', join(work, 'old'), '--config', join(work, 'r1', 'vigil.yaml')]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/the backup's log ends at \d+ entries .*, but bucket restore \(checkpoints\/\d{12}\.json\) holds checkpoint \d+ .*: restoring it would roll the log back by \d+ entries/);
    expect(existsSync(join(work, 'r1'))).toBe(false); // nothing written

    // A restore by hand (cp) of the old data directory: the shipper refuses to continue it.
    const byHand = tempDir();
    ok(['restore', '--backup', join(work, 'old'), '--config', join(byHand, 'vigil.yaml'), '--no-bucket']);
    const behind = await ship(join(byHand, 'vigil.yaml'));
    expect(behind.failed.map((f) => f.error)).toEqual([expect.stringMatching(/the bucket holds checkpoint \d+, beyond this appliance's log \(\d+\).*shipping stops rather than fork the log/)]);
    // Written on past the bucket's size, it is a fork: refused too (the root at the bucket's size differs).
    await record(join(byHand, 'vigil.yaml'), ['bot-fork', 'bot-fork-2', 'bot-fork-3']);
    const forked = await ship(join(byHand, 'vigil.yaml'));
    expect(forked.failed.map((f) => f.error)).toEqual([expect.stringMatching(/the bucket holds a checkpoint \d+ this log does not have .*: the log forked/)]);

    // The disaster: the appliance directory is lost; the current backup is restored.
    ok(['backup', '--config', a.configPath, '--out', join(work, 'current')]);
    rmSync(join(a.dir, 'appliance'), { recursive: true });
    const restoredConfig = join(work, 'r2', 'vigil.yaml');
    const restored = ok(['restore', '--backup', join(work, 'current'), '--config', restoredConfig, '--witness', pinned]);
    expect(restored.stdout).toMatch(/restored .*: log continues from \d+ entries \(appliance\.restored at entry \d+\); witnesses: .*trust-before\.json: checkpoint \d+; bucket restore/);

    await record(restoredConfig, ['bot-4']);
    expect((await ship(restoredConfig)).failed).toEqual([]);
    ok(['export', '--config', restoredConfig, '--out', join(work, 'after.vigil')]);
    const v = vigil(['verify', join(work, 'after.vigil'), '--trust', pinned, '--key', join(a.dir, 'auditor.key'), '--json']);
    const report = JSON.parse(v.stdout);
    expect(failures(report)).toEqual([]);
    expect(v.code).toBe(0);
    expect(report.checks.find((c: { id: string }) => c.id === 'log-consistency')).toMatchObject({ status: 'pass' });
    expect(report.checks.find((c: { id: string }) => c.id === 'log-consistency').summary).toMatch(/extends the pinned checkpoint/);
    expect(report.sessions.map((s: { seq: number; status: string }) => [s.seq, s.status])).toEqual([[1, 'complete'], [2, 'complete'], [3, 'complete'], [4, 'complete']]);
  }, 240_000); // about 20 CLI runs (each a tsx start-up of 2-4 s on the busy 2-core machine)

  it('without a bucket, an auditor\'s trust file is the witness: an older backup is refused, and without any witness the restore says so', async () => {
    const a = newAppliance();
    const work = tempDir();
    await record(a.configPath, ['bot-1']);
    ok(['backup', '--config', a.configPath, '--out', join(work, 'old')]);
    await record(a.configPath, ['bot-2']);
    ok(['export', '--config', a.configPath, '--out', join(work, 'b.vigil')]);
    const pinned = await pinTo(a, join(work, 'b.vigil'), join(work, 'trust.json'));
    const refused = vigil(['restore', '--backup', join(work, 'old'), '--config', join(work, 'r', 'vigil.yaml'), '--witness', pinned]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/trust\.json holds checkpoint \d+ .*restoring it would roll the log back/);
    const blind = ok(['restore', '--backup', join(work, 'old'), '--config', join(work, 'r', 'vigil.yaml')]);
    expect(blind.stdout).toMatch(/witnesses: none \(nothing outside the backup was checked\)/);
  }, 180_000);
});
