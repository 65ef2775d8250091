/**
 * The object store the shipping tests use really enforces Object Lock in compliance mode: before its
 * retain-until date a version can be neither deleted nor overwritten (a PUT makes a new version, the
 * locked one stays byte for byte), nor can its retention be shortened or removed; after the date it can
 * be deleted. Real versitygw on 127.0.0.1.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectRetentionCommand,
  PutObjectCommand,
  PutObjectRetentionCommand,
} from '@aws-sdk/client-s3';
import { startS3, type TestS3 } from '../../helpers/s3.ts';

let s3: TestS3;
const bucket = 'locked';

// A cold machine builds versitygw first (scripts/ensure-s3.sh, ≈ 2 min; scripts/test.sh does it before vitest).
beforeAll(async () => {
  s3 = await startS3();
  await s3.createLockedBucket(bucket);
}, 600_000);
afterAll(() => s3?.stop());

const sha256b64 = (b: Buffer) => createHash('sha256').update(b).digest('base64');

async function put(key: string, body: Buffer, until: Date) {
  return s3.client.send(new PutObjectCommand({
    Bucket: bucket, Key: key, Body: body, ChecksumSHA256: sha256b64(body),
    ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: until,
  }));
}

async function read(key: string, versionId?: string): Promise<Buffer> {
  const r = await s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...(versionId ? { VersionId: versionId } : {}) }));
  return Buffer.from(await r.Body!.transformToByteArray());
}

describe('Object Lock, compliance mode (versitygw)', () => {
  it('a locked version cannot be deleted, overwritten or have its retention shortened before its date', async () => {
    const original = Buffer.from('sealed archive bytes');
    const until = new Date(Date.now() + 3600_000);
    const v1 = await put('archives/a.vsa', original, until);
    expect(v1.VersionId).toBeTruthy();

    await expect(s3.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'archives/a.vsa', VersionId: v1.VersionId }))).rejects.toThrow();
    await expect(s3.client.send(new PutObjectRetentionCommand({
      Bucket: bucket, Key: 'archives/a.vsa', VersionId: v1.VersionId,
      Retention: { Mode: 'COMPLIANCE', RetainUntilDate: new Date(Date.now() + 1000) },
    }))).rejects.toThrow();
    await expect(s3.client.send(new PutObjectRetentionCommand({
      Bucket: bucket, Key: 'archives/a.vsa', VersionId: v1.VersionId, BypassGovernanceRetention: true,
      Retention: { Mode: 'GOVERNANCE', RetainUntilDate: new Date(Date.now() + 1000) },
    }))).rejects.toThrow();

    // "Overwriting" the key makes a new version; the locked one is untouched.
    const v2 = await s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: 'archives/a.vsa', Body: Buffer.from('forged') }));
    expect(v2.VersionId).not.toBe(v1.VersionId);
    expect((await read('archives/a.vsa', v1.VersionId)).equals(original)).toBe(true);
    const kept = await s3.client.send(new GetObjectRetentionCommand({ Bucket: bucket, Key: 'archives/a.vsa', VersionId: v1.VersionId }));
    expect(kept.Retention?.Mode).toBe('COMPLIANCE');
    expect(Math.abs(kept.Retention!.RetainUntilDate!.getTime() - until.getTime())).toBeLessThan(1000);
    // A delete without a version only adds a delete marker: the locked version is still there.
    await s3.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'archives/a.vsa' }));
    expect((await read('archives/a.vsa', v1.VersionId)).equals(original)).toBe(true);
  });

  it('after its retain-until date the version can be deleted', async () => {
    const v = await put('archives/short.vsa', Buffer.from('short-lived'), new Date(Date.now() + 2500));
    await expect(s3.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'archives/short.vsa', VersionId: v.VersionId }))).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 3500));
    await s3.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'archives/short.vsa', VersionId: v.VersionId }));
    await expect(read('archives/short.vsa', v.VersionId)).rejects.toThrow();
  });
});
