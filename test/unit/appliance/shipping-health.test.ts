/**
 * evidenceStorageHealth: what `vigil doctor` and /metrics will read. Unhealthy when an item failed three
 * uploads, when the oldest pending item waits past the lag limit, or when a session is past retention for
 * more than two purge-job intervals; healthy otherwise. A real appliance database, rows set as the shipper
 * and the recorder leave them.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Appliance } from '../../../appliance/appliance.ts';
import { evidenceStorageHealth } from '../../../appliance/shipping/health.ts';
import { newAppliance } from '../../helpers/evidence.ts';
import { recordSessions } from '../../helpers/viewer-evidence.ts';

const DAY = 86_400_000;

async function appliance(shipping: boolean): Promise<Appliance> {
  const a = newAppliance();
  if (shipping) writeFileSync(a.configPath, readFileSync(a.configPath, 'utf8') + '\nshipping:\n  endpoint: http://127.0.0.1:9\n  bucket: unused\n  intervalSeconds: 60\n');
  return Appliance.open(a.configPath);
}

const insert = (app: Appliance, key: string, queuedAt: Date, attempts: number, error: string | null) =>
  app.db
    .prepare("INSERT INTO shipments (key, kind, ref, state, queued_at, attempts, last_error) VALUES (?, 'archive', ?, 'pending', ?, ?, ?)")
    .run(key, key, queuedAt.toISOString(), attempts, error);

describe('evidence storage health', () => {
  it('without shipping: disabled and ok; retention ok while nothing is overdue', async () => {
    const app = await appliance(false);
    try {
      const h = evidenceStorageHealth(app.db, app.loaded.config);
      expect(h).toMatchObject({ ok: true, shipping: { enabled: false, ok: true, pending: 0 }, retention: { ok: true, days: 2557, due: 0, overdue: 0 } });
    } finally {
      await app.close();
    }
  });

  it('an item that failed three times, and a lag past the limit, make shipping unhealthy; a fresh failure does not', async () => {
    const app = await appliance(true);
    const now = new Date();
    try {
      insert(app, 'a', new Date(now.getTime() - 60_000), 1, 'HTTP 503');
      let h = evidenceStorageHealth(app.db, app.loaded.config, { now });
      expect(h.shipping).toMatchObject({ ok: true, pending: 1, failing: 1, lagSeconds: 60, lastError: { key: 'a', error: 'HTTP 503', attempts: 1 } });
      app.db.prepare("UPDATE shipments SET attempts = 3 WHERE key = 'a'").run();
      h = evidenceStorageHealth(app.db, app.loaded.config, { now });
      expect(h.ok).toBe(false);
      expect(h.shipping.problems).toEqual(['1 item failed 3 or more uploads; last: a: HTTP 503']);
      app.db.prepare("DELETE FROM shipments").run();
      insert(app, 'b', new Date(now.getTime() - 3600_000), 0, null);
      h = evidenceStorageHealth(app.db, app.loaded.config, { now });
      expect(h.shipping).toMatchObject({ ok: false, failing: 0, lagSeconds: 3600 });
      expect(h.shipping.problems).toEqual(['shipping lags 3600 s (limit 900 s): 1 item waiting']);
      expect(evidenceStorageHealth(app.db, app.loaded.config, { now, lagLimitSeconds: 7200 }).shipping.ok).toBe(true);
    } finally {
      await app.close();
    }
  });

  it('a session past retention is due; past it by more than two job intervals, overdue and unhealthy', async () => {
    const app = await appliance(false);
    try {
      const [id] = await recordSessions(app, [{ subject: 'bot', commands: 1 }]);
      const endedAt = (ms: number) => app.db.prepare('UPDATE sessions SET ended_at = ? WHERE id = ?').run(new Date(Date.now() - ms).toISOString(), id);
      endedAt(2557 * DAY + 3600_000);
      expect(evidenceStorageHealth(app.db, app.loaded.config).retention).toMatchObject({ ok: true, due: 1, overdue: 0 });
      endedAt(2557 * DAY + 49 * 3600_000);
      const h = evidenceStorageHealth(app.db, app.loaded.config);
      expect(h.retention).toMatchObject({ ok: false, due: 1, overdue: 1 });
      expect(h.retention.problems[0]).toMatch(/^1 session past retention for more than two job intervals \(48 h\)/);
      expect(h.ok).toBe(false);
    } finally {
      await app.close();
    }
  });
});
