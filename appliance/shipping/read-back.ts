/**
 * `vigil export` when a local archive was pruned: the shipped version is read back from the bucket into
 * a temporary file under the data directory, checked against the SHA-256 recorded when it was verified
 * after upload, and handed to the exporter (which then checks it against the log as for a local copy).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VigilError } from '../../shared/errors.ts';
import type { Appliance } from '../appliance.ts';
import type { Bucket } from './bucket.ts';

export interface ReadBack {
  /** Path of a verified copy of the session's archive, or undefined when none was shipped. */
  fetch(sessionId: string): Promise<string | undefined>;
  /** Archives read from the bucket so far. */
  readonly count: number;
  /** Removes the temporary copies. */
  cleanup(): void;
}

export function bucketReadBack(app: Appliance, bucket: Bucket): ReadBack {
  const dir = join(app.dataDir, 'tmp', `read-back-${process.pid}-${Date.now()}`);
  let count = 0;
  return {
    get count() {
      return count;
    },
    async fetch(sessionId) {
      const row = app.db.prepare("SELECT key, version_id, sha256 FROM shipments WHERE kind = 'archive' AND ref = ? AND state = 'shipped'").get(sessionId) as
        | { key: string; version_id: string; sha256: string }
        | undefined;
      if (!row) return undefined;
      const body = await bucket.get(row.key, row.version_id);
      const sha = createHash('sha256').update(body).digest('hex');
      if (sha !== row.sha256) throw new VigilError('E_SHIP_VERIFY', `${row.key} (version ${row.version_id}) read back from the bucket has SHA-256 ${sha}, ${row.sha256} was shipped`);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const path = join(dir, `${sessionId}.vsa`);
      writeFileSync(path, body, { mode: 0o600 });
      count++;
      return path;
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
