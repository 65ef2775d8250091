/**
 * What the viewer knows about a bundle beyond the verification report: per-session digests built from
 * the decrypted events (commands, decisions, approvals, masking) — in memory only, never stored.
 * This module and everything under model/ is DOM-free so it can be unit-tested in Node.
 */
import type { SessionReport, VerificationReport } from '../../../shared/evidence/verify/report.ts';

export type { SessionReport, VerificationReport };

export interface DecisionRow {
  t: number;
  decision: string;
  rule?: string;
  reason?: string;
  approvedBy?: string[];
  commandHash?: string;
}

export interface CommandRow {
  /** The command id within its session (null when an event lacked it). */
  id: number | null;
  t: number;
  kind: string;
  /** The recorded (masked) text, capped for display and search. */
  text: string;
  /** Characters cut from `text` because it exceeded the cap. */
  truncated: number;
  params?: string[];
  classification?: string;
  decisions: DecisionRow[];
  /** The final decision (the last one recorded for this command). */
  decision: string | null;
  status?: string;
  tag?: string;
  rowCount?: number;
  durationMs?: number;
  errors: { code?: string; message: string }[];
  masked: number;
}

export interface ApproverRow {
  subject: string;
  issuer?: string;
  decision: string;
  reason?: string;
  address?: string;
  /** Milliseconds since session start (null when only the signed log dates the decision: see `at`). */
  t: number | null;
  /** The decision's own time as the approval service (or the log entry) stated it, ISO. */
  at?: string;
  /** The archive event's seq: the order the signed archive proves. */
  eventSeq?: number;
  /** Approvals still needed after this one (N-of-M rules). */
  remaining?: number;
}

/** One recorded point of an approval's life, from the archive: `t` offset and `eventSeq` (the proven order). */
export interface ApprovalPoint {
  t: number;
  eventSeq: number;
}

export type HashCheck = 'match' | 'mismatch' | 'not-recorded';

export interface ApprovalRow {
  sessionId: string;
  seq: number | null;
  requestId: string;
  command: number | null;
  commandText: string;
  requester: string;
  requesterIssuer?: string;
  target?: string;
  rule?: string;
  justification?: string;
  /** Milliseconds since session start (null when the archive is unavailable: see `requestedAt`). */
  requestedT: number | null;
  /** The request's time in the signed log (ISO), for a row the log alone proves. */
  requestedAt?: string;
  requestedSeq?: number;
  /** The gate's final `decision` event (approved: the command was released to the target then). */
  gate?: ApprovalPoint & { decision: string };
  /** The pipeline's `command.released` for it: when the approved command was handed to the target. */
  released?: ApprovalPoint;
  /** The command's first `result` (or an `error` after its release): when it finished at the target. */
  finished?: ApprovalPoint & { kind: 'result' | 'error'; text: string };
  expiresAt?: string;
  approvers: ApproverRow[];
  outcome: 'approved' | 'denied' | 'expired' | 'cancelled' | 'pending';
  requestedHash?: string;
  executedHash?: string;
  hashCheck: HashCheck;
  /** A result or error was recorded for the command after the decision (false and unknown when fromLog). */
  executed: boolean;
  /** Only the signed log proves this request (its archive is missing or unreadable): what ran is unknown. */
  fromLog?: boolean;
}

export interface SessionDigest {
  sessionId: string;
  events: number;
  lastT: number;
  terminal: boolean;
  pty?: { cols: number; rows: number; term?: string };
  outputBytes: number;
  commands: CommandRow[];
  approvals: ApprovalRow[];
  masked: number;
  maskingKinds: Record<string, number>;
  errors: number;
  blocks: number;
  identityRejected: string[];
  closeReason?: string;
  /** The events could not all be decoded (decryption failed part-way): what is shown is partial. */
  partial: boolean;
}

/** One row of the sessions table: the report's session plus what decryption added. */
export interface SessionRow {
  index: number;
  report: SessionReport;
  digest?: SessionDigest;
  identity: string;
  target: string;
  protocol: string;
  startedMs: number;
  /** Counts are null when unknown (no readable content and no manifest counts): shown as "unknown", never 0. */
  approvals: number | null;
  blocks: number | null;
  masked: number | null;
  commands: number | null;
  /** Lower-cased command texts, joined: the full-text search haystack. */
  haystack: string;
}
