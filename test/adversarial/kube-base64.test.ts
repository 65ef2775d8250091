/**
 * Card numbers hidden in base64 through the Kubernetes gateway: a ConfigMap's `binaryData`, a revealed
 * Secret's `data`, an annotation holding base64 (once or twice encoded), the last-applied-configuration of a
 * ConfigMap applied with binaryData, read with get, list, a Table and a watch, from the real kube-apiserver.
 * Both halves: the client never gets the card number (clear or encoded; what it gets still decodes, masked),
 * the API server keeps what was written, and the evidence holds no card number (clear or encoded) and says
 * what was decoded and masked. A value declared base64 that does not decode (only a hostile API server can
 * send one) is not forwarded.
 */
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportAndVerify } from '../helpers/gateway.ts';
import { startKube, type KubeServer } from '../helpers/kube.ts';
import { startKubeGatewayFixture, type KubeGatewayFixture } from '../helpers/kube-gateway.ts';

const PAN = '4111111111111111';
const MASKED = '411111******1111';
const b64 = (s: string) => Buffer.from(s).toString('base64');
/**
 * Where the card number shows in a text: clear, or inside any base64 run once (or twice) decoded, at any
 * alignment, standard or URL-safe alphabet. Independent of Vigil's own decoder.
 */
function leaks(text: string, depth = 0): string[] {
  const found = text.includes(PAN) ? [depth === 0 ? 'clear' : `base64 x${depth}`] : [];
  if (depth >= 2) return found;
  for (const run of text.match(/[A-Za-z0-9+/_-]{16,}=*/g) ?? []) {
    for (const enc of ['base64', 'base64url'] as const) {
      for (let skip = 0; skip < 4; skip++) found.push(...leaks(Buffer.from(run.slice(skip), enc).toString('latin1'), depth + 1));
    }
  }
  return [...new Set(found)];
}
const POLICIES = `
policies:
  - name: ci
    match: { subjects: ['repo:acme/*'] }
    targets: [dev, hostile]
    classes: { read: allow, write: allow, default: block }
    kubernetes:
      secrets: { read: redact, reveal: ['b64/revealed'] }
`;

let kube: KubeServer;
let f: KubeGatewayFixture;
let hostile: Server;

beforeAll(async () => {
  kube = await startKube();
  // A hostile "API server" for what the real one never sends: binaryData that is not base64.
  const cert = kube.issueCertificate({ cn: 'hostile', ipSans: ['127.0.0.1'], usage: 'server' });
  hostile = createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' });
    // The card number spelt with JSON escapes: clear once parsed, so Vigil must not pass these bytes on as they are.
    if (req.url?.includes('escaped')) return void res.end(`{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"escaped"},"data":{"card":"${[...PAN].map((c) => `\\u00${c.charCodeAt(0).toString(16)}`).join('')}"}}`);
    res.end(JSON.stringify({ kind: 'ConfigMap', apiVersion: 'v1', metadata: { name: 'bad', namespace: 'b64' }, binaryData: { card: `${PAN}!!not-base64` } }));
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
    beforeStart: (dir) => writeFileSync(join(dir, 'appliance', 'secrets', 'hostile.token'), 'vigil-own-token-b64\n', { mode: 0o600 }),
  });
  const admin = (args: string[], input?: string) => f.kube.kubectlOk(args, input ? { input } : {});
  admin(['create', 'namespace', 'b64']);
  admin(['create', 'role', 'reader', '-n', 'b64', '--verb=get,list,watch,create,patch', '--resource=configmaps,secrets']);
  admin(['create', 'rolebinding', 'reader', '-n', 'b64', '--role=reader', '--group=repo:acme/payments']);
  const put = async (body: object, resource = 'configmaps') => {
    const r = await f.kube.api('POST', `/api/v1/namespaces/b64/${resource}`, { body });
    if (r.status !== 201) throw new Error(`create: ${r.status} ${r.body}`);
  };
  await put({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'bin', annotations: { note: `card ${b64(`paid with ${PAN} today`)}`, twice: b64(b64(`card ${PAN}`)) } }, binaryData: { card: b64(PAN), spaced: b64(`4111 1111 1111 1111\n`), blob: b64('\u0000\u0001no card here') } });
  await put({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'revealed' }, data: { card: b64(PAN), pw: b64('open-sesame-b64') } }, 'secrets');
  // kubectl apply keeps the object (binaryData included) in the last-applied-configuration annotation.
  admin(['-n', 'b64', 'apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'applied' }, binaryData: { card: b64(PAN) } }));
}, 50 * 60_000);

afterAll(async () => {
  await f?.stop();
  await new Promise<void>((r) => (hostile ? hostile.close(() => r()) : r()));
  await kube?.stop();
});

const get = (path: string, target = 'dev', headers: Record<string, string> = {}) => f.raw('GET', `/targets/${target}${path}`, { authorization: `Bearer ${f.defaultToken}`, accept: 'application/json', ...headers });

describe('base64 through the Kubernetes gateway', () => {
  it('binaryData and base64 in annotations reach the client masked, still decodable; the API server keeps the original', async () => {
    const r = await get('/api/v1/namespaces/b64/configmaps/bin');
    expect(r.status).toBe(200);
    expect(leaks(r.body)).toEqual([]);
    const cm = JSON.parse(r.body) as { binaryData: Record<string, string>; metadata: { annotations: Record<string, string> } };
    expect(Buffer.from(cm.binaryData['card']!, 'base64').toString()).toBe(MASKED);
    expect(Buffer.from(cm.binaryData['spaced']!, 'base64').toString()).not.toContain('1111 1111 1111');
    expect(Buffer.from(cm.binaryData['blob']!, 'base64').toString()).toBe('\u0000\u0001no card here');
    expect(Buffer.from(cm.metadata.annotations['note']!.slice(5), 'base64').toString()).toBe(`paid with ${MASKED} today`);
    expect(Buffer.from(Buffer.from(cm.metadata.annotations['twice']!, 'base64').toString(), 'base64').toString()).toBe(`card ${MASKED}`);
    const direct = await f.kube.api('GET', '/api/v1/namespaces/b64/configmaps/bin');
    expect((JSON.parse(direct.body) as { binaryData: Record<string, string> }).binaryData['card']).toBe(b64(PAN));
  });

  it('a list, a Table (with the objects), a watch and kubectl apply\'s annotation are masked alike', async () => {
    const list = await get('/api/v1/namespaces/b64/configmaps');
    expect(list.status).toBe(200);
    expect(leaks(list.body)).toEqual([]);
    expect(list.body).toContain(b64(MASKED));
    const table = await get('/api/v1/namespaces/b64/configmaps?includeObject=Object', 'dev', { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' });
    expect(table.status).toBe(200);
    expect(table.body).toContain('"kind":"Table"');
    expect(leaks(table.body)).toEqual([]);
    const watch = await f.raw('GET', '/targets/dev/api/v1/namespaces/b64/configmaps?watch=1&timeoutSeconds=1', { authorization: `Bearer ${f.defaultToken}`, accept: 'application/json' });
    expect(watch.status).toBe(200);
    expect(watch.body).toContain(b64(MASKED));
    expect(leaks(watch.body)).toEqual([]);
    const applied = await f.kubectl(['-n', 'b64', 'get', 'configmap', 'applied', '-o', 'json']);
    expect(applied.status).toBe(0);
    expect(applied.stdout).toContain('last-applied-configuration');
    expect(leaks(applied.stdout)).toEqual([]);
  });

  it('a revealed Secret is shown, but a card number in its data is masked', async () => {
    const r = await f.kubectl(['-n', 'b64', 'get', 'secret', 'revealed', '-o', 'json']);
    expect(r.status).toBe(0);
    const s = JSON.parse(r.stdout) as { data: Record<string, string> };
    expect(Buffer.from(s.data['pw']!, 'base64').toString()).toBe('open-sesame-b64');
    expect(Buffer.from(s.data['card']!, 'base64').toString()).toBe(MASKED);
    expect(leaks(r.stdout)).toEqual([]);
  });

  it('a client\'s ConfigMap with binaryData reaches the API server as written (the evidence keeps it masked)', async () => {
    const body = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'posted' }, binaryData: { card: b64(`pan=${PAN}`) } });
    const r = await f.raw('POST', '/targets/dev/api/v1/namespaces/b64/configmaps', { authorization: `Bearer ${f.defaultToken}`, 'content-type': 'application/json', accept: 'application/json' }, body);
    expect(r.status).toBe(201);
    expect(leaks(r.body)).toEqual([]);
    const direct = await f.kube.api('GET', '/api/v1/namespaces/b64/configmaps/posted');
    expect((JSON.parse(direct.body) as { binaryData: Record<string, string> }).binaryData['card']).toBe(b64(`pan=${PAN}`));
  });

  it('binaryData that is not base64 is not forwarded (fail closed)', async () => {
    const r = await get('/api/v1/namespaces/b64/configmaps/bad', 'hostile');
    expect(r.status).toBe(502);
    expect(r.body).toContain('cannot decode');
    expect(r.body).not.toContain(PAN);
  });

  it('a card number spelt with JSON escapes is masked (Vigil passes on the API server\'s own bytes only when nothing in them was masked)', async () => {
    const r = await get('/api/v1/namespaces/b64/configmaps/escaped', 'hostile');
    expect(r.status).toBe(200);
    expect(r.body).not.toContain('\\u0034\\u0031');
    expect((JSON.parse(r.body) as { data: { card: string } }).data.card).toBe(MASKED);
  });

  it('the evidence verifies, holds no card number in any encoding, and says what base64 was decoded and masked', async () => {
    await f.stopGateway();
    const e = await exportAndVerify(f);
    expect(e.report.ok).toBe(true);
    const all = [...e.sessions.values()].flat();
    const text = JSON.stringify(all);
    expect(leaks(text)).toEqual([]);
    expect(text).not.toContain(b64(`pan=${PAN}`));
    expect(text).not.toContain('open-sesame-b64'); // a revealed Secret is still redacted in the evidence
    const results = all.filter((x) => x.type === 'result' && x['base64'] !== undefined).map((x) => x['base64'] as { decoded: number; masked: number });
    expect(results.length).toBeGreaterThan(0);
    expect(results.some((t) => t.masked >= 3)).toBe(true);
    expect(all.some((x) => x.type === 'notice' && x['kind'] === 'watch-event' && (x['base64'] as { masked?: number } | undefined)?.masked)).toBe(true);
    expect(all.some((x) => x.type === 'command' && (x['bodyBase64'] as { masked?: number } | undefined)?.masked === 1)).toBe(true);
    expect(all.some((x) => x.type === 'error' && x['kind'] === 'masking' && x['code'] === 'undecodable-base64')).toBe(true);
    expect(all.some((x) => x.type === 'masking' && Number((x['kinds'] as { pan: number }).pan) > 0)).toBe(true);
  });
});
