/**
 * Shipping to a real Object Lock bucket (versitygw on 127.0.0.1): archives and the latest checkpoint are
 * uploaded locked in compliance mode until their retention ends, verified, recorded; a missing bucket
 * fails visibly (health: pending, failing, lastError) and is retried after its backoff; a restart ships only
 * what is new; a pruned local archive is read back by `vigil export` and the bundle verifies; a shipped
 * archive cannot be deleted from the bucket before its date.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeleteObjectCommand, GetObjectRetentionCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { Appliance } from '../../../appliance/appliance.ts';
import { Bucket } from '../../../appliance/shipping/bucket.ts';
import { evidenceStorageHealth } from '../../../appliance/shipping/health.ts';
import { evidenceStorageCheck } from '../../../appliance/doctor/checks/evidence-storage.ts';
import { Shipper } from '../../../appliance/shipping/shipper.ts';
import { placeHold, releaseHold } from '../../../appliance/retention/holds.ts';
import { runRetention } from '../../../appliance/retention/purge.ts';
import { vigil } from '../../helpers/cli.ts';
import { failures, newAppliance, verifyBytes, type TestAppliance } from '../../helpers/evidence.ts';
import { startS3, type TestS3 } from '../../helpers/s3.ts';
import { recordSessions } from '../../helpers/viewer-evidence.ts';

let s3: TestS3;
// A cold machine builds versitygw first (scripts/ensure-s3.sh, ≈ 2 min; scripts/test.sh does it before vitest).
beforeAll(async () => {
  s3 = await startS3();
}, 600_000);
afterAll(() => s3?.stop());

const DAY = 86_400_000;

function configure(a: TestAppliance, bucket: string, extra = ''): void {
  writeFileSync(
    a.configPath,
    readFileSync(a.configPath, 'utf8') +
      `\nshipping:\n  endpoint: ${s3.endpoint}\n  bucket: ${bucket}\n  prefix: vigil/\n  credentialsFile: ${s3.credentialsFile}\n${extra}`,
  );
}

async function open(a: TestAppliance, clock: { t: number }): Promise<{ app: Appliance; bucket: Bucket; shipper: Shipper }> {
  const app = await Appliance.open(a.configPath, { now: () => new Date(clock.t) });
  const cfg = app.loaded.config.shipping!;
  const bucket = new Bucket(cfg, app.loaded.resolvePath);
  return { app, bucket, shipper: new Shipper(app, bucket, cfg, () => new Date(clock.t)) };
}

describe('shipping to an Object Lock bucket', () => {
  it('ships locked and verified, fails visibly and retries with backoff, resumes after a restart', async () => {
    const a = newAppliance();
    configure(a, 'evidence-one');
    const clock = { t: Date.now() };
    let { app, bucket, shipper } = await open(a, clock);
    const ids = await recordSessions(app, [{ subject: 'bot-a', commands: 2 }, { subject: 'bot-b', commands: 1 }]);
    app.log.checkpoint();

    // The bucket does not exist yet: every item fails, visibly, and waits its backoff.
    const failed = await shipper.runOnce();
    expect(failed.shipped).toEqual([]);
    expect(failed.failed).toHaveLength(3);
    expect(failed.failed[0]!.error).toMatch(/bucket evidence-one: upload vigil\/archives\/.*NoSuchBucket/);
    let h = evidenceStorageHealth(app.db, app.loaded.config, { now: new Date(clock.t) });
    expect(h.shipping).toMatchObject({ enabled: true, pending: 3, failing: 3, lastError: { attempts: 1 } });
    expect(h.shipping.lastError!.error).toMatch(/NoSuchBucket/);
    // `vigil doctor` (the evidence-storage check): an hour later, still failing, the lag is past its limit.
    const doctorAt = (t: number) => evidenceStorageCheck.run({ configPath: '', loaded: app.loaded, db: app.db, trustPath: '', now: () => new Date(t), run: async () => undefined });
    expect((await doctorAt(clock.t + 3_600_000)).find((r) => r.subject === 'shipping')).toMatchObject({ status: 'fail', fix: expect.stringMatching(/NoSuchBucket/) });
    await s3.createLockedBucket('evidence-one');
    expect((await shipper.runOnce()).shipped).toEqual([]); // still inside the backoff
    clock.t += 1500;
    const ok = await shipper.runOnce();
    expect(ok.failed).toEqual([]);
    expect(ok.shipped).toHaveLength(3);
    h = evidenceStorageHealth(app.db, app.loaded.config, { now: new Date(clock.t) });
    expect(h.shipping).toMatchObject({ ok: true, pending: 0, failing: 0, lagSeconds: 0, lastError: null, shipped: { archives: 2, checkpoints: 1 } });
    expect(h.shipping.shippedCheckpointSize).toBe(app.log.latestCheckpoint()!.checkpoint.size);
    expect((await doctorAt(clock.t)).map((r) => [r.subject, r.status])).toEqual([['shipping', 'pass'], ['retention', 'pass']]);

    // In the bucket: locked in compliance mode until the session's end + retention days, digest recorded.
    const row = app.db.prepare("SELECT key, version_id, sha256, retain_until FROM shipments WHERE ref = ?").get(ids[0]) as { key: string; version_id: string; sha256: string; retain_until: string };
    const ended = app.db.prepare('SELECT ended_at FROM sessions WHERE id = ?').pluck().get(ids[0]) as string;
    expect(Date.parse(row.retain_until) - Date.parse(ended)).toBeGreaterThanOrEqual(2557 * DAY - 1000);
    const ret = await s3.client.send(new GetObjectRetentionCommand({ Bucket: 'evidence-one', Key: row.key, VersionId: row.version_id }));
    expect(ret.Retention?.Mode).toBe('COMPLIANCE');
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: 'evidence-one', Key: row.key, VersionId: row.version_id }));
    const local = readFileSync(join(a.dir, 'appliance', 'data', app.db.prepare('SELECT path FROM sessions WHERE id = ?').pluck().get(ids[0]) as string));
    expect(head.ContentLength).toBe(local.length);
    await expect(s3.client.send(new DeleteObjectCommand({ Bucket: 'evidence-one', Key: row.key, VersionId: row.version_id }))).rejects.toThrow();

    // A restart ships only what is new: one session and the newer checkpoint.
    bucket.destroy();
    await app.close();
    ({ app, bucket, shipper } = await open(a, clock));
    await recordSessions(app, [{ subject: 'bot-c', commands: 1 }]);
    app.log.checkpoint();
    const again = await shipper.runOnce();
    expect(again.shipped.map((k) => k.replace(/\/\d{4}-\d{2}-\d{2}\//, '/DAY/').replace(/\d{8}-[0-9a-f-]{36}/, 'S'))).toEqual(['vigil/archives/DAY/S.vsa', expect.stringMatching(/^vigil\/checkpoints\/\d{12}\.json$/)]);
    expect(evidenceStorageHealth(app.db, app.loaded.config).shipping.shipped).toEqual({ archives: 3, checkpoints: 2 });

    // A legal hold reaches the bucket version at the next pass (an S3 legal hold outlives retain-until); a release clears it.
    placeHold(app, ids[0]!, 'case 9', 'legal');
    expect(evidenceStorageHealth(app.db, app.loaded.config).shipping.legalHoldsPending).toBe(1);
    expect(await bucket.legalHold(row.key, row.version_id)).toBe(false);
    expect((await shipper.runOnce()).failed).toEqual([]);
    expect(await bucket.legalHold(row.key, row.version_id)).toBe(true);
    expect(evidenceStorageHealth(app.db, app.loaded.config).shipping.legalHoldsPending).toBe(0);
    releaseHold(app, ids[0]!, 'closed', 'legal');
    expect((await shipper.runOnce()).failed).toEqual([]);
    expect(await bucket.legalHold(row.key, row.version_id)).toBe(false);
    bucket.destroy();
    await app.close();
  });

  it('a purge deletes the bucket version only once its lock date has passed (refused before, retried, then deleted)', async () => {
    await s3.createLockedBucket('evidence-purge');
    const a = newAppliance();
    configure(a, 'evidence-purge');
    writeFileSync(a.configPath, readFileSync(a.configPath, 'utf8') + 'retention:\n  days: 365\n');
    // The session "ended" a year less 4 s ago (the recorder's clock), so its lock ends 4 s from now.
    const clock = { t: Date.now() - 365 * DAY + 4000 };
    const { app, bucket, shipper } = await open(a, clock);
    try {
      const [id] = await recordSessions(app, [{ subject: 'bot', commands: 1 }]);
      expect((await shipper.runOnce()).failed).toEqual([]);
      const row = app.db.prepare('SELECT key, version_id FROM shipments WHERE ref = ?').get(id) as { key: string; version_id: string };
      const early = await runRetention(app, { now: new Date(Date.now() + 365 * DAY), bucket });
      expect(early.due).toHaveLength(1);
      expect(early.deleted).toEqual({ local: 1, bucket: 0 });
      expect(early.problems).toEqual([expect.stringMatching(/the bucket still refuses to delete vigil\/archives\/.* \(retried next run\)/)]);
      expect(evidenceStorageHealth(app.db, app.loaded.config).retention.bucketDeletionsPending).toBe(1);
      await expect(bucket.get(row.key, row.version_id)).resolves.toBeDefined(); // still there, locked
      await new Promise((r) => setTimeout(r, Math.max(0, clock.t + 365 * DAY + 1500 - Date.now())));
      const later = await runRetention(app, { now: new Date(), bucket });
      expect(later.due).toEqual([]); // already purged: only its copy was left
      expect(later.deleted).toEqual({ local: 0, bucket: 1 });
      expect(later.problems).toEqual([]);
      await expect(bucket.get(row.key, row.version_id)).rejects.toThrow(/NoSuchVersion|NoSuchKey|404/);
      expect(evidenceStorageHealth(app.db, app.loaded.config).retention.bucketDeletionsPending).toBe(0);
    } finally {
      bucket.destroy();
      await app.close();
    }
  });

  it('the gateway ships on its own timer (shipping.intervalSeconds)', async () => {
    await s3.createLockedBucket('evidence-timer');
    const a = newAppliance();
    configure(a, 'evidence-timer', '  intervalSeconds: 1\n');
    const app = await Appliance.open(a.configPath);
    try {
      await recordSessions(app, [{ subject: 'bot', commands: 1 }]);
      app.startTimers();
      const deadline = Date.now() + 15_000;
      while (evidenceStorageHealth(app.db, app.loaded.config).shipping.shipped.archives < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      expect(evidenceStorageHealth(app.db, app.loaded.config).shipping).toMatchObject({ ok: true, shipped: { archives: 1 } });
      expect(app.shipper).toBeDefined();
    } finally {
      await app.close();
    }
  });

  it('prunes the local copy after a verified upload; `vigil export` reads it back from the bucket and the bundle verifies', async () => {
    await s3.createLockedBucket('evidence-two');
    const a = newAppliance();
    configure(a, 'evidence-two', '  pruneLocal: true\n  keepLocalDays: 0\n');
    const clock = { t: Date.now() };
    const { app, bucket } = await open(a, clock);
    await recordSessions(app, [{ subject: 'bot', commands: 2 }]);
    const path = join(a.dir, 'appliance', 'data', app.db.prepare('SELECT path FROM sessions').pluck().get() as string);
    bucket.destroy();
    await app.close();

    const ship = vigil(['shipping', 'run', '--config', a.configPath]);
    expect(ship.code, ship.stderr).toBe(0);
    expect(ship.stdout).toMatch(/shipped 2 objects to bucket evidence-two; pruned 1 local archive\n/);
    expect(existsSync(path)).toBe(false);
    const status = vigil(['shipping', 'status', '--config', a.configPath, '--json']);
    expect(status.code, status.stdout).toBe(0);
    expect(JSON.parse(status.stdout).shipping).toMatchObject({ ok: true, pending: 0, prunedLocal: 1 });

    const out = join(a.dir, 'from-bucket.vigil');
    const exp = vigil(['export', '--config', a.configPath, '--out', out]);
    expect(exp.code, exp.stderr).toBe(0);
    expect(exp.stdout).toMatch(/1 session archive, .*; 1 archive read back from bucket evidence-two/);
    const report = await verifyBytes(new Uint8Array(readFileSync(out)), a.trust, a.auditor);
    expect(failures(report)).toEqual([]);
    expect(report.verdict.status).toBe('pass');
    expect(report.sessions.map((s) => s.status)).toEqual(['complete']);
    expect(readdirSync(join(a.dir, 'appliance', 'data', 'tmp'))).toEqual([]); // the read-back copy is removed
    expect(exp.stderr).toBe('');
    expect(vigil(['shipping', 'status', '--config', a.configPath]).stdout).toMatch(/^shipping ok: 0 pending \(0 failing\), lag 0 s, 1 archive and \d checkpoints? shipped/);
  });
});
