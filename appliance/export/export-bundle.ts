/**
 * `vigil export`: one bundle file with the sealed archives of sessions started in [since, until), the
 * log entries from just before the window up to a fresh signed checkpoint, the hashes that let a
 * verifier rebuild the checkpoint's root from those entries, consistency proofs from every checkpoint
 * handed out before (earlier exports, trust files), and the key rotation statements. The export is itself
 * logged (`evidence.exported`, the last entry its checkpoint covers), whether or not the gateway is running.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { utf8 } from '../../shared/bytes.ts';
import { VigilError } from '../../shared/errors.ts';
import { BUNDLE_FILES, archiveMemberName, type BundleManifest, type ConsistencyProofs, type LogPrefix } from '../../shared/evidence/bundle-format.ts';
import { SIGNED_LABELS, signStatement } from '../../shared/evidence/signed.ts';
import type { Appliance } from '../appliance.ts';
import { scanArchive } from '../evidence/recovery.ts';
import { isoTime } from '../time.ts';
import { TarWriter } from './tar-writer.ts';

export interface ExportOptions {
  out: string;
  since?: string;
  until?: string;
  /** Called as archive bytes are copied. */
  onProgress?: (done: number, total: number) => void;
  /** Where an archive whose local copy is gone may still be read (the shipping bucket): a verified local path. */
  readBack?: (sessionId: string) => Promise<string | undefined>;
}

export interface ExportSummary {
  path: string;
  bundleId: string;
  sessions: number;
  inProgress: number;
  bytes: number;
  checkpointSize: number;
  /** Sessions the log says ended whose archive is gone or damaged: the bundle will fail verification. */
  problems: string[];
}

interface SessionRow {
  id: string;
  seq: number;
  path: string;
  state: string;
  start_entry: number;
  end_entry: number | null;
  manifest_digest: string | null;
}

export async function exportBundle(app: Appliance, opts: ExportOptions): Promise<ExportSummary> {
  const { log, db } = app;
  const bundleId = randomUUID();
  const now = new Date();
  if (opts.since && opts.until && opts.since >= opts.until) throw new VigilError('E_USAGE', '--since must be earlier than --until');

  // Logged and marked before anything is written, also beside a running gateway: an auditor may pin this
  // bundle's checkpoint, so every later bundle must carry a consistency proof from it.
  const cp = log.recordExport({ bundleId, since: opts.since ?? null, until: opts.until ?? null });
  const size = cp.checkpoint.size;
  const first = opts.since ? log.firstIndexAtOrAfter(opts.since) : 0;
  // One entry before the window is included: its time proves no in-window entry was left out.
  const from = first > 0 ? Math.min(first, size) - 1 : 0;

  const rows = db
    .prepare(
      `SELECT id, seq, path, state, start_entry, end_entry, manifest_digest FROM sessions
       WHERE start_entry >= ? AND start_entry < ? AND started_at >= ? AND started_at < ? AND purge_entry IS NULL ORDER BY seq`,
    )
    .all(first, size, opts.since ?? '', opts.until ?? '9999') as SessionRow[];
  const problems: string[] = [];
  const archives: BundleManifest['archives'] = [];
  const files: { member: string; path: string; bytes: number }[] = [];
  let inProgress = 0;
  for (const r of rows) {
    if (r.end_entry === null || r.end_entry >= size || r.state === 'open') {
      inProgress++;
      continue;
    }
    let path = join(app.dataDir, r.path);
    let bytes: number;
    try {
      if (!existsSync(path) && opts.readBack) path = (await opts.readBack(r.id)) ?? path;
      bytes = statSync(path).size;
      const scan = await scanArchive(path);
      if (!scan.sealed || scan.sealed.manifestDigest !== r.manifest_digest) throw new Error('its trailer does not match the log');
    } catch (e) {
      problems.push(`session #${r.seq} (${r.id}): archive ${r.path} is missing or damaged (${(e as Error).message})`);
      continue;
    }
    const member = archiveMemberName(r.seq, r.id);
    archives.push({ sessionId: r.id, seq: r.seq, file: member, bytes, manifestDigest: r.manifest_digest! });
    files.push({ member, path, bytes });
  }

  const manifest: BundleManifest = {
    format: 'vigil-bundle',
    version: 1,
    bundleId,
    applianceId: app.id,
    createdAt: isoTime(now),
    range: { since: opts.since ?? null, until: opts.until ?? null },
    checkpoint: { size, root: cp.checkpoint.root },
    log: { from, to: size },
    archives,
  };
  const prefix: LogPrefix = { size: from, hashes: log.prefix(from) };
  const consistency: ConsistencyProofs = log
    .exportedCheckpoints()
    .filter((c) => c.checkpoint.size < size) // its own checkpoint needs no proof
    .map((c) => ({ fromSize: c.checkpoint.size, fromRoot: c.checkpoint.root, proof: log.consistencyProof(c.checkpoint.size, size) }));
  const rotations = app.keys.records().flatMap((k) => (k.rotation ? [k.rotation] : []));

  const tar = new TarWriter(opts.out);
  const total = files.reduce((n, f) => n + f.bytes, 0);
  let done = 0;
  try {
    tar.addBytes(BUNDLE_FILES.manifest, json(signStatement(SIGNED_LABELS.bundleManifest, manifest, app.keys.current)));
    tar.addBytes(BUNDLE_FILES.checkpoint, json(cp.envelope));
    tar.addBytes(BUNDLE_FILES.rotations, json(rotations));
    tar.addBytes(BUNDLE_FILES.prefix, json(prefix));
    tar.addBytes(BUNDLE_FILES.consistency, json(consistency));
    tar.addChunks(BUNDLE_FILES.entries, log.entriesBytes(from, size), (function* () {
      for (const e of log.entries(from, size)) yield utf8(e + '\n');
    })());
    for (const f of files) {
      tar.addFile(f.member, f.path, f.bytes, (n) => opts.onProgress?.((done += n), total));
    }
    tar.finish();
  } catch (e) {
    tar.abort();
    throw e;
  }
  return { path: opts.out, bundleId, sessions: archives.length, inProgress, bytes: tar.written, checkpointSize: size, problems };
}

function json(v: unknown): Uint8Array {
  return utf8(JSON.stringify(v, null, 1) + '\n');
}
