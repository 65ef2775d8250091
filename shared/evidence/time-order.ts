/**
 * Orders the ISO-8601 UTC times the evidence format allows (`…:SS` with 0 to 6 fractional digits, then `Z`).
 * Plain string comparison is wrong as soon as two times carry different precision: "…:00Z" sorts after
 * "…:00.500Z" ('Z' > '.'). Padding the fraction to six digits makes string order time order.
 */
export function timeKey(iso: string): string {
  const m = /^(.*T\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?Z$/.exec(iso);
  return m ? `${m[1]}.${(m[2] ?? '').padEnd(6, '0')}Z` : iso;
}

/** Negative, zero or positive as `a` is before, at or after `b`. */
export function compareTimes(a: string, b: string): number {
  const x = timeKey(a);
  const y = timeKey(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
