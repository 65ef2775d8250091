/**
 * Decides whether a digit run the skip scan stopped at starts card data. Works on ASCII codes in a Uint8Array
 * (the input itself for bytes, a small copied window for strings) so both scanners share one set of rules.
 */
import { at, CARET, EQUALS, isDigit, PERCENT, UPPER_B } from './chars.ts';
import { endsClean, startsClean } from './boundary.ts';
import { panBrandAt } from './digits.ts';
import { groupedPanAt } from './grouping.ts';
import { track1At, track2At } from './track.ts';
import { cardMatch, type CardDataMatch } from './types.ts';

/**
 * Card data starting at the maximal digit run w[s, e), or undefined. `floor` is the end of the previous match:
 * a track's sentinel before it is not taken twice.
 */
export function candidateAt(w: Uint8Array, n: number, s: number, e: number, floor: number): CardDataMatch | undefined {
  // The run is only maximal down to the floor; digits before it glue (a track capped mid-digits).
  if (isDigit(at(w, n, s - 1))) return undefined;
  const len = e - s;
  if (len === 4) {
    const g = groupedPanAt(w, n, s, floor);
    return g === undefined ? undefined : cardMatch(s, g.end, 'pan', g.brand);
  }
  if (len >= 12 && len <= 19) {
    const m = ungroupedAt(w, n, s, e, floor, false);
    if (m !== undefined) return m;
  }
  // A URL escape's two hex digits glue to what follows ('%204111…'): try the run without them.
  if (len >= 14 && len <= 21 && at(w, n, s - 1) === PERCENT) return ungroupedAt(w, n, s + 2, e, floor, true);
  return undefined;
}

function ungroupedAt(
  w: Uint8Array,
  n: number,
  s: number,
  e: number,
  floor: number,
  afterEscape: boolean,
): CardDataMatch | undefined {
  const brand = panBrandAt(w, s, e);
  if (brand === undefined) return undefined;
  const next = at(w, n, e);
  if (next === EQUALS) {
    const t = track2At(w, n, s, e, floor);
    if (t !== undefined) return cardMatch(t.start, t.end, 'track2');
  }
  const trackOneField = next === CARET && at(w, n, s - 1) === UPPER_B;
  if (trackOneField) {
    const t = track1At(w, n, s, e, floor);
    if (t !== undefined) return cardMatch(t.start, t.end, 'track1');
  }
  if (!afterEscape && !startsClean(w, n, s, trackOneField)) return undefined;
  if (!endsClean(w, n, e)) return undefined;
  return cardMatch(s, e, 'pan', brand);
}
