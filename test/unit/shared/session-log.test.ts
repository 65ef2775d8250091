/**
 * What the signed log alone proves about a session (shared/evidence/verify/session-log.ts): identity and
 * target from `session.started` or a later `session.identified`, the last anchor, and every approval
 * request's state — requested, approved, denied, expired, cancelled — from the log's approval entries.
 */
import { describe, expect, it } from 'vitest';
import { parseLogEntry } from '../../../shared/evidence/log-entry.ts';
import { approvalsFromLog, collect, compareWithLog, type SessionLog } from '../../../shared/evidence/verify/session-log.ts';

const H = 'ab'.repeat(32);
const S = 'sess-1';

function fold(entries: Record<string, unknown>[]): Map<string, SessionLog> {
  const m = new Map<string, SessionLog>();
  const get = (id: string) => {
    let s = m.get(id);
    if (!s) m.set(id, (s = { anchors: [], approvals: new Map() }));
    return s;
  };
  entries.forEach((e, i) => collect(parseLogEntry(JSON.stringify({ i, t: `2026-12-02T10:00:${String(i).padStart(2, '0')}.000Z`, ...e }), i), get));
  return m;
}

describe('session facts from the log', () => {
  it('identity and target: null at start, filled by session.identified', () => {
    const log = fold([
      { type: 'session.started', sessionId: S, seq: 1, protocol: 'postgres', subject: null, target: null, headerDigest: H, archive: 'a' },
      { type: 'session.identified', sessionId: S, subject: 'repo:acme/etl', target: 'payments-db' },
      { type: 'session.anchor', sessionId: S, frames: 3, chainHead: H },
    ]).get(S)!;
    expect(log).toMatchObject({ subject: 'repo:acme/etl', target: 'payments-db', lastAnchorAt: '2026-12-02T10:00:02.000Z' });
    expect(log.anchors).toEqual([{ frames: 3, chainHead: H, logIndex: 2 }]);
  });

  it('identity and target carried by session.started itself', () => {
    const log = fold([{ type: 'session.started', sessionId: S, seq: 1, protocol: 'ssh', subject: 'deploy-bot', target: 'host', headerDigest: H, archive: 'a' }]).get(S)!;
    expect(log).toMatchObject({ subject: 'deploy-bot', target: 'host' });
  });
});

describe('approval states from the log', () => {
  const req = (id: string) => ({ type: 'approval.requested', requestId: id, sessionId: S, command: 2, commandHash: H, rule: 'r', requester: 'bot', expiresAt: '2026-12-02T11:00:00.000Z' });
  const log = fold([
    req('apr_a'),
    { type: 'approval.decided', requestId: 'apr_a', sessionId: S, commandHash: H, approver: 'alice', decision: 'approve', reason: 'ok', remaining: 1 },
    { type: 'approval.decided', requestId: 'apr_a', sessionId: S, commandHash: H, approver: 'bob', decision: 'approve', reason: null, remaining: 0 },
    req('apr_b'),
    { type: 'approval.decided', requestId: 'apr_b', sessionId: S, commandHash: H, approver: 'carol', decision: 'deny', reason: 'no', remaining: 0 },
    req('apr_c'),
    { type: 'approval.expired', requestId: 'apr_c', sessionId: S, commandHash: H, reason: 'timeout' },
    req('apr_d'),
    { type: 'approval.cancelled', requestId: 'apr_d', sessionId: S, commandHash: H, reason: 'client left' },
    req('apr_e'),
    { type: 'approval.decided', requestId: 'apr_e', sessionId: S, commandHash: H, approver: 'alice', decision: 'approve', reason: null, remaining: 1 },
    req('apr_f'),
    { type: 'approval.decided', requestId: 'apr_f', sessionId: S, commandHash: 'cd'.repeat(32), approver: 'alice', decision: 'approve', remaining: 0 },
  ]).get(S)!;
  const rows = approvalsFromLog(S, log);
  const by = (id: string) => rows.find((a) => a.requestId === id)!;

  it('each request keeps its state; what ran is unknown', () => {
    expect(by('apr_a')).toMatchObject({ outcome: 'approved', approvedBy: ['alice', 'bob'], source: 'log', ran: null, statement: null, command: 2, requester: 'bot' });
    expect(by('apr_a').decisions.map((d) => d.at)).toEqual(['2026-12-02T10:00:01.000Z', '2026-12-02T10:00:02.000Z']);
    expect(by('apr_b')).toMatchObject({ outcome: 'denied' });
    expect(by('apr_c')).toMatchObject({ outcome: 'expired' });
    expect(by('apr_d')).toMatchObject({ outcome: 'cancelled' });
    expect(by('apr_e')).toMatchObject({ outcome: 'pending' }); // requested, one approver of two
    expect(by('apr_a').hashMatches).toBe(true);
  });

  it('a decision naming another hash than its request is a problem', () => {
    expect(by('apr_f')).toMatchObject({ hashMatches: false });
    expect(by('apr_f').problems[0]).toMatch(/different command hashes/);
    const problems = compareWithLog([{ ...by('apr_a'), source: 'archive' }], log);
    expect(problems).toContain('the log has request apr_b for this session, the archive does not');
  });
});
