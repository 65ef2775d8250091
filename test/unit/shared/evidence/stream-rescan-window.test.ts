/**
 * The stream re-scan joins a stream's kept tail with only the head of the next event's bytes (up to a
 * character that ends every chain, past HEAD). It must find exactly what joining the whole event finds:
 * checked against that reference (the re-scan as it was before, kept here) on generated streams dense in
 * digits, separators, escapes, float exponents and tracks, with card numbers split anywhere.
 */
import { describe, expect, it } from 'vitest';
import { utf8 } from '../../../../shared/bytes.ts';
import type { EvidenceEvent } from '../../../../shared/evidence/events.ts';
import { findCardData } from '../../../../shared/pan/index.ts';
import { boundaryWindow, StreamRescan } from '../../../../shared/evidence/verify/stream-rescan.ts';

/** The whole-event join: tail + all of the event's bytes, scanned in strict mode. */
class ReferenceRescan {
  private readonly tails = new Map<string, { bytes: Uint8Array; cut: boolean }>();
  add(events: readonly EvidenceEvent[]): { start: number; end: number; kind: string }[] {
    const out: { start: number; end: number; kind: string }[] = [];
    for (const e of events) {
      const key = `${String(e.channel)}|${e.type}`;
      const data = e.data!;
      const tail = this.tails.get(key);
      let joined = data;
      if (tail) {
        joined = new Uint8Array(tail.bytes.length + data.length);
        joined.set(tail.bytes);
        joined.set(data, tail.bytes.length);
        const at = tail.bytes.length;
        for (const m of findCardData(joined, { strict: true })) {
          if (m.start < at && m.end > at && !(tail.cut && m.start === 0)) out.push({ start: m.start, end: m.end, kind: m.kind });
        }
      }
      const long = joined.length > 256;
      this.tails.set(key, { bytes: long ? joined.slice(joined.length - 256) : joined.slice(), cut: long || (tail?.cut ?? false) });
    }
    return out;
  }
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const CARD_TEXTS = [
  '4111111111111111',
  '4111 1111 1111 1111',
  '5555-5555-5555-4444',
  ';4111111111111111=29121010000000000000?',
  '%B4111111111111111^DOE/JOHN Q^2912101000000000000000?',
  '4.111111111111111e+15',
  '378282246310005',
  '\\n4111111111111111\\t',
];
const NOISE = ['0', '1', '7', '9', ' ', '-', '.', '=', '^', 'e', 'E', '\\', 'n', 'x', 'B', '/', '\n', '\t', '+', '  ', 'é', '٤'];

function stream(r: () => number, length: number): string {
  let s = '';
  while (s.length < length) {
    const x = r();
    if (x < 0.04) s += CARD_TEXTS[Math.floor(r() * CARD_TEXTS.length)];
    else if (x < 0.1) s += 'log line '.repeat(1 + Math.floor(r() * 80));
    else s += NOISE[Math.floor(r() * NOISE.length)];
  }
  return s;
}

describe('StreamRescan boundary window', () => {
  it('finds exactly what joining the whole next event finds', () => {
    let compared = 0;
    let crossing = 0;
    for (let seed = 1; seed <= 150; seed++) {
      const r = rng(seed);
      const bytes = utf8(stream(r, 8000));
      const windowed = new StreamRescan();
      const reference = new ReferenceRescan();
      let seq = 0;
      for (let o = 0; o < bytes.length; ) {
        // Event sizes from a byte to past HEAD: cuts land inside card numbers, tracks, escapes and exponents.
        const n = Math.min(bytes.length - o, r() < 0.5 ? 1 + Math.floor(r() * 40) : 300 + Math.floor(r() * 1500));
        const ev: EvidenceEvent = { seq: seq++, t: 0, type: 'output', channel: 1, stream: 'pty', data: bytes.subarray(o, o + n) };
        o += n;
        const want = reference.add([ev]);
        const got = windowed.add([ev]).map((f) => ({ start: f.match.start, end: f.match.end, kind: f.match.kind }));
        expect(got).toEqual(want);
        compared++;
        crossing += want.length;
      }
    }
    // The generated streams do split card numbers (a comparison of empty lists only would prove nothing).
    expect(compared).toBeGreaterThan(1000);
    expect(crossing).toBeGreaterThan(50);
  });

  it('stops after a chain-ending character past the head, never after an exponent letter or an escape', () => {
    const head = 'x'.repeat(511);
    expect(boundaryWindow(utf8(`${head}yz`))).toBe(512);
    expect(boundaryWindow(utf8(`${head}ez`))).toBe(513);
    expect(boundaryWindow(utf8(`${'x'.repeat(510)}\\nz`))).toBe(513);
    expect(boundaryWindow(utf8(`${head}1 2 3`))).toBe(516);
    expect(boundaryWindow(utf8('4111 1111'))).toBe(9);
  });
});
