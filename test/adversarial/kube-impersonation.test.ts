/**
 * Attacks on who the API server thinks the caller is, through Vigil to the real kube-apiserver: a client
 * sending its own Impersonate-* or front-proxy (X-Remote-*) headers, kubectl --as, an identity provider
 * naming a `system:` subject or group, and paths written so that Vigil and the API server might read
 * them differently. Vigil's credential may impersonate anyone, so any header that reached the API server
 * would be an escalation: the cluster's answers prove none did.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportAndVerify } from '../helpers/gateway.ts';
import { KUBE_AUDIENCE, STAFF_ISSUER, startKubeGatewayFixture, type KubeGatewayFixture } from '../helpers/kube-gateway.ts';

const SUBJECT = 'repo:acme/payments:ref:refs/heads/main';
const POLICIES = `
policies:
  - name: ci
    match: { subjects: ['repo:acme/*'] }
    targets: [dev]
    rules:
      - name: no-namespace-delete
        when: { protocols: [kubernetes], commands: [delete, deletecollection], attributes: { resource: [namespaces] } }
        action: block
    classes: { read: allow, write: allow, delete: allow, default: block }
  - name: staff
    match: { providers: [staff] }
    targets: [dev]
    classes: { read: allow, write: allow, default: block }
`;

let f: KubeGatewayFixture;
const ESCALATION_HEADERS = {
  'impersonate-user': 'vigil-test-admin',
  'impersonate-group': ['system:masters'],
  'impersonate-uid': '0',
  'impersonate-extra-scopes': 'all',
  'x-remote-user': 'vigil-test-admin',
  'x-remote-group': 'system:masters',
};

beforeAll(async () => {
  f = await startKubeGatewayFixture({ policies: POLICIES });
  f.kube.kubectlOk(['create', 'namespace', 'kept']);
  f.kube.kubectlOk(['create', 'clusterrole', 'ns-all', '--verb=get,list,delete,deletecollection', '--resource=namespaces']);
  f.kube.kubectlOk(['create', 'clusterrolebinding', 'ci-ns', '--clusterrole=ns-all', '--group=repo:acme/payments']);
}, 50 * 60_000);

afterAll(async () => {
  await f?.stop();
});

const whoami = async (headers: Record<string, string | string[]>) => {
  const body = JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' });
  const r = await f.raw('POST', '/targets/dev/apis/authentication.k8s.io/v1/selfsubjectreviews', headers, body);
  expect(r.status, r.body).toBe(201);
  return (JSON.parse(r.body) as { status: { userInfo: { username: string; groups: string[]; extra?: object } } }).status.userInfo;
};

describe('a client cannot choose whom Vigil impersonates', () => {
  it('Impersonate-*, X-Remote-* headers are dropped: the API server sees the token identity', async () => {
    const me = await whoami({ authorization: `Bearer ${f.defaultToken}`, ...ESCALATION_HEADERS });
    expect(me.username).toBe(SUBJECT);
    expect(me.groups).not.toContain('system:masters');
    expect(me.extra).toBeUndefined();
    const nodes = await f.raw('GET', '/targets/dev/api/v1/nodes', { authorization: `Bearer ${f.defaultToken}`, ...ESCALATION_HEADERS });
    expect(nodes.status).toBe(403);
    expect(nodes.body).toContain(`User \\"${SUBJECT}\\" cannot list resource \\"nodes\\"`);
  });

  it('kubectl --as / --as-group changes nothing', async () => {
    const r = await f.kubectl(['--as=vigil-test-admin', '--as-group=system:masters', 'get', 'nodes']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`User "${SUBJECT}" cannot list resource "nodes"`);
  });

  it('a second Authorization header or a Basic one is not a way in', async () => {
    const basic = await f.raw('GET', '/targets/dev/api/v1/namespaces', { authorization: 'Basic dmlnaWwtdGVzdC1hZG1pbjp4' });
    expect(basic.status).toBe(401);
    const none = await f.raw('GET', '/targets/dev/api/v1/namespaces', { ...ESCALATION_HEADERS });
    expect(none.status).toBe(401);
  });

  it('an identity whose subject is a system: name is refused (vigil/impersonation), not impersonated', async () => {
    const token = await f.staff.mint({ sub: 'system:kube-controller-manager', aud: KUBE_AUDIENCE, groups: ['ops'] });
    const r = await f.raw('GET', '/targets/dev/api/v1/namespaces', { authorization: `Bearer ${token}` });
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body)).toMatchObject({ kind: 'Status', code: 403 });
    expect(r.body).toContain('rule vigil/impersonation');
  });

  it("an identity's system: groups are not passed on", async () => {
    const token = await f.staff.mint({ sub: 'alice@acme.test', aud: KUBE_AUDIENCE, groups: ['system:masters', 'team-a'] });
    const me = await whoami({ authorization: `Bearer ${token}` });
    expect(me.username).toBe('alice@acme.test');
    expect(me.groups).toEqual(['team-a', 'system:authenticated']);
    expect(STAFF_ISSUER).toMatch(/^https:/);
  });

  it('one identity per connection: a later request with another token on the same connection is refused', async () => {
    const { request, Agent } = await import('node:https');
    const { readFileSync } = await import('node:fs');
    const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: readFileSync(f.vigilCaFile) });
    const other = await f.staff.mint({ sub: 'mallory@acme.test', aud: KUBE_AUDIENCE, groups: ['x'] });
    const get = (token: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: f.port, path: '/targets/dev/version', agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end();
      });
    expect(await get(f.defaultToken)).toBe(200);
    expect(await get(other)).toBe(401);
    agent.destroy();
  });
});

describe('paths Vigil and the API server must read alike', () => {
  it.each([
    '/targets/dev/api/v1/namespaces/kept',
    '/targets/dev//api/v1/namespaces/kept',
    '/targets/dev/api/v1/namespaces/kept/',
    '/targets/dev/api/v1/namespaces/k%65pt',
    '/targets/dev/api/v1/namespaces?fieldSelector=metadata.name%3Dkept',
    '/targets/dev/api/v1/namespaces',
  ])('DELETE %s does not delete the namespace', async (path) => {
    const r = await f.raw('DELETE', path, { authorization: `Bearer ${f.defaultToken}` });
    expect(r.status).toBe(403);
    expect(r.body).toContain('ci/no-namespace-delete');
    expect(f.kube.kubectlOk(['get', 'namespace', 'kept', '-o', 'jsonpath={.status.phase}'])).toBe('Active');
  });

  it.each(['/targets/dev/api/v1/namespaces/kept%2F', '/targets/dev/api/v1/watch', '/targets/dev/api/v1/namespaces/%zz'])('refuses what it cannot read: %s', async (path) => {
    const r = await f.raw('DELETE', path, { authorization: `Bearer ${f.defaultToken}` });
    expect(r.status).toBe(403);
    expect(r.body).toContain('rule vigil/request');
    expect(f.kube.kubectlOk(['get', 'namespace', 'kept', '-o', 'jsonpath={.status.phase}'])).toBe('Active');
  });

  it('exec, attach and port-forward without an upgrade, and proxy, are refused (not forwarded)', async () => {
    for (const [path, rule] of [
      ['/api/v1/namespaces/kept/pods/p/exec?command=id', 'vigil/upgrade-required'],
      ['/api/v1/namespaces/kept/pods/p/portforward', 'vigil/upgrade-required'],
      ['/api/v1/namespaces/kept/services/s/proxy/x', 'vigil/not-yet'],
      ['/api/v1/proxy/namespaces/kept/pods/p', 'vigil/not-yet'],
    ] as const) {
      const r = await f.raw('POST', `/targets/dev${path}`, { authorization: `Bearer ${f.defaultToken}` });
      expect(r.status, path).toBe(403);
      expect(r.body).toContain(rule);
    }
  });

  it('an unknown target and a path outside /targets are refused with a Status', async () => {
    const unknown = await f.raw('GET', '/targets/nope/api/v1/namespaces', { authorization: `Bearer ${f.defaultToken}` });
    expect(unknown.status).toBe(403);
    expect(unknown.body).toContain('no policy grants');
    const outside = await f.raw('GET', '/api/v1/namespaces', { authorization: `Bearer ${f.defaultToken}` });
    expect(outside.status).toBe(404);
    expect(JSON.parse(outside.body)).toMatchObject({ kind: 'Status', code: 404 });
  });

});

describe('upgrades (exec, attach, port-forward)', () => {
  it('kubectl exec that policy refuses (class interactive, not allowed) is decided, recorded and refused, over WebSocket and over SPDY', async () => {
    f.kube.kubectlOk(['-n', 'kept', 'apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'app', namespace: 'kept' }, spec: { containers: [{ name: 'main', image: 'vigil.test/local' }] } }) });
    f.kube.kubectlOk(['-n', 'kept', 'create', 'role', 'pods', '--verb=get,create', '--resource=pods,pods/exec']);
    f.kube.kubectlOk(['-n', 'kept', 'create', 'rolebinding', 'pods', '--role=pods', '--group=repo:acme/payments']);
    // WebSocket: accepted, then refused in-band (the error channel's Status), so kubectl does not fall back.
    const ws = await f.kubectl(['-n', 'kept', 'exec', 'app', '--', 'id']);
    expect(ws.status).not.toBe(0);
    expect(ws.stderr).toContain('forbidden by Vigil policy (rule ci/default)');
    // SPDY: policy's refusal comes before the transport's.
    const spdy = await f.kubectl(['-n', 'kept', 'exec', 'app', '--', 'id'], { env: { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false' } });
    expect(spdy.status).not.toBe(0);
    expect(spdy.stderr).toContain('rule ci/default');
  });
});

describe('evidence', () => {
  it('the evidence verifies and holds no token', async () => {
    await f.stopGateway();
    const e = await exportAndVerify(f);
    expect(e.report.ok).toBe(true);
    const text = JSON.stringify([...e.sessions.values()].flat());
    expect(text).not.toContain(f.defaultToken.split('.')[2]!);
    expect(text).toContain('vigil/impersonation');
    expect(text).toContain('vigil/not-yet');
    expect(text).toContain('vigil/upgrade-required');
  });
});
