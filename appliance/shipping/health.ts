/**
 * Shipping and retention health, from the appliance's database alone (no bucket request): what `vigil
 * doctor` prints and `/metrics` exports (the lead wires it there). Cheap enough for every scrape: a few
 * indexed reads.
 *
 * Shipping is unhealthy when an item keeps failing (3 attempts or more) or the oldest unshipped item waits
 * longer than `lagLimitSeconds` (default: ten shipping intervals, at least 15 minutes). Retention is
 * unhealthy when a session is overdue: past retention, not held, not purged, for longer than two job
 * intervals (the job is not running, or its deletions fail).
 */
import { plural } from '../../shared/text/plural.ts';
import type { Db } from '../store/database.ts';
import type { VigilConfig } from '../config/schema.ts';

export interface ShippingHealth {
  enabled: boolean;
  ok: boolean;
  /** Items (archives, checkpoints) queued and not yet verified in the bucket. */
  pending: number;
  /** Pending items whose last attempt failed. */
  failing: number;
  /** Age of the oldest pending item (since its session ended or its checkpoint was signed); 0 when none. */
  lagSeconds: number;
  lastShippedAt: string | null;
  lastError: { key: string; error: string; attempts: number; nextAttemptAt: string | null } | null;
  shipped: { archives: number; checkpoints: number };
  /** Local archives deleted after their verified upload. */
  prunedLocal: number;
  /** Shipped archives whose S3 legal hold does not match Vigil's legal holds yet (set at the next pass). */
  legalHoldsPending: number;
  /** The largest checkpoint verified in the bucket (what a restore must not go below). */
  shippedCheckpointSize: number | null;
  problems: string[];
}

export interface RetentionHealth {
  ok: boolean;
  policy: string;
  days: number;
  /** Sessions past retention, not held, not purged yet. */
  due: number;
  /** ... of which past retention for longer than two job intervals. */
  overdue: number;
  held: number;
  purged: number;
  /** Bucket copies of purged sessions not deleted yet (the store refused: its lock date not reached). */
  bucketDeletionsPending: number;
  lastPurgeAt: string | null;
  problems: string[];
}

export interface EvidenceStorageHealth {
  ok: boolean;
  shipping: ShippingHealth;
  retention: RetentionHealth;
}

export interface HealthOptions {
  now?: Date;
  lagLimitSeconds?: number;
}

const FAILING_ATTEMPTS = 3;

export function evidenceStorageHealth(db: Db, config: VigilConfig, opts: HealthOptions = {}): EvidenceStorageHealth {
  const now = opts.now ?? new Date();
  const shipping = shippingHealth(db, config, now, opts.lagLimitSeconds);
  const retention = retentionHealth(db, config, now);
  return { ok: shipping.ok && retention.ok, shipping, retention };
}

export function shippingHealth(db: Db, config: VigilConfig, now = new Date(), lagLimitSeconds?: number): ShippingHealth {
  const cfg = config.shipping;
  const q = <T>(sql: string, ...args: unknown[]) => db.prepare(sql).get(...args) as T;
  const pending = q<{ n: number; oldest: string | null; failing: number }>(
    "SELECT COUNT(*) AS n, MIN(queued_at) AS oldest, SUM(CASE WHEN last_error IS NOT NULL THEN 1 ELSE 0 END) AS failing FROM shipments WHERE state = 'pending'",
  );
  const shipped = q<{ archives: number; checkpoints: number; last: string | null; pruned: number; cp: number | null }>(
    `SELECT SUM(kind = 'archive') AS archives, SUM(kind = 'checkpoint') AS checkpoints, MAX(shipped_at) AS last,
            SUM(local_pruned_at IS NOT NULL) AS pruned, MAX(CASE WHEN kind = 'checkpoint' THEN CAST(ref AS INTEGER) END) AS cp
       FROM shipments WHERE state IN ('shipped', 'deleted')`,
  );
  const err = q<{ key: string; last_error: string; attempts: number; next_attempt_at: string | null } | undefined>(
    "SELECT key, last_error, attempts, next_attempt_at FROM shipments WHERE state = 'pending' AND last_error IS NOT NULL ORDER BY attempts DESC, next_attempt_at DESC LIMIT 1",
  );
  const persistent = q<{ n: number }>("SELECT COUNT(*) AS n FROM shipments WHERE state = 'pending' AND attempts >= ?", FAILING_ATTEMPTS).n;
  const legalHoldsPending = q<{ n: number }>(
    `SELECT COUNT(*) AS n FROM shipments sh LEFT JOIN legal_holds h ON h.session_id = sh.ref
      WHERE sh.kind = 'archive' AND sh.state = 'shipped' AND sh.legal_hold != (h.session_id IS NOT NULL)`,
  ).n;
  const lagSeconds = pending.oldest ? Math.max(0, Math.round((now.getTime() - Date.parse(pending.oldest)) / 1000)) : 0;
  const limit = lagLimitSeconds ?? Math.max(900, 10 * (cfg?.intervalSeconds ?? 60));
  const problems: string[] = [];
  if (cfg) {
    if (persistent) problems.push(`${plural(persistent, 'item')} failed ${FAILING_ATTEMPTS} or more uploads${err ? `; last: ${err.key}: ${err.last_error}` : ''}`);
    if (lagSeconds > limit) problems.push(`shipping lags ${lagSeconds} s (limit ${limit} s): ${plural(pending.n, 'item')} waiting`);
  }
  return {
    enabled: cfg !== undefined,
    ok: problems.length === 0,
    pending: pending.n,
    failing: pending.failing ?? 0,
    lagSeconds,
    lastShippedAt: shipped.last,
    lastError: err ? { key: err.key, error: err.last_error, attempts: err.attempts, nextAttemptAt: err.next_attempt_at } : null,
    shipped: { archives: shipped.archives ?? 0, checkpoints: shipped.checkpoints ?? 0 },
    prunedLocal: shipped.pruned ?? 0,
    legalHoldsPending,
    shippedCheckpointSize: shipped.cp,
    problems,
  };
}

export function retentionHealth(db: Db, config: VigilConfig, now = new Date()): RetentionHealth {
  const r = config.retention;
  const cutoff = new Date(now.getTime() - r.days * 86_400_000).toISOString();
  const overdueCutoff = new Date(Date.parse(cutoff) - 2 * r.intervalHours * 3_600_000).toISOString();
  const row = db
    .prepare(
      `SELECT SUM(s.purge_entry IS NULL AND h.session_id IS NULL AND s.ended_at < @cutoff) AS due,
              SUM(s.purge_entry IS NULL AND h.session_id IS NULL AND s.ended_at < @overdue) AS overdue,
              SUM(h.session_id IS NOT NULL) AS held, SUM(s.purge_entry IS NOT NULL) AS purged, MAX(s.purged_at) AS last
         FROM sessions s LEFT JOIN legal_holds h ON h.session_id = s.id WHERE s.state != 'open'`,
    )
    .get({ cutoff, overdue: overdueCutoff }) as { due: number | null; overdue: number | null; held: number | null; purged: number | null; last: string | null };
  const overdue = row.overdue ?? 0;
  const bucketDeletionsPending = db
    .prepare("SELECT COUNT(*) FROM shipments sh JOIN sessions s ON s.id = sh.ref WHERE sh.kind = 'archive' AND sh.state = 'shipped' AND s.purge_entry IS NOT NULL")
    .pluck()
    .get() as number;
  const problems = overdue ? [`${plural(overdue, 'session')} past retention for more than two job intervals (${2 * r.intervalHours} h): is the purge job running?`] : [];
  // A purged session's bucket copy outlives it only while its lock holds; reported, not unhealthy.
  return { ok: overdue === 0, policy: r.policy, days: r.days, due: row.due ?? 0, overdue, held: row.held ?? 0, purged: row.purged ?? 0, bucketDeletionsPending, lastPurgeAt: row.last, problems };
}
