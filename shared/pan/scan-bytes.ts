/**
 * Scan over UTF-8 bytes, in place, eight bytes per step. Card data starts with a digit run whose first 4 digits
 * are followed by one more character and 4 more digits ("DDDD?DDDD": a grouped PAN's first two groups, or the
 * first 9 digits of an ungrouped one). The scan looks only for the start of such a run: two aligned 32-bit
 * loads classify 8 bytes at once (SWAR, no branch per byte) and one table look-up over the masks of 16 bytes
 * (plus the byte before them) says whether such a run starts in the first 8. Dates, times, amounts,
 * versions and most ids never have that shape, so the closer look (worthALook, then candidate.ts) runs rarely.
 */
import { candidateAt } from './candidate.ts';
import type { CardDataMatch } from './types.ts';

function isDigitByte(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

// A chunk is 2 words (8 bytes). Its mask has a bit per byte, set for a NON-digit (one operation fewer than
// setting digits), interleaving the words: bit 2i is byte i, bit 2i+1 is byte 4+i, which is what one multiply
// can gather (nonDigitMask). Index of RUN_STARTS: bit 0 for the byte before the chunk, bits 1–8 for the chunk,
// bits 9–16 for the next one. RUN_STARTS[index] has bit j set when byte j-1 is no digit and bytes j..j+3 and
// j+5..j+8 are digits.
const RUN_STARTS = new Uint8Array(1 << 17);
{
  const bitOf = (t: number) => (t < 0 ? 0 : 1 + 8 * (t >> 3) + (t & 4 ? 2 * (t & 3) + 1 : 2 * (t & 3)));
  for (let j = 0; j < 8; j++) {
    let digits = 0;
    for (let t = j; t <= j + 8; t++) if (t !== j + 4) digits |= 1 << bitOf(t);
    const before = 1 << bitOf(j - 1);
    for (let m = 0; m < 1 << 17; m++) if ((m & digits) === 0 && (m & before) !== 0) RUN_STARTS[m]! |= 1 << j;
  }
}
const FIRST_BIT = Uint8Array.from({ length: 256 }, (_, m) => 31 - Math.clz32(m & -m));

// Words are read in the platform's byte order; the masks are little-endian.
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;
// Below this, creating a typed-array view costs more than it saves.
const WORD_SCAN_MIN = 64;

/**
 * The chunk's interleaved non-digit mask. Per byte, t is 0–9 exactly for digits; (t | 0x80) - 0x0a keeps bit 7
 * for 0x0a–0x7f and never borrows from the byte above; OR-ing t back adds the bytes ≥ 0x80. The multiply
 * moves bits 7/15/23/31 of both words to bits 24–31.
 */
function nonDigitMask(x1: number, x2: number): number {
  const t1 = x1 ^ 0x30303030;
  const n1 = (((t1 | 0x80808080) - 0x0a0a0a0a) | t1) & 0x80808080;
  const t2 = x2 ^ 0x30303030;
  const n2 = (((t2 | 0x80808080) - 0x0a0a0a0a) | t2) & 0x80808080;
  return Math.imul((n1 >>> 7) | (n2 >>> 6), 0x01041040) >>> 24;
}

/** The table's question asked byte by byte, for the unaligned head and the last bytes. */
function runStartsAt(b: Uint8Array, n: number, j: number): boolean {
  if ((j > 0 && isDigitByte(b[j - 1]!)) || j + 8 >= n || !mayStartCard(b, j)) return false;
  for (let k = j; k <= j + 8; k++) if (k !== j + 4 && !isDigitByte(b[k]!)) return false;
  return true;
}

/** A brand's first digit (2–6), or a run after '%' (worthALook): epoch times and most long ids start with 1. */
function mayStartCard(b: Uint8Array, j: number): boolean {
  const c = b[j]!;
  return (c >= 0x32 && c <= 0x36) || (j > 0 && b[j - 1] === 0x25);
}

/** The first j >= p where such a run starts, or -1. Chunks cover bytes [head, head + 8 * chunks). */
function nextRunStart(b: Uint8Array, w: Int32Array | undefined, head: number, chunks: number, p: number): number {
  const n = b.length;
  const wordsEnd = head + chunks * 8;
  for (; p < n && (p < head || p >= wordsEnd); p++) if (runStartsAt(b, n, p)) return p;
  if (p >= n) return -1;
  const words = w!;
  let k = ((p - head) >> 3) << 1; // first word of p's chunk
  const kEnd = chunks * 2;
  let index =
    (head + k * 4 > 0 && isDigitByte(b[head + k * 4 - 1]!) ? 0 : 1) |
    (nonDigitMask(words[k]!, words[k + 1]!) << 1) |
    (nonDigitMask(words[k + 2]!, words[k + 3]!) << 9);
  let starts = RUN_STARTS[index]! & ((0xff << ((p - head) & 7)) & 0xff);
  for (;;) {
    for (; starts !== 0; starts &= starts - 1) {
      const j = head + k * 4 + FIRST_BIT[starts]!;
      if (mayStartCard(b, j)) return j;
    }
    if ((k += 2) >= kEnd) break;
    // nonDigitMask written out: this loop is the whole cost of a scan and must not depend on inlining.
    const t1 = words[k + 2]! ^ 0x30303030;
    const n1 = (((t1 | 0x80808080) - 0x0a0a0a0a) | t1) & 0x80808080;
    const t2 = words[k + 3]! ^ 0x30303030;
    const n2 = (((t2 | 0x80808080) - 0x0a0a0a0a) | t2) & 0x80808080;
    index = (index >>> 8) | ((Math.imul((n1 >>> 7) | (n2 >>> 6), 0x01041040) >>> 24) << 9);
    starts = RUN_STARTS[index]!;
  }
  for (p = wordsEnd; p < n; p++) if (runStartsAt(b, n, p)) return p;
  return -1;
}

/** Appends every match to `out`; with `out` null, stops at the first and says whether there was one. */
export function scanBytes(b: Uint8Array, out: CardDataMatch[] | null): boolean {
  const n = b.length;
  const head = LITTLE_ENDIAN && n >= WORD_SCAN_MIN ? (4 - (b.byteOffset & 3)) & 3 : n;
  const wordCount = head < n ? (n - head) >> 2 : 0;
  // A chunk step reads the next chunk too.
  const chunks = wordCount >= 4 ? (wordCount - 2) >> 1 : 0;
  const w = chunks > 0 ? new Int32Array(b.buffer, b.byteOffset + head, wordCount) : undefined;
  let p = 0;
  let floor = 0; // end of the previous match
  for (;;) {
    const s = nextRunStart(b, w, head, chunks, p);
    if (s < 0) return out !== null && out.length > 0;
    let e = s + 1;
    while (e < n && isDigitByte(b[e]!)) e++;
    p = e;
    if (!worthALook(b, n, s, e)) continue;
    const m = candidateAt(b, n, s, e, floor);
    if (m === undefined) continue;
    if (out === null) return true;
    out.push(m);
    p = floor = m.end;
  }
}

/**
 * Cheap filter before the rules, shared in spirit with scan-text.ts: a 4-digit run followed by a separator
 * and 4 more digits (every grouping's second group has 4 or 6), or a 12–19 digit run; either starting with a
 * brand's first digit (2–6). A run after '%' may carry a URL escape's two digits in front.
 */
function worthALook(b: Uint8Array, n: number, s: number, e: number): boolean {
  const len = e - s;
  const first = b[s]!;
  if (len === 4) {
    if (first < 0x32 || first > 0x36 || e + 4 >= n) return false;
    const sep = b[e]!;
    if (sep !== 0x20 && sep !== 0x2d) return false;
    for (let k = e + 1; k <= e + 4; k++) if (!isDigitByte(b[k]!)) return false;
    return true;
  }
  if (len < 12 || len > 21) return false;
  if (s > 0 && b[s - 1] === 0x25) return true;
  return len <= 19 && first >= 0x32 && first <= 0x36;
}
