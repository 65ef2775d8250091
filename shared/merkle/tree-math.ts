/**
 * Tree-size arithmetic on plain numbers. Sizes may exceed 2^32, so no bitwise operators (they truncate
 * to 32 bits): everything is division and remainder on safe integers, and every loop is bounded by 53.
 */

/** A valid leaf index or tree size: a non-negative safe integer. */
export function isIndex(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

export function isPowerOfTwo(n: number): boolean {
  return n >= 1 && largestPowerOfTwoAtMost(n) === n;
}

/** Largest 2^k ≤ n, for n ≥ 1. */
export function largestPowerOfTwoAtMost(n: number): number {
  let k = 1;
  while (k * 2 <= n) k *= 2;
  return k;
}

/** RFC 6962's split point: the largest power of two strictly smaller than n, for n ≥ 2. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

export function half(n: number): number {
  return Math.floor(n / 2);
}

export function isOdd(n: number): boolean {
  return n % 2 === 1;
}

/**
 * True when MTH(D[begin:end]) is a fold of perfect aligned subtrees, which holds for every range RFC
 * 6962's recursion visits: begin is a multiple of the largest power of two ≤ end − begin.
 */
export function isRfcRange(begin: number, end: number): boolean {
  return isIndex(begin) && isIndex(end) && begin < end && begin % largestPowerOfTwoAtMost(end - begin) === 0;
}
