/** An approval request as stored, listed by the admin API and shown by `vigil approvals`. */
export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired' | 'cancelled';

export interface ApproverRef {
  subject: string;
  issuer: string;
}

export interface ApprovalDecision {
  approver: ApproverRef;
  decision: 'approve' | 'deny';
  reason: string | null;
  at: string;
  address: string | null;
}

export interface ApprovalRecord {
  id: string;
  status: ApprovalStatus;
  sessionId: string;
  sessionSeq: number;
  commandId: number;
  commandHash: string;
  /** The command as recorded: masked. */
  command: string;
  classification: unknown;
  rule: string;
  reason: string;
  requester: { subject: string; issuer: string; groups: readonly string[] };
  target: string;
  justification: string | null;
  approvers: { groups: string[]; required: number; expirySeconds?: number | undefined };
  createdAt: string;
  expiresAt: string;
  decidedAt: string | null;
  decisions: ApprovalDecision[];
  outcomeReason: string | null;
}
