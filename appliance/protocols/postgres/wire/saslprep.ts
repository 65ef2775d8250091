/**
 * SASLprep (RFC 4013) of a SCRAM password, exactly as PostgreSQL's pg_saslprep() does it, because the
 * server hashed the password it stored through the same function and we must derive the same key:
 *   - pure ASCII is used as is (even control characters);
 *   - bytes that are not valid UTF-8, a password that maps to nothing, and prohibited, unassigned (Unicode
 *     3.2) or badly mixed bidirectional characters make SASLprep fail, and PostgreSQL (server and libpq)
 *     then uses the raw bytes instead — so does scramPasswordBytes();
 *   - like PostgreSQL, the prohibited/unassigned/bidi checks look at the mapped string before NFKC, and the
 *     output is the NFKC of the mapped string. NFKC comes from the JS engine's ICU, whose Unicode version may
 *     differ from PostgreSQL's tables for characters assigned since; those fall under "unassigned in 3.2"
 *     before normalization anyway.
 */
import { LCAT, MAPPED_TO_NOTHING, NON_ASCII_SPACE, PROHIBITED, RANDALCAT, UNASSIGNED } from './saslprep-tables.ts';

export type SaslprepResult = { ok: true; value: Buffer } | { ok: false; reason: 'invalid-utf8' | 'prohibited' };

export function saslprep(input: Uint8Array): SaslprepResult {
  const bytes = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (bytes.every((b) => b < 0x80)) return { ok: true, value: bytes };
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    return { ok: false, reason: 'invalid-utf8' };
  }
  const mapped: number[] = [];
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (inTable(tables.space, cp)) mapped.push(0x20);
    else if (!inTable(tables.nothing, cp)) mapped.push(cp);
  }
  if (mapped.length === 0) return { ok: false, reason: 'prohibited' };
  for (const cp of mapped) if (inTable(tables.prohibited, cp) || inTable(tables.unassigned, cp)) return { ok: false, reason: 'prohibited' };
  if (mapped.some((cp) => inTable(tables.randAL, cp))) {
    if (mapped.some((cp) => inTable(tables.l, cp))) return { ok: false, reason: 'prohibited' };
    if (!inTable(tables.randAL, mapped[0]!) || !inTable(tables.randAL, mapped[mapped.length - 1]!)) return { ok: false, reason: 'prohibited' };
  }
  return { ok: true, value: Buffer.from(String.fromCodePoint(...mapped).normalize('NFKC'), 'utf8') };
}

/** The bytes SCRAM hashes for this password: SASLprep's output, or the password itself when SASLprep fails. */
export function scramPasswordBytes(password: string | Uint8Array): Buffer {
  const raw = typeof password === 'string' ? Buffer.from(password, 'utf8') : Buffer.from(password);
  const r = saslprep(raw);
  return r.ok ? r.value : raw;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Parses "a0 2000-200b …" into [first, last, first, last, …]. */
function parseRanges(spec: string): Uint32Array {
  const items = spec.split(' ');
  const out = new Uint32Array(items.length * 2);
  items.forEach((item, i) => {
    const [a, b = a] = item.split('-') as [string, string?];
    out[2 * i] = parseInt(a, 16);
    out[2 * i + 1] = parseInt(b, 16);
  });
  return out;
}

function inTable(t: Uint32Array, cp: number): boolean {
  let lo = 0;
  let hi = t.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cp < t[2 * mid]!) hi = mid - 1;
    else if (cp > t[2 * mid + 1]!) lo = mid + 1;
    else return true;
  }
  return false;
}

const tables = {
  space: parseRanges(NON_ASCII_SPACE),
  nothing: parseRanges(MAPPED_TO_NOTHING),
  prohibited: parseRanges(PROHIBITED),
  unassigned: parseRanges(UNASSIGNED),
  randAL: parseRanges(RANDALCAT),
  l: parseRanges(LCAT),
};
