/**
 * Replay indexes, built once per session from its decrypted events so that seeking never replays from
 * the start: the terminal's output as filtered chunks with times (the snapshot worker adds terminal
 * states every so often), markers for the timeline, and the statement list of database sessions.
 */
import type { EvidenceEvent } from '../../../shared/evidence/events.ts';
import { num, str } from './digest.ts';
import { TerminalFilter, describeRemoved } from './terminal-filter.ts';

export interface Marker {
  t: number;
  kind: 'command' | 'approval' | 'held' | 'block' | 'error';
  label: string;
}

export interface TerminalTrack {
  cols: number;
  rows: number;
  term: string;
  /** Times (ms since start) of each output chunk, non-decreasing. */
  times: number[];
  /** Filtered output chunks, safe for a terminal emulator. */
  chunks: Uint8Array[];
  /** Byte offset of each chunk in the concatenated output (length = chunks + 1). */
  offsets: number[];
  duration: number;
  markers: Marker[];
  /** What the control-string filter removed, in words ('' when nothing). */
  neutralised: string;
}

export function isTerminal(events: readonly EvidenceEvent[]): boolean {
  return events.some((e) => e.type === 'output' && e.data !== undefined);
}

export function markersOf(events: readonly EvidenceEvent[]): Marker[] {
  const out: Marker[] = [];
  const texts = new Map<number, string>();
  for (const e of events) {
    const t = num(e.t) ?? 0;
    if (e.type === 'command') {
      const text = (str(e.text, 200) ?? '').replace(/[\x00-\x1f\x7f]/g, ' ');
      const id = num(e.id);
      if (id !== undefined) texts.set(id, text);
      out.push({ t, kind: 'command', label: text || '(command)' });
    } else if (e.type === 'decision' && (e.decision === 'block' || e.decision === 'denied')) {
      const id = num(e.command);
      out.push({ t, kind: 'block', label: `${e.decision === 'block' ? 'Blocked' : 'Denied'}: ${id !== undefined ? (texts.get(id) ?? '') : ''}${str(e.reason) ? ` (${str(e.reason, 200)})` : ''}` });
    } else if (e.type === 'approval.requested' || e.type === 'approval.decided' || (e.type === 'decision' && (e.decision === 'approved' || e.decision === 'hold'))) {
      const what = e.type === 'approval.requested' || e.decision === 'hold' ? 'Approval requested' : e.type === 'approval.decided' ? `Approval ${str(e.decision, 32) ?? 'decided'}` : 'Approved';
      out.push({ t, kind: 'approval', label: what });
    } else if (e.type === 'error') {
      out.push({ t, kind: 'error', label: `Error: ${str(e.message, 200) ?? ''}` });
    }
  }
  return out;
}

export function terminalTrack(events: readonly EvidenceEvent[]): TerminalTrack {
  let cols = 80;
  let rows = 24;
  let term = 'xterm-256color';
  const times: number[] = [];
  const chunks: Uint8Array[] = [];
  const offsets: number[] = [0];
  const filter = new TerminalFilter();
  let last = 0;
  let total = 0;
  for (const e of events) {
    const t = Math.max(last, num(e.t) ?? last);
    if (e.type === 'session.open' && e.pty && typeof e.pty === 'object') {
      const p = e.pty as Record<string, unknown>;
      cols = clamp(num(p.cols), 10, 500, cols);
      rows = clamp(num(p.rows), 4, 200, rows);
      term = str(p.term, 64) ?? term;
    }
    if (e.type === 'output' && e.data) {
      const safe = filter.push(e.data);
      if (safe.length === 0) continue;
      times.push(t);
      chunks.push(safe);
      total += safe.length;
      offsets.push(total);
    }
    last = t;
  }
  return { cols, rows, term, times, chunks, offsets, duration: last, markers: markersOf(events), neutralised: describeRemoved(filter) };
}

/** Index of the last chunk at or before time t (-1 when none): binary search, O(log n). */
export function chunkAt(times: readonly number[], t: number): number {
  let lo = 0;
  let hi = times.length - 1;
  let ans = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid]! <= t) {
      ans = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return ans;
}

/** Concatenates chunks [from, to) into one buffer (one terminal write instead of thousands). */
export function joinChunks(chunks: readonly Uint8Array[], from: number, to: number): Uint8Array {
  let n = 0;
  for (let i = from; i < to; i++) n += chunks[i]!.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (let i = from; i < to; i++) {
    out.set(chunks[i]!, o);
    o += chunks[i]!.length;
  }
  return out;
}

/** Where to take terminal snapshots: every `every` bytes of output, at chunk boundaries. */
export function snapshotPoints(track: Pick<TerminalTrack, 'offsets'>, maxSnapshots = 256, minBytes = 64 * 1024): number[] {
  const total = track.offsets[track.offsets.length - 1]!;
  const every = Math.max(minBytes, Math.ceil(total / maxSnapshots));
  const points: number[] = [];
  let next = every;
  for (let i = 1; i < track.offsets.length; i++) {
    if (track.offsets[i]! >= next) {
      points.push(i); // state after chunks [0, i)
      next = track.offsets[i]! + every;
    }
  }
  return points;
}

function clamp(v: number | undefined, min: number, max: number, dflt: number): number {
  return v === undefined ? dflt : Math.min(max, Math.max(min, Math.round(v)));
}

/** One step of the database statement player. */
export interface Statement {
  t: number;
  id: number | null;
  text: string;
  /** Length of the recorded text (`text` is cut at 100,000 characters). */
  length: number;
  kind: string;
  decision: string | null;
  rule?: string;
  reason?: string;
  approvedBy?: string[];
  result?: { tag?: string; status?: string; columns: string[]; rows: string[][]; rowCount?: number; rowsOmitted?: number; durationMs?: number };
  errors: string[];
  masked: number;
  notices: string[];
}

const MAX_ROWS_SHOWN = 500;
const MAX_COLS_SHOWN = 64;

export function statements(events: readonly EvidenceEvent[]): Statement[] {
  const out: Statement[] = [];
  const byId = new Map<number, Statement>();
  let last: Statement | undefined;
  const find = (c: unknown) => {
    const n = num(c);
    return n === undefined ? last : byId.get(n);
  };
  for (const e of events) {
    const t = num(e.t) ?? 0;
    if (e.type === 'command') {
      const id = num(e.id) ?? null;
      const text = typeof e.text === 'string' ? e.text : '';
      const s: Statement = { t, id, text: text.length > 100_000 ? text.slice(0, 100_000) : text, length: text.length, kind: str(e.kind, 32) ?? '', decision: null, errors: [], masked: 0, notices: [] };
      out.push(s);
      if (id !== null) byId.set(id, s);
      last = s;
    } else if (e.type === 'decision') {
      const s = e.scope === 'session' ? undefined : find(e.command);
      if (!s) continue;
      s.decision = str(e.decision, 32) ?? null;
      const rule = str(e.rule);
      const reason = str(e.reason);
      if (rule) s.rule = rule;
      if (reason) s.reason = reason;
      if (Array.isArray(e.approvedBy)) s.approvedBy = e.approvedBy.slice(0, 32).map((x) => str(x) ?? (x && typeof x === 'object' ? (str((x as Record<string, unknown>).subject) ?? '?') : '?'));
    } else if (e.type === 'result') {
      const s = find(e.command);
      if (!s) continue;
      const columns = Array.isArray(e.columns) ? e.columns.slice(0, MAX_COLS_SHOWN).map((c) => str(c, 256) ?? (c && typeof c === 'object' ? (str((c as Record<string, unknown>).name, 256) ?? '?') : '?')) : [];
      const rows = Array.isArray(e.rows)
        ? e.rows.slice(0, MAX_ROWS_SHOWN).map((r) => (Array.isArray(r) ? r.slice(0, MAX_COLS_SHOWN).map(cell) : [cell(r)]))
        : [];
      const rowCount = num(e.rowCount);
      const rowsOmitted = num(e.rowsOmitted);
      const durationMs = num(e.durationMs);
      s.result = {
        columns,
        rows,
        ...(str(e.tag, 128) ? { tag: str(e.tag, 128)! } : {}),
        ...(str(e.status, 32) ? { status: str(e.status, 32)! } : {}),
        ...(rowCount !== undefined ? { rowCount } : {}),
        ...(rowsOmitted !== undefined ? { rowsOmitted: rowsOmitted + Math.max(0, (Array.isArray(e.rows) ? e.rows.length : 0) - MAX_ROWS_SHOWN) } : {}),
        ...(durationMs !== undefined ? { durationMs } : {}),
      };
    } else if (e.type === 'error') {
      const s = find(e.command);
      if (s && s.errors.length < 50) s.errors.push(`${str(e.code, 32) ? `${str(e.code, 32)} ` : ''}${str(e.message, 4096) ?? ''}`);
    } else if (e.type === 'notice') {
      const s = find(e.command);
      if (s && s.notices.length < 50) s.notices.push(str(e.message, 4096) ?? '');
    } else if (e.type === 'masking') {
      const s = find(e.command);
      const n = num(e.count);
      if (s && n) s.masked += n;
    }
  }
  return out;
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'string') return v.length > 2000 ? v.slice(0, 2000) + '…' : v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  const s = JSON.stringify(v) ?? '';
  return s.length > 2000 ? s.slice(0, 2000) + '…' : s;
}

export { describeRemoved };
