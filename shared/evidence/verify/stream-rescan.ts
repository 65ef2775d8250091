/**
 * The re-scan across event boundaries of one stream: a terminal or exec channel records its bytes as they
 * arrive, so a card number can be split across two `output` (or `input`) events — even across frames —
 * and neither event alone holds it. Per stream (channel, direction, stream name) the last bytes of what it
 * recorded are kept and scanned together with the next event's bytes, in strict mode; a match that crosses
 * the boundary is a finding (one inside either event is the per-event scan's, pan-rescan.ts).
 *
 * Streams are never joined with each other: another channel, output with input, stdout with stderr. An
 * event without `data` (bytes withheld, e.g. typed at a password prompt) breaks its stream: what comes
 * after it did not follow what came before. `channel.close` ends the channel's streams.
 */
import { findCardData, type CardDataMatch } from '../../pan/index.ts';
import type { EvidenceEvent } from '../events.ts';

/** Bytes of a stream kept for the next event: far more than a card number with separators needs. */
const TAIL = 256;

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
      let joined = data;
      if (tail) {
        joined = new Uint8Array(tail.bytes.length + data.length);
        joined.set(tail.bytes);
        joined.set(data, tail.bytes.length);
        const at = tail.bytes.length;
        for (const match of findCardData(joined, { strict: true })) {
          // Crossing the boundary; not starting at a cut tail's first byte (it may be the end of a longer run).
          if (match.start < at && match.end > at && !(tail.cut && match.start === 0)) {
            out.push({ match, input: joined, stream: describe(e) });
          }
        }
      }
      // A kept tail starts where the stream was cut when it is shorter than what it keeps, or began cut.
      const long = joined.length > TAIL;
      this.tails.set(key, { bytes: long ? joined.slice(joined.length - TAIL) : joined.slice(), cut: long || (tail?.cut ?? false) });
    }
    return out;
  }
}

function channelKey(channel: unknown): string {
  return typeof channel === 'number' || typeof channel === 'string' ? String(channel) : '';
}

function describe(e: EvidenceEvent): string {
  const stream = typeof e.stream === 'string' && e.stream !== 'pty' ? ` (${e.stream.slice(0, 16)})` : '';
  const channel = channelKey(e.channel);
  return `${e.type}${stream} events${channel ? ` of channel ${channel.slice(0, 16)}` : ''}`;
}
