/**
 * The verifier's search for clear card data in decrypted events, at least as strict as the recorder:
 *
 * - the whole frame plaintext in normal mode (anything, anywhere, the event framing included);
 * - every recorded string value in strict mode (docs/pan-detection.md), which is how the recorder masks
 *   what it records — except the identifiers Vigil itself generates, when they have exactly their
 *   documented form (identifier-fields.ts): strict mode reads digits glued to letters, so a hex digest
 *   would look like card data about one time in two hundred, and the recorder never masks these fields;
 * - every recorded string value (same exception) for keyword-anchored card security codes and PINs
 *   (security-code.ts), with the rules the recorder redacts by, on the same (masked) text;
 * - the `data` bytes of every event in strict mode for card numbers, and those of terminal and command
 *   streams (`output`, `input`), which the stream recorders redact security codes in, for codes too (read
 *   as UTF-8, else byte for byte). Raw bytes of any other event type would be re-scanned for card numbers
 *   only (no recorder redacts codes in them; none writes such bytes today).
 */
import { findCardData, findSecurityCodes, findSecurityCodesBytes, type CardDataMatch, type SecurityCodeMatch } from '../../pan/index.ts';
import type { EvidenceEvent } from '../events.ts';
import { isGeneratedIdentifier } from '../identifier-fields.ts';

export interface RescanFinding {
  /** A PAN or track (CardDataMatch), or a security code or PIN (SecurityCodeMatch: kind and keyword, never the code). */
  match: CardDataMatch | SecurityCodeMatch;
  /** The scanned text or bytes the match indexes into. */
  input: string | Uint8Array;
}

export function rescanFrame(plain: Uint8Array, events: readonly EvidenceEvent[]): RescanFinding[] {
  const out: RescanFinding[] = [];
  for (const match of findCardData(plain)) out.push({ match, input: plain });
  if (out.length > 0) return out;
  for (const ev of events) {
    walk(ev, undefined, out);
    if (!ev.data) continue;
    for (const match of findCardData(ev.data, { strict: true })) out.push({ match, input: ev.data });
    if (ev.type === 'output' || ev.type === 'input') {
      const codes = findSecurityCodesBytes(ev.data);
      for (const match of codes.matches) out.push({ match, input: codes.text });
    }
  }
  return out;
}

function walk(v: unknown, key: string | undefined, out: RescanFinding[]): void {
  if (typeof v === 'string') {
    if (isGeneratedIdentifier(key, v)) return;
    for (const match of findCardData(v, { strict: true })) out.push({ match, input: v });
    for (const match of findSecurityCodes(v)) out.push({ match, input: v });
    return;
  }
  if (Array.isArray(v)) {
    for (const x of v) walk(x, key, out);
    return;
  }
  if (typeof v === 'object' && v !== null && !(v instanceof Uint8Array)) {
    for (const [k, x] of Object.entries(v)) if (k !== 'data') walk(x, k, out);
  }
}
