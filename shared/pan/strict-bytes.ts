/**
 * Strict mode's lexer over UTF-8 bytes (offsets in bytes): decodes each character (malformed sequences and
 * overlong forms are single OTHER bytes, as a decoder's U+FFFD would be), classifies it with the BMP table and
 * feeds strict-chain.ts. While no chain is open, a tight loop skips bytes that cannot start a digit.
 */
import { BMP_CLASS, ESCAPE, escapeClass, OTHER } from './strict-classes.ts';
import { GROUP, IDLE, StrictChain, STRICT_RULES, type AsciiView, type StrictInput, type StrictRules } from './strict-chain.ts';
import { astralDigitValue, decimalDigitRuns } from './unicode-digits.ts';
import type { CardDataMatch } from './types.ts';

/** Bytes are their own ASCII view: every byte ≥ 0x80 is no ASCII character to the rules. */
class BytesInput implements StrictInput {
  private readonly v: AsciiView = { w: new Uint8Array(0), n: 0, base: 0 };

  set(b: Uint8Array): void {
    this.v.w = b;
    this.v.n = b.length;
  }

  view(): AsciiView {
    return this.v;
  }
}

const chain = new StrictChain();
const input = new BytesInput();

/** Code point of the UTF-8 sequence at b[p] (lead ≥ 0x80), and its length in `decodedLength`; -1 if malformed. */
let decodedLength = 1;
export function decodeAt(b: Uint8Array, p: number): number {
  const c = b[p]!;
  const n = b.length;
  decodedLength = 1;
  if (c < 0xc2 || c > 0xf4) return -1;
  const b1 = p + 1 < n ? b[p + 1]! : 0;
  if ((b1 & 0xc0) !== 0x80) return -1;
  if (c < 0xe0) {
    decodedLength = 2;
    return ((c & 0x1f) << 6) | (b1 & 0x3f);
  }
  const b2 = p + 2 < n ? b[p + 2]! : 0;
  if ((b2 & 0xc0) !== 0x80) return -1;
  if (c < 0xf0) {
    const cp = ((c & 0x0f) << 12) | ((b1 & 0x3f) << 6) | (b2 & 0x3f);
    if (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)) return -1;
    decodedLength = 3;
    return cp;
  }
  const b3 = p + 3 < n ? b[p + 3]! : 0;
  if ((b3 & 0xc0) !== 0x80) return -1;
  const cp = ((c & 0x07) << 18) | ((b1 & 0x3f) << 12) | ((b2 & 0x3f) << 6) | (b3 & 0x3f);
  if (cp < 0x10000 || cp > 0x10ffff) return -1;
  decodedLength = 4;
  return cp;
}

/** Length of the sequence the last decodeAt call read (1 when it was malformed). */
export function lastDecodedLength(): number {
  return decodedLength;
}

/** Strict class of the character at b[p] (lead ≥ 0x80); its length in lastDecodedLength(). */
export function classAt(b: Uint8Array, p: number): number {
  const cp = decodeAt(b, p);
  if (cp < 0) return OTHER;
  if (cp <= 0xffff) return BMP_CLASS[cp]!;
  const v = astralDigitValue(cp);
  return v < 0 ? OTHER : v;
}

/**
 * Bytes ≥ 0x80 that can start a UTF-8 sequence of a digit: lead bytes whose code point range holds one.
 * While no chain is open a non-digit does nothing, so every other byte (continuation bytes, leads of ranges
 * without digits, bytes that never start a valid sequence) is skipped one at a time — the same outcome as
 * decoding it, since the continuation bytes after a skipped lead are skipped too. Random binary data
 * (a download, an archive) would otherwise be decoded character by character.
 */
export const LEAD_MAY_START_DIGIT = (() => {
  const t = new Uint8Array(256);
  const anyDigit = (from: number, to: number) => {
    for (let cp = from; cp <= to; cp++) if (BMP_CLASS[cp]! <= 9) return true;
    return false;
  };
  for (let c = 0xc2; c <= 0xdf; c++) t[c] = anyDigit((c & 0x1f) << 6, ((c & 0x1f) << 6) | 0x3f) ? 1 : 0;
  for (let c = 0xe0; c <= 0xef; c++) t[c] = anyDigit(Math.max(0x800, (c & 0x0f) << 12), ((c & 0x0f) << 12) | 0xfff) ? 1 : 0;
  for (const [zero, count] of decimalDigitRuns()) for (let cp = Math.max(zero, 0x10000); cp < zero + count; cp++) t[0xf0 | (cp >> 18)] = 1;
  return t;
})();

/**
 * Whether `b` holds a byte that may start a digit (an ASCII digit, or a UTF-8 lead byte whose range holds
 * one). Without one there is no card number, track or security code to find: every masker returns such
 * bytes unchanged, so a stream of them (bulk output, /dev/zero) can skip the scans.
 */
export function mayHoldDigit(b: Uint8Array): boolean {
  const n = b.length;
  let p = 0;
  const head = Math.min(n, (4 - (b.byteOffset & 3)) & 3);
  for (; p < head; p++) if (byteMayStartDigit(b[p]!)) return true;
  // Four bytes at a time (bulk output is mostly bytes that cannot start a digit): a word of ASCII bytes
  // holds a digit iff one of its bytes is in 0x30..0x39 ("has a byte between m and n", bit twiddling hacks).
  const words = (n - p) >>> 2;
  if (words > 0) {
    const w = new Uint32Array(b.buffer, b.byteOffset + p, words);
    for (let i = 0; i < words; i++) {
      const x = w[i]!;
      if ((x & 0x80808080) !== 0) {
        const q = p + i * 4;
        if (byteMayStartDigit(b[q]!) || byteMayStartDigit(b[q + 1]!) || byteMayStartDigit(b[q + 2]!) || byteMayStartDigit(b[q + 3]!)) return true;
      } else if (((0xb9b9b9b9 - x) & ~x & (x + 0x50505050) & 0x80808080) !== 0) return true;
    }
    p += words * 4;
  }
  for (; p < n; p++) if (byteMayStartDigit(b[p]!)) return true;
  return false;
}

function byteMayStartDigit(c: number): boolean {
  return c < 0x80 ? c - 0x30 >>> 0 <= 9 : LEAD_MAY_START_DIGIT[c] !== 0;
}

/** Appends every strict match to `out`; with `stopAtFirst`, returns at the first. Whether there was one. */
export function scanBytesStrict(b: Uint8Array, out: CardDataMatch[], stopAtFirst: boolean, rules: StrictRules = STRICT_RULES): boolean {
  input.set(b);
  chain.reset(out, input, rules);
  scan(b, out, stopAtFirst);
  input.set(EMPTY);
  return out.length !== 0;
}

function scan(b: Uint8Array, out: CardDataMatch[], stopAtFirst: boolean): void {
  const n = b.length;
  let p = 0;
  while (p < n) {
    let c = b[p]!;
    if (chain.state === IDLE) {
      while (c < 0x80 ? c - 0x30 >>> 0 > 9 : LEAD_MAY_START_DIGIT[c] === 0) {
        if (++p === n) break;
        c = b[p]!;
      }
      if (p === n) break;
    }
    let q = p + 1;
    let cls: number;
    if (c < 0x80) cls = BMP_CLASS[c]!;
    else {
      cls = classAt(b, p);
      q = p + decodedLength;
    }
    if (cls <= 9) chain.digit(cls, p, q, c < 0x80);
    else if (cls === OTHER) {
      if ((c | 0x20) === 0x65 && chain.state === GROUP) chain.exponent(exponentAt(b, q), exponentEnd(b, q));
      else chain.other();
    } else if (cls === ESCAPE) {
      const e = q < n ? escapeClass(b[q]!) : 0;
      if (e === 0) chain.separator(0x5c);
      else {
        chain.separator(e);
        q++;
      }
    } else chain.separator(cls);
    p = q;
    if (stopAtFirst && out.length !== 0) return;
  }
  chain.other();
}

const EMPTY = new Uint8Array(0);

/** The exponent written at b[q…] after an 'e': optional '+', 1–3 ASCII digits; -1 when there is none. */
export function exponentAt(b: Uint8Array, q: number): number {
  const n = b.length;
  let k = q < n && b[q] === 0x2b ? q + 1 : q;
  const from = k;
  let v = 0;
  for (; k < n && b[k]! >= 0x30 && b[k]! <= 0x39; k++) {
    if (k - from === 3) return -1;
    v = v * 10 + b[k]! - 0x30;
  }
  return k === from ? -1 : v;
}

/** Where the exponent written at b[q…] ends (q when there is none). */
export function exponentEnd(b: Uint8Array, q: number): number {
  let k = q < b.length && b[q] === 0x2b ? q + 1 : q;
  while (k < b.length && b[k]! >= 0x30 && b[k]! <= 0x39) k++;
  return k;
}
