/**
 * The few character classes the detector needs. Rules look at ASCII codes only: the string scanner maps every
 * code unit ≥ 0x80 to 0x80 and UTF-8 bytes ≥ 0x80 stay as they are, so no non-ASCII character is ever a digit,
 * a letter or a separator, and strings and bytes give the same answers.
 */

/** What `at` returns outside the input: a start or end of input is a clean boundary. */
export const NONE = -1;

export const SPACE = 0x20;
export const PERCENT = 0x25;
export const DASH = 0x2d;
export const DOT = 0x2e;
export const SEMICOLON = 0x3b;
export const EQUALS = 0x3d;
export const QUESTION = 0x3f;
export const UPPER_B = 0x42;
export const BACKSLASH = 0x5c;
export const CARET = 0x5e;

export function at(w: Uint8Array, n: number, k: number): number {
  return k >= 0 && k < n ? w[k]! : NONE;
}

export function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** ASCII letter, digit or '_': a character that makes a digit run part of a word or an identifier. */
export function isWordChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a) || c === 0x5f;
}

export function isHexDigit(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66);
}
