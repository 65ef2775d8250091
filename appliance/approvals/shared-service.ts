/**
 * Approvals for a fleet (sharedState.postgres): a command is held by the appliance its session runs on
 * (the owner), and decided through any appliance's admin API. The request and its decisions live in the
 * shared PostgreSQL; the owner's transparency log, session archive and local `approvals` row stay on the
 * owner, which alone writes them — it hears of every decision by LISTEN/NOTIFY, reads it from the store,
 * records it and only then releases (or refuses) the command. It never releases on anything but a decision
 * it read from the store. docs/fleet.md describes the order of writes and what each crash leaves.
 */
import { randomBytes } from 'node:crypto';
import type { TransparencyLog } from '../log/transparency-log.ts';
import type { ApprovalGate, ApprovalListener, ApprovalOutcome, ApprovalRequest } from '../pipeline/approval-gate.ts';
import type { Db } from '../store/database.ts';
import type { SharedApprovalStore } from '../store/shared/approval-store.ts';
import { SharedStoreUnavailable, type SharedLogger, type SharedPostgres } from '../store/shared/postgres.ts';
import { isoTime } from '../time.ts';
import type { ApprovalsApi } from './api.ts';
import { applyDecision, ApprovalError, pendingRecord, type Approver } from './decision-rules.ts';
import { shownRecord } from './shown-record.ts';
import type { ApprovalRecord, ApprovalStatus } from './types.ts';
import type { WebhookNotifier } from './webhooks.ts';

type End = 'approved' | 'denied' | 'expired' | 'cancelled';

interface Held {
  resolve: (o: ApprovalOutcome) => void;
  listener: ApprovalListener;
  timer: NodeJS.Timeout;
  detach: () => void;
  record: ApprovalRecord;
  /** In the session's archive (and so offerable). */
  announced: boolean;
  offered: boolean;
  /** Decisions already recorded here (the store's list only grows). */
  delivered: number;
  /** The client went away: whatever the store says, nothing is released. */
  gone: boolean;
  settled: boolean;
  /** One step at a time per request (a notification, the expiry, the client leaving). */
  chain: Promise<void>;
}

export interface SharedApprovalServiceOptions {
  db: Db;
  log: TransparencyLog;
  shared: SharedPostgres;
  store: SharedApprovalStore;
  expirySeconds: number;
  webhooks?: WebhookNotifier;
  howTo: (id: string) => string;
  logger: SharedLogger;
  now?: () => Date;
}

export class SharedApprovalService implements ApprovalGate, ApprovalsApi {
  private readonly held = new Map<string, Held>();
  private readonly now: () => Date;

  constructor(private readonly o: SharedApprovalServiceOptions) {
    this.now = o.now ?? (() => new Date());
    o.shared.on('notify', (n) => {
      if (n.appliance === o.shared.applianceId && this.held.has(n.id)) this.step(n.id, () => this.sync(n.id));
    });
    o.shared.on('up', () => void this.reconcile());
  }

  /** At start-up: requests this appliance held before it stopped lost their connection: cancelled here (the store follows at reconcile). */
  cancelOrphans(): number {
    const ids = this.o.db.prepare("SELECT id FROM approvals WHERE status = 'pending'").pluck().all() as string[];
    for (const id of ids) this.endLocal(id, 'cancelled', 'the appliance restarted while the request was pending; the held connection was lost');
    return ids.length;
  }

  async request(req: ApprovalRequest, signal: AbortSignal, listener: ApprovalListener): Promise<ApprovalOutcome> {
    if (signal.aborted) return { approved: false, requestId: null, kind: 'cancelled', reason: 'the client went away' };
    // Fail closed: without the shared store nobody could decide it, and this appliance could not read a decision.
    if (!this.o.shared.up) throw new SharedStoreUnavailable('this appliance is not connected to it');
    const id = `apr_${randomBytes(9).toString('base64url')}`;
    const createdAt = this.now();
    const expiresAt = new Date(createdAt.getTime() + (req.approvers.expirySeconds ?? this.o.expirySeconds) * 1000);
    const record = pendingRecord(id, req, createdAt, expiresAt);
    // 1. The shared row, not yet offered (nobody can decide it). A failure here leaves nothing anywhere.
    await this.o.store.insert(record);
    // 2. The local row and the transparency log, in one SQLite transaction (as on a single appliance).
    try {
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
    } catch (e) {
      void this.o.store.end(id, 'cancelled', 'the appliance could not record the request', isoTime(this.now())).catch(() => undefined);
      throw e;
    }
    return new Promise((resolve) => {
      const h: Held = { resolve, listener, record, announced: false, offered: false, delivered: 0, gone: false, settled: false, chain: Promise.resolve(), timer: undefined as never, detach: () => undefined };
      h.timer = setTimeout(() => this.step(id, () => this.endShared(id, 'expired', `no decision before ${record.expiresAt}`)), expiresAt.getTime() - createdAt.getTime());
      h.timer.unref();
      const onAbort = () => {
        h.gone = true;
        this.step(id, () => this.endShared(id, 'cancelled', 'the client went away while the request was pending'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      h.detach = () => signal.removeEventListener('abort', onAbort);
      this.held.set(id, h);
      // 3. The session's archive, then 4. offered to the fleet (and announced to webhooks).
      void listener.pending({ requestId: id, expiresAt: record.expiresAt, howTo: this.o.howTo(id) }).then(
        () => this.step(id, async () => {
          if (h.settled) return;
          h.announced = true;
          await this.offer(id, h);
        }),
        (e: unknown) => this.step(id, () => this.endShared(id, 'cancelled', `the request could not be recorded: ${e instanceof Error ? e.message : String(e)}`)),
      );
    });
  }

  /** One approver's decision, on whichever appliance it is taken. Throws ApprovalError (with an HTTP status). */
  async decide(id: string, who: Approver, decision: 'approve' | 'deny', typed: string | null, address: string | null): Promise<ApprovalRecord> {
    const at = isoTime(this.now());
    let out: ApprovalRecord;
    try {
      ({ record: out } = await this.o.store.decide(id, (rec) => applyDecision(rec, who, decision, typed, address, at)));
    } catch (e) {
      if (e instanceof ApprovalError) throw e;
      throw new ApprovalError('E_SHARED_STATE_UNAVAILABLE', `the decision was not taken: the fleet's shared store (PostgreSQL) is unreachable (${(e as Error).message})`, 503);
    }
    // The owner (this appliance, or another) acts on the row it reads; here without waiting for the NOTIFY.
    if (this.held.has(id)) await this.step(id, () => this.sync(id));
    return shownRecord(out);
  }

  async get(id: string): Promise<ApprovalRecord | undefined> {
    const r = await this.read(() => this.o.store.get(id));
    return r && shownRecord(r.record);
  }

  async list(status?: ApprovalStatus): Promise<ApprovalRecord[]> {
    return (await this.read(() => this.o.store.list(status))).map(shownRecord);
  }

  /** Waits for every step in progress (shutdown). */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.held.values()].map((h) => h.chain));
  }

  private async read<T>(f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (e) {
      throw new ApprovalError('E_SHARED_STATE_UNAVAILABLE', `the fleet's shared store (PostgreSQL) is unreachable (${(e as Error).message})`, 503);
    }
  }

  private step(id: string, f: () => Promise<void>): Promise<void> {
    const h = this.held.get(id);
    if (!h) return Promise.resolve();
    h.chain = h.chain.then(f).catch((e: unknown) => this.o.logger.warn({ requestId: id, err: (e as Error).message }, 'approval: the shared store did not answer; the command stays held'));
    return h.chain;
  }

  private async offer(id: string, h: Held): Promise<void> {
    if (h.offered || h.settled) return;
    await this.o.store.offer(id);
    h.offered = true;
    h.listener.offered?.({ requestId: id, expiresAt: h.record.expiresAt, howTo: this.o.howTo(id) });
    this.o.webhooks?.notify('requested', h.record);
  }

  /** Reads the request from the store; records decisions not yet recorded here; settles it if the store did. */
  private async sync(id: string): Promise<void> {
    const h = this.held.get(id);
    if (!h || h.settled) return;
    const row = await this.o.store.get(id);
    if (!row) return;
    const rec = row.record;
    // One SQLite transaction (one fsync) for what this read brings: its decisions and, if settled, the end.
    this.o.db.transaction(() => {
      let approvals = h.record.decisions.filter((d) => d.decision === 'approve').length;
      for (const d of rec.decisions.slice(h.delivered)) {
        if (d.decision === 'approve') approvals++;
        const remaining = d.decision === 'deny' ? 0 : Math.max(0, rec.approvers.required - approvals);
        const decisions = [...h.record.decisions, d];
        h.record = { ...h.record, decisions };
        this.o.db.prepare('UPDATE approvals SET decisions = ?, request = ? WHERE id = ?').run(JSON.stringify(decisions), JSON.stringify(h.record), id);
        this.o.log.append('approval.decided', {
          requestId: id, sessionId: rec.sessionId, commandHash: rec.commandHash, approver: d.approver.subject, approverIssuer: d.approver.issuer, decision: d.decision, reason: d.reason, remaining,
        });
        h.delivered++;
        h.listener.decided(id, d, remaining);
        this.o.webhooks?.notify('decided', h.record, d);
      }
      if (rec.status === 'pending') return;
      if (h.gone) return this.settle(id, 'cancelled', 'the client went away while the request was pending');
      this.settle(id, rec.status, rec.status === 'approved' ? null : (rec.outcomeReason ?? rec.status));
    })();
  }

  /** The owner ends its request (expiry, the client left); a decision the store already holds wins. */
  private async endShared(id: string, status: 'expired' | 'cancelled', reason: string): Promise<void> {
    const h = this.held.get(id);
    if (!h || h.settled) return;
    let r: 'ended' | 'decided' | 'missing';
    try {
      r = await this.o.store.end(id, status, reason, isoTime(this.now()));
    } catch (e) {
      // Fail closed: ended here without the store (which learns it at the next reconcile).
      this.o.logger.warn({ requestId: id, status, err: (e as Error).message }, 'approval ended while the shared store was unreachable');
      return this.settle(id, status, reason);
    }
    if (r === 'decided') await this.sync(id).catch(() => undefined);
    if (!h.settled) this.settle(id, status, reason);
  }

  private settle(id: string, status: End, reason: string | null): void {
    const h = this.held.get(id);
    if (!h || h.settled) return;
    h.settled = true;
    this.held.delete(id);
    clearTimeout(h.timer);
    h.detach();
    this.endLocal(id, status, reason);
    const done = { ...h.record, status, decidedAt: isoTime(this.now()), outcomeReason: reason };
    if (status !== 'approved' && h.announced) this.o.webhooks?.notify(status, done);
    if (status === 'approved') {
      h.resolve({ approved: true, requestId: id, approvers: h.record.decisions.filter((d) => d.decision === 'approve').map((d) => d.approver.subject) });
    } else {
      const denial = h.record.decisions.find((d) => d.decision === 'deny');
      const why = status === 'denied' ? `denied by ${denial?.approver.subject ?? 'an approver'}: ${reason}` : (reason ?? status);
      h.resolve({ approved: false, requestId: id, kind: status, reason: why });
    }
  }

  /** The local row and, for an expiry or a cancellation, the transparency log (approvals and denials were logged as decisions). */
  private endLocal(id: string, status: End, reason: string | null): void {
    const at = isoTime(this.now());
    this.o.db.transaction(() => {
      const changed = this.o.db.prepare("UPDATE approvals SET status = ?, decided_at = ?, outcome_reason = ? WHERE id = ? AND status = 'pending'").run(status, at, reason, id).changes;
      if (changed && (status === 'expired' || status === 'cancelled')) {
        const row = this.o.db.prepare('SELECT session_id, command_hash FROM approvals WHERE id = ?').get(id) as { session_id: string; command_hash: string };
        this.o.log.append(status === 'expired' ? 'approval.expired' : 'approval.cancelled', { requestId: id, sessionId: row.session_id, commandHash: row.command_hash, reason });
      }
    })();
  }

  /**
   * After every (re)connection: the store's pending requests of this appliance that it no longer holds are
   * ended as this appliance ended them (or cancelled: it restarted); those it holds are re-read — a decision
   * taken while it was cut off is acted on now, and a request recorded meanwhile is offered.
   */
  private async reconcile(): Promise<void> {
    try {
      for (const id of await this.o.store.pendingOwned()) {
        if (this.held.has(id)) continue;
        const local = this.o.db.prepare('SELECT status, outcome_reason FROM approvals WHERE id = ?').get(id) as { status: ApprovalStatus; outcome_reason: string | null } | undefined;
        const status = local && (local.status === 'expired' || local.status === 'cancelled') ? local.status : 'cancelled';
        const reason = local?.outcome_reason ?? 'the appliance holding it stopped before the request was recorded';
        await this.o.store.end(id, status, reason, isoTime(this.now()));
      }
      for (const [id, h] of this.held) {
        void this.step(id, async () => {
          if (h.announced) await this.offer(id, h);
          await this.sync(id);
        });
      }
    } catch (e) {
      this.o.logger.warn({ err: (e as Error).message }, 'approval reconcile with the shared store failed; retried at the next connection');
    }
  }
}
