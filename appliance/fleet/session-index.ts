/**
 * The fleet's session index: which appliance served which session, read from each appliance's own signed
 * log (session.started, session.identified) as it publishes its checkpoint, so the index lags by at most
 * one witness round and never says more than a log does. `vigil fleet sessions` lists a window of it; an
 * auditor gives that list to `vigil fleet verify --sessions`, which fails a session the index names that
 * its appliance's bundle does not hold (a session missing on an appliance).
 */
import type pg from 'pg';
import type { TransparencyLog } from '../log/transparency-log.ts';
import { VigilError } from '../../shared/errors.ts';
import { isoTime } from '../time.ts';
import type { FleetSql } from './sql.ts';

import type { FleetSessions } from '../../shared/evidence/fleet-sessions.ts';

/** Indexes the entries [indexed_to, size) of this appliance's log, inside the publishing transaction. */
export async function indexSessions(c: pg.ClientBase, applianceId: string, log: TransparencyLog, size: number): Promise<number> {
  const r = await c.query<{ indexed_to: string }>('SELECT indexed_to FROM vigil_fleet_roster WHERE appliance_id = $1 FOR UPDATE', [applianceId]);
  const row = r.rows[0];
  if (!row) return 0;
  // A log smaller than what was indexed was rolled back: index it again from the start (rows stay; the witnesses report the rollback).
  let from = Number(row.indexed_to);
  if (from > size) from = 0;
  let n = 0;
  for (const text of log.entries(from, size)) {
    if (!text.includes('"type":"session.started"') && !text.includes('"type":"session.identified"')) continue;
    const e = JSON.parse(text) as Record<string, unknown>;
    if (e['type'] === 'session.started') {
      await c.query(
        'INSERT INTO vigil_fleet_sessions (appliance_id, session_id, seq, protocol, started_at, log_index) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING',
        [applianceId, e['sessionId'], e['seq'], e['protocol'], e['t'], e['i']],
      );
      n++;
    } else {
      await c.query('UPDATE vigil_fleet_sessions SET subject = $3, target = $4 WHERE appliance_id = $1 AND session_id = $2', [applianceId, e['sessionId'], e['subject'], e['target']]);
    }
  }
  await c.query('UPDATE vigil_fleet_roster SET indexed_to = $2 WHERE appliance_id = $1', [applianceId, size]);
  return n;
}

/** Sessions that started in [since, until) on any appliance (null: unbounded), oldest first. */
export async function listSessions(sql: FleetSql, sinceArg: string | null, untilArg: string | null, now = new Date()): Promise<FleetSessions> {
  const since = asIso(sinceArg, '--since');
  const until = asIso(untilArg, '--until');
  const r = await sql.query<{ appliance_id: string; session_id: string; seq: string; protocol: string; started_at: string; subject: string | null; target: string | null }>(
    `SELECT appliance_id, session_id, seq, protocol, started_at, subject, target FROM vigil_fleet_sessions
     WHERE ($1::text IS NULL OR started_at >= $1) AND ($2::text IS NULL OR started_at < $2) ORDER BY started_at, appliance_id, seq`,
    [since, until],
  );
  return {
    format: 'vigil-fleet-sessions',
    version: 1,
    createdAt: isoTime(now),
    range: { since, until },
    sessions: r.rows.map((x) => ({ applianceId: x.appliance_id, sessionId: x.session_id, seq: Number(x.seq), protocol: x.protocol, startedAt: x.started_at, subject: x.subject, target: x.target })),
  };
}

/** "2026-11-01" or any ISO time → the log's form (UTC, milliseconds), so it compares with entry times. */
function asIso(t: string | null, what: string): string | null {
  if (t === null) return null;
  const ms = Date.parse(t);
  if (Number.isNaN(ms)) throw new VigilError('E_USAGE', `${what}: not a date or ISO time: ${t}`);
  return new Date(ms).toISOString();
}
