/**
 * A Kubernetes session in the viewer, from a bundle made with the real kubectl through Vigil to the real
 * kube-apiserver: what an auditor sees today for the HTTP exchanges (the generic session page: each request
 * as a command with its decision and result). Screenshot: test-artifacts/viewer/viewer-kube-session.png.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportAndVerify, type ExportedEvidence } from '../helpers/gateway.ts';
import { failures } from '../helpers/evidence.ts';
import { startKubeGatewayFixture, type KubeGatewayFixture } from '../helpers/kube-gateway.ts';
import { openEvidence, openSession, problems, screenshot, startViewer, type ViewerSession } from '../helpers/viewer.ts';
import type { Page } from 'playwright-core';

const PAN = '4111111111111111';

let f: KubeGatewayFixture;
let viewer: ViewerSession;
let page: Page;
let evidence: ExportedEvidence;
let seq = 0;

beforeAll(async () => {
  [f, viewer] = await Promise.all([startKubeGatewayFixture(), startViewer()]);
  const admin = (args: string[]) => f.kube.kubectlOk(args);
  admin(['create', 'namespace', 'gw']);
  admin(['create', 'clusterrole', 'ci-editor', '--verb=get,list,watch,create,update,patch,delete', '--resource=configmaps,namespaces']);
  admin(['create', 'rolebinding', 'ci-editor', '-n', 'gw', '--clusterrole=ci-editor', '--group=repo:acme/payments']);
  admin(['create', 'clusterrolebinding', 'ci-ns', '--clusterrole=ci-editor', '--group=repo:acme/payments']);
  admin(['-n', 'gw', 'create', 'configmap', 'cards', `--from-literal=card=${PAN}`]);
  // One kubectl run is one connection: one recorded session. A read (masked) and a blocked delete.
  await f.kubectl(['-n', 'gw', 'get', 'configmap', 'cards', '-o', 'json']);
  await f.kubectl(['delete', 'namespace', 'gw', '--wait=false']);
  await f.stopGateway();
  evidence = await exportAndVerify(f, 'kube.vigil');
  page = await viewer.page();
  await openEvidence(page, { trust: join(f.dir, 'appliance', 'trust.json'), bundle: join(f.dir, 'kube.vigil'), key: join(f.dir, 'auditor.key') });
  const sessions = [...evidence.sessions.entries()];
  const read = sessions.find(([, evs]) => evs.some((e) => e.type === 'command' && String(e['text']).includes('/configmaps/cards')))!;
  seq = evidence.report.sessions.find((s) => s.sessionId === read[0])!.seq!;
}, 10 * 60_000);

afterAll(async () => {
  await viewer?.close();
  await f?.stop();
});

describe('a Kubernetes session in the viewer', () => {
  it('the bundle verifies', () => {
    expect(failures(evidence.report)).toEqual([]);
  });

  it('shows the request as a command, allowed, with its result; no clear card number anywhere on the page', async () => {
    await openSession(page, seq);
    const text = await page.getByTestId('session-detail').innerText();
    expect(text).toContain('GET /api/v1/namespaces/gw/configmaps/cards');
    expect(text).not.toContain(PAN);
    await screenshot(page, 'viewer-kube-session', { fullPage: true });
    expect(problems(page)).toEqual([]);
  });
});
