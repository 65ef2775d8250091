/**
 * Strict mode's rules, shared by the string and byte lexers (strict-text.ts, strict-bytes.ts), which feed it
 * one element at a time: a digit (any script), a separator, or anything else.
 *
 * Groups and chains. A group is a run of digits (a switch between ASCII and other digits starts a new group).
 * A chain is groups joined by separator tokens of one kind. A token is whitespace, or one punctuation
 * character with optional whitespace around it (` - `); its kind is the punctuation character, else "line
 * break" when the whitespace holds one, else "space". Two punctuation characters in a row, or anything else
 * (a letter, a control, a symbol), end the chain. When the kind changes, the chain ends and the next one starts
 * with the run before the change (`2024-4111 1111 1111 1111`: `2024-4111`, then `4111 1111 1111 1111`).
 * A decimal number (two groups, one '.' between them, one script) counts by its integer part only.
 *
 * Windows. A window of 12–19 digits of a chain is a candidate when at least one of its ends lies on a group
 * boundary: a group's start (or just after the group's leading zeros) or a group's end. Its other end may lie
 * inside a group: the group the window starts or ends in, or the chain's first group (for the start) or its
 * last group (for the end). So windows anchored at either end of any run (`lpad`, `||`, glued letters), whole
 * groups of any sizes, and whole groups plus a glued head or tail; not windows with both ends inside groups
 * (docs/pan-detection.md measures those). A candidate is a PAN when its brand, length and Luhn fit, unless it
 * is exactly the 12-digit last group of a UUID or starts inside a valid IBAN (iban.ts). Every PAN followed by
 * track syntax makes the whole track the match (track.ts); overlapping PANs merge into one match, whose first 6
 * and last 4 digits masking keeps.
 *
 * Float text: a chain `d.ddd…` ended by an exponent of 11–18 (`4.111111111111111e+15`, `3.5301113333e+15`)
 * is a PAN of exponent + 1 digits when the mantissa, padded with the zeros the exponent implies, is one; the
 * match covers the mantissa digits that are the PAN's, and the exponent when masking must hide it.
 */
import { afterUuidGroup } from './boundary.ts';
import { brandOfDigitValues, type CardBrand } from './brands.ts';
import { at, CARET, DASH, EQUALS, isDigit, SPACE, UPPER_B } from './chars.ts';
import { validIbanEnd } from './iban.ts';
import { WS_V } from './strict-classes.ts';
import { track1At, track2At } from './track.ts';
import { cardMatch, type CardDataMatch } from './types.ts';

/** A few characters of the input as ASCII codes (anything else 0x80): w[k - base] is the code at offset k. */
export interface AsciiView {
  w: Uint8Array;
  n: number;
  base: number;
}

/** How the rules look at the input around a candidate (rarely: only for valid PANs and IBAN-like chains). */
export interface StrictInput {
  view(from: number, to: number): AsciiView;
}

/** Rule variants, for the measurements in docs/pan-detection.md only; the detector uses STRICT_RULES. */
export interface StrictRules {
  /** Also windows with neither end on a group boundary. */
  interior: boolean;
  /** Join groups whatever their separators' kinds. */
  mixed: boolean;
}
export const STRICT_RULES: StrictRules = { interior: false, mixed: false };

const MIN = 12;
const MAX = 19;
const DOT = 0x2e;
const KEEP_LAST = 4;
/** Chains are cut after this many digits (windows across the cut are not looked at). */
const CAP = 4096;
const KIND_SPACE = 1;
const KIND_LINE = 2;

/** Chain states, exported so the lexers can skip cheaply while nothing is open. */
export const IDLE = 0;
export const GROUP = 1;
const TOKEN = 2;

// An IBAN has at most 34 characters and 8 spaces in print.
const IBAN_REACH = 42;
const isUpper = (c: number) => c >= 0x41 && c <= 0x5a;

const DOUBLED = Uint8Array.of(0, 2, 4, 6, 8, 1, 3, 5, 7, 9);

export class StrictChain {
  /** Digit values, their input offsets, and 1 where a group starts. */
  private readonly dv = new Uint8Array(CAP);
  private readonly ds = new Int32Array(CAP);
  private readonly de = new Int32Array(CAP);
  private readonly gs = new Uint8Array(CAP + 1);
  /** 1 for an ASCII digit. */
  private readonly da = new Uint8Array(CAP);
  // Luhn sums with even / with odd positions doubled, as prefix sums.
  private readonly sumA = new Int32Array(CAP + 1);
  private readonly sumB = new Int32Array(CAP + 1);
  private readonly sci = new Uint8Array(MAX);
  private k = 0;
  private groups = 0;
  private firstGroupEnd = 0;
  private lastGroupStart = 0;
  private kind = 0;
  /** Where the last separator-delimited run starts, and the script of its last digit (-1 none yet). */
  private runStart = 0;
  private script = -1;
  private tokenPunct = 0;
  private tokenSpace = 0;
  state = IDLE;
  private out: CardDataMatch[] = [];
  private input!: StrictInput;
  private rules = STRICT_RULES;

  reset(out: CardDataMatch[], input: StrictInput, rules: StrictRules): void {
    this.out = out;
    this.input = input;
    this.rules = rules;
    this.state = IDLE;
  }

  /**
   * A digit of value v (0–9) at input offsets [s, e); `ascii` says whether it is an ASCII digit. Where
   * a run switches between ASCII and other digits a new group starts (no separator): `٤4111…` holds `4111…`.
   */
  digit(v: number, s: number, e: number, ascii: boolean): void {
    if (this.k === CAP && this.state !== IDLE) this.end();
    const script = ascii ? 0 : 1;
    if (this.state !== GROUP) this.openGroup();
    else if (this.script >= 0 && script !== this.script) this.subGroup();
    else this.gs[this.k] = 0;
    this.script = script;
    const k = this.k++;
    this.dv[k] = v;
    this.ds[k] = s;
    this.de[k] = e;
    this.da[k] = script === 0 ? 1 : 0;
  }

  /** A separator: WS_H, WS_V or a punctuation kind (≥ 0x21). */
  separator(cls: number): void {
    if (this.state === IDLE) return;
    if (this.state === GROUP) {
      this.state = TOKEN;
      this.tokenPunct = 0;
      this.tokenSpace = 0;
    }
    if (cls <= WS_V) {
      if (cls === WS_V) this.tokenSpace = KIND_LINE;
      else if (this.tokenSpace === 0) this.tokenSpace = KIND_SPACE;
    } else if (this.tokenPunct !== 0) this.end();
    else this.tokenPunct = cls;
  }

  /** Any other character, or the end of the input. */
  other(): void {
    if (this.state !== IDLE) this.end();
  }

  /**
   * An 'e' or 'E' right after the chain's last digit, followed by the exponent `exp` (-1 when there is none)
   * that ends at offset `expEnd`.
   */
  exponent(exp: number, expEnd: number): void {
    if (this.state === GROUP && exp >= MIN - 1 && exp <= MAX - 1 && this.floatPan(exp + 1, expEnd)) this.state = IDLE;
    else this.other();
  }

  private openGroup(): void {
    if (this.state === TOKEN) {
      const kind = this.tokenPunct !== 0 ? this.tokenPunct : this.tokenSpace;
      if (this.kind !== 0 && kind !== this.kind && !this.rules.mixed) {
        // A decimal's fraction stays out of the next chain too (`0.4532… 1234`).
        const decimal = this.isDecimal();
        const from = this.runStart;
        this.evaluate();
        if (decimal) this.k = this.groups = 0;
        else this.carry(from);
      }
      this.kind = this.groups === 0 ? 0 : kind;
    } else {
      this.k = 0;
      this.groups = 0;
      this.kind = 0;
    }
    this.runStart = this.k;
    this.script = -1;
    this.subGroup();
    this.state = GROUP;
  }

  /** A group starts at the next digit. */
  private subGroup(): void {
    const k = this.k;
    this.gs[k] = 1;
    if (this.groups === 1) this.firstGroupEnd = k;
    this.lastGroupStart = k;
    this.groups++;
  }

  /** The chain restarts with its digits from `from` on (its last run, one group or more) as its first run. */
  private carry(from: number): void {
    const { dv, ds, de, gs, da } = this;
    const n = this.k - from;
    this.groups = 0;
    // Element by element: runs are short, and copyWithin costs a runtime call per array.
    for (let q = 0; q < n; q++) {
      dv[q] = dv[from + q]!;
      ds[q] = ds[from + q]!;
      de[q] = de[from + q]!;
      gs[q] = gs[from + q]!;
      da[q] = da[from + q]!;
      if (gs[q] === 1) {
        if (this.groups === 1) this.firstGroupEnd = q;
        this.lastGroupStart = q;
        this.groups++;
      }
    }
    this.k = n;
    this.runStart = 0;
  }

  private end(): void {
    this.evaluate();
    this.state = IDLE;
  }

  /** Two groups, one '.' between them, one script (`𝟒.5864…` is no number). */
  private isDecimal(): boolean {
    const f = this.firstGroupEnd;
    return this.groups === 2 && this.kind === DOT && this.ds[f]! - this.de[f - 1]! === 1 && this.da[f] === this.da[f - 1];
  }

  private evaluate(): void {
    // A decimal number (`4111111111111111.50`, `0.4532…`) holds PANs in its integer part only, as normal mode
    // reads it; what reaches into the fraction counts only when it is track data.
    const panEnd = this.isDecimal() ? this.firstGroupEnd : this.k;
    const k = this.k;
    const groups = this.groups;
    if (k < MIN) return;
    const { dv, ds, de, gs, sumA, sumB } = this;
    for (let q = 0; q < k; q++) {
      const v = dv[q]!;
      const doubled = DOUBLED[v]!;
      const even = (q & 1) === 0;
      sumA[q + 1] = sumA[q]! + (even ? doubled : v);
      sumB[q + 1] = sumB[q]! + (even ? v : doubled);
    }
    const gk = gs[k]!;
    gs[k] = 1;
    const firstEnd = groups > 1 ? this.firstGroupEnd : k;
    const lastStart = groups > 1 ? this.lastGroupStart : 0;
    const interior = this.rules.interior;
    const ibanEnd = this.ibanEnd();
    // Whether every digit of the group so far is a zero: a window may start after a group's zero padding.
    let zeros = true;
    let nextStart = 0; // start of the group after digit i's (k for the last)
    for (let i = 0; i + MIN <= k; i++) {
      if (gs[i] === 1) zeros = true;
      const aligned = zeros;
      zeros = zeros && dv[i] === 0;
      if (nextStart <= i) for (nextStart = i + 1; gs[nextStart] !== 1; ) nextStart++;
      if (!aligned && i >= firstEnd && i + MIN > nextStart && !interior) continue;
      const first = dv[i]!;
      if (first < 2 || first > 6 || ds[i]! < ibanEnd) continue;
      for (let len = MIN, top = Math.min(MAX, k - i); len <= top; len++) {
        const j = i + len;
        const endAligned = gs[j] === 1;
        // An end inside a group is allowed in the last group or in the group the window starts in; a start
        // inside a group, in the first group or in the group the window ends in.
        const allowed = aligned
          ? endAligned || j <= nextStart || j > lastStart
          : endAligned && (i < firstEnd || j <= nextStart);
        if (!allowed && !interior) continue;
        const brand = brandOfDigitValues(dv, len, i);
        if (brand === undefined) continue;
        const sum = ((j - 1) & 1) === 0 ? sumB[j]! - sumB[i]! : sumA[j]! - sumA[i]!;
        if (sum % 10 !== 0) continue;
        // Every valid window, shortest first: the one right before '=' is a track's PAN (merging keeps the
        // matches disjoint, and the track takes its sentinel before a longer window covers it). The last group
        // of a UUID is no PAN, but track data all the same.
        const uuid = len === MIN && gs[i] === 1 && endAligned && this.uuidTail(ds[i]!);
        this.found(ds[i]!, de[j - 1]!, brand, !uuid && j <= panEnd);
      }
    }
    gs[k] = gk;
  }

  /**
   * The chain is the mantissa of a float whose integer part has `digits` digits: is that a PAN? The match takes
   * the exponent too when implied zeros fall where masking puts '*' (`6.304e+15` is 6304000000000000: masking
   * must hide the exponent to hide them).
   */
  private floatPan(digits: number, expEnd: number): boolean {
    const { dv, ds, de, sci } = this;
    const k = this.k;
    const shaped =
      (this.groups === 1 && k === 1) ||
      (this.groups === 2 && this.kind === DOT && this.firstGroupEnd === 1 && ds[1]! - de[0]! === 1);
    if (!shaped || k > MAX + 2) return false;
    const written = Math.min(k, digits);
    for (let q = 0; q < digits; q++) {
      sci[q] = q < written ? dv[q]! : 0;
    }
    const brand = brandOfDigitValues(sci, digits);
    if (brand === undefined || !luhnOf(sci, digits)) return false;
    this.found(ds[0]!, written < digits - KEEP_LAST ? expEnd : de[written - 1]!, brand, true);
    return true;
  }

  /** The 12 digits at offset s are the last group of a UUID (`…-a5aa-617222158322`). */
  private uuidTail(s: number): boolean {
    const { w, n, base } = this.input.view(s - 6, s);
    return at(w, n, s - 1 - base) === DASH && afterUuidGroup(w, n, s - 1 - base);
  }

  /** End offset of a valid IBAN that holds the chain's first digit, or -1 (IBAN_REACH characters back at most). */
  private ibanEnd(): number {
    const s = this.ds[0]!;
    const before = this.input.view(s - 2, s);
    const c = at(before.w, before.n, s - 1 - before.base);
    const c2 = at(before.w, before.n, s - 2 - before.base);
    if (!isUpper(c) && !(c === SPACE && (isUpper(c2) || isDigit(c2)))) return -1;
    const { w, n, base } = this.input.view(s - IBAN_REACH - 1, s + IBAN_REACH);
    let best = -1;
    for (let p = s - base - 1, lim = s - base - IBAN_REACH; p >= lim; p--) {
      const ch = at(w, n, p);
      if (!isUpper(ch) && !isDigit(ch) && ch !== SPACE) break;
      if (isUpper(ch) && isUpper(at(w, n, p - 1)) && isDigit(at(w, n, p + 1)) && isDigit(at(w, n, p + 2))) {
        const end = validIbanEnd(w, n, p + 1);
        if (end + base > s && end + base > best) best = end + base;
      }
    }
    return best;
  }

  /**
   * A PAN at [s, e) (with `pan` false, only if it starts track data): with the track around it when there is one;
   * merged into the previous match if they overlap.
   */
  private found(s: number, e: number, brand: CardBrand, pan: boolean): void {
    const out = this.out;
    const last = out.length > 0 ? out[out.length - 1]! : undefined;
    // A track does not take its sentinel from the match before; a match this PAN overlaps does not count (it
    // will be merged), the one before that does.
    const before = last !== undefined && last.end > s ? out[out.length - 2] : last;
    const floor = before === undefined ? 0 : before.end;
    let start = s;
    let end = e;
    let kind: CardDataMatch['kind'] = 'pan';
    const { w, n, base } = this.input.view(s - 2, e + 84);
    // Track syntax is ASCII (and track lengths count characters): a PAN in other digits is a PAN only.
    let ascii = true;
    for (let k = s - base; k < e - base; k++) if (w[k]! >= 0x80) ascii = false;
    const next = ascii ? at(w, n, e - base) : -1;
    const track =
      next === EQUALS
        ? track2At(w, n, s - base, e - base, floor - base)
        : next === CARET && at(w, n, s - 1 - base) === UPPER_B
          ? track1At(w, n, s - base, e - base, floor - base)
          : undefined;
    if (track === undefined && !pan) return;
    if (track !== undefined) {
      start = track.start + base;
      end = track.end + base;
      kind = next === EQUALS ? 'track2' : 'track1';
    }
    if (last !== undefined && start < last.end) {
      if (end > last.end) last.end = end;
      if (kind !== 'pan') {
        last.kind = kind;
        last.brand = undefined;
      }
      // Reaching back (a track's sentinel, a window of a carried run) can touch earlier matches too.
      for (let m = last; start < m.start; ) {
        m.start = start;
        const prev = out.length > 1 ? out[out.length - 2]! : undefined;
        if (prev === undefined || prev.end <= start) break;
        prev.end = Math.max(prev.end, m.end);
        if (m.kind !== 'pan') {
          prev.kind = m.kind;
          prev.brand = undefined;
        }
        out.pop();
        m = prev;
      }
      return;
    }
    out.push(kind === 'pan' ? cardMatch(start, end, kind, brand) : cardMatch(start, end, kind));
  }
}

function luhnOf(d: Uint8Array, n: number): boolean {
  let sum = 0;
  for (let q = 0; q < n; q++) sum += (n - 1 - q) % 2 === 1 ? DOUBLED[d[q]!]! : d[q]!;
  return sum % 10 === 0;
}
