/**
 * The recorder's last pass over every event a session records: each string it carries, but the identifiers
 * Vigil generates (shared/evidence/identifier-fields.ts), has its keyword-anchored security codes and PINs
 * redacted. That is what the verifier's re-scan looks for, in the same strings (pan-rescan.ts), so an archive
 * this appliance writes never fails it for a code. Adapters redact command texts and recorded values
 * themselves (MaskCounter.evidence), counted with their command; this catches every other string: server
 * messages, notification payloads, startup settings, approver reasons. Raw `data` bytes are not rewritten.
 * Copy on write: an event with nothing to redact is recorded as given.
 */
import { isGeneratedIdentifier } from '../../shared/evidence/identifier-fields.ts';

export function redactEventStrings<T extends object>(event: T, redact: (s: string) => string): T {
  return walk(event, undefined, redact) as T;
}

function walk(v: unknown, key: string | undefined, redact: (s: string) => string): unknown {
  if (typeof v === 'string') return isGeneratedIdentifier(key, v) ? v : redact(v);
  if (Array.isArray(v)) {
    let out: unknown[] | undefined;
    v.forEach((x, i) => {
      const y = walk(x, key, redact);
      if (y !== x) (out ??= [...v])[i] = y;
    });
    return out ?? v;
  }
  if (typeof v !== 'object' || v === null || v instanceof Uint8Array || Object.getPrototypeOf(v) !== Object.prototype) return v;
  let out: Record<string, unknown> | undefined;
  for (const [k, x] of Object.entries(v)) {
    if (k === 'data') continue;
    const y = walk(x, k, redact);
    if (y !== x) (out ??= { ...(v as Record<string, unknown>) })[k] = y;
  }
  return out ?? v;
}
