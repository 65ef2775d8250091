/**
 * Character classes of strict mode, one byte per BMP code point (a 64 KiB table built once):
 *   0–9      a decimal digit of any script (Nd), its value;
 *   OTHER    letters, controls and every other character: ends a chain of digit groups;
 *   WS_H     horizontal whitespace: space, tab, the Unicode spaces (NBSP, thin, ideographic…) and the invisible
 *            joiners an attacker can slip between digits (soft hyphen, zero-width space/joiners, word joiner, BOM);
 *   WS_V     line breaks (LF, CR, NEL, U+2028/2029);
 *   ESCAPE   '\', which may start a JSON/C escape (`\t` `\n` `\r` `\"` `\\` `\/`): evidence is JSON;
 *   ≥ 0x21   punctuation, as the ASCII code it is equivalent to (so '－', '‐', '–', '—' and '−' all are '-').
 * Supplementary-plane code points are digits (astralDigitValue) or OTHER.
 */
import { decimalDigitRuns } from './unicode-digits.ts';

export const OTHER = 11;
export const WS_H = 12;
export const WS_V = 13;
export const ESCAPE = 14;

export const BMP_CLASS = new Uint8Array(0x10000).fill(OTHER);
{
  const c = BMP_CLASS;
  for (const [zero, count] of decimalDigitRuns()) {
    for (let k = 0; k < count && zero + k <= 0xffff; k++) c[zero + k] = k % 10;
  }
  for (let a = 0x21; a <= 0x7e; a++) {
    const letterOrDigit = (a >= 0x30 && a <= 0x39) || ((a | 0x20) >= 0x61 && (a | 0x20) <= 0x7a);
    if (!letterOrDigit) c[a] = a;
  }
  c[0x5c] = ESCAPE;
  for (const ws of [0x20, 0x09, 0xa0, 0x1680, 0x202f, 0x205f, 0x3000, 0xad, 0x200b, 0x200c, 0x200d, 0x2060, 0xfeff]) c[ws] = WS_H;
  for (let k = 0x2000; k <= 0x200a; k++) c[k] = WS_H;
  for (const ws of [0x0a, 0x0d, 0x85, 0x2028, 0x2029]) c[ws] = WS_V;
  // Full-width ASCII punctuation (U+FF01–FF5E minus letters and digits) is its ASCII counterpart.
  for (let k = 0xff01; k <= 0xff5e; k++) {
    const a = k - 0xfee0;
    if (c[a]! >= 0x21 || a === 0x5c) c[k] = a;
  }
  const same: [number, number[]][] = [
    [0x2d, [0x2010, 0x2011, 0x2012, 0x2013, 0x2014, 0x2015, 0x2212, 0xfe58, 0xfe63]],
    [0x2e, [0x3002, 0xff61, 0xb7, 0x2024, 0x2027, 0x66b]],
    [0x2c, [0x3001, 0xff64, 0x66c, 0x60c]],
    [0x27, [0x2018, 0x2019, 0x2bc]],
    [0x2f, [0x2044, 0x2215]],
  ];
  for (const [ascii, list] of same) for (const k of list) c[k] = ascii;
}

/**
 * What follows a '\' when it is an escape: the class of the escaped character, or 0 when '\' stands alone.
 * Only the escapes JSON.stringify writes for separators; `\uXXXX` only ever encodes controls there.
 */
export function escapeClass(next: number): number {
  switch (next) {
    case 0x74: // t
      return WS_H;
    case 0x6e: // n
    case 0x72: // r
      return WS_V;
    case 0x22: // "
    case 0x2f: // /
      return next;
    case 0x5c:
      return 0x5c;
    default:
      return 0;
  }
}
