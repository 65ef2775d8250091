/**
 * Bundles are untrusted. Sessions recorded by the real writer carry HTML, script, terminal escape
 * sequences aimed at the auditor's machine, bidi tricks, absurd lengths and a gigantic recording: the
 * viewer shows them as text, neutralises what could act on the host, and stays responsive.
 */
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { utf8 } from '../../shared/bytes.ts';
import { Appliance } from '../../appliance/appliance.ts';
import { newAppliance, type TestAppliance } from '../helpers/evidence.ts';
import { exportTo, recordSessions } from '../helpers/viewer-evidence.ts';
import { download, nav, openEvidence, openSession, problems, screenshot, startViewer, terminalText, type ViewerSession } from '../helpers/viewer.ts';

const XSS = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';
const ESCAPES = 'ok\x1b]52;c;cm0gLXJmIH4K\x07\x1b]0;PWNED TITLE\x07\x1b]8;;https://evil.example/\x1b\\click me\x1b]8;;\x1b\\\x1bP$q"p\x1b\\\x1b[31m red \x1b[0m\r\n';
const BIDI = 'SELECT 1 -- \u202Eevil\u202C \x1b[2J';
const HUGE = 'SELECT ' + 'x'.repeat(1_000_000);
const GIANT_MIB = 48;

const HOSTILE_HASH = 'ab'.repeat(32);
let viewer: ViewerSession;
let A: TestAppliance;
let bundle: string;
let page: Page;

beforeAll(async () => {
  A = newAppliance();
  const app = await Appliance.open(A.configPath);
  const [hostileId] = await recordSessions(app, [
    {
      subject: XSS,
      context: { target: { name: `<b>${XSS}</b>`, address: 'javascript:alert(1)', credentialRef: '"><svg onload=alert(1)>' }, client: { address: '<i>10.0.0.1</i>' } },
      extra: [
        { type: 'command', id: 1, kind: 'sql', text: XSS },
        { type: 'decision', command: 1, decision: 'block', rule: XSS, reason: XSS },
        { type: 'error', command: 1, code: '<b>', message: XSS },
        { type: 'command', id: 2, kind: 'sql', text: BIDI },
        { type: 'decision', command: 2, decision: 'allow', rule: 'r' },
        { type: 'result', command: 2, columns: [XSS, 'b'], rows: [[XSS, '=cmd|"/c calc"!A1'], [null, { nested: XSS }]], rowCount: 2 },
        { type: 'approval.requested', command: 2, requestId: XSS, justification: XSS, commandHash: HOSTILE_HASH },
        { type: 'approval.decided', command: 2, requestId: XSS, decision: 'approved', approver: { subject: XSS }, reason: XSS, commandHash: HOSTILE_HASH },
        { type: 'command', id: 3, kind: 'sql', text: HUGE },
        { type: 'decision', command: 3, decision: 'allow', rule: 'r' },
      ],
    },
    {
      subject: 'escape-artist',
      context: { protocol: 'ssh' },
      extra: [
        { type: 'session.open', protocol: 'ssh', pty: { cols: 100000, rows: -3, term: '<script>' } },
        { type: 'command', id: 1, kind: 'shell', text: 'cat evil.txt' },
        { type: 'decision', command: 1, decision: 'allow', rule: 'shell' },
        { type: 'output', stream: 'pty', data: utf8(ESCAPES) },
        { type: 'output', stream: 'pty', data: utf8('after the escapes\r\n') },
      ],
    },
  ]);
  // The approval service logs what it records; so does this hand-made session (the verifier cross-checks).
  app.log.append('approval.requested', { requestId: XSS, sessionId: hostileId, commandHash: HOSTILE_HASH });
  app.log.append('approval.decided', { requestId: XSS, sessionId: hostileId, commandHash: HOSTILE_HASH, approver: XSS, decision: 'approve' });
  // A gigantic terminal recording: tens of MiB of output in one session.
  const s = app.recorder.start({ protocol: 'ssh', identity: { subject: 'firehose' }, target: { name: 'host' }, client: { address: '127.0.0.1:1' } });
  s.record({ type: 'session.open', protocol: 'ssh', pty: { cols: 120, rows: 30 } });
  const line = utf8('0123456789abcdef'.repeat(63) + '\r\n'); // ~1 KiB
  const chunk = new Uint8Array(line.length * 16);
  for (let i = 0; i < 16; i++) chunk.set(line, i * line.length);
  for (let i = 0; i < (GIANT_MIB * 1024) / 16; i++) s.record({ type: 'output', stream: 'pty', data: chunk });
  s.record({ type: 'output', stream: 'pty', data: utf8('END OF FIREHOSE\r\n') });
  await s.close('done');
  await app.close();
  const file = join(A.dir, 'hostile.vigil');
  [viewer] = await Promise.all([startViewer(), exportTo(A.configPath, file)]);
  bundle = file;
  page = await viewer.page();
  await openEvidence(page, { trust: A.trustPath, bundle, key: join(A.dir, 'auditor.key') });
}, 180_000);

afterAll(async () => {
  await viewer?.close();
});

const pwned = () => page.evaluate('window.__pwned ?? null');

describe('hostile bundles', () => {
  it('verify like any other (the content is masked-clean), and nothing in them runs', async () => {
    expect(await page.getByTestId('banner').innerText()).toMatch(/intact and complete/);
    await nav(page, 'Sessions');
    expect(await page.locator('.vtable .row[data-seq="1"]').innerText()).toContain('<img src=x onerror="window.__pwned=1">');
    expect(await pwned()).toBeNull();
  });

  it('show HTML, script and bidi characters as text in the session detail', async () => {
    await openSession(page, 1);
    expect(await page.getByTestId('identity').innerText()).toBe(XSS);
    expect(await page.getByTestId('target').innerText()).toContain(`<b>${XSS}</b>`);
    const timeline = await page.locator('.timeline').innerText();
    expect(timeline).toContain(XSS);
    // Bidi override and escape characters are made visible, not applied.
    expect(timeline).toContain('SELECT 1 -- U+202Eevil');
    expect(timeline).toMatch(/U\+202C ESC\[2J/);
    // A megabyte-long command is shown cut, with the rest counted.
    expect(timeline).toMatch(/… \(980,00\d more characters\)/);
    expect(await page.locator('.timeline img, .timeline script, .timeline svg').count()).toBe(0);
    await screenshot(page, '12-hostile-detail');
    expect(await pwned()).toBeNull();
  });

  it('the approvals register shows hostile strings as text', async () => {
    await nav(page, 'Approvals');
    const text = await page.getByTestId('approvals').innerText();
    expect(text).toContain(XSS);
    expect(await page.locator('[data-testid=approvals] img, [data-testid=approvals] script').count()).toBe(0);
    expect(await pwned()).toBeNull();
  });

  it('terminal replay neutralises clipboard writes, title changes, hyperlinks and device control strings', async () => {
    const title = await page.title();
    await openSession(page, 2);
    await page.getByRole('tab', { name: 'Replay' }).click();
    await page.getByRole('slider', { name: 'Timeline' }).fill(String(await page.getByRole('slider', { name: 'Timeline' }).getAttribute('max')));
    await expect.poll(() => terminalText(page)).toMatch(/after the escapes/);
    const screen = await terminalText(page);
    expect(screen).toMatch(/okclick me red/);
    expect(screen).not.toMatch(/PWNED|cm0gLXJmIH4K|evil\.example/);
    expect(await page.getByTestId('neutralised').innerText()).toMatch(/4 terminal control strings neutralised: OSC 52 \(clipboard write\) ×1, OSC 0 \(window title\) ×1, OSC 8 \(hyperlink\) ×2, DCS \(device control\) ×1|5 terminal control strings neutralised/);
    expect(await page.title()).toBe(title);
    expect(await page.locator('[data-testid=terminal] a').count()).toBe(0);
    // The absurd pty size was clamped to something drawable.
    const cast = JSON.parse((await download(page, () => page.getByRole('button', { name: 'Save replay (.cast)' }).click())).bytes.toString('utf8').split('\n')[0]!);
    expect(cast).toMatchObject({ width: 500, height: 4, env: { TERM: 'script' } });
    await screenshot(page, '13-hostile-terminal');
  });

  it('a gigantic recording replays and seeks while the window stays responsive', async () => {
    await openSession(page, 3);
    await page.getByRole('tab', { name: 'Replay' }).click();
    // While the recording is being indexed, the rest of the window still answers.
    await page.getByRole('tab', { name: 'Timeline' }).click();
    await page.getByRole('tab', { name: 'Replay' }).click();
    const slider = page.getByRole('slider', { name: 'Timeline' });
    await slider.fill(String(await slider.getAttribute('max')));
    await expect.poll(() => terminalText(page), { timeout: 60_000 }).toMatch(/END OF FIREHOSE/);
    await slider.fill('0');
    await expect.poll(() => terminalText(page), { timeout: 60_000 }).not.toMatch(/END OF FIREHOSE/);
    expect(await page.evaluate(() => 1 + 1)).toBe(2);
  });

  it('exports keep hostile strings inert: CSV formulas neutralised, HTML report escaped', async () => {
    await nav(page, 'Report & exports');
    await page.getByLabel('Auditor name').fill('<script>alert(1)</script>');
    const html = (await download(page, () => page.getByRole('button', { name: 'Save HTML report' }).click())).bytes.toString('utf8');
    expect(html).not.toMatch(/<script|<img|<svg/i);
    expect(html).toContain('&lt;img src=x onerror=&quot;window.__pwned=1&quot;&gt;');
    const csv = (await download(page, () => page.getByRole('button', { name: 'Save chronological log (CSV)' }).click())).bytes.toString('utf8');
    for (const line of csv.split('\r\n').slice(1).filter(Boolean)) for (const cell of line.split(',')) expect(cell).not.toMatch(/^[=+@]/);
    expect(await pwned()).toBeNull();
    expect(problems(page)).toEqual([]);
  });
});
