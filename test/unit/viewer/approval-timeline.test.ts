/**
 * Approval before execution, visible: requested → decided (who, when, from where) → released to the target →
 * finished, from the events as the gateway's hold() records them, with the intervals between the steps.
 * A step the evidence does not hold is "not recorded" or "unknown", never a time or zero.
 */
import { describe, expect, it } from 'vitest';
import type { EvidenceEvent } from '../../../shared/evidence/events.ts';
import type { ApprovalEvidence } from '../../../shared/evidence/verify/approval-evidence.ts';
import { approvalTimeline, formatTimeMs } from '../../../viewer/src/model/approval-timeline.ts';
import { CSV_COLUMNS, chronologicalCsv } from '../../../viewer/src/model/csv.ts';
import { DigestBuilder } from '../../../viewer/src/model/digest.ts';
import { buildReport, renderHtml } from '../../../viewer/src/model/report.ts';
import { logApprovalRow } from '../../../viewer/src/model/evidence-state.ts';
import type { ApprovalRow, SessionReport, VerificationReport } from '../../../viewer/src/model/types.ts';

const START = '2026-11-29T18:00:00.000Z';
const HASH = 'ab'.repeat(32);
const at = (ms: number) => new Date(Date.parse(START) + ms).toISOString();

/** The events of one held UPDATE, field for field as PipelineSession.decide() and hold() record them. */
function held(opts: { approvedAt?: number; releasedAt?: number; finishedAt?: number; outcome?: 'approved' | 'denied' | 'expired' | 'none'; approvers?: string[]; resultBeforeRelease?: boolean }): EvidenceEvent[] {
  const ev: Omit<EvidenceEvent, 'seq'>[] = [
    { t: 0, type: 'session.open', protocol: 'postgres', client: { address: '10.20.3.8:38822' } },
    { t: 2, type: 'identity.verified', subject: 'refund-worker', issuer: 'https://spire', method: 'oidc-jwt' },
    { t: 1000, type: 'command', id: 1, kind: 'sql', text: "UPDATE accounts SET status = 'closed' WHERE id = 88231" },
    { t: 1000, type: 'decision', command: 1, decision: 'hold', rule: 'writes-need-approval', reason: 'UPDATE needs approval' },
    { t: 1001, type: 'approval.requested', command: 1, requestId: 'apr_7Q2M9Xdemo01', statement: "UPDATE accounts SET status = 'closed' WHERE id = 88231", rule: 'writes-need-approval', commandHash: HASH, approvers: { groups: ['leads'], required: (opts.approvers ?? ['alice']).length }, expiresAt: at(601_001) },
  ];
  if (opts.resultBeforeRelease) ev.push({ t: 2000, type: 'result', command: 1, status: 'ok', tag: 'UPDATE 1', rowCount: 1 });
  const approvers = opts.approvers ?? ['alice@acme.example'];
  const outcome = opts.outcome ?? 'approved';
  const decidedAt = opts.approvedAt ?? 95_001;
  if (outcome === 'approved' || outcome === 'denied') {
    approvers.forEach((who, i) => {
      const last = i === approvers.length - 1;
      const decision = outcome === 'denied' && last ? 'denied' : 'approved';
      const t = decidedAt - (approvers.length - 1 - i) * 5000;
      ev.push({ t, type: 'approval.decided', command: 1, requestId: 'apr_7Q2M9Xdemo01', decision, approver: { subject: who, issuer: 'https://login' }, reason: decision === 'denied' ? 'not now' : 'matches CHG-4411', address: `10.1.0.${22 + i}`, at: at(t), commandHash: HASH, remaining: decision === 'denied' ? approvers.length - 1 - i : approvers.length - 1 - i });
    });
  }
  if (outcome === 'expired') ev.push({ t: 601_001, type: 'approval.expired', command: 1, requestId: 'apr_7Q2M9Xdemo01', reason: `no decision before ${at(601_001)}`, commandHash: HASH });
  if (outcome !== 'none') {
    const decision = outcome;
    const t = outcome === 'expired' ? 601_002 : (opts.releasedAt ?? decidedAt + 3);
    ev.push({ t, type: 'decision', command: 1, decision, rule: 'writes-need-approval', commandHash: HASH, ...(outcome === 'approved' ? { approvedBy: approvers } : { reason: `${outcome}` }), requestId: 'apr_7Q2M9Xdemo01' });
    if (outcome !== 'approved') ev.push({ t: t + 1, type: 'error', command: 1, code: '42501', message: `the command was ${outcome}` });
  }
  if (opts.finishedAt !== undefined) ev.push({ t: opts.finishedAt, type: 'result', command: 1, status: 'ok', tag: 'UPDATE 1', rowCount: 1, durationMs: 4.2 });
  ev.push({ t: (opts.finishedAt ?? 700_000) + 40, type: 'session.close', reason: 'client terminated' });
  return ev.map((e, seq) => ({ ...e, seq }) as EvidenceEvent);
}

function approval(events: EvidenceEvent[]): ApprovalRow {
  const b = new DigestBuilder('sess-1', { seq: 3 });
  b.add(events);
  expect(b.digest.approvals).toHaveLength(1);
  return b.digest.approvals[0]!;
}

/** No step that the evidence lacks may carry a time, and nothing may read like the epoch or a zero time. */
function expectNoInventedTimes(tl: ReturnType<typeof approvalTimeline>): void {
  for (const s of tl.steps) {
    if (s.state !== 'recorded' && s.state !== 'from-log') expect(s.at, s.step).toBeNull();
    expect(s.text).not.toMatch(/1970|NaN|Invalid/);
  }
  expect(tl.interval).not.toMatch(/1970|NaN|Invalid|undefined/);
}

describe('approval timeline from the archive', () => {
  it('held, approved 1 min 34 s later, released 3 ms after the approval, finished 12 ms after its release', () => {
    const tl = approvalTimeline(approval(held({ finishedAt: 95_016 })), START);
    expect(tl.steps.map((s) => [s.step, s.state, s.at])).toEqual([
      ['requested', 'recorded', '2026-11-29T18:00:01.001Z'],
      ['decided', 'recorded', '2026-11-29T18:01:35.001Z'],
      ['released', 'recorded', '2026-11-29T18:01:35.004Z'],
      ['finished', 'recorded', '2026-11-29T18:01:35.016Z'],
    ]);
    expect(tl.steps[1].text).toBe('alice@acme.example approved from 10.1.0.22: matches CHG-4411');
    expect(tl.steps[3].text).toBe('UPDATE 1, 1 row');
    expect(tl.steps[0].text).toBe('expires 2026-11-29 18:10:01.001 UTC');
    expect([tl.waitMs, tl.leadMs, tl.runMs]).toEqual([94_000, 3, 12]);
    expect(tl.order).toBe('proven');
    expect(tl.interval).toBe('approved 1 min 34 s after the request and 3 ms before it ran; finished 12 ms after its release');
  });

  it('released in the same millisecond as the approval: the order comes from the archive event sequence', () => {
    const tl = approvalTimeline(approval(held({ releasedAt: 95_001, finishedAt: 95_013 })), START);
    expect(tl.leadMs).toBe(0);
    expect(tl.order).toBe('proven');
    expect(tl.interval).toMatch(/^approved 1 min 34 s after the request and before it ran \(released in the same millisecond; the archive's event order proves the approval came first\); finished 12 ms after its release$/);
  });

  it('approved, released, but never finished in the recording: finish "not recorded", no time and no zero', () => {
    const tl = approvalTimeline(approval(held({})), START);
    expect(tl.steps[3]).toMatchObject({ step: 'finished', state: 'not-recorded', at: null });
    expect(tl.steps[3].text).toMatch(/^not recorded: no result or error/);
    expect(tl.runMs).toBeNull();
    expect(tl.interval).toBe('approved 1 min 34 s after the request and 3 ms before it ran; its finish is not recorded');
    expectNoInventedTimes(tl);
  });

  it('an error after its release is how it finished', () => {
    const ev = held({});
    ev.splice(ev.length - 1, 0, { seq: 0, t: 95_030, type: 'error', command: 1, code: '23505', message: 'duplicate key value' });
    const tl = approvalTimeline(approval(ev.map((e, seq) => ({ ...e, seq }))), START);
    expect(tl.steps[3]).toMatchObject({ state: 'recorded', at: '2026-11-29T18:01:35.030Z', text: 'error 23505: duplicate key value' });
    expect(tl.runMs).toBe(26);
  });

  it('denied: never released, never ran; the refusal error is not a finish', () => {
    const tl = approvalTimeline(approval(held({ outcome: 'denied', approvedAt: 30_001 })), START);
    expect(tl.steps[1]).toMatchObject({ state: 'recorded', at: '2026-11-29T18:00:30.001Z', text: 'alice@acme.example denied from 10.1.0.22: not now' });
    expect(tl.steps[2]).toMatchObject({ state: 'none', at: null, text: 'never released (denied)' });
    expect(tl.steps[3]).toMatchObject({ state: 'none', at: null, text: 'never ran' });
    expect(tl.interval).toBe('denied 29.0 s after the request; never released to the target');
    expect(tl.order).toBe('proven');
    expectNoInventedTimes(tl);
  });

  it('expired without a decision', () => {
    const tl = approvalTimeline(approval(held({ outcome: 'expired' })), START);
    expect(tl.steps[1]).toMatchObject({ state: 'recorded', text: 'expired: no decision before 2026-11-29 18:10:01.001 UTC' });
    expect(tl.steps[2].state).toBe('none');
    expect(tl.interval).toBe('expired 10 min 00 s after the request without a decision; never released to the target');
  });

  it('still pending when the session ended: no decision, no release, nothing invented', () => {
    const tl = approvalTimeline(approval(held({ outcome: 'none' })), START);
    expect(tl.steps.slice(1).map((s) => [s.state, s.at])).toEqual([
      ['not-recorded', null],
      ['not-recorded', null],
      ['not-recorded', null],
    ]);
    expect(tl.interval).toBe('no decision recorded; the command was not released');
    expectNoInventedTimes(tl);
  });

  it('two approvers (N-of-M): decided when the second approved, both named with their times and addresses', () => {
    const tl = approvalTimeline(approval(held({ approvers: ['alice@acme.example', 'bob@acme.example'], finishedAt: 95_020 })), START);
    expect(tl.steps[1].at).toBe('2026-11-29T18:01:35.001Z');
    expect(tl.steps[1].text).toBe(
      'alice@acme.example approved from 10.1.0.22 at 2026-11-29 18:01:30.001 UTC: matches CHG-4411; bob@acme.example approved from 10.1.0.23 at 2026-11-29 18:01:35.001 UTC: matches CHG-4411',
    );
    expect(tl.waitMs).toBe(94_000);
  });

  it('a result recorded while the command was held, without a release: ORDER VIOLATED', () => {
    const tl = approvalTimeline(approval(held({ outcome: 'none', resultBeforeRelease: true })), START);
    expect(tl.order).toBe('violated');
    expect(tl.interval).toMatch(/^ORDER VIOLATED/);
  });

  it('a release whose seq precedes the approver decision: ORDER VIOLATED, even with plausible times', () => {
    const ev = held({ finishedAt: 95_016 });
    const i = ev.findIndex((e) => e.type === 'approval.decided');
    const [decided] = ev.splice(i, 1);
    ev.splice(ev.findIndex((e) => e.type === 'result'), 0, decided!);
    const tl = approvalTimeline(approval(ev.map((e, seq) => ({ ...e, seq }))), START);
    expect(tl.order).toBe('violated');
  });

  it('without the session start, times are offsets, never a date', () => {
    const tl = approvalTimeline(approval(held({ finishedAt: 95_016 })), undefined);
    expect(tl.steps.map((s) => s.at)).toEqual(['+1.001s', '+95.001s', '+95.004s', '+95.016s']);
  });
});

describe('approval timeline from the signed log only', () => {
  const session = { sessionId: 'sess-9', seq: 9, status: 'failed', reasons: [], source: 'log', contentAvailable: false, startedAt: START } as unknown as SessionReport;
  const evidence: ApprovalEvidence = {
    requestId: 'apr_LOGONLY00001',
    sessionId: 'sess-9',
    command: 1,
    commandHash: HASH,
    statement: null,
    rule: 'writes',
    justification: null,
    expiresAt: at(600_000),
    decisions: [{ approver: 'alice@acme.example', decision: 'approved', reason: 'ok', at: at(95_500) }],
    outcome: 'approved',
    approvedBy: ['alice@acme.example'],
    ran: null,
    hashMatches: true,
    problems: [],
    source: 'log',
    requester: 'refund-worker',
    requestedAt: at(1_500),
  };

  it('requested and decided at the log times; released and finished unknown (content unavailable)', () => {
    const tl = approvalTimeline(logApprovalRow(evidence, session), START);
    expect(tl.steps.map((s) => [s.step, s.state, s.at])).toEqual([
      ['requested', 'from-log', '2026-11-29T18:00:01.500Z'],
      ['decided', 'from-log', '2026-11-29T18:01:35.500Z'],
      ['released', 'unknown', null],
      ['finished', 'unknown', null],
    ]);
    expect(tl.steps[2].text).toBe('unknown: from the signed log; content unavailable');
    expect(tl.order).toBe('unknown');
    expect(tl.interval).toBe('approved 1 min 34 s after the request (signed log times); whether and when it ran is unknown: from the signed log; content unavailable');
    expectNoInventedTimes(tl);
  });

  it('a log row without times claims none (never the session start or zero)', () => {
    const tl = approvalTimeline(logApprovalRow({ ...evidence, requestedAt: null, decisions: [{ ...evidence.decisions[0]!, at: null }] }, session), START);
    expect(tl.steps.map((s) => s.at)).toEqual([null, null, null, null]);
    expect(tl.interval).toMatch(/^approved \(signed log\); whether and when it ran is unknown/);
    expectNoInventedTimes(tl);
  });
});

describe('formatTimeMs', () => {
  it('UTC with milliseconds; unknown stays unknown', () => {
    expect(formatTimeMs('2026-11-29T18:01:35.004Z')).toBe('2026-11-29 18:01:35.004 UTC');
    expect(formatTimeMs(null)).toBe('not recorded');
    expect(formatTimeMs('+95.004s')).toBe('+95.004s');
  });
});

describe('in the chronological CSV and the report', () => {
  const session = { sessionId: 'sess-1', seq: 3, status: 'complete', reasons: [], source: 'archive', contentAvailable: true, protocol: 'postgres', startedAt: START, context: { protocol: 'postgres', identity: { subject: 'refund-worker' }, target: { name: 'payments-db' }, client: null }, stats: {} } as unknown as SessionReport;
  const b = new DigestBuilder('sess-1', { seq: 3 });
  b.add(held({ finishedAt: 95_016 }));
  const digests = new Map([['sess-1', b.digest]]);

  it("CSV: the held command's row carries the four step times (ms) and the interval", () => {
    const lines = chronologicalCsv([session], digests).trimEnd().split('\r\n');
    const header = lines[0]!.split(',');
    const row = lines.find((l) => l.includes('UPDATE accounts'))!;
    expect(header.slice(-7)).toEqual(['approval_request', 'approval_requested_at', 'approval_decided_at', 'approval_decided', 'approval_released_at', 'approval_finished_at', 'approval_interval']);
    expect(header).toEqual([...CSV_COLUMNS]);
    expect(row).toContain(
      ',apr_7Q2M9Xdemo01,2026-11-29T18:00:01.001Z,2026-11-29T18:01:35.001Z,alice@acme.example approved from 10.1.0.22: matches CHG-4411,2026-11-29T18:01:35.004Z,2026-11-29T18:01:35.016Z,approved 1 min 34 s after the request and 3 ms before it ran; finished 12 ms after its release',
    );
  });

  it('CSV: an approved command that never finished says "not recorded", never a time', () => {
    const b2 = new DigestBuilder('sess-1', { seq: 3 });
    b2.add(held({}));
    const row = chronologicalCsv([session], new Map([['sess-1', b2.digest]])).split('\r\n').find((l) => l.includes('UPDATE accounts'))!;
    expect(row).toContain(',2026-11-29T18:01:35.004Z,not recorded: no result or error for this command in the archive,approved 1 min 34 s after the request and 3 ms before it ran; its finish is not recorded');
  });

  it('report register (HTML and PDF blocks): the four steps with ms times and the interval', () => {
    const report = { ok: true, verdict: { status: 'pass', headline: 'Verified', because: [] }, withKey: true, verifiedAt: START, trust: { applianceId: 'a', pinnedCheckpoint: { size: 1, time: START }, keys: [] }, checks: [], sessions: [session] } as unknown as VerificationReport;
    const html = renderHtml(buildReport({ report, digests, fileName: 'e.vigil', auditor: 'Dana', generatedAt: START, viewerVersion: '0' }));
    expect(html).toContain('Requested → decided → released → finished (UTC)');
    expect(html).toContain(
      'Requested 2026-11-29 18:00:01.001 UTC: expires 2026-11-29 18:10:01.001 UTC\nDecided 2026-11-29 18:01:35.001 UTC: alice@acme.example approved from 10.1.0.22: matches CHG-4411\nReleased to the target 2026-11-29 18:01:35.004 UTC: the gateway let the command through to the target\nFinished 2026-11-29 18:01:35.016 UTC: UPDATE 1, 1 row\nInterval: approved 1 min 34 s after the request and 3 ms before it ran; finished 12 ms after its release',
    );
  });
});

/** The pipeline's `command.released`, inserted after the gate's approval (or `before` it), seqs renumbered. */
function withRelease(events: EvidenceEvent[], t: number, o: { commandHash?: string; before?: boolean } = {}): EvidenceEvent[] {
  const gate = events.findIndex((e) => e.type === 'decision' && e.decision === 'approved');
  const out = [...events];
  out.splice(o.before ? gate : gate + 1, 0, { seq: 0, t, type: 'command.released', command: 1, requestId: 'apr_7Q2M9Xdemo01', commandHash: o.commandHash ?? HASH });
  return out.map((e, seq) => ({ ...e, seq }));
}

describe('approval timeline with the pipeline\'s command.released', () => {
  it('dates "released to the target" by the release event, not the gate\'s decision', () => {
    const tl = approvalTimeline(approval(withRelease(held({ finishedAt: 95_016 }), 95_010)), START);
    expect(tl.steps[2]).toMatchObject({ step: 'released', state: 'recorded', at: '2026-11-29T18:01:35.010Z' });
    expect([tl.waitMs, tl.leadMs, tl.runMs]).toEqual([94_000, 9, 6]);
    expect(tl.order).toBe('proven');
  });

  it('a release bound to another hash shows as a mismatch; one recorded before the approval violates the order', () => {
    expect(approval(withRelease(held({ finishedAt: 95_016 }), 95_010, { commandHash: 'cd'.repeat(32) })).hashCheck).toBe('mismatch');
    expect(approval(withRelease(held({ finishedAt: 95_016 }), 95_010)).hashCheck).toBe('match');
    const early = approvalTimeline(approval(withRelease(held({ finishedAt: 95_016 }), 95_004, { before: true })), START);
    expect(early.order).toBe('violated');
  });
});
