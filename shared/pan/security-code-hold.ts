/**
 * For stream maskers: how much of a chunk's tail to hold back because a keyword-anchored security code
 * (security-code.ts) may be completed by the next chunk — a keyword, or the start of one, followed only by
 * what a gap may hold. Holding more than needed only delays those bytes until the next chunk or the end of
 * the stream; holding less would let `cvv: ` and `123` pass in two pieces that neither redacts.
 */
import { LOOSE_GAP_CHARS } from './security-code.ts';

const SUFFIX = '(?:[ _-]?(?:code|number|num|nr|no|value|val))?';
const KEYWORD = '(?:cvv2?|cvc2?|cv2|security[ _-]?code|card[ _-]?verification(?:[ _-]?(?:value|code|number|data))?|cvn2?|cvd|cid|csc|pin)';
// A keyword, its suffix, then a gap with no digit or line break yet (loose gaps are the longest).
const KEYWORD_THEN_GAP = new RegExp(`${KEYWORD}${SUFFIX}[^0-9\\r\\n]{0,${LOOSE_GAP_CHARS + 4}}$`, 'i');
const SPELLINGS = ['cvv2', 'cvc2', 'cv2', 'security code', 'security_code', 'security-code', 'securitycode', 'card verification', 'card_verification', 'card-verification', 'cardverification', 'cvn2', 'cvd', 'cid', 'csc', 'pin'];
const LONGEST = 96;

function ascii(b: Uint8Array, from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) s += String.fromCharCode(b[i]!);
  return s;
}

/** The start of the tail of `b[0, cut)` to hold back as well (cut itself when nothing needs holding). */
export function securityCodeHoldStart(b: Uint8Array, cut: number): number {
  const from = Math.max(0, cut - LONGEST);
  const tail = ascii(b, from, cut);
  const m = KEYWORD_THEN_GAP.exec(tail);
  if (m) return from + m.index;
  // The chunk may end inside a keyword: `…c`, `…securi`, `…card verif`.
  const lower = tail.toLowerCase();
  for (let k = Math.min(lower.length, 'card verification'.length); k > 0; k--) {
    const end = lower.slice(lower.length - k);
    if (SPELLINGS.some((w) => w.length > k && w.startsWith(end))) return cut - k;
  }
  return cut;
}
