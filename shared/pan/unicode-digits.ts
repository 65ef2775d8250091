/**
 * Unicode decimal digits (general category Nd), Unicode 17.0: the code point of each script's digit zero and
 * how many digits follow it. Nd digits always come in runs of ten with values 0–9 in order, so a digit's value
 * is its distance from the run's zero, mod 10 (two blocks hold several runs: Myanmar Tai Laing 116D0 and the
 * mathematical digits 1D7CE–1D7FF, bold, double-struck, sans-serif, sans-serif bold, monospace).
 * Hard-coded rather than read from `\p{Nd}` so that every runtime (and the recorder and the verifier) agrees;
 * test/unit/shared/pan/unicode-digits.test.ts checks it against the runtime's own table.
 */

// prettier-ignore
const ZEROS: readonly (readonly [number, number])[] = [
  [0x30, 10], [0x660, 10], [0x6f0, 10], [0x7c0, 10], [0x966, 10], [0x9e6, 10], [0xa66, 10], [0xae6, 10],
  [0xb66, 10], [0xbe6, 10], [0xc66, 10], [0xce6, 10], [0xd66, 10], [0xde6, 10], [0xe50, 10], [0xed0, 10],
  [0xf20, 10], [0x1040, 10], [0x1090, 10], [0x17e0, 10], [0x1810, 10], [0x1946, 10], [0x19d0, 10], [0x1a80, 10],
  [0x1a90, 10], [0x1b50, 10], [0x1bb0, 10], [0x1c40, 10], [0x1c50, 10], [0xa620, 10], [0xa8d0, 10], [0xa900, 10],
  [0xa9d0, 10], [0xa9f0, 10], [0xaa50, 10], [0xabf0, 10], [0xff10, 10],
  [0x104a0, 10], [0x10d30, 10], [0x10d40, 10], [0x11066, 10], [0x110f0, 10], [0x11136, 10], [0x111d0, 10],
  [0x112f0, 10], [0x11450, 10], [0x114d0, 10], [0x11650, 10], [0x116c0, 10], [0x116d0, 20], [0x11730, 10],
  [0x118e0, 10], [0x11950, 10], [0x11bf0, 10], [0x11c50, 10], [0x11d50, 10], [0x11da0, 10], [0x11de0, 10],
  [0x11f50, 10], [0x16130, 10], [0x16a60, 10], [0x16ac0, 10], [0x16b50, 10], [0x16d70, 10], [0x1ccf0, 10],
  [0x1d7ce, 50], [0x1e140, 10], [0x1e2f0, 10], [0x1e4f0, 10], [0x1e5f1, 10], [0x1e950, 10], [0x1fbf0, 10],
];

/** Every Nd run, as [zero, count] pairs in code point order. */
export function decimalDigitRuns(): readonly (readonly [number, number])[] {
  return ZEROS;
}

const ASTRAL_FROM = ZEROS.findIndex(([zero]) => zero > 0xffff);
const ASTRAL_ZEROS = Int32Array.from(ZEROS.slice(ASTRAL_FROM), ([zero]) => zero);
const ASTRAL_COUNTS = Int32Array.from(ZEROS.slice(ASTRAL_FROM), ([, count]) => count);

/** Value 0–9 of a supplementary-plane code point that is a decimal digit, or -1. */
export function astralDigitValue(cp: number): number {
  let lo = 0;
  let hi = ASTRAL_ZEROS.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const zero = ASTRAL_ZEROS[mid]!;
    if (cp < zero) hi = mid - 1;
    else if (cp >= zero + ASTRAL_COUNTS[mid]!) lo = mid + 1;
    else return (cp - zero) % 10;
  }
  return -1;
}
