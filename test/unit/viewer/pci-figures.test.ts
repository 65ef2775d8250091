/** PCI DSS 3.3.1 counts every kind of sensitive authentication data the appliance redacted, free-text codes too. */
import { describe, expect, it } from 'vitest';
import type { EvidenceEvent } from '../../../shared/evidence/events.ts';
import { DigestBuilder } from '../../../viewer/src/model/digest.ts';
import { figures } from '../../../viewer/src/model/pci.ts';
import type { VerificationReport } from '../../../viewer/src/model/types.ts';

describe('figures', () => {
  it('maskedRedacted includes security codes and PINs redacted from free text (kinds.sad)', () => {
    const b = new DigestBuilder('s1', { seq: 1 });
    const events: EvidenceEvent[] = [
      { seq: 0, t: 0, type: 'command', id: 1, kind: 'sql', text: "UPDATE t SET note = 'card 4111 11** **** 1111 cvv [REDACTED]'" },
      { seq: 1, t: 1, type: 'masking', command: 1, count: 2, kinds: { pan: 1, redacted: 0, sad: 1 } },
    ];
    b.add(events);
    const report = { sessions: [{ sessionId: 's1', seq: 1, status: 'complete' }], trust: { keys: [] }, withKey: true } as unknown as VerificationReport;
    const f = figures(report, new Map([['s1', b.digest]]));
    expect(f.maskedPan).toBe(1);
    expect(f.maskedRedacted).toBe(1);
  });

  it('a session purged under a signed purge record is counted as purged, not as failed', () => {
    const report = {
      sessions: [
        { sessionId: 's1', seq: 1, status: 'purged' },
        { sessionId: 's2', seq: 2, status: 'failed' },
        { sessionId: 's3', seq: 3, status: 'complete' },
      ],
      trust: { keys: [] },
      withKey: true,
    } as unknown as VerificationReport;
    const f = figures(report, new Map());
    expect([f.purged, f.failed, f.complete]).toEqual([1, 1, 1]);
  });
});
