/**
 * Whether a PAN may start or end at a position. A card number stands alone: a digit, letter or '_' glued to it
 * makes it part of a longer number, a word or an identifier (hex ids, base64, `x9411…`), and '-' or '.' with a
 * digit on the other side makes it part of a dashed or decimal number (`2024-4111…`, `0.4532…` floats,
 * `4111….5` amounts, IP-like and version strings). A UUID's last group can be 12 plain digits
 * (`…-a5aa-617222158322`): after `-hhhh-` a run is that group. Spaces and other punctuation are separators.
 */
import { at, BACKSLASH, DASH, DOT, isDigit, isHexDigit, isWordChar, PERCENT, UPPER_B } from './chars.ts';

/**
 * The character before `s` does not glue. Letters are forgiven in three spellings that are not words:
 * a JSON/C escape (`\n4111…`), a URL escape (`%3D4111…`), and the track 1 format code when the digits are
 * followed by '^' (`B4111…^`), so a PAN in a track 1 string that fails the full track syntax is still masked.
 */
export function startsClean(w: Uint8Array, n: number, s: number, trackOneField: boolean): boolean {
  const c = at(w, n, s - 1);
  if (c === DOT) return !isDigit(at(w, n, s - 2));
  if (c === DASH) return !isDigit(at(w, n, s - 2)) && !afterUuidGroup(w, n, s - 1);
  if (!isWordChar(c)) return true;
  if (isDigit(c)) return false;
  if (trackOneField && c === UPPER_B) return true;
  const c2 = at(w, n, s - 2);
  if (c2 === BACKSLASH) return true;
  return isHexDigit(c) && isHexDigit(c2) && at(w, n, s - 3) === PERCENT;
}

/** The character at `e` (just after the match) does not glue. */
export function endsClean(w: Uint8Array, n: number, e: number): boolean {
  const c = at(w, n, e);
  if (c === DASH || c === DOT) return !isDigit(at(w, n, e + 1));
  return !isWordChar(c);
}

/** w[dash] = '-' closes a 4-hex-digit group opened by another '-', as in a UUID `…-a5aa-`. */
export function afterUuidGroup(w: Uint8Array, n: number, dash: number): boolean {
  for (let k = dash - 4; k < dash; k++) if (!isHexDigit(at(w, n, k))) return false;
  return at(w, n, dash - 5) === DASH;
}
