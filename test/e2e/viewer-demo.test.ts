/**
 * The auditor's green path in the built viewer (Chromium via Playwright) on the bundle `vigil
 * demo-evidence` writes with the real writer: trust, open, verify, decrypt (with and without passphrase),
 * sessions and filters, session detail, replay with seeking, approvals, and every export.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDemoEvidence, type DemoEvidence } from '../../appliance/demo/evidence-demo.ts';
import { FAST_KDF, tempDir } from '../helpers/evidence.ts';
import { pdfLibText, pdfText } from '../helpers/viewer-pdf.ts';
import { checkStatus, checkText, download, nav, openEvidence, openSession, problems, screenshot, startViewer, terminalText, type ViewerSession } from '../helpers/viewer.ts';

let viewer: ViewerSession;
let demo: DemoEvidence;
let page: Page;

beforeAll(async () => {
  [viewer, demo] = await Promise.all([startViewer(), writeDemoEvidence(join(tempDir(), 'demo'), { kdf: FAST_KDF })]);
  page = await viewer.page();
  await openEvidence(page, { trust: demo.trust, bundle: demo.bundle, key: demo.auditorKey });
}, 180_000);

afterAll(async () => {
  await viewer?.close();
});

describe('trust and verification', () => {
  it('shows the pinned key fingerprint and the last checkpoint from the trust file', async () => {
    const trust = JSON.parse(readFileSync(demo.trust, 'utf8')) as { keys: { fingerprint: string }[]; checkpoint: { signed: string } };
    const fp = trust.keys[0]!.fingerprint.toUpperCase().replace(/(.{4})(?=.)/g, '$1 ');
    await expect.poll(() => page.getByTestId('fingerprint').first().innerText()).toBe(fp);
    const cp = JSON.parse(trust.checkpoint.signed) as { size: number };
    expect(await page.getByTestId('pinned-checkpoint').innerText()).toMatch(new RegExp(`^${cp.size} log entries at \\d{4}-\\d\\d-\\d\\d `));
  });

  it('passes every check and says so, per check and per session', async () => {
    const banner = page.getByTestId('banner');
    expect(await banner.innerText()).toMatch(/This evidence is intact and complete[\s\S]*5 sessions: 4 complete, 1 interrupted/);
    for (const id of ['signatures', 'key-chain', 'digests', 'log-inclusion', 'log-consistency', 'session-sequence', 'decryption', 'tag-final', 'pan-rescan']) {
      expect(await checkStatus(page, id), id).toBe('pass');
    }
    expect(await checkText(page, 'pan-rescan')).toMatch(/no clear card numbers or track data found/);
    expect(await page.getByTestId('verdict').innerText()).toMatch(/Verified/);
    const statuses = await page.locator('[data-testid=session-statuses] tbody tr').allInnerTexts();
    expect(statuses).toHaveLength(5);
    expect(statuses[4]).toMatch(/^5\s+interrupted\s+repo:acme\/etl.*the appliance stopped before the session ended/s);
    await screenshot(page, '01-verified', { fullPage: true });
  });
});

describe('sessions', () => {
  it('lists every session and filters by identity, protocol, outcome, flags and command text', async () => {
    await nav(page, 'Sessions');
    const count = page.getByTestId('session-count');
    const seqs = () => page.locator('.vtable .row').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-seq'))));
    expect(await count.innerText()).toBe('5 sessions');
    expect(await seqs()).toEqual([1, 2, 3, 4, 5]);
    await screenshot(page, '02-sessions');
    await page.getByLabel('Identity').fill('acme/payments');
    await expect.poll(seqs).toEqual([1, 2]);
    await page.getByLabel('Identity').fill('');
    await page.getByLabel('Protocol').selectOption('ssh');
    await expect.poll(seqs).toEqual([4]);
    await page.getByLabel('Protocol').selectOption('');
    await page.getByLabel('Outcome').selectOption('interrupted');
    await expect.poll(seqs).toEqual([5]);
    await page.getByLabel('Outcome').selectOption('');
    await page.getByLabel('had blocks').check();
    await expect.poll(seqs).toEqual([2, 4]);
    await page.getByLabel('had masking').check();
    await expect.poll(seqs).toEqual([4]);
    await page.getByLabel('had blocks').uncheck();
    await page.getByLabel('had masking').uncheck();
    await page.getByLabel('had approvals').check();
    await expect.poll(seqs).toEqual([3]);
    await page.getByLabel('had approvals').uncheck();
    await page.getByLabel('Search in commands').fill('systemctl');
    await expect.poll(seqs).toEqual([4]);
    expect(await count.innerText()).toBe('1 of 5 sessions');
    await page.getByLabel('Search in commands').fill('FROM CUSTOMERS');
    await expect.poll(seqs).toEqual([1, 2]);
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await expect.poll(seqs).toEqual([1, 2, 3, 4, 5]);
  });

  it('filters by start time (UTC)', async () => {
    await nav(page, 'Sessions');
    const started = await page.locator('.vtable .row[data-seq="3"] > div').nth(5).innerText(); // "YYYY-MM-DD hh:mm:ss"
    await page.getByLabel('Started from').fill(started.replace(' ', 'T'));
    await expect.poll(() => page.locator('.vtable .row').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-seq'))))).toEqual([3, 4, 5]);
    await page.getByRole('button', { name: 'Clear filters' }).click();
  });

  it('shows who, from where, the target and credential reference (never a secret), results masked', async () => {
    await openSession(page, 1);
    expect(await page.getByTestId('identity').innerText()).toBe('repo:acme/payments:ref:refs/heads/main');
    const detail = await page.getByTestId('session-detail').innerText();
    expect(detail).toMatch(/Issuer\s+https:\/\/token\.actions\.githubusercontent\.com/);
    expect(detail).toMatch(/Groups\s+ci-readonly/);
    expect(detail).toMatch(/Token id\s+a1b2c3d4-jti-0001/);
    expect(detail).toMatch(/From\s+10\.20\.0\.14:51544/);
    expect(detail).toMatch(/Credential\s+file:\/etc\/vigil\/secrets\/payments-db/);
    expect(await page.getByTestId('masked-count').innerText()).toMatch(/^6 \(pan 3, redacted 3\)/);
    const timeline = await page.getByTestId('timeline-command').first().innerText();
    expect(timeline).toMatch(/allowed[\s\S]*SELECT id, name, card_number, cvv FROM customers/);
    expect(timeline).toContain('411111******1111');
    expect(timeline).toContain('[REDACTED]');
    expect(timeline).not.toMatch(/4111111111111111/);
    await screenshot(page, '03-session-detail', { fullPage: true });
  });

  it('shows a blocked command with its rule, reason and error', async () => {
    await openSession(page, 2);
    const first = await page.getByTestId('timeline-command').first().innerText();
    expect(first).toMatch(/blocked[\s\S]*rule no-destructive-ddl[\s\S]*DROP TABLE customers[\s\S]*Reason: DROP is never allowed on the CDE database[\s\S]*42501 blocked by Vigil policy/);
  });
});

describe('replay', () => {
  it('plays the terminal session and seeks to markers without replaying from the start', async () => {
    await openSession(page, 4);
    await page.getByRole('tab', { name: 'Replay' }).click();
    const player = page.getByTestId('terminal-player');
    await player.waitFor();
    expect(await page.locator('[data-marker]').count()).toBeGreaterThanOrEqual(5);
    const blockMarker = page.locator('[data-marker=block]').first();
    expect(await blockMarker.getAttribute('aria-label')).toMatch(/Blocked: sudo systemctl restart settlement/);
    // Seek to the block: the screen shows everything up to it, nothing after it.
    await blockMarker.click();
    await expect.poll(() => terminalText(page)).toMatch(/sudo systemctl restart settlement/);
    let screen = await terminalText(page);
    expect(screen).toMatch(/T-99120,401288\*{6}1881,129\.90,EUR/);
    expect(screen).not.toMatch(/logout/);
    await screenshot(page, '04-replay-terminal');
    // Seek to the end with the timeline, then back to the first command.
    const slider = page.getByRole('slider', { name: 'Timeline' });
    await slider.fill(String(await slider.getAttribute('max')));
    await expect.poll(() => terminalText(page)).toMatch(/logout/);
    // The first command marker: the moment the command was recorded, before its output (back in time, from a snapshot or the start).
    await page.locator('[data-marker=command]').first().click();
    await expect.poll(async () => (await terminalText(page)).replace(/\s+/g, ' ').trim()).toBe('Linux batch-host-1 6.1.0-28-amd64 x86_64 batch@batch-host-1:~$');
    // Play at 32x: the clock moves and the session's last output arrives.
    await page.getByLabel('Speed').selectOption('32');
    await page.getByRole('button', { name: 'Play', exact: true }).click();
    await expect.poll(() => terminalText(page), { timeout: 20_000 }).toMatch(/logout/);
    expect(await page.getByTestId('clock').innerText()).toMatch(/^0:0\d \/ 0:0\d$/);
  });

  it('steps through a database session statement by statement', async () => {
    await openSession(page, 2);
    await page.getByRole('tab', { name: 'Replay' }).click();
    const current = page.getByTestId('current-statement');
    expect(await page.getByTestId('statement-position').innerText()).toBe('Statement 1 of 2');
    expect(await current.innerText()).toMatch(/blocked[\s\S]*DROP TABLE customers/);
    await page.getByRole('button', { name: 'Next ▶' }).click();
    expect(await page.getByTestId('statement-position').innerText()).toBe('Statement 2 of 2');
    expect(await current.innerText()).toMatch(/allowed[\s\S]*SELECT count\(\*\) FROM customers[\s\S]*SELECT 1 · 1 row ·[\s\S]*48210/);
    await screenshot(page, '05-replay-statements');
  });

  it('saves an asciicast v2 replay of a terminal session', async () => {
    await openSession(page, 4);
    const { name, bytes } = await download(page, () => page.getByRole('button', { name: 'Save replay (.cast)' }).click());
    expect(name).toMatch(/^session-4-[0-9a-f-]{36}\.cast$/);
    const lines = bytes.toString('utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as unknown);
    expect(lines[0]).toMatchObject({ version: 2, width: 100, height: 30, env: { TERM: 'xterm-256color' } });
    const out = (lines.slice(1) as [number, string, string][]).map((l) => l[2]).join('');
    expect(out).toContain('ls -l /srv/settlement');
    expect(out).toContain('vigil: blocked by policy "no-sudo"');
    const times = (lines.slice(1) as [number][]).map((l) => l[0]);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });
});

describe('approvals register', () => {
  it('lists the request with requester, approver, reasons, times and the hash check', async () => {
    await nav(page, 'Approvals');
    const row = page.locator('[data-testid=approvals] tbody tr[data-request=apr_7Q2M9Xdemo01]');
    const text = await row.innerText();
    expect(text).toMatch(/apr_7Q2M9Xdemo01\s+#3/);
    expect(text).toMatch(/spiffe:\/\/acme\.internal\/ns\/billing\/sa\/refund-worker/);
    expect(text).toMatch(/UPDATE accounts SET status = 'closed' WHERE id = 88231/);
    expect(text).toMatch(/Justification: CHG-4411 customer request/);
    expect(text).toMatch(/alice@acme\.example\s+approved[\s\S]*from 10\.1\.0\.22[\s\S]*matches CHG-4411/);
    // The approved decision carries the same command hash as the request: the check mark is earned.
    expect(await row.locator('[data-hash]').getAttribute('data-hash')).toBe('match');
    await screenshot(page, '06-approvals', { fullPage: true });
  });
});

describe('audit handoff', () => {
  it('produces a PDF report naming the auditor, the verdict, the PCI figures, sessions and approvals', async () => {
    await nav(page, 'Report & exports');
    const save = page.getByRole('button', { name: 'Save PDF report' });
    expect(await save.isDisabled()).toBe(true); // the auditor's name is required
    await page.getByLabel('Auditor name').fill('Dana Auditor, QSA');
    await screenshot(page, '07-report');
    const { name, bytes } = await download(page, () => save.click());
    expect(name).toBe('evidence-report.pdf');
    expect(bytes.subarray(0, 5).toString()).toBe('%PDF-');
    const file = join(tempDir(), name);
    writeFileSync(file, bytes);
    const text = pdfText(file).replace(/\s+/g, ' ');
    expect(text).toMatch(/was opened and verified offline by Dana Auditor, QSA with Vigil Evidence Viewer/);
    expect(text).toMatch(/PASS: every check passed\. 5 sessions: 4 complete, 1 interrupted, 0 in progress, 0 failed/);
    expect(text).toMatch(/3\.4\.1 .*8 values masked in responses across 5 sessions \(5 card numbers\)/);
    expect(text).toMatch(/8\.6\.1 .*1 approval request: 1 approved, 0 denied or expired/);
    expect(text).toMatch(/7\.2\.5 .*2 commands refused by policy/);
    expect(text).toMatch(/10\.7\.2 \/ 10\.7\.3 .*1 session interrupted/);
    expect(text).toMatch(/apr_7Q2M9Xdemo01/); // whole: identifiers are never broken
    expect(text).toMatch(/deploy-bot/);
    expect(text).not.toMatch(/4111111111111111/);
    // The same figures through the JS reader (what runs where poppler is not installed).
    expect(pdfLibText(bytes).replace(/\s+/g, ' ')).toMatch(/8 values masked in responses across 5 sessions \(5 card numbers\)/);
  });

  it('produces the HTML report and the chronological CSV log', async () => {
    await nav(page, 'Report & exports');
    await page.getByLabel('Auditor name').fill('Dana Auditor');
    const html = (await download(page, () => page.getByRole('button', { name: 'Save HTML report' }).click())).bytes.toString('utf8');
    expect(html).toMatch(/opened and verified offline by Dana Auditor/);
    expect(html).toContain("default-src 'none'");
    expect(html).not.toMatch(/<script/i);
    const csv = (await download(page, () => page.getByRole('button', { name: 'Save chronological log (CSV)' }).click())).bytes.toString('utf8');
    const lines = csv.trimEnd().split('\r\n');
    expect(lines[0]).toBe('time,session,session_id,protocol,identity,client,target,command,decision,rule,approved_by,result,masked,session_status,approval_request,approval_requested_at,approval_decided_at,approval_decided,approval_released_at,approval_finished_at,approval_interval,bundle_sha256,verification');
    expect(lines).toHaveLength(1 + 1 + 2 + 1 + 4 + 1);
    const times = lines.slice(1).map((l) => l.split(',')[0]!);
    expect([...times].sort()).toEqual(times);
    expect(csv).toMatch(/,1,[0-9a-f-]{36},postgres,repo:acme\/payments:ref:refs\/heads\/main,10\.20\.0\.14:51544,payments-db,"SELECT id, name, card_number, cvv FROM customers WHERE country = \$1 LIMIT 3",allow,ci-readonly-select,,"SELECT 3, 3 rows",6,complete/);
    expect(csv).toMatch(/,UPDATE accounts SET status = 'closed' WHERE id = 88231 -- vigil:justification=CHG-4411 customer request,approved,billing-workers\/writes-need-approval,alice@acme\.example,"UPDATE 1, 1 rows",0,complete/);
    expect(csv).toMatch(/sudo systemctl restart settlement,block,no-sudo,/);
  });

  it('raised no page error, dialog or console error', () => {
    expect(problems(page)).toEqual([]);
  });
});

describe('decryption choices', () => {
  it('without a key: integrity checks pass, content checks are not run, content is not shown', async () => {
    const p = await viewer.page();
    await screenshot(p, '00-start');
    await openEvidence(p, { trust: demo.trust, bundle: demo.bundle });
    expect(await p.getByTestId('banner').innerText()).toMatch(/Integrity only/);
    for (const id of ['decryption', 'tag-final', 'pan-rescan']) {
      expect(await checkStatus(p, id)).toBe('skipped');
      expect(await checkText(p, id)).toMatch(/not run: needs the auditor key/);
    }
    expect(await checkStatus(p, 'digests')).toBe('pass');
    await openSession(p, 1);
    expect(await p.getByTestId('session-detail').innerText()).toMatch(/Load the auditor key/);
    await nav(p, 'Sessions');
    expect(await p.getByLabel('Search in commands').isDisabled()).toBe(true);
    await p.close();
  });

  it('a passphrase-protected key: a wrong passphrase is refused, the right one decrypts', async () => {
    const p = await viewer.page();
    await p.getByTestId('trust-input').setInputFiles(demo.trust);
    await p.getByTestId('bundle-input').setInputFiles(demo.bundle);
    await p.getByTestId('banner').waitFor();
    await p.getByTestId('key-input').setInputFiles(demo.protectedKey);
    await p.getByLabel('Passphrase', { exact: true }).fill('not the passphrase');
    await p.getByRole('button', { name: 'Unlock' }).click();
    await expect.poll(() => p.getByRole('dialog').innerText()).toMatch(/That passphrase does not open this key/);
    await screenshot(p, '08-passphrase');
    await p.getByLabel('Passphrase', { exact: true }).fill(demo.passphrase);
    await p.getByRole('button', { name: 'Unlock' }).click();
    await p.locator('[data-testid=banner][data-with-key=yes]').waitFor();
    expect(await checkStatus(p, 'decryption')).toBe('pass');
    expect(await p.getByTestId('key-loaded').innerText()).toMatch(/unlocked/);
    // "Forget key": back to integrity only, decrypted content gone.
    await p.getByRole('button', { name: 'Forget key' }).click();
    await p.locator('[data-testid=banner][data-with-key=no]').waitFor();
    expect(await checkStatus(p, 'decryption')).toBe('skipped');
    expect(problems(p)).toEqual([]);
    await p.close();
  });

  it('stores nothing in the browser: no localStorage, sessionStorage, IndexedDB or cookies', async () => {
    const p = await viewer.page();
    await openEvidence(p, { trust: demo.trust, bundle: demo.bundle, key: demo.auditorKey });
    await openSession(p, 1);
    const stored = await p.evaluate(`(async () => ({
      local: localStorage.length,
      session: sessionStorage.length,
      cookies: document.cookie,
      idb: (await indexedDB.databases()).length,
    }))()`);
    expect(stored).toEqual({ local: 0, session: 0, cookies: '', idb: 0 });
    await p.close();
  });
});
