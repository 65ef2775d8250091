/**
 * IBANs are printed in space-separated groups of 4 (`FR76 3000 6000 0112 3456 7890 189`), and 12–19 of their
 * digits can form a Luhn-valid, brand-shaped window. A space-grouped PAN never continues a chain of 4-character
 * groups that starts with a country code and check digits.
 */
import { at, isDigit, isWordChar, SPACE } from './chars.ts';

// An IBAN has at most 34 characters: 8 full groups before the last.
const MAX_GROUPS_BEFORE = 8;

const isUpper = (c: number) => c >= 0x41 && c <= 0x5a;

/** w[s] follows `CCdd xxxx … ` (4-character groups from an IBAN's start), where CC is A–Z and dd digits. */
export function continuesIban(w: Uint8Array, n: number, s: number): boolean {
  let p = s;
  for (let g = 0; g < MAX_GROUPS_BEFORE && at(w, n, p - 1) === SPACE; g++) {
    const from = p - 5;
    for (let k = from; k < p - 1; k++) if (!isWordChar(at(w, n, k)) || at(w, n, k) === 0x5f) return false;
    if (isWordChar(at(w, n, from - 1))) return false;
    const starts =
      isUpper(at(w, n, from)) && isUpper(at(w, n, from + 1)) && isDigit(at(w, n, from + 2)) && isDigit(at(w, n, from + 3));
    if (starts) return true;
    p = from;
  }
  return false;
}
