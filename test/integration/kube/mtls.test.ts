/**
 * A client certificate as the identity (listeners.kubernetes.clientCertificates with an `mtls:` section):
 * kubectl with a SPIFFE X509-SVID through Vigil to the real kube-apiserver, impersonated as its SPIFFE ID;
 * a certificate from another CA is refused with 401 and a Status body.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCa } from '../../helpers/identity-provider.ts';
import { startKubeGatewayFixture, type KubeGatewayFixture } from '../../helpers/kube-gateway.ts';

const SPIFFE = 'spiffe://acme.test/ci/deployer';
let f: KubeGatewayFixture;
let ca: TestCa;
let stranger: TestCa;

beforeAll(async () => {
  f = await startKubeGatewayFixture({
    listenerExtra: '    clientCertificates: true\n',
    extraConfig: 'mtls:\n  name: workload\n  ca: tls/workload-ca.crt\n  identityFrom: san-uri\n  trustDomains: [acme.test]\n',
    policies: `
policies:
  - name: workloads
    match: { providers: [workload] }
    targets: [dev]
    rules:
      - name: whoami
        when: { protocols: [kubernetes], commands: [create], attributes: { group: [authentication.k8s.io], resource: [selfsubjectreviews] } }
        action: allow
    classes: { read: allow, default: block }
`,
    beforeStart: (dir) => {
      ca = TestCa.create(dir, 'workload-ca');
      stranger = TestCa.create(dir, 'stranger-ca');
      writeFileSync(join(dir, 'appliance', 'tls', 'workload-ca.crt'), ca.cert);
    },
  });
  f.kube.kubectlOk(['create', 'namespace', 'apps']);
  f.kube.kubectlOk(['-n', 'apps', 'create', 'configmap', 'hello', '--from-literal=a=b']);
  f.kube.kubectlOk(['-n', 'apps', 'create', 'role', 'reader', '--verb=get,list', '--resource=configmaps']);
  f.kube.kubectlOk(['-n', 'apps', 'create', 'rolebinding', 'reader', '--role=reader', `--user=${SPIFFE}`]);
}, 50 * 60_000);

afterAll(async () => {
  await f?.stop();
});

function certKubeconfig(name: string, cert: { certPath: string; keyPath: string }): string {
  const path = join(f.dir, `${name}.kubeconfig`);
  writeFileSync(path, `apiVersion: v1
kind: Config
clusters:
- name: vigil
  cluster: { server: ${JSON.stringify(f.server)}, certificate-authority: ${JSON.stringify(f.vigilCaFile)} }
users:
- name: w
  user: { client-certificate: ${JSON.stringify(cert.certPath)}, client-key: ${JSON.stringify(cert.keyPath)} }
contexts:
- name: vigil
  context: { cluster: vigil, user: w }
current-context: vigil
`, { mode: 0o600 });
  return path;
}

describe('mTLS identity', () => {
  it('kubectl with a SPIFFE client certificate reads as that identity', async () => {
    const svid = ca.issue('deployer', { subject: '/CN=deployer', san: [`URI:${SPIFFE}`], usage: 'client' });
    const kc = certKubeconfig('svid', svid);
    const r = await f.kubectl(['-n', 'apps', 'get', 'configmap', 'hello', '-o', 'jsonpath={.data.a}'], { kubeconfig: kc });
    expect(r.stderr, f.logs().split('\n').filter((l) => l.includes('refused')).join('\n')).toBe('');
    expect(r.stdout).toBe('b');
    const who = JSON.parse((await f.kubectl(['auth', 'whoami', '-o', 'json'], { kubeconfig: kc })).stdout) as { status: { userInfo: { username: string } } };
    expect(who.status.userInfo.username).toBe(SPIFFE);
    // Policy: reads only.
    const write = await f.kubectl(['-n', 'apps', 'create', 'configmap', 'x', '--from-literal=a=b'], { kubeconfig: kc });
    expect(write.stderr).toContain('rule workloads/default');
  });

  it('a certificate from another CA is refused with 401', async () => {
    const fake = stranger.issue('fake', { subject: '/CN=deployer', san: [`URI:${SPIFFE}`], usage: 'client' });
    const r = await f.kubectl(['-n', 'apps', 'get', 'configmaps'], { kubeconfig: certKubeconfig('fake', fake) });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('You must be logged in to the server');
  });
});
