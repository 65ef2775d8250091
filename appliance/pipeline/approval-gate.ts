/**
 * Where a held command waits for a human decision. The approval service (appliance/approvals/)
 * implements it; without one, a command that needs approval is refused.
 */
import type { ApprovalDecision } from '../approvals/types.ts';

export interface ApprovalRequest {
  sessionId: string;
  sessionSeq: number;
  commandId: number;
  /** The command as recorded (masked) — what the approver sees. */
  display: string;
  /** SHA-256 binding session id + exact command bytes + parameters: approval releases this command only. */
  commandHash: string;
  rule: string;
  reason: string;
  approvers: { groups: string[]; required: number; expirySeconds?: number | undefined };
  requester: { subject: string; issuer: string; groups: readonly string[] };
  target: string;
  classification: unknown;
  justification?: string;
}

export type ApprovalOutcome =
  | { approved: true; requestId: string; approvers: string[] }
  | { approved: false; requestId: string | null; reason: string; kind: 'denied' | 'expired' | 'cancelled' | 'unavailable' };

/** What the waiting session hears while its command is held (to tell the client and to record). */
export interface ApprovalListener {
  /**
   * The request exists: record it in the session's archive and resolve once that is durable — only then
   * is it offered to approvers (API, CLI, webhooks). A rejection cancels the request.
   */
  pending(info: { requestId: string; expiresAt: string; howTo: string }): Promise<void>;
  /**
   * The request is now offered: an approver can decide it. Only now is the client told the request id — told
   * earlier, an approver acting on it at once would be refused as "not waiting" (a fleet offers it a round trip later).
   */
  offered?(info: { requestId: string; expiresAt: string; howTo: string }): void;
  decided(requestId: string, d: ApprovalDecision, remaining: number): void;
}

export interface ApprovalGate {
  /** Resolves when the request is decided, expires, or `signal` aborts (the client went away). */
  request(req: ApprovalRequest, signal: AbortSignal, listener: ApprovalListener): Promise<ApprovalOutcome>;
}

export const noApprovals: ApprovalGate = {
  request: async () => ({ approved: false, requestId: null, kind: 'unavailable', reason: 'this command needs approval, and approvals are not enabled on this appliance' }),
};
