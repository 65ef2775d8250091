/**
 * An archive that holds a clear keyword-anchored security code fails the verifier's re-scan (with the key
 * only), and the report names the keyword, never the code — as for a clear PAN (evidence-tamper.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { failures, recordedBundle, verifyBytes } from '../helpers/evidence.ts';

describe('clear security codes in recorded content', () => {
  it('are found by the re-scan, reported without their digits', async () => {
    // Straight into the recorder, as a recorder that did not redact would write it.
    const { appliance: B, bundle: b } = await recordedBundle([
      {
        subject: 'leaky',
        events: [
          { type: 'session.open', protocol: 'postgres' },
          { type: 'command', id: 1, kind: 'sql', text: "UPDATE customers SET note = 'card 4111 11** **** 1111 cvv 987' WHERE id = 2" },
          { type: 'decision', command: 1, decision: 'allow', rule: 'r' },
        ],
      },
    ]);
    expect((await verifyBytes(b, B.trust)).ok, 'without the key nothing is decrypted, nothing re-scanned').toBe(true);
    const r = await verifyBytes(b, B.trust, B.auditor);
    const text = failures(r).join('\n');
    expect(text).toMatch(/pan-rescan: .*frame \d+: clear card security code \(after "cvv"\) in recorded content/);
    expect(text).not.toContain('987');
    expect(JSON.stringify(r)).not.toContain('cvv 987');
    // The archive is intact (its digests hold): only the re-scan fails, and digests is not made partial by it.
    expect(r.checks.find((c) => c.id === 'digests')).toMatchObject({ status: 'pass', covered: 1, total: 1 });
    expect(r.checks.find((c) => c.id === 'pan-rescan')?.status).toBe('fail');
  });
});
