/**
 * Replay of one SSH channel: its output (stdout and stderr as the client's terminal showed them, or the
 * pty stream) filtered of control strings, at the size recorded in channel.open's `pty` and then each
 * `resize`, on the session's clock (so the playhead's time is the session's time); markers for every
 * command of the session, with blocked, held and approved ones marked; and the asciicast of the channel.
 */
import type { EvidenceEvent } from '../../../shared/evidence/events.ts';
import { num, str } from './digest.ts';
import type { Marker, TerminalTrack } from './replay.ts';
import type { CastMeta } from './asciicast.ts';
import { TerminalFilter, describeRemoved } from './terminal-filter.ts';
import type { SshCommand } from './ssh.ts';

export interface Resize {
  /** Applies before chunk `index` (so after chunks [0, index)). */
  index: number;
  t: number;
  cols: number;
  rows: number;
}

export interface ChannelTrack extends TerminalTrack {
  resizes: Resize[];
  /** Whether the channel had a terminal (a pty): without one, bare line feeds are shown as new lines. */
  pty: boolean;
}

const DEFAULT_COLS = 80;
const DEFAULT_ROWS = 24;

function clamp(v: number | undefined, min: number, max: number): number | undefined {
  return v === undefined ? undefined : Math.min(max, Math.max(min, Math.round(v)));
}

/** Calls `fn` with each event and the key (sshChannels' index) of the channel it belongs to, or null. */
export function forEachOnChannel(events: readonly EvidenceEvent[], fn: (e: EvidenceEvent, key: number | null) => void): void {
  const open = new Map<number, number>();
  let opened = 0;
  for (const e of events) {
    const ch = num(e.channel);
    if (e.type === 'channel.open' && ch !== undefined) {
      open.set(ch, opened++);
      fn(e, open.get(ch)!);
      continue;
    }
    const key = ch === undefined ? null : (open.get(ch) ?? null);
    fn(e, key);
    if (e.type === 'channel.close' && ch !== undefined) open.delete(ch);
  }
}

/** Bare LF → CRLF: an exec without a pty writes `\n` only, which a terminal would not return to column 0. */
class NewlineFix {
  private lastCr = false;
  push(b: Uint8Array): Uint8Array {
    const prevCr = this.lastCr;
    const bare = (i: number) => b[i] === 0x0a && !(i === 0 ? prevCr : b[i - 1] === 0x0d);
    let extra = 0;
    for (let i = 0; i < b.length; i++) if (bare(i)) extra++;
    if (b.length) this.lastCr = b[b.length - 1] === 0x0d;
    if (extra === 0) return b;
    const out = new Uint8Array(b.length + extra);
    let o = 0;
    for (let i = 0; i < b.length; i++) {
      if (bare(i)) out[o++] = 0x0d;
      out[o++] = b[i]!;
    }
    return out;
  }
}

/** Session duration as the replay's timeline: the greatest `t` recorded. */
export function sessionDuration(events: readonly EvidenceEvent[]): number {
  let last = 0;
  for (const e of events) last = Math.max(last, num(e.t) ?? 0);
  return last;
}

export function channelTrack(events: readonly EvidenceEvent[], key: number, commands: readonly SshCommand[] = []): ChannelTrack {
  let cols = DEFAULT_COLS;
  let rows = DEFAULT_ROWS;
  let term = 'xterm-256color';
  let pty = false;
  const times: number[] = [];
  const chunks: Uint8Array[] = [];
  const offsets: number[] = [0];
  const resizes: Resize[] = [];
  const filter = new TerminalFilter();
  const nl = new NewlineFix();
  let last = 0;
  let total = 0;
  let cur = { cols, rows };
  forEachOnChannel(events, (e, k) => {
    const t = Math.max(last, num(e.t) ?? last);
    last = t;
    if (k !== key) return;
    if (e.type === 'channel.open' && e.pty && typeof e.pty === 'object') {
      const p = e.pty as Record<string, unknown>;
      pty = true;
      cols = clamp(num(p.cols), 10, 500) ?? cols;
      rows = clamp(num(p.rows), 4, 200) ?? rows;
      term = str(p.term, 64) ?? term;
      cur = { cols, rows };
    } else if (e.type === 'resize') {
      const c = clamp(num(e.cols), 10, 500);
      const r = clamp(num(e.rows), 4, 200);
      if (c === undefined || r === undefined || (c === cur.cols && r === cur.rows)) return;
      cur = { cols: c, rows: r };
      resizes.push({ index: chunks.length, t, cols: c, rows: r });
    } else if (e.type === 'output' && e.data) {
      let safe = filter.push(e.data);
      if (!pty) safe = nl.push(safe);
      if (safe.length === 0) return;
      times.push(t);
      chunks.push(safe);
      total += safe.length;
      offsets.push(total);
    }
  });
  const tail = filter.flush();
  if (tail.length) {
    times.push(last);
    chunks.push(pty ? tail : nl.push(tail));
    total += chunks[chunks.length - 1]!.length;
    offsets.push(total);
  }
  return { cols, rows, term, times, chunks, offsets, duration: last, markers: commandMarkers(commands), neutralised: describeRemoved(filter), resizes, pty };
}

/** Terminal size after the chunks [0, index) and the resizes before chunk `index`. */
export function sizeAt(track: Pick<ChannelTrack, 'cols' | 'rows' | 'resizes'>, index: number): { cols: number; rows: number } {
  let s = { cols: track.cols, rows: track.rows };
  for (const r of track.resizes) if (r.index <= index) s = { cols: r.cols, rows: r.rows };
  return s;
}

const MARK_LABEL: Record<string, string> = { blocked: 'Blocked', denied: 'Denied', held: 'Held for approval', approved: 'Approved', expired: 'Approval expired', allowed: 'Allowed', undecided: 'No decision' };

/** One marker per command (its kind says blocked / held / approved), plus one when a held command was approved. */
export function commandMarkers(commands: readonly SshCommand[]): Marker[] {
  const out: Marker[] = [];
  for (const c of commands) {
    const label = `${MARK_LABEL[c.mark] ?? c.mark}: ${c.text || '(command)'}${c.channel !== null ? ` (channel ${c.channel})` : ''}${c.reason && c.mark !== 'approved' ? ` — ${c.reason}` : ''}`;
    const kind: Marker['kind'] = c.mark === 'blocked' || c.mark === 'denied' || c.mark === 'expired' ? 'block' : c.held ? 'held' : 'command';
    out.push({ t: c.t, kind, label });
    if (c.held && c.decidedT !== undefined && c.mark === 'approved') out.push({ t: c.decidedT, kind: 'approval', label: `Approved by ${(c.approvedBy ?? []).join(', ') || '?'}: ${c.text}` });
  }
  return out.sort((a, b) => a.t - b.t);
}

/**
 * The command current at time t: the last one received at or before it (-1 before the first); with
 * `channelKey`, the last one of that channel, so the list agrees with the terminal shown.
 */
export function currentCommand(commands: readonly SshCommand[], t: number, channelKey?: number): number {
  let idx = -1;
  for (let i = 0; i < commands.length; i++) if (commands[i]!.t <= t && (channelKey === undefined || commands[i]!.channelKey === channelKey)) idx = i;
  return idx;
}

/**
 * asciicast v2 of one channel: `o` events for its output (filtered as in the app, line feeds as the
 * client's terminal showed them), `r` events for its resizes, at the session's times.
 */
export function channelAsciicast(events: readonly EvidenceEvent[], key: number, meta: CastMeta & { channel: number; command?: string }): string {
  const track = channelTrack(events, key);
  const decoder = new TextDecoder('utf-8', { fatal: false });
  const lines: string[] = [];
  let ri = 0;
  const sec = (t: number) => Number((t / 1000).toFixed(6));
  for (let i = 0; i < track.chunks.length; i++) {
    while (ri < track.resizes.length && track.resizes[ri]!.index <= i) {
      const r = track.resizes[ri++]!;
      lines.push(JSON.stringify([sec(r.t), 'r', `${r.cols}x${r.rows}`]));
    }
    const text = decoder.decode(track.chunks[i], { stream: true });
    if (text) lines.push(JSON.stringify([sec(track.times[i]!), 'o', text]));
  }
  const end = track.times.length ? track.times[track.times.length - 1]! : 0;
  for (; ri < track.resizes.length; ri++) {
    const r = track.resizes[ri]!;
    lines.push(JSON.stringify([sec(r.t), 'r', `${r.cols}x${r.rows}`]));
  }
  const tail = decoder.decode();
  if (tail) lines.push(JSON.stringify([sec(end), 'o', tail]));
  const start = meta.startedAt ? Date.parse(meta.startedAt) : NaN;
  const what = meta.command ? `: ${meta.command.slice(0, 120)}` : '';
  const title = `Vigil session #${meta.seq ?? '?'} channel ${meta.channel}${what} ${meta.identity ?? ''} → ${meta.target ?? ''}${track.neutralised ? ` (${track.neutralised})` : ''}`.replace(/\s+/g, ' ').trim();
  const header = {
    version: 2,
    width: track.cols,
    height: track.rows,
    ...(Number.isFinite(start) ? { timestamp: Math.floor(start / 1000) } : {}),
    duration: sec(Math.max(end, track.resizes.length ? track.resizes[track.resizes.length - 1]!.t : 0)),
    title,
    env: { TERM: track.term.replace(/[^\w.+-]/g, '') },
    vigil: {
      session_id: meta.sessionId,
      channel: meta.channel,
      bundle_file: meta.evidence?.fileName ?? null,
      bundle_sha256: meta.evidence?.sha256 ?? null,
      verification: meta.evidence?.result ?? null,
    },
  };
  return [JSON.stringify(header), ...lines].join('\n') + '\n';
}

export function channelCastFileName(seq: number | null, sessionId: string, channel: number, key: number): string {
  return `session-${seq ?? 'x'}-${sessionId.replace(/[^0-9a-zA-Z-]/g, '').slice(0, 36)}-channel-${channel}${key !== channel ? `-${key}` : ''}.cast`;
}
