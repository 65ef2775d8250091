/**
 * Ships sealed archives and the latest signed checkpoint to the evidence bucket, each locked in compliance
 * mode until its retention ends, and verified after upload. What is to ship, and what shipped (key,
 * version, SHA-256, lock date), lives in the appliance's database (`shipments`): a restart picks up where
 * the last run stopped, re-uploading at most the item that was in flight (a new version of the same bytes;
 * the locked one stays). A failed item is retried after 2^attempts seconds (capped), and its error is
 * what health() reports. Checkpoints also guard against rollback: a bucket that already holds a larger
 * checkpoint than this appliance's log means this data directory is older than what was shipped
 * (restored from an old backup), and shipping stops with E_ROLLBACK rather than fork the record.
 */
import { existsSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describeError, VigilError } from '../../shared/errors.ts';
import { readCheckpoint } from '../../shared/evidence/checkpoint.ts';
import { retentionEnd } from '../../shared/evidence/purge-record.ts';
import type { Appliance } from '../appliance.ts';
import { isoTime } from '../time.ts';
import type { Bucket } from './bucket.ts';
import type { ShippingConfig } from './config.ts';

export const CHECKPOINT_PREFIX = 'checkpoints/';

export function checkpointKey(size: number): string {
  return `${CHECKPOINT_PREFIX}${String(size).padStart(12, '0')}.json`;
}

export function checkpointSizeOfKey(key: string): number | undefined {
  const m = /checkpoints\/(\d{12})\.json$/.exec(key);
  return m ? Number(m[1]) : undefined;
}

export interface ShipRunResult {
  queued: number;
  shipped: string[];
  failed: { key: string; error: string }[];
  prunedLocal: number;
}

interface Pending {
  key: string;
  kind: 'archive' | 'checkpoint';
  ref: string;
  attempts: number;
}

export class Shipper {
  #running: Promise<ShipRunResult> | undefined;

  constructor(
    private readonly app: Appliance,
    private readonly bucket: Bucket,
    private readonly cfg: ShippingConfig,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** One pass: queue what is new, ship what is due, prune verified local copies. Passes never overlap. */
  runOnce(): Promise<ShipRunResult> {
    this.#running ??= this.#run().finally(() => (this.#running = undefined));
    return this.#running;
  }

  async #run(): Promise<ShipRunResult> {
    const result: ShipRunResult = { queued: this.enqueue(), shipped: [], failed: [], prunedLocal: 0 };
    const nowIso = isoTime(this.now());
    const due = this.app.db
      .prepare("SELECT key, kind, ref, attempts FROM shipments WHERE state = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY kind, queued_at, key")
      .all(nowIso) as Pending[];
    for (const item of due) {
      try {
        await (item.kind === 'archive' ? this.#shipArchive(item) : this.#shipCheckpoint(item));
        result.shipped.push(item.key);
      } catch (e) {
        const error = describeError(e);
        result.failed.push({ key: item.key, error });
        const delay = Math.min(2 ** item.attempts, this.cfg.maxBackoffSeconds) * 1000;
        this.app.db
          .prepare('UPDATE shipments SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE key = ?')
          .run(error, isoTime(new Date(this.now().getTime() + delay)), item.key);
      }
    }
    await this.#syncLegalHolds(result);
    result.prunedLocal = this.#pruneLocal();
    return result;
  }

  /**
   * A session on legal hold has its bucket version under an S3 legal hold too (it then outlives its
   * retain-until date); a release clears it. Reconciled every pass, so a hold placed by `vigil retention
   * hold` beside the gateway (or while the bucket was unreachable) reaches the bucket at the next pass.
   */
  async #syncLegalHolds(result: ShipRunResult): Promise<void> {
    const rows = this.app.db
      .prepare(
        `SELECT sh.key, sh.version_id, (h.session_id IS NOT NULL) AS held FROM shipments sh LEFT JOIN legal_holds h ON h.session_id = sh.ref
          WHERE sh.kind = 'archive' AND sh.state = 'shipped' AND sh.legal_hold != (h.session_id IS NOT NULL)`,
      )
      .all() as { key: string; version_id: string; held: number }[];
    for (const r of rows) {
      try {
        await this.bucket.setLegalHold(r.key, r.version_id, r.held === 1);
        this.app.db.prepare('UPDATE shipments SET legal_hold = ? WHERE key = ?').run(r.held, r.key);
      } catch (e) {
        result.failed.push({ key: r.key, error: describeError(e) });
      }
    }
  }

  /** Queues sealed, unpurged archives not queued yet, and the latest checkpoint if larger than any queued. */
  enqueue(): number {
    const db = this.app.db;
    return db.transaction(() => {
      const archives = db
        .prepare(
          `INSERT INTO shipments (key, kind, ref, state, queued_at)
           SELECT ? || s.path, 'archive', s.id, 'pending', s.ended_at FROM sessions s
            WHERE s.state != 'open' AND s.end_entry IS NOT NULL AND s.manifest_digest IS NOT NULL AND s.purge_entry IS NULL
              AND NOT EXISTS (SELECT 1 FROM shipments x WHERE x.kind = 'archive' AND x.ref = s.id)`,
        )
        .run(this.cfg.prefix).changes;
      const latest = db.prepare('SELECT size, time FROM checkpoints ORDER BY size DESC LIMIT 1').get() as { size: number; time: string } | undefined;
      const queued = db.prepare("SELECT MAX(CAST(ref AS INTEGER)) FROM shipments WHERE kind = 'checkpoint'").pluck().get() as number | null;
      let checkpoints = 0;
      if (latest && latest.size > (queued ?? 0)) {
        db.prepare("INSERT INTO shipments (key, kind, ref, state, queued_at) VALUES (?, 'checkpoint', ?, 'pending', ?)").run(this.bucket.key(checkpointKey(latest.size)), String(latest.size), latest.time);
        // An older checkpoint still waiting is superseded: the newer one proves everything it did.
        db.prepare("DELETE FROM shipments WHERE kind = 'checkpoint' AND state = 'pending' AND CAST(ref AS INTEGER) < ?").run(latest.size);
        checkpoints = 1;
      }
      return archives + checkpoints;
    })();
  }

  async #shipArchive(item: Pending): Promise<void> {
    const s = this.app.db.prepare('SELECT path, ended_at, purge_entry FROM sessions WHERE id = ?').get(item.ref) as { path: string; ended_at: string; purge_entry: number | null } | undefined;
    if (!s || s.purge_entry !== null) {
      this.app.db.prepare('DELETE FROM shipments WHERE key = ?').run(item.key);
      return;
    }
    const body = readFileSync(join(this.app.dataDir, s.path));
    const until = retentionEnd(s.ended_at, this.app.loaded.config.retention.days);
    const stored = await this.bucket.putLocked(item.key, body, until);
    this.#markShipped(item.key, stored);
  }

  async #shipCheckpoint(item: Pending): Promise<void> {
    const size = Number(item.ref);
    const row = this.app.db.prepare('SELECT envelope, time FROM checkpoints WHERE size = ?').get(size) as { envelope: string; time: string } | undefined;
    if (!row) throw new VigilError('E_SHIP', `checkpoint ${size} is not in the database`);
    await this.#refuseRollback(size);
    const until = retentionEnd(row.time, this.app.loaded.config.retention.days);
    const stored = await this.bucket.putLocked(item.key, Buffer.from(row.envelope), until);
    this.#markShipped(item.key, stored);
  }

  /**
   * Every checkpoint in the bucket that this database did not ship itself (a later one, from before a
   * restore, or another appliance's) must be within this log and have its root at that size; else the
   * data directory is older than what was shipped, or the log forked.
   */
  async #refuseRollback(size: number): Promise<void> {
    const mine = this.app.db.prepare("SELECT MAX(CAST(ref AS INTEGER)) FROM shipments WHERE kind = 'checkpoint' AND state = 'shipped'").pluck().get() as number | null;
    const others = await this.bucket.list(this.bucket.key(CHECKPOINT_PREFIX), mine === null ? undefined : this.bucket.key(checkpointKey(mine)));
    for (const key of others) {
      const theirs = checkpointSizeOfKey(key);
      if (theirs === undefined) continue;
      if (theirs > size) {
        throw new VigilError('E_ROLLBACK', `the bucket holds checkpoint ${theirs}, beyond this appliance's log (${size}): this data directory is older than what was shipped (restored from an old backup?); shipping stops rather than fork the log`, {
          hint: 'restore the newest backup (docs/operations.md, "Backup and restore"); `vigil restore` checks this before it writes anything',
        });
      }
      const stored = readCheckpoint(JSON.parse((await this.bucket.get(key)).toString('utf8')));
      if (stored.applianceId !== this.app.id || stored.root !== this.app.log.root(theirs)) {
        throw new VigilError('E_ROLLBACK', `the bucket holds a checkpoint ${theirs} this log does not have (root ${stored.root.slice(0, 16)}…, this log's ${this.app.log.root(theirs).slice(0, 16)}…): the log forked (restored from an old backup and written since?); shipping stops`);
      }
    }
  }

  #markShipped(key: string, o: { versionId: string; sha256: string; bytes: number; retainUntil: string }): void {
    this.app.db
      .prepare("UPDATE shipments SET state = 'shipped', version_id = ?, sha256 = ?, bytes = ?, retain_until = ?, shipped_at = ?, last_error = NULL, next_attempt_at = NULL WHERE key = ?")
      .run(o.versionId, o.sha256, o.bytes, o.retainUntil, isoTime(this.now()), key);
  }

  /** Deletes local archives whose bucket copy is verified, once older than keepLocalDays (when pruneLocal). */
  #pruneLocal(): number {
    if (!this.cfg.pruneLocal) return 0;
    const before = isoTime(new Date(this.now().getTime() - this.cfg.keepLocalDays * 86_400_000));
    const rows = this.app.db
      .prepare(
        `SELECT sh.key, s.path FROM shipments sh JOIN sessions s ON s.id = sh.ref
          WHERE sh.kind = 'archive' AND sh.state = 'shipped' AND sh.local_pruned_at IS NULL AND s.ended_at < ?`,
      )
      .all(before) as { key: string; path: string }[];
    let n = 0;
    for (const r of rows) {
      const path = join(this.app.dataDir, r.path);
      if (existsSync(path)) unlinkSync(path);
      this.app.db.prepare('UPDATE shipments SET local_pruned_at = ? WHERE key = ?').run(isoTime(this.now()), r.key);
      n++;
    }
    return n;
  }
}
