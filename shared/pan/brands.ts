/** Card brands by IIN prefix and length (the table in PCI.md, "Card data facts"). */

export type CardBrand = 'visa' | 'mastercard' | 'amex' | 'discover' | 'jcb' | 'diners' | 'unionpay' | 'maestro';

/**
 * Brand of the `n` digit values (0–9) at d[o, o+n). The first rule whose prefix and length both fit wins, so the
 * narrow ranges come before Maestro's broad 50 / 56–69: a 17-digit 6011… is not a Discover card but can still be
 * a Maestro one.
 */
export function brandOfDigitValues(d: ArrayLike<number>, n: number, o = 0): CardBrand | undefined {
  if (n < 12 || n > 19) return undefined;
  const p2 = d[o]! * 10 + d[o + 1]!;
  const p3 = p2 * 10 + d[o + 2]!;
  const p4 = p3 * 10 + d[o + 3]!;
  if ((p2 === 34 || p2 === 37) && n === 15) return 'amex';
  if (((p3 >= 300 && p3 <= 305) || p2 === 36 || p2 === 38 || p2 === 39) && (n === 14 || n === 16 || n === 19))
    return 'diners';
  if (p4 >= 3528 && p4 <= 3589 && n >= 16) return 'jcb';
  if (d[o] === 4 && (n === 13 || n === 16 || n === 18 || n === 19)) return 'visa';
  if (((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) && n === 16) return 'mastercard';
  if ((p4 === 6011 || (p3 >= 644 && p3 <= 649) || p2 === 65) && (n === 16 || n === 19)) return 'discover';
  if (p2 === 62 && n >= 14) return 'unionpay';
  if (p2 === 50 || (p2 >= 56 && p2 <= 69)) return 'maestro';
  return undefined;
}

/** Brand of a plain digit string (no separators), or undefined when it is none or not all digits. */
export function brandOf(digits: string): CardBrand | undefined {
  const n = digits.length;
  if (n < 12 || n > 19) return undefined;
  const d = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const v = digits.charCodeAt(i) - 0x30;
    if (v < 0 || v > 9) return undefined;
    d[i] = v;
  }
  return brandOfDigitValues(d, n);
}
