/**
 * "The held command ran" is protocol-neutral: the pipeline's `command.released` (a held SSH command has no
 * SQL `result`) counts as much as a result. A release of a command that was not approved, or bound to
 * another hash or request, fails the approvals check. Through the real recorder, exporter and verifier.
 */
import { describe, expect, it } from 'vitest';
import type { EventInput } from '../../appliance/evidence/archive-writer.ts';
import { failures, recordedBundle, verifyBytes } from '../helpers/evidence.ts';

const HASH = 'a'.repeat(64);
const OTHER = 'b'.repeat(64);
const REQ = 'apr_AAAAAAAAAAAA';
const approver = { subject: 'alice', issuer: 'https://idp.example' };

const requested: EventInput[] = [
  { type: 'command', id: 1, kind: 'exec', text: 'systemctl restart settlement', classification: [{ class: 'exec', command: 'systemctl', tags: [], tables: [] }] },
  { type: 'decision', command: 1, decision: 'hold', rule: 'ops/restarts', reason: 'restarts need a human' },
  { type: 'approval.requested', command: 1, requestId: REQ, statement: 'systemctl restart settlement', rule: 'ops/restarts', commandHash: HASH, expiresAt: '2099-01-01T00:00:00.000Z' },
];
const approved: EventInput[] = [
  ...requested,
  { type: 'approval.decided', command: 1, requestId: REQ, decision: 'approved', approver, reason: null, address: null, at: '2026-12-01T00:00:00.000Z', commandHash: HASH, remaining: 0 },
  { type: 'decision', command: 1, decision: 'approved', rule: 'ops/restarts', commandHash: HASH, approvedBy: ['alice'], requestId: REQ },
];
const denied: EventInput[] = [
  ...requested,
  { type: 'approval.decided', command: 1, requestId: REQ, decision: 'denied', approver, reason: 'no', address: null, at: '2026-12-01T00:00:00.000Z', commandHash: HASH, remaining: 0 },
  { type: 'decision', command: 1, decision: 'denied', rule: 'ops/restarts', commandHash: HASH, reason: 'no', requestId: REQ },
];
const released = (over: Record<string, unknown> = {}): EventInput => ({ type: 'command.released', command: 1, requestId: REQ, commandHash: HASH, ...over });

async function verify(events: EventInput[]) {
  const { appliance: A, bundle } = await recordedBundle([{ subject: 'ssh-bot', protocol: 'ssh', events: [{ type: 'session.open', protocol: 'ssh' }, ...events] }]);
  const r = await verifyBytes(bundle, A.trust, A.auditor);
  // Written straight into the recorder: the log never heard of the request, which the check says too.
  const problems = failures(r).filter((f) => f.startsWith('approvals: ') && !f.endsWith('is not in the transparency log'));
  return { r, problems, approval: r.approvals?.find((a) => a.requestId === REQ) };
}

describe('command.released: a held command reached the target', () => {
  it('counts as the approved command having run, without any result', async () => {
    const { problems, approval } = await verify([...approved, released(), { type: 'output', channel: 0, stream: 'stdout', data: new TextEncoder().encode('ok\n') }]);
    expect(problems).toEqual([]);
    expect(approval).toMatchObject({ requestId: REQ, outcome: 'approved', ran: true, hashMatches: true });
    const { approval: notReleased } = await verify(approved);
    expect(notReleased?.ran, 'approved but neither released nor a result: it did not run as far as the archive says').toBe(false);
  });

  it('fails for a denied command, a command never held, another hash or another request', async () => {
    expect((await verify([...denied, released()])).problems).toEqual([expect.stringMatching(/command 1 was released to the target without an approval$/)]);
    const allowed: EventInput[] = [{ type: 'command', id: 1, kind: 'exec', text: 'uptime' }, { type: 'decision', command: 1, decision: 'allow', rule: 'ops/read' }, released()];
    expect((await verify(allowed)).problems).toEqual([expect.stringMatching(/command 1 was released to the target without an approval$/)]);
    const otherHash = await verify([...approved, released({ commandHash: OTHER })]);
    expect(otherHash.problems).toEqual([expect.stringMatching(/request apr_AAAAAAAAAAAA: the release names another command hash than the request$/)]);
    expect(otherHash.approval?.hashMatches).toBe(false);
    expect((await verify([...approved, released({ requestId: 'apr_BBBBBBBBBBBB' })])).problems).toEqual([
      expect.stringMatching(/request apr_AAAAAAAAAAAA: the release of command 1 names another request \(apr_BBBBBBBBBBBB\)$/),
    ]);
  });
});
