/**
 * In Chromium: approval before execution is visible. A held UPDATE approved 1 min 34 s after its request,
 * released 3 ms after the approval and finished 12 ms after its release shows the four steps with their
 * millisecond UTC times and the intervals in the session timeline, the approvals register, the CSV and the
 * PDF; a denied command is never released; an approved command that never finished says "not recorded";
 * with its archive gone, only what the signed log proves is shown, the rest unknown. The event table lists
 * every event that matters and saves exactly its rows as CSV, formulas neutralised.
 */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditorKey } from '../../shared/evidence/auditor-key.ts';
import { Appliance } from '../../appliance/appliance.ts';
import { DemoClock } from '../../appliance/demo/sample-sessions.ts';
import type { RecordedSession } from '../../appliance/evidence/session-recorder.ts';
import { exportBundle } from '../../appliance/export/export-bundle.ts';
import { initAppliance } from '../../appliance/init.ts';
import { FAST_KDF, members, rewriteBundle, tempDir } from '../helpers/evidence.ts';
import { pdfText } from '../helpers/viewer-pdf.ts';
import { download, nav, openEvidence, openSession, problems, screenshot, startViewer, type ViewerSession } from '../helpers/viewer.ts';

let viewer: ViewerSession;
let page: Page;
const dir = tempDir('vigil-e2e-approval-timeline-');
let trust: string;
let key: string;
let bundle: Uint8Array;
/** The wall-clock time of each step of the approved UPDATE (ms since the epoch). */
const at: Record<'start' | 'requested' | 'decided' | 'released' | 'finished', number> = { start: 0, requested: 0, decided: 0, released: 0, finished: 0 };
const iso = (ms: number) => new Date(ms).toISOString();
const shown = (ms: number) => iso(ms).replace('T', ' ').replace('Z', ' UTC');

interface Held {
  id: number;
  text: string;
  requestId: string;
  approver: string;
  address: string;
  decision: 'approved' | 'denied';
  waitMs: number;
  /** ms from the approval to the release; the release to the result (undefined: the command never finished). */
  leadMs?: number;
  runMs?: number;
}

/** A held command, event for event as PipelineSession.decide() and hold() record it, with the log entries the approval service writes. */
async function hold(app: Appliance, s: RecordedSession, clock: DemoClock, h: Held, mark = false): Promise<void> {
  const hash = (h.id.toString(16).padStart(2, '0') + 'ab').repeat(16);
  const rule = 'billing/writes-need-approval';
  s.record({ type: 'command', id: h.id, kind: 'sql', text: h.text, classification: [{ class: 'write', command: h.text.split(' ')[0], tags: [], tables: ['accounts'] }] });
  s.record({ type: 'decision', command: h.id, decision: 'hold', rule, reason: 'writes on accounts need a payments lead' });
  if (mark) at.requested = clock.now().getTime();
  const expiresAt = iso(clock.now().getTime() + 600_000);
  s.record({ type: 'approval.requested', command: h.id, requestId: h.requestId, statement: h.text, rule, commandHash: hash, approvers: { groups: ['payments-leads'], required: 1 }, expiresAt, justification: 'CHG-4411' });
  app.log.append('approval.requested', { requestId: h.requestId, sessionId: s.id, command: h.id, commandHash: hash, rule, requester: 'refund-worker', target: 'payments-db', required: 1, expiresAt });
  await s.sync();
  clock.advance(h.waitMs);
  if (mark) at.decided = clock.now().getTime();
  const reason = h.decision === 'approved' ? 'matches CHG-4411' : 'not during the freeze';
  s.record({ type: 'approval.decided', command: h.id, requestId: h.requestId, decision: h.decision, approver: { subject: h.approver, issuer: 'https://login.acme.example' }, reason, address: h.address, at: clock.now().toISOString(), commandHash: hash, remaining: 0 });
  app.log.append('approval.decided', { requestId: h.requestId, sessionId: s.id, commandHash: hash, approver: h.approver, approverIssuer: 'https://login.acme.example', decision: h.decision === 'approved' ? 'approve' : 'deny', reason, remaining: 0 });
  if (h.decision === 'approved') {
    clock.advance(h.leadMs ?? 0);
    if (mark) at.released = clock.now().getTime();
    s.record({ type: 'decision', command: h.id, decision: 'approved', rule, commandHash: hash, approvedBy: [h.approver], requestId: h.requestId });
    await s.sync();
    if (h.runMs !== undefined) {
      clock.advance(h.runMs);
      if (mark) at.finished = clock.now().getTime();
      s.record({ type: 'result', command: h.id, status: 'ok', tag: 'UPDATE 1', rowCount: 1, durationMs: 4.2 });
    }
  } else {
    clock.advance(2);
    s.record({ type: 'decision', command: h.id, decision: 'denied', rule, commandHash: hash, reason: `denied by ${h.approver}: ${reason}`, requestId: h.requestId });
    s.record({ type: 'error', command: h.id, code: '42501', message: `the command was denied by ${h.approver}` });
  }
  await s.sync();
}

beforeAll(async () => {
  const auditor = createAuditorKey({ label: 'e2e auditor', kdf: FAST_KDF });
  writeFileSync(join(dir, 'auditor.pub'), auditor.publicFile);
  key = join(dir, 'auditor.key');
  writeFileSync(key, auditor.secretFile, { mode: 0o600 });
  // Everything happened an hour ago, on the appliance's (test) clock: key validity and log times agree.
  const c = new DemoClock(Date.now() - 3_600_000);
  const init = initAppliance({ dir: join(dir, 'appliance'), auditors: [join(dir, 'auditor.pub')], now: c.now() });
  trust = join(dir, 'trust.json');
  copyFileSync(init.trustPath, trust);
  let app = await Appliance.open(init.configPath, { now: c.now });
  const ctx = {
    protocol: 'postgres',
    identity: { subject: 'refund-worker', issuer: 'https://spire.acme.internal', method: 'oidc-jwt', groups: ['billing-workers'] },
    target: { name: 'payments-db', address: 'db.cde.internal:5432', user: 'svc_billing' },
    client: { address: '10.20.3.8:38822' },
  };
  try {
    c.advance(60_000);
    // #1: a read with bind parameters, a hostile command text, then the held UPDATE that is approved and runs.
    let s = app.recorder.start(ctx);
    at.start = c.now().getTime();
    s.record({ type: 'session.open', protocol: 'postgres', client: ctx.client });
    s.record({ type: 'identity.verified', subject: 'refund-worker', issuer: 'https://spire.acme.internal', method: 'oidc-jwt', groups: ['billing-workers'] });
    c.advance(7);
    s.record({ type: 'command', id: 1, kind: 'sql', text: 'SELECT id, status FROM accounts WHERE card = $1 AND id = $2', params: ['411111******1111', '88231'] });
    s.record({ type: 'decision', command: 1, decision: 'allow', rule: 'billing/reads' });
    await s.sync();
    c.advance(4);
    s.record({ type: 'result', command: 1, status: 'ok', tag: 'SELECT 1', rowCount: 1, durationMs: 3.1 });
    c.advance(50);
    s.record({ type: 'command', id: 2, kind: 'sql', text: `=HYPERLINK("http://evil.example","open")` });
    s.record({ type: 'decision', command: 2, decision: 'block', rule: 'vigil/unparsable', reason: 'the statement could not be parsed' });
    s.record({ type: 'error', command: 2, code: '42601', message: 'syntax error at or near "="' });
    await s.sync();
    c.advance(938);
    await hold(app, s, c, { id: 3, text: "UPDATE accounts SET status = 'closed' WHERE id = 88231", requestId: 'apr_HeldUpd00001', approver: 'alice@acme.example', address: '10.1.0.22', decision: 'approved', waitMs: 94_000, leadMs: 3, runMs: 12 }, true);
    c.advance(40);
    await s.close('client terminated the session (Terminate)');
    c.advance(120_000);
    // #2: denied; never released.
    s = app.recorder.start(ctx);
    s.record({ type: 'session.open', protocol: 'postgres', client: ctx.client });
    c.advance(1000);
    await hold(app, s, c, { id: 1, text: 'DELETE FROM accounts WHERE id = 88231', requestId: 'apr_DeniedDel001', approver: 'bob@acme.example', address: '10.1.0.30', decision: 'denied', waitMs: 31_500 });
    await s.close('client terminated the session (Terminate)');
    c.advance(60_000);
    // #3: approved and released, then the client went away: the command never finished in the recording.
    s = app.recorder.start(ctx);
    s.record({ type: 'session.open', protocol: 'postgres', client: ctx.client });
    c.advance(500);
    await hold(app, s, c, { id: 1, text: "UPDATE accounts SET status = 'open' WHERE id = 4", requestId: 'apr_NeverRan0001', approver: 'alice@acme.example', address: '10.1.0.22', decision: 'approved', waitMs: 5_000, leadMs: 2 });
    c.advance(300);
    await s.close('the client closed the connection');
  } finally {
    await app.close();
  }
  c.advance(30_000);
  app = await Appliance.open(init.configPath, { now: c.now });
  const file = join(dir, 'held.vigil');
  try {
    await exportBundle(app, { out: file });
  } finally {
    await app.close();
  }
  bundle = new Uint8Array(readFileSync(file));
  viewer = await startViewer();
  page = await viewer.page();
  await openEvidence(page, { trust, bundle: file, key });
}, 180_000);

afterAll(async () => {
  await viewer?.close();
});

async function shot(p: Page, name: string): Promise<void> {
  await screenshot(p, `approval-timeline-${name}`, { fullPage: true });
}

async function steps(scope: ReturnType<Page['locator']>): Promise<{ step: string; state: string; text: string }[]> {
  return scope.locator('[data-step]').evaluateAll((els) => els.map((e) => ({ step: e.getAttribute('data-step')!, state: e.getAttribute('data-state')!, text: (e as unknown as { innerText: string }).innerText.replace(/\s+/g, ' ').trim() })));
}

const INTERVAL = 'approved 1 min 34 s after the request and 3 ms before it ran; finished 12 ms after its release';

describe('the session timeline', () => {
  it('the held UPDATE shows requested → decided (who, when, from where) → released → finished, with the intervals', async () => {
    expect(await page.getByTestId('banner').getAttribute('data-verdict')).toBe('pass');
    await openSession(page, 1);
    const tl = page.locator('[data-testid=approval-timeline][data-request=apr_HeldUpd00001]');
    await tl.waitFor();
    const s = await steps(tl);
    expect(s.map((x) => [x.step, x.state])).toEqual([
      ['requested', 'recorded'],
      ['decided', 'recorded'],
      ['released', 'recorded'],
      ['finished', 'recorded'],
    ]);
    expect(s[0]!.text).toContain(`Requested ${shown(at.requested)}`);
    expect(s[1]!.text).toBe(`Decided ${shown(at.decided)} alice@acme.example approved from 10.1.0.22: matches CHG-4411`);
    expect(s[2]!.text).toContain(`Released to the target ${shown(at.released)}`);
    expect(s[3]!.text).toBe(`Finished ${shown(at.finished)} UPDATE 1, 1 row`);
    expect(at.decided - at.requested).toBe(94_000);
    expect(await tl.getByTestId('approval-interval').innerText()).toBe(`✓ ${INTERVAL}`);
    // The command's own line is its receipt, with milliseconds; its result is there too.
    const item = page.locator('[data-testid=timeline-command]', { hasText: 'UPDATE accounts' });
    expect(await item.innerText()).toMatch(/^received \S+ \S+ UTC · sql #3 held → approved by alice@acme\.example/);
    await item.scrollIntoViewIfNeeded();
    await shot(page, 'session');
    // The statement player shows the same steps with the held statement.
    await page.getByRole('tab', { name: 'Replay' }).click();
    await page.locator('.stmt-list li', { hasText: 'UPDATE accounts' }).click();
    const cur = page.getByTestId('current-statement');
    expect(await cur.innerText()).toMatch(/^received \S+ \S+ UTC · #3 held → approved by alice@acme\.example/);
    expect(await cur.getByTestId('approval-interval').innerText()).toBe(`✓ ${INTERVAL}`);
    await shot(page, 'replay');
  });

  it('an approved command that never finished: its finish is "not recorded", no time', async () => {
    await openSession(page, 3);
    const tl = page.locator('[data-testid=approval-timeline][data-request=apr_NeverRan0001]');
    await tl.waitFor();
    const s = await steps(tl);
    expect(s.map((x) => x.state)).toEqual(['recorded', 'recorded', 'recorded', 'not-recorded']);
    expect(s[3]!.text).toBe('Finished not recorded no result or error for this command in the archive');
    expect(await tl.getByTestId('approval-interval').innerText()).toBe('✓ approved 5.0 s after the request and 2 ms before it ran; its finish is not recorded');
    await shot(page, 'never-finished');
  });
});

describe('the approvals register', () => {
  it('every request with its four steps; the denied one never released', async () => {
    await nav(page, 'Approvals');
    const row = (id: string) => page.locator(`[data-testid=approvals] tbody tr[data-request=${id}]`);
    const held = await steps(row('apr_HeldUpd00001'));
    expect(held.map((x) => x.state)).toEqual(['recorded', 'recorded', 'recorded', 'recorded']);
    expect(held[1]!.text).toBe(`Decided ${shown(at.decided)} alice@acme.example approved from 10.1.0.22: matches CHG-4411`);
    expect(held[3]!.text).toContain(shown(at.finished));
    expect(await row('apr_HeldUpd00001').getByTestId('approval-interval').innerText()).toBe(`✓ ${INTERVAL}`);
    const denied = await steps(row('apr_DeniedDel001'));
    expect(denied.map((x) => x.state)).toEqual(['recorded', 'recorded', 'none', 'none']);
    expect(denied[1]!.text).toMatch(/bob@acme\.example denied from 10\.1\.0\.30: not during the freeze$/);
    expect(denied[2]!.text).toBe('Released to the target — never released (denied)');
    expect(await row('apr_DeniedDel001').getByTestId('approval-interval').innerText()).toBe('denied 31.5 s after the request; never released to the target');
    await shot(page, 'register');
  });
});

describe('exports', () => {
  it('the chronological CSV carries the four step times (ms) and the interval on the held command', async () => {
    await nav(page, 'Report & exports');
    const csv = (await download(page, () => page.getByRole('button', { name: 'Save chronological log (CSV)' }).click())).bytes.toString('utf8');
    const header = csv.split('\r\n')[0]!.split(',');
    expect(header.slice(-9)).toEqual(['approval_request', 'approval_requested_at', 'approval_decided_at', 'approval_decided', 'approval_released_at', 'approval_finished_at', 'approval_interval', 'bundle_sha256', 'verification']);
    const line = csv.split('\r\n').find((l) => l.includes("UPDATE accounts SET status = 'closed'"))!;
    expect(line).toContain(`,apr_HeldUpd00001,${iso(at.requested)},${iso(at.decided)},alice@acme.example approved from 10.1.0.22: matches CHG-4411,${iso(at.released)},${iso(at.finished)},${INTERVAL}`);
    const never = csv.split('\r\n').find((l) => l.includes('apr_NeverRan0001'))!;
    expect(never).toMatch(/,not recorded: no result or error for this command in the archive,approved 5\.0 s after the request/);
  });

  it('the PDF register shows the four steps with ms times and the interval', async () => {
    await nav(page, 'Report & exports');
    await page.getByLabel('Auditor name').fill('Dana Auditor, QSA');
    const { bytes } = await download(page, () => page.getByRole('button', { name: 'Save PDF report' }).click());
    const file = join(dir, 'report.pdf');
    writeFileSync(file, bytes);
    const text = pdfText(file).replace(/\s+/g, ' ');
    expect(text).toContain('Requested -> decided -> released -> finished (UTC)');
    for (const [label, ms] of [['Requested', at.requested], ['Decided', at.decided], ['Released to the target', at.released], ['Finished', at.finished]] as const) {
      expect(text).toContain(`${label} ${shown(ms)}`);
    }
    expect(text).toContain(`Interval: ${INTERVAL}`);
    expect(text).toContain('never released (denied)');
    expect(text).toContain('Finished: not recorded: no result or error for this command in the archive');
    // What an auditor reads: the HTML report is the same blocks, rendered.
    const html = (await download(page, () => page.getByRole('button', { name: 'Save HTML report' }).click())).bytes.toString('utf8');
    const p = await viewer.page();
    await p.setContent(html);
    await p.locator('h2', { hasText: 'Approvals register' }).scrollIntoViewIfNeeded();
    await screenshot(p, 'approval-timeline-report-html', { fullPage: true });
    await p.close();
  });
});

describe('the event table', () => {
  it('one row per event that matters, with the approval steps; saves exactly its rows, formulas neutralised', async () => {
    await page.locator('nav.side button', { hasText: 'Event table' }).click();
    await page.getByTestId('event-table').waitFor();
    const count = await page.getByTestId('event-count').innerText();
    const total = Number(/^(\d+) events/.exec(count)![1]);
    expect(count).toMatch(/from 3 of 3 sessions/);
    // Times are read whole, milliseconds included (a cut cell would hide what proves the order).
    const cut = await page.locator('[data-testid=event-table] .row [data-col=time], [data-testid=event-table] .row [data-col=expiresAt]').evaluateAll((els) => els.filter((e) => e.scrollWidth > e.clientWidth).length);
    expect(cut).toBe(0);
    await shot(page, 'events');
    const csv = (await download(page, () => page.getByRole('button', { name: /^Save these \d+ rows \(CSV\)$/ }).click())).bytes.toString('utf8');
    const lines = csv.trimEnd().split('\r\n');
    expect(lines).toHaveLength(total + 1);
    const header = lines[0]!.split(',');
    const col = (n: string) => header.indexOf(n);
    expect(header.slice(0, 8)).toEqual(['time', 'session', 'event', 'approval_step', 'identity', 'target', 'command_id', 'command']);
    // Plain split is enough for these rows (none of their cells holds a comma or a quote).
    const steps = lines.filter((l) => l.includes('apr_HeldUpd00001')).map((l) => l.split(','));
    expect(steps.map((c) => [c[col('time')], c[col('approval_step')]])).toEqual([
      [iso(at.requested), 'requested'],
      [iso(at.decided), 'decided'],
      [iso(at.released), 'released'],
      [iso(at.finished), 'finished'],
    ]);
    expect(steps[1]![col('approver_address')]).toBe('10.1.0.22');
    // Every line names its evidence: the bundle's SHA-256 (once the viewer has computed it) and the result.
    expect(header.slice(-2)).toEqual(['bundle_sha256', 'verification']);
    for (const c of steps) expect(c.slice(-2)).toEqual([expect.stringMatching(/^[0-9a-f]{64}$/), 'PASS']);
    expect(csv).toContain(`"'=HYPERLINK(""http://evil.example"",""open"")"`);
    expect(csv).toContain('"[""411111******1111"",""88231""]"');
    expect(csv).not.toContain('4111111111111111');
    // Filtered: the button saves what is shown.
    await page.getByLabel('approval steps only').check();
    const filtered = Number(/^(\d+) of/.exec(await page.getByTestId('event-count').innerText())![1]);
    const f = (await download(page, () => page.getByRole('button', { name: `Save these ${filtered} rows (CSV)` }).click())).bytes.toString('utf8');
    expect(f.trimEnd().split('\r\n')).toHaveLength(filtered + 1);
    await page.locator('[data-testid=event-table] .row[data-step=decided]').first().click();
    expect(await page.getByTestId('event-detail').innerText()).toMatch(/Approver from\s+10\.1\.0\.22/);
    await shot(page, 'events-approvals');
    expect(problems(page)).toEqual([]);
  });
});

describe('with the archive of the approved session gone', () => {
  it('the signed log dates the request and the decision; release and finish are unknown, never a time', async () => {
    const name = (await members(bundle)).map((m) => m.name).find((n) => n.startsWith('archives/00000001-'))!;
    const cut = join(dir, 'cut.vigil');
    writeFileSync(cut, await rewriteBundle(bundle, { [name]: null }));
    const p = await viewer.page();
    await openEvidence(p, { trust, bundle: cut, key });
    await nav(p, 'Approvals');
    const row = p.locator('[data-testid=approvals] tbody tr[data-request=apr_HeldUpd00001]');
    expect(await row.getAttribute('data-source')).toBe('log');
    // The register stays in the order the requests were made, the log-only one included (not last).
    expect(await p.locator('[data-testid=approvals] tbody tr').evaluateAll((rs) => rs.map((r) => r.getAttribute('data-request')))).toEqual(['apr_HeldUpd00001', 'apr_DeniedDel001', 'apr_NeverRan0001']);
    const s = await steps(row);
    expect(s.map((x) => x.state)).toEqual(['from-log', 'from-log', 'unknown', 'unknown']);
    expect(s[2]!.text).toBe('Released to the target unknown from the signed log; content unavailable');
    expect(s[3]!.text).not.toMatch(/\d{4}-\d\d-\d\d/);
    expect(await row.getByTestId('approval-interval').innerText()).toMatch(/whether and when it ran is unknown: from the signed log; content unavailable$/);
    await shot(p, 'log-only');
    await p.locator('nav.side button', { hasText: 'Event table' }).click();
    await p.getByTestId('event-table').waitFor();
    const logRows = await p.locator('[data-testid=event-table] .row[data-source=log]').count();
    expect(logRows).toBe(3); // session.started, approval.requested, approval.decided
    await shot(p, 'log-only-events');
    expect(problems(p)).toEqual([]);
  });
});
