/**
 * A program using the official JavaScript client (`@kubernetes/client-node`) — not kubectl — through Vigil to
 * the real kube-apiserver: its own HTTP stack, request shapes and watch implementation. CRUD of ConfigMaps and
 * Deployments, server-side apply, a watch, Secrets redacted, a ConfigMap holding a PAN read back masked, a
 * blocked delete answered with a Status naming the rule, the cluster's RBAC refusing what the impersonated
 * identity may not do, and the evidence (exported, verified) holding every request with no token in it.
 */
import { readFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvidenceEvent } from '../../../shared/evidence/events.ts';
import { exportAndVerify, type ExportedEvidence } from '../../helpers/gateway.ts';
import { failures } from '../../helpers/evidence.ts';
import { startKubeGatewayFixture, type KubeGatewayFixture } from '../../helpers/kube-gateway.ts';

const PAN = '4111111111111111';
const MASKED_PAN = '411111******1111';
const WATCH_PAN = '5555555555554444';
const SECRET_VALUE = 'client-node-s3cr3t-77';

let f: KubeGatewayFixture;
let kc: k8s.KubeConfig;
let core: k8s.CoreV1Api;
let apps: k8s.AppsV1Api;

beforeAll(async () => {
  f = await startKubeGatewayFixture();
  const admin = (args: string[]) => f.kube.kubectlOk(args);
  admin(['create', 'namespace', 'cn']);
  admin(['create', 'namespace', 'other']);
  admin(['create', 'clusterrole', 'cn-editor', '--verb=get,list,watch,create,update,patch,delete', '--resource=configmaps,secrets,deployments.apps']);
  admin(['create', 'rolebinding', 'cn-editor', '-n', 'cn', '--clusterrole=cn-editor', '--group=repo:acme/payments']);
  admin(['create', 'clusterrole', 'cn-ns', '--verb=get,list,delete', '--resource=namespaces']);
  admin(['create', 'clusterrolebinding', 'cn-ns', '--clusterrole=cn-ns', '--group=repo:acme/payments']);
  admin(['-n', 'cn', 'create', 'secret', 'generic', 'db', `--from-literal=password=${SECRET_VALUE}`]);
  kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'vigil', server: f.server, caData: readFileSync(f.vigilCaFile).toString('base64') }],
    users: [{ name: 'bot', token: f.defaultToken }],
    contexts: [{ name: 'vigil', cluster: 'vigil', user: 'bot' }],
    currentContext: 'vigil',
  });
  core = kc.makeApiClient(k8s.CoreV1Api);
  apps = kc.makeApiClient(k8s.AppsV1Api);
}, 50 * 60_000);

afterAll(async () => {
  await f?.stop();
});

/** The ApiException of a call that must fail. */
async function refused(p: Promise<unknown>): Promise<k8s.ApiException<unknown>> {
  try {
    await p;
  } catch (e) {
    if (e instanceof k8s.ApiException) return e;
    throw e;
  }
  throw new Error('the call succeeded');
}

function statusOf(e: k8s.ApiException<unknown>): { message?: string; reason?: string; code?: number } {
  return (typeof e.body === 'string' ? JSON.parse(e.body) : e.body) as { message?: string };
}

describe('@kubernetes/client-node through Vigil', () => {
  it('ConfigMaps: create (the echo masked), read back masked, list, replace, delete', async () => {
    const created = await core.createNamespacedConfigMap({ namespace: 'cn', body: { metadata: { name: 'cards' }, data: { card: PAN, plain: 'hello' } } });
    expect(created.data).toEqual({ card: MASKED_PAN, plain: 'hello' });
    const read = await core.readNamespacedConfigMap({ name: 'cards', namespace: 'cn' });
    expect(read.data?.['card']).toBe(MASKED_PAN);
    // The cluster holds the real value (Vigil masks what comes back, not what is stored).
    expect(f.kube.kubectlOk(['-n', 'cn', 'get', 'configmap', 'cards', '-o', 'jsonpath={.data.card}'])).toBe(PAN);
    const list = await core.listNamespacedConfigMap({ namespace: 'cn' });
    expect(list.items.map((c) => c.metadata?.name)).toContain('cards');
    expect(JSON.stringify(list)).not.toContain(PAN);
    const replaced = await core.replaceNamespacedConfigMap({ name: 'cards', namespace: 'cn', body: { metadata: { name: 'cards' }, data: { plain: 'bye' } } });
    expect(replaced.data).toEqual({ plain: 'bye' });
    await core.deleteNamespacedConfigMap({ name: 'cards', namespace: 'cn' });
    expect(f.kube.kubectl(['-n', 'cn', 'get', 'configmap', 'cards']).status).not.toBe(0);
  });

  it('Deployments: create, server-side apply (a field manager), read, delete', async () => {
    const body: k8s.V1Deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'cn' },
      spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'registry.test/web:1' }] } } },
    };
    await apps.createNamespacedDeployment({ namespace: 'cn', body });
    const applied = await apps.patchNamespacedDeployment(
      { name: 'web', namespace: 'cn', fieldManager: 'ci-bot', force: true, body: { ...body, spec: { ...body.spec!, replicas: 3 } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply),
    );
    expect(applied.spec?.replicas).toBe(3);
    expect(applied.metadata?.managedFields?.some((m) => m.manager === 'ci-bot' && m.operation === 'Apply')).toBe(true);
    expect((await apps.readNamespacedDeployment({ name: 'web', namespace: 'cn' })).spec?.replicas).toBe(3);
    await apps.deleteNamespacedDeployment({ name: 'web', namespace: 'cn' });
  });

  it("a watch: the client's own watch implementation gets each event, masked", async () => {
    const seen: { type: string; card: string | undefined }[] = [];
    const watch = new k8s.Watch(kc);
    let done!: () => void;
    const got = new Promise<void>((r) => (done = r));
    const ctl = await watch.watch(
      '/api/v1/namespaces/cn/configmaps',
      {},
      (type, obj: k8s.V1ConfigMap) => {
        if (obj.metadata?.name !== 'watched') return;
        seen.push({ type, card: obj.data?.['card'] });
        if (type === 'DELETED') done();
      },
      () => undefined,
    );
    f.kube.kubectlOk(['-n', 'cn', 'create', 'configmap', 'watched', `--from-literal=card=${WATCH_PAN}`]);
    f.kube.kubectlOk(['-n', 'cn', 'delete', 'configmap', 'watched']);
    await Promise.race([got, new Promise((_, rej) => setTimeout(() => rej(new Error(`watch saw ${JSON.stringify(seen)}`)), 20_000))]);
    ctl.abort();
    expect(seen).toEqual([
      { type: 'ADDED', card: '555555******4444' },
      { type: 'DELETED', card: '555555******4444' },
    ]);
  });

  it('Secrets: values redacted in a read and in a list', async () => {
    const one = await core.readNamespacedSecret({ name: 'db', namespace: 'cn' });
    expect(Buffer.from(one.data?.['password'] ?? '', 'base64').toString()).toBe('[REDACTED]');
    const list = await core.listNamespacedSecret({ namespace: 'cn' });
    const db = list.items.find((s) => s.metadata?.name === 'db')!;
    expect(Buffer.from(db.data?.['password'] ?? '', 'base64').toString()).toBe('[REDACTED]');
    expect(JSON.stringify(list)).not.toContain(Buffer.from(SECRET_VALUE).toString('base64'));
  });

  it('a delete policy blocks: 403 with a Status naming the rule; the namespace stays', async () => {
    const e = await refused(core.deleteNamespace({ name: 'other' }));
    expect(e.code).toBe(403);
    expect(statusOf(e).message).toMatch(/no-namespace-delete/);
    expect(statusOf(e).message).toMatch(/namespaces are never deleted through Vigil/);
    expect(f.kube.kubectlOk(['get', 'namespace', 'other', '-o', 'jsonpath={.metadata.name}'])).toBe('other');
  });

  it("the cluster's RBAC refuses what the impersonated identity may not do (403 from the API server, naming it)", async () => {
    const e = await refused(core.createNamespacedConfigMap({ namespace: 'other', body: { metadata: { name: 'x' } } }));
    expect(e.code).toBe(403);
    expect(statusOf(e).message).toContain('User "repo:acme/payments:ref:refs/heads/main" cannot create resource "configmaps"');
  });

  it('a token for another audience is refused with 401', async () => {
    const bad = new k8s.KubeConfig();
    bad.loadFromOptions({ ...JSON.parse(JSON.stringify({ clusters: kc.clusters, contexts: kc.contexts, currentContext: 'vigil' })), users: [{ name: 'bot', token: await f.token({ audience: 'someone-else' }) }] });
    const e = await refused(bad.makeApiClient(k8s.CoreV1Api).listNamespacedConfigMap({ namespace: 'cn' }));
    expect(e.code).toBe(401);
  });

  describe('the evidence', () => {
    let evidence: ExportedEvidence;
    let all: EvidenceEvent[];
    beforeAll(async () => {
      await f.stopGateway();
      evidence = await exportAndVerify(f, 'client-node.vigil');
      all = [...evidence.sessions.values()].flat();
    });

    it('verifies, and holds each request with its decision and result', () => {
      expect(failures(evidence.report)).toEqual([]);
      const texts = all.filter((e) => e.type === 'command').map((e) => String(e['text']));
      for (const want of ['POST /api/v1/namespaces/cn/configmaps', 'PATCH /apis/apps/v1/namespaces/cn/deployments/web', 'DELETE /api/v1/namespaces/other', 'GET /api/v1/namespaces/cn/secrets/db']) {
        expect(texts.some((t) => t.startsWith(want)), want).toBe(true);
      }
      expect(all.some((e) => e.type === 'decision' && e['decision'] === 'block' && e['rule'] === 'ci-kube/no-namespace-delete')).toBe(true);
      expect(all.some((e) => e.type === 'notice' && e['kind'] === 'watch-event' && String(e['body']).includes('555555******4444'))).toBe(true);
    });

    it('no bearer token, Secret value or clear PAN in any archive or log', () => {
      const text = JSON.stringify(all) + f.logs();
      for (const [what, v] of Object.entries({ token: f.defaultToken, signature: f.defaultToken.split('.')[2]!, secret: SECRET_VALUE, 'secret b64': Buffer.from(SECRET_VALUE).toString('base64'), PAN, WATCH_PAN })) {
        expect(text.includes(v), what).toBe(false);
      }
    });
  });
});
