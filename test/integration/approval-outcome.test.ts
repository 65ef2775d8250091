/**
 * A held command must end with its outcome in the archive. A `hold` decision with no request and no final
 * decision (what a held Parse used to leave) says a command waited for a human and never says what happened:
 * the verifier fails the approvals check for a complete archive, and accepts it (pending) for an interrupted one.
 */
import { describe, expect, it } from 'vitest';
import { ApprovalCollector } from '../../shared/evidence/verify/approval-evidence.ts';
import type { EvidenceEvent } from '../../shared/evidence/events.ts';
import type { EventInput } from '../../appliance/evidence/archive-writer.ts';
import { failures, recordedBundle, verifyBytes } from '../helpers/evidence.ts';

const ev = (seq: number, e: Record<string, unknown>): EvidenceEvent => ({ seq, t: seq, ...e }) as EvidenceEvent;

const held = [
  ev(0, { type: 'command', id: 1, kind: 'sql', text: "UPDATE cards SET note = 'x'" }),
  ev(1, { type: 'decision', command: 1, decision: 'hold', rule: 'writes-need-approval' }),
];

describe('a held command without an outcome', () => {
  it('fails a complete archive and names the command; an interrupted archive may stop while it waits', () => {
    const complete = new ApprovalCollector('s1');
    complete.add(held);
    expect(complete.finish({ complete: true }).problems).toEqual(['command 1 was held for approval but the archive records no outcome for it (approved, denied or expired)']);
    const interrupted = new ApprovalCollector('s1');
    interrupted.add(held);
    expect(interrupted.finish({ complete: false }).problems).toEqual([]);
  });

  it('an outcome without a request (the gate could not create one) ends the hold', () => {
    const c = new ApprovalCollector('s1');
    c.add([...held, ev(2, { type: 'decision', command: 1, decision: 'denied', rule: 'writes-need-approval', requestId: null, reason: 'the approval service failed' })]);
    expect(c.finish({ complete: true }).problems).toEqual([]);
  });

  it('through the real recorder, exporter and verifier', async () => {
    const { appliance: A, bundle } = await recordedBundle([{ subject: 'bot', events: held.map(({ seq: _s, t: _t, ...e }) => e as EventInput) }]);
    const r = await verifyBytes(bundle, A.trust, A.auditor);
    expect(r.ok).toBe(false);
    expect(failures(r)).toEqual([expect.stringMatching(/^approvals: session #1 \(\w+\): command 1 was held for approval but the archive records no outcome for it/)]);
    expect(r.checks.find((c) => c.id === 'approvals')?.status).toBe('fail');
  });
});
