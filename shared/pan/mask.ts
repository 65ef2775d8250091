/**
 * Masking in the one display format PCI.md fixes (first 6 + last 4), so that two truncations of the same PAN
 * can never be combined into more digits. Separators keep their places; track data is replaced whole, since
 * every part of it is sensitive authentication data (PCI DSS 3.3.1).
 */
import { isDigit } from './chars.ts';
import { scanBytes } from './scan-bytes.ts';
import { scanText } from './scan-text.ts';
import { maskBytesStrict, maskTextStrict } from './strict-mask.ts';
import type { CardDataMatch, CardDataOptions } from './types.ts';

export const TRACK_REDACTION = '[REDACTED TRACK DATA]';
const TRACK_REDACTION_BYTES = Uint8Array.from(TRACK_REDACTION, (ch) => ch.charCodeAt(0));
const STAR = 0x2a;
const KEEP_FIRST = 6;
const KEEP_LAST = 4;

/** '4111111111111111' → '411111******1111'. Throws on anything but 12–19 ASCII digits. */
export function maskPanDigits(digits: string): string {
  if (!/^[0-9]{12,19}$/.test(digits)) throw new TypeError('maskPanDigits expects 12 to 19 digits');
  return digits.slice(0, KEEP_FIRST) + '*'.repeat(digits.length - KEEP_FIRST - KEEP_LAST) + digits.slice(-KEEP_LAST);
}

/** Masks the digits of a matched PAN (separators included) between the first 6 and the last 4. */
function maskPanText(pan: string): string {
  let count = 0;
  for (let k = 0; k < pan.length; k++) if (isDigit(pan.charCodeAt(k))) count++;
  let out = '';
  let seen = 0;
  for (let k = 0; k < pan.length; k++) {
    const ch = pan[k]!;
    if (!isDigit(pan.charCodeAt(k))) {
      out += ch;
      continue;
    }
    const index = seen++;
    out += index >= KEEP_FIRST && index < count - KEEP_LAST ? '*' : ch;
  }
  return out;
}

/** Masks every PAN and redacts every track; the same string instance comes back when there is nothing. */
export function maskCardData(input: string, opts?: CardDataOptions): { text: string; masked: number } {
  if (opts?.strict === true) return maskTextStrict(input, TRACK_REDACTION);
  const matches: CardDataMatch[] = [];
  if (!scanText(input, matches)) return { text: input, masked: 0 };
  let text = '';
  let from = 0;
  for (const m of matches) {
    text += input.slice(from, m.start);
    text += m.kind === 'pan' ? maskPanText(input.slice(m.start, m.end)) : TRACK_REDACTION;
    from = m.end;
  }
  return { text: text + input.slice(from), masked: matches.length };
}

/** maskCardData for UTF-8 bytes; the input is never modified and comes back as is when there is nothing. */
export function maskCardDataBytes(input: Uint8Array, opts?: CardDataOptions): { bytes: Uint8Array; masked: number } {
  if (opts?.strict === true) return maskBytesStrict(input, TRACK_REDACTION_BYTES);
  const matches: CardDataMatch[] = [];
  if (!scanBytes(input, matches)) return { bytes: input, masked: 0 };
  let size = input.length;
  for (const m of matches) if (m.kind !== 'pan') size += TRACK_REDACTION_BYTES.length - (m.end - m.start);
  const out = new Uint8Array(size);
  let from = 0;
  let o = 0;
  for (const m of matches) {
    out.set(input.subarray(from, m.start), o);
    o += m.start - from;
    if (m.kind === 'pan') {
      out.set(input.subarray(m.start, m.end), o);
      maskPanInPlace(out, o, o + m.end - m.start);
      o += m.end - m.start;
    } else {
      out.set(TRACK_REDACTION_BYTES, o);
      o += TRACK_REDACTION_BYTES.length;
    }
    from = m.end;
  }
  out.set(input.subarray(from), o);
  return { bytes: out, masked: matches.length };
}

function maskPanInPlace(b: Uint8Array, from: number, to: number): void {
  let count = 0;
  for (let k = from; k < to; k++) if (isDigit(b[k]!)) count++;
  let seen = 0;
  for (let k = from; k < to; k++) {
    if (!isDigit(b[k]!)) continue;
    if (seen >= KEEP_FIRST && seen < count - KEEP_LAST) b[k] = STAR;
    seen++;
  }
}
