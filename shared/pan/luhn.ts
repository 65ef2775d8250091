/** Luhn (mod 10) check, as printed on every payment card. */

export function luhnOfDigitValues(d: ArrayLike<number>, n: number): boolean {
  let sum = 0;
  let double = false;
  for (let i = n - 1; i >= 0; i--) {
    let v = d[i]!;
    if (double) {
      v *= 2;
      if (v > 9) v -= 9;
    }
    sum += v;
    double = !double;
  }
  return sum % 10 === 0;
}

/** True when `digits` is a non-empty string of ASCII digits whose Luhn sum is a multiple of 10. */
export function luhnValid(digits: string): boolean {
  const n = digits.length;
  if (n === 0) return false;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    let v = digits.charCodeAt(n - 1 - i) - 0x30;
    if (v < 0 || v > 9) return false;
    if (i % 2 === 1) {
      v *= 2;
      if (v > 9) v -= 9;
    }
    sum += v;
  }
  return sum % 10 === 0;
}
