/**
 * Approval requests in the shared store. A decision locks the request's row (SELECT … FOR UPDATE), checks
 * it against the request as the last decision left it, settles it and NOTIFYs the owner in the same
 * transaction: of two approvers on two appliances one waits for the other, so they cannot both be "the
 * last", and nobody decides a request that is already decided. The notification is delivered on commit,
 * never for a decision that rolled back.
 */
import { alreadyDecided, ApprovalError, type DecisionResult } from '../../approvals/decision-rules.ts';
import type { ApprovalRecord, ApprovalStatus } from '../../approvals/types.ts';
import { NOTIFY_CHANNEL, PRESENCE_LOCK_CLASS, type SharedPostgres } from './postgres.ts';

type Row = { record: ApprovalRecord; offered: boolean; appliance_id: string };

/** Whether the owner's presence lock is held (its LISTEN connection is open): $2 is PRESENCE_LOCK_CLASS. */
const OWNER_PRESENT = `EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $2::bigint::oid
  AND l.objid = ((hashtext(a.appliance_id)::bigint) & 4294967295)::oid AND l.objsubid = 2)`;

export class SharedApprovalStore {
  constructor(private readonly pg: SharedPostgres) {}

  /** A new request, not yet offered to approvers. */
  async insert(rec: ApprovalRecord): Promise<void> {
    await this.pg.query(
      'INSERT INTO vigil_approvals (id, appliance_id, session_id, command_hash, record, status, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
      [rec.id, this.pg.applianceId, rec.sessionId, rec.commandHash, JSON.stringify(rec), 'pending', rec.createdAt, rec.expiresAt],
    );
  }

  /** The owner's archive holds the request: approvers may now see and decide it. */
  async offer(id: string): Promise<void> {
    await this.pg.tx(async (c) => {
      const r = await c.query("UPDATE vigil_approvals SET offered = true, updated_at = now() WHERE id = $1 AND status = 'pending' AND NOT offered", [id]);
      if (r.rowCount) await c.query('SELECT pg_notify($1, $2)', [NOTIFY_CHANNEL, JSON.stringify({ id, appliance: this.pg.applianceId })]);
    });
  }

  async get(id: string): Promise<{ record: ApprovalRecord; offered: boolean; owner: string } | undefined> {
    const r = await this.pg.query<Row>('SELECT record, offered, appliance_id FROM vigil_approvals WHERE id = $1', [id]);
    const row = r.rows[0];
    return row && { record: row.record, offered: row.offered, owner: row.appliance_id };
  }

  /** Offered requests of the whole fleet, newest first (up to 1,000). */
  async list(status?: ApprovalStatus): Promise<ApprovalRecord[]> {
    const r = status
      ? await this.pg.query<Row>('SELECT record FROM vigil_approvals WHERE offered AND status = $1 ORDER BY created_at DESC LIMIT 1000', [status])
      : await this.pg.query<Row>('SELECT record FROM vigil_approvals WHERE offered ORDER BY created_at DESC LIMIT 1000');
    return r.rows.map((x) => x.record);
  }

  /**
   * One decision, checked and applied under the row lock by `apply` (decision-rules.ts). Refuses a request
   * that is not pending, not yet offered, past its expiry (by the store's clock), or whose owner is not
   * connected (nobody would release it).
   */
  async decide(id: string, apply: (rec: ApprovalRecord) => DecisionResult): Promise<{ record: ApprovalRecord; result: DecisionResult }> {
    return this.pg.tx(async (c) => {
      // One round trip: lock the row, and read whether it expired (the store's clock) and whether its owner is connected.
      const r = await c.query<Row & { past: boolean; present: boolean }>(
        `SELECT a.record, a.offered, a.appliance_id, a.expires_at <= now() AS past, ${OWNER_PRESENT} AS present FROM vigil_approvals a WHERE a.id = $1 FOR UPDATE OF a`,
        [id, PRESENCE_LOCK_CLASS],
      );
      const row = r.rows[0];
      if (!row) throw new ApprovalError('E_APPROVAL_NOT_FOUND', `no approval request ${id}`, 404);
      const rec = row.record;
      if (rec.status !== 'pending') throw alreadyDecided(id, rec.status);
      if (!row.offered) throw new ApprovalError('E_APPROVAL_NOT_WAITING', `request ${id} is still being recorded; try again in a moment`, 409);
      if (row.past) throw new ApprovalError('E_APPROVAL_DECIDED', `request ${id} expired at ${rec.expiresAt}; the appliance holding it refuses the command`, 409);
      if (!row.present) {
        throw new ApprovalError('E_APPROVAL_NOT_WAITING', `request ${id} has no waiting command: the appliance holding it (${row.appliance_id}) is not connected to the shared store`, 409);
      }
      const result = apply(rec);
      const at = result.decision.at;
      const record: ApprovalRecord =
        result.settles === 'pending'
          ? result.record
          : { ...result.record, status: result.settles, decidedAt: at, outcomeReason: result.settles === 'denied' ? (result.decision.reason ?? 'denied') : null };
      // The update and the owner's notification (sent on commit) in one statement.
      await c.query('WITH u AS (UPDATE vigil_approvals SET record = $2, status = $3, updated_at = now() WHERE id = $1 RETURNING id) SELECT pg_notify($4, $5) FROM u', [
        id,
        JSON.stringify(record),
        record.status,
        NOTIFY_CHANNEL,
        JSON.stringify({ id, appliance: row.appliance_id }),
      ]);
      return { record, result };
    });
  }

  /**
   * The owner ends its own request (expired, cancelled) unless a decision settled it first: 'ended', or
   * 'decided' (read the row and act on the decision).
   */
  async end(id: string, status: 'expired' | 'cancelled', reason: string, at: string): Promise<'ended' | 'decided' | 'missing'> {
    return this.pg.tx(async (c) => {
      const r = await c.query<{ status: ApprovalStatus }>('SELECT status FROM vigil_approvals WHERE id = $1 AND appliance_id = $2 FOR UPDATE', [id, this.pg.applianceId]);
      const cur = r.rows[0]?.status;
      if (cur === undefined) return 'missing';
      if (cur !== 'pending') return 'decided';
      const patch = { status, decidedAt: at, outcomeReason: reason };
      await c.query('UPDATE vigil_approvals SET record = record || $2::jsonb, status = $3, updated_at = now() WHERE id = $1', [id, JSON.stringify(patch), status]);
      await c.query('SELECT pg_notify($1, $2)', [NOTIFY_CHANNEL, JSON.stringify({ id, appliance: this.pg.applianceId })]);
      return 'ended';
    });
  }

  /** This appliance's requests the store still has as pending (reconciled at every (re)connection). */
  async pendingOwned(): Promise<string[]> {
    const r = await this.pg.query<{ id: string }>("SELECT id FROM vigil_approvals WHERE appliance_id = $1 AND status = 'pending'", [this.pg.applianceId]);
    return r.rows.map((x) => x.id);
  }
}
