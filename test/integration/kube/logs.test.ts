/**
 * `kubectl logs` and `logs -f` through Vigil: the real kube-apiserver forwards the request to the harness's
 * node fixture (a stand-in kubelet), and the log comes back through Vigil's streaming masker — a card
 * number written in two pieces, a moment apart, reaches kubectl masked whole, while the lines before it
 * arrive at once (the stream follows, it is not buffered). The evidence records the masked output only.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportAndVerify } from '../../helpers/gateway.ts';
import { podManifest, startKube, type KubeNode, type KubeServer } from '../../helpers/kube.ts';
import { startKubeGatewayFixture, type KubeGatewayFixture } from '../../helpers/kube-gateway.ts';

const NS = 'apps';
let kube: KubeServer;
let node: KubeNode;
let f: KubeGatewayFixture;

beforeAll(async () => {
  kube = await startKube();
  node = await kube.startNode({ name: 'node-a' });
  kube.kubectlOk(['create', 'namespace', NS]);
  kube.kubectlOk(['apply', '-f', '-'], { input: podManifest({ name: 'app', namespace: NS, node: node.name, containers: [{ name: 'main', command: ['sh', '-c', 'echo started; echo card 5555555555554444; sleep 3600'] }, { name: 'quiet' }] }) });
  await node.waitForPod(NS, 'app');
  kube.kubectlOk(['-n', NS, 'create', 'role', 'logs', '--verb=get,list', '--resource=pods,pods/log']);
  kube.kubectlOk(['-n', NS, 'create', 'rolebinding', 'logs', '--role=logs', '--group=repo:acme/payments']);
  f = await startKubeGatewayFixture({ kube });
}, 50 * 60_000);

afterAll(async () => {
  await f?.stop();
  await kube?.stop();
});

describe('pod logs through Vigil', () => {
  it('kubectl logs: masked', async () => {
    const r = await f.kubectl(['-n', NS, 'logs', 'app', '-c', 'main']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('started\ncard 555555******4444\n');
  });

  it('kubectl logs -f follows, and a card number split across writes is masked whole', async () => {
    const file = node.logFile(NS, 'app', 'quiet');
    writeFileSync(file, 'line 1\nready\n');
    const child = kube.kubectlSpawn(['-n', NS, 'logs', '-f', 'app', '-c', 'quiet'], { kubeconfig: f.kubeconfig('follow', f.defaultToken) });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    try {
      // (A line ending in digits would wait for the next output: it could be the first half of a card number.)
      await waitFor(() => out.includes('ready\n'), () => `logs -f did not follow: ${out}`);
      appendFileSync(file, 'paid 4111 1111 ');
      await new Promise((r) => setTimeout(r, 300));
      // Held back: it could be the start of a card number.
      expect(out).not.toContain('4111 1');
      appendFileSync(file, '1111 1111 later\n');
      await waitFor(() => out.includes('later\n'), () => `no later line: ${out}`);
      expect(out).toBe('line 1\nready\npaid 4111 11** **** 1111 later\n');
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('the evidence holds the masked log, never the clear card numbers', async () => {
    await f.stopGateway();
    const e = await exportAndVerify(f);
    expect(e.report.ok).toBe(true);
    const all = [...e.sessions.values()].flat();
    const output = Buffer.concat(all.filter((x) => x.type === 'output' && x['stream'] === 'log').map((x) => Buffer.from(x.data!))).toString();
    expect(output).toContain('card 555555******4444');
    expect(output).toContain('4111 11** **** 1111');
    const text = JSON.stringify(all, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v));
    expect(text).not.toContain('5555555555554444');
    expect(text.replace(/\s/g, '')).not.toContain('4111111111111111');
  });
});

async function waitFor(cond: () => boolean, why: () => string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(why());
    await new Promise((r) => setTimeout(r, 50));
  }
}
