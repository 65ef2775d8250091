/**
 * The verifier's search for clear card data in decrypted events, at least as strict as the recorder:
 *
 * - the whole frame plaintext in normal mode (anything, anywhere, the event framing included);
 * - every recorded string value in strict mode (docs/pan-detection.md), which is how the recorder masks
 *   what it records — except the identifiers Vigil itself generates, when they have exactly their
 *   documented form (a keyed hash is 64 hex digits, a session id a UUID…): strict mode reads digits glued
 *   to letters, so a hex digest would look like card data about one time in two hundred, and the recorder
 *   never masks these fields. An identifier field whose value does not have its form is scanned strictly.
 */
import { findCardData, type CardDataMatch } from '../../pan/index.ts';
import type { EvidenceEvent } from '../events.ts';

const HEX64 = /^[0-9a-f]{64}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Vigil-generated identifier fields and their exact forms. */
const IDENTIFIERS: Readonly<Record<string, RegExp>> = {
  commandHash: HEX64,
  tokenHash: /^b2k:[0-9a-f]{64}$/,
  sessionId: UUID,
  requestId: /^apr_[A-Za-z0-9_-]{12}$/,
  fingerprint: /^[0-9a-f]{16}$|^(empty|unparsed|unfingerprinted)$/,
  // A token's jti is the client's, but is a UUID by nearly every issuer's convention.
  tokenId: UUID,
};

export interface RescanFinding {
  match: CardDataMatch;
  /** The scanned text or bytes the match indexes into. */
  input: string | Uint8Array;
}

export function rescanFrame(plain: Uint8Array, events: readonly EvidenceEvent[]): RescanFinding[] {
  const out: RescanFinding[] = [];
  for (const match of findCardData(plain)) out.push({ match, input: plain });
  if (out.length > 0) return out;
  for (const ev of events) {
    walk(ev, undefined, out);
    if (ev.data) for (const match of findCardData(ev.data, { strict: true })) out.push({ match, input: ev.data });
  }
  return out;
}

function walk(v: unknown, key: string | undefined, out: RescanFinding[]): void {
  if (typeof v === 'string') {
    const form = key === undefined ? undefined : IDENTIFIERS[key];
    if (form?.test(v)) return;
    for (const match of findCardData(v, { strict: true })) out.push({ match, input: v });
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
