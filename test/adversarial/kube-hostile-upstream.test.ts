/**
 * Fail closed against an API server that misbehaves: a target whose "API server" is a small HTTPS server
 * (its certificate from the real cluster CA) answering what a real kube-apiserver never would — JSON cut
 * off, protobuf, HTML, a watch whose events break, a card number split across chunks, a 401 for Vigil's
 * own credential. None of it may reach the client unmasked. The same server shows what Vigil forwards:
 * never the client's Authorization, Impersonate-* or X-Remote-* headers.
 */
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { join } from 'node:path';
import type { IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportAndVerify } from '../helpers/gateway.ts';
import { startKube, type KubeServer } from '../helpers/kube.ts';
import { startKubeGatewayFixture, type KubeGatewayFixture } from '../helpers/kube-gateway.ts';

const PAN = '4111111111111111';
const POLICIES = `
policies:
  - name: ci
    match: { subjects: ['repo:acme/*'] }
    targets: [dev, hostile]
    classes: { read: allow, write: allow, default: block }
    kubernetes:
      secrets: { read: redact }
`;

let kube: KubeServer;
let hostile: Server;
let f: KubeGatewayFixture;
const seen: { path: string; headers: IncomingHttpHeaders }[] = [];

const cm = (name: string, data: Record<string, string>) => ({ kind: 'ConfigMap', apiVersion: 'v1', metadata: { name, namespace: 'x', resourceVersion: '1' }, data });

function hostileHandler(path: string, res: import('node:http').ServerResponse): void {
  const json = (body: string, type = 'application/json') => {
    res.writeHead(200, { 'content-type': type });
    res.end(body);
  };
  if (path.startsWith('/api/v1/namespaces/x/configmaps/cut')) return json(JSON.stringify(cm('cut', { card: PAN })).slice(0, 60));
  if (path.startsWith('/api/v1/namespaces/x/configmaps/proto')) return json(`k8s\0\n\x0cConfigMap card=${PAN}`, 'application/vnd.kubernetes.protobuf');
  if (path.startsWith('/api/v1/namespaces/x/configmaps/html')) return json(`<html>${PAN}</html>`, 'text/html');
  if (path.startsWith('/api/v1/namespaces/x/configmaps/text')) return json(`card ${PAN} in text`, 'text/plain; charset=utf-8');
  if (path.startsWith('/api/v1/namespaces/x/configmaps/denied')) {
    res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' });
    return void res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 401, reason: 'Unauthorized' }));
  }
  if (path.startsWith('/api/v1/namespaces/x/secrets/plain')) return json(JSON.stringify({ kind: 'Secret', apiVersion: 'v1', metadata: { name: 'plain', namespace: 'x' }, data: { pw: Buffer.from('hunter2-hostile').toString('base64') }, stringData: { raw: 'hunter2-hostile' } }));
  if (path.startsWith('/api/v1/namespaces/x/configmaps') && path.includes('watch=')) {
    res.writeHead(200, { 'content-type': 'application/json;stream=watch' });
    const ev = JSON.stringify({ type: 'ADDED', object: cm('first', { card: PAN }) });
    // The card number split across two writes, a moment apart.
    const at = ev.indexOf(PAN) + 7;
    res.write(ev.slice(0, at));
    setTimeout(() => {
      res.write(`${ev.slice(at)}\n`);
      if (path.includes('broken')) {
        setTimeout(() => res.end(`{"type":"ADDED","object":{"data":{"card":"${PAN}"`), 50);
      } else if (path.includes('garbage')) {
        setTimeout(() => res.end(`["${PAN}"]\n`), 50);
      } else setTimeout(() => res.end(), 50);
    }, 100);
    return;
  }
  if (path.startsWith('/api/v1/namespaces/x/configmaps/echo')) return json(JSON.stringify(cm('echo', { ok: 'yes' })));
  res.writeHead(404, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 404, reason: 'NotFound' }));
}

beforeAll(async () => {
  kube = await startKube();
  const cert = kube.issueCertificate({ cn: 'hostile', ipSans: ['127.0.0.1'], usage: 'server' });
  hostile = createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    seen.push({ path: req.url ?? '', headers: req.headers });
    req.resume();
    req.on('end', () => hostileHandler(req.url ?? '', res));
  });
  await new Promise<void>((r) => hostile.listen(0, '127.0.0.1', () => r()));
  const port = (hostile.address() as { port: number }).port;
  f = await startKubeGatewayFixture({
    kube,
    policies: POLICIES,
    extraTargets: `  - name: hostile
    protocol: kubernetes
    server: https://127.0.0.1:${port}
    ca: tls/dev-cluster-ca.crt
    credential: { tokenFile: secrets/hostile.token }
`,
    // Vigil's own credential for this target: a token file.
    beforeStart: (dir) => writeFileSync(join(dir, 'appliance', 'secrets', 'hostile.token'), 'vigil-own-token-Zq9\n', { mode: 0o600 }),
  });
}, 50 * 60_000);

afterAll(async () => {
  await f?.stop();
  await new Promise<void>((r) => (hostile ? hostile.close(() => r()) : r()));
  await kube?.stop();
});

const get = (path: string, headers: Record<string, string | string[]> = {}) => f.raw('GET', `/targets/hostile${path}`, { authorization: `Bearer ${f.defaultToken}`, ...headers });

describe('a hostile API server', () => {
  it('JSON that does not parse is not forwarded (502 Status)', async () => {
    const r = await get('/api/v1/namespaces/x/configmaps/cut');
    expect(r.status).toBe(502);
    expect(JSON.parse(r.body)).toMatchObject({ kind: 'Status', code: 502 });
    expect(r.body).not.toContain(PAN);
  });

  it.each(['proto', 'html'])('a %s body Vigil cannot inspect is not forwarded', async (what) => {
    const r = await get(`/api/v1/namespaces/x/configmaps/${what}`);
    expect(r.status).toBe(502);
    expect(r.body).not.toContain(PAN);
    expect(r.body).toContain('cannot inspect');
  });

  it('a text body is masked as text', async () => {
    const r = await get('/api/v1/namespaces/x/configmaps/text');
    expect(r.status).toBe(200);
    expect(r.body).toBe('card 411111******1111 in text');
  });

  it('a Secret is redacted whatever request returned it (data and stringData)', async () => {
    const r = await get('/api/v1/namespaces/x/secrets/plain');
    expect(r.status).toBe(200);
    expect(r.body).not.toContain('hunter2-hostile');
    expect(r.body).not.toContain(Buffer.from('hunter2-hostile').toString('base64'));
    expect(JSON.parse(r.body)).toMatchObject({ data: { pw: Buffer.from('[REDACTED]').toString('base64') }, stringData: { raw: '[REDACTED]' } });
  });

  it('a 401 for Vigil\'s own credential is a 502 to the client, not "your token is bad"', async () => {
    const r = await get('/api/v1/namespaces/x/configmaps/denied');
    expect(r.status).toBe(502);
    expect(r.headers['www-authenticate']).toBeUndefined();
    expect(r.body).toContain("refused Vigil's credential");
  });

  it('a watch masks a card number split across chunks', async () => {
    const r = await get('/api/v1/namespaces/x/configmaps?watch=1');
    expect(r.status).toBe(200);
    expect(r.body).not.toContain(PAN);
    expect(JSON.parse(r.body.trim())).toMatchObject({ type: 'ADDED', object: { data: { card: '411111******1111' } } });
  });

  it.each(['broken', 'garbage'])('a watch whose next event is %s is cut off there; nothing clear gets through', async (how) => {
    const r = await get(`/api/v1/namespaces/x/configmaps?watch=1&${how}=1`).catch((e: Error) => ({ status: -1, body: e.message, headers: {} }));
    expect(r.body).not.toContain(PAN);
    if (r.status === 200) expect(r.body.trim().split('\n')).toHaveLength(1);
  });

  it('forwards no Authorization, Impersonate-*, X-Remote-* or cookie of the client; sends its own token and the impersonation', async () => {
    seen.length = 0;
    const r = await get('/api/v1/namespaces/x/configmaps/echo', {
      'impersonate-user': 'admin',
      'impersonate-group': 'system:masters',
      'impersonate-extra-x': 'y',
      'x-remote-user': 'admin',
      'x-remote-group': 'system:masters',
      cookie: 'session=abc',
      'x-forwarded-for': '10.0.0.1',
      accept: 'application/vnd.kubernetes.protobuf, application/json',
    });
    expect(r.status).toBe(200);
    const h = seen.find((s) => s.path.includes('/echo'))!.headers;
    expect(h['authorization']).toBe('Bearer vigil-own-token-Zq9');
    expect(h['impersonate-user']).toBe('repo:acme/payments:ref:refs/heads/main');
    expect(h['impersonate-group']).toBe('repo:acme/payments, org:acme');
    for (const k of Object.keys(h)) expect(k).not.toMatch(/^(x-remote-|impersonate-extra|impersonate-uid|cookie|x-forwarded)/);
    expect(h['accept']).toBe('application/json');
    expect(JSON.stringify(h)).not.toContain(f.defaultToken);
  });

  it('the evidence verifies; it records the failures and holds neither token', async () => {
    await f.stopGateway();
    const e = await exportAndVerify(f);
    expect(e.report.ok).toBe(true);
    const all = [...e.sessions.values()].flat();
    expect(all.filter((x) => x.type === 'error' && x['kind'] === 'masking').map((x) => x['code'])).toEqual(expect.arrayContaining(['unparseable-body', 'uninspectable-body', 'unparseable-watch-event']));
    const text = JSON.stringify(all);
    expect(text).not.toContain('vigil-own-token-Zq9');
    expect(text).not.toContain(f.defaultToken);
    expect(text).not.toContain(PAN);
    expect(text).not.toContain('hunter2-hostile');
    expect(f.logs()).not.toContain('vigil-own-token-Zq9');
  });
});
