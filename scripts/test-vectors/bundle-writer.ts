/**
 * Writes a bundle exactly as `vigil export` (appliance/export/export-bundle.ts, the owner's path) does —
 * same selection, members, member order and JSON formatting — but with a fixed bundle id and clock, so the
 * vector is the same bytes on every run. Keep it in step with export-bundle.ts.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { utf8 } from '../../shared/bytes.ts';
import { BUNDLE_FILES, archiveMemberName, type BundleManifest, type ConsistencyProofs, type LogPrefix } from '../../shared/evidence/bundle-format.ts';
import { SIGNED_LABELS, signStatement } from '../../shared/evidence/signed.ts';
import { TarWriter } from '../../appliance/export/tar-writer.ts';
import type { KeyRing } from '../../appliance/keys/key-ring.ts';
import type { TransparencyLog } from '../../appliance/log/transparency-log.ts';
import type { Db } from '../../appliance/store/database.ts';
import { isoTime } from '../../appliance/time.ts';

export interface BundleInput {
  db: Db;
  log: TransparencyLog;
  keys: KeyRing;
  dataDir: string;
  applianceId: string;
  bundleId: string;
  now: Date;
  since: string | null;
  until: string | null;
  out: string;
}

export function writeBundle(b: BundleInput): BundleManifest {
  const { log, db } = b;
  log.append('evidence.exported', { bundleId: b.bundleId, since: b.since, until: b.until });
  const cp = log.checkpoint();
  const size = cp.checkpoint.size;
  const first = b.since ? log.firstIndexAtOrAfter(b.since) : 0;
  const from = first > 0 ? Math.min(first, size) - 1 : 0;
  const rows = db
    .prepare(
      `SELECT id, seq, path, state, end_entry, manifest_digest FROM sessions
       WHERE start_entry >= ? AND start_entry < ? AND started_at >= ? AND started_at < ? ORDER BY seq`,
    )
    .all(first, size, b.since ?? '', b.until ?? '9999') as { id: string; seq: number; path: string; state: string; end_entry: number | null; manifest_digest: string | null }[];
  const archives: BundleManifest['archives'] = [];
  const files: { member: string; path: string; bytes: number }[] = [];
  for (const r of rows) {
    if (r.end_entry === null || r.end_entry >= size || r.state === 'open') continue;
    const path = join(b.dataDir, r.path);
    const bytes = statSync(path).size;
    const member = archiveMemberName(r.seq, r.id);
    archives.push({ sessionId: r.id, seq: r.seq, file: member, bytes, manifestDigest: r.manifest_digest! });
    files.push({ member, path, bytes });
  }
  const manifest: BundleManifest = {
    format: 'vigil-bundle',
    version: 1,
    bundleId: b.bundleId,
    applianceId: b.applianceId,
    createdAt: isoTime(b.now),
    range: { since: b.since, until: b.until },
    checkpoint: { size, root: cp.checkpoint.root },
    log: { from, to: size },
    archives,
  };
  const prefix: LogPrefix = { size: from, hashes: log.prefix(from) };
  const consistency: ConsistencyProofs = log
    .exportedCheckpoints()
    .filter((c) => c.checkpoint.size <= size)
    .map((c) => ({ fromSize: c.checkpoint.size, fromRoot: c.checkpoint.root, proof: log.consistencyProof(c.checkpoint.size, size) }));
  const rotations = b.keys.records().flatMap((k) => (k.rotation ? [k.rotation] : []));

  const tar = new TarWriter(b.out);
  tar.addBytes(BUNDLE_FILES.manifest, json(signStatement(SIGNED_LABELS.bundleManifest, manifest, b.keys.current)), b.now);
  tar.addBytes(BUNDLE_FILES.checkpoint, json(cp.envelope), b.now);
  tar.addBytes(BUNDLE_FILES.rotations, json(rotations), b.now);
  tar.addBytes(BUNDLE_FILES.prefix, json(prefix), b.now);
  tar.addBytes(BUNDLE_FILES.consistency, json(consistency), b.now);
  const entries = [...log.entries(from, size)].map((e) => utf8(e + '\n'));
  tar.addChunks(BUNDLE_FILES.entries, log.entriesBytes(from, size), entries, b.now);
  for (const f of files) tar.addFile(f.member, f.path, f.bytes, undefined, b.now);
  tar.finish();
  log.markExported(size);
  return manifest;
}

function json(v: unknown): Uint8Array {
  return utf8(JSON.stringify(v, null, 1) + '\n');
}
