/**
 * A Kubernetes session ends when its credential does, and when it sits idle, as SSH and PostgreSQL
 * sessions do (pipeline/session-limits.ts): a watch opened with a token that then expires is cut at the
 * expiry (plus the provider's tolerance, 0 here) — it does not run on for as long as the client likes —
 * and a kept-alive connection with nothing in flight ends after the policy's idleSeconds.
 */
import { Agent, request } from 'node:https';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportAndVerify } from '../helpers/gateway.ts';
import { KUBE_AUDIENCE, startKubeGatewayFixture, type KubeGatewayFixture } from '../helpers/kube-gateway.ts';

let f: KubeGatewayFixture;

beforeAll(async () => {
  f = await startKubeGatewayFixture({
    staffProviderExtra: '    clockToleranceSeconds: 0\n',
    policies: `
policies:
  - name: staff
    match: { providers: [staff] }
    targets: [dev]
    classes: { read: allow, default: block }
    limits: { idleSeconds: 2 }
`,
  });
  f.kube.kubectlOk(['create', 'namespace', 'w']);
  f.kube.kubectlOk(['-n', 'w', 'create', 'role', 'r', '--verb=get,list,watch', '--resource=configmaps']);
  f.kube.kubectlOk(['-n', 'w', 'create', 'rolebinding', 'r', '--role=r', '--user=watcher@acme.test']);
}, 50 * 60_000);

afterAll(async () => {
  await f?.stop();
});

function get(agent: Agent, path: string, token: string): Promise<{ status: number; ms: number; body: string }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port: f.port, path, agent, headers: { authorization: `Bearer ${token}`, accept: 'application/json' } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: Date.now() - started, body }));
      res.on('error', () => resolve({ status: res.statusCode ?? -1, ms: Date.now() - started, body }));
      res.on('aborted', () => resolve({ status: res.statusCode ?? -1, ms: Date.now() - started, body }));
    });
    req.on('error', () => resolve({ status: -1, ms: Date.now() - started, body: '' }));
    req.end();
  });
}

describe('session lifetime', () => {
  it('a watch is cut when the token it was opened with expires', async () => {
    const agent = new Agent({ ca: readFileSync(f.vigilCaFile), keepAlive: false });
    const token = await f.staff.mint({ sub: 'watcher@acme.test', aud: KUBE_AUDIENCE, groups: [] }, { lifetimeSeconds: 3 });
    const r = await get(agent, '/targets/dev/api/v1/namespaces/w/configmaps?watch=1&timeoutSeconds=60', token);
    expect(r.ms).toBeGreaterThan(1_500);
    expect(r.ms).toBeLessThan(15_000);
    agent.destroy();
  }, 30_000);

  it('an idle kept-alive connection is ended after idleSeconds', async () => {
    const agent = new Agent({ ca: readFileSync(f.vigilCaFile), keepAlive: true, maxSockets: 1 });
    const token = await f.staff.mint({ sub: 'watcher@acme.test', aud: KUBE_AUDIENCE, groups: [] }, { lifetimeSeconds: 600 });
    expect((await get(agent, '/targets/dev/api/v1/namespaces/w/configmaps', token)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 3_500));
    expect((await get(agent, '/targets/dev/api/v1/namespaces/w/configmaps', token)).status).toBe(200);
    agent.destroy();
  }, 30_000);

  it('the evidence says why each session ended', async () => {
    await f.stopGateway();
    const e = await exportAndVerify(f);
    expect(e.report.ok).toBe(true);
    const codes = [...e.sessions.values()].flat().filter((x) => x.type === 'error' && x['kind'] === 'session').map((x) => x['code']);
    expect(codes).toEqual(expect.arrayContaining(['credential-expired', 'idle']));
  });
});
