/**
 * The node fixture (test/kube/apiserver/nodefixture): a stand-in kubelet registered as a Node, so that
 * the real kube-apiserver forwards exec, attach, logs and port-forward to it, and the real kubectl's
 * WebSocket (v5.channel.k8s.io, its default) and SPDY paths both work end to end. What the Kubernetes
 * gateway's exec/logs/port-forward tests will stand on.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { podManifest, startKube, type KubeNode, type KubeServer } from '../../helpers/kube.ts';

let kube: KubeServer;
let node: KubeNode;
let echo: Server;
let scratch: string;
const NS = 'apps';

beforeAll(async () => {
  kube = await startKube();
  node = await kube.startNode({ name: 'node-a' });
  kube.kubectlOk(['create', 'namespace', NS]);
  const manifest = podManifest({
    name: 'app',
    namespace: NS,
    node: node.name,
    containers: [
      { name: 'main', command: ['sh', '-c', 'echo started; while read line; do echo "got:$line"; done'], stdin: true },
      { name: 'quiet' },
    ],
  });
  kube.kubectlOk(['apply', '-f', '-'], { input: manifest });
  await node.waitForPod(NS, 'app');
  // A TCP echo server on loopback: the "pod's" port for port-forward.
  echo = createServer((s) => s.pipe(s));
  await new Promise<void>((res) => echo.listen(0, '127.0.0.1', res));
  scratch = mkdtempSync(join(tmpdir(), 'vigil-kube-node-'));
}, 50 * 60_000);

afterAll(async () => {
  echo?.close();
  await kube?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** Collects a child's output until `pattern` appears (or fails after timeoutMs). */
function waitForOutput(child: ChildProcess, pattern: RegExp, timeoutMs = 20_000): Promise<string> {
  return new Promise((res, rej) => {
    let out = '';
    const onData = (b: Buffer) => {
      out += b.toString();
      if (pattern.test(out)) {
        clearTimeout(timer);
        res(out);
      }
    };
    const timer = setTimeout(() => rej(new Error(`no ${pattern} after ${timeoutMs} ms; got: ${out}`)), timeoutMs);
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (!pattern.test(out)) rej(new Error(`kubectl exited with ${code} before ${pattern}; got: ${out}`));
    });
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((res) => {
    if (child.exitCode !== null || child.signalCode !== null) return res();
    child.once('exit', () => res());
    child.kill('SIGTERM');
  });
}

const SPDY = { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false', KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' };

describe('node fixture behind the real kube-apiserver', () => {
  it('registers a Ready node and runs the bound pod', () => {
    const nodes = kube.kubectlOk(['get', 'nodes', '-o', 'wide']);
    expect(nodes).toMatch(/^node-a\s+Ready\s/m);
    const pods = kube.kubectlOk(['-n', NS, 'get', 'pods', '-o', 'wide']);
    expect(pods).toMatch(/^app\s+2\/2\s+Running\s+0\s+\S+\s+127\.0\.0\.1\s+node-a\s/m);
  });

  for (const [transport, env] of [['WebSocket', {}], ['SPDY', SPDY]] as const) {
    it(`exec over ${transport}: stdout, stderr, stdin and the exit code`, () => {
      const r = kube.kubectl(['-n', NS, 'exec', 'app', '-c', 'main', '--', 'sh', '-c', 'echo out:$POD_NAME; echo err >&2; exit 3'], { env });
      expect(r.stdout).toBe('out:app\n');
      expect(r.stderr).toContain('err\n');
      expect(r.stderr).toContain('command terminated with exit code 3');
      expect(r.status).toBe(3);

      const big = 'x'.repeat(200_000);
      const cat = kube.kubectl(['-n', NS, 'exec', '-i', 'app', '-c', 'main', '--', 'sh', '-c', 'cat; echo "<eof>"'], { input: `${big}\nline two\n`, env });
      expect(cat.stderr).toBe('');
      expect(cat.stdout).toBe(`${big}\nline two\n<eof>\n`);
    });

    it(`port-forward over ${transport}`, async () => {
      const echoPort = (echo.address() as AddressInfo).port;
      const pf = kube.kubectlSpawn(['-n', NS, 'port-forward', '--address=127.0.0.1', 'pod/app', `:${echoPort}`], { env });
      try {
        const out = await waitForOutput(pf, /Forwarding from 127\.0\.0\.1:(\d+)/);
        const local = Number(/Forwarding from 127\.0\.0\.1:(\d+)/.exec(out)![1]);
        const reply = await new Promise<string>((res, rej) => {
          const s = connect(local, '127.0.0.1', () => s.end('ping through the kubelet\n'));
          let got = '';
          s.on('data', (b) => (got += b.toString()));
          s.on('end', () => res(got));
          s.on('error', rej);
        });
        expect(reply).toBe('ping through the kubelet\n');
      } finally {
        await stopChild(pf);
      }
    });
  }

  it('exec -t gives the command a terminal of the client size', () => {
    // kubectl wants a real terminal on its side for -t: script(1) provides one.
    const cmd = `${['/usr/bin/kubectl', `--kubeconfig=${kube.kubeconfig}`, `--cache-dir=${join(kube.dir, 'kubectl-cache')}`, '-n', NS, 'exec', '-ti', 'app', '--', 'sh', '-c', "'tty; stty size'"].join(' ')}`;
    const r = spawnSync('script', ['-qec', `stty cols 91 rows 27; ${cmd}`, '/dev/null'], { encoding: 'utf8', timeout: 30_000, input: '', env: { PATH: '/usr/bin:/bin', HOME: kube.dir, TERM: 'xterm' } });
    expect(r.status, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toMatch(/\/dev\/pts\/\d+/);
    expect(r.stdout).toMatch(/27 91/);
  });

  it('logs and logs -f: a container process, and a log file the test appends to', async () => {
    expect(kube.kubectlOk(['-n', NS, 'logs', 'app', '-c', 'main'])).toBe('started\n');
    const file = node.logFile(NS, 'app', 'quiet');
    writeFileSync(file, 'line 1\nline 2\nline 3\n');
    expect(kube.kubectlOk(['-n', NS, 'logs', 'app', '-c', 'quiet', '--tail=2'])).toBe('line 2\nline 3\n');
    expect(kube.kubectlOk(['-n', NS, 'logs', 'app', '-c', 'quiet', '--limit-bytes=8'])).toBe('line 1\nl');

    const follow = kube.kubectlSpawn(['-n', NS, 'logs', '-f', 'app', '-c', 'quiet']);
    try {
      const seen = waitForOutput(follow, /line 3\n[^]*4111 1111 1111 1111 appended later\n/);
      // Appended in two writes that split the card number: the gateway's masker will have to join them.
      await new Promise((r) => setTimeout(r, 300));
      appendFileSync(file, '4111 1111 ');
      await new Promise((r) => setTimeout(r, 200));
      appendFileSync(file, '1111 1111 appended later\n');
      expect(await seen).toBe('line 1\nline 2\nline 3\n4111 1111 1111 1111 appended later\n');
    } finally {
      await stopChild(follow);
    }
  });

  it('attach -i reaches the container process', async () => {
    const attach = kube.kubectlSpawn(['-n', NS, 'attach', '-i', 'app', '-c', 'main']);
    try {
      const seen = waitForOutput(attach, /got:hello attach/);
      await new Promise((r) => setTimeout(r, 1000));
      attach.stdin?.write('hello attach\n');
      expect(await seen).toContain('got:hello attach');
    } finally {
      await stopChild(attach);
    }
  });

  it('kubectl cp copies a file out of the "container" (tar through exec)', () => {
    writeFileSync(join(node.workDir, 'report.txt'), 'copied through exec\n');
    const dest = join(scratch, 'report.txt');
    const r = kube.kubectl(['-n', NS, 'cp', '-c', 'main', `app:${join(node.workDir, 'report.txt')}`, dest]);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(dest, 'utf8')).toBe('copied through exec\n');
  });

  it('RBAC applies to exec: a user who may read pods may not exec', () => {
    const bob = kube.clientCertificate('bob');
    kube.kubectlOk(['-n', NS, 'create', 'role', 'pod-reader', '--verb=get,list', '--resource=pods,pods/log']);
    kube.kubectlOk(['-n', NS, 'create', 'rolebinding', 'bob-reads', '--role=pod-reader', '--user=bob']);
    expect(kube.kubectlOk(['-n', NS, 'logs', 'app', '-c', 'main'], { kubeconfig: bob.kubeconfig })).toMatch(/^started\n/);
    const r = kube.kubectl(['-n', NS, 'exec', 'app', '-c', 'main', '--', 'true'], { kubeconfig: bob.kubeconfig });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('User "bob" cannot create resource "pods/exec"');
  });

  it('the node serves only clients with a certificate from the cluster CA', async () => {
    const outcome = await new Promise<string>((res) => {
      const req = request({ host: '127.0.0.1', port: node.port, path: '/healthz', ca: kube.caPem, agent: false }, (r) => res(`HTTP ${r.statusCode}`));
      req.on('error', (e) => res(`error: ${e.message}`));
      req.end();
    });
    expect(outcome).toMatch(/^error: /);
    const ok = await new Promise<string>((res) => {
      const req = request({ host: '127.0.0.1', port: node.port, path: '/healthz', ca: kube.caPem, cert: kube.kubeletClient.certPem, key: kube.kubeletClient.keyPem, agent: false }, (r) => res(`HTTP ${r.statusCode}`));
      req.on('error', (e) => res(`error: ${e.message}`));
      req.end();
    });
    expect(ok).toBe('HTTP 200');
  });
});
