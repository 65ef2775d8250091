/**
 * Attacks on the exec/attach streams through Vigil to the real kube-apiserver and node fixture, from a raw
 * WebSocket client (test/helpers/kube-ws-client.ts): a command hidden in a differently-encoded query
 * (`%63ommand=`, an encoded program name, a path for argv[0], a semicolon, a broken escape, a POST), a
 * stream upgrade on a path policy denies written so it might be read otherwise, and frames smuggled after
 * the client closed stdin or the WebSocket, or on channels a client may not write. Each asserts both
 * halves: what the container ran (files in the node's work directory), and what the evidence says.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvidenceEvent } from '../../shared/evidence/events.ts';
import { exportAndVerify } from '../helpers/gateway.ts';
import { podManifest, startKube, type KubeNode, type KubeServer } from '../helpers/kube.ts';
import { KUBE_AUDIENCE, startKubeGatewayFixture, type KubeGatewayFixture } from '../helpers/kube-gateway.ts';
import { rawWebSocket, type RawWs } from '../helpers/kube-ws-client.ts';
import { controlFrame, encodeHeaderBlock, HeaderDeflater, TYPE_SYN_STREAM } from '../../appliance/protocols/kubernetes/spdy.ts';

const POLICIES = `
policies:
  - name: streams
    match: { subjects: ['repo:acme/*'] }
    targets: [dev]
    rules:
      - name: no-rm
        when: { protocols: [kubernetes], classes: [interactive], attributes: { program: [rm] } }
        action: block
        reason: no rm
      - name: no-cde-streams
        when: { protocols: [kubernetes], classes: [interactive], objects: ['cde/pods/exec/*', 'cde/pods/attach/*'] }
        action: block
        reason: nothing runs in cde through Vigil
    classes: { read: allow, write: allow, interactive: allow, default: block }
  - name: staff
    match: { providers: [staff] }
    targets: [dev]
    classes: { read: allow, interactive: allow, default: block }
`;

let kube: KubeServer;
let node: KubeNode;
let f: KubeGatewayFixture;
let ca: string;

beforeAll(async () => {
  kube = await startKube();
  node = await kube.startNode({ name: 'node-a' });
  for (const ns of ['apps', 'cde']) {
    kube.kubectlOk(['create', 'namespace', ns]);
    kube.kubectlOk(['apply', '-f', '-'], { input: podManifest({ name: 'app', namespace: ns, node: node.name, containers: [{ name: 'main', command: ['sh', '-c', 'while read l; do echo "got:$l" >> attach.log; done'], stdin: true }] }) });
    await node.waitForPod(ns, 'app');
    kube.kubectlOk(['-n', ns, 'create', 'role', 'pods', '--verb=get,create', '--resource=pods,pods/exec,pods/attach']);
    kube.kubectlOk(['-n', ns, 'create', 'rolebinding', 'pods', '--role=pods', '--group=repo:acme/payments']);
  }
  kube.kubectlOk(['-n', 'apps', 'create', 'rolebinding', 'runner', '--role=pods', '--user=runner@acme.test']);
  f = await startKubeGatewayFixture({ kube, policies: POLICIES, staffProviderExtra: '    clockToleranceSeconds: 0\n' });
  ca = readFileSync(f.vigilCaFile, 'utf8');
}, 50 * 60_000);

afterAll(async () => {
  await f?.stop();
  await kube?.stop();
});

const q = (parts: string[]) => parts.join('&');
const open = (path: string, o: { method?: string } = {}) => rawWebSocket({ port: f.port, ca, token: f.defaultToken, path: `/targets/dev${path}`, ...o });

/** The final Status on the error channel, once the stream closed. */
async function finalStatus(ws: RawWs): Promise<{ status?: string; message?: string; reason?: string }> {
  await ws.closed;
  const m = ws.messages.filter((x) => x[0] === 3 && x.length > 1).pop();
  return m ? (JSON.parse(m.subarray(1).toString('utf8')) as { status?: string; message?: string }) : {};
}

/** A masked client frame, built by hand (to write bytes the framing would refuse to send). */
function clientFrame(opcode: number, payload: Buffer): Buffer {
  const key = randomBytes(4);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i]! ^= key[i & 3]!;
  const len = body.length;
  const head = len < 126 ? Buffer.from([0x80 | opcode, 0x80 | len]) : Buffer.from([0x80 | opcode, 0x80 | 126, len >> 8, len & 0xff]);
  return Buffer.concat([head, key, body]);
}

const victim = () => {
  const file = join(node.workDir, `victim-${randomBytes(4).toString('hex')}.txt`);
  writeFileSync(file, 'still here\n');
  return file;
};

/** The exported evidence, one array of events per session (each WebSocket is its own connection, so its own session). */
async function evidence(): Promise<EvidenceEvent[][]> {
  await f.stopGateway();
  const e = await exportAndVerify(f);
  expect(e.report.ok).toBe(true);
  return [...e.sessions.values()];
}

const hidden: string[] = [];

describe('a command hidden in the query is read as the API server reads it', () => {
  it.each([
    ['an encoded key', (file: string) => q(['%63ommand=rm', `%63ommand=${encodeURIComponent(file)}`, 'stdout=1'])],
    ['an encoded program name', (file: string) => q(['command=%72%6D', `command=${encodeURIComponent(file)}`, 'stdout=true'])],
    ['a path as argv[0]', (file: string) => q(['command=/bin/rm', `command=${encodeURIComponent(file)}`, 'stdout=true'])],
    ['a harmless first container and flags repeated', (file: string) => q(['container=main', 'container=other', 'command=rm', 'command=-f', `command=${encodeURIComponent(file)}`, 'stdout=false', 'stdout=1', 'stderr=TRUE'])],
  ])('%s: blocked in-band, the file is kept', async (_name, query) => {
    const file = victim();
    hidden.push(file);
    const ws = await open(`/api/v1/namespaces/apps/pods/app/exec?${query(file)}`);
    expect(ws.status).toBe(101);
    const st = await finalStatus(ws);
    expect(st.status).toBe('Failure');
    expect(st.message).toContain('rule streams/no-rm');
    expect(readFileSync(file, 'utf8')).toBe('still here\n');
  });

  it.each([
    ['a semicolon separator', q(['command=true;command=rm', 'stdout=1'])],
    ['a broken escape', q(['command=r%zzm', 'stdout=1'])],
    ['a byte that is not UTF-8', q(['command=%ff%fe', 'stdout=1'])],
  ])('%s: refused before any upgrade (vigil/request)', async (_name, query) => {
    const ws = await open(`/api/v1/namespaces/apps/pods/app/exec?${query}`);
    expect(ws.status).toBe(403);
    expect(ws.response).toContain('rule vigil/request');
  });

  it('a POST upgrade (the API server reads only GET upgrades) is refused, nothing runs', async () => {
    const marker = join(node.workDir, 'post-marker');
    const ws = await open(`/api/v1/namespaces/apps/pods/app/exec?${q(['command=touch', `command=${encodeURIComponent(marker)}`, 'stdout=1'])}`, { method: 'POST' });
    expect(ws.status).toBe(403);
    expect(ws.response).toContain('must be a GET');
    expect(existsSync(marker)).toBe(false);
  });
});

describe('a stream on a path policy denies', () => {
  it('exec and attach in cde, the namespace percent-encoded: blocked, nothing ran or reached the container', async () => {
    const marker = join(node.workDir, 'cde-marker');
    const ws = await open(`/api/v1/namespaces/c%64e/pods/app/exec?${q(['command=touch', `command=${encodeURIComponent(marker)}`, 'stdout=1'])}`);
    expect(ws.status).toBe(101);
    expect((await finalStatus(ws)).message).toContain('rule streams/no-cde-streams');
    const at = await open(`/api/v1/namespaces/cde/pods/app/attach?${q(['stdin=1', 'stdout=1'])}`);
    expect(at.status).toBe(101);
    at.ws!.send(Buffer.concat([Buffer.of(0), Buffer.from('smuggled into cde\n')]));
    expect((await finalStatus(at)).message).toContain('rule streams/no-cde-streams');
    await new Promise((r) => setTimeout(r, 300));
    expect(existsSync(marker)).toBe(false);
    const log = join(node.workDir, 'attach.log');
    expect(existsSync(log) ? readFileSync(log, 'utf8') : '').not.toContain('smuggled into cde');
  });
});

describe('frames smuggled past what the stream allows', () => {
  const outFile = join('/tmp', `vigil-smuggle-${randomBytes(4).toString('hex')}`);
  const afterClose = join('/tmp', `vigil-smuggle-close-${randomBytes(4).toString('hex')}`);

  it('stdin after the v5 close signal, and writes on output and error channels, are dropped', async () => {
    const ws = await open(`/api/v1/namespaces/apps/pods/app/exec?${q(['command=sh', 'command=-c', `command=${encodeURIComponent(`cat > ${outFile}`)}`, 'stdin=1', 'stdout=1', 'stderr=1'])}`);
    expect(ws.status).toBe(101);
    ws.ws!.send(Buffer.concat([Buffer.of(0), Buffer.from('first\n')]));
    ws.ws!.send(Buffer.of(1, 0x41));
    ws.ws!.send(Buffer.concat([Buffer.of(3), Buffer.from('{"status":"Success"}')]));
    ws.ws!.send(Buffer.of(255, 0));
    ws.ws!.send(Buffer.concat([Buffer.of(0), Buffer.from('SMUGGLED\n')]));
    const st = await finalStatus(ws);
    expect(st.status).toBe('Success');
    expect(readFileSync(outFile, 'utf8')).toBe('first\n');
  });

  it('bytes after the client\'s close frame never reach the container', async () => {
    const ws = await open(`/api/v1/namespaces/apps/pods/app/exec?${q(['command=sh', 'command=-c', `command=${encodeURIComponent(`cat > ${afterClose}`)}`, 'stdin=1', 'stdout=1'])}`);
    expect(ws.status).toBe(101);
    ws.ws!.send(Buffer.concat([Buffer.of(0), Buffer.from('kept\n')]));
    await new Promise((r) => setTimeout(r, 300));
    const close = Buffer.alloc(2);
    close.writeUInt16BE(1000, 0);
    ws.socket.write(Buffer.concat([clientFrame(0x8, close), clientFrame(0x2, Buffer.concat([Buffer.of(0), Buffer.from('AFTERCLOSE\n')]))]));
    await ws.closed;
    await new Promise((r) => setTimeout(r, 500));
    expect(readFileSync(afterClose, 'utf8')).toBe('kept\n');
  });
});

describe('a stream does not outlive its credential', () => {
  it('an exec opened with a token that then expires is cut at the expiry', async () => {
    const token = await f.staff.mint({ sub: 'runner@acme.test', aud: KUBE_AUDIENCE, groups: [] }, { lifetimeSeconds: 3 });
    const started = Date.now();
    const ws = await rawWebSocket({ port: f.port, ca, token, path: `/targets/dev/api/v1/namespaces/apps/pods/app/exec?${q(['command=sh', 'command=-c', 'command=echo%20running%3B%20sleep%2030%3B%20echo%20too-late', 'stdout=1'])}` });
    expect(ws.status).toBe(101);
    await ws.closed;
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(ws.channel(1)).toBe('running\n');
  });
});

describe('SPDY (Upgrade: SPDY/3.1, v4.channel.k8s.io) from a raw client', () => {
  /** A SPDY exec session by hand: the upgrade, then frames with header blocks from our own compression context. */
  async function spdyExec(query: string): Promise<{ status: number; head: string; socket: TLSSocket; syn(id: number, type: string, fin?: boolean): Promise<void>; data(id: number, payload: Buffer, fin?: boolean): void; closed: Promise<void> }> {
    const socket = tlsConnect({ host: '127.0.0.1', port: f.port, ca, ALPNProtocols: ['http/1.1'] });
    await new Promise<void>((r, j) => socket.once('secureConnect', r).once('error', j));
    socket.write(`POST /targets/dev/api/v1/namespaces/apps/pods/app/exec?${query} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${f.defaultToken}\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\nContent-Length: 0\r\n\r\n`);
    const head = await new Promise<string>((r) => {
      let text = '';
      const on = (b: Buffer) => {
        text += b.toString('latin1');
        if (text.includes('\r\n\r\n')) {
          socket.off('data', on);
          r(text);
        }
      };
      socket.on('data', on);
    });
    socket.on('data', () => undefined);
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    const deflater = new HeaderDeflater();
    return {
      status: Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1] ?? 0),
      head,
      socket,
      closed,
      async syn(id, type, fin = false) {
        const block = await deflater.run(encodeHeaderBlock([['streamtype', type]]));
        const p = Buffer.alloc(10);
        p.writeUInt32BE(id, 0);
        socket.write(controlFrame(TYPE_SYN_STREAM, fin ? 1 : 0, Buffer.concat([p, block])));
      },
      data(id, payload, fin = false) {
        const h = Buffer.alloc(8);
        h.writeUInt32BE(id, 0);
        h[4] = fin ? 1 : 0;
        h.writeUIntBE(payload.length, 5, 3);
        socket.write(Buffer.concat([h, payload]));
      },
    };
  }

  const spdyOut = join('/tmp', `vigil-spdy-${randomBytes(4).toString('hex')}`);

  it('a hidden rm is refused before the upgrade (HTTP 403), the file kept', async () => {
    const file = victim();
    const s = await spdyExec(q(['%63ommand=rm', `command=${encodeURIComponent(file)}`, 'stdout=1']));
    expect(s.status).toBe(403);
    expect(s.head).toContain('rule streams/no-rm');
    s.socket.destroy();
    expect(readFileSync(file, 'utf8')).toBe('still here\n');
  });

  it('data on a stream kubectl never opened, and a second stdin stream, end the session; nothing reaches the container', async () => {
    const s = await spdyExec(q(['command=sh', 'command=-c', `command=${encodeURIComponent(`cat > ${spdyOut}`)}`, 'stdin=1', 'stdout=1']));
    expect(s.status).toBe(101);
    await s.syn(1, 'error');
    await s.syn(3, 'stdin');
    await s.syn(5, 'stdout');
    await new Promise((r) => setTimeout(r, 300));
    s.data(7, Buffer.from('SMUGGLED on stream 7\n'));
    await s.closed;
    await new Promise((r) => setTimeout(r, 300));
    expect(existsSync(spdyOut) ? readFileSync(spdyOut, 'utf8') : '').not.toContain('SMUGGLED');
    const s2 = await spdyExec(q(['command=sh', 'command=-c', `command=${encodeURIComponent(`cat > ${spdyOut}-2`)}`, 'stdin=1', 'stdout=1']));
    await s2.syn(1, 'error');
    await s2.syn(3, 'stdin');
    await s2.syn(5, 'stdin');
    s2.data(5, Buffer.from('SECOND STDIN\n'));
    await s2.closed;
    await new Promise((r) => setTimeout(r, 300));
    expect(existsSync(`${spdyOut}-2`) ? readFileSync(`${spdyOut}-2`, 'utf8') : '').not.toContain('SECOND STDIN');
  });

  it('a stream type named after an Object member (constructor, __proto__) is no stream type: the session ends, nothing reaches the container', async () => {
    for (const type of ['constructor', '__proto__', 'toString']) {
      const out = `${spdyOut}-${type.replace(/_/g, '')}`;
      const s = await spdyExec(q(['command=sh', 'command=-c', `command=${encodeURIComponent(`cat > ${out}`)}`, 'stdin=1', 'stdout=1']));
      expect(s.status).toBe(101);
      await s.syn(1, 'error');
      await s.syn(3, 'stdin');
      await s.syn(5, type);
      s.data(5, Buffer.from(`AS ${type}\n`));
      await s.closed;
      await new Promise((r) => setTimeout(r, 300));
      expect(existsSync(out) ? readFileSync(out, 'utf8') : '', type).not.toContain(`AS ${type}`);
    }
  });
});

describe('the evidence (the gateway stopped, the bundle exported and verified)', () => {
  it('blocks of what would have run, the drops, and none of the dropped bytes as input', async () => {
    const sessions = await evidence();
    const evs = sessions.flat();
    for (const file of hidden) {
      const session = sessions.find((x) => x.some((e) => e.type === 'command' && JSON.stringify((e['stream'] as { command?: string[] } | undefined)?.command ?? []).includes(file)));
      expect(session, file).toBeDefined();
      const cmd = session!.find((e) => e.type === 'command')!;
      const argv = (cmd['stream'] as { command: string[] }).command;
      expect(argv[0] === 'rm' || argv[0] === '/bin/rm', JSON.stringify(argv)).toBe(true);
      // What approvers and auditors read is the request as sent on: the rebuilt query, not the client's spelling.
      expect(String(cmd['text'])).toMatch(/\?command=(%2Fbin%2F)?rm&/);
      expect(session!.find((e) => e.type === 'decision' && e['command'] === cmd['id'])).toMatchObject({ decision: 'block', rule: 'streams/no-rm' });
      expect(session!.some((e) => e.type === 'channel.open' || e.type === 'output')).toBe(false);
    }
    const repeated = evs.find((e) => e.type === 'command' && (e['stream'] as { container?: string } | undefined)?.container === 'main' && JSON.stringify(e['stream']).includes('"-f"'));
    expect(repeated!['stream']).toMatchObject({ container: 'main', stdout: false, stderr: true, stdin: false }) // the first value counts, as in Go;
    const cde = sessions.filter((x) => x.some((e) => e.type === 'decision' && e['rule'] === 'streams/no-cde-streams'));
    expect(cde.length).toBe(2);
    for (const x of cde) {
      expect((x.find((e) => e.type === 'command')!['request'] as { namespace?: string }).namespace).toBe('cde');
      expect(x.some((e) => e.type === 'input' || e.type === 'channel.open')).toBe(false);
    }
    const reasons = evs.filter((e) => e.type === 'notice' && e['kind'] === 'stream-frame-dropped').map((e) => e['reason']);
    expect(reasons).toContain('stdin after the client closed it');
    expect(reasons).toContain('a message on channel 1, which a client may not write');
    expect(reasons).toContain('a message on channel 3, which a client may not write');
    const input = Buffer.concat(evs.filter((e) => e.type === 'input').map((e) => Buffer.from(e.data!))).toString();
    expect(input).toContain('first\n');
    expect(input).toContain('kept\n');
    expect(input).not.toContain('SMUGGLED');
    expect(input).not.toContain('AFTERCLOSE');
    expect(evs.some((e) => e.type === 'channel.close' && String(e['reason'] ?? '').startsWith('client closed the stream'))).toBe(true);
    const errors = evs.filter((e) => e.type === 'error' && e['code'] === 'stream-protocol').map((e) => String(e['message']));
    expect(errors.some((m) => m.includes('data for stream 7, which kubectl never opened'))).toBe(true);
    expect(errors.some((m) => m.includes('a second stdin stream'))).toBe(true);
    expect(input).not.toContain('SMUGGLED on stream 7');
    expect(input).not.toContain('SECOND STDIN');
    const expired = sessions.find((x) => x.some((e) => e.type === 'command' && String(e['text']).includes('too-late')))!;
    expect(expired.some((e) => e.type === 'error' && e['kind'] === 'session')).toBe(true);
    expect(expired.find((e) => e.type === 'channel.close')).toMatchObject({ exitStatus: null });
    expect(Buffer.concat(expired.filter((e) => e.type === 'output').map((e) => Buffer.from(e.data!))).toString()).toBe('running\n');
  });
});
