/**
 * Kubernetes gateway benchmark, one run, the same real kube-apiserver (test/helpers/kube.ts) for every
 * figure, direct vs through Vigil (recording and masking on, durability fsync as shipped):
 *
 *   get       GET of one ConfigMap, N requests at concurrency C over keep-alive connections: requests/s
 *             (direct as the admin's client certificate, through Vigil with a bearer token; also "direct
 *             impersonated": Vigil's own certificate with the Impersonate-* headers Vigil sends, i.e. the
 *             API server's share of the cost of impersonation and RBAC, without the gateway), and CPU
 *             time per request: this process's (bench client + in-process gateway) and the API server's
 *   latency   the same GET sequentially: p50, and Vigil's added p50
 *   kubectl   `kubectl get configmaps` wall time, median of K runs each way
 *   watch     events/s of a watch through Vigil while the admin creates W ConfigMaps
 *   exec      `kubectl exec … head -c M MiB /dev/zero` against the node fixture (a stand-in kubelet), wall time
 *             direct vs through Vigil (WebSocket both ways; through Vigil every byte is masked and recorded)
 *
 * Usage: node bin/run-ts.mjs scripts/bench/kube.ts [--gets 2000] [--concurrency 8] [--kubectl 5] [--watch 300] [--exec-mb 100] [--durability fsync|write] [--only get,latency,kubectl,watch,exec]
 * Prints a table, then one JSON line.
 */
import { Agent, request } from 'node:https';
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { initCrypto, useCryptoBackend } from '../../shared/crypto/backend.ts';
import { nativeBackend } from '../../appliance/crypto/native-backend.ts';
import { podManifest } from '../../test/helpers/kube.ts';
import { KUBE_POLICIES, startKubeGatewayFixture } from '../../test/helpers/kube-gateway.ts';

await initCrypto();
// The gateway runs in this process: give it the cipher the shipped appliance uses (appliance/cli/main.ts),
// sodium-native, not the WebAssembly build tests run on.
useCryptoBackend(nativeBackend());
const { values } = parseArgs({ options: { gets: { type: 'string', default: '2000' }, concurrency: { type: 'string', default: '8' }, kubectl: { type: 'string', default: '5' }, watch: { type: 'string', default: '300' }, 'exec-mb': { type: 'string', default: '100' }, durability: { type: 'string', default: 'fsync' }, only: { type: 'string', default: 'get,latency,kubectl,watch,exec' } } });
const ONLY = new Set(values.only.split(','));
const GETS = Number(values.gets);
const CONCURRENCY = Number(values.concurrency);
const KUBECTL_RUNS = Number(values.kubectl);
const WATCH = Number(values.watch);
const EXEC_BYTES = Number(values['exec-mb']) * 1024 * 1024;

/** CPU µs so far of the kube-apiserver this process started (from /proc; 0 where there is none). */
function apiserverCpuUs(): number {
  const parent = (pid: string) => readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')[1];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'kube-apiserver') continue;
      let p: string | undefined = pid;
      while (p && p !== '0' && p !== '1' && p !== String(process.pid)) p = parent(p);
      if (p !== String(process.pid)) continue;
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
      return ((Number(f[11]) + Number(f[12])) / 100) * 1e6; // utime + stime, in clock ticks of 10 ms
    } catch {
      /* gone, or not ours */
    }
  }
  return 0;
}

const f = await startKubeGatewayFixture({ durability: values.durability === 'write' ? 'write' : 'fsync', policies: KUBE_POLICIES.replace('delete: allow, default: block', 'delete: allow, interactive: allow, default: block') });
try {
  const kube = f.kube;
  kube.kubectlOk(['create', 'namespace', 'bench']);
  kube.kubectlOk(['create', 'clusterrole', 'bench', '--verb=get,list,watch', '--resource=configmaps']);
  kube.kubectlOk(['create', 'rolebinding', 'bench', '-n', 'bench', '--clusterrole=bench', '--group=repo:acme/payments']);
  kube.kubectlOk(['-n', 'bench', 'create', 'configmap', 'one', '--from-literal=a=b']);

  interface Side { label: string; port: number; path: string; agent: Agent; headers: Record<string, string | string[]> }
  const direct: Side = { label: 'direct', port: kube.port, path: '/api/v1/namespaces/bench/configmaps/one', agent: new Agent({ keepAlive: true, maxSockets: CONCURRENCY, ca: kube.caPem, cert: kube.adminCert, key: kube.adminKey }), headers: {} };
  // What Vigil itself sends the API server for this caller (its certificate, Impersonate-User/-Group), as
  // the API server saw it through Vigil.
  const whoami = await f.kubectl(['auth', 'whoami', '-o', 'json'], { kubeconfig: f.kubeconfig('whoami', f.defaultToken) });
  if (whoami.status !== 0) throw new Error(whoami.stderr);
  const seen = (JSON.parse(whoami.stdout) as { status: { userInfo: { username: string; groups?: string[] } } }).status.userInfo;
  const impersonated: Side = { label: 'direct impersonated', port: kube.port, path: direct.path, agent: new Agent({ keepAlive: true, maxSockets: CONCURRENCY, ca: kube.caPem, cert: f.vigilCredential.certPem, key: f.vigilCredential.keyPem }), headers: { 'impersonate-user': seen.username, 'impersonate-group': (seen.groups ?? []).filter((g) => !g.startsWith('system:')) } };
  const vigil: Side = { label: 'vigil', port: f.port, path: '/targets/dev/api/v1/namespaces/bench/configmaps/one', agent: new Agent({ keepAlive: true, maxSockets: CONCURRENCY, ca: readFileSync(f.vigilCaFile) }), headers: { authorization: `Bearer ${f.defaultToken}` } };

  const get = (s: Side) =>
    new Promise<number>((resolve, reject) => {
      const t0 = process.hrtime.bigint();
      const req = request({ host: '127.0.0.1', port: s.port, path: s.path, agent: s.agent, headers: { accept: 'application/json', ...s.headers } }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve(Number(process.hrtime.bigint() - t0) / 1e6) : reject(new Error(`${s.label}: HTTP ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end();
    });

  /** Requests/s, and CPU µs per request of this process (client + gateway) and of the API server. */
  const throughput = async (s: Side) => {
    for (let i = 0; i < 50; i++) await get(s); // warm up
    let next = 0;
    const cpu0 = process.cpuUsage();
    const api0 = apiserverCpuUs();
    const t0 = Date.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < GETS) await get(s);
    }));
    const rps = GETS / ((Date.now() - t0) / 1000);
    const cpu = process.cpuUsage(cpu0);
    return { rps, processUs: (cpu.user + cpu.system) / GETS, apiserverUs: (apiserverCpuUs() - api0) / GETS };
  };
  const p50 = async (s: Side) => {
    const ms: number[] = [];
    for (let i = 0; i < 300; i++) ms.push(await get(s));
    ms.sort((a, b) => a - b);
    return ms[Math.floor(ms.length / 2)]!;
  };
  const kubectlMedian = async (kubeconfig: string | undefined) => {
    const runs: number[] = [];
    for (let i = 0; i < KUBECTL_RUNS; i++) {
      const t0 = Date.now();
      const r = kubeconfig ? await f.kubectl(['-n', 'bench', 'get', 'configmaps'], { kubeconfig }) : await f.kubectl(['-n', 'bench', 'get', 'configmaps'], { kubeconfig: kube.kubeconfig });
      if (r.status !== 0) throw new Error(r.stderr);
      runs.push(Date.now() - t0);
    }
    runs.sort((a, b) => a - b);
    return runs[Math.floor(runs.length / 2)]!;
  };

  const rows: [string, string, string][] = [];
  const json: Record<string, unknown> = {};
  const fixed = (n: number, d = 3) => Number(n.toFixed(d));

  if (ONLY.has('get')) {
    const d = await throughput(direct);
    const i = await throughput(impersonated);
    const v = await throughput(vigil);
    rows.push([`GET one ConfigMap, ${GETS} at concurrency ${CONCURRENCY} (req/s)`, d.rps.toFixed(0), v.rps.toFixed(0)]);
    rows.push(['  the same, direct with Vigil\'s impersonation headers (req/s)', i.rps.toFixed(0), '-']);
    rows.push(['  CPU per GET, this process: client (+ gateway) (µs)', d.processUs.toFixed(0), v.processUs.toFixed(0)]);
    rows.push(['  CPU per GET, kube-apiserver (µs; impersonated direct)', `${d.apiserverUs.toFixed(0)} (${i.apiserverUs.toFixed(0)})`, v.apiserverUs.toFixed(0)]);
    Object.assign(json, {
      get_ratio_vs_direct: fixed(v.rps / d.rps),
      get_rps_direct: Math.round(d.rps),
      get_rps_direct_impersonated: Math.round(i.rps),
      get_rps_vigil: Math.round(v.rps),
      get_ratio_vs_direct_impersonated: fixed(v.rps / i.rps),
      // The gateway's own CPU per request: this process through Vigil minus the client alone (direct).
      get_gateway_cpu_us: Math.round(v.processUs - d.processUs),
      get_apiserver_cpu_us_direct: Math.round(d.apiserverUs),
      get_apiserver_cpu_us_impersonated: Math.round(i.apiserverUs),
      get_apiserver_cpu_us_vigil: Math.round(v.apiserverUs),
    });
  }
  if (ONLY.has('latency')) {
    const d = await p50(direct);
    const i = await p50(impersonated);
    const v = await p50(vigil);
    rows.push(['GET p50, sequential (ms)', d.toFixed(2), v.toFixed(2)]);
    rows.push(['  the same, direct with Vigil\'s impersonation headers (ms)', i.toFixed(2), '-']);
    Object.assign(json, { get_added_ms_p50: fixed(v - d), get_p50_ms_direct: fixed(d), get_p50_ms_direct_impersonated: fixed(i), get_p50_ms_vigil: fixed(v) });
  }
  if (ONLY.has('kubectl')) {
    const d = await kubectlMedian(undefined);
    const v = await kubectlMedian(f.kubeconfig('bench', f.defaultToken));
    rows.push([`kubectl get configmaps, median of ${KUBECTL_RUNS} (ms)`, String(d), String(v)]);
    Object.assign(json, { kubectl_get_ms_direct: d, kubectl_get_ms_vigil: v });
  }

  // Watch: events through Vigil while the admin creates WATCH ConfigMaps.
  if (ONLY.has('watch')) {
    const watchRate = await new Promise<number>((resolve, reject) => {
      let seen = 0;
      let t0 = 0;
      const req = request({ host: '127.0.0.1', port: f.port, path: '/targets/dev/api/v1/namespaces/bench/configmaps?watch=1&resourceVersion=0', agent: false, ca: readFileSync(f.vigilCaFile), headers: { accept: 'application/json', authorization: `Bearer ${f.defaultToken}` } }, (res) => {
        res.on('data', (d: Buffer) => {
          seen += d.toString().split('\n').filter((l) => l.includes('"bench-')).length;
          if (seen >= WATCH) {
            resolve(WATCH / ((Date.now() - t0) / 1000));
            req.destroy();
          }
        });
        t0 = Date.now();
        void (async () => {
          const admin = new Agent({ keepAlive: true, maxSockets: 8, ca: kube.caPem, cert: kube.adminCert, key: kube.adminKey });
          let n = 0;
          await Promise.all(Array.from({ length: 8 }, async () => {
            while (n < WATCH) {
              const i = n++;
              await new Promise<void>((ok, bad) => {
                const body = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `bench-${i}` }, data: { i: String(i) } });
                const c = request({ host: '127.0.0.1', port: kube.port, method: 'POST', path: '/api/v1/namespaces/bench/configmaps', agent: admin, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (r) => {
                  r.resume();
                  r.on('end', () => ok());
                });
                c.on('error', bad);
                c.end(body);
              });
            }
          }));
          admin.destroy();
        })().catch(reject);
      });
      req.on('error', (e) => (seen >= WATCH ? undefined : reject(e)));
      req.end();
    });
    rows.push([`watch events/s (${WATCH} creates)`, '-', watchRate.toFixed(0)]);
    json['watch_events_per_s'] = Math.round(watchRate);
  }

  // exec bulk output: the same pod, kubectl direct (admin) and through Vigil, alternating, best of 3 each;
  // this process's CPU (the gateway: kubectl is a child process) per MiB through Vigil.
  if (ONLY.has('exec')) {
    const node = await kube.startNode({ name: 'bench-node' });
    kube.kubectlOk(['apply', '-f', '-'], { input: podManifest({ name: 'bulk', namespace: 'bench', node: node.name }) });
    await node.waitForPod('bench', 'bulk');
    kube.kubectlOk(['create', 'role', 'bench-exec', '-n', 'bench', '--verb=get,create', '--resource=pods,pods/exec']);
    kube.kubectlOk(['create', 'rolebinding', 'bench-exec', '-n', 'bench', '--role=bench-exec', '--group=repo:acme/payments']);
    const vigilKubeconfig = f.kubeconfig('bench-exec', f.defaultToken);
    const execOnce = (kubeconfig: string | undefined) =>
      new Promise<number>((resolve, reject) => {
        const started = process.hrtime.bigint();
        const child = kube.kubectlSpawn(['-n', 'bench', 'exec', 'bulk', '--', 'head', '-c', String(EXEC_BYTES), '/dev/zero'], kubeconfig ? { kubeconfig } : {});
        let bytes = 0;
        child.stdout!.on('data', (d: Buffer) => (bytes += d.length));
        child.stderr!.resume();
        child.on('close', (code) => {
          const ms = Number(process.hrtime.bigint() - started) / 1e6;
          if (code !== 0 || bytes !== EXEC_BYTES) reject(new Error(`exec ${kubeconfig ? 'through Vigil' : 'direct'}: exit ${code}, ${bytes} bytes`));
          else resolve(ms);
        });
      });
    let execDirect = Infinity;
    let execVigil = Infinity;
    let gatewayCpuUs = 0;
    for (let i = 0; i < 3; i++) {
      execDirect = Math.min(execDirect, await execOnce(undefined));
      const cpu0 = process.cpuUsage();
      execVigil = Math.min(execVigil, await execOnce(vigilKubeconfig));
      const cpu = process.cpuUsage(cpu0);
      gatewayCpuUs += cpu.user + cpu.system;
  }
  const mibs = (ms: number) => EXEC_BYTES / 1024 / 1024 / (ms / 1000);
  rows.push([`exec head -c ${EXEC_BYTES / 1024 / 1024} MiB, best of 3 (MiB/s)`, mibs(execDirect).toFixed(0), mibs(execVigil).toFixed(0)]);
  rows.push(['  gateway CPU per MiB through Vigil (ms)', '-', (gatewayCpuUs / 3 / (EXEC_BYTES / 1024 / 1024) / 1000).toFixed(2)]);
  Object.assign(json, {
    exec_bulk_ratio_vs_direct: fixed(execDirect / execVigil),
    exec_bulk_mib_s_direct: Math.round(mibs(execDirect)),
    exec_bulk_mib_s_vigil: Math.round(mibs(execVigil)),
    exec_gateway_cpu_ms_per_mib: fixed(gatewayCpuUs / 3 / (EXEC_BYTES / 1024 / 1024) / 1000),
  });
  }


  console.log(`${'figure'.padEnd(62)}${'direct'.padStart(12)}${'vigil'.padStart(10)}`);
  for (const [a, b, c] of rows) console.log(`${a.padEnd(62)}${b.padStart(12)}${c.padStart(10)}`);
  console.log(`load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} (ratios are from this one run)`);
  console.log(JSON.stringify({ ...json, durability: values.durability, loadavg_1m: fixed(loadavg()[0]!, 1) }));
  direct.agent.destroy();
  impersonated.agent.destroy();
  vigil.agent.destroy();
} finally {
  await f.stop();
}
