/**
 * How sure the viewer is of what it shows: the verdict in words (the verifier decides it; the banner,
 * the pill and the reports only word it), check marks, and what is unknown because an archive could not
 * be read. Unknown is said as "unknown", never as 0, and facts only the signed log proves carry FROM_LOG.
 */
import { coverageText, type CheckResult, type VerdictStatus } from '../../../shared/evidence/verify/report.ts';
import type { ApprovalEvidence } from '../../../shared/evidence/verify/approval-evidence.ts';
import { fixPlurals } from './report-text.ts';
import type { ApprovalRow, SessionDigest, SessionReport, VerificationReport } from './types.ts';

export const FROM_LOG = 'from the signed log; content unavailable';
export const UNKNOWN = 'unknown';

/** The top-bar pill. */
export const PILL: Record<VerdictStatus, string> = {
  pass: '✓ Verified',
  'integrity-only': '◇ Integrity verified — content not checked',
  partial: '◐ Partial: not all evidence checked',
  fail: '✗ Verification failed',
};

export function bannerTitle(r: VerificationReport): string {
  if (r.fatal) return '✗ The bundle cannot be read';
  switch (r.verdict.status) {
    case 'pass':
      return '✓ This evidence is intact and complete';
    case 'integrity-only':
      return '◇ Integrity verified — content not checked';
    case 'partial':
      return '◐ PARTIAL: some of the evidence could not be checked, so it cannot be certified';
    case 'fail':
      return '✗ Verification FAILED: do not rely on this evidence';
  }
}

export const CHECK_MARK: Record<CheckResult['status'], string> = { pass: '✓', partial: '◐', fail: '✗', skipped: '–', 'not-run': '–' };
export const CHECK_WORD: Record<CheckResult['status'], string> = { pass: 'PASS', partial: 'PARTIAL', fail: 'FAIL', skipped: 'not run', 'not-run': 'not run' };

/** "4 of 5 archives · summary" (coverage first, so a partial check reads as one). */
export function checkLine(c: CheckResult, fatal: boolean): string {
  if (c.status === 'skipped') return 'not run: needs the auditor key';
  if (c.status === 'not-run' || (fatal && c.status !== 'fail')) return 'not run: the bundle could not be read';
  const cov = coverageText(c);
  // The verifier's own wording ("2 key(s)") made to agree with its numbers; summaries hold no recorded text.
  return fixPlurals([cov, c.summary].filter(Boolean).join(' · '));
}

/** The content of this session is readable (decrypted), or at least its signed manifest's counts. */
export function countsKnown(s: SessionReport, d: SessionDigest | undefined): boolean {
  return d !== undefined || (s.source !== 'log' && Object.keys(s.stats ?? {}).length > 0);
}

/** A count, or "unknown" when neither the content nor a manifest says it. */
export function countText(n: number | null | undefined): string {
  return n === null || n === undefined ? UNKNOWN : String(n);
}

/** A log-proven approval as a register row: its times are the log entries' (no archive offsets; unknown stays null). */
export function logApprovalRow(a: ApprovalEvidence, s: SessionReport | undefined): ApprovalRow {
  return {
    sessionId: a.sessionId,
    seq: s?.seq ?? null,
    requestId: a.requestId,
    command: a.command >= 0 ? a.command : null,
    commandText: '',
    requester: a.requester ?? s?.context?.identity?.subject ?? UNKNOWN,
    ...(s?.context?.target?.name ? { target: s.context.target.name } : {}),
    ...(a.rule ? { rule: a.rule } : {}),
    requestedT: null,
    ...(a.requestedAt ? { requestedAt: a.requestedAt } : {}),
    ...(a.expiresAt ? { expiresAt: a.expiresAt } : {}),
    approvers: a.decisions.map((d) => ({ subject: d.approver, decision: d.decision, ...(d.reason ? { reason: d.reason } : {}), t: null, ...(d.at ? { at: d.at } : {}) })),
    outcome: a.outcome,
    ...(a.commandHash ? { requestedHash: a.commandHash } : {}),
    hashCheck: 'not-recorded',
    executed: false,
    fromLog: true,
  };
}
