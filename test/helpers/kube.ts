/**
 * A real Kubernetes API server for tests: kube-apiserver built from the k8s.io/kubernetes Go module and
 * kine (the etcd API over SQLite), both from scripts/ensure-kube.sh, started on 127.0.0.1 with their own
 * certificates in a fresh temporary directory. RBAC and Node authorization are on, service accounts have
 * an issuer and signing keys, and the API server has a kubelet client certificate (for a node fixture).
 * No controller-manager or scheduler runs: nothing garbage-collects, deleted namespaces stay Terminating,
 * pods stay Pending unless a test binds them.
 *
 *   const kube = await startKube();            // builds the binaries first if they are missing (≈ 12 min cold)
 *   afterAll(() => kube.stop());
 *   kube.kubectl(['get', 'namespaces']);       // as the admin (system:masters), with its own --cache-dir
 *   const alice = kube.clientCertificate('alice', ['team-a']);
 *   kube.kubectl(['get', 'pods'], { kubeconfig: alice.kubeconfig });
 *
 *   const node = await kube.startNode();       // a stand-in kubelet: exec/attach/logs/port-forward run locally
 *   kube.kubectlOk(['apply', '-f', '-'], { input: podManifest({ name: 'app', namespace: 'ns', node: node.name }) });
 *   await node.waitForPod('ns', 'app');
 *   kube.kubectlOk(['-n', 'ns', 'exec', 'app', '--', 'echo', 'hi']);
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const KUBECTL = '/usr/bin/kubectl';
/** The service CIDR; the `kubernetes` Service gets its first address. */
export const SERVICE_CLUSTER_IP_RANGE = '10.0.0.0/24';
export const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';

export interface KubeClientCredential {
  /** User name (certificate CN) and groups (O). */
  user: string;
  groups: string[];
  certPem: string;
  keyPem: string;
  certFile: string;
  keyFile: string;
  /** A kubeconfig (file paths, mode 0600) that authenticates with this certificate. */
  kubeconfig: string;
}

export interface IssuedCertificate {
  certPem: string;
  keyPem: string;
  certFile: string;
  keyFile: string;
}

export interface KubectlResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface KubectlOptions {
  kubeconfig?: string;
  input?: string;
  timeoutMs?: number;
  env?: Record<string, string>;
}

export interface KubeApiResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The parsed JSON body, when it is JSON. */
  json: unknown;
}

export interface KubeServer {
  /** https://127.0.0.1:PORT */
  url: string;
  host: '127.0.0.1';
  port: number;
  /** The cluster CA: it signed the serving certificate and every client certificate here. */
  caPem: string;
  caFile: string;
  /** The admin's client certificate (CN vigil-test-admin, O system:masters). */
  adminCert: string;
  adminKey: string;
  adminCertFile: string;
  adminKeyFile: string;
  /** The admin kubeconfig (file paths; mode 0600). */
  kubeconfig: string;
  /** The kubelet client certificate the API server presents to nodes (CN kube-apiserver-kubelet-client, O system:masters). */
  kubeletClient: IssuedCertificate;
  serviceAccountIssuer: string;
  /** The temporary directory holding everything (deleted by stop). */
  dir: string;
  /** kube-apiserver and kine, from scripts/ensure-kube.sh. */
  binDir: string;
  /** A client certificate signed by the cluster CA for any user and groups, with its own kubeconfig. */
  clientCertificate(user: string, groups?: string[]): KubeClientCredential;
  /** Any certificate signed by the cluster CA (e.g. a node fixture's serving certificate). */
  issueCertificate(options: { cn: string; orgs?: string[]; ipSans?: string[]; dnsSans?: string[]; usage: 'server' | 'client' | 'both' }): IssuedCertificate;
  /**
   * A bound service-account token from the TokenRequest API (creates the ServiceAccount if missing).
   * The default audience is the issuer, which the API server accepts; expirationSeconds is at least 600.
   */
  serviceAccountToken(namespace: string, name: string, options?: { audiences?: string[]; expirationSeconds?: number }): Promise<string>;
  /** A kubeconfig that authenticates with a bearer token (mode 0600). */
  tokenKubeconfig(name: string, token: string): string;
  /**
   * Runs the real kubectl (admin kubeconfig unless told) with its own --cache-dir and an environment of
   * only PATH and HOME (plus `env`, e.g. KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false); never throws.
   */
  kubectl(args: string[], options?: KubectlOptions): KubectlResult;
  /** Like kubectl, but throws with stderr when kubectl exits non-zero; returns stdout. */
  kubectlOk(args: string[], options?: KubectlOptions): string;
  /** kubectl as a child process (for -f, attach, port-forward); the caller ends it. */
  kubectlSpawn(args: string[], options?: Omit<KubectlOptions, 'input' | 'timeoutMs'>): ChildProcess;
  /** A raw HTTPS request to the API server as the admin, or with another client certificate, a bearer token or nothing. */
  api(method: string, path: string, options?: { body?: unknown; headers?: Record<string, string>; credential?: Credential }): Promise<KubeApiResponse>;
  /**
   * Starts the node fixture (test/kube/apiserver/nodefixture): registers a Node, marks pods bound to it
   * Running, runs their containers' commands as local processes and serves the kubelet's streaming
   * endpoints. Stopped by stop() (or by its own stop()).
   */
  startNode(options?: { name?: string }): Promise<KubeNode>;
  /**
   * The API server's audit log so far (level Metadata for every request: who, as whom, verb, resource,
   * response code — what the gateway's impersonation must show up as).
   */
  auditEvents(): KubeAuditEvent[];
  /** The tails of the kube-apiserver and kine logs, for failure messages. */
  logs(): string;
  stop(): Promise<void>;
}

/** The fields of an audit.k8s.io/v1 Event the tests look at. */
export interface KubeAuditEvent {
  stage: string;
  verb: string;
  requestURI: string;
  user: { username: string; groups?: string[] };
  impersonatedUser?: { username: string; groups?: string[] };
  objectRef?: { resource?: string; namespace?: string; name?: string; subresource?: string; apiGroup?: string };
  responseStatus?: { code?: number };
  annotations?: Record<string, string>;
}

export interface KubeNode {
  name: string;
  /** The kubelet port on 127.0.0.1 (the API server reaches it with its kubelet client certificate). */
  port: number;
  /** Where exec'd commands and containers run. */
  workDir: string;
  /** A container's log file (append to it to make `kubectl logs -f` output appear). */
  logFile(namespace: string, pod: string, container: string): string;
  /** Waits until the pod is Running on this node. */
  waitForPod(namespace: string, pod: string, timeoutMs?: number): Promise<void>;
  log(): string;
  stop(): Promise<void>;
}

/** A minimal Pod manifest (JSON) bound to a node, for `kubectl apply -f -`. */
export function podManifest(o: { name: string; namespace: string; node: string; containers?: { name: string; command?: string[]; stdin?: boolean }[] }): string {
  const containers = (o.containers ?? [{ name: 'main' }]).map((c) => ({
    name: c.name,
    image: 'vigil.test/local',
    ...(c.command ? { command: c.command } : {}),
    ...(c.stdin ? { stdin: true } : {}),
  }));
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: o.name, namespace: o.namespace },
    spec: { nodeName: o.node, restartPolicy: 'Never', containers },
  });
}

export type Credential = { certPem: string; keyPem: string } | { token: string } | 'anonymous';

export interface StartKubeOptions {
  /** Extra kube-apiserver flags (`--name=value`), appended after the defaults (later flags win). */
  extraApiServerFlags?: string[];
  /** How long to wait for /readyz (default 120 s). */
  readyTimeoutMs?: number;
}

/** The binaries' directory, building them with scripts/ensure-kube.sh when missing (≈ 12 min the first time). */
export async function ensureKubeBinaries(): Promise<string> {
  const script = join(ROOT, 'scripts', 'ensure-kube.sh');
  let stdout: string;
  try {
    ({ stdout } = await run('sh', [script], { cwd: ROOT, timeout: 45 * 60_000, maxBuffer: 64 * 1024 * 1024 }));
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    const tail = (err.stderr ?? '').split('\n').filter((l) => !l.startsWith('go: downloading')).slice(-30).join('\n');
    throw new Error(`scripts/ensure-kube.sh could not build kube-apiserver, kine and the node fixture: ${err.message}\n${tail}`, { cause: e });
  }
  const binDir = stdout.trim().split('\n').pop() ?? '';
  for (const b of ['kube-apiserver', 'kine', 'nodefixture']) {
    if (!existsSync(join(binDir, b))) throw new Error(`scripts/ensure-kube.sh printed ${JSON.stringify(binDir)}, which holds no ${b}`);
  }
  return binDir;
}

export async function startKube(options: StartKubeOptions = {}): Promise<KubeServer> {
  if (!existsSync(KUBECTL)) throw new Error(`${KUBECTL} is missing: run scripts/ensure-system-packages.sh`);
  const binDir = await ensureKubeBinaries();
  const dir = mkdtempSync(join(tmpdir(), 'vigil-kube-'));
  const pki = join(dir, 'pki');
  mkdirSync(pki, { mode: 0o700 });
  const children: ChildProcess[] = [];
  let exitHook: (() => void) | undefined;
  let stopped = false;

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    // Last started first: kubectl children, node fixtures, the API server (it holds kine's connections), kine.
    for (const child of [...children].reverse()) await terminate(child);
    if (exitHook) process.off('exit', exitHook);
    rmSync(dir, { recursive: true, force: true });
  };
  exitHook = () => {
    for (const child of children) if (child.exitCode === null && child.pid) try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', exitHook);

  const logs = (): string =>
    ['kine', 'kube-apiserver'].map((n) => `--- ${n} log (tail) ---\n${tail(join(dir, `${n}.log`), 60)}`).join('\n');

  try {
    // Certificates: one cluster CA signs the serving certificate, the clients and the kubelet client.
    const ca = makeCa(pki);
    const issue = (o: { cn: string; orgs?: string[]; ipSans?: string[]; dnsSans?: string[]; usage: 'server' | 'client' | 'both' }, name: string): IssuedCertificate =>
      issueCertificate(pki, ca, name, o);
    const serving = issue({ cn: 'kube-apiserver', ipSans: ['127.0.0.1', '10.0.0.1'], dnsSans: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'], usage: 'server' }, 'apiserver');
    const admin = issue({ cn: 'vigil-test-admin', orgs: ['system:masters'], usage: 'client' }, 'admin');
    const kubeletClient = issue({ cn: 'kube-apiserver-kubelet-client', orgs: ['system:masters'], usage: 'client' }, 'kubelet-client');
    // Service-account signing keys (ES256).
    const sa = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const saKey = join(pki, 'sa.key');
    const saPub = join(pki, 'sa.pub');
    const auditPolicy = join(dir, 'audit-policy.yaml');
    const auditLog = join(dir, 'audit.log');
    writeFileSync(auditPolicy, 'apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n- level: Metadata\n');
    writeFileSync(saKey, sa.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    writeFileSync(saPub, sa.publicKey.export({ type: 'spki', format: 'pem' }));

    // kine on a free loopback port, SQLite in the temporary directory, no metrics listener.
    let kinePort = 0;
    for (let attempt = 1; ; attempt++) {
      kinePort = await freePort();
      const kine = launch(join(binDir, 'kine'), [
        // kine's own defaults (it adds none to a DSN that names a file); synchronous=OFF: throwaway data.
        `--endpoint=sqlite://${join(dir, 'state.db')}?_journal_mode=WAL&_busy_timeout=30000&_synchronous=OFF&_txlock=immediate&_stmt_cache_size=20&cache=shared`,
        `--listen-address=127.0.0.1:${kinePort}`,
        '--metrics-bind-address=0',
      ], join(dir, 'kine.log'), dir);
      const up = await Promise.race([waitForPort(kinePort, 30_000).then(() => true), exited(kine).then(() => false)]);
      if (up) {
        children.push(kine);
        break;
      }
      if (attempt >= 3 || !/address already in use/i.test(tail(join(dir, 'kine.log'), 20))) throw new Error(`kine exited with ${kine.exitCode}`);
    }

    // kube-apiserver: a flag set after controller-runtime's envtest and kubeadm, on loopback only.
    let port = 0;
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      const flags = [
        `--etcd-servers=http://127.0.0.1:${kinePort}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${port}`,
        `--cert-dir=${join(dir, 'cert-dir')}`,
        `--tls-cert-file=${serving.certFile}`,
        `--tls-private-key-file=${serving.keyFile}`,
        `--client-ca-file=${ca.certFile}`,
        '--authorization-mode=Node,RBAC',
        `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
        `--service-account-key-file=${saPub}`,
        `--service-account-signing-key-file=${saKey}`,
        `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
        `--kubelet-client-certificate=${kubeletClient.certFile}`,
        `--kubelet-client-key=${kubeletClient.keyFile}`,
        `--kubelet-certificate-authority=${ca.certFile}`,
        // A node fixture registers with an InternalIP of 127.0.0.1.
        '--kubelet-preferred-address-types=InternalIP,Hostname',
        '--allow-privileged=true',
        // As envtest: no controller-manager creates the `default` ServiceAccount, so the ServiceAccount
        // admission plugin would refuse every pod. Tokens still work (TokenRequest is the API server's own).
        '--disable-admission-plugins=ServiceAccount',
        // The `kubernetes` Service's endpoint would be 127.0.0.1, which nothing in a test reaches anyway.
        '--endpoint-reconciler-type=none',
        '--profiling=false',
        `--audit-policy-file=${auditPolicy}`,
        `--audit-log-path=${auditLog}`,
        '--audit-log-format=json',
        '--audit-log-mode=blocking',
        ...(options.extraApiServerFlags ?? []),
      ];
      const apiserver = launch(join(binDir, 'kube-apiserver'), flags, join(dir, 'kube-apiserver.log'), dir);
      children.push(apiserver);
      const ready = await Promise.race([
        waitForReady(port, ca.certPem, admin, options.readyTimeoutMs ?? 120_000).then(() => true),
        exited(apiserver).then(() => false),
      ]);
      if (ready) break;
      children.pop();
      if (attempt >= 3 || !/address already in use/i.test(tail(join(dir, 'kube-apiserver.log'), 40))) {
        throw new Error(`kube-apiserver exited with ${apiserver.exitCode ?? apiserver.signalCode}`);
      }
    }

    const url = `https://127.0.0.1:${port}`;
    const kubeconfig = writeKubeconfig(dir, 'admin', url, ca.certFile, { certFile: admin.certFile, keyFile: admin.keyFile });
    const cacheDir = join(dir, 'kubectl-cache');
    let n = 0;

    // kubectl must read nothing of ours: no KUBECONFIG, no home directory config.
    const kubectlEnv = (extra: Record<string, string> = {}) => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, ...extra });
    const kubectlArgs = (args: string[], kc: string | undefined) => [`--kubeconfig=${kc ?? kubeconfig}`, `--cache-dir=${cacheDir}`, ...args];
    const kubectl: KubeServer['kubectl'] = (args, o = {}) => {
      const r = spawnSync(KUBECTL, kubectlArgs(['--request-timeout=60s', ...args], o.kubeconfig), {
        encoding: 'utf8',
        input: o.input ?? '',
        timeout: o.timeoutMs ?? 90_000,
        cwd: dir,
        env: kubectlEnv(o.env),
      });
      return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr || r.error?.message || '' };
    };
    const kubectlOk: KubeServer['kubectlOk'] = (args, o) => {
      const r = kubectl(args, o);
      if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
      return r.stdout;
    };
    const kubectlSpawn: KubeServer['kubectlSpawn'] = (args, o = {}) => {
      const child = spawn(KUBECTL, kubectlArgs(args, o.kubeconfig), { cwd: dir, env: kubectlEnv(o.env), stdio: ['pipe', 'pipe', 'pipe'] });
      children.push(child);
      return child;
    };
    const api: KubeServer['api'] = (method, path, o = {}) =>
      httpsRequest(port, ca.certPem, method, path, o.body, o.headers ?? {}, o.credential ?? { certPem: admin.certPem, keyPem: admin.keyPem });

    return {
      url,
      host: '127.0.0.1',
      port,
      caPem: ca.certPem,
      caFile: ca.certFile,
      adminCert: admin.certPem,
      adminKey: admin.keyPem,
      adminCertFile: admin.certFile,
      adminKeyFile: admin.keyFile,
      kubeconfig,
      kubeletClient,
      serviceAccountIssuer: SERVICE_ACCOUNT_ISSUER,
      dir,
      binDir,
      clientCertificate(user, groups = []) {
        const name = `user-${++n}`;
        const c = issue({ cn: user, orgs: groups, usage: 'client' }, name);
        return { user, groups, ...c, kubeconfig: writeKubeconfig(dir, name, url, ca.certFile, { certFile: c.certFile, keyFile: c.keyFile }) };
      },
      issueCertificate: (o) => issue(o, `issued-${++n}`),
      async serviceAccountToken(namespace, name, o = {}) {
        const created = await api('POST', `/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts`, {
          body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name } },
        });
        if (created.status !== 201 && created.status !== 409) throw new Error(`creating ServiceAccount ${namespace}/${name}: HTTP ${created.status} ${created.body}`);
        const r = await api('POST', `/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts/${encodeURIComponent(name)}/token`, {
          body: {
            apiVersion: 'authentication.k8s.io/v1',
            kind: 'TokenRequest',
            spec: { audiences: o.audiences ?? [], expirationSeconds: o.expirationSeconds ?? 3600 },
          },
        });
        const token = (r.json as { status?: { token?: string } } | undefined)?.status?.token;
        if (r.status !== 201 || !token) throw new Error(`TokenRequest for ${namespace}/${name}: HTTP ${r.status}`);
        return token;
      },
      tokenKubeconfig: (name, token) => writeKubeconfig(dir, `token-${name.replace(/[^\w.-]/g, '_')}-${++n}`, url, ca.certFile, { token }),
      kubectl,
      kubectlOk,
      kubectlSpawn,
      api,
      startNode: async (o = {}) => {
        const name = o.name ?? `node-${++n}`;
        const node = await startNodeFixture({ binDir, dir, name, kubeconfig, ca: ca.certFile, issue: (opts) => issue(opts, `${name}-serving`), api });
        children.push(node.child);
        return node.handle;
      },
      auditEvents: () => {
        let text = '';
        try { text = readFileSync(auditLog, 'utf8'); } catch { return []; }
        return text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as KubeAuditEvent);
      },
      logs,
      stop,
    };
  } catch (e) {
    const log = logs();
    await stop();
    throw new Error(`could not start kube-apiserver: ${e instanceof Error ? e.message : String(e)}\n${log}`, { cause: e });
  }
}

async function startNodeFixture(o: {
  binDir: string;
  dir: string;
  name: string;
  kubeconfig: string;
  ca: string;
  issue: (opts: { cn: string; orgs?: string[]; ipSans?: string[]; dnsSans?: string[]; usage: 'server' | 'client' | 'both' }) => IssuedCertificate;
  api: KubeServer['api'];
}): Promise<{ child: ChildProcess; handle: KubeNode }> {
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(o.name)) throw new Error(`bad node name ${o.name}`);
  const base = join(o.dir, o.name);
  const workDir = join(base, 'work');
  const logsDir = join(base, 'logs');
  mkdirSync(workDir, { recursive: true });
  mkdirSync(logsDir, { recursive: true });
  const serving = o.issue({ cn: `system:node:${o.name}`, orgs: ['system:nodes'], ipSans: ['127.0.0.1'], dnsSans: [o.name, 'localhost'], usage: 'server' });
  const logPath = join(base, 'nodefixture.log');
  const fd = openSync(logPath, 'a');
  let child: ChildProcess;
  try {
    child = spawn(join(o.binDir, 'nodefixture'), [
      `--kubeconfig=${o.kubeconfig}`,
      `--node-name=${o.name}`,
      `--tls-cert-file=${serving.certFile}`,
      `--tls-private-key-file=${serving.keyFile}`,
      `--client-ca-file=${o.ca}`,
      `--work-dir=${workDir}`,
      `--logs-dir=${logsDir}`,
    ], { cwd: workDir, stdio: ['ignore', 'pipe', fd], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: workDir } });
  } finally {
    closeSync(fd);
  }
  const log = () => tail(logPath, 60);
  const port = await new Promise<number>((res, rej) => {
    let out = '';
    const timer = setTimeout(() => rej(new Error(`the node fixture did not start in 60 s\n${log()}`)), 60_000);
    child.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /nodefixture ready port=(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        res(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`the node fixture exited with ${code}\n${log()}`));
    });
  });
  child.stdout?.resume();
  const handle: KubeNode = {
    name: o.name,
    port,
    workDir,
    logFile: (ns, pod, container) => join(logsDir, ns, pod, `${container}.log`),
    async waitForPod(ns, pod, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      let phase = '';
      for (;;) {
        const r = await o.api('GET', `/api/v1/namespaces/${encodeURIComponent(ns)}/pods/${encodeURIComponent(pod)}`);
        phase = (r.json as { status?: { phase?: string } } | undefined)?.status?.phase ?? `HTTP ${r.status}`;
        if (phase === 'Running') return;
        if (Date.now() > deadline) throw new Error(`pod ${ns}/${pod} is ${phase}, not Running, after ${timeoutMs} ms\n${log()}`);
        await new Promise((r2) => setTimeout(r2, 100));
      }
    },
    log,
    stop: () => terminate(child),
  };
  return { child, handle };
}

interface Ca {
  certPem: string;
  certFile: string;
  keyFile: string;
}

function openssl(args: string[], cwd: string): void {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr || r.error?.message}`);
}

function makeCa(pki: string): Ca {
  const certFile = join(pki, 'ca.crt');
  const keyFile = join(pki, 'ca.key');
  openssl([
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', '/CN=vigil-test-kube-ca', '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature', '-keyout', keyFile, '-out', certFile,
  ], pki);
  return { certPem: readFileSync(certFile, 'utf8'), certFile, keyFile };
}

function issueCertificate(
  pki: string,
  ca: Ca,
  name: string,
  o: { cn: string; orgs?: string[]; ipSans?: string[]; dnsSans?: string[]; usage: 'server' | 'client' | 'both' },
): IssuedCertificate {
  const keyFile = join(pki, `${name}.key`);
  const certFile = join(pki, `${name}.crt`);
  const csr = join(pki, `${name}.csr`);
  const ext = join(pki, `${name}.ext`);
  const rdn = (s: string) => s.replace(/[/\\+,=]/g, (c) => `\\${c}`);
  const subject = `${(o.orgs ?? []).map((g) => `/O=${rdn(g)}`).join('')}/CN=${rdn(o.cn)}`;
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', subject, '-keyout', keyFile, '-out', csr], pki);
  const eku = { server: 'serverAuth', client: 'clientAuth', both: 'serverAuth,clientAuth' }[o.usage];
  const sans = [...(o.ipSans ?? []).map((ip) => `IP:${ip}`), ...(o.dnsSans ?? []).map((d) => `DNS:${d}`)];
  writeFileSync(ext, [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    `extendedKeyUsage=${eku}`,
    ...(sans.length > 0 ? [`subjectAltName=${sans.join(',')}`] : []),
  ].join('\n') + '\n');
  openssl(['x509', '-req', '-in', csr, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-set_serial', `0x${randomBytes(12).toString('hex')}`, '-days', '2', '-extfile', ext, '-out', certFile], pki);
  return { certPem: readFileSync(certFile, 'utf8'), keyPem: readFileSync(keyFile, 'utf8'), certFile, keyFile };
}

function writeKubeconfig(dir: string, name: string, server: string, caFile: string, auth: { certFile: string; keyFile: string } | { token: string }): string {
  const user = 'token' in auth
    ? `    token: ${JSON.stringify(auth.token)}`
    : `    client-certificate: ${JSON.stringify(auth.certFile)}\n    client-key: ${JSON.stringify(auth.keyFile)}`;
  const path = join(dir, `${name}.kubeconfig`);
  writeFileSync(path, `apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: ${JSON.stringify(server)}
    certificate-authority: ${JSON.stringify(caFile)}
users:
- name: ${JSON.stringify(name)}
  user:
${user}
contexts:
- name: test
  context:
    cluster: test
    user: ${JSON.stringify(name)}
current-context: test
`, { mode: 0o600 });
  return path;
}

function launch(bin: string, args: string[], logFile: string, cwd: string): ChildProcess {
  const fd = openSync(logFile, 'a');
  try {
    return spawn(bin, args, { cwd, stdio: ['ignore', fd, fd], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd } });
  } finally {
    closeSync(fd);
  }
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((res) => {
    if (child.exitCode !== null || child.signalCode !== null) res();
    else child.once('exit', () => res());
  });
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = exited(child);
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await gone;
  clearTimeout(timer);
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((res) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); res(true); });
      s.once('error', () => res(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function waitForReady(port: number, caPem: string, admin: { certPem: string; keyPem: string }, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const r = await httpsRequest(port, caPem, 'GET', '/readyz', undefined, {}, admin);
      if (r.status === 200) return;
      last = `HTTP ${r.status}`;
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    if (Date.now() > deadline) throw new Error(`kube-apiserver not ready after ${timeoutMs} ms (${last})`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function httpsRequest(
  port: number,
  caPem: string,
  method: string,
  path: string,
  body: unknown,
  headers: Record<string, string>,
  credential: Credential,
): Promise<KubeApiResponse> {
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((res, rej) => {
    const req = request({
      host: '127.0.0.1',
      port,
      method,
      path,
      ca: caPem,
      ...(credential === 'anonymous' || 'token' in credential ? {} : { cert: credential.certPem, key: credential.keyPem }),
      headers: {
        accept: 'application/json',
        ...(payload !== undefined ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) } : {}),
        ...(credential !== 'anonymous' && 'token' in credential ? { authorization: `Bearer ${credential.token}` } : {}),
        ...headers,
      },
      timeout: 30_000,
      agent: false,
    }, (r) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try { json = JSON.parse(text); } catch { json = undefined; }
        res({ status: r.statusCode ?? 0, headers: r.headers, body: text, json });
      });
      r.on('error', rej);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.on('error', rej);
    req.end(payload);
  });
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
