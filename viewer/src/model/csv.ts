/**
 * The chronological log as CSV (RFC 4180): one line per command, across all sessions, in time order —
 * who, when, target, command, status. Cells that a spreadsheet would run as a formula (=, +, -, @, tab,
 * CR at the start) are prefixed with an apostrophe: the bundle is untrusted, the auditor's spreadsheet
 * must not execute it.
 */
import type { ApprovalEvidence } from '../../../shared/evidence/verify/approval-evidence.ts';
import { FROM_LOG, UNKNOWN, countsKnown, logApprovalRow } from './evidence-state.ts';
import { approvalTimeline } from './approval-timeline.ts';
import type { ApprovalRow, SessionDigest, SessionReport } from './types.ts';
import { STAMP_CSV_COLUMNS, stampCells, type EvidenceStamp } from './evidence-id.ts';

export const CSV_COLUMNS = [
  'time', 'session', 'session_id', 'protocol', 'identity', 'client', 'target', 'command', 'decision', 'rule', 'approved_by', 'result', 'masked', 'session_status',
  // A held command's approval steps (approval-timeline.ts): a time with ms, or why there is none.
  'approval_request', 'approval_requested_at', 'approval_decided_at', 'approval_decided', 'approval_released_at', 'approval_finished_at', 'approval_interval',
] as const;

const NO_APPROVAL = ['', '', '', '', '', '', ''];

/** The approval columns of one command ('' when it needed none); several requests are joined with " | ". */
function approvalCells(approvals: readonly ApprovalRow[], command: number | null, startedAt: string | undefined): string[] {
  return stepCells(command === null ? [] : approvals.filter((a) => a.command === command), startedAt);
}

function stepCells(mine: readonly ApprovalRow[], startedAt: string | undefined): string[] {
  if (mine.length === 0) return NO_APPROVAL;
  const tls = mine.map((a) => approvalTimeline(a, startedAt));
  const step = (i: number) => tls.map((tl) => tl.steps[i]!.at ?? tl.steps[i]!.text).join(' | ');
  return [tls.map((tl) => tl.requestId).join(' | '), step(0), step(1), tls.map((tl) => tl.steps[1].text).join(' | '), step(2), step(3), tls.map((tl) => tl.interval).join(' | ')];
}

export function csvCell(v: string | number | null | undefined): string {
  let s = v === null || v === undefined ? '' : String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function absoluteTime(startedAt: string | undefined, t: number): string {
  const base = startedAt ? Date.parse(startedAt) : NaN;
  return Number.isFinite(base) ? new Date(base + t).toISOString() : `+${(t / 1000).toFixed(3)}s`;
}

/** With `evidence`, every line ends with the bundle's SHA-256 and the verification result. */
/**
 * `more.fatal`: why the bundle could not be read. The CSV then has one row that says so (an empty sheet
 * would read as a bundle in which nothing happened). `more.approvals`: the verifier's approvals; those
 * known only from the signed log fill the approval columns of their session's row (blank would read as
 * "no approval was needed").
 */
export function chronologicalCsv(sessions: readonly SessionReport[], digests: ReadonlyMap<string, SessionDigest>, evidence?: EvidenceStamp, more: { fatal?: string | undefined; approvals?: readonly ApprovalEvidence[] } = {}): string {
  const { fatal } = more;
  const rows: { at: string; cells: (string | number)[] }[] = [];
  if (fatal !== undefined) rows.push({ at: '', cells: ['', '', '', '', '', '', '', `NOT VERIFIED: the bundle could not be read (${fatal}); nothing in it was read`, '', '', '', '', UNKNOWN, UNKNOWN, ...NO_APPROVAL] });
  for (const s of sessions) {
    const d = digests.get(s.sessionId);
    const base = [s.protocol ?? '', s.context?.identity?.subject ?? '', s.context?.client?.address ?? '', s.context?.target?.name ?? ''];
    if (!d || d.commands.length === 0) {
      const at = s.startedAt ?? '';
      const what = d ? '(no commands)' : s.source === 'log' ? `(${FROM_LOG})` : '(not decrypted)';
      const masked = countsKnown(s, d) ? (d?.masked ?? s.stats?.masked ?? 0) : UNKNOWN;
      const fromLog = d ? [] : (more.approvals ?? []).filter((a) => a.source === 'log' && a.sessionId === s.sessionId).map((a) => logApprovalRow(a, s));
      rows.push({ at, cells: [at, s.seq ?? '', s.sessionId, ...base, what, '', '', '', s.closeReason ?? '', masked, s.status, ...stepCells(fromLog, s.startedAt)] });
      continue;
    }
    for (const c of d.commands) {
      const at = absoluteTime(s.startedAt, c.t);
      const approvedBy = c.decisions.flatMap((x) => x.approvedBy ?? []);
      const result = c.errors.length ? `error: ${c.errors.map((e) => (e.code ? `${e.code} ` : '') + e.message).join('; ')}` : [c.tag ?? c.status ?? '', c.rowCount !== undefined ? `${c.rowCount} rows` : ''].filter(Boolean).join(', ');
      const decision = c.decisions.at(-1);
      rows.push({
        at,
        cells: [at, s.seq ?? '', s.sessionId, ...base, c.text + (c.truncated ? ` … (${c.truncated} more characters)` : ''), c.decision ?? '', decision?.rule ?? '', approvedBy.join(' '), result, c.masked, s.status, ...approvalCells(d.approvals, c.id, s.startedAt)],
      });
    }
  }
  rows.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  const stamp = evidence ? stampCells(evidence) : [];
  return [[...CSV_COLUMNS, ...(evidence ? STAMP_CSV_COLUMNS : [])].join(','), ...rows.map((r) => [...r.cells, ...stamp].map(csvCell).join(','))].join('\r\n') + '\r\n';
}
