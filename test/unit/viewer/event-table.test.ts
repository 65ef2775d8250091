/**
 * The event table that is also the CSV: one row per event kind that matters, millisecond UTC times,
 * identity, target, command, decision, rule, block reason, approval request and steps, result, bind
 * parameters as recorded (masked); RFC 4180 with spreadsheet formulas neutralised (command texts are
 * attacker-controlled); sessions without content contribute only what the signed log proves.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { memorySource } from '../../../shared/evidence/byte-source.ts';
import type { EvidenceEvent } from '../../../shared/evidence/events.ts';
import { writeDemoEvidence } from '../../../appliance/demo/evidence-demo.ts';
import { BundleEngine } from '../../../viewer/src/worker/engine.ts';
import { FAST_KDF, members, rewriteBundle, tempDir } from '../../helpers/evidence.ts';
import type { ApprovalEvidence } from '../../../shared/evidence/verify/approval-evidence.ts';
import { EVENT_CSV_HEADER, eventRows, eventTableCsv, loadEventTable, logRows, rowMatches, sortRows, type EventRow } from '../../../viewer/src/model/event-table.ts';
import type { SessionReport } from '../../../viewer/src/model/types.ts';

const START = '2026-11-29T18:00:00.000Z';
const HASH = 'cd'.repeat(32);
const session = (seq: number, extra: Partial<SessionReport> = {}): SessionReport =>
  ({
    sessionId: `sess-${seq}`,
    seq,
    status: 'complete',
    reasons: [],
    source: 'archive',
    contentAvailable: true,
    file: `archives/0000000${seq}-sess-${seq}.vsa`,
    protocol: 'postgres',
    startedAt: START,
    context: { protocol: 'postgres', identity: { subject: 'refund-worker' }, target: { name: 'payments-db' }, client: { address: '10.20.3.8:38822' } },
    ...extra,
  }) as SessionReport;

const events = (list: Omit<EvidenceEvent, 'seq'>[]): EvidenceEvent[] => list.map((e, seq) => ({ ...e, seq }) as EvidenceEvent);

const HELD = events([
  { t: 0, type: 'session.open', protocol: 'postgres', client: { address: '10.20.3.8:38822' } },
  { t: 1, type: 'identity.verified', subject: 'refund-worker', issuer: 'https://spire', method: 'oidc-jwt', tokenHash: 'b2k:' + 'e'.repeat(64) },
  { t: 2, type: 'decision', decision: 'allow', rule: 'billing/access', scope: 'session', target: 'payments-db' },
  { t: 10, type: 'command', id: 1, kind: 'sql', text: 'SELECT * FROM cards WHERE pan = $1', params: ['411111******1111', null] },
  { t: 10, type: 'decision', command: 1, decision: 'allow', rule: 'reads' },
  { t: 14, type: 'result', command: 1, status: 'ok', tag: 'SELECT 1', rowCount: 1, durationMs: 3.5 },
  { t: 15, type: 'output', stream: 'stdout', data: new Uint8Array([65]) },
  { t: 15, type: 'masking', command: 1, count: 1, kinds: { pan: 1 } },
  { t: 1000, type: 'command', id: 2, kind: 'sql', text: "UPDATE accounts SET status = 'closed' WHERE id = 88231" },
  { t: 1000, type: 'decision', command: 2, decision: 'hold', rule: 'writes-need-approval', reason: 'UPDATE needs approval' },
  { t: 1001, type: 'approval.requested', command: 2, requestId: 'apr_7Q2M9Xdemo01', rule: 'writes-need-approval', commandHash: HASH, justification: 'CHG-4411', expiresAt: '2026-11-29T18:10:01.001Z' },
  { t: 95_001, type: 'approval.decided', command: 2, requestId: 'apr_7Q2M9Xdemo01', decision: 'approved', approver: { subject: 'alice@acme.example' }, reason: 'matches CHG-4411', address: '10.1.0.22', at: '2026-11-29T18:01:35.001Z', commandHash: HASH, remaining: 0 },
  { t: 95_004, type: 'decision', command: 2, decision: 'approved', rule: 'writes-need-approval', commandHash: HASH, approvedBy: ['alice@acme.example'], requestId: 'apr_7Q2M9Xdemo01' },
  { t: 95_016, type: 'result', command: 2, status: 'ok', tag: 'UPDATE 1', rowCount: 1 },
  { t: 96_000, type: 'command', id: 3, kind: 'sql', text: 'DROP TABLE customers' },
  { t: 96_000, type: 'decision', command: 3, decision: 'block', rule: 'no-ddl', reason: 'DROP is never allowed' },
  { t: 96_001, type: 'error', command: 3, code: '42501', message: 'blocked by policy "no-ddl"' },
  { t: 96_100, type: 'notice', kind: 'target-connected' },
  { t: 96_500, type: 'session.close', reason: 'client terminated' },
]);

/** An RFC 4180 reader (quoted fields, doubled quotes, CRLF records): the test reads the CSV as a spreadsheet would. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (cell += '"'), (i += 2);
      else if (c === '"') (quoted = false), i++;
      else (cell += c), i++;
    } else if (c === '"' && cell === '') (quoted = true), i++;
    else if (c === ',') row.push(cell), (cell = ''), i++;
    else if (c === '\r' && text[i + 1] === '\n') row.push(cell), rows.push(row), (row = []), (cell = ''), (i += 2);
    else (cell += c), i++;
  }
  expect(cell).toBe('');
  expect(row).toEqual([]);
  return rows;
}

describe('event rows of an archive that records the release and channels', () => {
  // As the pipeline records them now: the approved decision, then `command.released`, then the result.
  const withRelease = events([
    ...HELD.slice(0, 13).map(({ seq: _s, ...e }) => e),
    { t: 95_005, type: 'command.released', command: 2, requestId: 'apr_7Q2M9Xdemo01', commandHash: HASH },
    { t: 95_016, type: 'result', command: 2, status: 'ok', tag: 'UPDATE 1', rowCount: 1 },
    { t: 96_000, type: 'channel.open', channel: 0, kind: 'exec', command: 'systemctl restart api' },
    { t: 96_200, type: 'channel.close', channel: 0, exitStatus: 0, exitSignal: null },
    { t: 96_300, type: 'transfer', channel: 1, path: '/srv/report.csv', direction: 'download', bytes: 2048, sha256: 'a'.repeat(64), outcome: 'complete' },
  ]);
  const rows = eventRows(withRelease, session(3));
  const step = (type: string) => rows.filter((r) => r.event === type).map((r) => r.approvalStep);

  it('the approved decision is "approved", the release its own row, then the result finishes it', () => {
    expect(rows.filter((r) => r.requestId === 'apr_7Q2M9Xdemo01').map((r) => `${r.event}:${r.approvalStep}`)).toEqual([
      'approval.requested:requested',
      'approval.decided:decided',
      'decision:approved',
      'command.released:released',
      'result:finished',
    ]);
    expect(rows.find((r) => r.event === 'command.released')?.time).toBe('2026-11-29T18:01:35.005Z');
  });

  it('channels and transfers are rows with what ended them', () => {
    expect(step('channel.open')).toEqual(['']);
    expect(rows.find((r) => r.event === 'channel.open')?.command).toBe('exec systemctl restart api');
    expect(rows.find((r) => r.event === 'channel.close')?.result).toBe('exit 0');
    expect(rows.find((r) => r.event === 'transfer')).toMatchObject({ command: '/srv/report.csv', result: `complete, 2048 bytes, ${'a'.repeat(64)}` });
  });
});

describe('event rows of a decrypted session', () => {
  const rows = eventRows(HELD, session(3));
  const kinds = rows.map((r) => `${r.event}${r.approvalStep ? `:${r.approvalStep}` : ''}`);

  it('one row per event kind that matters, in the archive order; output, masking and notices are not rows', () => {
    expect(kinds).toEqual([
      'session.open',
      'identity.verified',
      'decision',
      'command',
      'decision',
      'result',
      'command',
      'decision:held',
      'approval.requested:requested',
      'approval.decided:decided',
      'decision:released',
      'result:finished',
      'command',
      'decision',
      'error',
      'session.close',
    ]);
    expect(rows.map((r) => r.eventSeq)).toEqual([0, 1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18]);
  });

  it('millisecond UTC times, identity, client and target on every row', () => {
    expect(rows.map((r) => r.time).slice(8, 12)).toEqual(['2026-11-29T18:00:01.001Z', '2026-11-29T18:01:35.001Z', '2026-11-29T18:01:35.004Z', '2026-11-29T18:01:35.016Z']);
    for (const r of rows) expect(r).toMatchObject({ identity: 'refund-worker', target: 'payments-db', client: '10.20.3.8:38822', session: 3, sessionId: 'sess-3', source: 'archive' });
  });

  it('the held command: request id, approver and address, expiry, and what it returned — with its text on each of its rows', () => {
    const held = rows.filter((r) => r.commandId === 2);
    for (const r of held) expect(r.command).toBe("UPDATE accounts SET status = 'closed' WHERE id = 88231");
    expect(held.filter((r) => r.event !== 'command').every((r) => r.requestId === 'apr_7Q2M9Xdemo01' || r.approvalStep === 'held')).toBe(true);
    expect(held.find((r) => r.approvalStep === 'requested')).toMatchObject({ expiresAt: '2026-11-29T18:10:01.001Z', rule: 'writes-need-approval', reason: 'justification: CHG-4411' });
    expect(held.find((r) => r.approvalStep === 'decided')).toMatchObject({ approver: 'alice@acme.example', approverAddress: '10.1.0.22', decision: 'approved', reason: 'matches CHG-4411' });
    expect(held.find((r) => r.approvalStep === 'released')).toMatchObject({ decision: 'approved', approver: 'alice@acme.example' });
    expect(held.find((r) => r.approvalStep === 'finished')).toMatchObject({ result: 'UPDATE 1', rowCount: 1 });
  });

  it('decision, rule and block reason; the error; the bind parameters as recorded (masked) and the result', () => {
    expect(rows.find((r) => r.commandId === 3 && r.event === 'decision')).toMatchObject({ decision: 'block', rule: 'no-ddl', reason: 'DROP is never allowed', command: 'DROP TABLE customers' });
    expect(rows.find((r) => r.event === 'error')).toMatchObject({ errorCode: '42501', error: 'blocked by policy "no-ddl"', commandId: 3, approvalStep: '' });
    expect(rows.find((r) => r.commandId === 1 && r.event === 'command')!.params).toBe('["411111******1111",null]');
    expect(rows.find((r) => r.commandId === 1 && r.event === 'result')).toMatchObject({ result: 'SELECT 1', rowCount: 1, durationMs: 3.5 });
    expect(rows[2]).toMatchObject({ decision: 'allow', rule: 'billing/access', command: '(access to payments-db)' });
  });

  it('a refusal error before any release is not a finish', () => {
    const denied = eventRows(
      events([
        { t: 0, type: 'command', id: 1, text: 'DELETE FROM t' },
        { t: 0, type: 'decision', command: 1, decision: 'hold' },
        { t: 1, type: 'approval.requested', command: 1, requestId: 'apr_D', commandHash: HASH },
        { t: 2, type: 'approval.decided', command: 1, requestId: 'apr_D', decision: 'denied', approver: 'carol', commandHash: HASH },
        { t: 3, type: 'decision', command: 1, decision: 'denied', requestId: 'apr_D', commandHash: HASH },
        { t: 4, type: 'error', command: 1, code: '42501', message: 'denied' },
      ]),
      session(1),
    );
    expect(denied.map((r) => r.approvalStep)).toEqual(['', 'held', 'requested', 'decided', 'refused', '']);
    expect(denied.at(-1)!.requestId).toBe('apr_D');
  });

  it('hostile, wrong-typed fields neither throw nor become something else', () => {
    const r = eventRows(
      events([
        { t: 'x' as unknown as number, type: 'command', id: 'one', text: { a: 1 }, params: 'not-a-list' },
        { t: 5, type: 'decision', command: {}, decision: ['allow'], rule: 7 },
        { t: 6, type: 'approval.decided', requestId: 5, approver: 3, address: { x: 1 } },
        { t: 7, type: 'command', id: 9, text: 'A'.repeat(20_000), params: [{ nested: true }, 12] },
      ]),
      session(2, { startedAt: undefined }),
    );
    expect(r.map((x) => x.time)).toEqual(['+0.000s', '+0.005s', '+0.006s', '+0.007s']);
    expect(r[0]).toMatchObject({ command: '', params: '', commandId: null });
    expect(r[1]).toMatchObject({ decision: '', rule: '7' });
    expect(r[2]).toMatchObject({ requestId: '5', approver: '', approverAddress: '' });
    expect(r[3]!.command).toMatch(/ … \(3616 more characters\)$/);
    expect(r[3]!.params).toBe('["[value]","12"]');
  });

  it('a session whose decryption stopped part-way says so in a row of its own', () => {
    const r = eventRows(HELD.slice(0, 4), session(4), 'decryption stopped: frame 2 failed');
    expect(r.at(-1)).toMatchObject({ event: 'content.partial', error: 'decryption stopped: frame 2 failed', eventSeq: null });
  });
});

describe('rows of a session whose content is unavailable: only what the signed log proves', () => {
  const s = session(5, { source: 'log', contentAvailable: false, status: 'failed' });
  const a: ApprovalEvidence = {
    requestId: 'apr_LOGONLY00001',
    sessionId: 'sess-5',
    command: 1,
    commandHash: HASH,
    statement: null,
    rule: 'writes',
    justification: null,
    expiresAt: '2026-11-29T18:10:00.000Z',
    decisions: [{ approver: 'alice@acme.example', decision: 'approved', reason: 'ok', at: '2026-11-29T18:01:35.500Z' }],
    outcome: 'approved',
    approvedBy: ['alice@acme.example'],
    ran: null,
    hashMatches: true,
    problems: [],
    source: 'log',
    requester: 'refund-worker',
    requestedAt: '2026-11-29T18:00:01.500Z',
  };

  it('the start and the approval steps with the log times, everything else unknown, labelled', () => {
    const r = logRows(s, [a, { ...a, sessionId: 'other' }]);
    expect(r.map((x) => [x.time, x.event, x.approvalStep, x.source])).toEqual([
      [START, 'session.started', '', 'log'],
      ['2026-11-29T18:00:01.500Z', 'approval.requested', 'requested', 'log'],
      ['2026-11-29T18:01:35.500Z', 'approval.decided', 'decided', 'log'],
    ]);
    for (const x of r) {
      expect(x.command).toBe('(from the signed log; content unavailable)');
      expect(x.result).toBe('unknown');
      expect(x.eventSeq).toBeNull();
    }
    expect(r[2]).toMatchObject({ approver: 'alice@acme.example', decision: 'approved', requestId: 'apr_LOGONLY00001' });
  });

  it('no time is invented when the log has none', () => {
    const r = logRows({ ...s, startedAt: undefined }, [{ ...a, requestedAt: null, decisions: [{ ...a.decisions[0]!, at: null }] }]);
    expect(r.map((x) => x.time)).toEqual(['unknown', 'unknown', 'unknown']);
  });
});

describe('the CSV is exactly the table', () => {
  const hostile = events([
    { t: 1, type: 'command', id: 1, text: '=HYPERLINK("http://evil.example","click")' },
    { t: 2, type: 'command', id: 2, text: '+1+1' },
    { t: 3, type: 'command', id: 3, text: '-2+3' },
    { t: 4, type: 'command', id: 4, text: '@SUM(A1:A9)' },
    { t: 5, type: 'command', id: 5, text: '\t=1' },
    { t: 6, type: 'command', id: 6, text: '\r=1' },
    { t: 7, type: 'command', id: 7, text: 'SELECT "a", b\nFROM t, u' },
    { t: 8, type: 'decision', command: 7, decision: 'block', rule: 'r', reason: '=cmd|"/c calc"!A1' },
  ]);
  const rows = sortRows([...eventRows(HELD, session(3)), ...eventRows(hostile, session(1, { startedAt: '2026-11-29T17:59:00.000Z', context: { protocol: 'postgres', identity: { subject: '@evil' }, target: { name: 'db' }, client: null } as unknown as SessionReport['context'] }))]);
  const csv = eventTableCsv(rows);
  const parsed = parseCsv(csv);

  it('RFC 4180: CRLF records, a header, every record as wide as the header, values round-trip', () => {
    expect(csv.endsWith('\r\n')).toBe(true);
    expect(parsed[0]).toEqual(EVENT_CSV_HEADER);
    expect(parsed[0]!.slice(0, 8)).toEqual(['time', 'session', 'event', 'approval_step', 'identity', 'target', 'command_id', 'command']);
    expect(parsed[0]!.slice(-5)).toEqual(['params', 'client', 'source', 'event_seq', 'session_id']);
    expect(parsed[0]).toContain('approval_step');
    expect(parsed[0]).toContain('request_id');
    expect(parsed[0]).toContain('params');
    expect(parsed).toHaveLength(rows.length + 1);
    for (const r of parsed) expect(r).toHaveLength(EVENT_CSV_HEADER.length);
    const col = (name: string) => EVENT_CSV_HEADER.indexOf(name);
    expect(parsed.find((r) => r[col('command_id')] === '7' && r[col('event')] === 'command')![col('command')]).toBe('SELECT "a", b\nFROM t, u');
    expect(parsed.find((r) => r[col('approval_step')] === 'decided')![col('approver_address')]).toBe('10.1.0.22');
  });

  it('cells that a spreadsheet would run as a formula (= + - @ tab CR) are prefixed, wherever they are', () => {
    const col = (name: string) => EVENT_CSV_HEADER.indexOf(name);
    const commands = parsed.filter((r) => r[col('session')] === '1' && r[col('event')] === 'command').map((r) => r[col('command')]);
    expect(commands).toEqual([`'=HYPERLINK("http://evil.example","click")`, "'+1+1", "'-2+3", "'@SUM(A1:A9)", "'\t=1", "'\r=1", 'SELECT "a", b\nFROM t, u']);
    expect(parsed.find((r) => r[col('decision')] === 'block' && r[col('session')] === '1')![col('reason')]).toBe(`'=cmd|"/c calc"!A1`);
    for (const r of parsed.filter((x) => x[col('session')] === '1')) expect(r[col('identity')]).toBe("'@evil");
    for (const r of parsed.slice(1)) for (const c of r) expect(c).not.toMatch(/^[=+\-@\t\r]/);
  });

  it('sorted by time across sessions, each session in its archive order', () => {
    const times = rows.map((r) => r.time);
    expect([...times].sort()).toEqual(times);
    expect(rows[0]!.session).toBe(1);
  });

  it('search matches any cell, case-insensitively', () => {
    const hits = rows.filter((r: EventRow) => rowMatches(r, 'ALICE@'));
    expect(hits.map((r) => r.approvalStep)).toEqual(['decided', 'released']);
  });
});

describe('the whole bundle, through the engine the Web Worker runs (demo bundle, one archive removed)', () => {
  it('decrypted sessions give their rows; the missing one only what the signed log proves', async () => {
    const demo = await writeDemoEvidence(join(tempDir(), 'demo'), { kdf: FAST_KDF });
    const full = new Uint8Array(readFileSync(demo.bundle));
    const name = (await members(full)).map((m) => m.name).find((n) => n.startsWith('archives/00000003-'))!;
    const engine = new BundleEngine(memorySource(await rewriteBundle(full, { [name]: null })), readFileSync(demo.trust, 'utf8'));
    await engine.unlock({ text: readFileSync(demo.auditorKey, 'utf8') });
    const { report } = await engine.verify();
    const seen: number[] = [];
    const table = await loadEventTable(report, (id) => engine.sessionEventRows(id), (done) => seen.push(done));
    expect(table).toMatchObject({ sessionsLoaded: 5, sessions: 5 });
    expect(table.truncated).toBeUndefined();
    expect(seen.at(-1)).toBe(5);
    const s3 = table.rows.filter((r) => r.session === 3);
    expect(s3.map((r) => [r.event, r.approvalStep, r.source])).toEqual([
      ['session.started', '', 'log'],
      ['approval.requested', 'requested', 'log'],
      ['approval.decided', 'decided', 'log'],
    ]);
    expect(s3[2]).toMatchObject({ approver: 'alice@acme.example', requestId: 'apr_7Q2M9Xdemo01', result: 'unknown' });
    // A decrypted session: its commands, decisions and close, from the archive, in order.
    const s2 = table.rows.filter((r) => r.session === 2);
    expect(s2.every((r) => r.source === 'archive')).toBe(true);
    expect(s2.map((r) => r.eventSeq)).toEqual([...s2.map((r) => r.eventSeq)].sort((a, b) => a! - b!));
    expect(s2.some((r) => r.decision === 'block' && r.reason !== '')).toBe(true);
    expect(s2.at(-1)!.event).toBe('session.close');
    const csv = eventTableCsv(table.rows);
    expect(csv.trimEnd().split('\r\n')).toHaveLength(table.rows.length + 1);
    expect(csv).not.toMatch(/4111111111111111/);
  }, 60_000);

  it('past the row cap the table stops and says which sessions it lacks; a session that cannot be read says why', async () => {
    const sessions = [session(1), session(2), session(3)];
    const t = await loadEventTable({ sessions }, async (id) => eventRows(HELD, sessions.find((s) => s.sessionId === id)!), undefined, 20);
    expect(t.sessionsLoaded).toBe(1);
    expect(t.rows).toHaveLength(16);
    expect(t.truncated).toBe('the table stops at 20 rows: 2 of 3 sessions, from #2 on, are not in it or in its CSV');
    const broken = await loadEventTable({ sessions: [session(4)] }, async () => {
      throw new Error('this session has no archive in the bundle');
    });
    expect(broken.rows.map((r) => [r.event, r.error])).toEqual([['content.unavailable', 'this session has no archive in the bundle']]);
  });
});
