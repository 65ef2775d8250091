/**
 * The free text of an approval request as it may be stored or shown (vigil.db, the admin API, `vigil approvals`,
 * webhooks): card numbers masked in strict mode and keyword-anchored security codes and PINs redacted
 * (maskEvidenceText), in the command, the justification and every reason. The pipeline hands over the recorded
 * text already; applying it again is a no-op for that, and covers requests stored by an older version and
 * reasons approvers type. The command hash binds the exact bytes and is not touched.
 */
import { maskEvidenceText } from '../../shared/pan/index.ts';
import type { ApprovalDecision, ApprovalRecord } from './types.ts';

export const shownText = (s: string): string => maskEvidenceText(s).text;
const shownOrNull = (s: string | null): string | null => (s === null ? null : shownText(s));

export function shownDecision(d: ApprovalDecision): ApprovalDecision {
  return { ...d, reason: shownOrNull(d.reason) };
}

export function shownRecord(r: ApprovalRecord): ApprovalRecord {
  return {
    ...r,
    command: shownText(r.command),
    justification: shownOrNull(r.justification),
    decisions: r.decisions.map(shownDecision),
    outcomeReason: shownOrNull(r.outcomeReason),
  };
}
