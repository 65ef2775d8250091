/**
 * `vigil kubeconfig` and `vigil kube-credential`: the kubeconfig it writes holds no credential, kubectl runs
 * the plugin, which reads the token from a file each time kubectl needs one; through Vigil to the real
 * kube-apiserver. (That kubectl runs the plugin again once expirationTimestamp passes, reading a rotated
 * file, is kubectl's behaviour and not exercised here.)
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubeGatewayFixture, type KubeGatewayFixture } from '../../helpers/kube-gateway.ts';

const VIGIL = resolve(import.meta.dirname, '../../../bin/vigil.mjs');
let f: KubeGatewayFixture;

beforeAll(async () => {
  f = await startKubeGatewayFixture();
  f.kube.kubectlOk(['create', 'namespace', 'kc']);
  f.kube.kubectlOk(['-n', 'kc', 'create', 'configmap', 'hello', '--from-literal=a=b']);
  f.kube.kubectlOk(['-n', 'kc', 'create', 'role', 'r', '--verb=get,list', '--resource=configmaps']);
  f.kube.kubectlOk(['-n', 'kc', 'create', 'rolebinding', 'r', '--role=r', '--group=repo:acme/payments']);
}, 50 * 60_000);

afterAll(async () => {
  await f?.stop();
});

describe('vigil kubeconfig + kube-credential', () => {
  it('writes a kubeconfig with no token in it; kubectl gets the token from the plugin', async () => {
    const tokenFile = join(f.dir, 'token');
    writeFileSync(tokenFile, `${f.defaultToken}\n`, { mode: 0o600 });
    const out = join(f.dir, 'vigil.kubeconfig');
    execFileSync(process.execPath, [VIGIL, 'kubeconfig', '--target', 'dev', '--server', `https://127.0.0.1:${f.port}`, '--ca', f.vigilCaFile, '--token-file', tokenFile, '--command', VIGIL, '--out', out]);
    const text = readFileSync(out, 'utf8');
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(text).toContain(`/targets/dev`);
    expect(text).toContain('kube-credential');
    expect(text).not.toContain(f.defaultToken);
    const r = await f.kubectl(['-n', 'kc', 'get', 'configmap', 'hello', '-o', 'jsonpath={.data.a}'], { kubeconfig: out, timeoutMs: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('b');
    const who = JSON.parse((await f.kubectl(['auth', 'whoami', '-o', 'json'], { kubeconfig: out })).stdout) as { status: { userInfo: { username: string } } };
    expect(who.status.userInfo.username).toBe('repo:acme/payments:ref:refs/heads/main');
  }, 90_000);

  it('the plugin prints an ExecCredential with the token, its expiry and the version kubectl asked for', () => {
    const tokenFile = join(f.dir, 'token');
    const out = execFileSync(process.execPath, [VIGIL, 'kube-credential', '--token-file', tokenFile], { env: { ...process.env, KUBERNETES_EXEC_INFO: JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1beta1', kind: 'ExecCredential' }) }, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
    const c = JSON.parse(out) as { apiVersion: string; kind: string; status: { token: string; expirationTimestamp: string } };
    expect(c).toMatchObject({ apiVersion: 'client.authentication.k8s.io/v1beta1', kind: 'ExecCredential', status: { token: f.defaultToken } });
    expect(Date.parse(c.status.expirationTimestamp)).toBeGreaterThan(Date.now());
  });

  it('a missing token file is a usage error that names the file, not a token', () => {
    let err = '';
    try {
      execFileSync(process.execPath, [VIGIL, 'kube-credential', '--token-file', join(f.dir, 'nope')], { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      err = String((e as { stderr: Buffer }).stderr);
      expect((e as { status: number }).status).toBe(2);
    }
    expect(err).toContain('cannot read the token file');
  });
});
