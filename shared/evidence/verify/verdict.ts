/**
 * The overall verdict: the worst check decides (fail > partial > skipped for want of the key > pass), so
 * `vigil verify` and the viewer say the same thing in the same words.
 */
import type { VerificationReport } from './report.ts';

export type VerdictStatus = 'fail' | 'partial' | 'integrity-only' | 'pass';

export interface Verdict {
  status: VerdictStatus;
  /** One line, the same in the CLI, the viewer banner and the reports. */
  headline: string;
  /** The checks that made the verdict what it is (failed, partial or not run). */
  because: string[];
}

export function verdictOf(r: Pick<VerificationReport, 'checks' | 'fatal' | 'withKey'>): Verdict {
  if (r.fatal) return { status: 'fail', headline: `FAILED: the bundle cannot be read (${r.fatal}); nothing in it was verified`, because: ['fatal'] };
  const ids = (s: string) => r.checks.filter((c) => c.status === s).map((c) => c.id);
  const failed = ids('fail');
  if (failed.length) return { status: 'fail', headline: `FAILED: ${failed.length} check(s) failed; do not rely on this evidence`, because: failed };
  const partial = ids('partial');
  if (partial.length) {
    return { status: 'partial', headline: `PARTIAL: nothing failed, but ${partial.length} check(s) covered only part of the evidence; what was not checked cannot be certified`, because: partial };
  }
  const skipped = ids('skipped');
  if (skipped.length || !r.withKey) return { status: 'integrity-only', headline: 'Integrity verified — content not checked (load the auditor key to decrypt and re-scan)', because: skipped };
  return { status: 'pass', headline: 'Verified: every check passed over all of the evidence', because: [] };
}
