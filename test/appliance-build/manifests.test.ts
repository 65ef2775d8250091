/**
 * The Kubernetes manifests (packaging/kubernetes/) against the real kube-apiserver (test/helpers/kube.ts):
 * the namespace is created for real with restricted Pod Security enforced, then every manifest goes through
 * a server-side dry run (schema, defaulting and admission, nothing stored). Pod Security is enforced on
 * pods, not on the StatefulSet (for workloads it only warns), so the StatefulSet's pod template is also
 * dry-run as a Pod: it must be admitted, and the same Pod with one restricted rule broken must be rejected.
 * The Compose file and Dockerfile are checked by structure (no Docker daemon or compose plugin here). ≈ 10 s.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, parse } from 'yaml';
import { ROOT } from '../helpers/cli.ts';
import { startKube, type KubeServer } from '../helpers/kube.ts';

const K8S = join(ROOT, 'packaging', 'kubernetes');
let kube: KubeServer;

// Parsed manifests: checked field by field below, so loosely typed here.
type Obj = Record<string, any>;
const docs = (file: string): Obj[] => parseAllDocuments(readFileSync(join(K8S, file), 'utf8')).map((d) => d.toJS() as Obj);
const statefulSet = () => docs('statefulset.yaml')[0]!;

/** The pod the StatefulSet controller would make: its template, plus each volume claim as a volume. */
function podFrom(sts: Obj, name: string): Obj {
  const spec = structuredClone(sts['spec'].template.spec);
  for (const c of sts['spec'].volumeClaimTemplates) spec.volumes.push({ name: c.metadata.name, persistentVolumeClaim: { claimName: `${c.metadata.name}-vigil-0` } });
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'vigil', labels: sts['spec'].template.metadata.labels }, spec };
}

beforeAll(async () => {
  kube = await startKube();
  kube.kubectlOk(['apply', '-f', join(K8S, 'namespace.yaml')]);
}, 900_000);

afterAll(async () => {
  await kube?.stop();
});

describe('Kubernetes manifests', () => {
  it('the namespace enforces restricted Pod Security', () => {
    const ns = JSON.parse(kube.kubectlOk(['get', 'namespace', 'vigil', '-o', 'json'])) as Obj;
    expect(ns['metadata'].labels).toMatchObject({ 'pod-security.kubernetes.io/enforce': 'restricted' });
  });

  it('every manifest passes a server-side dry run, with no Pod Security warning', () => {
    const files = readdirSync(K8S).filter((f) => f.endsWith('.yaml') && f !== 'namespace.yaml');
    expect(files.sort()).toEqual(['networkpolicy.yaml', 'serviceaccount.yaml', 'services.yaml', 'statefulset.yaml']);
    const r = kube.kubectl(['apply', '--dry-run=server', ...files.flatMap((f) => ['-f', join(K8S, f)])]);
    expect(r.status, r.stderr).toBe(0);
    for (const what of ['statefulset.apps/vigil', 'networkpolicy.networking.k8s.io/vigil', 'networkpolicy.networking.k8s.io/default-deny', 'service/vigil', 'service/vigil-headless', 'serviceaccount/vigil']) {
      expect(r.stdout).toContain(`${what} created (server dry run)`);
    }
    expect(r.stderr).not.toMatch(/PodSecurity|would violate/);
  });

  it("the StatefulSet's pod is admitted under restricted; the same pod breaking a rule is rejected", () => {
    const ok = kube.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: JSON.stringify(podFrom(statefulSet(), 'vigil-probe')) });
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('pod/vigil-probe created (server dry run)');
    const breaks: [string, (p: Obj) => void][] = [
      ['allowPrivilegeEscalation', (p) => (p['spec'].containers[0].securityContext = { ...p['spec'].containers[0].securityContext, allowPrivilegeEscalation: true })],
      ['runAsNonRoot', (p) => (p['spec'].securityContext = { ...p['spec'].securityContext, runAsNonRoot: false, runAsUser: 0 })],
      ['capabilities', (p) => (p['spec'].containers[0].securityContext = { ...p['spec'].containers[0].securityContext, capabilities: { drop: ['ALL'], add: ['NET_ADMIN'] } })],
    ];
    for (const [rule, mutate] of breaks) {
      const bad = podFrom(statefulSet(), `vigil-bad-${rule.toLowerCase()}`);
      mutate(bad);
      const r = kube.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: JSON.stringify(bad) });
      expect(r.status, `${rule}: ${r.stdout}`).not.toBe(0);
      expect(r.stderr).toMatch(/violates PodSecurity "restricted:latest"/);
    }
  });

  it('read-only root, probes on /healthz and /readyz over HTTPS, one replica on a persistent volume, drain time', () => {
    const sts = statefulSet();
    const spec = sts['spec'];
    expect(spec.replicas).toBe(1);
    expect(spec.volumeClaimTemplates[0].spec.accessModes).toEqual(['ReadWriteOnce']);
    const pod = spec.template.spec;
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(30); // shutdown.drainSeconds' default
    for (const c of [...pod.initContainers, ...pod.containers]) {
      expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
      expect(c.volumeMounts.map((m: Obj) => m['mountPath']).sort()).toEqual(['/tmp', '/var/lib/vigil']);
    }
    const main = pod.containers[0];
    expect(main.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'admin', scheme: 'HTTPS' });
    expect(main.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'admin', scheme: 'HTTPS' });
    expect(pod.initContainers[0].args).toEqual(['recover', '--config', '/var/lib/vigil/vigil.yaml']);
  });
});

describe('Docker Compose and Dockerfile (structure: no Docker daemon or compose plugin on this machine)', () => {
  const compose = parse(readFileSync(join(ROOT, 'packaging', 'compose', 'compose.yaml'), 'utf8')) as Obj;

  it('builds the Dockerfile it names, and runs read-only, unprivileged, with no capabilities', () => {
    const vigil = compose['services'].vigil;
    const dockerfile = join(ROOT, 'packaging', 'compose', vigil.build.context, vigil.build.dockerfile);
    expect(existsSync(dockerfile)).toBe(true);
    expect(vigil).toMatchObject({ read_only: true, cap_drop: ['ALL'], security_opt: ['no-new-privileges:true'], user: '10001:10001' });
    expect(vigil.volumes).toEqual(['vigil-data:/var/lib/vigil']);
    expect(vigil.tmpfs[0]).toMatch(/^\/tmp/);
    expect(compose['volumes']).toHaveProperty('vigil-data');
    expect(vigil.healthcheck.test.join(' ')).toContain('/readyz');
    for (const p of vigil.ports) expect(p).toMatch(/^127\.0\.0\.1:/); // not exposed beyond the host unless chosen
    expect(Number.parseInt(vigil.stop_grace_period, 10)).toBeGreaterThan(30);
    const text = readFileSync(dockerfile, 'utf8');
    expect(text).toMatch(/^USER 10001:10001$/m);
    expect(text).toMatch(/RUN sh scripts\/build\.sh --out \/opt\/vigil/);
    expect(text).toMatch(/^ENTRYPOINT \["node", "\/usr\/lib\/vigil\/vigil\.js"\]$/m);
    expect(text).toMatch(/^VOLUME \["\/var\/lib\/vigil"\]$/m);
  });
});
