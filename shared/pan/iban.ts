/**
 * IBANs are printed in space-separated groups of 4 (`FR76 3000 6000 0112 3456 7890 189`), and 12–19 of their
 * digits can form a Luhn-valid, brand-shaped window. A space-grouped PAN never continues a chain of 4-character
 * groups that starts with a country code and check digits (normal mode, by shape); strict mode skips the digits
 * of an IBAN whose check digits hold (validIbanEnd).
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

const IBAN_MIN = 15;
const IBAN_MAX = 34;
const isAlnum = (c: number) => isDigit(c) || isUpper(c);
const ibanDigits = new Uint8Array(IBAN_MAX);
const ibanEnds = new Int32Array(IBAN_MAX + 1);

/**
 * Strict mode's IBAN exemption. w[s, s+2) are the check digits after a country code at w[s-2, s): when the
 * characters from there, written electronically (`DE89370400440532013000`) or in print (groups of 4 split by
 * single spaces), form an IBAN whose ISO 13616 mod-97 check holds, the end of the longest such IBAN; else -1.
 * The check is what makes the exemption safe: a PAN dressed up as `FR76 4111 1111 1111 1111` fails it
 * (1 chance in 97) unless someone computes the check digits on purpose.
 */
export function validIbanEnd(w: Uint8Array, n: number, s: number): number {
  const from = s - 2;
  if (!isUpper(at(w, n, from)) || !isUpper(at(w, n, from + 1)) || isWordChar(at(w, n, from - 1))) return -1;
  let count = 0;
  let k = from;
  // Print form is decided by a space after the country code and check digits; then every group has 4.
  const print = at(w, n, from + 4) === SPACE;
  while (count < IBAN_MAX) {
    const c = at(w, n, k);
    if (isAlnum(c)) {
      if (print && count > 0 && count % 4 === 0 && at(w, n, k - 1) !== SPACE) return -1;
      ibanDigits[count++] = c;
      ibanEnds[count] = ++k;
    } else if (print && c === SPACE && count % 4 === 0 && isAlnum(at(w, n, k + 1))) k++;
    else break;
  }
  // mod 97 of BBAN + country code + check digits, letters as 10–35, for every length from IBAN_MIN on.
  let best = -1;
  let bban = 0;
  for (let len = 5; len <= count; len++) {
    bban = appendMod(bban, ibanDigits[len - 1]!);
    if (len < IBAN_MIN) continue;
    let m = bban;
    for (let j = 0; j < 4; j++) m = appendMod(m, ibanDigits[j]!);
    if (m === 1) best = ibanEnds[len]!;
  }
  return best;
}

/** (m · 10^width(c) + value(c)) mod 97, c an ASCII digit (one decimal digit) or capital letter (two). */
function appendMod(m: number, c: number): number {
  return isDigit(c) ? (m * 10 + c - 0x30) % 97 : (m * 100 + c - 0x37) % 97;
}
