/**
 * Just-in-time approval of exactly one held command. A request binds session id + a hash of the exact
 * command bytes and parameters; approvers are identities in the rule's approver groups, never the
 * requester; N-of-M distinct approvals release it, one denial refuses it, silence until expiry refuses it,
 * and a client that goes away cancels it. Every step is stored, logged in the transparency log, recorded
 * in the session archive (through the waiting session) and announced to webhooks.
 */
import { randomBytes } from 'node:crypto';
import type { TransparencyLog } from '../log/transparency-log.ts';
import type { ApprovalGate, ApprovalListener, ApprovalOutcome, ApprovalRequest } from '../pipeline/approval-gate.ts';
import type { Db } from '../store/database.ts';
import { isoTime } from '../time.ts';
import { alreadyDecided, applyDecision, ApprovalError, pendingRecord, type Approver } from './decision-rules.ts';
import { shownRecord } from './shown-record.ts';
import type { ApprovalRecord } from './types.ts';
import type { WebhookNotifier } from './webhooks.ts';

export { ApprovalError, type Approver } from './decision-rules.ts';

interface Waiting {
  resolve: (o: ApprovalOutcome) => void;
  listener: ApprovalListener;
  timer: NodeJS.Timeout;
  /** Removes the abort listener from the session's signal (a long session may hold many commands). */
  detach: () => void;
}

export interface ApprovalServiceOptions {
  db: Db;
  log: TransparencyLog;
  expirySeconds: number;
  webhooks?: WebhookNotifier;
  /** How approvers reach the admin API, for the message the held client receives. */
  howTo: (id: string) => string;
  now?: () => Date;
  /** Request ids (default: `apr_` + 12 random base64url characters); the test-vector script injects fixed ones. */
  newRequestId?: () => string;
}

export class ApprovalService implements ApprovalGate {
  private readonly waiting = new Map<string, Waiting>();
  /** Requests stored but not yet in their session's archive: invisible to approvers until they are. */
  private readonly announcing = new Set<string>();
  private readonly unannounced = new Map<string, Waiting>();
  private readonly now: () => Date;

  constructor(private readonly o: ApprovalServiceOptions) {
    this.now = o.now ?? (() => new Date());
  }

  /**
   * At start-up: requests left pending by a previous run lost their held connection; they are marked
   * cancelled (and logged), never left to be approved for a command nobody is waiting to run.
   */
  cancelOrphans(): number {
    const ids = this.o.db.prepare("SELECT id FROM approvals WHERE status = 'pending'").pluck().all() as string[];
    for (const id of ids) this.finish(id, 'cancelled', 'the appliance restarted while the request was pending; the held connection was lost');
    return ids.length;
  }

  request(req: ApprovalRequest, signal: AbortSignal, listener: ApprovalListener): Promise<ApprovalOutcome> {
    if (signal.aborted) return Promise.resolve({ approved: false, requestId: null, kind: 'cancelled', reason: 'the client went away' });
    const id = this.o.newRequestId?.() ?? `apr_${randomBytes(9).toString('base64url')}`;
    const createdAt = this.now();
    const expiresAt = new Date(createdAt.getTime() + (req.approvers.expirySeconds ?? this.o.expirySeconds) * 1000);
    const record = pendingRecord(id, req, createdAt, expiresAt);
    this.o.db.transaction(() => {
      this.o.db
        .prepare('INSERT INTO approvals (id, session_id, command_id, command_hash, request, status, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
        .run(id, req.sessionId, req.commandId, req.commandHash, JSON.stringify(record), 'pending', record.createdAt, record.expiresAt);
      this.o.log.append('approval.requested', {
        requestId: id,
        sessionId: req.sessionId,
        command: req.commandId,
        commandHash: req.commandHash,
        rule: req.rule,
        requester: req.requester.subject,
        target: req.target,
        required: req.approvers.required,
        expiresAt: record.expiresAt,
      });
    })();
    // Not offered to anyone (API, CLI, webhooks) until the session's archive holds the request too.
    this.announcing.add(id);
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.finish(id, 'expired', `no decision before ${record.expiresAt}`), expiresAt.getTime() - createdAt.getTime());
      timer.unref();
      const onAbort = () => this.finish(id, 'cancelled', 'the client went away while the request was pending');
      signal.addEventListener('abort', onAbort, { once: true });
      const waiting: Waiting = { resolve, listener, timer, detach: () => signal.removeEventListener('abort', onAbort) };
      // Until it is offered, an expiry or a vanished client still ends it (and resolves the hold).
      this.unannounced.set(id, waiting);
      const info = { requestId: id, expiresAt: record.expiresAt, howTo: this.o.howTo(id) };
      void listener
        .pending(info)
        .then(
          () => {
            this.announcing.delete(id);
            if (this.unannounced.get(id) !== waiting) return; // ended meanwhile
            this.unannounced.delete(id);
            this.waiting.set(id, waiting);
            listener.offered?.(info);
            this.o.webhooks?.notify('requested', record);
          },
          (e: unknown) => {
            this.finish(id, 'cancelled', `the request could not be recorded: ${e instanceof Error ? e.message : String(e)}`);
            this.announcing.delete(id);
          },
        );
    });
  }

  /** One approver's decision. Throws ApprovalError (with an HTTP status) when it is not allowed. */
  decide(id: string, who: Approver, decision: 'approve' | 'deny', typed: string | null, address: string | null): ApprovalRecord {
    const rec0 = this.get(id);
    if (!rec0) throw new ApprovalError('E_APPROVAL_NOT_FOUND', `no approval request ${id}`, 404);
    if (rec0.status !== 'pending') throw alreadyDecided(id, rec0.status);
    if (this.announcing.has(id)) throw new ApprovalError('E_APPROVAL_NOT_WAITING', `request ${id} is still being recorded; try again in a moment`, 409);
    if (!this.waiting.has(id)) throw new ApprovalError('E_APPROVAL_NOT_WAITING', `request ${id} has no waiting command on this appliance`, 409);
    const { record: rec, decision: d, remaining } = applyDecision(rec0, who, decision, typed, address, isoTime(this.now()));
    const reason = d.reason;
    this.o.db.transaction(() => {
      this.o.db.prepare('UPDATE approvals SET decisions = ?, request = ? WHERE id = ?').run(JSON.stringify(rec.decisions), JSON.stringify(rec), id);
      this.o.log.append('approval.decided', { requestId: id, sessionId: rec.sessionId, commandHash: rec.commandHash, approver: who.subject, approverIssuer: who.issuer, decision, reason, remaining });
    })();
    this.waiting.get(id)?.listener.decided(id, d, remaining);
    this.o.webhooks?.notify('decided', rec, d);
    if (decision === 'deny') this.finish(id, 'denied', reason ?? 'denied', rec);
    else if (remaining === 0) this.finish(id, 'approved', null, rec);
    return this.get(id)!;
  }

  get(id: string): ApprovalRecord | undefined {
    const row = this.o.db.prepare('SELECT request, status, decided_at, decisions, outcome_reason FROM approvals WHERE id = ?').get(id) as
      | { request: string; status: ApprovalRecord['status']; decided_at: string | null; decisions: string; outcome_reason: string | null }
      | undefined;
    if (!row) return undefined;
    // Shown as stored now, also for a request stored before security codes were redacted.
    return shownRecord({ ...(JSON.parse(row.request) as ApprovalRecord), status: row.status, decidedAt: row.decided_at, decisions: JSON.parse(row.decisions), outcomeReason: row.outcome_reason });
  }

  list(status?: ApprovalRecord['status']): ApprovalRecord[] {
    const ids = (status
      ? this.o.db.prepare('SELECT id FROM approvals WHERE status = ? ORDER BY created_at DESC LIMIT 1000').pluck().all(status)
      : this.o.db.prepare('SELECT id FROM approvals ORDER BY created_at DESC LIMIT 1000').pluck().all()) as string[];
    return ids.filter((id) => !this.announcing.has(id)).map((id) => this.get(id)!);
  }

  private finish(id: string, status: 'approved' | 'denied' | 'expired' | 'cancelled', reason: string | null, rec = this.get(id)): void {
    if (!rec || rec.status !== 'pending') return;
    const w = this.waiting.get(id) ?? this.unannounced.get(id);
    this.waiting.delete(id);
    this.unannounced.delete(id);
    if (w) {
      clearTimeout(w.timer);
      w.detach();
    }
    const at = isoTime(this.now());
    this.o.db.transaction(() => {
      this.o.db.prepare('UPDATE approvals SET status = ?, decided_at = ?, outcome_reason = ? WHERE id = ?').run(status, at, reason, id);
      if (status === 'expired' || status === 'cancelled') {
        this.o.log.append(status === 'expired' ? 'approval.expired' : 'approval.cancelled', { requestId: id, sessionId: rec.sessionId, commandHash: rec.commandHash, reason });
      }
    })();
    const done = { ...rec, status, decidedAt: at, outcomeReason: reason };
    // A request nobody was ever offered is not announced as ended either.
    if (status !== 'approved' && !this.announcing.has(id)) this.o.webhooks?.notify(status, done);
    if (!w) return;
    if (status === 'approved') {
      w.resolve({ approved: true, requestId: id, approvers: rec.decisions.filter((d) => d.decision === 'approve').map((d) => d.approver.subject) });
    } else {
      const denial = rec.decisions.find((d) => d.decision === 'deny');
      const why = status === 'denied' ? `denied by ${denial?.approver.subject ?? 'an approver'}: ${reason}` : reason ?? status;
      w.resolve({ approved: false, requestId: id, kind: status, reason: why });
    }
  }
}
