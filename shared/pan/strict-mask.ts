/**
 * Masking of strict matches, in the display format of mask.ts: the first 6 and the last 4 digits of a match are
 * kept as written, every other digit character becomes one '*' (a non-ASCII digit is several bytes, or two UTF-16
 * code units in the supplementary planes, so the output can be shorter), everything between digits stays.
 * A float match (`3.5301113333e+15`) counts the zeros its exponent implies as its last digits; when some of
 * them fall where '*' goes, the match holds the exponent and its digits become '*' too (`6.304e+**`).
 * Masking runs again on its own output until nothing is found, so that masking masked output finds nothing: the
 * '*'s end a digit run, and a PAN glued to other digits can leave a new anchored window before them (3 of the
 * 2 045 values strict mode masks in the measured corpora needed a second pass).
 */
import { classAt, exponentAt as exponentInBytes, lastDecodedLength, scanBytesStrict } from './strict-bytes.ts';
import { BMP_CLASS } from './strict-classes.ts';
import { exponentAt as exponentInText, scanTextStrict } from './strict-text.ts';
import { astralDigitValue } from './unicode-digits.ts';
import type { CardDataMatch } from './types.ts';

const KEEP_FIRST = 6;
const KEEP_LAST = 4;
const STAR = 0x2a;
const MAX_PASSES = 8;

const isSurrogatePair = (hi: number, lo: number) => hi >= 0xd800 && hi <= 0xdbff && lo >= 0xdc00 && lo <= 0xdfff;

/** Digit value of the character at t[k] (-1 if none) and its length in code units. */
function textDigitAt(t: string, k: number): [number, number] {
  const c = t.charCodeAt(k);
  const lo = t.charCodeAt(k + 1);
  if (isSurrogatePair(c, lo)) return [astralDigitValue(((c - 0xd800) << 10) + (lo - 0xdc00) + 0x10000), 2];
  const cls = BMP_CLASS[c]!;
  return [cls <= 9 ? cls : -1, 1];
}

/** Digit value of the character at b[k] (-1 if none) and its length in bytes. */
function bytesDigitAt(b: Uint8Array, k: number): [number, number] {
  const c = b[k]!;
  if (c < 0x80) return [c >= 0x30 && c <= 0x39 ? c - 0x30 : -1, 1];
  const cls = classAt(b, k);
  return [cls <= 9 ? cls : -1, lastDecodedLength()];
}

/** What a PAN match stands for: its written digits, all its digits with a float's implied zeros, its exponent. */
interface Shape {
  written: number;
  total: number;
  /** Offset of the 'e' of a float exponent inside the match, or -1. */
  expAt: number;
}

function isE(c: number | undefined): boolean {
  return c === 0x65 || c === 0x45;
}

function shapeOf(input: string | Uint8Array, m: CardDataMatch): Shape {
  const text = typeof input === 'string';
  let written = 0;
  let expAt = -1;
  for (let k = m.start; k < m.end; ) {
    const [v, len] = text ? textDigitAt(input, k) : bytesDigitAt(input, k);
    if (v >= 0) written++;
    else if (written > 0 && isE(text ? input.charCodeAt(k) : input[k])) {
      expAt = k;
      break;
    }
    k += len;
  }
  const e = expAt >= 0 ? expAt : m.end;
  let total = written;
  if (isE(text ? input.charCodeAt(e) : input[e])) {
    const exp = text ? exponentInText(input, e + 1) : exponentInBytes(input, e + 1);
    if (exp >= 11 && exp <= 18 && exp + 1 > written) total = exp + 1;
  }
  return { written, total, expAt };
}

/** The digits of a match, as ASCII, with the zeros a float's exponent implies: what the match stands for. */
export function matchDigits(input: string | Uint8Array, m: CardDataMatch): string {
  const { written, total, expAt } = shapeOf(input, m);
  let s = '';
  const end = expAt >= 0 ? expAt : m.end;
  for (let k = m.start; k < end; ) {
    const [v, len] = typeof input === 'string' ? textDigitAt(input, k) : bytesDigitAt(input, k);
    if (v >= 0) s += String.fromCharCode(0x30 + v);
    k += len;
  }
  return s + '0'.repeat(total - written);
}

/** `411111******1111` for any number of digits (≥ 11; fewer are all masked but the first). */
export function displayDigits(digits: string): string {
  const n = digits.length;
  if (n <= KEEP_FIRST + KEEP_LAST) return digits.slice(0, 1) + '*'.repeat(Math.max(0, n - 1));
  return digits.slice(0, KEEP_FIRST) + '*'.repeat(n - KEEP_FIRST - KEEP_LAST) + digits.slice(n - KEEP_LAST);
}

/** Whether the digit at offset k, the `seen`-th of the match, becomes '*'. */
function masks(shape: Shape, k: number, seen: number): boolean {
  if (shape.expAt >= 0 && k > shape.expAt) return true;
  return seen >= KEEP_FIRST && seen < shape.total - KEEP_LAST;
}

function maskSpanText(t: string, m: CardDataMatch): string {
  const shape = shapeOf(t, m);
  let out = '';
  let seen = 0;
  for (let k = m.start; k < m.end; ) {
    const [v, len] = textDigitAt(t, k);
    if (v >= 0 && masks(shape, k, seen)) out += '*';
    else out += t.slice(k, k + len);
    if (v >= 0) seen++;
    k += len;
  }
  return out;
}

function onePassText(input: string, redaction: string): { text: string; masked: number } {
  const matches: CardDataMatch[] = [];
  if (!scanTextStrict(input, matches, false)) return { text: input, masked: 0 };
  let text = '';
  let from = 0;
  for (const m of matches) {
    text += input.slice(from, m.start);
    text += m.kind === 'pan' ? maskSpanText(input, m) : redaction;
    from = m.end;
  }
  return { text: text + input.slice(from), masked: matches.length };
}

function onePassBytes(input: Uint8Array, redaction: Uint8Array): { bytes: Uint8Array; masked: number } {
  const matches: CardDataMatch[] = [];
  if (!scanBytesStrict(input, matches, false)) return { bytes: input, masked: 0 };
  let size = input.length;
  for (const m of matches) if (m.kind !== 'pan') size += Math.max(0, redaction.length - (m.end - m.start));
  const out = new Uint8Array(size);
  let o = 0;
  let from = 0;
  for (const m of matches) {
    out.set(input.subarray(from, m.start), o);
    o += m.start - from;
    if (m.kind === 'pan') {
      const shape = shapeOf(input, m);
      let seen = 0;
      for (let k = m.start; k < m.end; ) {
        const [v, len] = bytesDigitAt(input, k);
        if (v >= 0 && masks(shape, k, seen)) out[o++] = STAR;
        else {
          out.set(input.subarray(k, k + len), o);
          o += len;
        }
        if (v >= 0) seen++;
        k += len;
      }
    } else {
      out.set(redaction, o);
      o += redaction.length;
    }
    from = m.end;
  }
  out.set(input.subarray(from), o);
  o += input.length - from;
  return { bytes: o === size ? out : out.slice(0, o), masked: matches.length };
}

/** Strict maskCardData; the same string instance comes back when there is nothing. */
export function maskTextStrict(input: string, redaction: string): { text: string; masked: number } {
  let r = onePassText(input, redaction);
  for (let pass = 1, last = r.masked; last > 0 && pass < MAX_PASSES; pass++) {
    const again = onePassText(r.text, redaction);
    last = again.masked;
    r = { text: again.text, masked: r.masked + again.masked };
  }
  return r;
}

/** Strict maskCardDataBytes; the same Uint8Array comes back when there is nothing. */
export function maskBytesStrict(input: Uint8Array, redaction: Uint8Array): { bytes: Uint8Array; masked: number } {
  let r = onePassBytes(input, redaction);
  for (let pass = 1, last = r.masked; last > 0 && pass < MAX_PASSES; pass++) {
    const again = onePassBytes(r.bytes, redaction);
    last = again.masked;
    r = { bytes: again.bytes, masked: r.masked + again.masked };
  }
  return r;
}
