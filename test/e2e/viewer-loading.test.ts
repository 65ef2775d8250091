/**
 * In Chromium: loading the evidence as an auditor does it, and tying every output to it.
 * - Drop the trust file, the bundle and the key in any order, one at a time or all at once: it works the
 *   first time. A file is recognised by its content, not by its name or the slot it was put in; a file in
 *   the wrong slot is refused in plain words that say what it is and where it goes.
 * - The bundle's SHA-256 (what `vigil export` printed) and the verification result are in the UI, the PDF,
 *   the HTML, the CSV and the asciicast header; the "fingerprint compared" step is recorded only when the
 *   auditor confirmed it.
 * - The PDF keeps identifiers whole (session ids, request ids, the SHA-256), its plurals right and its
 *   times in UTC with milliseconds.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDemoEvidence, type DemoEvidence } from '../../appliance/demo/evidence-demo.ts';
import { vigil } from '../helpers/cli.ts';
import { FAST_KDF, tempDir } from '../helpers/evidence.ts';
import { pdfLibText } from '../helpers/viewer-pdf.ts';
import { download, nav, openEvidence, openSession, problems, screenshot, startViewer, type ViewerSession } from '../helpers/viewer.ts';

let viewer: ViewerSession;
let demo: DemoEvidence;
/** A bundle written by the real `vigil export`, what that command printed, and the file's SHA-256. */
let bundle: string;
let exportOutput: string;
let sha: string;
const work = tempDir('vigil-e2e-loading-');

beforeAll(async () => {
  [viewer, demo] = await Promise.all([startViewer(), writeDemoEvidence(join(tempDir(), 'demo'), { kdf: FAST_KDF })]);
  bundle = join(work, 'evidence.vigil');
  const exported = vigil(['export', '--config', demo.config, '--out', bundle]);
  expect(exported.code, exported.stderr).toBe(0);
  exportOutput = exported.stdout;
  sha = createHash('sha256').update(readFileSync(bundle)).digest('hex');
}, 180_000);

it('`vigil export` prints the SHA-256 of the bundle it wrote (what the auditor compares)', () => {
  expect(/^SHA-256 ([0-9a-f]{64}) {2}\S/m.exec(exportOutput)?.[1], exportOutput).toBe(sha);
});

afterAll(async () => {
  await viewer?.close();
});

/** Drops files on the window as the OS does: one drop event whose DataTransfer holds them all, in this order. */
async function drop(p: Page, paths: string[]): Promise<void> {
  // A file input outside the app only carries the files from disk into the page (the app never sees it).
  await p.evaluate(`(() => { const i = document.createElement('input'); i.type = 'file'; i.multiple = true; i.hidden = true; i.id = 'e2e-drop'; document.body.append(i); })()`);
  await p.locator('#e2e-drop').setInputFiles(paths);
  await p.evaluate(`(() => {
    const i = document.getElementById('e2e-drop');
    const dt = new DataTransfer();
    for (const f of i.files) dt.items.add(f);
    i.remove();
    const target = document.querySelector('main') || document.body;
    target.dispatchEvent(new DragEvent('dragover', { bubbles: true, cancelable: true, dataTransfer: dt }));
    target.dispatchEvent(new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: dt }));
  })()`);
}

async function verifiedWithKey(p: Page): Promise<void> {
  await p.locator('[data-testid=banner][data-with-key=yes]').waitFor({ timeout: 60_000 });
  expect(await p.getByTestId('banner').getAttribute('data-verdict')).toBe('pass');
  expect(await p.getByTestId('verdict').innerText()).toBe('✓ Verified');
  for (const id of ['trust-loaded', 'bundle-loaded', 'key-loaded']) expect(await p.getByTestId(id).count(), id).toBe(1);
  expect(await p.getByTestId('key-loaded').innerText()).toMatch(/unlocked/);
  expect(await p.getByRole('alert').count()).toBe(0);
}

const alertText = (p: Page) => p.getByRole('alert').innerText();
/** Report text as a reader sees it: tags out, white space as single spaces. */
const flat = (s: string) => s.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');
/** What a refusal must never show: validation-library or error-code text instead of words. */
const SCHEMA_TEXT = /invalid_|expected|received|zod|E_[A-Z]{3,}|schema|\[object|JSON\.parse|Unexpected token/i;

describe('loading: any order, first time', () => {
  const orders: [string, () => string[]][] = [
    ['trust, bundle, key', () => [demo.trust, bundle, demo.auditorKey]],
    ['bundle, key, trust', () => [bundle, demo.auditorKey, demo.trust]],
    ['key, trust, bundle', () => [demo.auditorKey, demo.trust, bundle]],
  ];
  for (const [order, files] of orders) {
    it(`all three dropped at once (${order}) verify with the key, first time`, async () => {
      const p = await viewer.page();
      await drop(p, files());
      await verifiedWithKey(p);
      if (order.startsWith('bundle')) await screenshot(p, 'loading-dropped-all', { fullPage: true });
      expect(problems(p)).toEqual([]);
      await p.close();
    });
  }

  // The other three orders, with the passphrase-protected key (the documented flow: the viewer asks for it).
  const lockedOrders: [string, () => string[]][] = [
    ['trust, key, bundle', () => [demo.trust, demo.protectedKey, bundle]],
    ['bundle, trust, key', () => [bundle, demo.trust, demo.protectedKey]],
    ['key, bundle, trust', () => [demo.protectedKey, bundle, demo.trust]],
  ];
  for (const [order, files] of lockedOrders) {
    it(`all three dropped at once (${order}) with a passphrase-protected key: asked once, verifies with the key, first time`, async () => {
      const p = await viewer.page();
      await drop(p, files());
      await p.getByLabel('Passphrase', { exact: true }).fill(demo.passphrase);
      if (order.startsWith('key')) await screenshot(p, 'loading-dropped-locked-passphrase');
      await p.getByRole('button', { name: 'Unlock' }).click();
      await verifiedWithKey(p);
      expect(await p.getByLabel('Passphrase', { exact: true }).count()).toBe(0);
      if (order.startsWith('key')) await screenshot(p, 'loading-dropped-locked', { fullPage: true });
      expect(problems(p)).toEqual([]);
      await p.close();
    });
  }

  it('dropped one at a time, bundle first, then key, then trust: verifies with the key', async () => {
    const p = await viewer.page();
    await drop(p, [bundle]);
    await p.getByTestId('bundle-loaded').waitFor();
    await drop(p, [demo.auditorKey]);
    await p.getByTestId('key-loaded').waitFor();
    await drop(p, [demo.trust]);
    await verifiedWithKey(p);
    await p.close();
  });

  it('a file is recognised by its content, not its name: a renamed bundle and trust file still load', async () => {
    const p = await viewer.page();
    const renamedBundle = join(work, 'copy-from-usb.bin');
    const renamedTrust = join(work, 'pinned.txt');
    copyFileSync(bundle, renamedBundle);
    copyFileSync(demo.trust, renamedTrust);
    await drop(p, [renamedTrust, demo.auditorKey, renamedBundle]);
    await verifiedWithKey(p);
    await p.close();
  });
});

describe('loading: a file in the wrong slot is refused in plain words', () => {
  it('trust.json opened as the bundle: says it is the trust file and where it goes; nothing is opened', async () => {
    const p = await viewer.page();
    await p.getByTestId('bundle-input').setInputFiles(demo.trust);
    await p.getByRole('alert').waitFor();
    const text = await alertText(p);
    expect(text).toMatch(/trust\.json is a trust file, not an evidence bundle/);
    expect(text).toMatch(/step 1 \(Trust file\)/);
    expect(text).not.toMatch(SCHEMA_TEXT);
    expect(await p.getByTestId('bundle-loaded').count()).toBe(0);
    expect(await p.getByTestId('verdict').innerText()).toBe('Not verified');
    await screenshot(p, 'loading-wrong-slot');
    // Once the trust file is in its slot too, nothing half-loaded gets in the way.
    await p.getByTestId('trust-input').setInputFiles(demo.trust);
    await p.getByTestId('trust-loaded').waitFor();
    expect(await p.getByTestId('bundle-loaded').count()).toBe(0);
    expect(problems(p)).toEqual([]);
    await p.close();
  });

  it('the bundle as the trust file, the key as the bundle, the bundle as the key: each refused, each said plainly', async () => {
    const p = await viewer.page();
    await p.getByTestId('trust-input').setInputFiles(bundle);
    await expect.poll(() => alertText(p)).toMatch(/evidence\.vigil is an evidence bundle, not a trust file[\s\S]*step 2 \(Evidence bundle\)/);
    await p.getByTestId('bundle-input').setInputFiles(demo.auditorKey);
    await expect.poll(() => alertText(p)).toMatch(/auditor\.key is an auditor secret key, not an evidence bundle[\s\S]*step 3 \(Auditor key\)/);
    await p.getByTestId('key-input').setInputFiles(bundle);
    await expect.poll(() => alertText(p)).toMatch(/evidence\.vigil is an evidence bundle, not an auditor key[\s\S]*step 2 \(Evidence bundle\)/);
    await p.getByTestId('key-input').setInputFiles(demo.trust);
    await expect.poll(() => alertText(p)).toMatch(/trust\.json is a trust file, not an auditor key/);
    expect(await alertText(p)).not.toMatch(SCHEMA_TEXT);
    for (const id of ['trust-loaded', 'bundle-loaded', 'key-loaded']) expect(await p.getByTestId(id).count(), id).toBe(0);
    await screenshot(p, 'loading-wrong-slots');
    await p.close();
  });

  it('a file that is none of the three, dropped: named, and what the viewer accepts is said', async () => {
    const p = await viewer.page();
    await drop(p, [join(work, 'notes.txt')].map((f) => (writeFileSync(f, 'meeting notes\n'), f)));
    await p.getByRole('alert').waitFor();
    const text = await alertText(p);
    expect(text).toMatch(/notes\.txt is not a Vigil evidence bundle, trust file or auditor key/);
    expect(text).not.toMatch(SCHEMA_TEXT);
    await p.close();
  });
});

describe('every output is tied to the evidence: SHA-256, result, fingerprint step', () => {
  let p: Page;
  beforeAll(async () => {
    p = await viewer.page();
    await openEvidence(p, { trust: demo.trust, bundle, key: demo.auditorKey });
    await p.getByTestId('bundle-sha256').filter({ hasText: /^[0-9a-f]{64}$/ }).waitFor({ timeout: 60_000 });
  }, 120_000);

  async function savedReports(): Promise<{ pdf: string; html: string }> {
    await nav(p, 'Report & exports');
    await p.getByLabel('Auditor name').fill('Dana Auditor, QSA');
    const pdf = pdfLibText((await download(p, () => p.getByRole('button', { name: 'Save PDF report' }).click())).bytes);
    const html = (await download(p, () => p.getByRole('button', { name: 'Save HTML report' }).click())).bytes.toString('utf8');
    return { pdf, html };
  }

  it('the UI shows the SHA-256 of the bundle file, equal to what `vigil export` printed', async () => {
    expect(await p.getByTestId('bundle-sha256').innerText()).toBe(sha);
    expect(await p.getByTestId('fingerprint-step').innerText()).toMatch(/vigil export/);
  });

  it('before the auditor confirms, PDF and HTML carry the SHA-256 and result, and record the step as not done', async () => {
    const { pdf, html } = await savedReports();
    for (const text of [flat(pdf), flat(html)]) {
      expect(text).toContain(sha);
      expect(text).toMatch(/Fingerprint compared by the auditor:? no \(not confirmed\)/);
      expect(text).not.toMatch(/Fingerprint compared by the auditor:? yes/);
      expect(text).toMatch(/Verification result:? PASS/);
    }
    // On every page, whole (the footer ties each page to the bundle).
    const pages = pdf.split(/page \d+ of \d+/).slice(0, -1);
    expect(pages.length).toBeGreaterThan(1);
    for (const page of pages) expect(page).toContain(sha);
  });

  it('a pasted value that differs is flagged and cannot be confirmed; the matching one can', async () => {
    await nav(p, 'Verification');
    const step = p.getByTestId('fingerprint-step');
    const confirm = p.getByLabel(/I compared this SHA-256 with the one printed by vigil export/);
    await p.getByLabel('SHA-256 you received').fill('0'.repeat(64));
    expect(await step.innerText()).toMatch(/does not match/);
    expect(await confirm.isDisabled()).toBe(true);
    await screenshot(p, 'fingerprint-mismatch', { fullPage: true });
    await p.getByLabel('SHA-256 you received').fill(exportOutput.split('\n').find((l) => l.startsWith('SHA-256 ')) ?? `SHA-256 ${sha}  ${bundle}`);
    expect(await step.innerText()).toMatch(/matches/);
    await confirm.check();
    expect(await step.innerText()).toMatch(/recorded in the report/);
    await screenshot(p, 'fingerprint-confirmed', { fullPage: true });
  });

  it('once confirmed, PDF and HTML record "yes"', async () => {
    const { pdf, html } = await savedReports();
    await screenshot(p, 'report-view', { fullPage: true });
    for (const text of [flat(pdf), flat(html)]) {
      expect(text).toMatch(/Fingerprint compared by the auditor:? yes/);
      expect(text).not.toMatch(/not confirmed/);
    }
  });

  it('the CSV carries the SHA-256 and the result on every line', async () => {
    const csv = (await download(p, () => p.getByRole('button', { name: 'Save chronological log (CSV)' }).click())).bytes.toString('utf8');
    const lines = csv.trimEnd().split('\r\n');
    const header = lines[0]!.split(',');
    expect(header.slice(-2)).toEqual(['bundle_sha256', 'verification']);
    for (const l of lines.slice(1)) expect(l.endsWith(`,${sha},PASS`), l).toBe(true);
  });

  it('the asciicast header names the session, the bundle, its SHA-256 and the result', async () => {
    await openSession(p, 4);
    const { bytes } = await download(p, () => p.getByRole('button', { name: 'Save replay (.cast)' }).click());
    const header = JSON.parse(bytes.toString('utf8').split('\n')[0]!) as { version: number; vigil?: Record<string, unknown> };
    expect(header.version).toBe(2);
    expect(header.vigil).toMatchObject({ bundle_file: 'evidence.vigil', bundle_sha256: sha, verification: 'PASS' });
    expect(header.vigil?.session_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(problems(p)).toEqual([]);
  });
});

describe('PDF polish', () => {
  it('identifiers whole, plurals right, UTC with milliseconds', async () => {
    const p = await viewer.page();
    await openEvidence(p, { trust: demo.trust, bundle, key: demo.auditorKey });
    await nav(p, 'Report & exports');
    await p.getByLabel('Auditor name').fill('Dana Auditor, QSA');
    const save = p.getByRole('button', { name: 'Save PDF report' });
    await expect.poll(() => save.isEnabled(), { timeout: 60_000 }).toBe(true);
    const { bytes } = await download(p, () => save.click());
    writeFileSync(join(work, 'report.pdf'), bytes);
    const text = pdfLibText(bytes);
    const lines = text.split('\n');
    const sessionIds = bundleSessionIds(readFileSync(bundle));
    expect(sessionIds).toHaveLength(5);
    const whole = (id: string) => lines.some((l) => l.includes(id));
    for (const id of [...sessionIds, sha, 'apr_7Q2M9Xdemo01', 'repo:acme/payments-migrations:environment:production', 'spiffe://acme.internal/ns/billing/sa/refund-worker']) {
      expect(whole(id), `${id} whole on one line`).toBe(true);
    }
    // Wherever it appears — the sessions table and the narrower approvals register alike — never in pieces.
    for (const [id, tail] of [['spiffe://acme.internal/ns/billing/sa/refund-worker', 'refund-worker'], ['repo:acme/payments-migrations:environment:production', 'environment:production']] as const) {
      const pieces = lines.filter((l) => l.includes(tail));
      expect(pieces.length, tail).toBeGreaterThan(0);
      for (const l of pieces) expect(l, `${id} broken`).toContain(id);
    }
    // "(s)" is for the lazy; "1 errors" is wrong.
    expect(text).not.toMatch(/\(s\)/);
    expect(text).not.toMatch(/\b1 (errors|sessions|commands|keys|rotations|archives)\b/);
    expect(text.replace(/\s+/g, ' ')).toMatch(/PASS: every check passed\. 5 sessions: 4 complete, 1 interrupted, 0 in progress, 0 failed/);
    // Where a time orders events (approval request, decision, sessions), it has milliseconds.
    expect(text).toMatch(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC/);
    expect(text).not.toMatch(/\d\d:\d\d:\d\d UTC/);
    await p.close();
  });
});

/** Session ids from the bundle's tar member names (archives/00000001-<uuid>.vsa). */
function bundleSessionIds(tar: Buffer): string[] {
  const ids: string[] = [];
  for (let off = 0; off + 512 <= tar.length; ) {
    const name = tar.subarray(off, off + 100).toString('latin1').replace(/\0.*$/s, '');
    if (!name) break;
    const size = parseInt(tar.subarray(off + 124, off + 136).toString('latin1').replace(/\0.*$/s, '').trim() || '0', 8);
    const m = /^archives\/\d{8}-([0-9a-f-]{36})\.vsa$/.exec(name);
    if (m) ids.push(m[1]!);
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return ids;
}
