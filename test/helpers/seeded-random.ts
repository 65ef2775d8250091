/**
 * xorshift32: reproducible noise without a dependency, so a failing test or a benchmark input is the same on
 * every run. Returns numbers in [0, 1).
 */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}
