/**
 * A one-pass test that rules out strict matches in bytes (binary downloads, archives) before the strict
 * lexer (strict-bytes.ts) runs: `false` only when scanBytesStrict on the same bytes finds nothing. It follows
 * the chain rules (strict-chain.ts) loosely, always erring towards "may hold one":
 * - every strict match holds a PAN candidate, which is either 12–19 digits of one chain, or a float
 *   (`d.ddd…e+15`): a digit right before an ASCII 'e'/'E' followed by an exponent of 11–18;
 * - a chain only ever ends at a character of class OTHER, and an ASCII byte is always a character of its
 *   own (never part of a UTF-8 sequence); so a "potential chain" here runs between ASCII OTHER bytes, and
 *   everything else (separators, any non-ASCII byte, a letter right after a '\' that could escape it) is
 *   taken as possibly inside a chain;
 * - digits are counted generously: every ASCII digit and every byte that may lead a UTF-8 digit;
 * - an 'e' after a byte that can end a digit (an ASCII digit, a UTF-8 continuation byte) followed by
 *   `+`? `0`? `1` and one of 1–8 may end a float PAN (whatever follows).
 * A potential chain with 12 counted digits, or such an 'e', answers `true`.
 *
 * It runs as a table-driven automaton (one load per byte, no branches on the data): random binary data
 * passes at several hundred MiB/s, where the strict lexer manages about 100.
 */
import { BMP_CLASS, OTHER } from './strict-classes.ts';
import { LEAD_MAY_START_DIGIT } from './strict-bytes.ts';

const NEUTRAL = 0;
const DIGIT = 1;
const BREAK = 2;
const BACKSLASH = 3;
const E = 4;
const MIN_DIGITS = 12;

const KIND = (() => {
  const t = new Uint8Array(256);
  for (let c = 0; c < 0x80; c++) {
    const cls = BMP_CLASS[c]!;
    if (cls <= 9) t[c] = DIGIT;
    else if (c === 0x5c) t[c] = BACKSLASH;
    else if ((c | 0x20) === 0x65) t[c] = E;
    else if (cls === OTHER) t[c] = BREAK;
  }
  for (let c = 0x80; c < 0x100; c++) t[c] = LEAD_MAY_START_DIGIT[c] ? DIGIT : NEUTRAL;
  return t;
})();

/** Whether a byte can be the last byte of a digit (an ASCII digit, or a UTF-8 continuation byte). */
const endsDigit = (c: number) => (c >= 0x30 && c <= 0x39) || (c >= 0x80 && c <= 0xbf);

// States: counted digits (0–11) × the previous byte may end a digit × a '\' may escape this byte; then the
// exponent states after such an 'e'; then ACCEPT (absorbing).
const base = (count: number, prev: number, esc: number) => count * 4 + prev * 2 + esc;
const XE = base(MIN_DIGITS, 0, 0); // 'e'
const XP = XE + 1; // 'e+'
const XZ = XE + 2; // 'e0', 'e+0'
const XO1 = XE + 3; // 'e1', 'e+1'
const XO2 = XE + 4; // 'e01', 'e+01'
const ACCEPT = XE + 5;
const STATES = ACCEPT + 1;
/** Where a failed exponent leaves the count: its digits are digits of a new chain (the 'e' ended the old). */
const EXP_BASE: Record<number, number> = { [XE]: base(0, 0, 0), [XP]: base(0, 0, 0), [XZ]: base(1, 1, 0), [XO1]: base(1, 1, 0), [XO2]: base(2, 1, 0) };

const TABLE = (() => {
  const t = new Uint8Array(STATES * 256);
  const digit = (count: number, c: number) => (count + 1 >= MIN_DIGITS ? ACCEPT : base(count + 1, endsDigit(c) ? 1 : 0, 0));
  for (let count = 0; count < MIN_DIGITS; count++) {
    for (let prev = 0; prev < 2; prev++) {
      for (let esc = 0; esc < 2; esc++) {
        const s = base(count, prev, esc);
        for (let c = 0; c < 256; c++) {
          const k = KIND[c]!;
          let next: number;
          if (k === NEUTRAL) next = base(count, endsDigit(c) ? 1 : 0, 0);
          else if (k === DIGIT) next = digit(count, c);
          else if (k === BACKSLASH) next = base(count, 0, 1);
          else if (esc) next = base(count, 0, 0); // a letter a '\' may escape (`\n`, `\t`): a separator
          else if (k === E && prev) next = XE;
          else next = base(0, 0, 0);
          t[s * 256 + c] = next;
        }
      }
    }
  }
  for (const [xs, fallback] of Object.entries(EXP_BASE)) {
    const s = Number(xs);
    for (let c = 0; c < 256; c++) t[s * 256 + c] = t[fallback * 256 + c]!;
  }
  t[XE * 256 + 0x2b] = XP;
  for (const s of [XE, XP]) {
    t[s * 256 + 0x30] = XZ;
    t[s * 256 + 0x31] = XO1;
  }
  t[XZ * 256 + 0x31] = XO2;
  for (const s of [XO1, XO2]) for (let c = 0x31; c <= 0x38; c++) t[s * 256 + c] = ACCEPT;
  t.fill(ACCEPT, ACCEPT * 256, STATES * 256);
  return t;
})();

/** Whether the strict byte scan could find card data in `b` (false: it certainly finds none). */
export function mayHoldStrictMatch(b: Uint8Array): boolean {
  const t = TABLE;
  let s = base(0, 0, 0);
  for (let p = 0, n = b.length; p < n; ) {
    // ACCEPT is absorbing: look at the state once per block.
    for (const end = Math.min(n, p + 4096); p < end; p++) s = t[(s << 8) | b[p]!]!;
    if (s === ACCEPT) return true;
  }
  return false;
}
