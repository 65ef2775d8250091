/**
 * Where a held command waits for a human decision. The approval service (approvals/) implements it;
 * without one, a command that needs approval is refused.
 */
export interface ApprovalRequest {
  sessionId: string;
  commandId: number;
  /** The command as recorded (masked) — what the approver sees. */
  display: string;
  /** SHA-256 binding session id + exact command bytes + parameters: approval releases this command only. */
  commandHash: string;
  rule: string;
  reason: string;
  approvers: { groups: string[]; required: number };
  requester: { subject: string; issuer: string; groups: readonly string[] };
  target: string;
  classification: unknown;
  justification?: string;
}

export type ApprovalOutcome =
  | { approved: true; requestId: string; approvers: string[] }
  | { approved: false; requestId: string | null; reason: string; kind: 'denied' | 'expired' | 'cancelled' | 'unavailable' };

export interface ApprovalGate {
  /** Resolves when the request is decided, expires, or `signal` aborts (client gone). */
  request(req: ApprovalRequest, signal: AbortSignal, onPending: (info: { requestId: string; expiresAt: string; howTo: string }) => void): Promise<ApprovalOutcome>;
}

export const noApprovals: ApprovalGate = {
  request: async () => ({ approved: false, requestId: null, kind: 'unavailable', reason: 'this command needs approval, and approvals are not enabled on this appliance' }),
};
