/**
 * The retention job: sealed archives whose session ended more than `retention.days` ago, and that no legal
 * hold covers, are purged. The signed purge record goes into the log first (`evidence.purged`, then a
 * checkpoint), the copies are deleted after: a crash in between leaves a record whose files are deleted by
 * the next run, never a deletion nobody recorded. Bucket copies are deleted by version once their Object
 * Lock date (the same retention end) has passed; one the store still refuses is retried by the next run.
 */
import { plural } from '../../shared/text/plural.ts';
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, existsSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describeError } from '../../shared/errors.ts';
import { PURGE_RECORD_MAX_SESSIONS, signPurgeRecord, type PurgedSession } from '../../shared/evidence/purge-record.ts';
import type { Appliance } from '../appliance.ts';
import { exportBundle } from '../export/export-bundle.ts';
import type { Bucket } from '../shipping/bucket.ts';
import { isoTime } from '../time.ts';

export interface RetentionRunOptions {
  dryRun?: boolean;
  now?: Date;
  /** Export the due sessions to this bundle first (logged as every export is); its id goes into the record. */
  exportTo?: string;
  /** Where shipped copies are (absent: shipping is not configured). */
  bucket?: Bucket;
}

export interface DueSession {
  sessionId: string;
  seq: number;
  endedAt: string;
  startedAt: string;
}

export interface RetentionRunResult {
  policy: { name: string; days: number };
  cutoff: string;
  dryRun: boolean;
  /** Sessions past retention and not held: purged (or, with dryRun, that would be). */
  due: DueSession[];
  /** Sessions past retention kept because of a legal hold. */
  held: DueSession[];
  /** Log indexes of the `evidence.purged` entries written. */
  records: number[];
  exportedIn: string | null;
  /** Copies deleted in this run (also of sessions purged by an earlier run whose deletion had failed). */
  deleted: { local: number; bucket: number };
  /** Copies that could not be deleted yet (retried next run). */
  problems: string[];
}

interface Row {
  id: string;
  seq: number;
  path: string;
  started_at: string;
  ended_at: string;
  manifest_digest: string | null;
  held: number;
}

export async function runRetention(app: Appliance, opts: RetentionRunOptions = {}): Promise<RetentionRunResult> {
  const cfg = app.loaded.config.retention;
  const now = opts.now ?? new Date();
  const cutoff = isoTime(new Date(now.getTime() - cfg.days * 86_400_000));
  const policy = { name: cfg.policy, days: cfg.days };
  const select = app.db.prepare(
    `SELECT s.id, s.seq, s.path, s.started_at, s.ended_at, s.manifest_digest, (h.session_id IS NOT NULL) AS held
       FROM sessions s LEFT JOIN legal_holds h ON h.session_id = s.id
      WHERE s.state != 'open' AND s.end_entry IS NOT NULL AND s.ended_at < ? AND s.purge_entry IS NULL ORDER BY s.seq`,
  );
  const rows = select.all(cutoff) as Row[];
  const due = rows.filter((r) => !r.held);
  const result: RetentionRunResult = {
    policy,
    cutoff,
    dryRun: opts.dryRun === true,
    due: due.map(dueOf),
    held: rows.filter((r) => r.held).map(dueOf),
    records: [],
    exportedIn: null,
    deleted: { local: 0, bucket: 0 },
    problems: [],
  };
  if (opts.dryRun) return result;

  if (opts.exportTo && due.length) {
    const s = await exportBundle(app, { out: opts.exportTo, since: due.reduce((m, r) => (r.started_at < m ? r.started_at : m), due[0]!.started_at), until: cutoff });
    if (s.problems.length) throw new Error(`the export before the purge found problems; nothing was purged: ${s.problems.join('; ')}`);
    result.exportedIn = s.bundleId;
  }

  const digests = new Map<string, string | null>();
  for (const r of due) digests.set(r.id, await fileSha256(join(app.dataDir, r.path)));
  for (let i = 0; i < due.length; i += PURGE_RECORD_MAX_SESSIONS) {
    const chunk = due.slice(i, i + PURGE_RECORD_MAX_SESSIONS);
    const entry = app.db.transaction(() => {
      // Again inside the write lock: a hold placed since the first read wins.
      const still = new Set((select.all(cutoff) as Row[]).filter((r) => !r.held).map((r) => r.id));
      const sessions: PurgedSession[] = chunk
        .filter((r) => still.has(r.id))
        .map((r) => ({
          sessionId: r.id,
          seq: r.seq,
          endedAt: r.ended_at,
          manifestDigest: r.manifest_digest,
          archiveSha256: digests.get(r.id) ?? shippedSha(app, r.id),
          copies: [...(digests.get(r.id) ? (['local'] as const) : []), ...(shippedSha(app, r.id) !== null ? (['bucket'] as const) : [])],
        }));
      if (!sessions.length) return undefined;
      const purgeId = randomUUID();
      const record = signPurgeRecord(
        { applianceId: app.id, purgeId, time: isoTime(now), reason: 'retention', policy, cutoff, exportedIn: result.exportedIn, sessions },
        app.keys.current,
      );
      const e = app.log.append('evidence.purged', { purgeId, sessions: sessions.length, record });
      const mark = app.db.prepare('UPDATE sessions SET purge_entry = ?, purged_at = ? WHERE id = ?');
      for (const s of sessions) mark.run(e.i, e.t, s.sessionId);
      return e.i;
    })();
    if (entry !== undefined) result.records.push(entry);
  }
  if (result.records.length) app.log.checkpoint(); // the records are under a signed checkpoint before anything is deleted
  await deleteCopies(app, opts.bucket, result);
  return result;
}

/** Deletes what is left of every purged session: its local archive and its bucket version. */
async function deleteCopies(app: Appliance, bucket: Bucket | undefined, result: RetentionRunResult): Promise<void> {
  const purged = app.db.prepare('SELECT id, seq, path FROM sessions WHERE purge_entry IS NOT NULL').all() as { id: string; seq: number; path: string }[];
  for (const s of purged) {
    const path = join(app.dataDir, s.path);
    if (existsSync(path)) {
      try {
        unlinkSync(path);
        result.deleted.local++;
      } catch (e) {
        result.problems.push(`session #${s.seq}: cannot delete ${s.path}: ${describeError(e)}`);
      }
    }
  }
  const shipped = app.db
    .prepare("SELECT sh.key, sh.version_id, s.seq FROM shipments sh JOIN sessions s ON s.id = sh.ref WHERE sh.kind = 'archive' AND sh.state = 'shipped' AND s.purge_entry IS NOT NULL")
    .all() as { key: string; version_id: string; seq: number }[];
  if (!shipped.length) return;
  if (!bucket) {
    result.problems.push(`${plural(shipped.length, 'purged archive')} ${shipped.length === 1 ? 'is' : 'are'} still in the bucket: shipping is not configured here, delete them there`);
    return;
  }
  for (const o of shipped) {
    try {
      await bucket.deleteVersion(o.key, o.version_id);
      app.db.prepare("UPDATE shipments SET state = 'deleted' WHERE key = ?").run(o.key);
      result.deleted.bucket++;
    } catch (e) {
      result.problems.push(`session #${o.seq}: the bucket still refuses to delete ${o.key} (retried next run): ${describeError(e)}`);
    }
  }
}

function shippedSha(app: Appliance, sessionId: string): string | null {
  const r = app.db.prepare("SELECT sha256 FROM shipments WHERE kind = 'archive' AND ref = ? AND state = 'shipped'").get(sessionId) as { sha256: string } | undefined;
  return r?.sha256 ?? null;
}

function dueOf(r: Row): DueSession {
  return { sessionId: r.id, seq: r.seq, endedAt: r.ended_at, startedAt: r.started_at };
}

async function fileSha256(path: string): Promise<string | null> {
  if (!existsSync(path)) return null;
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}
