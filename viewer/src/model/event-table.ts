/**
 * The event table: one row per event that matters to an auditor (session open and close, identity,
 * command, decision, every approval step, result, error), across sessions, with millisecond UTC times —
 * the same rows the view shows and the CSV holds. Sessions whose content is unavailable contribute what
 * the signed log proves, marked as such. Bundles are untrusted: every field is type-checked and capped.
 */
import type { EvidenceEvent } from '../../../shared/evidence/events.ts';
import type { ApprovalEvidence } from '../../../shared/evidence/verify/approval-evidence.ts';
import { csvCell } from './csv.ts';
import { STAMP_CSV_COLUMNS, stampCells, type EvidenceStamp } from './evidence-id.ts';
import { MAX_TEXT, num, str, who } from './digest.ts';
import { FROM_LOG, UNKNOWN } from './evidence-state.ts';
import type { SessionReport } from './types.ts';

export interface EventRow {
  /** ISO UTC with milliseconds ("+1.234s" when the session's start is unknown). */
  time: string;
  session: number | null;
  sessionId: string;
  /** The archive event's seq (null for a row from the signed log). */
  eventSeq: number | null;
  event: string;
  source: 'archive' | 'log';
  identity: string;
  client: string;
  target: string;
  commandId: number | null;
  command: string;
  /** Bind parameters as recorded (masked by the appliance), JSON. */
  params: string;
  decision: string;
  rule: string;
  reason: string;
  requestId: string;
  /** held, requested, decided, approved, released, refused, expired, cancelled, finished. */
  approvalStep: string;
  approver: string;
  approverAddress: string;
  expiresAt: string;
  result: string;
  rowCount: number | null;
  durationMs: number | null;
  errorCode: string;
  error: string;
}

/** Column order, for the view and the CSV alike: what an auditor reads first on the left. */
export const EVENT_TABLE_COLUMNS = [
  ['time', 'Time (UTC)'],
  ['session', 'Session'],
  ['event', 'Kind'],
  ['approvalStep', 'Approval step'],
  ['identity', 'Identity'],
  ['target', 'Target'],
  ['commandId', 'Cmd'],
  ['command', 'Command'],
  ['decision', 'Decision'],
  ['rule', 'Rule'],
  ['reason', 'Reason'],
  ['requestId', 'Approval request'],
  ['approver', 'Approver'],
  ['approverAddress', 'Approver from'],
  ['expiresAt', 'Expires'],
  ['result', 'Result'],
  ['rowCount', 'Rows'],
  ['durationMs', 'Duration (ms)'],
  ['errorCode', 'Error code'],
  ['error', 'Error'],
  ['params', 'Bind parameters (masked)'],
  ['client', 'Client'],
  ['source', 'Source'],
  ['eventSeq', 'Event seq'],
  ['sessionId', 'Session id'],
] as const satisfies readonly (readonly [keyof EventRow, string])[];

/** The CSV header: the row's field names in snake_case. */
export const EVENT_CSV_HEADER = EVENT_TABLE_COLUMNS.map(([k]) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`));

const KINDS = new Set(['session.open', 'identity.verified', 'identity.rejected', 'command', 'decision', 'approval.requested', 'approval.decided', 'approval.expired', 'approval.cancelled', 'command.released', 'result', 'error', 'channel.open', 'channel.close', 'transfer', 'forward.open', 'forward.close', 'session.close']);
const MAX_PARAMS = 64;

function isoAt(startedAt: string | undefined, t: number): string {
  const base = startedAt ? Date.parse(startedAt) : NaN;
  return Number.isFinite(base) ? new Date(base + t).toISOString() : `+${(t / 1000).toFixed(3)}s`;
}

function paramsOf(v: unknown): string {
  if (!Array.isArray(v)) return '';
  const list = v.slice(0, MAX_PARAMS).map((p) => (p === null ? null : (str(p, 1024) ?? (typeof p === 'object' ? '[value]' : String(p)))));
  return JSON.stringify(list) + (v.length > MAX_PARAMS ? ` … (${v.length - MAX_PARAMS} more)` : '');
}

function blank(s: SessionReport, source: 'archive' | 'log'): Omit<EventRow, 'time' | 'eventSeq' | 'event'> {
  return {
    session: s.seq,
    sessionId: s.sessionId,
    source,
    identity: s.context?.identity?.subject ?? '',
    client: s.context?.client?.address ?? '',
    target: s.context?.target?.name ?? '',
    commandId: null,
    command: '',
    params: '',
    decision: '',
    rule: '',
    reason: '',
    requestId: '',
    approvalStep: '',
    approver: '',
    approverAddress: '',
    expiresAt: '',
    result: '',
    rowCount: null,
    durationMs: null,
    errorCode: '',
    error: '',
  };
}

/** The rows of one session's decrypted events, in the archive's order. */
export function eventRows(events: readonly EvidenceEvent[], s: SessionReport, note?: string): EventRow[] {
  const out: EventRow[] = [];
  const texts = new Map<number, string>();
  /** Command id → its request id and whether it was released (a later result or error then finishes it). */
  const held = new Map<number, { requestId: string; released: boolean }>();
  // Archives that record the release itself (`command.released`): the approved decision is then "approved" and
  // the release its own row; older archives have only the decision, which is when the command was let through.
  const releaseEvents = new Set(events.filter((e) => e.type === 'command.released').map((e) => num(e.command)));
  let identity = s.context?.identity?.subject ?? '';
  for (const e of events) {
    if (!KINDS.has(e.type)) continue;
    const t = num(e.t) ?? 0;
    const commandId = e.type === 'command' ? (num(e.id) ?? null) : (num(e.command) ?? null);
    const row: EventRow = { ...blank(s, 'archive'), identity, time: isoAt(s.startedAt, t), eventSeq: num(e.seq) ?? null, event: e.type, commandId };
    if (commandId !== null) row.command = texts.get(commandId) ?? '';
    const h = commandId !== null ? held.get(commandId) : undefined;
    const requestId = str(e.requestId, 128) ?? h?.requestId ?? '';
    switch (e.type) {
      case 'session.open':
        row.client = str((e.client as Record<string, unknown> | undefined)?.address, 256) ?? row.client;
        break;
      case 'identity.verified': {
        const w = who(e);
        if (w) identity = row.identity = w.subject;
        row.result = [str(e.method, 64), str(e.issuer, 256)].filter(Boolean).join(' ');
        break;
      }
      case 'identity.rejected':
        row.reason = str(e.reason) ?? '';
        row.errorCode = str(e.code, 64) ?? '';
        break;
      case 'command': {
        const raw = typeof e.text === 'string' ? e.text : '';
        const text = raw.length > MAX_TEXT ? `${raw.slice(0, MAX_TEXT)} … (${raw.length - MAX_TEXT} more characters)` : raw;
        if (commandId !== null) texts.set(commandId, text);
        row.command = text;
        row.params = paramsOf(e.params);
        break;
      }
      case 'decision': {
        const decision = str(e.decision, 32) ?? '';
        row.decision = decision;
        row.rule = str(e.rule) ?? '';
        row.reason = str(e.reason) ?? '';
        if (e.scope === 'session') row.command = str(e.target) ? `(access to ${str(e.target)})` : '(session access)';
        if (decision === 'hold') row.approvalStep = 'held';
        else if (requestId && (decision === 'approved' || decision === 'denied' || decision === 'expired')) {
          row.requestId = requestId;
          const ownRelease = commandId !== null && releaseEvents.has(commandId);
          row.approvalStep = decision === 'approved' ? (ownRelease ? 'approved' : 'released') : decision === 'expired' ? 'expired' : 'refused';
          if (Array.isArray(e.approvedBy)) row.approver = e.approvedBy.slice(0, 32).map((x) => who(x)?.subject ?? '?').join(' ');
          if (h && decision === 'approved' && !ownRelease) h.released = true;
        }
        break;
      }
      case 'approval.requested':
        row.requestId = requestId;
        row.approvalStep = 'requested';
        row.rule = str(e.rule) ?? '';
        row.reason = str(e.justification) ? `justification: ${str(e.justification)}` : '';
        row.expiresAt = str(e.expiresAt, 64) ?? '';
        if (commandId !== null && requestId) held.set(commandId, { requestId, released: false });
        break;
      case 'approval.decided':
      case 'approval.expired':
      case 'approval.cancelled':
        row.requestId = requestId;
        row.approvalStep = e.type === 'approval.decided' ? 'decided' : e.type === 'approval.expired' ? 'expired' : 'cancelled';
        row.decision = e.type === 'approval.decided' ? (str(e.decision, 32) ?? '') : row.approvalStep;
        row.approver = who(e.approver)?.subject ?? '';
        row.approverAddress = str(e.address, 256) ?? '';
        row.reason = str(e.reason) ?? '';
        break;
      case 'command.released':
        row.requestId = requestId;
        row.approvalStep = 'released';
        if (h) h.released = true;
        break;
      case 'channel.open':
      case 'channel.close':
      case 'forward.open':
      case 'forward.close':
      case 'transfer':
        row.command = [str(e.kind, 64), str(e.command), str(e.path), e.host !== undefined ? `${str(e.host, 256) ?? ''}:${num(e.port) ?? ''}` : undefined].filter(Boolean).join(' ') || row.command;
        row.result = [num(e.exitStatus) !== undefined ? `exit ${num(e.exitStatus)}` : '', str(e.exitSignal, 32) ? `signal ${str(e.exitSignal, 32)}` : '', str(e.outcome, 32) ?? '', num(e.bytes) !== undefined ? `${num(e.bytes)} bytes` : '', str(e.sha256, 64) ?? ''].filter(Boolean).join(', ');
        row.reason = str(e.reason) ?? '';
        break;
      case 'result': {
        row.result = str(e.tag, 128) ?? str(e.status, 32) ?? '';
        row.rowCount = num(e.rowCount) ?? null;
        row.durationMs = num(e.durationMs) ?? null;
        if (h) {
          row.requestId = h.requestId;
          row.approvalStep = 'finished';
        }
        break;
      }
      case 'error':
        row.errorCode = str(e.code, 32) ?? '';
        row.error = str(e.message, 4096) ?? '';
        // After its release, an error is how a held command finished; before it, part of the refusal.
        if (h) {
          row.requestId = h.requestId;
          if (h.released) row.approvalStep = 'finished';
        }
        break;
      case 'session.close':
        row.reason = str(e.reason) ?? '';
        break;
    }
    out.push(row);
  }
  if (note) out.push({ ...blank(s, 'archive'), time: out.at(-1)?.time ?? isoAt(s.startedAt, 0), eventSeq: null, event: 'content.partial', error: note });
  return out;
}

/**
 * What the signed log proves of a session whose content is unavailable (archive missing, unreadable or not
 * decrypted): its start, and its approval requests and decisions, with the log's times. Nothing else is known.
 */
export function logRows(s: SessionReport, approvals: readonly ApprovalEvidence[]): EventRow[] {
  const out: EventRow[] = [];
  const base = blank(s, 'log');
  out.push({ ...base, time: s.startedAt ?? UNKNOWN, eventSeq: null, event: 'session.started', command: `(${FROM_LOG})`, result: UNKNOWN });
  for (const a of approvals) {
    if (a.sessionId !== s.sessionId) continue;
    const cmd = a.command >= 0 ? a.command : null;
    out.push({ ...base, time: a.requestedAt ?? UNKNOWN, eventSeq: null, event: 'approval.requested', commandId: cmd, command: `(${FROM_LOG})`, requestId: a.requestId, approvalStep: 'requested', rule: a.rule, expiresAt: a.expiresAt ?? '', result: UNKNOWN });
    for (const d of a.decisions) {
      out.push({ ...base, time: d.at ?? UNKNOWN, eventSeq: null, event: 'approval.decided', commandId: cmd, command: `(${FROM_LOG})`, requestId: a.requestId, approvalStep: 'decided', decision: d.decision, approver: d.approver, reason: d.reason ?? '', result: UNKNOWN });
    }
  }
  return out;
}

/** Across sessions: by time, then session, then the archive's order (a stable sort keeps each session's order). */
export function sortRows(rows: EventRow[]): EventRow[] {
  return rows.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : (a.session ?? 0) - (b.session ?? 0) || (a.eventSeq ?? -1) - (b.eventSeq ?? -1)));
}

export function cellOf(r: EventRow, key: keyof EventRow): string {
  const v = r[key];
  return v === null ? '' : String(v);
}

/**
 * RFC 4180 (CRLF, quoted where needed) with formula injection neutralised: exactly the table's rows. With
 * `evidence`, every line ends with the bundle's SHA-256 and the verification result, as the chronological CSV.
 */
export function eventTableCsv(rows: readonly EventRow[], evidence?: EvidenceStamp): string {
  const stamp = evidence ? stampCells(evidence) : [];
  const header = [...EVENT_CSV_HEADER, ...(evidence ? STAMP_CSV_COLUMNS : [])];
  const lines = [header.join(','), ...rows.map((r) => [...EVENT_TABLE_COLUMNS.map(([k]) => cellOf(r, k)), ...stamp].map(csvCell).join(','))];
  return lines.join('\r\n') + '\r\n';
}

/** Case-insensitive search over every cell. */
export function rowMatches(r: EventRow, needle: string): boolean {
  if (!needle) return true;
  const n = needle.toLowerCase();
  return EVENT_TABLE_COLUMNS.some(([k]) => cellOf(r, k).toLowerCase().includes(n));
}

/** Rows kept at most: past this the table, and so its CSV, say they stop (never silently). */
export const MAX_EVENT_ROWS = 200_000;

export interface EventTable {
  rows: EventRow[];
  /** Sessions whose rows are in the table, of all the bundle's sessions. */
  sessionsLoaded: number;
  sessions: number;
  /** Set when the cap stopped loading: what is missing, in words. */
  truncated?: string;
}

/**
 * The whole bundle's table: decrypted sessions through `fetchRows` (the worker), sessions without content
 * from the signed log. A session whose rows cannot be read is a row saying so, plus what the log proves.
 */
export async function loadEventTable(
  report: { sessions: readonly SessionReport[]; approvals?: readonly ApprovalEvidence[] | undefined },
  fetchRows: (sessionId: string) => Promise<EventRow[]>,
  onProgress?: (done: number, total: number) => void,
  max = MAX_EVENT_ROWS,
): Promise<EventTable> {
  const rows: EventRow[] = [];
  const logged = (report.approvals ?? []).filter((a) => a.source === 'log');
  let loaded = 0;
  for (const s of report.sessions) {
    onProgress?.(loaded, report.sessions.length);
    let mine: EventRow[];
    if (s.source === 'log' || !s.file) mine = logRows(s, logged);
    else {
      try {
        mine = await fetchRows(s.sessionId);
        if (!s.contentAvailable) {
          // Part of the content could not be read: the log's approval steps the decrypted part lacks.
          const seen = new Set(mine.map((r) => r.requestId).filter(Boolean));
          mine.push(...logRows(s, logged.filter((a) => !seen.has(a.requestId))).slice(1));
        }
      } catch (e) {
        const why = e instanceof Error ? e.message : String(e);
        mine = [{ ...blank(s, 'archive'), time: s.startedAt ?? UNKNOWN, eventSeq: null, event: 'content.unavailable', error: why.slice(0, 600) }, ...logRows(s, logged).slice(1)];
      }
    }
    if (rows.length + mine.length > max) {
      return { rows: sortRows(rows), sessionsLoaded: loaded, sessions: report.sessions.length, truncated: `the table stops at ${max.toLocaleString('en')} rows: ${report.sessions.length - loaded} of ${report.sessions.length} session${report.sessions.length === 1 ? '' : 's'}, from #${s.seq ?? '?'} on, are not in it or in its CSV` };
    }
    for (const r of mine) rows.push(r);
    loaded++;
  }
  onProgress?.(loaded, report.sessions.length);
  return { rows: sortRows(rows), sessionsLoaded: loaded, sessions: report.sessions.length };
}
