/**
 * Legal holds: a held session is never purged, whatever its age. Placing and releasing a hold are both
 * logged (`retention.hold`, `retention.released`), so a verifier can tell a purge that ignored a hold.
 */
import { VigilError } from '../../shared/errors.ts';
import type { Appliance } from '../appliance.ts';

export interface Hold {
  sessionId: string;
  reason: string;
  heldBy: string;
  since: string;
  entry: number;
}

/** The session a full id or a unique prefix (≥ 8 characters) names. */
export function resolveSession(app: Appliance, id: string): { id: string; seq: number; purged: boolean } {
  const rows = app.db
    .prepare('SELECT id, seq, purge_entry FROM sessions WHERE id = ? OR (length(?) >= 8 AND id LIKE ? || \'%\') LIMIT 2')
    .all(id, id, id) as { id: string; seq: number; purge_entry: number | null }[];
  if (rows.length === 0) throw new VigilError('E_NOT_FOUND', `no session ${id} on this appliance`);
  if (rows.length > 1) throw new VigilError('E_USAGE', `${id} names more than one session: give more of its id`);
  const r = rows[0]!;
  return { id: r.id, seq: r.seq, purged: r.purge_entry !== null };
}

export function placeHold(app: Appliance, session: string, reason: string, by: string): Hold {
  return app.db.transaction(() => {
    const s = resolveSession(app, session);
    if (s.purged) throw new VigilError('E_PURGED', `session #${s.seq} (${s.id}) was already purged: nothing is left to hold`);
    const existing = holdOf(app, s.id);
    if (existing) throw new VigilError('E_EXISTS', `session #${s.seq} (${s.id}) is already on hold since ${existing.since} (${existing.reason})`);
    const e = app.log.append('retention.hold', { sessionId: s.id, seq: s.seq, reason, by });
    app.db.prepare('INSERT INTO legal_holds (session_id, reason, held_by, since, entry) VALUES (?, ?, ?, ?, ?)').run(s.id, reason, by, e.t, e.i);
    return { sessionId: s.id, reason, heldBy: by, since: e.t, entry: e.i };
  })();
}

export function releaseHold(app: Appliance, session: string, reason: string, by: string): { sessionId: string; entry: number } {
  return app.db.transaction(() => {
    const s = resolveSession(app, session);
    if (!holdOf(app, s.id)) throw new VigilError('E_NOT_FOUND', `session #${s.seq} (${s.id}) is not on hold`);
    const e = app.log.append('retention.released', { sessionId: s.id, seq: s.seq, reason, by });
    app.db.prepare('DELETE FROM legal_holds WHERE session_id = ?').run(s.id);
    return { sessionId: s.id, entry: e.i };
  })();
}

export function holdOf(app: Appliance, sessionId: string): Hold | undefined {
  const r = app.db.prepare('SELECT session_id, reason, held_by, since, entry FROM legal_holds WHERE session_id = ?').get(sessionId) as
    | { session_id: string; reason: string; held_by: string; since: string; entry: number }
    | undefined;
  return r && { sessionId: r.session_id, reason: r.reason, heldBy: r.held_by, since: r.since, entry: r.entry };
}

export function listHolds(app: Appliance): Hold[] {
  const rows = app.db.prepare('SELECT session_id, reason, held_by, since, entry FROM legal_holds ORDER BY entry').all() as {
    session_id: string;
    reason: string;
    held_by: string;
    since: string;
    entry: number;
  }[];
  return rows.map((r) => ({ sessionId: r.session_id, reason: r.reason, heldBy: r.held_by, since: r.since, entry: r.entry }));
}
