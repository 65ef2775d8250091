/** Validates the digits of a candidate in place: one reused scratch array, no allocation per candidate. */
import { brandOfDigitValues, type CardBrand } from './brands.ts';
import { luhnOfDigitValues } from './luhn.ts';

const scratch = new Uint8Array(19);

/**
 * Brand of the digits in w[from, to) (separators skipped) when they form a PAN: 12–19 digits, a brand's IIN
 * with a length that brand issues, and a valid Luhn check digit. Undefined otherwise.
 */
export function panBrandAt(w: Uint8Array, from: number, to: number): CardBrand | undefined {
  let n = 0;
  for (let k = from; k < to; k++) {
    const v = w[k]! - 0x30;
    if (v < 0 || v > 9) continue;
    if (n === 19) return undefined;
    scratch[n++] = v;
  }
  const brand = brandOfDigitValues(scratch, n);
  return brand !== undefined && luhnOfDigitValues(scratch, n) ? brand : undefined;
}
