/**
 * OIDC token in, SSH certificate out, end to end with real components: the real `vigil ssh-cert` CLI against
 * the admin HTTPS API, `ssh-keygen -L` on what it wrote, the real `ssh` through the gateway to a real sshd.
 * And the attacks on it: a principal the policy does not grant, a forged token, an identity smuggled in a
 * certificate from another (trusted) CA, an issued certificate used for a login it does not name. Each
 * asserts what the client sees and what the evidence and the appliance log say.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Appliance } from '../../appliance/appliance.ts';
import { TestIdentityProvider } from '../../appliance/identity/test-identity-provider.ts';
import type { EvidenceEvent } from '../../shared/evidence/events.ts';
import { failures, tempDir } from '../helpers/evidence.ts';
import { exportAndVerify, type ExportedEvidence } from '../helpers/gateway.ts';
import { makeKey, signCert } from '../helpers/ssh-certs.ts';
import { runSsh, startSshGatewayFixture, type SshGatewayFixture } from '../helpers/ssh-gateway.ts';
import { SSH_USER } from '../helpers/sshd.ts';

const ISSUER = 'https://token.actions.githubusercontent.com';
const SUB = 'repo:acme/deploy:ref:refs/heads/main';
const POLICIES = `
policies:
  - name: ci
    match: { providers: [github] }
    targets: [web]
    classes: { exec: allow, default: block }
  - name: other-ca
    match: { providers: [other-ca] }
    targets: [web]
    classes: { exec: allow, default: block }
`;

type Run = { code: number; stdout: string; stderr: string };
let f: SshGatewayFixture;
let evidence: ExportedEvidence;
let dir: string;
let adminUrl: string;
let tlsCert: string;
let token: string;
let strangerToken: string;
const r: Record<string, Run> = {};
let issuedLog: Record<string, unknown>[] = [];
let listing = '';

function cli(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, ['bin/vigil.mjs', 'ssh-cert', '--url', adminUrl, '--ca', tlsCert, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d) => (stdout += d));
    c.stderr.on('data', (d) => (stderr += d));
    c.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

const ssh = (key: string, user: string, command: string, extra: string[] = []) => runSsh(f.port, join(f.dir, 'known_hosts'), key, user, command, '', extra);

beforeAll(async () => {
  dir = tempDir('vigil-ssh-issuer-');
  const idp = await TestIdentityProvider.create({ issuer: ISSUER });
  idp.writeJwks(join(dir, 'jwks.json'));
  const otherCa = makeKey(join(dir, 'other_ca'), 'ed25519', 'other-ca');
  f = await startSshGatewayFixture({
    policies: POLICIES,
    listenerExtra: `    certificateIssuer: { defaultLifetimeSeconds: 600, maxLifetimeSeconds: 900 }
    userCertificateAuthorities:
      - { name: other-ca, keys: ['${otherCa}'] }
  admin:
    address: 127.0.0.1:0
    tls: { cert: tls/server.crt, key: tls/server.key }
`,
    extraTargets: `  - name: vault
    protocol: ssh
    host: 127.0.0.1
    port: SSHD_PORT
    user: vault-admin
    credential: { file: SSHD_KEY }
    hostKeys: ['${'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl'}']
`,
    extraConfig: `identityProviders:
  - name: github
    issuer: ${ISSUER}
    audiences: [vigil]
    jwks: { file: ${join(dir, 'jwks.json')} }
    algorithms: [ES256]
`,
  });
  const a = f.gateway.addresses['admin']!;
  adminUrl = `https://127.0.0.1:${a.port}`;
  tlsCert = join(f.dir, 'appliance', 'tls', 'server.crt');
  token = await idp.mint({ sub: SUB, aud: 'vigil' });
  strangerToken = await idp.mint({ sub: SUB, aud: 'vigil' }, { header: { kid: 'not-a-key' } });

  r['issue'] = await cli(['--new-key', join(dir, 'bot')], { VIGIL_TOKEN: token });
  listing = String(spawnSync('ssh-keygen', ['-L', '-f', join(dir, 'bot-cert.pub')]).stdout);
  r['login'] = await ssh(join(dir, 'bot'), 'web', 'echo issued-ok; whoami');
  // Attacks.
  r['vaultPrincipal'] = await cli(['--new-key', join(dir, 'greedy'), '--principal', 'vault-admin'], { VIGIL_TOKEN: token });
  r['forged'] = await cli(['--new-key', join(dir, 'forged')], { VIGIL_TOKEN: strangerToken });
  r['noToken'] = await cli(['--new-key', join(dir, 'none')], { VIGIL_TOKEN: '' });
  r['otherLogin'] = await ssh(join(dir, 'bot'), 'root+web', 'echo never');
  // A certificate from another trusted CA that carries Vigil's identity extension claiming the token's subject.
  makeKey(join(dir, 'smuggler'), 'ed25519');
  const smuggled = signCert(join(dir, 'other_ca'), join(dir, 'smuggler'), {
    keyId: 'smuggler',
    principals: [SSH_USER],
    options: [`extension:identity@vigil=${JSON.stringify({ provider: 'github', issuer: ISSUER, subject: SUB, groups: ['admins'] })}`],
  });
  r['smuggled'] = await ssh(join(dir, 'smuggler'), 'web', 'echo smuggled-ran', ['-o', `CertificateFile=${smuggled}`]);
  await f.gateway.stop();
  const app = await Appliance.open(f.configPath);
  try {
    issuedLog = (app.db.prepare("SELECT data FROM log_entries WHERE type = 'credential.issued' ORDER BY idx").all() as { data: string }[]).map((x) => JSON.parse(x.data) as Record<string, unknown>);
  } finally {
    await app.close();
  }
  evidence = await exportAndVerify(f);
}, 180_000);

afterAll(async () => {
  await f?.sshd.stop();
});

const sessions = (): EvidenceEvent[][] => [...evidence.sessions.values()];
const verified = () => sessions().flatMap((s) => s.filter((e) => e.type === 'identity.verified'));

describe('vigil ssh-cert: a token in, a certificate out', () => {
  it('the bundle verifies', () => {
    expect(failures(evidence.report)).toEqual([]);
  });

  it('writes KEY-cert.pub that ssh-keygen reads: key id names issuer, subject and jti; principals = granted logins; minutes long', () => {
    expect(r['issue']!.code).toBe(0);
    expect(r['issue']!.stdout).toContain(`certificate: ${join(dir, 'bot-cert.pub')}`);
    expect(listing).toMatch(/Type: ssh-ed25519-cert-v01@openssh.com user certificate/);
    expect(listing).toMatch(new RegExp(`Key ID: "vigil:iss=${ISSUER.replace(/[.\/]/g, '\\$&')}:sub=${SUB.replace(/[/]/g, '\\/')}:jti=[0-9a-f-]{36}"`));
    expect(listing).toMatch(new RegExp(`Principals: \\n\\s+${SSH_USER}\\n\\s+Critical`));
    const valid = /Valid: from (\S+) to (\S+)/.exec(listing)!;
    expect((Date.parse(`${valid[2]}Z`) - Date.parse(`${valid[1]}Z`)) / 1000).toBe(600 + 60);
  });

  it('plain ssh logs in with it; the session identity is the token’s (provider, issuer, subject, token hash)', () => {
    expect(r['login']).toMatchObject({ code: 0, stdout: `issued-ok\n${SSH_USER}\n` });
    const id = verified().find((e) => e['subject'] === SUB)!;
    expect(id).toMatchObject({ method: 'ssh-certificate', provider: 'github', issuer: ISSUER, subject: SUB });
    expect(String(id['tokenHash'])).toMatch(/^b2k:[0-9a-f]{64}$/);
    expect((id['claims'] as Record<string, unknown>)['issuedBy']).toBe('vigil certificate issuer');
  });

  it('the appliance log records the issued certificate, never the token', () => {
    expect(issuedLog).toHaveLength(1);
    const e = issuedLog[0]!;
    expect(e).toMatchObject({ kind: 'ssh-user-certificate', provider: 'github', subject: SUB, principals: [SSH_USER] });
    expect(String(e['keyId'])).toContain(`sub=${SUB}`);
    expect(listing).toContain(`Serial: ${String(e['serial'])}`);
    const id = verified().find((x) => x['subject'] === SUB)!;
    expect(e['tokenHash']).toBe(id['tokenHash']);
  });

  it('the verifier reports the issued certificate from the signed log (only the one issued: refused requests leave no credential)', () => {
    expect(evidence.report.credentials).toHaveLength(1);
    const c = evidence.report.credentials![0]!;
    const e = issuedLog[0]!;
    expect(c).toMatchObject({ kind: 'ssh-user-certificate', provider: 'github', issuer: ISSUER, subject: SUB, serial: e['serial'], keyId: e['keyId'], principals: [SSH_USER], validBefore: e['validBefore'] });
    expect(JSON.stringify(evidence.report.credentials)).not.toContain(token.split('.')[2]!);
  });

  it('the token is in no log, archive, certificate or CLI output', () => {
    const all = JSON.stringify(sessions().flat(), (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v));
    const sig = token.split('.')[2]!;
    for (const [where, text] of [['evidence', all], ['logs', f.logs()], ['log', JSON.stringify(issuedLog)], ['cli', Object.values(r).map((x) => x.stdout + x.stderr).join('')], ['cert', readFileSync(join(dir, 'bot-cert.pub'), 'utf8')]] as const)
      expect(text.includes(sig), where).toBe(false);
  });
});

describe('attacks on the issuer', () => {
  it('a login no policy grants (vault-admin) is refused: 403, no certificate, nothing logged', () => {
    expect(r['vaultPrincipal']!.code).not.toBe(0);
    expect(r['vaultPrincipal']!.stderr).toMatch(/E_SSH_CERT_PRINCIPAL|no policy grants .* login "vault-admin"/);
    expect(() => readFileSync(join(dir, 'greedy-cert.pub'))).toThrow();
    // The key pair --new-key made for it is removed with the refusal.
    expect(existsSync(join(dir, 'greedy')) || existsSync(join(dir, 'greedy.pub'))).toBe(false);
  });

  it('a forged token and no token get nothing', () => {
    expect(r['forged']!.code).not.toBe(0);
    expect(r['forged']!.stderr).toMatch(/token/i);
    expect(() => readFileSync(join(dir, 'forged-cert.pub'))).toThrow();
    expect(r['noToken']!.code).toBe(2);
    expect(r['noToken']!.stderr).toMatch(/no identity token/);
  });

  it('an issued certificate does not log in as a login it does not name', () => {
    expect(r['otherLogin']!.code).toBe(255);
    expect(r['otherLogin']!.stdout).toBe('');
    expect(sessions().flat().some((e) => e.type === 'identity.rejected' && e['code'] === 'E_SSH_CERT_PRINCIPAL')).toBe(true);
  });

  it("Vigil's identity extension in another CA's certificate grants nothing: that CA's identity is its key id", () => {
    expect(r['smuggled']).toMatchObject({ code: 0, stdout: 'smuggled-ran\n' });
    const s = verified().find((e) => e['subject'] === 'smuggler')!;
    expect(s).toMatchObject({ provider: 'other-ca', method: 'ssh-certificate' });
    expect(verified().filter((e) => e['subject'] === SUB)).toHaveLength(1);
  });
});
