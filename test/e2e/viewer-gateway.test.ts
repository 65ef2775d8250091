/**
 * Sessions recorded through the real PostgreSQL gateway (real PostgreSQL 15, psql as the bot), exported by
 * the real exporter and opened in the viewer: masked rows, a blocked statement, the statement player.
 */
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayFixture, type GatewayFixture } from '../helpers/gateway.ts';
import { exportTo } from '../helpers/viewer-evidence.ts';
import { checkStatus, nav, openEvidence, openSession, problems, screenshot, startViewer, type ViewerSession } from '../helpers/viewer.ts';

let f: GatewayFixture;
let viewer: ViewerSession;
let page: Page;
let stopped = false;

beforeAll(async () => {
  [f, viewer] = await Promise.all([startGatewayFixture(), startViewer()]);
  const read = await f.psql('SELECT id, name, card_number, cvv FROM customers ORDER BY id');
  expect(read.stdout).toContain('411111******1111');
  const drop = await f.psql('DROP TABLE customers');
  expect(drop.code).not.toBe(0);
  await f.psql('SELECT count(*) FROM accounts');
  await f.gateway.stop(); // seals every session; the exporter then owns the appliance directory
  stopped = true;
  const bundle = join(f.dir, 'gateway.vigil');
  await exportTo(f.configPath, bundle);
  page = await viewer.page();
  await openEvidence(page, { trust: f.trustPath, bundle, key: f.auditorKeyPath });
}, 180_000);

afterAll(async () => {
  await viewer?.close();
  if (f && !stopped) await f.gateway.stop();
  await f?.pg.stop();
});

describe('sessions through the real PostgreSQL gateway', () => {
  it('verify, decrypted, with every check green', async () => {
    expect(await page.getByTestId('banner').innerText()).toMatch(/intact and complete[\s\S]*3 sessions: 3 complete/);
    for (const id of ['signatures', 'digests', 'log-inclusion', 'session-sequence', 'decryption', 'tag-final', 'pan-rescan']) expect(await checkStatus(page, id), id).toBe('pass');
  });

  it('show the bot identity, the target and its credential reference, and the rows as masked by the gateway', async () => {
    await openSession(page, 1);
    expect(await page.getByTestId('identity').innerText()).toBe('repo:acme/payments:ref:refs/heads/main');
    const detail = await page.getByTestId('session-detail').innerText();
    expect(detail).toMatch(/Target\s+payments/);
    expect(detail).toMatch(/Credential\s+\S*payments\.password/);
    expect(detail).not.toContain('target-Secret-9f3k2');
    const timeline = await page.locator('.timeline').innerText();
    expect(timeline).toMatch(/SELECT id, name, card_number, cvv FROM customers ORDER BY id/);
    expect(timeline).toMatch(/411111\*{6}1111/);
    expect(timeline).toMatch(/\[REDACTED\]/);
    expect(timeline).not.toMatch(/4111111111111111|5555555555554444/);
    expect(Number((await page.getByTestId('masked-count').innerText()).split(' ')[0])).toBeGreaterThanOrEqual(6);
    await screenshot(page, '14-gateway-session', { fullPage: true });
  });

  it('show the blocked DROP in the statement player, with the policy rule', async () => {
    await openSession(page, 2);
    await page.getByRole('tab', { name: 'Replay' }).click();
    const stmt = await page.getByTestId('current-statement').innerText();
    expect(stmt).toMatch(/blocked[\s\S]*rule ci-readonly\/no-destructive-ddl[\s\S]*DROP TABLE customers[\s\S]*Reason: DROP and TRUNCATE are never allowed on the CDE database/);
  });

  it('filter the gateway sessions by command text', async () => {
    await nav(page, 'Sessions');
    await page.getByLabel('Search in commands').fill('accounts');
    await expect.poll(() => page.locator('.vtable .row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-seq')))).toEqual(['3']);
    expect(problems(page)).toEqual([]);
  });
});
