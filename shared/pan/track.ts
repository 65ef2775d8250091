/**
 * Magnetic-stripe track data around a valid PAN w[s, e). Both sentinels may be missing (logs rarely keep them);
 * what identifies a track is the PAN followed by the field separator, expiry and service code:
 *   track 2: [';'] PAN '=' YYMM SSS discretionary-digits* ['?']
 *   track 1: ['%'] 'B' PAN '^' NAME(0–26, no '^' '%' '?' or control) '^' YYMM SSS discretionary* ['?']
 *            where track 1 discretionary data is the track's own character set (0x20–0x5F) less '%' '^' '?'.
 * YYMM is not checked as a date: a valid PAN followed by seven digits is track data whatever they say.
 * The match runs from the start sentinel (or format code, or PAN) through the end sentinel or the last
 * character that can belong to the track, capped at the ISO 7811 lengths (79 and 40) so that a missing end
 * sentinel cannot swallow the rest of a line. A track needs no clean left boundary: redacting too much is
 * the safe side once a valid PAN and a field separator are there.
 */
import { at, CARET, EQUALS, isDigit, PERCENT, QUESTION, SEMICOLON, UPPER_B } from './chars.ts';

const TRACK1_MAX = 79;
const TRACK2_MAX = 40;
const NAME_MAX = 26;

export interface TrackSpan {
  start: number;
  end: number;
}

/** Seven digits (YYMM + service code) at w[k, k+7). */
function expiryAndServiceCode(w: Uint8Array, n: number, k: number): boolean {
  for (let j = k; j < k + 7; j++) if (!isDigit(at(w, n, j))) return false;
  return true;
}

/** Track 2 around the PAN w[s, e) with w[e] = '='; `floor` is where the previous match ended. */
export function track2At(w: Uint8Array, n: number, s: number, e: number, floor: number): TrackSpan | undefined {
  if (at(w, n, e) !== EQUALS || !expiryAndServiceCode(w, n, e + 1)) return undefined;
  const start = Math.max(at(w, n, s - 1) === SEMICOLON ? s - 1 : s, floor);
  let end = e + 8;
  while (end - start < TRACK2_MAX && isDigit(at(w, n, end))) end++;
  if (end - start < TRACK2_MAX && at(w, n, end) === QUESTION) end++;
  return { start, end };
}

/** Track 1 around the PAN w[s, e) with w[s-1] = 'B' and w[e] = '^'. */
export function track1At(w: Uint8Array, n: number, s: number, e: number, floor: number): TrackSpan | undefined {
  if (at(w, n, s - 1) !== UPPER_B || at(w, n, e) !== CARET) return undefined;
  let k = e + 1;
  for (;;) {
    const c = at(w, n, k);
    if (c === CARET) break;
    if (k - e - 1 === NAME_MAX || c < 0x20 || c === 0x7f || c === PERCENT || c === QUESTION) return undefined;
    k++;
  }
  if (!expiryAndServiceCode(w, n, k + 1)) return undefined;
  const start = Math.max(at(w, n, s - 2) === PERCENT ? s - 2 : s - 1, floor);
  let end = k + 8;
  for (; end - start < TRACK1_MAX; end++) {
    const c = at(w, n, end);
    if (c < 0x20 || c > 0x5f || c === PERCENT || c === CARET || c === QUESTION) break;
  }
  if (end - start < TRACK1_MAX && at(w, n, end) === QUESTION) end++;
  return { start, end };
}
