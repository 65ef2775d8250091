/**
 * `kubectl exec`, `exec -it`, `cp` and `attach` through Vigil over WebSocket (v5.channel.k8s.io, kubectl's
 * default), to the real kube-apiserver and the harness's node fixture: stdout, stderr, stdin and the exit
 * code arrive as from the cluster; a card number in the output (even split across writes) reaches kubectl
 * masked and is recorded masked; policy blocks by program and argv, and holds an exec for approval bound
 * to its exact argv. The evidence holds each stream as a channel (open, output, input, resize, close with
 * the exit status).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvidenceEvent } from '../../../shared/evidence/events.ts';
import { exportAndVerify, type ExportedEvidence } from '../../helpers/gateway.ts';
import { KUBECTL, podManifest, startKube, type KubeNode, type KubeServer } from '../../helpers/kube.ts';
import { startKubeGatewayFixture, type KubeGatewayFixture } from '../../helpers/kube-gateway.ts';
import { rawWebSocket } from '../../helpers/kube-ws-client.ts';

const NS = 'apps';
let echoPort = 0;
let forbiddenPort = 0;
let forbiddenHits = 0;
const policies = () => `
policies:
  - name: ci-kube
    match: { subjects: ['repo:acme/*'] }
    targets: [dev]
    rules:
      - name: no-rm
        when: { protocols: [kubernetes], classes: [interactive], attributes: { subresource: [exec], program: [rm, shred] } }
        action: block
        reason: deleting files in a pod is not allowed
      - name: no-rm-in-a-shell
        when: { protocols: [kubernetes], classes: [interactive], attributes: { argv: ['*rm -rf*'] } }
        action: block
        reason: no rm -rf
      - name: no-forbidden-port
        when: { protocols: [kubernetes], classes: [forward], objects: ['apps/app:${forbiddenPort}'] }
        action: block
        reason: not that port
      - name: approve-dd
        when: { protocols: [kubernetes], classes: [interactive], attributes: { program: [dd] } }
        action: require-approval
        approvers: { groups: [ops] }
    classes: { read: allow, write: allow, delete: allow, interactive: allow, forward: allow, default: block }
`;

let kube: KubeServer;
let node: KubeNode;
let f: KubeGatewayFixture;
let scratch: string;
let evidence: ExportedEvidence | undefined;
let echo: Server;
let forbidden: Server;

beforeAll(async () => {
  kube = await startKube();
  node = await kube.startNode({ name: 'node-a' });
  kube.kubectlOk(['create', 'namespace', NS]);
  kube.kubectlOk(['apply', '-f', '-'], {
    input: podManifest({ name: 'app', namespace: NS, node: node.name, containers: [{ name: 'main', command: ['sh', '-c', 'echo started; while read line; do echo "got:$line"; done'], stdin: true }] }),
  });
  await node.waitForPod(NS, 'app');
  kube.kubectlOk(['-n', NS, 'create', 'role', 'pods', '--verb=get,list,create', '--resource=pods,pods/exec,pods/attach,pods/log,pods/portforward']);
  kube.kubectlOk(['-n', NS, 'create', 'rolebinding', 'pods', '--role=pods', '--group=repo:acme/payments']);
  echo = createServer((c) => c.pipe(c));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  echoPort = (echo.address() as AddressInfo).port;
  forbidden = createServer((c) => {
    forbiddenHits++;
    c.end('should never be reached\n');
  });
  await new Promise<void>((r) => forbidden.listen(0, '127.0.0.1', r));
  forbiddenPort = (forbidden.address() as AddressInfo).port;
  f = await startKubeGatewayFixture({ kube, policies: policies() });
  scratch = mkdtempSync(join(tmpdir(), 'vigil-kube-exec-'));
}, 50 * 60_000);

afterAll(async () => {
  await f?.stop();
  await kube?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  echo?.close();
  forbidden?.close();
});

async function exported(): Promise<EvidenceEvent[]> {
  if (!evidence) {
    await f.stopGateway();
    evidence = await exportAndVerify(f);
    expect(evidence.report.ok, JSON.stringify(evidence.report).slice(0, 3000)).toBe(true);
  }
  return [...evidence.sessions.values()].flat();
}

function sessionsWith(all: Map<string, EvidenceEvent[]>, pred: (e: EvidenceEvent) => boolean): EvidenceEvent[][] {
  return [...all.values()].filter((evs) => evs.some(pred));
}

function dataOf(evs: EvidenceEvent[], type: string, stream?: string): string {
  return Buffer.concat(evs.filter((e) => e.type === type && (stream === undefined || e['stream'] === stream)).map((e) => Buffer.from(e.data!))).toString('latin1');
}

describe('kubectl exec through Vigil (WebSocket)', () => {
  it('stdout, stderr and the exit code', async () => {
    const r = await f.kubectl(['-n', NS, 'exec', 'app', '--', 'sh', '-c', 'echo out:$POD_NAME; echo err >&2; exit 3']);
    expect(r.stdout).toBe('out:app\n');
    expect(r.stderr).toContain('err\n');
    expect(r.stderr).toContain('command terminated with exit code 3');
    expect(r.status).toBe(3);
  });

  it('stdin (exec -i), large, and a card number in the output masked — also when split across writes', async () => {
    const big = 'x'.repeat(200_000);
    const cat = await f.kubectl(['-n', NS, 'exec', '-i', 'app', '--', 'sh', '-c', 'cat; echo "<eof>"'], { input: `${big}\nline two\n` });
    expect(cat.stderr).toBe('');
    expect(cat.stdout).toBe(`${big}\nline two\n<eof>\n`);
    const pan = await f.kubectl(['-n', NS, 'exec', 'app', '--', 'sh', '-c', 'echo "card 4111111111111111"; printf "split 5555 5555 "; sleep 0.3; echo "5555 4444 done"']);
    expect(pan.status, pan.stderr).toBe(0);
    expect(pan.stdout).toBe('card 411111******1111\nsplit 5555 55** **** 4444 done\n');
  });

  it('a card number typed on stdin reaches the container as typed and is recorded masked', async () => {
    const r = await f.kubectl(['-n', NS, 'exec', '-i', 'app', '--', 'sh', '-c', 'read x; echo "len ${#x}"'], { input: 'pay 4012888888881881\n' });
    expect(r.stdout).toBe('len 20\n');
  });

  it.each([['WebSocket', ''], ['SPDY', 'KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false ']])('exec -it over %s: a terminal of the client size, resize recorded', async (_t, envPrefix) => {
    const cmd = envPrefix + [KUBECTL, `--kubeconfig=${f.kubeconfig('tty', f.defaultToken)}`, `--cache-dir=${join(f.dir, 'kubectl-cache')}`, '-n', NS, 'exec', '-ti', 'app', '--', 'sh', '-c', "'tty; stty size'"].join(' ');
    // script(1) gives kubectl a real terminal; spawned (not spawnSync): the gateway runs in this process.
    const r = await run('script', ['-qec', `stty cols 91 rows 27; ${cmd}`, '/dev/null'], { PATH: '/usr/bin:/bin', HOME: f.dir, TERM: 'xterm' });
    expect(r.status, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toMatch(/\/dev\/pts\/\d+/);
    expect(r.stdout).toMatch(/27 91/);
  });

  it('kubectl cp both ways (tar through exec)', async () => {
    writeFileSync(join(node.workDir, 'report.txt'), 'copied through exec\n');
    const dest = join(scratch, 'report.txt');
    const down = await f.kubectl(['-n', NS, 'cp', `app:${join(node.workDir, 'report.txt')}`, dest]);
    expect(down.status, down.stderr).toBe(0);
    expect(readFileSync(dest, 'utf8')).toBe('copied through exec\n');
    const src = join(scratch, 'upload.txt');
    writeFileSync(src, 'uploaded through exec\n');
    const up = await f.kubectl(['-n', NS, 'cp', src, `app:${join(node.workDir, 'uploaded.txt')}`]);
    expect(up.status, up.stderr).toBe(0);
    expect(readFileSync(join(node.workDir, 'uploaded.txt'), 'utf8')).toBe('uploaded through exec\n');
  });

  it('attach -i reaches the container process', async () => {
    const child = kube.kubectlSpawn(['-n', NS, 'attach', '-i', 'app', '-c', 'main'], { kubeconfig: f.kubeconfig('attach', f.defaultToken) });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await new Promise((r) => setTimeout(r, 1500));
      child.stdin!.write('hello attach\n');
      await waitFor(() => out.includes('got:hello attach'), () => `attach: ${out}`);
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('policy blocks an exec by program and by argv; nothing runs', async () => {
    writeFileSync(join(node.workDir, 'keep.txt'), 'keep\n');
    const r = await f.kubectl(['-n', NS, 'exec', 'app', '--', 'rm', join(node.workDir, 'keep.txt')]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('forbidden by Vigil policy (rule ci-kube/no-rm): deleting files in a pod is not allowed');
    const s = await f.kubectl(['-n', NS, 'exec', 'app', '--', 'sh', '-c', `rm -rf ${join(node.workDir, 'keep.txt')}`]);
    expect(s.status).not.toBe(0);
    expect(s.stderr).toContain('rule ci-kube/no-rm-in-a-shell');
    expect(readFileSync(join(node.workDir, 'keep.txt'), 'utf8')).toBe('keep\n');
  });

  it('holds an exec for approval (bound to its argv), runs it once approved', async () => {
    const child = spawn(KUBECTL, [`--kubeconfig=${f.kubeconfig('held', f.defaultToken)}`, `--cache-dir=${join(f.dir, 'kubectl-cache')}`, '-n', NS, 'exec', 'app', '--', 'dd', 'if=/dev/zero', `of=${join(node.workDir, 'dd.out')}`, 'bs=1', 'count=5'], { env: { PATH: '/usr/bin:/bin', HOME: f.dir } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exit = new Promise<number | null>((r) => child.on('close', r));
    let id: string | undefined;
    await waitFor(() => (id = f.gateway.localApprovals.list('pending')[0]?.id) !== undefined, () => 'no approval request');
    await waitFor(() => stderr.includes('held for approval'), () => `no wait message: ${stderr}`);
    expect(() => readFileSync(join(node.workDir, 'dd.out'))).toThrow();
    f.gateway.localApprovals.decide(id!, { subject: 'dana@acme.test', issuer: 'https://login.acme.test', groups: ['ops'] }, 'approve', null, '127.0.0.1');
    expect(await exit, stderr).toBe(0);
    expect(readFileSync(join(node.workDir, 'dd.out')).length).toBe(5);
  });

  it('a held exec that is denied never runs, and kubectl says why', async () => {
    const out = join(node.workDir, 'dd-denied.out');
    const pending = f.kubectl(['-n', NS, 'exec', 'app', '--', 'dd', 'if=/dev/zero', `of=${out}`, 'bs=1', 'count=5']);
    let id: string | undefined;
    await waitFor(() => (id = f.gateway.localApprovals.list('pending')[0]?.id) !== undefined, () => 'no approval request');
    f.gateway.localApprovals.decide(id!, { subject: 'dana@acme.test', issuer: 'https://login.acme.test', groups: ['ops'] }, 'deny', 'not now', '127.0.0.1');
    const r = await pending;
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`needs approval (rule ci-kube/approve-dd, request ${id}): not approved: denied by dana@acme.test: not now`);
    expect(existsSync(out)).toBe(false);
  });

  it('kubectl killed while its exec is held: the request is cancelled, the command never runs', async () => {
    const out = join(node.workDir, 'dd-cancelled.out');
    const child = kube.kubectlSpawn(['-n', NS, 'exec', 'app', '--', 'dd', 'if=/dev/zero', `of=${out}`, 'bs=1', 'count=5'], { kubeconfig: f.kubeconfig('cancel', f.defaultToken) });
    let id: string | undefined;
    await waitFor(() => (id = f.gateway.localApprovals.list('pending')[0]?.id) !== undefined, () => 'no approval request');
    child.kill('SIGKILL');
    await waitFor(() => !f.gateway.localApprovals.list('pending').some((a) => a.id === id), () => 'the request is still pending after the client went away');
    await new Promise((r) => setTimeout(r, 300));
    expect(existsSync(out)).toBe(false);
  });

  it('fails closed: an exec that cannot be recorded is not forwarded', async () => {
    const recorder = f.gateway.appliance.recorder;
    const start = recorder.start.bind(recorder);
    recorder.start = (ctx) => {
      const rs = start(ctx);
      rs.sync = () => Promise.reject(new Error('test: the archive disk is gone'));
      return rs;
    };
    const marker = join(node.workDir, 'unrecorded-marker');
    try {
      const ws = await rawWebSocket({ port: f.port, ca: readFileSync(f.vigilCaFile, 'utf8'), token: f.defaultToken, path: `/targets/dev/api/v1/namespaces/${NS}/pods/app/exec?command=touch&command=${encodeURIComponent(marker)}&stdout=1` });
      expect(ws.status).toBe(503);
      expect(ws.response).toContain('could not be recorded');
    } finally {
      recorder.start = start;
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(existsSync(marker)).toBe(false);
  });

  it('exec over SPDY (KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false): stdout, stderr, stdin, exit code, a card number masked', async () => {
    const env = { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false' };
    const r = await f.kubectl(['-n', NS, 'exec', 'app', '--', 'sh', '-c', 'echo spdy-out; echo spdy-err >&2; echo "card 4111111111111111"; exit 4'], { env });
    expect(r.stdout).toBe('spdy-out\ncard 411111******1111\n');
    expect(r.stderr).toContain('spdy-err\n');
    expect(r.stderr).toContain('command terminated with exit code 4');
    expect(r.status).toBe(4);
    const big = 'y'.repeat(100_000);
    const cat = await f.kubectl(['-n', NS, 'exec', '-i', 'app', '--', 'sh', '-c', 'cat; echo "<eof>"'], { input: `${big}\n`, env });
    expect(cat.stdout).toBe(`${big}\n<eof>\n`);
    const blocked = await f.kubectl(['-n', NS, 'exec', 'app', '--', 'rm', '-f', '/nonexistent'], { env });
    expect(blocked.status).not.toBe(0);
    expect(blocked.stderr).toContain('rule ci-kube/no-rm');
  });

  it('a SPDY upgrade offering no protocol Vigil relays is refused with a clear Status (vigil/spdy-unsupported)', async () => {
    const r = await f.raw('POST', `/targets/dev/api/v1/namespaces/${NS}/pods/app/exec?command=true&stdout=1`, { authorization: `Bearer ${f.defaultToken}`, connection: 'Upgrade', upgrade: 'SPDY/3.1', 'x-stream-protocol-version': 'v2.channel.k8s.io' });
    expect(r.status).toBe(403);
    expect(r.body).toContain('vigil/spdy-unsupported');
  });

  it('port-forward: an allowed port is relayed (bytes counted), a refused port never reached', async () => {
    const pf = kube.kubectlSpawn(['-n', NS, 'port-forward', '--address=127.0.0.1', 'pod/app', `:${echoPort}`, `:${forbiddenPort}`], { kubeconfig: f.kubeconfig('pf', f.defaultToken) });
    let out = '';
    pf.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    pf.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await waitFor(() => (out.match(/Forwarding from 127\.0\.0\.1:\d+/g) ?? []).length >= 2, () => `port-forward did not start: ${out}`);
      const locals = [...out.matchAll(/Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)/g)].map((m) => ({ local: Number(m[1]), remote: Number(m[2]) }));
      const toEcho = locals.find((l) => l.remote === echoPort)!.local;
      const toForbidden = locals.find((l) => l.remote === forbiddenPort)!.local;
      expect(await talk(toEcho, 'ping through Vigil\n')).toBe('ping through Vigil\n');
      expect(await talk(toEcho, 'again\n')).toBe('again\n');
      // kubectl resets the local connection when its streams are refused.
      expect(await talk(toForbidden, 'knock\n', true)).toBe('');
      await waitFor(() => out.includes(`-> ${forbiddenPort}: Stream reset`), () => `no refusal reported: ${out}`);
      expect(forbiddenHits).toBe(0);
    } finally {
      pf.kill('SIGTERM');
    }
  });

  it('port-forward over legacy SPDY (KUBECTL_PORT_FORWARD_WEBSOCKETS=false) is carried in the tunnel too', async () => {
    const pf = kube.kubectlSpawn(['-n', NS, 'port-forward', '--address=127.0.0.1', 'pod/app', `:${echoPort}`], { kubeconfig: f.kubeconfig('pf-spdy', f.defaultToken), env: { KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' } });
    let out = '';
    pf.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    pf.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await waitFor(() => /Forwarding from 127\.0\.0\.1:\d+/.test(out), () => `port-forward did not start: ${out}`);
      const local = Number(/Forwarding from 127\.0\.0\.1:(\d+)/.exec(out)![1]);
      expect(await talk(local, 'over spdy\n')).toBe('over spdy\n');
    } finally {
      pf.kill('SIGTERM');
    }
  });

  it('the evidence: channels with output, input, resize and exit status; no clear card number', async () => {
    const all = await exported();
    const text = JSON.stringify(all, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v));
    for (const pan of ['4111111111111111', '5555555555554444', '4012888888881881']) expect(text.replace(/[\s*]/g, '').includes(pan), pan).toBe(false);
    const sessions = evidence!.sessions;
    const exit3 = sessionsWith(sessions, (e) => e.type === 'channel.close' && e['exitStatus'] === 3)[0]!;
    expect(exit3.find((e) => e.type === 'channel.open')).toMatchObject({ kind: 'exec', channel: 0 });
    expect(dataOf(exit3, 'output', 'stdout')).toBe('out:app\n');
    expect(dataOf(exit3, 'output', 'stderr')).toBe('err\n');
    const outputs = [...sessions.values()].map((evs) => dataOf(evs, 'output', 'stdout'));
    expect(outputs).toContain('card 411111******1111\nsplit 5555 55** **** 4444 done\n');
    const inputs = [...sessions.values()].map((evs) => dataOf(evs, 'input', 'stdin'));
    expect(inputs).toContain('pay 401288******1881\n');
    const ttys = sessionsWith(sessions, (e) => e.type === 'channel.open' && e['pty'] !== undefined);
    expect(ttys.length).toBe(2);
    for (const tty of ttys) {
      expect(tty.find((e) => e.type === 'channel.open')!['pty']).toEqual({ cols: 91, rows: 27 });
      expect(dataOf(tty, 'output', 'pty')).toMatch(/27 91/);
    }
    // kubectl cp: each direction a transfer with the bytes that crossed and their hash.
    const transfers = all.filter((e) => e.type === 'transfer');
    expect(transfers.map((e) => [e['direction'], e['outcome']])).toEqual([['download', 'complete'], ['upload', 'complete']]);
    expect(String(transfers[0]!['path'])).toContain('report.txt');
    expect(transfers[1]!['path']).toBe(node.workDir);
    for (const t of transfers) {
      expect(t['sha256']).toMatch(/^[0-9a-f]{64}$/);
      expect(t['bytes']).toBeGreaterThan(1024);
    }
    const blocked = all.filter((e) => e.type === 'decision' && e['rule'] === 'ci-kube/no-rm');
    expect(blocked.length).toBeGreaterThan(0);
    const held = sessionsWith(sessions, (e) => e.type === 'approval.requested')[0]!;
    const types = held.map((e) => e.type);
    expect(types.indexOf('command.released')).toBeGreaterThan(types.indexOf('approval.decided'));
    expect(types.indexOf('channel.open')).toBeGreaterThan(types.indexOf('command.released'));
    expect(held.find((e) => e.type === 'channel.close')).toMatchObject({ exitStatus: 0 });
    expect(text).not.toContain(f.defaultToken.split('.')[2]!);
    expect(all.some((e) => e.type === 'decision' && e['rule'] === 'vigil/spdy-unsupported')).toBe(true);
    const spdyPf = sessionsWith(sessions, (e) => e.type === 'command' && (e['stream'] as { transport?: string } | undefined)?.transport === 'spdy/3.1' && (e['stream'] as { kind?: string }).kind === 'portforward')[0]!;
    expect(spdyPf.filter((e) => e.type === 'forward.close').map((e) => [e['bytesIn'], e['bytesOut']])).toEqual([[10, 10]]);
    const pf = sessionsWith(sessions, (e) => e.type === 'forward.open')[0]!;
    const opens = pf.filter((e) => e.type === 'forward.open');
    expect(opens.map((e) => e['port'])).toEqual([echoPort, echoPort]);
    expect(pf.filter((e) => e.type === 'forward.close').map((e) => [e['bytesIn'], e['bytesOut']])).toEqual([[19, 19], [6, 6]]);
    expect(pf.some((e) => e.type === 'decision' && e['rule'] === 'ci-kube/no-forbidden-port')).toBe(true);
    expect(pf.filter((e) => e.type === 'command' && e['kind'] === 'forward').map((e) => e['text'])).toEqual([`port-forward apps/app:${echoPort}`, `port-forward apps/app:${forbiddenPort}`]);
  });
});

/** One connection: writes `text`, ends, and returns what came back before the far end closed (or reset it). */
function talk(port: number, text: string, reset = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.end(text));
    let got = '';
    s.on('data', (b) => (got += b.toString()));
    s.on('close', () => resolve(got));
    s.on('error', (e: NodeJS.ErrnoException) => (reset && e.code === 'ECONNRESET' ? resolve(got) : reject(e)));
  });
}

function run(cmd: string, args: string[], env: Record<string, string>, input = ''): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.end(input);
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

async function waitFor(cond: () => boolean, why: () => string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(why());
    await new Promise((r) => setTimeout(r, 50));
  }
}
