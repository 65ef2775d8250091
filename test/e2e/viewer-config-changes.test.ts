/**
 * In Chromium: the configuration changes the appliance signed into its log are where an auditor looks.
 * A real appliance is initialised (config.changed by vigil init), started with an edited vigil.yaml (logged
 * at start-up, no previous digest) and reloaded by the gateway's SIGHUP path with a policy change and a
 * change that waits for a restart (previous digest, applied and restart-needed sections). The overview lists
 * all three in log order with their times, old → new SHA-256 (each the file's own) and the trigger; the HTML
 * and PDF reports carry the same; a bundle whose log was altered says the entries are not proven.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditorKey } from '../../shared/evidence/auditor-key.ts';
import { Appliance } from '../../appliance/appliance.ts';
import { exportBundle } from '../../appliance/export/export-bundle.ts';
import { Gateway } from '../../appliance/gateway.ts';
import { initAppliance } from '../../appliance/init.ts';
import { FAST_KDF, members, rewriteBundle, tempDir } from '../helpers/evidence.ts';
import { testLogger } from '../helpers/test-log.ts';
import { pdfText } from '../helpers/viewer-pdf.ts';
import { ARTIFACTS, download, nav, openEvidence, problems, screenshot, startViewer, type ViewerSession } from '../helpers/viewer.ts';

let viewer: ViewerSession;
let page: Page;
const dir = tempDir('vigil-e2e-config-changes-');
let trust: string;
let key: string;
let file: string;
/** SHA-256 of vigil.yaml as written by init, as edited before the start, and as reloaded. */
const digest: Record<'init' | 'start' | 'reload', string> = { init: '', start: '', reload: '' };
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

beforeAll(async () => {
  const auditor = createAuditorKey({ label: 'e2e auditor', kdf: FAST_KDF });
  writeFileSync(join(dir, 'auditor.pub'), auditor.publicFile);
  key = join(dir, 'auditor.key');
  writeFileSync(key, auditor.secretFile, { mode: 0o600 });
  const init = initAppliance({ dir: join(dir, 'appliance'), auditors: [join(dir, 'auditor.pub')] });
  trust = join(dir, 'trust.json');
  copyFileSync(init.trustPath, trust);
  digest.init = sha256(init.configPath);
  const yaml = readFileSync(init.configPath, 'utf8');
  // Changes only a restart applies (no listener here: nothing to bind), then the start that logs them.
  writeFileSync(join(dir, 'appliance', 'secrets', 'payments.password'), 'not-used-here-7f3k\n', { mode: 0o600 });
  const target = 'targets:\n  - name: payments-db\n    protocol: postgres\n    host: 127.0.0.1\n    port: 5432\n    database: payments\n    user: svc_reporting\n    credential: { file: secrets/payments.password }';
  writeFileSync(init.configPath, yaml.replace('checkpointIntervalSeconds: 60', 'checkpointIntervalSeconds: 30').replace('targets: []', target).replace(/\nlisteners:[\s\S]*?\n(?=# Who may connect)/, '\nlisteners: {}\n\n'));
  digest.start = sha256(init.configPath);
  const gateway = await Gateway.start(init.configPath, { logger: testLogger('config-changes') });
  try {
    // SIGHUP's path: a policy (applied at once) and the approval expiry (waits for a restart).
    const edited = readFileSync(init.configPath, 'utf8')
      .replace('policies: []', "policies:\n  - name: ci-readonly\n    match: { subjects: ['repo:acme/*'] }\n    targets: [payments-db]\n    classes: { read: allow, default: block }")
      .replace('expirySeconds: 600', 'expirySeconds: 900');
    writeFileSync(init.configPath, edited);
    digest.reload = sha256(init.configPath);
    const r = gateway.reload();
    expect(r).toMatchObject({ digest: digest.reload, previousDigest: digest.start, applied: ['policies'], restartNeeded: ['approvals'] });
  } finally {
    await gateway.stop();
  }
  const app = await Appliance.open(init.configPath);
  file = join(dir, 'config.vigil');
  try {
    await exportBundle(app, { out: file });
  } finally {
    await app.close();
  }
  viewer = await startViewer();
  page = await viewer.page();
  await openEvidence(page, { trust, bundle: file, key });
}, 180_000);

afterAll(async () => {
  await viewer?.close();
});

async function rows(p: Page): Promise<{ entry: string; cells: string[] }[]> {
  return p.locator('[data-testid=config-changes-table] tbody tr').evaluateAll((trs) =>
    trs.map((tr) => ({ entry: tr.getAttribute('data-entry')!, cells: [...tr.querySelectorAll('td')].map((td) => (td as unknown as { innerText: string }).innerText.replace(/\s+/g, ' ').trim()) })),
  );
}

describe('configuration changes', () => {
  it('the overview lists each change: when, old → new SHA-256, what triggered it, proven by the checkpoint', async () => {
    expect(await page.getByTestId('banner').getAttribute('data-verdict')).toBe('pass');
    const card = page.getByTestId('config-changes');
    await card.waitFor();
    expect(await card.locator('h2').innerText()).toBe('Configuration changes (3)');
    expect(await card.innerText()).toContain('Covered by the verified checkpoint.');
    expect(await card.innerText()).toContain('not who edited vigil.yaml or sent the signal');
    const list = await rows(page);
    expect(list).toHaveLength(3);
    const [first, second, third] = list as [(typeof list)[0], (typeof list)[0], (typeof list)[0]];
    expect(first.cells[0]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC$/);
    expect(first.cells[1]).toBe(`none logged before it in this excerpt → ${digest.init}`);
    expect(first.cells[2]).toBe('vigil init (the first configuration of this appliance)');
    // The start-up entry logs no previous digest: the one before it in the log is shown, and said to be.
    expect(second.cells[1]).toBe(`${digest.init} (not logged with this change: the digest of the change before it) → ${digest.start}`);
    expect(second.cells[2]).toBe('start-up with a vigil.yaml that differs from the one the appliance last ran');
    expect(third.cells[1]).toBe(`${digest.start} → ${digest.reload}`);
    expect(third.cells[2]).toBe('reload (SIGHUP to vigil serve) applied now: policies; take effect on restart: approvals');
    // Log order, and the times in it.
    expect(Number(first.entry)).toBeLessThan(Number(second.entry));
    expect(Number(second.entry)).toBeLessThan(Number(third.entry));
    expect(Date.parse(second.cells[0]!.replace(' UTC', 'Z').replace(' ', 'T'))).toBeLessThanOrEqual(Date.parse(third.cells[0]!.replace(' UTC', 'Z').replace(' ', 'T')));
    await card.scrollIntoViewIfNeeded();
    await screenshot(page, 'config-changes', { fullPage: true });
    // The card alone, for docs/images/viewer-config-changes.png.
    await card.screenshot({ path: join(ARTIFACTS, 'config-changes-card.png') });
    expect(problems(page)).toEqual([]);
  });

  it('the HTML and PDF reports carry the same changes', async () => {
    await nav(page, 'Report & exports');
    await page.getByLabel('Auditor name').fill('Dana Auditor, QSA');
    const html = (await download(page, () => page.getByRole('button', { name: 'Save HTML report' }).click())).bytes.toString('utf8');
    expect(html).toContain('<h2>Configuration changes</h2>');
    expect(html).toContain('3 configuration changes from the signed log (config.changed)');
    for (const d of Object.values(digest)) expect(html).toContain(d);
    expect(html).toContain('reload (SIGHUP to vigil serve); applied now: policies; take effect on restart: approvals');
    const { bytes } = await download(page, () => page.getByRole('button', { name: 'Save PDF report' }).click());
    const pdf = join(dir, 'report.pdf');
    writeFileSync(pdf, bytes);
    const text = pdfText(pdf).replace(/\s+/g, ' ');
    expect(text).toContain('Configuration changes');
    expect(text).toContain('reload (SIGHUP to vigil serve)');
    // Identifiers stay whole in the PDF (ids column): the full reloaded digest is on one line.
    expect(text).toContain(digest.reload);
    await nav(page, 'Verification');
  });

  it('a log entry altered in the bundle: the verdict fails and the table says its entries are not proven', async () => {
    const bytes = new Uint8Array(readFileSync(file));
    const m = (await members(bytes)).find((x) => x.name === 'log/entries.jsonl')!;
    const entries = new TextDecoder().decode(bytes.subarray(m.offset, m.offset + m.size));
    expect(entries).toContain(digest.reload);
    // Someone rewrites which configuration the reload installed.
    const forged = join(dir, 'forged.vigil');
    writeFileSync(forged, await rewriteBundle(bytes, { 'log/entries.jsonl': new TextEncoder().encode(entries.replace(digest.reload, 'f'.repeat(64))) }));
    const p = await viewer.page();
    await openEvidence(p, { trust, bundle: forged, key });
    expect(await p.getByTestId('banner').getAttribute('data-verdict')).toBe('fail');
    expect(await p.locator('[data-check="log-inclusion"]').getAttribute('data-status')).toBe('fail');
    const card = p.getByTestId('config-changes');
    expect(await card.innerText()).toContain('The log did not verify: these entries are what the bundle claims, not proven.');
    expect(await card.innerText()).not.toContain('Covered by the verified checkpoint.');
    expect(problems(p)).toEqual([]);
  });
});
