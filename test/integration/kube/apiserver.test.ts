/**
 * The real-server harness for the Kubernetes gateway (issue 11): a kube-apiserver built from
 * k8s.io/kubernetes over kine/SQLite (test/helpers/kube.ts), driven by the real kubectl with its own
 * kubeconfig and cache directory. Proves what the gateway tests will rely on: CRUD as the admin, RBAC
 * denying a limited user (client certificate) and a service account (bound token), 401 for a bad token.
 *
 * Not skipped when the binaries are missing: startKube() builds them with scripts/ensure-kube.sh
 * (about 12 minutes on a cold 2-core machine), hence the long hook timeout.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKube, type KubeServer } from '../../helpers/kube.ts';

let kube: KubeServer;
const NS = 'harness';

beforeAll(async () => {
  kube = await startKube();
}, 50 * 60_000);

afterAll(async () => {
  await kube?.stop();
});

interface List {
  items: { metadata: { name: string; namespace?: string }; data?: Record<string, string> }[];
}

describe('real kube-apiserver over kine', () => {
  it('listens on 127.0.0.1 only, with the cluster CA, and reports its version', async () => {
    expect(kube.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const version = await kube.api('GET', '/version');
    expect(version.status).toBe(200);
    expect((version.json as { gitVersion: string }).gitVersion).toMatch(/^v1\.\d+\.\d+$/);
    const out = kube.kubectlOk(['version', '-o', 'json']);
    const v = JSON.parse(out) as { serverVersion: { gitVersion: string } };
    expect(v.serverVersion.gitVersion).toBe((version.json as { gitVersion: string }).gitVersion);
    // The readiness checks include RBAC's bootstrap roles.
    const readyz = await kube.api('GET', '/readyz?verbose');
    expect(readyz.body).toContain('[+]poststarthook/rbac/bootstrap-roles ok');
    expect(kube.caPem).toContain('BEGIN CERTIFICATE');
    expect(kube.adminCert).toContain('BEGIN CERTIFICATE');
  });

  it('refuses a client certificate from another CA (401) and an anonymous list (403)', async () => {
    const anonymous = await kube.api('GET', '/api/v1/namespaces', { credential: 'anonymous' });
    // No credential at all: anonymous, which RBAC forbids to list namespaces.
    expect(anonymous.status).toBe(403);
    expect(anonymous.body).toContain('system:anonymous');

    const dir = mkdtempSync(join(tmpdir(), 'vigil-kube-stranger-'));
    try {
      const r = spawnSync('openssl', [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
        '-subj', '/O=system:masters/CN=stranger', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'),
      ], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const stranger = { certPem: readFileSync(join(dir, 'c.pem'), 'utf8'), keyPem: readFileSync(join(dir, 'k.pem'), 'utf8') };
      const res = await kube.api('GET', '/api/v1/namespaces', { credential: stranger });
      expect(res.status).toBe(401);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('creates a namespace, a ConfigMap and a Secret with kubectl and lists them back', () => {
    kube.kubectlOk(['create', 'namespace', NS]);
    kube.kubectlOk(['-n', NS, 'create', 'configmap', 'settings', '--from-literal=colour=blue', '--from-literal=size=3']);
    kube.kubectlOk(['-n', NS, 'create', 'secret', 'generic', 'db', '--from-literal=password=s3cr3t-value']);

    const namespaces = JSON.parse(kube.kubectlOk(['get', 'namespaces', '-o', 'json'])) as List;
    expect(namespaces.items.map((i) => i.metadata.name)).toEqual(expect.arrayContaining(['default', 'kube-system', NS]));

    const configmaps = JSON.parse(kube.kubectlOk(['-n', NS, 'get', 'configmaps', '-o', 'json'])) as List;
    const settings = configmaps.items.find((i) => i.metadata.name === 'settings');
    expect(settings?.data).toEqual({ colour: 'blue', size: '3' });

    const secrets = JSON.parse(kube.kubectlOk(['-n', NS, 'get', 'secrets', '-o', 'json'])) as List;
    const db = secrets.items.find((i) => i.metadata.name === 'db');
    expect(Buffer.from(db?.data?.['password'] ?? '', 'base64').toString()).toBe('s3cr3t-value');

    // The Table form kubectl prints by default (the gateway will have to pass these through).
    const table = kube.kubectlOk(['-n', NS, 'get', 'configmaps', '-o', 'wide']);
    expect(table).toMatch(/^NAME\s+DATA\s+AGE/m);
    expect(table).toMatch(/^settings\s+2\s/m);
  });

  it('RBAC: a limited user (client certificate) reads what its Role allows and nothing else', () => {
    const alice = kube.clientCertificate('alice', ['team-a']);
    kube.kubectlOk(['-n', NS, 'create', 'role', 'configmap-reader', '--verb=get,list,watch', '--resource=configmaps']);
    kube.kubectlOk(['-n', NS, 'create', 'rolebinding', 'team-a-reads', '--role=configmap-reader', '--group=team-a']);

    const allowed = kube.kubectl(['-n', NS, 'get', 'configmap', 'settings', '-o', 'jsonpath={.data.colour}'], { kubeconfig: alice.kubeconfig });
    expect(allowed.stderr).toBe('');
    expect(allowed.status).toBe(0);
    expect(allowed.stdout).toBe('blue');

    const secrets = kube.kubectl(['-n', NS, 'get', 'secrets'], { kubeconfig: alice.kubeconfig });
    expect(secrets.status).not.toBe(0);
    expect(secrets.stderr).toMatch(/Forbidden.*User "alice" cannot list resource "secrets".*in the namespace "harness"/);

    const write = kube.kubectl(['-n', NS, 'create', 'configmap', 'sneaky', '--from-literal=a=b'], { kubeconfig: alice.kubeconfig });
    expect(write.status).not.toBe(0);
    expect(write.stderr).toMatch(/forbidden: User "alice" cannot create resource "configmaps"/);

    const otherNamespace = kube.kubectl(['-n', 'default', 'get', 'configmaps'], { kubeconfig: alice.kubeconfig });
    expect(otherNamespace.status).not.toBe(0);
    expect(otherNamespace.stderr).toContain('Forbidden');

    expect(kube.kubectl(['auth', 'can-i', 'list', 'configmaps', '-n', NS], { kubeconfig: alice.kubeconfig }).stdout.trim()).toBe('yes');
    expect(kube.kubectl(['auth', 'can-i', 'get', 'secrets', '-n', NS], { kubeconfig: alice.kubeconfig }).stdout.trim()).toBe('no');

    // The admin can see that alice was refused, and impersonate her (what the gateway will do).
    const asAlice = kube.kubectl(['-n', NS, 'get', 'secrets', '--as=alice', '--as-group=team-a']);
    expect(asAlice.status).not.toBe(0);
    expect(asAlice.stderr).toContain('User "alice" cannot list resource "secrets"');
    expect(kube.kubectlOk(['-n', NS, 'get', 'configmaps', '--as=alice', '--as-group=team-a', '-o', 'name'])).toContain('configmap/settings');

    // The audit log names both: who called (the admin) and whom it acted as (alice), with the outcome.
    const impersonated = kube.auditEvents().filter((e) => e.impersonatedUser?.username === 'alice' && e.stage === 'ResponseComplete');
    expect(impersonated.map((e) => [e.user.username, e.verb, e.objectRef?.resource, e.objectRef?.namespace, e.responseStatus?.code])).toEqual(
      expect.arrayContaining([
        ['vigil-test-admin', 'list', 'secrets', NS, 403],
        ['vigil-test-admin', 'list', 'configmaps', NS, 200],
      ]),
    );
    const direct = kube.auditEvents().find((e) => e.user.username === 'alice' && e.objectRef?.resource === 'secrets');
    expect(direct?.annotations?.['authorization.k8s.io/decision']).toBe('forbid');
  });

  it('service accounts: a bound token authenticates as the account, RBAC limits it, a bad token is 401', async () => {
    const token = await kube.serviceAccountToken(NS, 'deployer');
    const kc = kube.tokenKubeconfig('deployer', token);
    const whoami = JSON.parse(kube.kubectlOk(['auth', 'whoami', '-o', 'json'], { kubeconfig: kc })) as { status: { userInfo: { username: string; groups: string[] } } };
    expect(whoami.status.userInfo.username).toBe(`system:serviceaccount:${NS}:deployer`);
    expect(whoami.status.userInfo.groups).toContain('system:serviceaccounts');

    const denied = kube.kubectl(['-n', NS, 'get', 'configmaps'], { kubeconfig: kc });
    expect(denied.status).not.toBe(0);
    expect(denied.stderr).toContain(`User "system:serviceaccount:${NS}:deployer" cannot list resource "configmaps"`);

    kube.kubectlOk(['-n', NS, 'create', 'rolebinding', 'deployer-reads', '--role=configmap-reader', `--serviceaccount=${NS}:deployer`]);
    expect(kube.kubectlOk(['-n', NS, 'get', 'configmaps', '-o', 'name'], { kubeconfig: kc })).toContain('configmap/settings');

    const forged = `${token.slice(0, -4)}AAAA`;
    const bad = kube.kubectl(['-n', NS, 'get', 'configmaps'], { kubeconfig: kube.tokenKubeconfig('forged', forged) });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/Unauthorized|must be logged in/);
    const raw = await kube.api('GET', `/api/v1/namespaces/${NS}/configmaps`, { credential: { token: forged } });
    expect(raw.status).toBe(401);

    // A token for another audience is refused as well.
    const otherAudience = await kube.serviceAccountToken(NS, 'deployer', { audiences: ['https://not-this-cluster.example'] });
    expect((await kube.api('GET', `/api/v1/namespaces/${NS}/configmaps`, { credential: { token: otherAudience } })).status).toBe(401);

    // Neither the audit log nor the server logs hold a token (the baseline the gateway's own logs must meet).
    const audit = JSON.stringify(kube.auditEvents());
    expect(audit).toContain(`system:serviceaccount:${NS}:deployer`);
    for (const t of [token, forged, otherAudience]) {
      expect(audit).not.toContain(t.slice(-40));
      expect(kube.logs()).not.toContain(t.slice(-40));
    }
  });

  it('stop() ends kube-apiserver and kine and removes the temporary directory', async () => {
    const { port, dir } = kube;
    await kube.stop();
    expect(existsSync(dir)).toBe(false);
    const open = await new Promise<boolean>((res) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); res(true); });
      s.once('error', () => res(false));
    });
    expect(open).toBe(false);
  });
});
