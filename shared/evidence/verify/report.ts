/** The verification report: what `vigil verify --json` prints and what the viewer shows. */
import type { SessionContext } from '../archive-format.ts';
import type { ApprovalEvidence } from './approval-evidence.ts';
import { CHECKS, KEY_ONLY_CHECKS, type CheckId, type Failure } from './checks.ts';

export type SessionStatus = 'complete' | 'interrupted' | 'in-progress' | 'failed';

export interface SessionReport {
  sessionId: string;
  seq: number | null;
  status: SessionStatus;
  /** Exact reasons for a failure, in plain words (which frame, which check). */
  reasons: string[];
  file?: string;
  bytes?: number;
  frames?: number;
  events?: number;
  protocol?: string;
  context?: SessionContext;
  startedAt?: string;
  endedAt?: string;
  closeReason?: string;
  stats?: Record<string, number>;
}

export interface CheckResult {
  id: CheckId;
  title: string;
  status: 'pass' | 'fail' | 'skipped';
  summary: string;
  failures: string[];
}

export interface VerificationReport {
  ok: boolean;
  withKey: boolean;
  verifiedAt: string;
  /** Set when the bundle could not be read at all. */
  fatal?: string;
  bundle?: {
    bundleId: string;
    applianceId: string;
    createdAt: string;
    range: { since: string | null; until: string | null };
    checkpoint: { size: number; root: string; time: string; keyId: string };
    log: { from: number; to: number };
    bytes: number;
  };
  trust: {
    applianceId: string;
    pinnedCheckpoint: { size: number; time: string };
    keys: { keyId: string; fingerprint: string; validFrom: string; validUntil: string | null; source: string }[];
  };
  checks: CheckResult[];
  sessions: SessionReport[];
  /** With the auditor key: every held command, its decisions and whether its hash binds them all. */
  approvals?: ApprovalEvidence[];
}

/** Collects failures per check and per session while verifying. */
export class ReportBuilder {
  private readonly failures = new Map<CheckId, string[]>();
  private readonly summaries = new Map<CheckId, string>();

  fail(check: CheckId, message: string, session?: SessionReport): void {
    const list = this.failures.get(check) ?? [];
    list.push(session ? `session #${session.seq ?? '?'} (${session.sessionId.slice(0, 8)}): ${message}` : message);
    this.failures.set(check, list);
    if (session) {
      session.reasons.push(message);
      session.status = 'failed';
    }
  }

  failAll(failures: readonly Failure[], session: SessionReport): void {
    for (const f of failures) this.fail(f.check, f.message, session);
  }

  summary(check: CheckId, text: string): void {
    this.summaries.set(check, text);
  }

  hasFailures(): boolean {
    return this.failures.size > 0;
  }

  checks(withKey: boolean, fatal?: string): CheckResult[] {
    return (Object.keys(CHECKS) as CheckId[]).map((id) => {
      const failures = this.failures.get(id) ?? [];
      const skipped = !withKey && KEY_ONLY_CHECKS.includes(id);
      return {
        id,
        title: CHECKS[id],
        status: failures.length ? 'fail' : skipped || fatal ? 'skipped' : 'pass',
        summary: skipped ? 'needs the auditor key (--key)' : fatal ? 'bundle unreadable' : (this.summaries.get(id) ?? ''),
        failures,
      };
    });
  }
}
