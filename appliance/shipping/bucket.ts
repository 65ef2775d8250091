/**
 * The evidence bucket: uploads locked in compliance mode with their digests, verification after upload,
 * read-back and version deletion. One small wrapper so the shipper, export, purge and restore share the
 * SDK set-up (credentials from a file, never from vigil.yaml) and the error codes.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectLegalHoldCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { VigilError } from '../../shared/errors.ts';
import type { ShippingConfig } from './config.ts';

export interface StoredObject {
  key: string;
  versionId: string;
  sha256: string;
  bytes: number;
  retainUntil: string;
}

export class Bucket {
  private readonly client: S3Client;

  constructor(
    private readonly cfg: ShippingConfig,
    resolvePath: (p: string) => string,
  ) {
    // The SDK warns on Node 20 that releases after January 2027 will need Node 22; the locked version
    // supports Node 20 (the appliance's platform), and the warning would land in every log line stream.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    const opts: S3ClientConfig = { region: cfg.region, forcePathStyle: cfg.forcePathStyle, maxAttempts: 2 };
    if (cfg.endpoint) opts.endpoint = cfg.endpoint;
    if (cfg.credentialsFile) opts.credentials = readCredentials(resolvePath(cfg.credentialsFile));
    this.client = new S3Client(opts);
  }

  get name(): string {
    return this.cfg.bucket;
  }

  key(rel: string): string {
    return this.cfg.prefix + rel;
  }

  /**
   * Uploads `body` under `key`, locked in compliance mode until `retainUntil`, with Content-MD5 and
   * x-amz-checksum-sha256 so the store itself refuses a body damaged on the way; then reads it back (HEAD
   * for length, lock mode and date; GET of that very version, hashed) and returns what is proven stored.
   */
  async putLocked(key: string, body: Uint8Array, retainUntil: Date): Promise<StoredObject> {
    const sha = createHash('sha256').update(body).digest();
    const md5 = createHash('md5').update(body).digest('base64');
    const put = await this.call(`upload ${key}`, () => this.client.send(
      new PutObjectCommand({
        Bucket: this.cfg.bucket,
        Key: key,
        Body: body,
        ContentLength: body.length,
        ContentMD5: md5,
        ChecksumSHA256: sha.toString('base64'),
        ObjectLockMode: 'COMPLIANCE',
        ObjectLockRetainUntilDate: retainUntil,
      }),
    ));
    if (!put.VersionId) throw new VigilError('E_SHIP_VERSIONING', `bucket ${this.cfg.bucket} returned no version id for ${key}: is versioning (Object Lock) enabled?`);
    const versionId = put.VersionId;
    const head = await this.call(`verify ${key}`, () => this.client.send(new HeadObjectCommand({ Bucket: this.cfg.bucket, Key: key, VersionId: versionId, ChecksumMode: 'ENABLED' })));
    const problems: string[] = [];
    if (head.ContentLength !== body.length) problems.push(`${String(head.ContentLength)} bytes stored, ${body.length} sent`);
    if (head.ObjectLockMode !== 'COMPLIANCE') problems.push(`lock mode is ${head.ObjectLockMode ?? 'none'}, not COMPLIANCE`);
    const until = head.ObjectLockRetainUntilDate?.getTime() ?? 0;
    if (until < retainUntil.getTime() - 1000) problems.push(`retained until ${head.ObjectLockRetainUntilDate?.toISOString() ?? 'never'}, asked ${retainUntil.toISOString()}`);
    if (head.ChecksumSHA256 && head.ChecksumSHA256 !== sha.toString('base64')) problems.push('its SHA-256 checksum differs');
    const back = await this.get(key, put.VersionId);
    if (createHash('sha256').update(back).digest().compare(sha) !== 0) problems.push('the bytes read back differ');
    if (problems.length) throw new VigilError('E_SHIP_VERIFY', `${key} (version ${put.VersionId}) failed verification after upload: ${problems.join('; ')}`);
    return { key, versionId: put.VersionId, sha256: sha.toString('hex'), bytes: body.length, retainUntil: new Date(until).toISOString() };
  }

  async get(key: string, versionId?: string): Promise<Buffer> {
    return this.call(`read ${key}`, async () => {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.cfg.bucket, Key: key, ...(versionId ? { VersionId: versionId } : {}) }));
      if (!r.Body) throw new VigilError('E_SHIP', `read ${key}: no body`);
      return Buffer.from(await r.Body.transformToByteArray());
    });
  }

  /** Sets or clears the S3 legal hold of one version (it then outlives its retain-until date). */
  async setLegalHold(key: string, versionId: string, on: boolean): Promise<void> {
    await this.call(`legal hold ${key}`, () =>
      this.client.send(new PutObjectLegalHoldCommand({ Bucket: this.cfg.bucket, Key: key, VersionId: versionId, LegalHold: { Status: on ? 'ON' : 'OFF' } })),
    );
  }

  async legalHold(key: string, versionId: string): Promise<boolean> {
    const r = await this.call(`legal hold ${key}`, () =>
      this.client.send(new GetObjectLegalHoldCommand({ Bucket: this.cfg.bucket, Key: key, VersionId: versionId })).catch((e: unknown) => {
        // A version whose legal hold was never set has none: stores answer that with this error.
        if ((e as { name?: string }).name === 'NoSuchObjectLockConfiguration') return { LegalHold: { Status: 'OFF' } };
        throw e;
      }),
    );
    return r.LegalHold?.Status === 'ON';
  }

  /** Deletes one version (refused by the store while its lock holds). */
  async deleteVersion(key: string, versionId: string): Promise<void> {
    await this.call(`delete ${key}`, () => this.client.send(new DeleteObjectCommand({ Bucket: this.cfg.bucket, Key: key, VersionId: versionId })));
  }

  /** Keys under `prefix` after `startAfter`, in key order. */
  async list(prefix: string, startAfter?: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const next = token;
      const r = await this.call(`list ${prefix}`, () =>
        this.client.send(new ListObjectsV2Command({ Bucket: this.cfg.bucket, Prefix: prefix, ...(startAfter ? { StartAfter: startAfter } : {}), ...(next ? { ContinuationToken: next } : {}) })),
      );
      for (const o of r.Contents ?? []) if (o.Key) keys.push(o.Key);
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    return keys;
  }

  destroy(): void {
    this.client.destroy();
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof VigilError) throw e;
      const err = e as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
      const status = err.$metadata?.httpStatusCode;
      throw new VigilError('E_SHIP', `bucket ${this.cfg.bucket}: ${what}: ${err.name ?? 'error'}${status ? ` (HTTP ${status})` : ''}: ${err.message ?? String(e)}`);
    }
  }
}

function readCredentials(path: string): { accessKeyId: string; secretAccessKey: string; sessionToken?: string } {
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new VigilError('E_CONFIG', `shipping.credentialsFile: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const c = v as Record<string, unknown>;
  if (typeof c.accessKeyId !== 'string' || typeof c.secretAccessKey !== 'string') {
    throw new VigilError('E_CONFIG', `shipping.credentialsFile: ${path} must hold {"accessKeyId": …, "secretAccessKey": …}`);
  }
  return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, ...(typeof c.sessionToken === 'string' ? { sessionToken: c.sessionToken } : {}) };
}
