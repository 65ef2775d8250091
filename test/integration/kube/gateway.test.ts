/**
 * The Kubernetes API gateway end to end (issue 11): the real kubectl, with its own kubeconfig and cache
 * directory, through Vigil to the real kube-apiserver of test/helpers/kube.ts. Vigil presents its own
 * impersonation-only certificate and impersonates the CI identity, so the cluster's RBAC decides as that
 * identity; Vigil's policy decides first, records every request before forwarding it, masks card numbers
 * and redacts Secret values on the way back, and the exported bundle verifies.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvidenceEvent } from '../../../shared/evidence/events.ts';
import { exportAndVerify, type ExportedEvidence } from '../../helpers/gateway.ts';
import { startKubeGatewayFixture, type KubeGatewayFixture } from '../../helpers/kube-gateway.ts';

const SUBJECT = 'repo:acme/payments:ref:refs/heads/main';
const SECRET_VALUE = 's3cr3t-Kube-9f2xq';
const REVEALED_VALUE = 'visible-by-policy-77';
const PAN = '4111111111111111';
const MASKED_PAN = '411111******1111';
const WATCH_PAN = '5555555555554444';
const REDACTED_B64 = Buffer.from('[REDACTED]').toString('base64');

let f: KubeGatewayFixture;
/** Everything any client was told on stderr, for the no-credential-anywhere check. */
const errors: string[] = [];
let evidence: ExportedEvidence;
let issuedToken = 'x.y.none-issued';

const ok = async (args: string[], o: Parameters<KubeGatewayFixture['kubectl']>[1] = {}) => {
  const r = await f.kubectl(args, o);
  errors.push(r.stderr);
  if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.status}: ${r.stderr}\n${f.logs().slice(-4000)}`);
  return r.stdout;
};
const fails = async (args: string[], o: Parameters<KubeGatewayFixture['kubectl']>[1] = {}) => {
  const r = await f.kubectl(args, o);
  errors.push(r.stderr);
  expect(r.status, `kubectl ${args.join(' ')} should fail:\n${r.stdout}`).not.toBe(0);
  return r.stderr;
};

beforeAll(async () => {
  f = await startKubeGatewayFixture();
  const admin = (args: string[], input?: string) => f.kube.kubectlOk(args, input ? { input } : {});
  for (const ns of ['gw', 'cde', 'kept']) admin(['create', 'namespace', ns]);
  // The cluster's RBAC for the CI identity's group (no controller-manager: the aggregated `edit` role is empty).
  admin(['create', 'clusterrole', 'ci-editor', '--verb=get,list,watch,create,update,patch,delete', '--resource=configmaps,secrets,deployments.apps,namespaces']);
  admin(['create', 'rolebinding', 'ci-editor', '-n', 'gw', '--clusterrole=ci-editor', '--group=repo:acme/payments']);
  admin(['create', 'rolebinding', 'ci-editor', '-n', 'cde', '--clusterrole=ci-editor', '--group=repo:acme/payments']);
  admin(['create', 'clusterrole', 'ns-reader', '--verb=get,list,delete', '--resource=namespaces']);
  admin(['create', 'clusterrolebinding', 'ci-ns', '--clusterrole=ns-reader', '--group=repo:acme/payments']);
  admin(['-n', 'gw', 'create', 'secret', 'generic', 'db', `--from-literal=password=${SECRET_VALUE}`]);
  admin(['-n', 'gw', 'create', 'secret', 'generic', 'revealed', `--from-literal=token=${REVEALED_VALUE}`]);
  admin(['-n', 'gw', 'create', 'configmap', 'cards', `--from-literal=card=${PAN}`, '--from-literal=note=paid with card 4111 1111 1111 1111']);
  admin(['-n', 'cde', 'create', 'deployment', 'web', '--image=registry.test/web:1']);
}, 50 * 60_000);

afterAll(async () => {
  await f?.stop();
});

describe('kubectl through Vigil to a real kube-apiserver', () => {
  it('serves discovery and version through the /targets/<name> prefix', async () => {
    const v = JSON.parse(await ok(['version', '-o', 'json'])) as { serverVersion: { gitVersion: string } };
    expect(v.serverVersion.gitVersion).toMatch(/^v1\.33\./);
    const resources = await ok(['api-resources', '-o', 'name']);
    expect(resources).toMatch(/^configmaps$/m);
    expect(resources).toMatch(/^deployments\.apps$/m);
  });

  it('RBAC sees the impersonated identity: whoami and auth can-i', async () => {
    const who = JSON.parse(await ok(['auth', 'whoami', '-o', 'json'])) as { status: { userInfo: { username: string; groups: string[] } } };
    expect(who.status.userInfo.username).toBe(SUBJECT);
    expect(who.status.userInfo.groups).toEqual(expect.arrayContaining(['repo:acme/payments', 'org:acme', 'system:authenticated']));
    expect(who.status.userInfo.groups).not.toContain('system:masters');
    expect((await f.kubectl(['auth', 'can-i', 'list', 'configmaps', '-n', 'gw'])).stdout.trim()).toBe('yes');
    expect((await f.kubectl(['auth', 'can-i', 'create', 'pods', '-n', 'gw'])).stdout.trim()).toBe('no');
    expect((await f.kubectl(['auth', 'can-i', 'list', 'configmaps', '-n', 'default'])).stdout.trim()).toBe('no');
    // The cluster, not only Vigil, refuses what the identity has no role for.
    expect(await fails(['get', 'nodes'])).toContain(`User "${SUBJECT}" cannot list resource "nodes"`);
  });

  it('creates, reads, updates and deletes ConfigMaps', async () => {
    await ok(['-n', 'gw', 'create', 'configmap', 'settings', '--from-literal=colour=blue']);
    const cm = JSON.parse(await ok(['-n', 'gw', 'get', 'configmap', 'settings', '-o', 'json'])) as { data: Record<string, string> };
    expect(cm.data).toEqual({ colour: 'blue' });
    await ok(['-n', 'gw', 'patch', 'configmap', 'settings', '--type=merge', '-p', '{"data":{"colour":"green"}}']);
    expect(await ok(['-n', 'gw', 'get', 'configmap', 'settings', '-o', 'jsonpath={.data.colour}'])).toBe('green');
    const table = await ok(['-n', 'gw', 'get', 'configmaps', '-o', 'wide']);
    expect(table).toMatch(/^NAME\s+DATA\s+AGE/m);
    expect(table).toMatch(/^settings\s+1\s/m);
    await ok(['-n', 'gw', 'delete', 'configmap', 'settings']);
    expect(f.kube.kubectl(['-n', 'gw', 'get', 'configmap', 'settings']).stderr).toContain('NotFound');
  });

  it('server-side apply works and the field manager is kubectl', async () => {
    const manifest = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'applied', namespace: 'gw' }, data: { mode: 'ssa' } });
    expect(await ok(['apply', '--server-side', '-f', '-'], { input: manifest })).toContain('configmap/applied serverside-applied');
    const cm = JSON.parse(f.kube.kubectlOk(['-n', 'gw', 'get', 'configmap', 'applied', '-o', 'json', '--show-managed-fields'])) as { data: Record<string, string>; metadata: { managedFields: { manager: string; operation: string }[] } };
    expect(cm.data).toEqual({ mode: 'ssa' });
    expect(cm.metadata.managedFields).toEqual(expect.arrayContaining([expect.objectContaining({ manager: 'kubectl', operation: 'Apply' })]));
  });

  it('chunked lists (limit/continue), client-side apply and explain (OpenAPI v3) work', async () => {
    for (const n of ['c1', 'c2', 'c3']) f.kube.kubectlOk(['-n', 'gw', 'create', 'configmap', n, '--from-literal=a=b']);
    const names = (await ok(['-n', 'gw', 'get', 'configmaps', '--chunk-size=1', '-o', 'name'])).trim().split('\n');
    expect(names).toEqual(expect.arrayContaining(['configmap/c1', 'configmap/c2', 'configmap/c3']));
    const manifest = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'client-applied', namespace: 'gw' }, data: { v: '1' } });
    expect(await ok(['apply', '-f', '-'], { input: manifest })).toContain('configmap/client-applied created');
    expect(await ok(['apply', '-f', '-'], { input: manifest.replace('"v":"1"', '"v":"2"') })).toContain('configmap/client-applied configured');
    expect(f.kube.kubectlOk(['-n', 'gw', 'get', 'configmap', 'client-applied', '-o', 'jsonpath={.data.v}'])).toBe('2');
    expect(await ok(['explain', 'configmap.data'])).toContain('FIELD: data');
  });

  it('redacts Secret values in get -o json, -o yaml, jsonpath, lists and tables', async () => {
    const one = JSON.parse(await ok(['-n', 'gw', 'get', 'secret', 'db', '-o', 'json'])) as { data: Record<string, string> };
    expect(one.data).toEqual({ password: REDACTED_B64 });
    const yaml = await ok(['-n', 'gw', 'get', 'secret', 'db', '-o', 'yaml']);
    expect(yaml).toContain(`password: ${REDACTED_B64}`);
    expect(Buffer.from(await ok(['-n', 'gw', 'get', 'secret', 'db', '-o', 'jsonpath={.data.password}']), 'base64').toString()).toBe('[REDACTED]');
    const list = JSON.parse(await ok(['-n', 'gw', 'get', 'secrets', '-o', 'json'])) as { items: { metadata: { name: string }; data: Record<string, string> }[] };
    expect(list.items.find((i) => i.metadata.name === 'db')?.data).toEqual({ password: REDACTED_B64 });
    const table = await ok(['-n', 'gw', 'get', 'secrets']);
    expect(table).toMatch(/^db\s+Opaque\s+1\s/m);
    // A Secret policy names (kubernetes.secrets.reveal) comes through as it is.
    expect(Buffer.from(await ok(['-n', 'gw', 'get', 'secret', 'revealed', '-o', 'jsonpath={.data.token}']), 'base64').toString()).toBe(REVEALED_VALUE);
    const revealedInList = list.items.find((i) => i.metadata.name === 'revealed');
    expect(Buffer.from(revealedInList?.data['token'] ?? '', 'base64').toString()).toBe(REVEALED_VALUE);
    // A Secret the client creates comes back redacted too, and its value is not in the recorded request.
    const created = await ok(['-n', 'gw', 'create', 'secret', 'generic', 'made', `--from-literal=key=${SECRET_VALUE}-made`, '-o', 'json']);
    expect(created).not.toContain(Buffer.from(`${SECRET_VALUE}-made`).toString('base64'));
    expect(Buffer.from(f.kube.kubectlOk(['-n', 'gw', 'get', 'secret', 'made', '-o', 'jsonpath={.data.key}']), 'base64').toString()).toBe(`${SECRET_VALUE}-made`);
    for (const out of [JSON.stringify(one), yaml, JSON.stringify(list), created]) {
      expect(out).not.toContain(SECRET_VALUE);
      expect(out).not.toContain(Buffer.from(SECRET_VALUE).toString('base64'));
    }
  });

  it('kubectl create token (a TokenRequest) works; the token is not recorded', async () => {
    f.kube.kubectlOk(['-n', 'gw', 'create', 'serviceaccount', 'runner']);
    f.kube.kubectlOk(['-n', 'gw', 'create', 'role', 'tokens', '--verb=create', '--resource=serviceaccounts/token']);
    f.kube.kubectlOk(['-n', 'gw', 'create', 'rolebinding', 'tokens', '--role=tokens', '--group=repo:acme/payments']);
    issuedToken = (await ok(['-n', 'gw', 'create', 'token', 'runner'])).trim();
    expect(issuedToken.split('.')).toHaveLength(3);
  });

  it('redacts a Secret applied with kubectl apply (its last-applied-configuration annotation too)', async () => {
    const manifest = JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'applied-secret', namespace: 'gw' }, stringData: { pw: `${SECRET_VALUE}-applied` } });
    f.kube.kubectlOk(['apply', '-f', '-'], { input: manifest });
    const out = await ok(['-n', 'gw', 'get', 'secret', 'applied-secret', '-o', 'json']);
    expect(out).not.toContain(`${SECRET_VALUE}-applied`);
    expect(out).not.toContain(Buffer.from(`${SECRET_VALUE}-applied`).toString('base64'));
    expect((JSON.parse(out) as { metadata: { annotations: Record<string, string> } }).metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']).toBe('[REDACTED]');
  });

  it('masks a card number held in a ConfigMap (the client gets no clear PAN)', async () => {
    const out = await ok(['-n', 'gw', 'get', 'configmap', 'cards', '-o', 'json']);
    const cm = JSON.parse(out) as { data: Record<string, string> };
    expect(cm.data['card']).toBe(MASKED_PAN);
    expect(cm.data['note']).toBe('paid with card 4111 11** **** 1111');
    expect(out).not.toContain(PAN);
    expect(await ok(['-n', 'gw', 'get', 'configmaps', '-o', 'yaml'])).not.toContain(PAN);
    // The API server still holds the clear value: Vigil masked the response, not the data.
    expect(f.kube.kubectlOk(['-n', 'gw', 'get', 'configmap', 'cards', '-o', 'jsonpath={.data.card}'])).toBe(PAN);
  });

  it('masks each event of a watch', async () => {
    const child = f.kube.kubectlSpawn(['-n', 'gw', 'get', 'configmaps', '--watch', '-o', 'json'], { kubeconfig: f.kubeconfig('watch', f.defaultToken) });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    try {
      await waitFor(() => out.includes('"cards"'), () => `watch: ${out.slice(-500)} ${err}`);
      f.kube.kubectlOk(['-n', 'gw', 'create', 'configmap', 'watched', `--from-literal=card=${WATCH_PAN}`]);
      await waitFor(() => out.includes('"watched"'), () => `watch never showed the new ConfigMap: ${err}`);
      expect(out).toContain('555555******4444');
      expect(out).not.toContain(WATCH_PAN);
      expect(out).not.toContain(PAN);
    } finally {
      child.kill('SIGTERM');
    }
    errors.push(err);
  });

  it('blocks delete namespace by rule (403 naming it); the namespace still exists', async () => {
    const err = await fails(['delete', 'namespace', 'kept']);
    expect(err).toContain('Error from server (Forbidden)');
    expect(err).toContain('rule ci-kube/no-namespace-delete');
    expect(err).toContain('namespaces are never deleted through Vigil');
    expect(f.kube.kubectlOk(['get', 'namespace', 'kept', '-o', 'jsonpath={.status.phase}'])).toBe('Active');
  });

  it('holds a patch of a cde deployment until approved, then forwards it with a Warning', async () => {
    const pending = f.kubectl(['-n', 'cde', 'patch', 'deployment', 'web', '--type=merge', '-p', '{"metadata":{"labels":{"approved":"yes"}}}']);
    let id: string | undefined;
    await waitFor(() => {
      id = f.gateway.localApprovals.list('pending')[0]?.id;
      return id !== undefined;
    }, () => 'no approval request appeared');
    // Nothing reached the API server while it waited.
    expect(f.kube.kubectlOk(['-n', 'cde', 'get', 'deployment', 'web', '-o', 'jsonpath={.metadata.labels.approved}'])).toBe('');
    f.gateway.localApprovals.decide(id!, { subject: 'dana@acme.test', issuer: 'https://login.acme.test', groups: ['ops'] }, 'approve', null, '127.0.0.1');
    const r = await pending;
    errors.push(r.stderr);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`Warning: vigil: this request was held for approval (rule ci-kube/patch-cde-deployments, request ${id}) and approved by dana@acme.test`);
    expect(f.kube.kubectlOk(['-n', 'cde', 'get', 'deployment', 'web', '-o', 'jsonpath={.metadata.labels.approved}'])).toBe('yes');
  });

  it('a held request that is denied is answered 403 and never forwarded', async () => {
    const pending = f.kubectl(['-n', 'cde', 'patch', 'deployment', 'web', '--type=merge', '-p', '{"metadata":{"labels":{"denied":"yes"}}}']);
    let id: string | undefined;
    await waitFor(() => {
      id = f.gateway.localApprovals.list('pending')[0]?.id;
      return id !== undefined;
    }, () => 'no approval request appeared');
    f.gateway.localApprovals.decide(id!, { subject: 'dana@acme.test', issuer: 'https://login.acme.test', groups: ['ops'] }, 'deny', 'not during the freeze', '127.0.0.1');
    const r = await pending;
    errors.push(r.stderr);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('Error from server (Forbidden)');
    expect(r.stderr).toContain(`needs approval (rule ci-kube/patch-cde-deployments, request ${id}): not approved: denied by dana@acme.test: not during the freeze`);
    expect(f.kube.kubectlOk(['-n', 'cde', 'get', 'deployment', 'web', '-o', 'jsonpath={.metadata.labels.denied}'])).toBe('');
  });

  it('a held request whose approval expires is answered 403 and never forwarded', async () => {
    f.kube.kubectlOk(['-n', 'cde', 'create', 'configmap', 'limits', '--from-literal=max=1']);
    const started = Date.now();
    const r = await f.kubectl(['-n', 'cde', 'patch', 'configmap', 'limits', '--type=merge', '-p', '{"data":{"max":"2"}}'], { timeoutMs: 40_000 });
    errors.push(r.stderr);
    expect(Date.now() - started).toBeGreaterThanOrEqual(4_000);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('Error from server (Forbidden)');
    expect(r.stderr).toMatch(/needs approval \(rule ci-kube\/patch-cde-configmaps, request apr_[\w-]+\): the approval request expired/);
    expect(f.kube.kubectlOk(['-n', 'cde', 'get', 'configmap', 'limits', '-o', 'jsonpath={.data.max}'])).toBe('1');
  }, 60_000);

  it('refuses an expired and a wrong-audience token with 401 (kubectl: Unauthorized)', async () => {
    const expired = await f.token({ now: new Date(Date.now() - 3_600_000), lifetimeSeconds: 60 });
    expect(await fails(['get', 'configmaps', '-n', 'gw'], { token: expired })).toContain('Unauthorized');
    const wrongAudience = await f.token({ audience: 'someone-else' });
    expect(await fails(['get', 'configmaps', '-n', 'gw'], { token: wrongAudience })).toContain('Unauthorized');
    const raw = await f.raw('GET', '/targets/dev/api/v1/namespaces/gw/configmaps', { authorization: `Bearer ${wrongAudience}` });
    expect(raw.status).toBe(401);
    expect(JSON.parse(raw.body)).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Unauthorized', code: 401 });
    expect(raw.body).not.toContain(wrongAudience);
    const none = await f.raw('GET', '/targets/dev/api/v1/namespaces', {});
    expect(none.status).toBe(401);
    expect(JSON.parse(none.body)).toMatchObject({ kind: 'Status', code: 401 });
  });

  it('the default policy block refuses secret reads (and writes its classes do not allow)', async () => {
    const other = await f.token({ repository: 'other/tool' });
    const err = await fails(['-n', 'gw', 'get', 'secrets'], { token: other });
    expect(err).toContain('Error from server (Forbidden)');
    expect(err).toContain('rule ci-strict/kubernetes.secrets');
    expect(await fails(['-n', 'gw', 'create', 'configmap', 'nope', '--from-literal=a=b'], { token: other })).toContain('rule ci-strict/default');
  });

  it('records requests, decisions, masked responses and impersonation, and the bundle verifies', async () => {
    await f.stopGateway();
    evidence = await exportAndVerify(f);
    expect(evidence.report.ok, JSON.stringify(evidence.report, null, 1).slice(0, 3000)).toBe(true);
    const all = [...evidence.sessions.values()].flat();
    const sessions = [...evidence.sessions.values()].filter((evs) => evs.some((e) => e.type === 'session.open' && e['protocol'] === 'kubernetes'));
    expect(sessions.length).toBeGreaterThan(5);
    const commands = all.filter((e) => e.type === 'command' && e['kind'] === 'k8s');
    // The delete namespace request: recorded with its facts, blocked by the rule.
    const del = commands.find((e) => e['method'] === 'DELETE' && String(e['path']).endsWith('/namespaces/kept'))!;
    expect(del).toMatchObject({ text: 'DELETE /api/v1/namespaces/kept', request: { verb: 'delete', resource: 'namespaces', name: 'kept', namespace: 'kept' }, classification: [{ class: 'delete', command: 'delete', tables: ['kept/namespaces/kept'] }] });
    const session = sessionOf(evidence, del);
    expect(session.find((e) => e.type === 'decision' && e['command'] === del['id'])).toMatchObject({ decision: 'block', rule: 'ci-kube/no-namespace-delete' });
    expect(session.some((e) => e.type === 'result' && e['command'] === del['id'])).toBe(false);
    expect(session.find((e) => e.type === 'notice' && e['kind'] === 'impersonation')).toMatchObject({ user: SUBJECT, groups: ['repo:acme/payments', 'org:acme'] });
    // The card number: masked in the recorded response, and the masking counted.
    const cards = commands.find((e) => e['method'] === 'GET' && String(e['path']).endsWith('/configmaps/cards'))!;
    const cardSession = sessionOf(evidence, cards);
    const result = cardSession.find((e) => e.type === 'result' && e['command'] === cards['id'])!;
    expect(result['status']).toBe(200);
    expect(String(result['body'])).toContain(MASKED_PAN);
    expect(cardSession.find((e) => e.type === 'masking' && e['command'] === cards['id'])).toMatchObject({ kinds: { pan: 2 } });
    // The held patch: hold, approval, release before its result.
    const patch = commands.find((e) => e['method'] === 'PATCH' && String(e['path']).includes('/deployments/web') && String(e['body']).includes('"approved"'))!;
    const ps = sessionOf(evidence, patch);
    const seq = (p: (e: EvidenceEvent) => boolean) => ps.find(p)!.seq;
    expect(seq((e) => e.type === 'command.released' && e['command'] === patch['id'])).toBeLessThan(seq((e) => e.type === 'result' && e['command'] === patch['id']));
    expect(evidence.report.approvals?.filter((a) => a.outcome === 'approved' && a.ran)).toHaveLength(1);
    // Watch events recorded one by one, masked.
    const watchEvent = all.find((e) => e.type === 'notice' && e['kind'] === 'watch-event' && e['object'] === 'gw/watched');
    expect(String(watchEvent?.['body'])).toContain('555555******4444');
    // Headers recorded from an allow-list: never Authorization.
    expect(commands.every((e) => !('authorization' in (e['headers'] as object)))).toBe(true);
    expect(commands.some((e) => String((e['headers'] as Record<string, string>)['user-agent']).startsWith('kubectl/'))).toBe(true);
  });

  it('no bearer token, cluster credential, Secret value or clear PAN in any archive, log or error', async () => {
    const archive = JSON.stringify([...evidence.sessions.values()].flat(), (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v));
    const places = { archive, log: f.logs(), errors: errors.join('\n') };
    const keyBody = f.vigilCredential.keyPem.split('\n').filter((l) => l && !l.startsWith('-----')).join('');
    const forbidden = {
      'the bearer token': f.defaultToken,
      "the token's signature": f.defaultToken.split('.')[2]!,
      "Vigil's cluster key": keyBody.slice(0, 40),
      "the admin's key": f.kube.adminKey.split('\n')[1]!,
      'a Secret value': SECRET_VALUE,
      'a Secret value (base64)': Buffer.from(SECRET_VALUE).toString('base64'),
      'a clear PAN': PAN,
      'another clear PAN': WATCH_PAN,
    };
    for (const [where, text] of Object.entries(places)) {
      for (const [what, value] of Object.entries(forbidden)) expect(text.includes(value), `${what} in the ${where}`).toBe(false);
    }
    // What policy reveals to the client is still not kept in the evidence; nor is a token the cluster issued.
    expect(archive).not.toContain(Buffer.from(REVEALED_VALUE).toString('base64'));
    expect(archive).not.toContain(REVEALED_VALUE);
    expect(archive).not.toContain(issuedToken.split('.')[2]!);
  });
});

function sessionOf(e: ExportedEvidence, ev: EvidenceEvent): EvidenceEvent[] {
  for (const evs of e.sessions.values()) if (evs.includes(ev)) return evs;
  throw new Error('event in no session');
}

async function waitFor(cond: () => boolean, why: () => string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(why());
    await new Promise((r) => setTimeout(r, 50));
  }
}
