/**
 * Grouped PANs: groups of digits joined by one kind of separator, single spaces or single dashes, with the
 * separators exactly at the grouping boundaries for the length (one grouping per length, whatever the brand):
 *   12: 4-4-4   13: 4-4-5   14: 4-6-4 (Diners)   15: 4-6-5 (Amex)   16: 4-4-4-4   17–19: 4-4-4-4-1/2/3.
 * Every grouping starts with a 4-digit group, which is what the skip scan relies on.
 *
 * Dashes bind digits into one token, so a dashed chain must be a grouping as a whole: `4111-1111-1111-1111-2222`
 * is no PAN, nor any part of it. Spaces separate tokens in text, so a space-grouped PAN may be followed by other
 * numbers (`4111 1111 1111 1111 12 25`): the longest grouping that is a valid PAN wins, except that 4-4-4 followed
 * by another 4-digit group is read as a 16-digit shape, never as a 12-digit PAN with a number after it. Nor
 * does a space-grouped PAN continue a chain of groups: it never starts right after a lone 4-digit group (the
 * tail of a longer grouped number, `3058 6238 3480 6050`), unless that group ends the previous match, nor
 * inside an IBAN (iban.ts).
 */
import { at, DASH, isDigit, isWordChar, SPACE } from './chars.ts';
import { endsClean, startsClean } from './boundary.ts';
import { continuesIban } from './iban.ts';
import { panBrandAt } from './digits.ts';
import type { CardBrand } from './brands.ts';

const MAX_GROUPS = 5;
const lens = new Int32Array(MAX_GROUPS + 1);
const ends = new Int32Array(MAX_GROUPS + 1);

/** The first `k` collected groups form the grouping of one PAN length. */
function groupingFits(k: number): boolean {
  if (lens[0] !== 4) return false;
  if (k === 3) return (lens[1] === 4 || lens[1] === 6) && (lens[2] === 4 || lens[2] === 5);
  if (k < 4 || lens[1] !== 4 || lens[2] !== 4 || lens[3] !== 4) return false;
  return k === 4 || (k === 5 && lens[4]! >= 1 && lens[4]! <= 3);
}

export interface GroupedPan {
  end: number;
  brand: CardBrand;
}

/** A grouped PAN starting with the 4-digit run w[s, s+4), or undefined; `floor` is where the last match ended. */
export function groupedPanAt(w: Uint8Array, n: number, s: number, floor: number): GroupedPan | undefined {
  const sep = at(w, n, s + 4);
  if (sep !== SPACE && sep !== DASH) return undefined;
  if (!startsClean(w, n, s, false)) return undefined;
  if (sep === SPACE && ((s - 5 >= floor && afterDigitGroup(w, n, s)) || continuesIban(w, n, s))) return undefined;
  lens[0] = 4;
  ends[0] = s + 4;
  let count = 1;
  let p = s + 4;
  while (count <= MAX_GROUPS && at(w, n, p) === sep && isDigit(at(w, n, p + 1))) {
    let q = p + 1;
    while (isDigit(at(w, n, q))) q++;
    lens[count] = q - p - 1;
    ends[count] = q;
    count++;
    p = q;
  }
  if (sep === DASH) {
    if (count > MAX_GROUPS || !groupingFits(count)) return undefined;
    return validAt(w, n, s, ends[count - 1]!);
  }
  for (let k = Math.min(count, MAX_GROUPS); k >= 3; k--) {
    if (!groupingFits(k)) continue;
    if (k === 3 && lens[1] === 4 && count > 3 && lens[3] === 4) continue;
    const found = validAt(w, n, s, ends[k - 1]!);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** w[s] follows a space after exactly 4 digits. */
function afterDigitGroup(w: Uint8Array, n: number, s: number): boolean {
  if (at(w, n, s - 1) !== SPACE || isWordChar(at(w, n, s - 6))) return false;
  for (let k = s - 5; k < s - 1; k++) if (!isDigit(at(w, n, k))) return false;
  return true;
}

function validAt(w: Uint8Array, n: number, s: number, end: number): GroupedPan | undefined {
  if (!endsClean(w, n, end)) return undefined;
  const brand = panBrandAt(w, s, end);
  return brand === undefined ? undefined : { end, brand };
}
