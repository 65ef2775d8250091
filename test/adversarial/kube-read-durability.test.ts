/**
 * Reads are sent to the API server while their record is committed; nothing else is, and no answer reaches
 * the client early. The recorder's durability barrier is made to wait (the instant before a crash: a
 * process killed then has given the client nothing) or to fail, around the real recorder, with a probe
 * "API server" that notes when each request arrives:
 *   - a GET is at the API server while its record is not yet durable, but the client gets no byte of the
 *     answer until it is; a POST (and a GET with a body, which Vigil cannot prove is a read) does not reach
 *     the API server at all until then;
 *   - when the barrier fails, the client of a GET gets a 503 and none of the answer, the session ends, a
 *     POST never reaches the API server, and the evidence shows the commands with no result.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Agent, createServer, request, type Server } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedSession } from '../../appliance/evidence/session-recorder.ts';
import { exportAndVerify } from '../helpers/gateway.ts';
import { startKube, type KubeServer } from '../helpers/kube.ts';
import { startKubeGatewayFixture, type KubeGatewayFixture } from '../helpers/kube-gateway.ts';

const POLICIES = `
policies:
  - name: ci
    match: { subjects: ['repo:acme/*'] }
    targets: [probe]
    classes: { read: allow, write: allow, default: block }
`;
const ANSWER = 'probe-answer-7Qx';

let kube: KubeServer;
let probe: Server;
let f: KubeGatewayFixture;
/** Requests the probe API server received: method and path. */
const arrived: string[] = [];

/** The recorder's sync (the barrier before forwarding) made to wait or fail, for sessions started from now. */
const barrier = { mode: 'pass' as 'pass' | 'hold' | 'fail', waiting: [] as { ok: () => void; fail: (e: Error) => void }[], calls: 0, sessions: [] as RecordedSession[] };
function release(): void {
  barrier.mode = 'pass';
  for (const w of barrier.waiting.splice(0)) w.ok();
}
/** The held barriers fail now (the disk went away while the read was at the API server). */
function failHeld(): void {
  barrier.mode = 'pass';
  for (const w of barrier.waiting.splice(0)) w.fail(new Error('test: the archive disk is gone'));
}

beforeAll(async () => {
  kube = await startKube();
  const cert = kube.issueCertificate({ cn: 'probe', ipSans: ['127.0.0.1'], usage: 'server' });
  probe = createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    arrived.push(`${req.method} ${req.url}`);
    req.resume();
    req.on('end', () => {
      res.writeHead(req.method === 'POST' ? 201 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'ConfigMap', apiVersion: 'v1', metadata: { name: 'p', namespace: 'x' }, data: { answer: ANSWER } }));
    });
  });
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  f = await startKubeGatewayFixture({
    kube,
    policies: POLICIES,
    extraTargets: `  - name: probe
    protocol: kubernetes
    server: https://127.0.0.1:${(probe.address() as { port: number }).port}
    ca: tls/dev-cluster-ca.crt
    credential: { tokenFile: secrets/probe.token }
`,
    beforeStart: (dir) => writeFileSync(join(dir, 'appliance', 'secrets', 'probe.token'), 'vigil-probe-token\n', { mode: 0o600 }),
  });
  const recorder = f.gateway.appliance.recorder;
  const start = recorder.start.bind(recorder);
  recorder.start = (ctx) => {
    const s = start(ctx);
    barrier.sessions.push(s);
    const sync = s.sync.bind(s);
    s.sync = async () => {
      barrier.calls++;
      if (barrier.mode === 'fail') throw new Error('test: the archive disk is gone');
      if (barrier.mode === 'hold') await new Promise<void>((ok, fail) => barrier.waiting.push({ ok, fail }));
      return sync();
    };
    return s;
  };
}, 50 * 60_000);

afterAll(async () => {
  release();
  await f?.stop();
  await new Promise<void>((r) => (probe ? probe.close(() => r()) : r()));
  await kube?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Sent {
  /** When the response headers arrived (undefined: not yet). */
  headersAt: number | undefined;
  done: Promise<{ status: number; body: string }>;
}

/** One client connection (one session); `send` notes when the answer's first byte (its headers) arrives. */
function client() {
  const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: readFileSync(f.vigilCaFile) });
  const send = (method: string, path: string, body = ''): Sent => {
    const sent: Sent = { headersAt: undefined, done: Promise.resolve({ status: 0, body: '' }) };
    sent.done = new Promise((resolve) => {
      const req = request({ host: '127.0.0.1', port: f.port, method, path: `/targets/probe${path}`, agent, headers: { authorization: `Bearer ${f.defaultToken}`, accept: 'application/json', ...(body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {}) } }, (res) => {
        sent.headersAt = Date.now();
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', () => resolve({ status: -1, body: text }));
        res.on('aborted', () => resolve({ status: -1, body: text }));
      });
      req.on('error', () => resolve({ status: -1, body: '' }));
      req.end(body);
    });
    return sent;
  };
  return { send, close: () => agent.destroy() };
}

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('reads forwarded while their record is committed', () => {
  it('a GET reaches the API server before its record is durable, but its answer reaches the client only after', async () => {
    const c = client();
    expect((await c.send('GET', '/version').done).status).toBe(200); // opens the session
    barrier.mode = 'hold';
    const path = '/api/v1/namespaces/x/configmaps/held-read';
    const r = c.send('GET', path);
    await until('the probe to get the GET', () => arrived.some((a) => a.includes('held-read')));
    await sleep(500);
    expect(r.headersAt, 'the client got the answer while its record was not durable').toBeUndefined();
    const released = Date.now();
    release();
    const out = await r.done;
    expect(out.status).toBe(200);
    expect(out.body).toContain(ANSWER);
    expect(r.headersAt!).toBeGreaterThanOrEqual(released);
    c.close();
  });

  it('a POST, and a GET with a body, do not reach the API server until their record is durable', async () => {
    const c = client();
    expect((await c.send('GET', '/version').done).status).toBe(200);
    for (const [method, path, body] of [
      ['POST', '/api/v1/namespaces/x/configmaps?fieldManager=held-post', '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"p"}}'],
      ['GET', '/api/v1/namespaces/x/configmaps/held-get-with-body', '{"odd":"body"}'],
    ] as const) {
      const calls = barrier.calls;
      barrier.mode = 'hold';
      const r = c.send(method, path, body);
      await until('the barrier to be asked', () => barrier.calls > calls);
      await sleep(500);
      const marker = path.includes('held-post') ? 'held-post' : 'held-get-with-body';
      expect(arrived.some((a) => a.includes(marker)), `${method} reached the API server before its record was durable`).toBe(false);
      release();
      expect((await r.done).status).toBeLessThan(300);
      expect(arrived.some((a) => a.includes(marker))).toBe(true);
    }
    c.close();
  });

  it('when recording fails, a GET (already answered by the API server) gets a 503 and none of the answer, a POST never reaches the API server, the session ends', async () => {
    const c = client();
    expect((await c.send('GET', '/version').done).status).toBe(200);
    const session = barrier.sessions.at(-1)!;
    barrier.mode = 'hold';
    const sent = c.send('GET', '/api/v1/namespaces/x/configmaps/failed-read');
    await until('the probe to get the GET', () => arrived.some((a) => a.includes('failed-read')));
    await sleep(300); // its answer is at Vigil by now
    expect(sent.headersAt).toBeUndefined();
    failHeld();
    const read = await sent.done;
    expect(read.status).toBe(503);
    expect(read.body).not.toContain(ANSWER);
    expect(read.body).toContain('could not be recorded');
    await until('the session to end', () => !f.gateway.appliance.recorder.liveSessions().some((s) => s.id === session.id));
    barrier.mode = 'pass';
    c.close();

    const w = client();
    expect((await w.send('GET', '/version').done).status).toBe(200);
    barrier.mode = 'fail';
    const write = await w.send('POST', '/api/v1/namespaces/x/configmaps?fieldManager=failed-post', '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"q"}}').done;
    barrier.mode = 'pass';
    expect(write.status).not.toBe(201);
    expect(write.body).not.toContain(ANSWER);
    await sleep(300);
    expect(arrived.some((a) => a.includes('failed-post')), 'a write Vigil could not record reached the API server').toBe(false);
    w.close();
    expect(f.logs()).toContain('recording failed; ending the Kubernetes session');
  });

  it('the evidence verifies: each request is recorded, and the ones whose recording failed have no result', async () => {
    await f.stopGateway();
    const e = await exportAndVerify(f);
    expect(e.report.ok).toBe(true);
    const sessions = [...e.sessions.values()];
    const all = sessions.flat();
    const command = (m: string) => all.find((x) => x.type === 'command' && String(x['text']).includes(m));
    // Command ids are per session: the result is looked for in the command's own session.
    const resultOf = (m: string) => {
      const events = sessions.find((evs) => evs.some((x) => x.type === 'command' && String(x['text']).includes(m)));
      const id = events?.find((x) => x.type === 'command' && String(x['text']).includes(m))?.['id'];
      return events?.find((x) => x.type === 'result' && x['command'] === id);
    };
    for (const m of ['held-read', 'held-post', 'held-get-with-body']) {
      expect(command(m), m).toBeDefined();
      expect(resultOf(m), m).toMatchObject({ status: expect.any(Number) });
    }
    // The failed ones: recorded if the archive kept them at all, never with a result (they were not answered).
    for (const m of ['failed-read', 'failed-post']) expect(resultOf(m), m).toBeUndefined();
    expect(JSON.stringify(all)).not.toContain('vigil-probe-token');
  });
});
