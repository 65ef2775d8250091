/**
 * The verifier's re-scan skips Vigil-generated identifiers only in their exact form: a transfer's SHA-256
 * (64 hex digits, which strict mode reads as glued digits) is not a card number; the same text under any other
 * key, or a "sha256" that is not a digest, is scanned.
 */
import { describe, expect, it } from 'vitest';
import type { EvidenceEvent } from '../../../../shared/evidence/events.ts';
import { rescanFrame } from '../../../../shared/evidence/verify/pan-rescan.ts';
import { isGeneratedIdentifier } from '../../../../shared/evidence/identifier-fields.ts';
import { redactEventStrings } from '../../../../appliance/pipeline/recorded-text.ts';
import { redactSecurityCodes } from '../../../../shared/pan/security-code.ts';

const digestHoldingAPan = `a4111111111111111${'b'.repeat(47)}`;
const none = new Uint8Array(0);
const ev = (e: Record<string, unknown>) => [e as EvidenceEvent];

describe('generated identifiers in the re-scan', () => {
  it('a transfer sha256 of its exact form is not re-scanned', () => {
    expect(digestHoldingAPan).toMatch(/^[0-9a-f]{64}$/);
    expect(rescanFrame(none, ev({ type: 'transfer', sha256: digestHoldingAPan }))).toEqual([]);
  });

  it('the same text under another key, or a sha256 not of that form, is', () => {
    expect(rescanFrame(none, ev({ type: 'transfer', path: digestHoldingAPan }))).toHaveLength(1);
    expect(rescanFrame(none, ev({ type: 'transfer', sha256: `${digestHoldingAPan}0` }))).toHaveLength(1);
    expect(rescanFrame(none, ev({ type: 'transfer', sha256: 'card 4111111111111111' }))).toHaveLength(1);
  });
});

describe('field names the client chose', () => {
  it("names of Object.prototype's members are plain fields: no TypeError, redacted and re-scanned like any other", () => {
    for (const key of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf']) expect(isGeneratedIdentifier(key, 'cvv 123')).toBe(false);
    // A recorded object whose keys the client chose (query parameters, startup settings).
    const event = { type: 'request', query: { constructor: 'cvv: 123', toString: 'ok' } };
    const out = redactEventStrings(event, (s) => redactSecurityCodes(s).text);
    expect(out.query.constructor).not.toContain('123');
    expect(out.query.toString).toBe('ok');
    expect(rescanFrame(none, ev({ type: 'request', query: { constructor: 'card 4111111111111111' } }))).toHaveLength(1);
  });
});
