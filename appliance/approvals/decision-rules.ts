/**
 * Whether one approver may decide one request, and what the request becomes: the same rules wherever the
 * decision is taken — the appliance holding the command (SQLite) or any appliance of a fleet, inside the
 * shared store's row lock (store/shared/approval-store.ts), so two approvers on two appliances are checked
 * one after the other against the request as the other left it.
 */
import { VigilError } from '../../shared/errors.ts';
import type { ApprovalRequest } from '../pipeline/approval-gate.ts';
import { isoTime } from '../time.ts';
import { shownRecord, shownText } from './shown-record.ts';
import type { ApprovalDecision, ApprovalRecord, ApproverRef } from './types.ts';

export interface Approver extends ApproverRef {
  groups: readonly string[];
}

export class ApprovalError extends VigilError {
  constructor(
    code: string,
    message: string,
    readonly status: number,
  ) {
    super(code, message);
  }
}

export interface DecisionResult {
  /** The request with the decision appended (status still as before: the caller settles it). */
  record: ApprovalRecord;
  decision: ApprovalDecision;
  /** Approvals still missing (0 after a denial or the last approval). */
  remaining: number;
  /** What the request becomes: still pending, or settled by this decision. */
  settles: 'pending' | 'approved' | 'denied';
}

/**
 * Checks separation of duties, approver groups, once per approver and a denial's reason; throws
 * ApprovalError (with an HTTP status) when the decision is not allowed. `rec` must be pending.
 */
export function applyDecision(rec: ApprovalRecord, who: Approver, decision: 'approve' | 'deny', typed: string | null, address: string | null, at: string): DecisionResult {
  // What the approver typed is stored, logged, recorded and announced: masked like the command.
  const reason = typed === null ? null : shownText(typed);
  if (who.subject === rec.requester.subject && who.issuer === rec.requester.issuer) {
    throw new ApprovalError('E_APPROVAL_SELF', 'the requester cannot approve or deny its own request (separation of duties)', 403);
  }
  if (!who.groups.some((g) => rec.approvers.groups.includes(g))) {
    throw new ApprovalError('E_APPROVAL_NOT_APPROVER', `you are not in an approver group for rule ${rec.rule} (${rec.approvers.groups.join(', ')})`, 403);
  }
  if (rec.decisions.some((d) => d.approver.subject === who.subject && d.approver.issuer === who.issuer)) {
    throw new ApprovalError('E_APPROVAL_TWICE', `you already decided request ${rec.id}; it needs ${rec.approvers.required} different approvers`, 409);
  }
  if (decision === 'deny' && !reason) throw new ApprovalError('E_APPROVAL_REASON', 'a denial needs a reason', 400);
  const d: ApprovalDecision = { approver: { subject: who.subject, issuer: who.issuer }, decision, reason, at, address };
  const decisions = [...rec.decisions, d];
  const approvals = decisions.filter((x) => x.decision === 'approve').length;
  const remaining = decision === 'deny' ? 0 : Math.max(0, rec.approvers.required - approvals);
  return { record: { ...rec, decisions }, decision: d, remaining, settles: decision === 'deny' ? 'denied' : remaining === 0 ? 'approved' : 'pending' };
}

export function alreadyDecided(id: string, status: string): ApprovalError {
  return new ApprovalError('E_APPROVAL_DECIDED', `request ${id} is already ${status}; an approval is used once, for its own command`, 409);
}

/** The record of a new request, as stored, listed and announced (masked like the command it holds). */
export function pendingRecord(id: string, req: ApprovalRequest, createdAt: Date, expiresAt: Date): ApprovalRecord {
  return shownRecord({
    id,
    status: 'pending',
    sessionId: req.sessionId,
    sessionSeq: req.sessionSeq,
    commandId: req.commandId,
    commandHash: req.commandHash,
    command: req.display,
    classification: req.classification,
    rule: req.rule,
    reason: req.reason,
    requester: req.requester,
    target: req.target,
    justification: req.justification ?? null,
    approvers: req.approvers,
    createdAt: isoTime(createdAt),
    expiresAt: isoTime(expiresAt),
    decidedAt: null,
    decisions: [],
    outcomeReason: null,
  });
}
