/**
 * Kubernetes gateway benchmark, one run, the same real kube-apiserver (test/helpers/kube.ts) for every
 * figure, direct vs through Vigil (recording and masking on, durability fsync as shipped):
 *
 *   get       GET of one ConfigMap, N requests at concurrency C over keep-alive connections: requests/s
 *             (direct as the admin's client certificate, through Vigil with a bearer token)
 *   latency   the same GET sequentially: p50, and Vigil's added p50
 *   kubectl   `kubectl get configmaps` wall time, median of K runs each way
 *   watch     events/s of a watch through Vigil while the admin creates W ConfigMaps
 *   exec      `kubectl exec … head -c M MiB /dev/zero` against the node fixture (a stand-in kubelet), wall time
 *             direct vs through Vigil (WebSocket both ways; through Vigil every byte is masked and recorded)
 *
 * Usage: node bin/run-ts.mjs scripts/bench/kube.ts [--gets 2000] [--concurrency 8] [--kubectl 5] [--watch 300] [--exec-mb 100] [--durability fsync|write]
 * Prints a table, then one JSON line.
 */
import { Agent, request } from 'node:https';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { initCrypto } from '../../shared/crypto/backend.ts';
import { podManifest } from '../../test/helpers/kube.ts';
import { KUBE_POLICIES, startKubeGatewayFixture } from '../../test/helpers/kube-gateway.ts';

await initCrypto();
const { values } = parseArgs({ options: { gets: { type: 'string', default: '2000' }, concurrency: { type: 'string', default: '8' }, kubectl: { type: 'string', default: '5' }, watch: { type: 'string', default: '300' }, 'exec-mb': { type: 'string', default: '100' }, durability: { type: 'string', default: 'fsync' } } });
const GETS = Number(values.gets);
const CONCURRENCY = Number(values.concurrency);
const KUBECTL_RUNS = Number(values.kubectl);
const WATCH = Number(values.watch);
const EXEC_BYTES = Number(values['exec-mb']) * 1024 * 1024;

const f = await startKubeGatewayFixture({ durability: values.durability === 'write' ? 'write' : 'fsync', policies: KUBE_POLICIES.replace('delete: allow, default: block', 'delete: allow, interactive: allow, default: block') });
try {
  const kube = f.kube;
  kube.kubectlOk(['create', 'namespace', 'bench']);
  kube.kubectlOk(['create', 'clusterrole', 'bench', '--verb=get,list,watch', '--resource=configmaps']);
  kube.kubectlOk(['create', 'rolebinding', 'bench', '-n', 'bench', '--clusterrole=bench', '--group=repo:acme/payments']);
  kube.kubectlOk(['-n', 'bench', 'create', 'configmap', 'one', '--from-literal=a=b']);

  interface Side { label: string; port: number; path: string; agent: Agent; headers: Record<string, string> }
  const direct: Side = { label: 'direct', port: kube.port, path: '/api/v1/namespaces/bench/configmaps/one', agent: new Agent({ keepAlive: true, maxSockets: CONCURRENCY, ca: kube.caPem, cert: kube.adminCert, key: kube.adminKey }), headers: {} };
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

  const throughput = async (s: Side) => {
    for (let i = 0; i < 50; i++) await get(s); // warm up
    let next = 0;
    const t0 = Date.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < GETS) await get(s);
    }));
    return GETS / ((Date.now() - t0) / 1000);
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

  const rpsDirect = await throughput(direct);
  const rpsVigil = await throughput(vigil);
  const p50Direct = await p50(direct);
  const p50Vigil = await p50(vigil);
  const kubectlDirect = await kubectlMedian(undefined);
  const kubectlVigil = await kubectlMedian(f.kubeconfig('bench', f.defaultToken));

  // Watch: events through Vigil while the admin creates WATCH ConfigMaps.
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

  // exec bulk output: the same pod, kubectl direct (admin) and through Vigil, alternating, best of 3 each.
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
  for (let i = 0; i < 3; i++) {
    execDirect = Math.min(execDirect, await execOnce(undefined));
    execVigil = Math.min(execVigil, await execOnce(vigilKubeconfig));
  }
  const mibs = (ms: number) => EXEC_BYTES / 1024 / 1024 / (ms / 1000);

  const rows: [string, string, string][] = [
    [`GET one ConfigMap, ${GETS} at concurrency ${CONCURRENCY} (req/s)`, rpsDirect.toFixed(0), rpsVigil.toFixed(0)],
    ['GET p50, sequential (ms)', p50Direct.toFixed(2), p50Vigil.toFixed(2)],
    [`kubectl get configmaps, median of ${KUBECTL_RUNS} (ms)`, String(kubectlDirect), String(kubectlVigil)],
    [`watch events/s (${WATCH} creates)`, '-', watchRate.toFixed(0)],
    [`exec head -c ${EXEC_BYTES / 1024 / 1024} MiB, best of 3 (MiB/s)`, mibs(execDirect).toFixed(0), mibs(execVigil).toFixed(0)],
  ];
  console.log(`${'figure'.padEnd(58)}${'direct'.padStart(10)}${'vigil'.padStart(10)}`);
  for (const [a, b, c] of rows) console.log(`${a.padEnd(58)}${b.padStart(10)}${c.padStart(10)}`);
  console.log(`ratio get ${(rpsVigil / rpsDirect).toFixed(2)}x, added p50 ${(p50Vigil - p50Direct).toFixed(2)} ms, exec bulk ${(execDirect / execVigil).toFixed(2)}x`);
  console.log(JSON.stringify({
    get_ratio_vs_direct: Number((rpsVigil / rpsDirect).toFixed(3)),
    get_added_ms_p50: Number((p50Vigil - p50Direct).toFixed(3)),
    get_rps_direct: Math.round(rpsDirect),
    get_rps_vigil: Math.round(rpsVigil),
    kubectl_get_ms_direct: kubectlDirect,
    kubectl_get_ms_vigil: kubectlVigil,
    watch_events_per_s: Math.round(watchRate),
    exec_bulk_ratio_vs_direct: Number((execDirect / execVigil).toFixed(3)),
    exec_bulk_mib_s_direct: Math.round(mibs(execDirect)),
    exec_bulk_mib_s_vigil: Math.round(mibs(execVigil)),
    durability: values.durability,
  }));
  direct.agent.destroy();
  vigil.agent.destroy();
} finally {
  await f.stop();
}
