/** The verification report: what `vigil verify --json` prints and what the viewer shows. */
import type { IssuedCredential } from './credentials.ts';
import type { ConfigChange } from './config-changes.ts';
import type { SessionContext } from '../archive-format.ts';
import type { ApprovalEvidence } from './approval-evidence.ts';
import { CHECKS, KEY_ONLY_CHECKS, type CheckId, type Failure } from './checks.ts';
import { verdictOf, type Verdict } from './verdict.ts';

export type { Verdict, VerdictStatus } from './verdict.ts';

/** purged: its archive was deleted under a retention policy, as a signed purge record in the log says. */
export type SessionStatus = 'complete' | 'interrupted' | 'in-progress' | 'purged' | 'failed';

export interface SessionReport {
  sessionId: string;
  seq: number | null;
  status: SessionStatus;
  /** Exact reasons for a failure, in plain words (which frame, which check). */
  reasons: string[];
  /**
   * Where the facts below come from: the verified archive, or — when it is missing or unreadable — only
   * the signed transparency log (identity, target, times, counts; no content).
   */
  source: 'archive' | 'log';
  /** The decrypted events of this session were all read (false without the key, or when decryption failed). */
  contentAvailable: boolean;
  file?: string;
  bytes?: number;
  frames?: number;
  events?: number;
  protocol?: string;
  context?: SessionContext;
  startedAt?: string;
  /** For an interrupted session: the last durable event (decrypted) or log anchor, never the seal time. */
  endedAt?: string;
  /** What `endedAt` is: the manifest's end, the last decrypted event, the last log anchor, or the log's end entry. */
  endedAtSource?: 'manifest' | 'last-event' | 'last-anchor' | 'log-end';
  /** The appliance's sealing time of an interrupted archive (when `endedAt` is not it). */
  sealedAt?: string;
  closeReason?: string;
  stats?: Record<string, number>;
  /** Approval requests the signed log names for this session (known even when the archive is not). */
  approvalsLogged?: number;
}

/**
 * pass: everything the check covers was checked and holds. partial: nothing failed, but some of the
 * evidence could not be checked (covered < total). skipped: needs the auditor key. not-run: the bundle
 * could not be read far enough to run it.
 */
export type CheckStatus = 'pass' | 'partial' | 'fail' | 'skipped' | 'not-run';

export interface CheckResult {
  id: CheckId;
  title: string;
  status: CheckStatus;
  summary: string;
  failures: string[];
  /** How much of the evidence this check covered, out of how much (null when not applicable or not run). */
  covered: number | null;
  total: number | null;
  /** What covered/total count ("archive", "signature", "log entry"…). */
  unit: string;
}

export interface VerificationReport {
  /** True only when the verdict is pass or integrity-only: a partial result is not ok (nothing certifies what was not checked). */
  ok: boolean;
  verdict: Verdict;
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
  /**
   * Every held command, its decisions and whether its hash binds them all: from the decrypted archives
   * with the key, and from the signed log (`source: 'log'`) for sessions whose content is unavailable.
   */
  approvals?: ApprovalEvidence[];
  /** Credentials the appliance issued (`credential.issued` log entries), as the signed log records them. */
  credentials?: IssuedCredential[];
  /** Configuration versions (`config.changed` log entries, SIGHUP reloads included), as the signed log records them. */
  configChanges?: ConfigChange[];
}

/** Collects failures, summaries and coverage per check while verifying. */
export class ReportBuilder {
  private readonly failures = new Map<CheckId, string[]>();
  private readonly summaries = new Map<CheckId, string>();
  private readonly coverage = new Map<CheckId, { covered: number; total: number; unit: string }>();

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

  /** Adds a clause to a check's summary (nothing when `text` is empty). */
  addSummary(check: CheckId, text: string): void {
    if (text) this.summaries.set(check, [this.summaries.get(check), text].filter(Boolean).join('; '));
  }

  /** Records how much of the evidence a check covered; covered < total makes it partial. */
  cover(check: CheckId, covered: number, total: number, unit: string): void {
    this.coverage.set(check, { covered: Math.min(covered, total), total, unit });
  }

  hasFailures(): boolean {
    return this.failures.size > 0;
  }

  checks(withKey: boolean, fatal?: string): CheckResult[] {
    return (Object.keys(CHECKS) as CheckId[]).map((id): CheckResult => {
      const failures = this.failures.get(id) ?? [];
      const skipped = !withKey && KEY_ONLY_CHECKS.includes(id);
      const cov = this.coverage.get(id);
      const base = { id, title: CHECKS[id], failures, unit: cov?.unit ?? UNITS[id] };
      if (failures.length) return { ...base, status: 'fail', summary: this.summaries.get(id) ?? '', covered: fatal ? null : (cov?.covered ?? null), total: fatal ? null : (cov?.total ?? null) };
      // A fatal error stops everything: no check that did not fail before it may look passed or merely skipped.
      if (fatal) return { ...base, status: 'not-run', summary: 'not run: the bundle could not be read', covered: null, total: null };
      if (skipped) return { ...base, status: 'skipped', summary: 'not run: needs the auditor key (--key)', covered: null, total: null };
      const partial = cov !== undefined && cov.covered < cov.total;
      return { ...base, status: partial ? 'partial' : 'pass', summary: this.summaries.get(id) ?? '', covered: cov?.covered ?? null, total: cov?.total ?? null };
    });
  }

  /** Fills checks, verdict and ok in one place so they cannot disagree. */
  finish(report: VerificationReport): void {
    report.checks = this.checks(report.withKey, report.fatal);
    report.verdict = verdictOf(report);
    report.ok = report.verdict.status === 'pass' || report.verdict.status === 'integrity-only';
  }
}

const UNITS: Record<CheckId, string> = {
  'signatures': 'signature',
  'key-chain': 'key',
  'digests': 'archive',
  'log-inclusion': 'log entry',
  'log-consistency': 'checkpoint',
  'session-sequence': 'session',
  'decryption': 'archive',
  'tag-final': 'archive',
  'pan-rescan': 'archive',
  'approvals': 'archive',
};

/** "4 of 5 archives", "12 log entries": a check's coverage in words ('' when it has none). */
export function coverageText(c: Pick<CheckResult, 'covered' | 'total' | 'unit'>): string {
  if (c.covered == null || c.total == null) return ''; // also a report from before coverage existed
  const unit = c.total === 1 ? c.unit : plural(c.unit);
  return c.covered === c.total ? `${c.total} of ${c.total} ${unit}` : `${c.covered} of ${c.total} ${unit}`;
}

function plural(w: string): string {
  // "entry" → "entries", but "key" → "keys": only a consonant before the y changes it.
  return /[^aeiou]y$/.test(w) ? `${w.slice(0, -1)}ies` : w.endsWith('s') ? w : `${w}s`;
}
