/**
 * Keyword-anchored card security codes (CVV2, CVC2, CID…) and PINs in free text: sensitive authentication data,
 * which PCI DSS 3.3.1 forbids storing after authorisation, even encrypted. A 3–4 digit number cannot be told
 * from any other by its value (PCI.md), so a code is only found where a keyword names it:
 *
 *   keyword   strong (say "card security code" and little else): cvv, cvv2, cvc, cvc2, cv2, security code,
 *             card verification [value|code|number|data];
 *             weak (also mean other things: connection ids, course codes, hull numbers): cid, csc, cvd, cvn,
 *             cvn2; and pin. Case-insensitive, a whole word (`card_cvv`, `cardCvv` and `cvv/cvc` count, `acid`
 *             and `cvvx` do not), optionally followed by code/number/num/nr/no/value/val (`cvv_code`, `cvvCode`);
 *   tight gap 1–12 characters of whitespace, `: = - # ' " \` > , . ( [ {`, backslashes (JSON escapes) and the
 *             words `is`/`was` between spaces: `cvv: 123`, `"cvv":"123"`, `'cvv' => '123'`, `cvv is 123`;
 *   code      3–4 digits (a PIN 4–6) of any script, standing alone: no digit, ASCII letter or `_` after it, no
 *             `. , : / -` followed by a digit (so not `123.45`, `12:30`, `123-456`), not part of a card number.
 *
 * A strong keyword with a tight gap is found anywhere: an auditor reads `cvv: 123` as a CVV with no card number
 * in sight. A weak keyword, and a loose gap — up to LOOSE_GAP_CHARS characters of anything but digits, line
 * breaks and brackets, not ending in a letter (`security code on the back is 1234`) — need a card number near:
 * a PAN or track of strict mode, a PAN as the masker writes it (`4111 11** **** 1111`) or a redacted track,
 * within NEAR_PAN_CHARS characters before the keyword or after the code, in the same string. Masked forms count
 * because the verifier re-scans recorded text, where the card number is already masked: recorder and verifier
 * decide on the same text and agree. Codes are redacted whole (redactSecurityCodes), the keyword stays.
 * Not found: a code with no keyword (`4111… 12/29 123`), one glued to its keyword (`cvv123`), one further than
 * the gaps allow, an expiry date (cardholder data, not SAD). docs/pan-detection.md has the measured cost.
 */
import { TRACK_REDACTION } from './mask.ts';
import { BMP_CLASS, ESCAPE, WS_H, WS_V } from './strict-classes.ts';
import { scanTextStrict } from './strict-text.ts';
import type { CardDataMatch } from './types.ts';
import { astralDigitValue } from './unicode-digits.ts';

/** How far (UTF-16 code units) a card number may be from the keyword or the code and still be "near". */
export const NEAR_PAN_CHARS = 64;
/** The longest gap between keyword and code when a card number is near. */
export const LOOSE_GAP_CHARS = 24;
/** The longest gap between keyword and code otherwise. */
export const TIGHT_GAP_CHARS = 12;
export const SECURITY_CODE_REDACTION = '[REDACTED CVV]';
export const PIN_REDACTION = '[REDACTED PIN]';

export interface SecurityCodeMatch {
  /** [start, end) of the code's digits, in UTF-16 code units. */
  start: number;
  end: number;
  kind: 'security-code' | 'pin';
  /** The keyword as written (safe to report; the code never is). */
  keyword: string;
  /** Whether a card number was near (weak keywords and loose gaps need one). */
  nearPan: boolean;
}

// Groups: 1 strong, 2 weak, 3 PIN.
const KEYWORDS = /(cvv2?|cvc2?|cv2|security[ _-]?code|card[ _-]?verification(?:[ _-]?(?:value|code|number|data))?)|(cvn2?|cvd|cid|csc)|(pin)/gi;
const SUFFIX = /[ _-]?(?:code|number|num|nr|no|value|val)(?![A-Za-z])/iy;
// A PAN as strict masking writes it: first 6 and last 4 digits kept, '*' between, separators in place.
const MASKED_PAN = /(?<![0-9*])[0-9](?:[ .\-_/]?[0-9]){5}(?:[ .\-_/]?\*){1,32}(?:[ .\-_/]?[0-9]){4}(?![0-9*])/g;

const TIGHT_PUNCT = new Set([...":=-#'\"`>,.([{"].map((c) => c.charCodeAt(0)));
const NUMBER_JOINERS = new Set([...".,:/-"].map((c) => c.charCodeAt(0)));
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

const isAsciiLetter = (c: number) => (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a;
const isAsciiAlnum = (c: number) => isAsciiLetter(c) || (c >= 0x30 && c <= 0x39);
const isLower = (c: number) => c >= 0x61 && c <= 0x7a;
const isUpper = (c: number) => c >= 0x41 && c <= 0x5a;

/** Strict class of t[k] (digits 0–9 of any script in the BMP, punctuation as its ASCII code); -1 past the end. */
function classAt(t: string, k: number): number {
  return k < t.length ? BMP_CLASS[t.charCodeAt(k)]! : -1;
}

/** Code units of the decimal digit at t[k], any script; 0 when there is none. */
function digitLength(t: string, k: number): number {
  if (k >= t.length) return 0;
  const c = t.charCodeAt(k);
  if (c >= 0xd800 && c <= 0xdbff) {
    const lo = t.charCodeAt(k + 1);
    if (lo < 0xdc00 || lo > 0xdfff) return 0;
    return astralDigitValue(((c - 0xd800) << 10) + (lo - 0xdc00) + 0x10000) >= 0 ? 2 : 0;
  }
  return BMP_CLASS[c]! <= 9 ? 1 : 0;
}

const isSpace = (t: string, k: number) => {
  const cls = classAt(t, k);
  return cls === WS_H || cls === WS_V;
};

/** Where a tight gap starting at p ends (p when there is none). */
function tightGapEnd(t: string, p: number): number {
  let k = p;
  while (k < t.length && k - p < TIGHT_GAP_CHARS) {
    const cls = classAt(t, k);
    if (cls === WS_H || cls === WS_V || cls === ESCAPE || TIGHT_PUNCT.has(cls)) {
      k++;
      continue;
    }
    const word = /^(?:is|was)/i.exec(t.slice(k, k + 3))?.[0];
    if (word && k > p && isSpace(t, k - 1) && isSpace(t, k + word.length)) {
      k += word.length;
      continue;
    }
    break;
  }
  return k;
}

/** Where a loose gap starting at p ends, at a digit; -1 when it reaches a line break or bracket, or is too long. */
function looseGapEnd(t: string, p: number): number {
  for (let k = p; k < t.length && k - p <= LOOSE_GAP_CHARS; k++) {
    if (digitLength(t, k) > 0) return k > p && (isAsciiLetter(t.charCodeAt(k - 1)) || t.charCodeAt(k - 1) === 0x5f) ? -1 : k;
    const cls = classAt(t, k);
    if (cls === WS_V || cls === OPEN_BRACKET || cls === CLOSE_BRACKET) return -1;
  }
  return -1;
}

/** The code starting at k: its end, or -1 when it has not min–max digits or does not stand alone. */
function codeEnd(t: string, k: number, min: number, max: number): number {
  let e = k;
  let digits = 0;
  for (let len = digitLength(t, e); len > 0; len = digitLength(t, e)) {
    e += len;
    digits++;
  }
  if (digits < min || digits > max) return -1;
  const after = t.charCodeAt(e);
  if (isAsciiLetter(after) || after === 0x5f) return -1;
  if (NUMBER_JOINERS.has(classAt(t, e)) && digitLength(t, e + 1) > 0) return -1;
  return e;
}

/** Spans of card numbers in t: strict-mode PANs and tracks, masked PANs, redacted tracks. */
function cardSpans(t: string): [number, number][] {
  const found: CardDataMatch[] = [];
  scanTextStrict(t, found, false);
  const out = found.map((m): [number, number] => [m.start, m.end]);
  for (const m of t.matchAll(MASKED_PAN)) out.push([m.index, m.index + m[0].length]);
  for (let i = t.indexOf(TRACK_REDACTION); i >= 0; i = t.indexOf(TRACK_REDACTION, i + 1)) out.push([i, i + TRACK_REDACTION.length]);
  return out;
}

/** Every keyword-anchored security code and PIN in t, in input order, non-overlapping. */
export function findSecurityCodes(t: string): SecurityCodeMatch[] {
  const out: SecurityCodeMatch[] = [];
  let spans: [number, number][] | undefined;
  const cards = () => (spans ??= cardSpans(t));
  KEYWORDS.lastIndex = 0;
  for (let m = KEYWORDS.exec(t); m !== null; m = KEYWORDS.exec(t)) {
    const s = m.index;
    let e = s + m[0].length;
    if (s > 0 && isAsciiAlnum(t.charCodeAt(s - 1)) && !(isLower(t.charCodeAt(s - 1)) && isUpper(t.charCodeAt(s)))) continue;
    SUFFIX.lastIndex = e;
    const suffix = SUFFIX.exec(t);
    if (suffix) e += suffix[0].length;
    if (e < t.length && isAsciiAlnum(t.charCodeAt(e))) continue;
    const kind = m[3] !== undefined ? 'pin' : 'security-code';
    const [min, max] = kind === 'pin' ? [4, 6] : [3, 4];
    const inCard = (cs: number, ce: number) => cards().some(([ps, pe]) => ps < ce && cs < pe);
    const near = (ce: number) => cards().some(([ps, pe]) => ps - ce <= NEAR_PAN_CHARS && s - pe <= NEAR_PAN_CHARS);
    let start = tightGapEnd(t, e);
    let end = start > e ? codeEnd(t, start, min, max) : -1;
    let nearPan = false;
    if (end >= 0) {
      if (inCard(start, end)) continue;
      nearPan = near(end);
      if (m[1] === undefined && !nearPan) continue;
    } else {
      start = looseGapEnd(t, e);
      end = start >= 0 ? codeEnd(t, start, min, max) : -1;
      if (end < 0 || inCard(start, end) || !near(end)) continue;
      nearPan = true;
    }
    out.push({ start, end, kind, keyword: m[0], nearPan });
  }
  if (out.length < 2) return out;
  // A later keyword's code can come first (`cvv … cid 1234` where cvv's loose gap reaches further).
  out.sort((a, b) => a.start - b.start);
  return out.filter((x, i) => i === 0 || x.start >= out[i - 1]!.end);
}

/** Replaces every code found by its redaction; the same string comes back when there is nothing. */
export function redactSecurityCodes(t: string): { text: string; redacted: number } {
  const found = findSecurityCodes(t);
  if (found.length === 0) return { text: t, redacted: 0 };
  let text = '';
  let from = 0;
  for (const m of found) {
    text += t.slice(from, m.start) + (m.kind === 'pin' ? PIN_REDACTION : SECURITY_CODE_REDACTION);
    from = m.end;
  }
  return { text: text + t.slice(from), redacted: found.length };
}
