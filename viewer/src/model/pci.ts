/**
 * PCI DSS v4.0.1 requirement → the evidence this bundle holds, with its figures. Requirement texts are
 * paraphrases (see the note printed with the table), not quotes of the standard.
 */
import { coverageText } from '../../../shared/evidence/verify/report.ts';
import { CHECK_WORD, countsKnown } from './evidence-state.ts';
import type { SessionDigest, VerificationReport } from './types.ts';
import { formatTimeMs, plural } from './report-text.ts';

export interface PciRow {
  req: string;
  short: string;
  evidence: string;
}

export interface BundleFigures {
  sessions: number;
  complete: number;
  interrupted: number;
  inProgress: number;
  /** Archives deleted under a retention policy (a signed purge record): not failures. */
  purged: number;
  failed: number;
  identities: number;
  withIdentity: number;
  targets: number;
  commands: number;
  sqlReads: number;
  blocks: number;
  approvalsRequested: number;
  approvalsApproved: number;
  approvalsDenied: number;
  approvalsHashMatched: number;
  /** Requests known only from the signed log: whether what ran matched them is unknown. */
  approvalsHashUnknown: number;
  masked: number;
  maskedPan: number;
  maskedRedacted: number;
  identityRejected: number;
  errors: number;
  withCredentialRef: number;
  rotations: number;
  decrypted: boolean;
  /** Sessions whose content counts nobody knows (archive missing or unreadable, no manifest counts). */
  unknownSessions: number;
  firstStart?: string;
  lastStart?: string;
}

export function figures(report: VerificationReport, digests: ReadonlyMap<string, SessionDigest>): BundleFigures {
  const f: BundleFigures = {
    sessions: report.sessions.length,
    complete: 0,
    interrupted: 0,
    inProgress: 0,
    purged: 0,
    failed: 0,
    identities: 0,
    withIdentity: 0,
    targets: 0,
    commands: 0,
    sqlReads: 0,
    blocks: 0,
    approvalsRequested: 0,
    approvalsApproved: 0,
    approvalsDenied: 0,
    approvalsHashMatched: 0,
    approvalsHashUnknown: 0,
    masked: 0,
    maskedPan: 0,
    maskedRedacted: 0,
    identityRejected: 0,
    errors: 0,
    withCredentialRef: 0,
    rotations: report.trust.keys.filter((k) => k.source !== 'pinned in trust file').length,
    decrypted: report.withKey,
    unknownSessions: 0,
  };
  const ids = new Set<string>();
  const targets = new Set<string>();
  for (const s of report.sessions) {
    if (s.status === 'complete') f.complete++;
    else if (s.status === 'interrupted') f.interrupted++;
    else if (s.status === 'in-progress') f.inProgress++;
    else if (s.status === 'purged') f.purged++;
    else f.failed++;
    const subject = s.context?.identity?.subject;
    if (subject) {
      ids.add(subject);
      f.withIdentity++;
    }
    if (s.context?.target?.name) targets.add(s.context.target.name);
    if (s.context?.target?.credentialRef) f.withCredentialRef++;
    if (s.startedAt) {
      if (!f.firstStart || s.startedAt < f.firstStart) f.firstStart = s.startedAt;
      if (!f.lastStart || s.startedAt > f.lastStart) f.lastStart = s.startedAt;
    }
    const d = digests.get(s.sessionId);
    const st = s.stats ?? {};
    if (d) {
      f.commands += d.commands.length;
      f.sqlReads += d.commands.filter((c) => c.kind === 'sql' && /\bread\b/.test(c.classification ?? '')).length;
      f.blocks += d.blocks;
      f.masked += d.masked;
      f.maskedPan += d.maskingKinds.pan ?? 0;
      f.maskedRedacted += (d.maskingKinds.redacted ?? 0) + (d.maskingKinds.sensitiveColumn ?? 0) + (d.maskingKinds.track ?? 0) + (d.maskingKinds.sad ?? 0);
      f.identityRejected += d.identityRejected.length;
      f.errors += d.errors;
      f.approvalsRequested += d.approvals.length;
      for (const a of d.approvals) {
        if (a.outcome === 'approved') f.approvalsApproved++;
        else if (a.outcome !== 'pending') f.approvalsDenied++;
        if (a.hashCheck === 'match') f.approvalsHashMatched++;
      }
    } else if (!countsKnown(s, d)) {
      // Commands, blocks, masking are unknown; approval requests are still proven by the signed log.
      f.unknownSessions++;
      for (const a of report.approvals ?? []) {
        if (a.sessionId !== s.sessionId || a.source !== 'log') continue;
        f.approvalsRequested++;
        f.approvalsHashUnknown++;
        if (a.outcome === 'approved') f.approvalsApproved++;
        else if (a.outcome !== 'pending') f.approvalsDenied++;
      }
    } else {
      f.commands += st.command ?? 0;
      f.blocks += (st['decision.block'] ?? 0) + (st['decision.denied'] ?? 0);
      f.masked += st.masked ?? 0;
      f.identityRejected += st['identity.rejected'] ?? 0;
      f.errors += st.error ?? 0;
      f.approvalsRequested += st['approval.requested'] ?? 0;
      f.approvalsApproved += st['decision.approved'] ?? 0;
      f.approvalsDenied += (st['decision.denied'] ?? 0) + (st['decision.expired'] ?? 0);
    }
  }
  f.identities = ids.size;
  f.targets = targets.size;
  return f;
}

function check(report: VerificationReport, id: string): string {
  const c = report.checks.find((x) => x.id === id);
  if (!c) return 'not run';
  if (c.status === 'pass') return 'passed';
  if (c.status === 'fail') return `FAILED (${c.failures.length} finding${c.failures.length === 1 ? '' : 's'})`;
  if (c.status === 'partial') return `PARTIAL (${coverageText(c)})`;
  return c.status === 'skipped' ? 'not run (needs the auditor key)' : 'not run (bundle unreadable)';
}

/** A figure, with the sessions it cannot include said as unknown (never folded into a zero). */
function n(f: BundleFigures, v: number, word?: string, many?: string): string {
  const counted = word ? plural(v, word, many) : String(v);
  if (!f.unknownSessions) return counted;
  // "7 known commands (unknown for 2 sessions …)": the figure is a floor, never the whole.
  return `${counted.replace(/^(\d+)/, '$1 known')} (unknown for ${plural(f.unknownSessions, 'session')} whose content is unavailable)`;
}

export function pciRows(report: VerificationReport, digests: ReadonlyMap<string, SessionDigest>, opened: { by: string; at: string }): PciRow[] {
  if (report.fatal) return pciUnread(report);
  const f = figures(report, digests);
  const key = f.decrypted ? '' : ' (content figures come from the signed manifests; load the auditor key for the decrypted detail)';
  return [
    {
      req: '3.3.1 (.1 track, .2 CVV, .3 PIN)',
      short: 'Sensitive authentication data is not kept after authorization, not even encrypted, including logs',
      evidence: `${n(f, f.maskedRedacted, 'sensitive value')} redacted before recording; clear card-number re-scan of all decrypted content: ${check(report, 'pan-rescan')}${key}`,
    },
    {
      req: '3.4.1',
      short: 'PAN shown masked (at most BIN + last 4) unless a documented role needs more',
      evidence: `${n(f, f.masked, 'value')} masked in responses across ${plural(f.sessions, 'session')} (${f.unknownSessions ? `${f.maskedPan} known card number${f.maskedPan === 1 ? '' : 's'}` : plural(f.maskedPan, 'card number')}); clear card-number re-scan: ${check(report, 'pan-rescan')}`,
    },
    {
      req: '3.5.1 / 3.5.1.1',
      short: 'PAN unreadable wherever stored, audit logs included; hashes keyed',
      evidence: `${archivesPresent(report)} session archives in the bundle, each encrypted to auditor keys (digests: ${check(report, 'digests')}; decryption check: ${check(report, 'decryption')}); token fingerprints are keyed hashes`,
    },
    {
      req: '7.2.5 / 7.2.5.1',
      short: 'System and application accounts get least privilege, reviewed periodically',
      evidence: `${plural(f.identities, 'non-human identity', 'non-human identities')} used ${plural(f.targets, 'target')} in ${plural(f.sessions, 'session')}; ${n(f, f.blocks, 'command')} refused by policy (blocked or denied)`,
    },
    {
      req: '7.2.6',
      short: 'Direct queries to cardholder data only by responsible administrators',
      evidence: f.decrypted ? `${n(f, f.commands, 'command')} recorded, ${f.sqlReads} classified as SQL reads; each bound to its identity and policy rule` : `${n(f, f.commands, 'command')} recorded${key}`,
    },
    {
      req: '8.2.2',
      short: 'Shared/generic IDs only by exception; every action attributable to an individual',
      evidence: `${f.withIdentity} of ${plural(f.sessions, 'session')} bound to a verified identity (${f.identities} distinct); approvals name their approver`,
    },
    {
      req: '8.6.1',
      short: 'Interactive use of system/application accounts only by exception: time-limited, approved, attributable',
      evidence: `${plural(f.approvalsRequested, 'approval request')}${f.unknownSessions ? ' (those of sessions without readable content from the signed log)' : ''}: ${f.approvalsApproved} approved, ${f.approvalsDenied} denied or expired; ${f.approvalsHashUnknown ? `${f.approvalsHashMatched} known executed command${f.approvalsHashMatched === 1 ? '' : 's'} matched the approved command hash (unknown for ${plural(f.approvalsHashUnknown, 'request')} whose content is unavailable)` : `${plural(f.approvalsHashMatched, 'executed command')} matched the approved command hash`}; approvals check: ${check(report, 'approvals')}; session sequence: ${check(report, 'session-sequence')}`,
    },
    {
      req: '8.6.2',
      short: 'No passwords of such accounts hard-coded in scripts, config or code',
      evidence: `${f.withCredentialRef} of ${plural(f.sessions, 'session')} used an appliance-held credential (only its reference is recorded, never the secret)`,
    },
    {
      req: '8.6.3',
      short: 'Passwords of such accounts rotated',
      evidence: 'target credential rotation is not evidenced in this bundle (appliance signing keys: ' + `${plural(report.trust.keys.length, 'key')}, ${plural(f.rotations, 'rotation')} followed)`,
    },
    {
      req: '10.2.1.1–.7',
      short: 'Log access to cardholder data, admin actions, audit-log access, invalid access attempts, credential changes, log start/stop, object creation/deletion',
      evidence: `${n(f, f.commands, 'command')}, ${n(f, f.errors, 'error')}, ${n(f, f.identityRejected, 'rejected identity', 'rejected identities')} recorded; this bundle was opened and verified by ${opened.by || '(name not entered)'} at ${formatTimeMs(opened.at)} (recorded in this report)`,
    },
    {
      req: '10.2.2',
      short: 'Each record: user id, event type, date/time, success/failure, origination, affected resource',
      evidence: `${f.unknownSessions ? `${f.sessions - f.unknownSessions} of ${plural(f.sessions, 'session')} carry` : f.sessions === 1 ? 'the session carries' : 'every session carries'} identity, client address, target and times in a signed manifest${f.unknownSessions ? ` (the others only what the signed log records)` : ''}; ${n(f, f.commands, 'command record')} with decision and outcome`,
    },
    {
      req: '10.3.1–10.3.4',
      short: 'Logs readable need-to-know, protected from change, backed up promptly, change detection',
      evidence: `signatures: ${check(report, 'signatures')}; digests: ${check(report, 'digests')}; log inclusion: ${check(report, 'log-inclusion')}; log consistency: ${check(report, 'log-consistency')}`,
    },
    {
      req: '10.4.1.1',
      short: 'Automated log review',
      evidence: `this verification: ${VERDICT[report.verdict.status]} on ${formatTimeMs(report.verifiedAt)}, ${report.checks.filter((c) => c.status === 'pass').length} of ${plural(report.checks.length, 'check')} passed (${report.checks.filter((c) => c.status !== 'pass').map((c) => `${c.id} ${CHECK_WORD[c.status]}`).join(', ') || 'none other'})`,
    },
    {
      req: '10.5.1',
      short: 'Keep audit logs at least 12 months, 3 months immediately available',
      evidence: `this bundle covers sessions started ${formatTimeMs(f.firstStart) || '—'} to ${formatTimeMs(f.lastStart) || '—'} (export window ${formatTimeMs(report.bundle?.range.since) || 'open'} – ${formatTimeMs(report.bundle?.range.until) || 'open'})`,
    },
    {
      req: '10.6.x',
      short: 'Synchronized, protected time',
      evidence: report.bundle ? `signed checkpoint time ${formatTimeMs(report.bundle.checkpoint.time)}; log times never decrease (log inclusion: ${check(report, 'log-inclusion')})` : 'bundle unreadable',
    },
    {
      req: '10.7.2 / 10.7.3',
      short: 'Failures of critical controls (logging, access control) detected, alerted, responded to',
      evidence: `${plural(f.interrupted, 'session')} interrupted (appliance stopped; sealed at restart), ${f.inProgress} in progress at export, ${f.purged} purged by retention (signed purge record), ${f.failed} failed verification; session sequence: ${check(report, 'session-sequence')}`,
    },
  ];
}

export const PCI_NOTE = 'Requirement texts are paraphrases of PCI DSS v4.0.1, not quotes: check them against the PCI SSC document.';

const VERDICT = { pass: 'PASS', 'integrity-only': 'INTEGRITY ONLY (content not checked)', partial: 'PARTIAL', fail: 'FAILED' } as const;

function archivesPresent(report: VerificationReport): string {
  const c = report.checks.find((x) => x.id === 'digests');
  return c && c.total !== null ? `${report.sessions.filter((s) => s.file && s.source === 'archive').length} of ${c.total}` : 'no';
}

/** A bundle that could not be read proves nothing: every row says so, none carries a figure. */
function pciUnread(report: VerificationReport): PciRow[] {
  const rows = pciRows({ ...report, fatal: undefined } as VerificationReport, new Map(), { by: '', at: '' });
  return rows.map((r) => ({ ...r, evidence: `NOT VERIFIED: the bundle could not be read (${report.fatal ?? ''}); this bundle proves nothing for this requirement` }));
}
