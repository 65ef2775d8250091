/**
 * Strict mode's lexer over a JS string (offsets in UTF-16 code units): classifies each character with the BMP
 * table (surrogate pairs decoded for the supplementary-plane digits) and feeds strict-chain.ts. While no chain
 * is open, a tight loop skips ASCII characters that are no digit: only a digit can open one.
 */
import { BMP_CLASS, ESCAPE, escapeClass, OTHER } from './strict-classes.ts';
import { GROUP, IDLE, StrictChain, STRICT_RULES, type AsciiView, type StrictInput, type StrictRules } from './strict-chain.ts';
import { astralDigitValue } from './unicode-digits.ts';
import type { CardDataMatch } from './types.ts';

/** Copies the few characters the rules look at into a reused buffer, as ASCII codes (0x80 for the rest). */
class TextInput implements StrictInput {
  t = '';
  private readonly v: AsciiView = { w: new Uint8Array(256), n: 0, base: 0 };

  view(from: number, to: number): AsciiView {
    const v = this.v;
    const lo = Math.max(0, from);
    const hi = Math.min(this.t.length, to);
    if (hi - lo > v.w.length) v.w = new Uint8Array(2 * (hi - lo));
    for (let k = lo; k < hi; k++) {
      const c = this.t.charCodeAt(k);
      v.w[k - lo] = c < 0x80 ? c : 0x80;
    }
    v.n = Math.max(0, hi - lo);
    v.base = lo;
    return v;
  }
}

const chain = new StrictChain();
const input = new TextInput();

/** Appends every strict match to `out`; with `stopAtFirst`, returns at the first. Whether there was one. */
export function scanTextStrict(t: string, out: CardDataMatch[], stopAtFirst: boolean, rules: StrictRules = STRICT_RULES): boolean {
  input.t = t;
  chain.reset(out, input, rules);
  scan(t, out, stopAtFirst);
  input.t = '';
  return out.length !== 0;
}

function scan(t: string, out: CardDataMatch[], stopAtFirst: boolean): void {
  const n = t.length;
  let p = 0;
  while (p < n) {
    let c = t.charCodeAt(p);
    if (chain.state === IDLE) {
      while (c < 0x80 && c - 0x30 >>> 0 > 9) {
        if (++p === n) break;
        c = t.charCodeAt(p);
      }
      if (p === n) break;
    }
    let q = p + 1;
    let cls: number;
    if (c < 0xd800 || c > 0xdbff) cls = BMP_CLASS[c]!;
    else {
      const lo = t.charCodeAt(q);
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        const v = astralDigitValue(((c - 0xd800) << 10) + (lo - 0xdc00) + 0x10000);
        cls = v < 0 ? OTHER : v;
        q++;
      } else cls = OTHER;
    }
    if (cls <= 9) chain.digit(cls, p, q, c < 0x80);
    else if (cls === OTHER) {
      if ((c | 0x20) === 0x65 && chain.state === GROUP) chain.exponent(exponentAt(t, q), exponentEnd(t, q));
      else chain.other();
    } else if (cls === ESCAPE) {
      const e = escapeClass(t.charCodeAt(q));
      if (e === 0) chain.separator(0x5c);
      else {
        chain.separator(e);
        q++;
      }
    } else chain.separator(cls);
    p = q;
    if (stopAtFirst && out.length !== 0) return;
  }
  chain.other();
}

/** The exponent written at t[q…] after an 'e': optional '+', 1–3 ASCII digits; -1 when there is none. */
export function exponentAt(t: string, q: number): number {
  let k = t.charCodeAt(q) === 0x2b ? q + 1 : q;
  let v = 0;
  const from = k;
  for (let c = t.charCodeAt(k); c >= 0x30 && c <= 0x39; c = t.charCodeAt(++k)) {
    if (k - from === 3) return -1;
    v = v * 10 + c - 0x30;
  }
  return k === from ? -1 : v;
}

/** Where the exponent written at t[q…] ends (q when there is none). */
export function exponentEnd(t: string, q: number): number {
  let k = t.charCodeAt(q) === 0x2b ? q + 1 : q;
  while (t.charCodeAt(k) >= 0x30 && t.charCodeAt(k) <= 0x39) k++;
  return k;
}
