/**
 * Card numbers hidden in base64 (docs/kubernetes-gateway.md, "Responses"): a ConfigMap's `binaryData`, a
 * revealed Secret's `data`, or a base64 run inside any other string (an annotation, a CRD field, the
 * last-applied-configuration of an object with binaryData) is decoded, scanned with the strict scanner and,
 * when it held card data, re-encoded masked. A field the API declares as base64 that does not decode is an
 * error (the caller does not forward the body: fail closed); elsewhere, a run that only looks like base64 is
 * left as it is (it is still scanned as text).
 */
import { VigilError } from '../../../shared/errors.ts';
import { mayHoldDigit } from '../../../shared/pan/index.ts';
import type { MaskCounter } from '../../pipeline/masking.ts';

/** What was decoded and masked, for the evidence (a `result`'s or watch event's `base64` field). */
export interface Base64Tally {
  /** Declared base64 values decoded (binaryData, revealed Secret data) plus runs in other strings that held a digit once decoded. */
  decoded: number;
  /** Of those, how many held card data and were re-encoded masked. */
  masked: number;
}

export function newTally(): Base64Tally {
  return { decoded: 0, masked: 0 };
}

/** Runs this long (12 bytes decoded) or longer can hold a 13-digit card number's encoding; shorter ones cannot. */
const MIN_RUN = 16;
/** Standard or URL-safe base64 alphabet runs, with their padding. */
const RUN = /[A-Za-z0-9+/_-]{16,}={0,2}/g;
const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** Base64 inside decoded base64 (a value encoded twice) is decoded this many levels deep. */
const MAX_DEPTH = 3;

/** A value declared base64 (`binaryData`, Secret `data`) is not valid base64: the body is not forwarded. */
export class Base64FieldError extends VigilError {
  constructor(field: string) {
    super('E_KUBE_BASE64', `a ${field} value is not valid base64, so it cannot be inspected for card data`);
  }
}

/**
 * One declared base64 value: decoded (strictly), masked, re-encoded when something was masked. Throws
 * Base64FieldError when it does not decode.
 */
export function maskBase64Field(value: string, field: string, masks: MaskCounter, tally: Base64Tally): string {
  if (!STRICT_BASE64.test(value)) throw new Base64FieldError(field);
  if (value.length === 0) return value;
  tally.decoded++;
  const decoded = Buffer.from(value, 'base64');
  const masked = maskDecoded(decoded, masks, tally, 1);
  if (masked === decoded) return value;
  tally.masked++;
  return Buffer.from(masked).toString('base64');
}

/** Every base64-looking run of a free string: decoded, and re-encoded masked when it held card data. */
export function maskBase64Runs(s: string, masks: MaskCounter, tally: Base64Tally, depth = 1): string {
  if (s.length < MIN_RUN) return s;
  return s.replace(RUN, (run) => {
    const url = /[-_]/.test(run);
    const decoded = Buffer.from(run, url ? 'base64url' : 'base64');
    if (!mayHoldDigit(decoded)) return run;
    tally.decoded++;
    const masked = maskDecoded(decoded, masks, tally, depth);
    if (masked === decoded) return run;
    tally.masked++;
    const again = Buffer.from(masked).toString(url ? 'base64url' : 'base64');
    // Keep the run's own padding style (a run without `=` stays without it).
    return run.endsWith('=') || url ? again : again.replace(/=+$/, '');
  });
}

/** Decoded bytes: base64 inside them first (bounded depth), then the strict scanner. The same object when nothing changed. */
function maskDecoded(decoded: Buffer, masks: MaskCounter, tally: Base64Tally, depth: number): Uint8Array {
  let bytes: Uint8Array = decoded;
  if (depth < MAX_DEPTH) {
    const text = decoded.toString('latin1');
    const inner = maskBase64Runs(text, masks, tally, depth + 1);
    if (inner !== text) bytes = Buffer.from(inner, 'latin1');
  }
  if (!mayHoldDigit(bytes)) return bytes;
  const masked = masks.strictBytes(bytes);
  return masked === bytes || Buffer.compare(masked, bytes) === 0 ? bytes : masked;
}
