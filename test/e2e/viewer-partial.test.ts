/**
 * In Chromium: partial and unknown are never shown as a pass or as zero. A missing archive's session
 * shows what the signed log proves (labelled), its approval stays in the register; a partial check is
 * ◐ with its coverage and the banner and pill follow the worst check; without the key the pill says
 * integrity only; an unreadable bundle claims nothing; an interrupted session ends at its last event.
 */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Appliance } from '../../appliance/appliance.ts';
import { writeDemoEvidence, type DemoEvidence } from '../../appliance/demo/evidence-demo.ts';
import { buildTrustFile } from '../../appliance/keys/trust-file.ts';
import { FAST_KDF, members, newAppliance, rewriteBundle, tempDir } from '../helpers/evidence.ts';
import { exportTo, recordSessions } from '../helpers/viewer-evidence.ts';
import { checkStatus, checkText, download, nav, openEvidence, openSession, problems, screenshot, startViewer, type ViewerSession } from '../helpers/viewer.ts';

let viewer: ViewerSession;
let demo: DemoEvidence;
let bundle: Uint8Array;
const work = tempDir('vigil-e2e-partial-');

beforeAll(async () => {
  [viewer, demo] = await Promise.all([startViewer(), writeDemoEvidence(join(tempDir(), 'demo'), { kdf: FAST_KDF })]);
  bundle = new Uint8Array(readFileSync(demo.bundle));
}, 180_000);

afterAll(async () => {
  await viewer?.close();
});

function file(bytes: Uint8Array | string, name: string): string {
  const p = join(work, name);
  writeFileSync(p, bytes);
  return p;
}

/** Screenshot kept with the other artifacts and under /tmp for review. */
async function shot(p: Page, name: string): Promise<void> {
  copyFileSync(await screenshot(p, name, { fullPage: true }), `/tmp/i9a-${name}.png`);
}

describe('a session whose archive is missing', () => {
  let p: Page;
  beforeAll(async () => {
    const name = (await members(bundle)).map((m) => m.name).find((n) => n.startsWith('archives/00000003-'))!;
    p = await viewer.page();
    await openEvidence(p, { trust: demo.trust, bundle: file(await rewriteBundle(bundle, { [name]: null }), 'missing.vigil'), key: demo.auditorKey });
  }, 120_000);

  it('checks that covered part of the evidence are partial with covered/total, never ✓', async () => {
    expect(await p.getByTestId('banner').getAttribute('data-verdict')).toBe('fail');
    expect(await p.getByTestId('verdict').innerText()).toMatch(/Verification failed/);
    for (const [id, cov] of [['digests', /4 of 5 archives/], ['signatures', /6 of 7 signatures/], ['decryption', /4 of 5 archives/], ['pan-rescan', /4 of 5 archives/], ['approvals', /4 of 5 archives/]] as const) {
      expect(await checkStatus(p, id), id).toBe('partial');
      const text = await checkText(p, id);
      expect(text).toMatch(cov);
      expect(text).toMatch(/◐/);
      expect(text).not.toMatch(/✓/);
    }
    expect(await checkStatus(p, 'session-sequence')).toBe('fail');
    expect(await p.getByTestId('banner').innerText()).toMatch(/Content of 4 of 5 archives decrypted/);
    const row = await p.locator('[data-testid=session-statuses] tbody tr[data-seq="3"]').innerText();
    expect(row).toMatch(/spiffe:\/\/acme\.internal\/ns\/billing\/sa\/refund-worker → payments-db/);
    expect(row).toMatch(/from the signed log; content unavailable: 1 frame, \d+ events, 1 approval request\b/);
    await shot(p, 'missing-overview');
  });

  it('the session list and detail show the log-proven facts, unknown counts as unknown', async () => {
    await nav(p, 'Sessions');
    const row = p.locator('.vtable .row[data-seq="3"]');
    const text = await row.innerText();
    expect(text).toMatch(/FAILED\s*log only[\s\S]*refund-worker/);
    expect(text).toMatch(/payments-db/);
    expect(text.match(/unknown/g)?.length).toBe(3); // commands, blocks, masked; approvals are in the log
    expect(text).not.toMatch(/\b0\b/);
    await shot(p, 'missing-sessions');
    await openSession(p, 3);
    expect(await p.getByTestId('from-log-notice').innerText()).toMatch(/From the signed log; content unavailable/);
    expect(await p.getByTestId('identity').innerText()).toMatch(/refund-worker/);
    expect(await p.getByTestId('approvals-count').innerText()).toBe('1');
    expect(await p.getByTestId('session-detail').innerText()).not.toMatch(/No commands were recorded/);
    await shot(p, 'missing-detail');
  });

  it('its approval stays in the register with its state, from the signed log', async () => {
    await nav(p, 'Approvals');
    expect(await p.getByTestId('approvals-from-log').innerText()).toMatch(/1 request from the signed log; content unavailable/);
    const row = p.locator('[data-testid=approvals] tbody tr[data-source=log]');
    expect(await row.count()).toBe(1);
    const text = await row.innerText();
    expect(text).toMatch(/#3/);
    expect(text).toMatch(/alice@acme\.example\s+approved/);
    expect(text).toMatch(/unknown — content unavailable/);
    await shot(p, 'missing-approvals');
    // The saved CSV keeps it too: the log-only session's row carries the request and its log times.
    await nav(p, 'Report & exports');
    const save = p.getByRole('button', { name: 'Save chronological log (CSV)' });
    await expect.poll(() => save.isEnabled(), { timeout: 60_000 }).toBe(true);
    const csv = (await download(p, () => save.click())).bytes.toString('utf8');
    const line = csv.split('\r\n').find((l) => l.includes('(from the signed log; content unavailable)'))!;
    expect(line).toMatch(/,unknown,failed,apr_7Q2M9Xdemo01,\S+Z,\S+Z,alice@acme\.example approved/);
    expect(line).toMatch(/,FAILED$/);
    expect(problems(p)).toEqual([]);
  });
});

describe('partial without failure, integrity only, unreadable', () => {
  it('a bundle older than the pinned checkpoint: banner and pill are partial, the check is ◐ 0 of 1', async () => {
    const A = newAppliance();
    let app = await Appliance.open(A.configPath);
    await recordSessions(app, [{ subject: 'one', commands: 2 }]);
    await app.close();
    const old = await exportTo(A.configPath, join(A.dir, 'old.vigil'));
    app = await Appliance.open(A.configPath);
    await recordSessions(app, [{ subject: 'two', commands: 1 }]);
    const pin = app.log.checkpoint();
    app.log.markExported(pin.checkpoint.size);
    const later = buildTrustFile(app.id, app.keys.records(), pin.envelope);
    await app.close();
    const p = await viewer.page();
    await openEvidence(p, { trust: file(JSON.stringify(later), 'later-trust.json'), bundle: file(old, 'old.vigil'), key: join(A.dir, 'auditor.key') });
    expect(await p.getByTestId('banner').getAttribute('data-verdict')).toBe('partial');
    expect(await p.getByTestId('banner').innerText()).toMatch(/PARTIAL: some of the evidence could not be checked/);
    expect(await p.getByTestId('verdict').innerText()).toMatch(/Partial/);
    expect(await p.getByTestId('verdict').innerText()).not.toMatch(/✓/);
    expect(await checkStatus(p, 'log-consistency')).toBe('partial');
    expect(await checkText(p, 'log-consistency')).toMatch(/◐[\s\S]*0 of 1 checkpoint · not checkable/);
    await shot(p, 'partial');
  });

  it('without the key: integrity verified — content not checked, never "intact and complete"', async () => {
    const p = await viewer.page();
    await openEvidence(p, { trust: demo.trust, bundle: demo.bundle });
    const banner = await p.getByTestId('banner').innerText();
    expect(banner).toMatch(/Integrity verified — content not checked/);
    expect(banner).not.toMatch(/intact and complete|✓/);
    expect(await p.getByTestId('verdict').innerText()).toBe('◇ Integrity verified — content not checked');
    await shot(p, 'integrity-only');
  });

  it('a truncated bundle: every check fails or did not run; nothing claims content was read', async () => {
    const p = await viewer.page();
    await openEvidence(p, { trust: demo.trust, bundle: file(bundle.slice(0, 2500), 'truncated.vigil'), key: demo.auditorKey });
    const banner = await p.getByTestId('banner').innerText();
    expect(banner).toMatch(/The bundle cannot be read/);
    expect(banner).not.toMatch(/decrypted|re-scanned|Verified/);
    for (const li of await p.locator('[data-testid=checks] > li').all()) expect(['fail', 'not-run']).toContain(await li.getAttribute('data-status'));
    await shot(p, 'truncated');
    // Nothing was read, so nothing is counted: no "0" beside Sessions or Approvals, no "0 sessions", no
    // "No approval was requested in this bundle" — those would be claims about content nobody read.
    expect(await p.locator('nav.side .count').count()).toBe(0);
    await nav(p, 'Sessions');
    const sessions = await p.locator('main').innerText();
    expect(sessions).not.toMatch(/\b0 sessions\b/);
    expect(sessions).toMatch(/The bundle cannot be read/);
    await shot(p, 'truncated-sessions');
    await nav(p, 'Approvals');
    const approvals = await p.locator('main').innerText();
    expect(approvals).not.toMatch(/No approval was requested|No approval request in/);
    expect(approvals).toMatch(/The bundle cannot be read/);
    await shot(p, 'truncated-approvals');
    await nav(p, 'Event table');
    const events = await p.locator('main').innerText();
    expect(events).not.toMatch(/\b0 events\b|\bof 0 session/);
    expect(events).toMatch(/The bundle cannot be read/);
    await shot(p, 'truncated-events');
    expect(problems(p)).toEqual([]);
  });

  it('an interrupted session ends at its last durable event, not at the seal time', async () => {
    const p = await viewer.page();
    await openEvidence(p, { trust: demo.trust, bundle: demo.bundle, key: demo.auditorKey });
    await openSession(p, 5);
    expect(await p.getByTestId('ended-source').innerText()).toMatch(/time of the last durable event; sealed /);
    const detail = await p.getByTestId('session-detail').innerText();
    expect(detail).toMatch(/Ended\s+\S+ \S+ UTC \(\d+ ms\)/);
    await shot(p, 'interrupted-detail');
  });
});
