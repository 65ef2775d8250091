/**
 * Card data detector: PANs and magnetic-stripe track data in JS strings or UTF-8 bytes, scanned in place. Two
 * modes: normal (the default) for ordinary result values, strict (`{ strict: true }`) for values of columns
 * that hold cardholder data, error and notice messages, NOTIFY payloads, everything recorded as evidence and the
 * verifier's re-scan. docs/pan-detection.md has the rules with examples and the measured false positives.
 *
 * Normal mode. A PAN is all of:
 *   - 12–19 digits whose IIN prefix and length fit a brand (brands.ts, the PCI.md table) and pass Luhn;
 *   - written without separators, or grouped by single spaces or single dashes (never mixed) at the boundaries
 *     for its length: 12 4-4-4, 13 4-4-5, 14 4-6-4, 15 4-6-5, 16 4-4-4-4, 17–19 4-4-4-4-1/2/3 (grouping.ts);
 *   - standing alone (boundary.ts): no ASCII digit, letter or '_' touching either end, no '-' or '.' between it
 *     and another digit, not the last group of a UUID. So a PAN-shaped window of a longer digit run (20+ digits,
 *     `x94111…`), of a dashed number (`2024-4111…`), of a decimal (`4111….50`, `0.4532…`), of a hex id or a word
 *     is not a PAN. Whitespace, other punctuation ('+' included) and non-ASCII characters are separators.
 *     Forgiven letters: an escape (`\n4111…`), a URL escape (`%3D4111…`, and `%204111…` whose escape digits
 *     glue), and the track 1 format code (`B4111…^`) so a PAN in a track that does not parse is still found;
 *   - dash-grouped: the whole dashed chain. Space-grouped: may be followed by other numbers (the longest valid
 *     grouping wins, `4111 1111 1111 1111 12 25`), but a 4-4-4 before another 4-digit group is never a 12-digit
 *     PAN, and it never starts right after a lone 4-digit group (unless that ended the previous match) nor
 *     inside an IBAN's groups (iban.ts).
 * Track 2 and track 1 (track.ts): a valid PAN followed by `=YYMMSSS`, or preceded by `B` and followed by
 * `^NAME^YYMMSSS`, sentinels optional; the match takes the whole track with its discretionary data, up to the
 * end sentinel or the first character that cannot belong to the track, at most 40 / 79 characters.
 * Not detected in normal mode (each would cost false positives): PANs split by '.', '/', '+', tabs, double
 * spaces or URL-encoded spaces; letters glued to a PAN (`PAN4111…`); full-width digits; a space-grouped PAN
 * right after a 4-digit number (`1234 4111 1111 1111 1111`).
 *
 * Strict mode (strict-chain.ts; brand, length and Luhn still required):
 *   - digits: every Unicode decimal digit (Nd: full-width, Arabic-Indic, Devanagari, mathematical…);
 *   - glue does not protect: letters, '_' or other digits touching a PAN. Windows anchored at either end of a
 *     digit run are candidates (`x4111…`, `00004111…` from lpad, `4111…7`), windows with both ends inside a
 *     run are not (they double the false positives on long ids for forms that `lpad`/`||` do not produce);
 *   - groups of any sizes joined by one kind of separator: any ASCII punctuation ('*' included), whitespace
 *     runs (tabs, double spaces, Unicode spaces, zero-width joiners; a line break is a kind of its own), or
 *     one punctuation character padded by whitespace (` - `); JSON escapes `\t` `\n` `\r` `\"` `\\` `\/`
 *     count as what they encode. Mixed separators do not join (`4111 1111-1111 1111`): joining them would
 *     match about 4 in 10 rows of text tables (dates, times, amounts in a row);
 *   - float8 text: the mantissa of `4.111111111111111e+15`, with the zeros a shorter mantissa implies;
 *   - money text (`$4,111,111,111,111,111.00`), uuid (`00000000-0000-4111-1111-111111111111`), point
 *     (`(4111111111111111,0)`) follow from the rules above;
 *   - not PANs: the fraction of a decimal number (`0.4532…`), the 12-digit last group of a UUID, digits
 *     inside an IBAN whose mod-97 check holds; overlapping candidates merge into one match.
 * Strict masking keeps the first 6 and last 4 digits of a match as written and makes every other digit one
 * '*' (strict-mask.ts); it repeats on its own output until nothing is found, so masking is idempotent.
 *
 * Speed: the byte scanner classifies 8 bytes per step with two 32-bit loads and a table (scan-bytes.ts); the
 * string scanner samples every 4th code unit (scan-text.ts). Strict mode looks at every character (one table
 * look-up) and at windows only for chains of 12 digits or more. Only matches allocate.
 */
import { maskCardData } from './mask.ts';
import { scanBytes } from './scan-bytes.ts';
import { redactSecurityCodes } from './security-code.ts';
import { scanText } from './scan-text.ts';
import { scanBytesStrict } from './strict-bytes.ts';
import { displayDigits, matchDigits } from './strict-mask.ts';
import { scanTextStrict } from './strict-text.ts';
import type { CardDataMatch, CardDataOptions } from './types.ts';

export { brandOf, type CardBrand } from './brands.ts';
export { luhnValid } from './luhn.ts';
export { maskCardData, maskCardDataBytes, maskPanDigits, TRACK_REDACTION } from './mask.ts';
export type { CardDataMatch, CardDataOptions } from './types.ts';
export {
  findSecurityCodes,
  LOOSE_GAP_CHARS,
  NEAR_PAN_CHARS,
  PIN_REDACTION,
  redactSecurityCodes,
  SECURITY_CODE_REDACTION,
  TIGHT_GAP_CHARS,
  type SecurityCodeMatch,
} from './security-code.ts';
export { mayHoldDigit } from './strict-bytes.ts';
export { containsSecurityCodeBytes, findSecurityCodesBytes, redactSecurityCodesBytes, redactSecurityCodesBytesAfter } from './security-code-bytes.ts';

/** Every PAN and track, in input order, non-overlapping. */
export function findCardData(input: string | Uint8Array, opts?: CardDataOptions): CardDataMatch[] {
  const out: CardDataMatch[] = [];
  if (opts?.strict === true) {
    if (typeof input === 'string') scanTextStrict(input, out, false);
    else scanBytesStrict(input, out, false);
  } else if (typeof input === 'string') scanText(input, out);
  else scanBytes(input, out);
  return out;
}

/** Whether there is any card data; stops at the first match. */
export function containsCardData(input: string | Uint8Array, opts?: CardDataOptions): boolean {
  if (opts?.strict === true) {
    return typeof input === 'string' ? scanTextStrict(input, [], true) : scanBytesStrict(input, [], true);
  }
  return typeof input === 'string' ? scanText(input, null) : scanBytes(input, null);
}

/**
 * A PAN match of either mode as it may be shown: its digits (any script, as ASCII, with the zeros a float's
 * exponent implies) with all but the first 6 and last 4 masked, e.g. `411111******1111`.
 */
export function maskedMatchDigits(input: string | Uint8Array, match: CardDataMatch): string {
  return displayDigits(matchDigits(input, match));
}

/**
 * What everything recorded or shown as evidence goes through (command texts, parameters, approval requests):
 * PANs and tracks masked in strict mode, then keyword-anchored security codes and PINs redacted
 * (security-code.ts) on the masked text, which is what the verifier re-scans. Idempotent.
 */
export function maskEvidenceText(input: string): { text: string; masked: number; redacted: number } {
  const pans = maskCardData(input, { strict: true });
  const codes = redactSecurityCodes(pans.text);
  return { text: codes.text, masked: pans.masked, redacted: codes.redacted };
}
