/**
 * Card data detector: PANs and magnetic-stripe track data in JS strings or UTF-8 bytes, scanned in place.
 *
 * A PAN is all of:
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
 * Not detected (each would cost false positives): PANs split by '.', '/', '+', tabs, double spaces or URL-encoded
 * spaces; letters glued to a PAN (`PAN4111…`); full-width digits; a space-grouped PAN right after a 4-digit
 * number (`1234 4111 1111 1111 1111`).
 *
 * Speed: the byte scanner classifies 8 bytes per step with two 32-bit loads and a table (scan-bytes.ts); the
 * string scanner samples every 4th code unit (scan-text.ts). Only matches allocate.
 */
import { scanBytes } from './scan-bytes.ts';
import { scanText } from './scan-text.ts';
import type { CardDataMatch } from './types.ts';

export { brandOf, type CardBrand } from './brands.ts';
export { luhnValid } from './luhn.ts';
export { maskCardData, maskCardDataBytes, maskPanDigits, TRACK_REDACTION } from './mask.ts';
export type { CardDataMatch } from './types.ts';

/** Every PAN and track, in input order, non-overlapping. */
export function findCardData(input: string | Uint8Array): CardDataMatch[] {
  const out: CardDataMatch[] = [];
  if (typeof input === 'string') scanText(input, out);
  else scanBytes(input, out);
  return out;
}

/** Whether there is any card data; stops at the first match. */
export function containsCardData(input: string | Uint8Array): boolean {
  return typeof input === 'string' ? scanText(input, null) : scanBytes(input, null);
}
