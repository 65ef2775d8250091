/**
 * Client identity on the SSH gateway with real components: OpenSSH user certificates made by the real
 * `ssh-keygen -s` and presented by the real `ssh` (`-o CertificateFile=`, IdentitiesOnly), for Ed25519,
 * ECDSA and RSA (rsa-sha2-*) keys; what a certificate says is enforced (principals, validity, source-address,
 * force-command, no-pty, expiry ends the session); and an OIDC token typed as the password (SSH_ASKPASS).
 * Each case asserts what the client sees and what the exported, verified evidence says.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvidenceEvent } from '../../../shared/evidence/events.ts';
import { TestIdentityProvider } from '../../../appliance/identity/test-identity-provider.ts';
import { failures, tempDir } from '../../helpers/evidence.ts';
import { exportAndVerify, type ExportedEvidence } from '../../helpers/gateway.ts';
import { makeKey, signCert, type CertOptions, type KeyKind } from '../../helpers/ssh-certs.ts';
import { runSsh, startSshGatewayFixture, type SshGatewayFixture } from '../../helpers/ssh-gateway.ts';
import { SSH_USER } from '../../helpers/sshd.ts';

const ISSUER = 'https://token.actions.githubusercontent.com';
const POLICIES = `
policies:
  - name: ci
    match: { providers: [ci-ca] }
    targets: [web]
    classes: { exec: allow, default: block }
  - name: github
    match: { providers: [github] }
    targets: [web]
    classes: { exec: allow, default: block }
`;

type Result = { code: number; stdout: string; stderr: string };
let f: SshGatewayFixture;
let evidence: ExportedEvidence;
let caDir: string;
let token: string;
let badToken: string;
let longToken: string;
const r: Record<string, Result> = {};
const fingerprints: Record<string, string> = {};
let expiryMs = 0;

/** A fresh key pair of `kind`, certified by `ca` with `o`; returns [private key path, certificate path]. */
function certified(name: string, ca: string, o: CertOptions, kind: KeyKind = 'ed25519'): [string, string] {
  const key = join(caDir, name);
  makeKey(key, kind, `${name}@test`);
  return [key, signCert(join(caDir, ca), key, o)];
}

function sshWithCert(user: string, command: string, [key, cert]: [string, string], extra: string[] = []): Promise<Result> {
  return runSsh(f.port, join(f.dir, 'known_hosts'), key, user, command, '', ['-o', `CertificateFile=${cert}`, ...extra]);
}

function sshWithToken(tokenFile: string, command: string, method: 'password' | 'keyboard-interactive'): Promise<Result> {
  const askpass = join(caDir, `askpass-${method}.sh`);
  writeFileSync(askpass, `#!/bin/sh\ncat '${tokenFile}'\n`);
  chmodSync(askpass, 0o700);
  return runSsh(
    f.port,
    join(f.dir, 'known_hosts'),
    join(caDir, 'unused'),
    'web',
    command,
    '',
    ['-o', 'BatchMode=no', '-o', `PreferredAuthentications=${method}`, '-o', 'PubkeyAuthentication=no', '-o', 'NumberOfPasswordPrompts=1'],
    { SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':0' },
  );
}

beforeAll(async () => {
  caDir = tempDir('vigil-ssh-ca-');
  const caLine = makeKey(join(caDir, 'user_ca'), 'ed25519', 'ci-user-ca');
  const rsaCaLine = makeKey(join(caDir, 'rsa_ca'), 'rsa', 'ci-rsa-ca');
  makeKey(join(caDir, 'foreign_ca'), 'ed25519', 'foreign-ca');
  makeKey(join(caDir, 'unused'), 'ed25519');
  const idp = await TestIdentityProvider.create({ issuer: ISSUER });
  mkdirSync(join(caDir, 'jwks'));
  idp.writeJwks(join(caDir, 'jwks', 'idp.json'));
  f = await startSshGatewayFixture({
    policies: POLICIES,
    listenerExtra: `    userCertificateAuthorities:
      - { name: ci-ca, keys: ['${caLine}', '${rsaCaLine}'], groups: [deployers], clockToleranceSeconds: 1 }
    acceptIdentityTokens: true
`,
    extraConfig: `identityProviders:
  - name: github
    issuer: ${ISSUER}
    audiences: [vigil-ssh]
    jwks: { file: ${join(caDir, 'jwks', 'idp.json')} }
    algorithms: [ES256]
`,
  });
  const valid = (keyId: string, more: Partial<CertOptions> = {}): CertOptions => ({ keyId, principals: [SSH_USER], serial: 42, ...more });

  const ed = certified('ed', 'user_ca', valid('bot:repo:acme/deploy'));
  fingerprints['ed'] = String(readFileSync(`${ed[0]}.pub`, 'utf8'));
  r['ed25519'] = await sshWithCert('web', 'echo cert-ok', ed);
  r['ecdsa'] = await sshWithCert('web', 'echo ecdsa-ok', certified('ec', 'user_ca', valid('ecdsa-bot'), 'ecdsa'));
  r['rsa'] = await sshWithCert('web', 'echo rsa-ok', certified('rsa', 'rsa_ca', valid('rsa-bot', { caSignatureAlgorithm: 'rsa-sha2-512' }), 'rsa'));
  r['expired'] = await sshWithCert('web', 'echo never', certified('old', 'user_ca', valid('expired-bot', { validity: '20200101:20200102' })));
  r['notYet'] = await sshWithCert('web', 'echo never', certified('future', 'user_ca', valid('future-bot', { validity: '+1d:+2d' })));
  r['foreign'] = await sshWithCert('web', 'echo never', certified('foreign', 'foreign_ca', valid('foreign-bot')));
  r['principal'] = await sshWithCert('web', 'echo never', certified('otheruser', 'user_ca', valid('principal-bot', { principals: ['someone-else'] })));
  r['source'] = await sshWithCert('web', 'echo never', certified('src', 'user_ca', valid('source-bot', { options: ['source-address=10.9.9.0/24'] })));
  r['sourceOk'] = await sshWithCert('web', 'echo source-ok', certified('srcok', 'user_ca', valid('source-ok-bot', { options: ['source-address=127.0.0.1/32'] })));
  r['host'] = await sshWithCert('web', 'echo never', certified('hostcert', 'user_ca', valid('host-as-user', { host: true })));
  r['forced'] = await sshWithCert('web', 'echo requested-command', certified('forced', 'user_ca', valid('forced-bot', { options: ['force-command=echo forced-output'] })));
  // A CA's random 64-bit serial reads like a card number 1 time in 4: recorded masked, so the bundle still verifies.
  r['panSerial'] = await sshWithCert('web', 'echo serial-ok', certified('panserial', 'user_ca', valid('pan-serial-bot', { serial: 4111111111111111 })));
  r['noPty'] = await sshWithCert('web', 'echo no-pty-ran', certified('nopty', 'user_ca', valid('nopty-bot', { options: ['no-pty'] })), ['-tt']);

  // A certificate valid for 6 more seconds: the session ends at its expiry (+1 s tolerance), mid-command.
  const short = certified('short', 'user_ca', valid('short-bot', { validity: '-1m:+6s' }));
  const t0 = Date.now();
  r['expiry'] = await sshWithCert('web', 'echo started; sleep 30; echo never-printed', short);
  expiryMs = Date.now() - t0;

  // OpenSSH reads a password (and an askpass answer) into 1024 bytes: a compact token, and a long one that
  // the client cuts short, which the gateway explains.
  token = await idp.mint({ sub: 'repo:acme/deploy:ref:refs/heads/main', aud: 'vigil-ssh' });
  badToken = await idp.mint({ sub: 'repo:acme/deploy:ref:refs/heads/main', aud: 'someone-else' });
  longToken = await idp.mintGithubActions({ repository: 'acme/deploy', audience: 'vigil-ssh' });
  writeFileSync(join(caDir, 'long-token'), longToken + '\n');
  writeFileSync(join(caDir, 'token'), token + '\n');
  writeFileSync(join(caDir, 'bad-token'), badToken + '\n');
  r['tokenPassword'] = await sshWithToken(join(caDir, 'token'), 'echo token-ok', 'password');
  r['tokenKbd'] = await sshWithToken(join(caDir, 'token'), 'echo kbd-ok', 'keyboard-interactive');
  r['badTokenKbd'] = await sshWithToken(join(caDir, 'bad-token'), 'echo never', 'keyboard-interactive');
  r['badTokenPassword'] = await sshWithToken(join(caDir, 'bad-token'), 'echo never', 'password');
  r['longTokenKbd'] = await sshWithToken(join(caDir, 'long-token'), 'echo never', 'keyboard-interactive');
  await f.gateway.stop();
  evidence = await exportAndVerify(f);
}, 180_000);

afterAll(async () => {
  await f?.sshd.stop();
});

const sessions = (): EvidenceEvent[][] => [...evidence.sessions.values()];
const sessionWith = (pred: (e: EvidenceEvent) => boolean): EvidenceEvent[] => {
  const s = sessions().find((evs) => evs.some(pred));
  if (!s) throw new Error('no such session recorded');
  return s;
};
const verifiedAs = (subject: string) => sessionWith((e) => e.type === 'identity.verified' && e['subject'] === subject);
const rejection = (pred: (e: EvidenceEvent) => boolean) => sessions().flat().find((e) => e.type === 'identity.rejected' && pred(e));

describe('certificate login', () => {
  it('the evidence verifies', () => {
    expect(failures(evidence.report)).toEqual([]);
  });

  it('an Ed25519 certificate logs in; identity = key id from the CA entry, with its facts', () => {
    expect(r['ed25519']).toMatchObject({ code: 0, stdout: 'cert-ok\n' });
    const id = verifiedAs('bot:repo:acme/deploy').find((e) => e.type === 'identity.verified')!;
    expect(id).toMatchObject({ method: 'ssh-certificate', provider: 'ci-ca', groups: ['deployers'], tokenId: '42' });
    expect(id['issuer']).toMatch(/^ssh-ca:SHA256:[A-Za-z0-9+/]{43}$/);
    const claims = id['claims'] as Record<string, unknown>;
    expect(claims).toMatchObject({ keyId: 'bot:repo:acme/deploy', serial: '42', principal: SSH_USER, principals: [SSH_USER], certType: 'ssh-ed25519-cert-v01@openssh.com', caComment: 'ci-user-ca' });
    expect(claims['keyFingerprint']).toMatch(/^SHA256:/);
    expect(id['issuer']).toBe(`ssh-ca:${String(claims['caFingerprint'])}`);
    expect(claims['extensions']).toContain('permit-pty');
    expect(String(id['expiresAt'])).toBe(String(claims['validBefore']));
  });

  it('ECDSA and RSA (rsa-sha2-*) certificates log in', () => {
    expect(r['ecdsa']).toMatchObject({ code: 0, stdout: 'ecdsa-ok\n' });
    expect(r['rsa']).toMatchObject({ code: 0, stdout: 'rsa-ok\n' });
    const rsa = verifiedAs('rsa-bot').find((e) => e.type === 'identity.verified')!;
    expect((rsa['claims'] as Record<string, unknown>)['certType']).toBe('ssh-rsa-cert-v01@openssh.com');
    expect((rsa['claims'] as Record<string, unknown>)['signatureAlgorithm']).toBe('rsa-sha2-512');
  });

  const refused: [string, string, RegExp][] = [
    ['expired', 'E_SSH_CERT_EXPIRED', /expired at 2020-01-0/],
    ['notYet', 'E_SSH_CERT_NOT_YET_VALID', /not valid before/],
    ['foreign', 'E_SSH_CERT_UNTRUSTED_CA', /not a trusted user CA/],
    ['principal', 'E_SSH_CERT_PRINCIPAL', /principal "vigiltest" is not among \["someone-else"\]/],
    ['source', 'E_SSH_CERT_SOURCE_ADDRESS', /client address "127\.0\.0\.1" is not in source-address "10\.9\.9\.0\/24"/],
  ];
  for (const [name, code, reason] of refused)
    it(`refuses the ${name} certificate: Permission denied, ${code} recorded, nothing ran`, () => {
      expect(r[name]!.code).toBe(255);
      expect(r[name]!.stderr).toMatch(/Permission denied \(publickey/);
      expect(r[name]!.stdout).toBe('');
      const e = rejection((x) => x['code'] === code);
      expect(e, code).toBeDefined();
      expect(e!['method']).toBe('ssh-certificate');
      expect(String(e!['reason'])).toMatch(reason);
    });

  // OpenSSH's client does not offer a host certificate for user authentication: it falls back to the plain
  // key, which is unlisted. The gateway's own refusal (E_SSH_CERT_TYPE) is in test/unit/appliance/ssh/certificate-policy.test.ts.
  it('a host certificate gives no identity: the client falls back to its unlisted key', () => {
    expect(r['host']).toMatchObject({ code: 255, stdout: '' });
    expect(r['host']!.stderr).toMatch(/Permission denied \(publickey/);
  });

  it('a serial that reads like a card number logs in and is recorded masked (the bundle verifies)', () => {
    expect(r['panSerial']).toMatchObject({ code: 0, stdout: 'serial-ok\n' });
    const s = verifiedAs('pan-serial-bot');
    const all = JSON.stringify(s);
    expect(all).not.toContain('4111111111111111');
    expect(String(s.find((e) => e.type === 'identity.verified')!['tokenId'])).toMatch(/^411111\*+1111$/);
    expect(s.find((e) => e.type === 'masking')).toMatchObject({ kinds: { pan: expect.any(Number) } });
  });

  it('a source-address that holds the client logs in', () => {
    expect(r['sourceOk']).toMatchObject({ code: 0, stdout: 'source-ok\n' });
  });

  it('no refused certificate gave an identity', () => {
    const subjects = sessions().flatMap((s) => s.filter((e) => e.type === 'identity.verified').map((e) => e['subject']));
    for (const s of ['expired-bot', 'future-bot', 'foreign-bot', 'principal-bot', 'source-bot', 'host-as-user']) expect(subjects).not.toContain(s);
  });
});

describe('what the certificate says is enforced', () => {
  it('force-command runs instead of the requested command; both are recorded', () => {
    expect(r['forced']).toMatchObject({ code: 0, stdout: 'forced-output\n' });
    const s = verifiedAs('forced-bot');
    const open = s.find((e) => e.type === 'channel.open')!;
    expect(open).toMatchObject({ command: 'echo forced-output', requestedCommand: 'echo requested-command', forcedBy: 'certificate force-command' });
    expect(s.find((e) => e.type === 'decision')).toMatchObject({ decision: 'allow' });
    expect(s.find((e) => e.type === 'notice' && e['kind'] === 'force-command')).toMatchObject({ command: 'echo forced-output' });
  });

  // As with sshd: a client that insists on a terminal (-tt) gives up when it is refused; nothing runs.
  it('no-pty: the terminal is refused (recorded); ssh -tt gives up and nothing runs', () => {
    expect(r['noPty']!.code).toBe(255);
    expect(r['noPty']!.stderr).toContain('PTY allocation request failed');
    expect(r['noPty']!.stdout).not.toContain('no-pty-ran');
    const s = verifiedAs('nopty-bot');
    expect(s.some((e) => e.type === 'command')).toBe(false);
    expect(s.find((e) => e.type === 'notice' && e['kind'] === 'request-refused')).toMatchObject({ message: 'a terminal (pty-req) is not permitted by the client certificate' });
  });

  it('the session ends when the certificate expires (+ its tolerance), mid-command', () => {
    expect(r['expiry']!.stdout).toBe('started\n');
    expect(r['expiry']!.stdout).not.toContain('never-printed');
    expect(expiryMs).toBeLessThan(20_000);
    const s = verifiedAs('short-bot');
    const limits = s.find((e) => e.type === 'notice' && e['kind'] === 'session-limits')!;
    expect(limits).toMatchObject({ toleranceSeconds: 1 });
    expect(limits['credentialExpiresAt']).toBeDefined();
    expect(s.find((e) => e.type === 'error' && e['code'] === 'credential-expired')!['message']).toMatch(/SSH certificate/);
    expect(String(s.find((e) => e.type === 'session.close')!['reason'])).toMatch(/ended by the gateway/);
  });
});

describe('an OIDC token as the password', () => {
  it('works as a password and as a keyboard-interactive answer; identity as the PostgreSQL gateway gives it', () => {
    expect(r['tokenPassword']).toMatchObject({ code: 0, stdout: 'token-ok\n' });
    expect(r['tokenKbd']).toMatchObject({ code: 0, stdout: 'kbd-ok\n' });
    const id = sessions().flat().find((e) => e.type === 'identity.verified' && e['method'] === 'oidc-jwt')!;
    expect(id).toMatchObject({ provider: 'github', issuer: ISSUER, subject: 'repo:acme/deploy:ref:refs/heads/main' });
    expect(String(id['tokenHash'])).toMatch(/^b2k:/);
  });

  it('a wrong-audience token is refused; a keyboard-interactive client is told why', () => {
    expect(r['badTokenKbd']!.code).toBe(255);
    expect(r['badTokenKbd']!.stderr).toMatch(/vigil: .*audience/);
    expect(r['badTokenPassword']!.code).toBe(255);
    expect(rejection((e) => e['method'] === 'oidc-jwt' && e['code'] === 'E_ID_AUDIENCE')).toBeDefined();
  });

  it('a token OpenSSH cut at 1023 bytes is refused with the reason', () => {
    expect(longToken.length).toBeGreaterThan(1023);
    expect(r['longTokenKbd']!.code).toBe(255);
    expect(r['longTokenKbd']!.stderr).toMatch(/vigil: .*1023 bytes/);
    expect(String(rejection((e) => e['code'] === 'E_ID_MALFORMED')!['reason'])).toMatch(/1023 bytes/);
  });

  it('the token is never logged, recorded, or echoed', () => {
    const all = JSON.stringify(sessions().flat(), (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v));
    for (const t of [token, badToken, longToken]) {
      const sig = t.split('.')[2]!;
      for (const [where, text] of [['evidence', all], ['logs', f.logs()], ['client output', Object.values(r).map((x) => x.stdout + x.stderr).join('\n')]] as const) {
        expect(text.includes(t), where).toBe(false);
        expect(text.includes(sig), where).toBe(false);
      }
    }
  });
});
