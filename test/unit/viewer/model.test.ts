/**
 * The viewer's pure logic: terminal control-string filter, digests from hostile or incomplete events,
 * approvals register, CSV (formula injection), asciicast, replay index, filters, HTML/PDF report.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EvidenceEvent } from '../../../shared/evidence/events.ts';
import { asciicast } from '../../../viewer/src/model/asciicast.ts';
import { chronologicalCsv, csvCell } from '../../../viewer/src/model/csv.ts';
import { DigestBuilder } from '../../../viewer/src/model/digest.ts';
import { chunkAt, snapshotPoints, statements, terminalTrack } from '../../../viewer/src/model/replay.ts';
import { buildReport, escapeHtml, renderHtml } from '../../../viewer/src/model/report.ts';
import { renderPdf } from '../../../viewer/src/model/report-pdf.ts';
import { applyFilter, EMPTY_FILTER, parseUtc, sessionRows } from '../../../viewer/src/model/sessions.ts';
import { TerminalFilter } from '../../../viewer/src/model/terminal-filter.ts';
import type { SessionDigest, VerificationReport } from '../../../viewer/src/model/types.ts';
import { tempDir } from '../../helpers/evidence.ts';
import { pdfText } from '../../helpers/viewer-pdf.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
let seq = 0;
const ev = (type: string, fields: Record<string, unknown> = {}, t = seq * 10): EvidenceEvent => ({ seq: seq++, t, type, ...fields });

describe('TerminalFilter', () => {
  const run = (...chunks: string[]) => {
    const f = new TerminalFilter();
    return { out: chunks.map((c) => dec(f.push(enc(c)))).join('') + dec(f.flush()), f };
  };

  it('removes clipboard writes, hyperlinks, titles and device-control strings, keeps text and colours', () => {
    const { out, f } = run('a\x1b]52;c;ZXZpbA==\x07b', '\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\', '\x1b]0;owned\x07\x1b[31mred\x1b[0m', '\x1bP+q544e\x1b\\end');
    expect(out).toBe('ablink\x1b[31mred\x1b[0mend');
    expect(f.kinds).toEqual({ 'OSC 52': 1, 'OSC 8': 2, 'OSC 0': 1, DCS: 1 });
  });

  it('handles sequences split across chunks, and C1 controls encoded in UTF-8', () => {
    expect(run('x\x1b', ']52;c;QQ', '==\x07y').out).toBe('xy');
    expect(run('p\u009d52;c;QQ==\u009cq').out).toBe('pq');
    expect(run('\x1b', '[1mB').out).toBe('\x1b[1mB');
  });

  it('never damages UTF-8 text whose continuation bytes look like C1 controls', () => {
    const text = 'ŝ é € 日本 ✓ \u0160';
    expect(run(text).out).toBe(text);
  });

  it('bounds an unterminated control string', () => {
    const { out, f } = run('\x1b]52;c;' + 'A'.repeat(1_100_000) + 'after');
    expect(f.removed).toBe(1);
    expect(out.length).toBeLessThan(100_000);
  });
});

describe('DigestBuilder', () => {
  it('survives events with missing, wrong-typed or absurd fields', () => {
    const b = new DigestBuilder('s1', { seq: 1 });
    b.add([
      ev('command', { id: 'x', text: 42 }),
      ev('command', { id: 1, text: 'A'.repeat(100_000) }),
      ev('decision', { command: 99, decision: { nested: true } }),
      ev('decision', { command: 1, decision: 'block', reason: ['not', 'a', 'string'] }),
      ev('approval.decided', { requestId: 'nope', approver: 5 }),
      ev('masking', { count: 'many', kinds: 'pan' }),
      ev('masking', { count: 3, kinds: { pan: 2, redacted: 1, ['k'.repeat(100)]: 1 } }),
      ev('result', {}),
      ev('error', { message: null }),
      ev('session.open', { pty: { cols: 1e9, rows: -4 } }),
      ev('unknown.type', { whatever: true }),
    ]);
    const d = b.digest;
    expect(d.commands).toHaveLength(2);
    expect(d.commands[1]!.text.length).toBe(16 * 1024);
    expect(d.commands[1]!.truncated).toBe(100_000 - 16 * 1024);
    expect(d.commands[1]!.decision).toBe('block');
    expect(d.masked).toBe(3);
    expect(d.maskingKinds).toEqual({ pan: 2, redacted: 1 });
    expect(d.pty).toEqual({ cols: 500, rows: 4 });
    expect(d.events).toBe(11);
  });

  it('builds the approvals register: approvers, outcome, and the hash check both ways', () => {
    const b = new DigestBuilder('s2', { seq: 7 });
    b.add([
      ev('identity.verified', { subject: 'bot-a', issuer: 'https://idp' }),
      ev('command', { id: 1, text: 'UPDATE t SET x = 1' }),
      ev('decision', { command: 1, decision: 'hold', rule: 'writes' }),
      ev('approval.requested', { command: 1, requestId: 'r1', commandHash: 'aa', justification: 'CHG-1' }),
      ev('approval.decided', { command: 1, requestId: 'r1', decision: 'approved', approver: { subject: 'alice', issuer: 'sso' }, reason: 'ok' }),
      ev('decision', { command: 1, decision: 'approved', approvedBy: ['alice'], commandHash: 'aa', requestId: 'r1' }),
      ev('result', { command: 1, tag: 'UPDATE 1' }),
      ev('command', { id: 2, text: 'DELETE FROM t' }),
      ev('approval.requested', { command: 2, requestId: 'r2', commandHash: 'bb' }),
      ev('decision', { command: 2, decision: 'approved', approvedBy: ['bob'], commandHash: 'cc', requestId: 'r2' }),
      ev('command', { id: 3, text: 'DROP TABLE t' }),
      ev('approval.requested', { command: 3 }),
      ev('approval.decided', { command: 3, decision: 'denied', approver: 'carol', reason: 'no' }),
      ev('decision', { command: 3, decision: 'denied', reason: 'denied by carol' }),
    ]);
    const [r1, r2, r3] = b.digest.approvals;
    expect(r1).toMatchObject({ requestId: 'r1', requester: 'bot-a', requesterIssuer: 'https://idp', outcome: 'approved', hashCheck: 'match', executed: true, justification: 'CHG-1' });
    expect(r1!.approvers).toEqual([expect.objectContaining({ subject: 'alice', issuer: 'sso', decision: 'approved', reason: 'ok' })]);
    expect(r2).toMatchObject({ outcome: 'approved', hashCheck: 'mismatch', approvers: [expect.objectContaining({ subject: 'bob' })] });
    expect(r3).toMatchObject({ requestId: '#3', outcome: 'denied', hashCheck: 'not-recorded', executed: false });
    expect(b.digest.blocks).toBe(1);
  });
});

describe('approvals as the gateway records them (N-of-M)', () => {
  it('one approval of two is not an approval; a second approver\'s denial ends it', () => {
    const b = new DigestBuilder('s3', { seq: 9 });
    const hash = 'ab'.repeat(32);
    b.add([
      ev('identity.verified', { subject: 'repo:acme/refunds', issuer: 'https://token.actions.githubusercontent.com' }),
      ev('command', { id: 1, text: 'UPDATE accounts SET status = 1' }),
      ev('decision', { command: 1, decision: 'hold', rule: 'writes' }),
      ev('approval.requested', { command: 1, requestId: 'apr_X', rule: 'writes', commandHash: hash, approvers: { groups: ['leads'], required: 2 }, expiresAt: '2026-11-29T19:00:00.000Z' }),
      ev('approval.decided', { command: 1, requestId: 'apr_X', decision: 'approved', approver: 'alice@acme.test', reason: 'ok', address: '10.1.0.2', at: '2026-11-29T18:50:00.000Z', commandHash: hash, remaining: 1 }),
    ]);
    expect(b.digest.approvals[0]).toMatchObject({ outcome: 'pending', approvers: [expect.objectContaining({ subject: 'alice@acme.test', decision: 'approved' })] });
    b.add([
      ev('approval.decided', { command: 1, requestId: 'apr_X', decision: 'denied', approver: 'dave@acme.test', reason: 'not during the freeze', commandHash: hash, remaining: 1 }),
      ev('decision', { command: 1, decision: 'denied', rule: 'writes', commandHash: hash, reason: 'denied by dave@acme.test: not during the freeze', requestId: 'apr_X' }),
    ]);
    expect(b.digest.approvals[0]).toMatchObject({ outcome: 'denied', executed: false, requester: 'repo:acme/refunds' });
    expect(b.digest.approvals[0]!.approvers.map((a) => `${a.subject}:${a.decision}`)).toEqual(['alice@acme.test:approved', 'dave@acme.test:denied']);
  });

  it('two approvals, then the executed command carries the approved hash: a check mark', () => {
    const b = new DigestBuilder('s4', { seq: 10 });
    const hash = 'cd'.repeat(32);
    b.add([
      ev('command', { id: 1, text: 'UPDATE t SET x = 2' }),
      ev('approval.requested', { command: 1, requestId: 'apr_Y', commandHash: hash }),
      ev('approval.decided', { command: 1, requestId: 'apr_Y', decision: 'approved', approver: 'alice', commandHash: hash, remaining: 1 }),
      ev('approval.decided', { command: 1, requestId: 'apr_Y', decision: 'approved', approver: 'bob', commandHash: hash, remaining: 0 }),
      ev('decision', { command: 1, decision: 'approved', approvedBy: ['alice', 'bob'], commandHash: hash, requestId: 'apr_Y' }),
      ev('result', { command: 1, tag: 'UPDATE 1', rowCount: 1 }),
    ]);
    expect(b.digest.approvals[0]).toMatchObject({ outcome: 'approved', hashCheck: 'match', executed: true });
    expect(b.digest.approvals[0]!.approvers.map((a) => a.subject)).toEqual(['alice', 'bob']);
  });
});

describe('exports', () => {
  const report = {
    ok: true,
    verdict: { status: 'pass', headline: 'Verified', because: [] },
    withKey: true,
    verifiedAt: '2026-11-29T19:00:00.000Z',
    trust: { applianceId: 'app', pinnedCheckpoint: { size: 1, time: '2026-11-29T18:00:00.000Z' }, keys: [{ keyId: 'k1', fingerprint: 'ab'.repeat(32), validFrom: '2026-11-29T18:00:00.000Z', validUntil: null, source: 'pinned in trust file' }] },
    checks: [{ id: 'signatures', title: 'Signatures', status: 'pass', summary: '3 signatures verified', failures: [], covered: 3, total: 3, unit: 'signature' }],
    sessions: [
      { sessionId: 'sess-a', seq: 1, status: 'complete', reasons: [], protocol: 'postgres', startedAt: '2026-11-29T18:01:00.000Z', context: { protocol: 'postgres', identity: { subject: '=HYPERLINK("http://evil")' }, target: { name: 'db' }, client: { address: '10.0.0.1:1' } }, stats: { command: 1 } },
      { sessionId: 'sess-b', seq: 2, status: 'failed', reasons: ['frame 2: decryption failed'], protocol: 'postgres', startedAt: '2026-11-29T18:00:30.000Z', context: { protocol: 'postgres', identity: { subject: '<script>alert(1)</script>' }, target: { name: 'db' }, client: null }, stats: {} },
    ],
  } as unknown as VerificationReport;
  const digest = (id: string, text: string, t: number): SessionDigest => {
    const b = new DigestBuilder(id, { seq: 1 });
    b.add([{ seq: 0, t, type: 'command', id: 1, text }, { seq: 1, t, type: 'decision', command: 1, decision: 'allow', rule: 'r' }]);
    return b.digest;
  };
  const digests = new Map([
    ['sess-a', digest('sess-a', 'SELECT "a", b\nFROM t', 500)],
    ['sess-b', digest('sess-b', '-1+1', 0)],
  ]);

  it('CSV: chronological, quoted, and formulas neutralised', () => {
    const csv = chronologicalCsv(report.sessions, digests);
    const lines = csv.trimEnd().split('\r\n');
    expect(lines[0]).toBe('time,session,session_id,protocol,identity,client,target,command,decision,rule,approved_by,result,masked,session_status,approval_request,approval_requested_at,approval_decided_at,approval_decided,approval_released_at,approval_finished_at,approval_interval');
    expect(lines[1]).toMatch(/^2026-11-29T18:00:30\.000Z,2,sess-b,postgres,<script>alert\(1\)<\/script>,,db,'-1\+1,allow,r,,,0,failed,{7}$/);
    expect(lines[2]).toContain(`"'=HYPERLINK(""http://evil"")"`);
    expect(csv).toContain('"SELECT ""a"", b\nFROM t"');
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvCell('plain')).toBe('plain');
  });

  it('HTML report: hostile strings are text, the page allows no script', () => {
    const html = renderHtml(buildReport({ report, digests, fileName: 'e<x>.vigil', auditor: 'Dana "QSA" <b>', generatedAt: '2026-11-29T19:05:00.000Z', viewerVersion: '0.1.0' }));
    expect(html).not.toContain('<script>alert');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('Dana &quot;QSA&quot; &lt;b&gt;');
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'"`);
    expect(html).toMatch(/opened and verified offline by Dana/);
    expect(escapeHtml('\x1b[31m')).toBe('\\x1b[31m');
  });

  it('PDF report: text extractable, with the verdict, the auditor and the PCI figures', async () => {
    const blocks = buildReport({ report, digests, fileName: 'evidence.vigil', auditor: 'Dana Auditor', generatedAt: '2026-11-29T19:05:00.000Z', viewerVersion: '0.1.0' });
    const pdf = await renderPdf(blocks, { title: 'Vigil', author: 'Dana Auditor', footer: 'Vigil evidence report' });
    const file = join(tempDir(), 'r.pdf');
    writeFileSync(file, pdf);
    const text = pdfText(file);
    expect(text).toMatch(/Vigil evidence verification report/);
    expect(text).toMatch(/opened and verified offline by Dana Auditor/);
    expect(text).toMatch(/2 sessions: 1 complete, 0 interrupted, 0 in progress, 1 failed/);
    expect(text).toMatch(/8\.6\.1/);
    expect(text).toMatch(/<script>alert\(1\)<\/script>/); // drawn as text
    expect(text).toMatch(/page 1 of \d/);
  });

  it('asciicast v2: header with the terminal size, output events in seconds, control strings removed', () => {
    const events: EvidenceEvent[] = [
      { seq: 0, t: 0, type: 'session.open', pty: { cols: 100, rows: 30, term: 'xterm-256color' } },
      { seq: 1, t: 1500, type: 'output', data: enc('hello\x1b]52;c;ZXZpbA==\x07\r\n') },
      { seq: 2, t: 2250, type: 'output', data: enc('\x1b[32mok\x1b[0m') },
      { seq: 3, t: 2300, type: 'input', data: enc('secret?') },
    ];
    const lines = asciicast(events, { seq: 4, sessionId: 's', startedAt: '2026-11-29T18:00:00.000Z', identity: 'deploy-bot', target: 'host' }).trimEnd().split('\n');
    const header = JSON.parse(lines[0]!);
    expect(header).toMatchObject({ version: 2, width: 100, height: 30, timestamp: Date.parse('2026-11-29T18:00:00.000Z') / 1000, env: { TERM: 'xterm-256color' } });
    expect(header.title).toMatch(/Vigil session #4 deploy-bot → host \(1 terminal control string neutralised: OSC 52/);
    expect(lines.slice(1).map((l) => JSON.parse(l))).toEqual([
      [1.5, 'o', 'hello\r\n'],
      [2.25, 'o', '\x1b[32mok\x1b[0m'],
    ]);
  });
});

describe('replay index', () => {
  it('seeks by binary search and places snapshots at chunk boundaries', () => {
    const events: EvidenceEvent[] = [];
    for (let i = 0; i < 1000; i++) events.push({ seq: i, t: i * 100, type: 'output', data: enc(`line ${i}\r\n`.padEnd(1024, '.')) });
    const track = terminalTrack(events);
    expect(track.chunks).toHaveLength(1000);
    expect(chunkAt(track.times, -1)).toBe(-1);
    expect(chunkAt(track.times, 0)).toBe(0);
    expect(chunkAt(track.times, 55_555)).toBe(555);
    expect(chunkAt(track.times, 1e9)).toBe(999);
    const points = snapshotPoints(track, 10, 1);
    expect(points.length).toBeGreaterThanOrEqual(9);
    expect(points.length).toBeLessThanOrEqual(11);
    expect(points.every((p, i) => p > 0 && (i === 0 || p > points[i - 1]!))).toBe(true);
  });

  it('statements pair commands with decisions, results and errors', () => {
    const s = statements([
      ev('command', { id: 1, text: 'SELECT 1' }),
      ev('decision', { command: 1, decision: 'allow', rule: 'r' }),
      ev('result', { command: 1, columns: ['a'], rows: [['1'], [null], [{ x: 1 }]], rowCount: 3, tag: 'SELECT 3' }),
      ev('command', { id: 2, text: 'DROP TABLE x' }),
      ev('decision', { command: 2, decision: 'block', reason: 'never' }),
      ev('error', { command: 2, code: '42501', message: 'blocked' }),
    ]);
    expect(s).toHaveLength(2);
    expect(s[0]!.result).toMatchObject({ columns: ['a'], rows: [['1'], ['NULL'], ['{"x":1}']], tag: 'SELECT 3' });
    expect(s[1]).toMatchObject({ decision: 'block', reason: 'never', errors: ['42501 blocked'] });
  });
});

describe('session filters', () => {
  it('filter by identity, outcome, time (UTC), flags and command text', () => {
    const report = {
      sessions: [
        { sessionId: 'a', seq: 1, status: 'complete', reasons: [], protocol: 'postgres', startedAt: '2026-11-29T10:00:00.000Z', context: { protocol: 'postgres', identity: { subject: 'repo:acme/a' }, target: { name: 'db' }, client: null }, stats: { 'decision.block': 1, masked: 0 } },
        { sessionId: 'b', seq: 2, status: 'failed', reasons: ['x'], protocol: 'ssh', startedAt: '2026-11-29T12:00:00.000Z', context: { protocol: 'ssh', identity: { subject: 'deploy-bot' }, target: { name: 'host' }, client: null }, stats: { masked: 4, 'approval.requested': 1 } },
      ],
    } as unknown as VerificationReport;
    const rows = sessionRows(report.sessions, new Map());
    const ids = (f: Partial<typeof EMPTY_FILTER>) => applyFilter(rows, { ...EMPTY_FILTER, ...f }).map((r) => r.report.sessionId);
    expect(ids({})).toEqual(['a', 'b']);
    expect(ids({ identity: 'ACME' })).toEqual(['a']);
    expect(ids({ outcome: 'failed' })).toEqual(['b']);
    expect(ids({ protocol: 'ssh' })).toEqual(['b']);
    expect(ids({ from: '2026-11-29T11:00' })).toEqual(['b']);
    expect(ids({ to: '2026-11-29T11:00' })).toEqual(['a']);
    expect(ids({ blocks: true })).toEqual(['a']);
    expect(ids({ masking: true, approvals: true })).toEqual(['b']);
    expect(parseUtc('2026-11-29T11:00')).toBe(Date.parse('2026-11-29T11:00:00Z'));
  });
});
