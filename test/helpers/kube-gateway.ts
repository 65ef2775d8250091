/**
 * A real gateway with only its Kubernetes listener, in front of the real kube-apiserver of
 * test/helpers/kube.ts (not modified here: this file builds on its public API). Vigil reaches the API
 * server with its own client certificate (CN vigil-gateway), which the cluster lets impersonate users and
 * groups and nothing else; CI identities are GitHub Actions tokens from a test identity provider, and the
 * real kubectl talks to Vigil with a kubeconfig of its own (the appliance's CA, the token, the
 * /targets/<name> prefix).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:https';
import { Writable } from 'node:stream';
import { DRAIN_IN_TESTS } from './gateway.ts';
import { testLogger } from './test-log.ts';
import { createAuditorKey, parseAuditorSecretKey } from '../../shared/evidence/auditor-key.ts';
import { parseTrustFile, type TrustFile } from '../../shared/evidence/trust.ts';
import type { AuditorSecret } from '../../shared/evidence/verify/verify-archive.ts';
import { Gateway } from '../../appliance/gateway.ts';
import { initAppliance } from '../../appliance/init.ts';
import { TestIdentityProvider } from './identity-provider.ts';
import { tempDir } from './evidence.ts';
import { startKube, type KubeClientCredential, type KubectlResult, type KubeServer } from './kube.ts';

export const KUBE_AUDIENCE = 'vigil-kube';

export const KUBE_POLICIES = `
policies:
  - name: ci-kube
    match: { subjects: ['repo:acme/*'] }
    targets: [dev]
    rules:
      - name: no-namespace-delete
        when: { protocols: [kubernetes], commands: [delete, deletecollection], attributes: { resource: [namespaces] } }
        action: block
        reason: namespaces are never deleted through Vigil
      - name: patch-cde-deployments
        when: { protocols: [kubernetes], commands: [patch], objects: ['cde/deployments.apps/*'] }
        action: require-approval
        approvers: { groups: [ops] }
      - name: patch-cde-configmaps
        when: { protocols: [kubernetes], commands: [patch], objects: ['cde/configmaps/*'] }
        action: require-approval
        approvers: { groups: [ops], expirySeconds: 5 }
    classes: { read: allow, write: allow, delete: allow, default: block }
    kubernetes:
      secrets: { read: redact, reveal: ['gw/revealed'] }
  - name: ci-strict
    match: { subjects: ['repo:other/*'] }
    targets: [dev]
    classes: { read: allow, default: block }
`;

export interface KubeGatewayFixture {
  kube: KubeServer;
  gateway: Gateway;
  idp: TestIdentityProvider;
  /** The generic provider (issuer STAFF_ISSUER, groups from the `groups` claim). */
  staff: TestIdentityProvider;
  dir: string;
  configPath: string;
  trust: TrustFile;
  auditor: AuditorSecret;
  port: number;
  /** https://127.0.0.1:PORT/targets/dev */
  server: string;
  /** The appliance's serving certificate (what kubectl trusts for Vigil). */
  vigilCaFile: string;
  vigilCredential: KubeClientCredential;
  /** The token kubectl() uses unless told (repo:acme/payments, an hour long). */
  defaultToken: string;
  token(o?: { repository?: string; audience?: string; lifetimeSeconds?: number; now?: Date }): Promise<string>;
  /** A kubeconfig for Vigil with this token (mode 0600). */
  kubeconfig(name: string, token: string): string;
  /** The real kubectl through Vigil (async: a held request must not block the test's event loop). */
  kubectl(args: string[], o?: { token?: string; kubeconfig?: string; input?: string; timeoutMs?: number; env?: Record<string, string> }): Promise<KubectlResult>;
  /** A raw HTTPS request to Vigil. */
  raw(method: string, path: string, headers: Record<string, string | string[]>, body?: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>;
  logs(): string;
  stopGateway(): Promise<void>;
  stop(): Promise<void>;
}

export const STAFF_ISSUER = 'https://login.acme.test';

export async function startKubeGatewayFixture(o: { policies?: string; extraConfig?: string; kube?: KubeServer; extraTargets?: string; beforeStart?: (dir: string) => void; listenerExtra?: string; staffProviderExtra?: string; durability?: 'fsync' | 'write' } = {}): Promise<KubeGatewayFixture> {
  const kube = o.kube ?? (await startKube());
  // Vigil's own credential: impersonation and nothing else.
  const vigilCredential = kube.clientCertificate('vigil-gateway');
  kube.kubectlOk(['create', 'clusterrole', 'vigil-impersonator', '--verb=impersonate', '--resource=users,groups']);
  kube.kubectlOk(['create', 'clusterrolebinding', 'vigil-impersonator', '--clusterrole=vigil-impersonator', '--user=vigil-gateway']);

  const dir = tempDir('vigil-kube-gw-');
  const key = createAuditorKey({ label: 'test auditor' });
  writeFileSync(join(dir, 'auditor.pub'), key.publicFile);
  // The secret key file too (no passphrase), for the viewer's tests.
  writeFileSync(join(dir, 'auditor.key'), key.secretFile, { mode: 0o600 });
  const init = initAppliance({ dir: join(dir, 'appliance'), auditors: [join(dir, 'auditor.pub')] });
  const idp = await TestIdentityProvider.create({ issuer: 'https://token.actions.githubusercontent.com' });
  idp.writeJwks(join(dir, 'appliance', 'keys', 'idp-jwks.json'));
  // A generic OIDC provider whose tokens name any subject and groups (what a hostile or careless issuer could send).
  const staff = await TestIdentityProvider.create({ issuer: STAFF_ISSUER });
  staff.writeJwks(join(dir, 'appliance', 'keys', 'staff-jwks.json'));
  o.beforeStart?.(dir);
  writeFileSync(join(dir, 'appliance', 'tls', 'dev-cluster-ca.crt'), kube.caPem);
  const base = readFileSync(init.configPath, 'utf8').split('\nlisteners:')[0]!.replace('durability: fsync', `durability: ${o.durability ?? 'fsync'}`).trimEnd();
  const config = `${base}
listeners:
  kubernetes:
    address: 127.0.0.1:0
    tls: { cert: tls/server.crt, key: tls/server.key }
${o.listenerExtra ?? ''}identityProviders:
  - name: github
    issuer: https://token.actions.githubusercontent.com
    audiences: [${KUBE_AUDIENCE}]
    jwks: { file: keys/idp-jwks.json }
    algorithms: [ES256]
    profile: github-actions
  - name: staff
    issuer: ${STAFF_ISSUER}
    audiences: [${KUBE_AUDIENCE}]
    jwks: { file: keys/staff-jwks.json }
    algorithms: [ES256]
    profile: generic
    groupsClaim: groups
${o.staffProviderExtra ?? ''}targets:
  - name: dev
    protocol: kubernetes
    server: ${kube.url}
    ca: tls/dev-cluster-ca.crt
    credential: { clientCertificate: { cert: ${vigilCredential.certFile}, key: ${vigilCredential.keyFile} } }
${o.extraTargets ?? ''}${o.policies ?? KUBE_POLICIES}
${o.extraConfig ?? ''}${/^shutdown:/m.test(o.extraConfig ?? '') ? '' : DRAIN_IN_TESTS}`;
  writeFileSync(init.configPath, config);
  let logText = '';
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logText += String(chunk);
      cb();
    },
  });
  const gateway = await Gateway.start(init.configPath, { logger: testLogger('gateway', sink) });
  const port = gateway.addresses['kubernetes']!.port;
  const server = `https://127.0.0.1:${port}/targets/dev`;
  const vigilCaFile = join(dir, 'appliance', 'tls', 'server.crt');
  const vigilCa = readFileSync(vigilCaFile, 'utf8');
  let n = 0;
  const kubeconfig = (name: string, token: string) => {
    const path = join(dir, `${name}-${n++}.kubeconfig`);
    writeFileSync(path, `apiVersion: v1
kind: Config
clusters:
- name: vigil
  cluster:
    server: ${JSON.stringify(server)}
    certificate-authority: ${JSON.stringify(vigilCaFile)}
users:
- name: bot
  user:
    token: ${JSON.stringify(token)}
contexts:
- name: vigil
  context:
    cluster: vigil
    user: bot
current-context: vigil
`, { mode: 0o600 });
    return path;
  };
  const token: KubeGatewayFixture['token'] = (t = {}) =>
    idp.mintGithubActions({ repository: t.repository ?? 'acme/payments', audience: t.audience ?? KUBE_AUDIENCE, ...(t.lifetimeSeconds ? { lifetimeSeconds: t.lifetimeSeconds } : {}), ...(t.now ? { now: t.now } : {}) });
  const defaultToken = await token({ lifetimeSeconds: 3600 });
  const defaultKubeconfig = kubeconfig('bot', defaultToken);
  const kubectl: KubeGatewayFixture['kubectl'] = (args, ko = {}) =>
    new Promise((resolve) => {
      const child = kube.kubectlSpawn(args, { kubeconfig: ko.kubeconfig ?? (ko.token ? kubeconfig('bot', ko.token) : defaultKubeconfig), ...(ko.env ? { env: ko.env } : {}) });
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      child.stdin!.end(ko.input ?? '');
      const timer = setTimeout(() => child.kill('SIGKILL'), ko.timeoutMs ?? 60_000);
      child.on('close', (status) => {
        clearTimeout(timer);
        resolve({ status, stdout, stderr });
      });
    });
  const raw: KubeGatewayFixture['raw'] = (method, path, headers, body) =>
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method, path, ca: vigilCa, headers: { accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } : {}), ...headers }, agent: false, timeout: 30_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', reject);
      req.end(body);
    });
  let gatewayStopped = false;
  const stopGateway = async () => {
    if (gatewayStopped) return;
    gatewayStopped = true;
    await gateway.stop();
  };
  return {
    kube,
    gateway,
    idp,
    staff,
    dir,
    configPath: init.configPath,
    trust: parseTrustFile(readFileSync(init.trustPath, 'utf8')),
    auditor: parseAuditorSecretKey(key.secretFile).unlock(),
    port,
    server,
    vigilCaFile,
    vigilCredential,
    defaultToken,
    token,
    kubeconfig,
    kubectl,
    raw,
    logs: () => logText,
    stopGateway,
    stop: async () => {
      await stopGateway();
      if (!o.kube) await kube.stop();
    },
  };
}
