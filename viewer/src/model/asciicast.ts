/**
 * asciicast v2 (https://docs.asciinema.org/manual/asciicast/v2/) for a terminal session: a JSON header
 * line, then one `[seconds, "o", text]` line per output event. Output passes the same control-string
 * filter as the in-app replay, so playing the file in a real terminal cannot write the clipboard, set
 * the title or plant hyperlinks; the header's title says so when something was removed.
 */
import type { EvidenceEvent } from '../../../shared/evidence/events.ts';
import { num, str } from './digest.ts';
import { TerminalFilter, describeRemoved } from './terminal-filter.ts';
import type { EvidenceStamp } from './evidence-id.ts';

export interface CastMeta {
  seq: number | null;
  sessionId: string;
  startedAt?: string;
  identity?: string;
  target?: string;
  /** The bundle this replay comes from: its SHA-256 and result go into the header. */
  evidence?: EvidenceStamp;
}

export function asciicast(events: readonly EvidenceEvent[], meta: CastMeta): string {
  let cols = 80;
  let rows = 24;
  let term = 'xterm-256color';
  for (const e of events) {
    if (e.type === 'session.open' && e.pty && typeof e.pty === 'object') {
      const p = e.pty as Record<string, unknown>;
      cols = Math.min(500, Math.max(10, Math.round(num(p.cols) ?? cols)));
      rows = Math.min(200, Math.max(4, Math.round(num(p.rows) ?? rows)));
      term = (str(p.term, 64) ?? term).replace(/[^\w.+-]/g, '');
      break;
    }
  }
  const filter = new TerminalFilter();
  const decoder = new TextDecoder('utf-8', { fatal: false });
  const lines: string[] = [];
  let last = 0;
  for (const e of events) {
    if ((e.type !== 'output' && e.type !== 'input') || !e.data) continue;
    if (e.type === 'input') continue; // keystrokes are recorded as commands; the cast shows what the screen showed
    const t = Math.max(last, num(e.t) ?? last);
    last = t;
    const text = decoder.decode(filter.push(e.data), { stream: true });
    if (text) lines.push(JSON.stringify([Number((t / 1000).toFixed(6)), 'o', text]));
  }
  const tail = decoder.decode(filter.flush());
  if (tail) lines.push(JSON.stringify([Number((last / 1000).toFixed(6)), 'o', tail]));
  const removed = describeRemoved(filter);
  const start = meta.startedAt ? Date.parse(meta.startedAt) : NaN;
  const title = `Vigil session #${meta.seq ?? '?'} ${meta.identity ?? ''} → ${meta.target ?? ''}${removed ? ` (${removed})` : ''}`.replace(/\s+/g, ' ').trim();
  const header = {
    version: 2,
    width: cols,
    height: rows,
    ...(Number.isFinite(start) ? { timestamp: Math.floor(start / 1000) } : {}),
    duration: Number((last / 1000).toFixed(6)),
    title,
    env: { TERM: term },
    // Ties the replay to its evidence (players ignore keys they do not know; asciicast v2 allows them).
    vigil: castEvidence(meta),
  };
  return [JSON.stringify(header), ...lines].join('\n') + '\n';
}

function castEvidence(meta: CastMeta) {
  const e = meta.evidence;
  return {
    session_id: meta.sessionId,
    bundle_file: e?.fileName ?? null,
    bundle_sha256: e?.sha256 ?? null,
    verification: e?.result ?? null,
  };
}

export function castFileName(seq: number | null, sessionId: string): string {
  return `session-${seq ?? 'x'}-${sessionId.replace(/[^0-9a-zA-Z-]/g, '').slice(0, 36)}.cast`;
}
