/**
 * The re-scan across event boundaries of one stream: a terminal or exec channel records its bytes as they
 * arrive, so a card number can be split across two `output` (or `input`) events — even across frames —
 * and neither event alone holds it. Per stream (channel, direction, stream name) the last bytes of what it
 * recorded are kept and scanned together with the next event's bytes, in strict mode; a match that crosses
 * the boundary is a finding (one inside either event is the per-event scan's, pan-rescan.ts).
 *
 * Each byte is strict-scanned once for itself (pan-rescan.ts, per event) and, near a boundary, once more here:
 * only the kept tail and the head of the next event's bytes are joined (boundaryWindow), never the whole event.
 *
 * Streams are never joined with each other: another channel, output with input, stdout with stderr. An
 * event without `data` (bytes withheld, e.g. typed at a password prompt) breaks its stream: what comes
 * after it did not follow what came before. `channel.close` ends the channel's streams.
 */
import { findCardData, type CardDataMatch } from '../../pan/index.ts';
import { BMP_CLASS, OTHER } from '../../pan/strict-classes.ts';
import type { EvidenceEvent } from '../events.ts';

/** Bytes of a stream kept for the next event: far more than a card number with separators needs. */
const TAIL = 256;
/**
 * How far into the next event's bytes the joined scan reaches at least: a match that crosses the boundary
 * starts in the tail, and it ends within a track's length of its start (79 characters, at most 316 bytes).
 */
const HEAD = 512;

export interface StreamFinding {
  match: CardDataMatch;
  /** The joined bytes (tail + the event's data) the match indexes into. */
  input: Uint8Array;
  /** Which stream, in words: "output events of channel 1", "input events" (no channel recorded). */
  stream: string;
}

export class StreamRescan {
  private readonly tails = new Map<string, { bytes: Uint8Array; cut: boolean }>();

  /** Feeds a frame's events in order; returns the matches that cross an event boundary. */
  add(events: readonly EvidenceEvent[]): StreamFinding[] {
    const out: StreamFinding[] = [];
    for (const e of events) {
      if (e.type === 'channel.close') {
        const prefix = `${channelKey(e.channel)}|`;
        for (const k of [...this.tails.keys()]) if (k.startsWith(prefix)) this.tails.delete(k);
        continue;
      }
      if (e.type !== 'output' && e.type !== 'input') continue;
      const key = `${channelKey(e.channel)}|${e.type}|${typeof e.stream === 'string' ? e.stream : ''}`;
      const data = e.data;
      if (!data || data.length === 0) {
        if (!data) this.tails.delete(key);
        continue;
      }
      const tail = this.tails.get(key);
      if (tail) {
        const at = tail.bytes.length;
        const end = boundaryWindow(data);
        const joined = new Uint8Array(at + end);
        joined.set(tail.bytes);
        joined.set(end === data.length ? data : data.subarray(0, end), at);
        for (const match of findCardData(joined, { strict: true })) {
          // Crossing the boundary; not starting at a cut tail's first byte (it may be the end of a longer run).
          if (match.start < at && match.end > at && !(tail.cut && match.start === 0)) {
            out.push({ match, input: joined, stream: describe(e) });
          }
        }
      }
      // The last TAIL bytes of the stream: cut when that is less than what it recorded, or the tail began cut.
      const kept = (tail?.bytes.length ?? 0) + data.length;
      let bytes: Uint8Array;
      if (data.length >= TAIL) bytes = data.slice(data.length - TAIL);
      else {
        bytes = new Uint8Array(Math.min(TAIL, kept));
        const fromTail = bytes.length - data.length;
        if (tail && fromTail > 0) bytes.set(tail.bytes.subarray(tail.bytes.length - fromTail));
        bytes.set(data, fromTail);
      }
      this.tails.set(key, { bytes, cut: kept > TAIL || (tail?.cut ?? false) });
    }
    return out;
  }
}

/**
 * Where the joined scan may stop in the next event's bytes: the first offset from HEAD on that follows a
 * character ending every chain of digit groups (strict-chain.ts) — an ASCII byte of class OTHER that is no
 * 'e'/'E' (a float's exponent may follow it) and not escaped by a '\\' before it — so the strict scan of
 * tail + data[0, end) finds exactly the crossing matches the scan of tail + data finds; else all of it.
 */
export function boundaryWindow(data: Uint8Array): number {
  for (let p = HEAD; p < data.length; p++) {
    const c = data[p - 1]!;
    if (c < 0x80 && BMP_CLASS[c] === OTHER && (c | 0x20) !== 0x65 && data[p - 2] !== 0x5c) return p;
  }
  return data.length;
}

function channelKey(channel: unknown): string {
  return typeof channel === 'number' || typeof channel === 'string' ? String(channel) : '';
}

function describe(e: EvidenceEvent): string {
  const stream = typeof e.stream === 'string' && e.stream !== 'pty' ? ` (${e.stream.slice(0, 16)})` : '';
  const channel = channelKey(e.channel);
  return `${e.type}${stream} events${channel ? ` of channel ${channel.slice(0, 16)}` : ''}`;
}
