/**
 * The verifier's re-scan skips Vigil-generated identifiers only in their exact form: a transfer's SHA-256
 * (64 hex digits, which strict mode reads as glued digits) is not a card number; the same text under any other
 * key, or a "sha256" that is not a digest, is scanned.
 */
import { describe, expect, it } from 'vitest';
import type { EvidenceEvent } from '../../../../shared/evidence/events.ts';
import { rescanFrame } from '../../../../shared/evidence/verify/pan-rescan.ts';

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
