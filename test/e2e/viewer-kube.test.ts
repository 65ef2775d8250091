/**
 * A Kubernetes session in the viewer, from a bundle made with the real kubectl through Vigil to the real
 * kube-apiserver: the HTTP exchange list (verb, resource, namespace/name, status, decision, time) and, for a
 * selected request, its masked request and response bodies. Screenshots: test-artifacts/viewer/viewer-kube-*.png.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportAndVerify, type ExportedEvidence } from '../helpers/gateway.ts';
import { failures } from '../helpers/evidence.ts';
import { KUBE_POLICIES, startKubeGatewayFixture, type KubeGatewayFixture } from '../helpers/kube-gateway.ts';
import { podManifest, startKube } from '../helpers/kube.ts';
import { openEvidence, openSession, problems, screenshot, startViewer, terminalText, type ViewerSession } from '../helpers/viewer.ts';
import type { Page } from 'playwright-core';

const PAN = '4111111111111111';
const MASKED_PAN = '411111******1111';

let f: KubeGatewayFixture;
let viewer: ViewerSession;
let page: Page;
let evidence: ExportedEvidence;
let seq = 0;
let createSeq = 0;
let blockedSeq = 0;
let execSeq = 0;

beforeAll(async () => {
  // A node fixture and a pod for an exec (interactive allowed for this page's bot).
  const kube = await startKube();
  const node = await kube.startNode({ name: 'node-v' });
  const policies = KUBE_POLICIES.replace('classes: { read: allow, write: allow, delete: allow, default: block }', 'classes: { read: allow, write: allow, delete: allow, interactive: allow, default: block }');
  [f, viewer] = await Promise.all([startKubeGatewayFixture({ kube, policies }), startViewer()]);
  const admin = (args: string[], input?: string) => f.kube.kubectlOk(args, input ? { input } : {});
  admin(['create', 'namespace', 'gw']);
  admin(['apply', '-f', '-'], podManifest({ name: 'app', namespace: 'gw', node: node.name, containers: [{ name: 'main', command: ['sh', '-c', 'sleep 3600'] }] }));
  await node.waitForPod('gw', 'app');
  admin(['-n', 'gw', 'create', 'role', 'exec', '--verb=get,create', '--resource=pods,pods/exec']);
  admin(['-n', 'gw', 'create', 'rolebinding', 'exec', '--role=exec', '--group=repo:acme/payments']);
  admin(['create', 'clusterrole', 'ci-editor', '--verb=get,list,watch,create,update,patch,delete', '--resource=configmaps,namespaces']);
  admin(['create', 'rolebinding', 'ci-editor', '-n', 'gw', '--clusterrole=ci-editor', '--group=repo:acme/payments']);
  admin(['create', 'clusterrolebinding', 'ci-ns', '--clusterrole=ci-editor', '--group=repo:acme/payments']);
  admin(['-n', 'gw', 'create', 'configmap', 'cards', `--from-literal=card=${PAN}`]);
  // One kubectl run is one connection: one recorded session. A read (masked) and a blocked delete.
  await f.kubectl(['-n', 'gw', 'get', 'configmap', 'cards', '-o', 'json']);
  // A create whose request body carries a card number: recorded masked.
  await f.kubectl(['-n', 'gw', 'create', 'configmap', 'more', `--from-literal=card=${PAN}`]);
  const exec = await f.kubectl(['-n', 'gw', 'exec', 'app', '--', 'sh', '-c', `echo paid with ${PAN}; echo done`]);
  if (exec.status !== 0) throw new Error(`kubectl exec: ${exec.stderr}`);
  await f.kubectl(['delete', 'namespace', 'gw', '--wait=false']);
  await f.stopGateway();
  evidence = await exportAndVerify(f, 'kube.vigil');
  page = await viewer.page();
  await openEvidence(page, { trust: join(f.dir, 'appliance', 'trust.json'), bundle: join(f.dir, 'kube.vigil'), key: join(f.dir, 'auditor.key') });
  const sessions = [...evidence.sessions.entries()];
  const read = sessions.find(([, evs]) => evs.some((e) => e.type === 'command' && String(e['text']).includes('/configmaps/cards')))!;
  const seqOf = (pred: (text: string) => boolean) => {
    const found = sessions.find(([, evs]) => evs.some((e) => e.type === 'command' && pred(String(e['text']))))!;
    return evidence.report.sessions.find((s) => s.sessionId === found[0])!.seq!;
  };
  seq = seqOf((t) => t.includes('/configmaps/cards'));
  createSeq = seqOf((t) => t.startsWith('POST /api/v1/namespaces/gw/configmaps'));
  blockedSeq = seqOf((t) => t.startsWith('DELETE /api/v1/namespaces/gw'));
  execSeq = seqOf((t) => t.includes('/pods/app/exec'));
}, 10 * 60_000);

afterAll(async () => {
  await viewer?.close();
  await f?.stop();
});

describe('a Kubernetes session in the viewer', () => {
  it('the bundle verifies', () => {
    expect(failures(evidence.report)).toEqual([]);
  });

  it('lists the exchanges: verb, resource, namespace/name, status, decision, masked count; no clear card number', async () => {
    await openSession(page, seq);
    const list = page.getByTestId('kube-exchanges');
    const row = list.getByTestId('kube-exchange').filter({ hasText: 'gw/cards' });
    await expect.poll(() => row.count()).toBe(1);
    const cells = (await row.locator('td').allInnerTexts()).map((c) => c.trim());
    expect(cells.slice(2, 9)).toEqual(['get', 'v1/configmaps', 'gw/cards', '200', 'allowed', expect.stringMatching(/ms$/), '1']);
    expect(cells[0]).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3} UTC$/);
    // Discovery requests of the same kubectl run are listed too, before it.
    expect(await list.getByTestId('kube-exchange').count()).toBeGreaterThan(1);
    expect(await page.getByTestId('kube-impersonation').innerText()).toContain('impersonating user repo:acme/payments:ref:refs/heads/main in groups repo:acme/payments, org:acme');
    expect(await page.getByTestId('session-detail').innerText()).toContain('GET /api/v1/namespaces/gw/configmaps/cards');
    expect(await page.getByTestId('session-detail').innerText()).not.toContain(PAN);
    await screenshot(page, 'viewer-kube-session', { fullPage: true });
    expect(problems(page)).toEqual([]);
  });

  it('a selected request shows its masked response body, formatted, or exactly as recorded', async () => {
    await page.getByTestId('kube-exchange').filter({ hasText: 'gw/cards' }).getByRole('button').click();
    const detail = page.getByTestId('kube-exchange-detail');
    await expect.poll(() => detail.count()).toBe(1);
    const text = await detail.innerText();
    expect(text).toContain('HTTP 200 · application/json');
    expect(text).toContain(`"card": "${MASKED_PAN}"`);
    expect(text).not.toContain(PAN);
    await page.getByLabel('show JSON exactly as recorded (not formatted)').check();
    expect(await detail.innerText()).toContain(`"card":"${MASKED_PAN}"`);
    await page.getByLabel('show JSON exactly as recorded (not formatted)').uncheck();
    await screenshot(page, 'viewer-kube-exchange', { fullPage: true });
    expect(problems(page)).toEqual([]);
  });

  it('a create shows its request body masked', async () => {
    await openSession(page, createSeq);
    const row = page.getByTestId('kube-exchange').filter({ hasText: 'create' });
    await expect.poll(() => row.count()).toBe(1);
    await row.getByRole('button').click();
    const text = await page.getByTestId('kube-exchange-detail').innerText();
    expect(text).toMatch(/Request body \(\d+ B\)/);
    expect(text).toContain(MASKED_PAN);
    expect(text).not.toContain(PAN);
  });

  it('a blocked request: blocked, with its rule and reason, not forwarded, no response', async () => {
    await openSession(page, blockedSeq);
    const row = page.getByTestId('kube-exchange').filter({ hasText: 'delete' });
    await expect.poll(() => row.count()).toBe(1); // the session's events are decrypted in a worker
    const cells = (await row.locator('td').allInnerTexts()).map((c) => c.trim());
    expect(cells.slice(2, 7)).toEqual(['delete', 'v1/namespaces', 'gw', 'not forwarded', 'blocked']);
    await row.getByRole('button').click();
    const text = await page.getByTestId('kube-exchange-detail').innerText();
    expect(text).toContain('rule ci-kube/no-namespace-delete');
    expect(text).toContain('namespaces are never deleted through Vigil');
    expect(text).toContain('no response was recorded');
    await screenshot(page, 'viewer-kube-blocked', { fullPage: true });
  });

  it('an exec: its exchange in the list, its channel in the Replay with the output masked; no SSH login cards', async () => {
    await openSession(page, execSeq);
    const row = page.getByTestId('kube-exchange').filter({ hasText: 'pods/exec' });
    await expect.poll(() => row.count()).toBe(1);
    expect((await row.locator('td').allInnerTexts()).map((c) => c.trim()).slice(3, 5)).toEqual(['v1/pods/exec', 'gw/app']);
    expect(await page.getByTestId('ssh-client-login').count()).toBe(0);
    await page.getByRole('tab', { name: 'Replay' }).click();
    await page.getByTestId('terminal-player').waitFor();
    await page.getByTestId('terminal-player').focus();
    await page.keyboard.press('End');
    await expect.poll(() => terminalText(page)).toMatch(/paid with 411111\*{6}1111\s+done/);
    expect(await terminalText(page)).not.toContain(PAN);
    expect(await page.getByTestId('session-detail').innerText()).not.toContain(PAN);
    await screenshot(page, 'viewer-kube-exec', { fullPage: true });
    expect(problems(page)).toEqual([]);
  });
});
