/**
 * What the signed transparency log says about each session: start (protocol, and identity/target when
 * known), anchors, end, and approval requests with their decisions. It is what the report can still
 * prove about a session whose archive is missing or unreadable, and what archives are cross-checked with.
 */
import { entryFields, sessionAnchorSchema, sessionEndedSchema, sessionIdentifiedSchema, sessionStartedSchema, type LogEntry } from '../log-entry.ts';
import type { ApprovalEvidence } from './approval-evidence.ts';
import type { LoggedHold, LoggedPurge } from './retention-log.ts';
import type { Anchor } from './verify-archive.ts';

export interface LoggedDecision {
  approver: string;
  /** Normalised: the log writes "approve"/"deny", archives "approved"/"denied". */
  decision: 'approved' | 'denied';
  reason: string | null;
  at: string;
}

export interface LoggedApproval {
  requestId: string;
  command: number | null;
  /** Every log entry about the request, in order: they must all name one command hash. */
  hashes: string[];
  rule: string | null;
  requester: string | null;
  expiresAt: string | null;
  requestedAt: string | null;
  decided: LoggedDecision[];
  /** The latest `remaining` an `approval.decided` entry carried (0: enough approvers). */
  remaining: number | null;
  ended: { outcome: 'expired' | 'cancelled'; at: string; reason: string | null } | null;
}

export interface SessionLog {
  started?: LogEntry & { sessionId: string; seq: number; headerDigest: string; protocol: string };
  /** Identity and target as logged (on `session.started`, or a later `session.identified`). */
  subject?: string;
  target?: string;
  /** Every `session.identified` entry for the session (an appliance writes one; more is a forgery). */
  identified?: LoggedIdentity[];
  anchors: Anchor[];
  /** Time of the newest anchor: the last moment the log saw durable frames of this session. */
  lastAnchorAt?: string;
  ended?: LogEntry & { outcome: string; manifestDigest?: string; frames?: number; events?: number; lost?: boolean; error?: string };
  approvals: Map<string, LoggedApproval>;
  /** Purge records naming the session and its legal holds (retention-log.ts). */
  purged?: LoggedPurge[];
  holds?: LoggedHold[];
}

export interface LoggedIdentity {
  entry: number;
  subject: string;
  target: string;
  issuer: string | null;
  method: string | null;
  protocol: string | null;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** Folds one log entry into the per-session facts. Throws on a malformed session entry (a log-inclusion failure). */
export function collect(e: LogEntry, get: (id: string) => SessionLog): void {
  switch (e.type) {
    case 'session.started': {
      const f = entryFields(e, sessionStartedSchema);
      const s = get(f.sessionId);
      s.started = { ...e, ...f };
      if (str(e.subject)) s.subject = e.subject as string;
      if (str(e.target)) s.target = e.target as string;
      break;
    }
    case 'session.identified': {
      const f = entryFields(e, sessionIdentifiedSchema);
      const s = get(f.sessionId);
      (s.identified ??= []).push({ entry: e.i, subject: f.subject, target: f.target, issuer: f.issuer ?? null, method: f.method ?? null, protocol: f.protocol ?? null });
      s.subject = f.subject;
      s.target = f.target;
      break;
    }
    case 'session.anchor': {
      const f = entryFields(e, sessionAnchorSchema);
      const s = get(f.sessionId);
      s.anchors.push({ frames: f.frames, chainHead: f.chainHead, logIndex: e.i });
      s.lastAnchorAt = e.t;
      break;
    }
    case 'approval.requested':
    case 'approval.decided':
    case 'approval.expired':
    case 'approval.cancelled':
      collectApproval(e, get(str(e.sessionId) ?? '').approvals);
      break;
    case 'session.ended':
    case 'session.interrupted': {
      const id = str(e.sessionId) ?? '';
      if (e.lost === true) get(id).ended = { ...e, outcome: 'interrupted', lost: true };
      else get(id).ended = { ...e, ...entryFields(e, sessionEndedSchema), ...(typeof e.events === 'number' ? { events: e.events } : {}) };
      break;
    }
  }
}

function collectApproval(e: LogEntry, log: Map<string, LoggedApproval>): void {
  const requestId = str(e.requestId) ?? '';
  let a = log.get(requestId);
  if (!a) {
    a = { requestId, command: null, hashes: [], rule: null, requester: null, expiresAt: null, requestedAt: null, decided: [], remaining: null, ended: null };
    log.set(requestId, a);
  }
  a.hashes.push(str(e.commandHash) ?? '');
  if (e.type === 'approval.requested') {
    a.command = typeof e.command === 'number' ? e.command : null;
    a.rule = str(e.rule);
    a.requester = str(e.requester);
    a.expiresAt = str(e.expiresAt);
    a.requestedAt = e.t;
  } else if (e.type === 'approval.decided') {
    a.decided.push({ approver: String(e.approver), decision: e.decision === 'approve' || e.decision === 'approved' ? 'approved' : 'denied', reason: str(e.reason), at: e.t });
    if (typeof e.remaining === 'number') a.remaining = e.remaining;
  } else {
    a.ended = { outcome: e.type === 'approval.expired' ? 'expired' : 'cancelled', at: e.t, reason: str(e.reason) };
  }
}

/**
 * The approvals register rows the log alone proves, for a session whose content is unavailable: who
 * asked, who decided and the outcome; the statement, and whether the command ran, are unknown (null).
 */
export function approvalsFromLog(sessionId: string, log: SessionLog | undefined): ApprovalEvidence[] {
  return [...(log?.approvals.values() ?? [])].map((a): ApprovalEvidence => {
    const hash = a.hashes[0] ?? '';
    const hashMatches = hash !== '' && a.hashes.every((h) => h === hash);
    const denied = a.decided.some((d) => d.decision === 'denied');
    const outcome = denied ? 'denied' : a.remaining === 0 && a.decided.length > 0 ? 'approved' : (a.ended?.outcome ?? 'pending');
    const problems = hashMatches ? [] : [`request ${a.requestId}: the log's entries name different command hashes`];
    if (a.requestedAt === null) problems.push(`request ${a.requestId}: decided in the log but never requested there`);
    return {
      requestId: a.requestId,
      sessionId,
      command: a.command ?? -1,
      commandHash: hash,
      statement: null,
      rule: a.rule ?? '',
      justification: null,
      expiresAt: a.expiresAt,
      decisions: a.decided.map((d) => ({ approver: d.approver, decision: d.decision, reason: d.reason, at: d.at })),
      outcome,
      approvedBy: a.decided.filter((d) => d.decision === 'approved').map((d) => d.approver),
      ran: null,
      hashMatches,
      problems,
      source: 'log',
      requester: a.requester,
      requestedAt: a.requestedAt,
    };
  });
}

/** The archive's approval events must agree with what the transparency log recorded about them. */
export function compareWithLog(inArchive: readonly ApprovalEvidence[], log: SessionLog | undefined): string[] {
  const problems: string[] = [];
  const logged = log?.approvals ?? new Map<string, LoggedApproval>();
  for (const a of inArchive) {
    const l = logged.get(a.requestId);
    if (!l || l.requestedAt === null) {
      problems.push(`request ${a.requestId} is not in the transparency log`);
      continue;
    }
    if (l.hashes.some((h) => h !== a.commandHash)) problems.push(`request ${a.requestId}: the log names another command hash than the archive`);
    const fromArchive = a.decisions.map((d) => `${d.approver}:${d.decision}`).sort().join(',');
    const fromLog = l.decided.map((d) => `${d.approver}:${d.decision}`).sort().join(',');
    if (fromArchive !== fromLog) problems.push(`request ${a.requestId}: the log's decisions (${fromLog || 'none'}) differ from the archive's (${fromArchive || 'none'})`);
  }
  for (const id of logged.keys()) {
    if (!inArchive.some((a) => a.requestId === id)) problems.push(`the log has request ${id} for this session, the archive does not`);
  }
  return problems;
}
