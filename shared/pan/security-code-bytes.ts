/**
 * Keyword-anchored security codes and PINs (security-code.ts) in a byte stream, such as terminal output:
 * redacted with the same rules as in text, so what a stream recorder writes is what the verifier's text
 * rules accept. Valid UTF-8 is read as UTF-8 (codes in any script's digits are found); anything else byte
 * for byte as Latin-1, which keeps every byte outside a code unchanged. Runs in Node and the browser.
 */
import { findSecurityCodes, redactSecurityCodes, type SecurityCodeMatch } from './security-code.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Out = new TextEncoder();
// Every keyword has a 'c' (cvv, cid, csc, security code, card verification…) or a 'p' (pin).
const HINTS = [0x63, 0x43, 0x70, 0x50];

function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
  return s;
}

function fromLatin1(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function decode(b: Uint8Array): { text: string; encoding: 'utf8' | 'latin1' } | undefined {
  if (!HINTS.some((h) => b.includes(h))) return undefined;
  try {
    return { text: utf8.decode(b), encoding: 'utf8' };
  } catch {
    return { text: latin1(b), encoding: 'latin1' };
  }
}

export function redactSecurityCodesBytes(b: Uint8Array): { bytes: Uint8Array; redacted: number } {
  const d = decode(b);
  if (!d) return { bytes: b, redacted: 0 };
  const r = redactSecurityCodes(d.text);
  if (r.redacted === 0) return { bytes: b, redacted: 0 };
  return { bytes: d.encoding === 'utf8' ? utf8Out.encode(r.text) : fromLatin1(r.text), redacted: r.redacted };
}

/**
 * Redacts the codes of `b`, reading the bytes just before it (`context`, already redacted) for the card
 * number a weak keyword or a loose gap needs near. Returns only b's part; if a code would straddle the
 * context's end (the caller's cut should prevent it), b is redacted alone.
 */
export function redactSecurityCodesBytesAfter(context: Uint8Array, b: Uint8Array): { bytes: Uint8Array; redacted: number } {
  if (context.length === 0) return redactSecurityCodesBytes(b);
  const joined = new Uint8Array(context.length + b.length);
  joined.set(context);
  joined.set(b, context.length);
  const r = redactSecurityCodesBytes(joined);
  if (r.redacted === 0) return { bytes: b, redacted: 0 };
  const head = r.bytes.subarray(0, context.length);
  if (head.length === context.length && head.every((x, i) => x === context[i])) return { bytes: r.bytes.subarray(context.length), redacted: r.redacted };
  return redactSecurityCodesBytes(b);
}

/** The codes in bytes, indexing into the text the bytes were read as (the verifier's re-scan of byte streams). */
export function findSecurityCodesBytes(b: Uint8Array): { text: string; matches: SecurityCodeMatch[] } {
  const d = decode(b);
  return d ? { text: d.text, matches: findSecurityCodes(d.text) } : { text: '', matches: [] };
}

export function containsSecurityCodeBytes(b: Uint8Array): boolean {
  return findSecurityCodesBytes(b).matches.length > 0;
}
