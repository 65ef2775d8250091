import { exportSPKI, importJWK, SignJWT, type CryptoKey } from 'jose';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { toHex, utf8 } from '../../../../shared/bytes.ts';
import { crypto } from '../../../../shared/crypto/backend.ts';
import { isVigilError } from '../../../../shared/errors.ts';
import { SECRET_CLAIM_NAME, type IdentityProviderConfig, type IdentityProviderInput } from '../../../../appliance/identity/config.ts';
import { IdentityError } from '../../../../appliance/identity/errors.ts';
import { sqlstateFor } from '../../../../appliance/protocols/postgres/identity-errors.ts';
import { JwtVerifier } from '../../../../appliance/identity/jwt-verifier.ts';
import { JwtVerifierRegistry } from '../../../../appliance/identity/registry.ts';
import { tokenHash } from '../../../../appliance/identity/token-hash.ts';
import { providerConfig, tempDir, TestIdentityProvider } from '../../../helpers/identity-provider.ts';
import { b64json, decodePart, failure } from './helpers.ts';

const AUD = 'vigil-prod';
const GITHUB = 'https://token.actions.githubusercontent.com';
const SPIRE = 'https://spire.acme.test';
const T0 = new Date('2030-06-01T12:00:00Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

let key: Uint8Array;
let dir: string;
let github: TestIdentityProvider;
let spire: TestIdentityProvider;
let corp: TestIdentityProvider;
let githubJwks: string;

beforeAll(async () => {
  key = crypto().randomBytes(32);
  dir = tempDir();
  github = await TestIdentityProvider.create({ issuer: GITHUB, algorithms: ['ES256', 'RS256'] });
  spire = await TestIdentityProvider.create({ issuer: SPIRE });
  corp = await TestIdentityProvider.create({ issuer: 'https://login.corp.test/' });
  githubJwks = github.writeJwks(join(dir, 'github-jwks.json'));
});

function githubConfig(over: Partial<IdentityProviderInput> = {}): IdentityProviderConfig {
  return providerConfig({ name: 'github', issuer: GITHUB, audiences: [AUD], jwks: { file: githubJwks }, algorithms: ['RS256', 'ES256'], profile: 'github-actions', ...over });
}

function verifier(over: Partial<IdentityProviderInput> = {}): JwtVerifier {
  return new JwtVerifier(githubConfig(over), { fingerprintKey: key });
}

function spireVerifier(): JwtVerifier {
  const jwks = spire.writeJwks(join(dir, 'spire-jwks.json'));
  return new JwtVerifier(providerConfig({ name: 'spire', issuer: SPIRE, audiences: [AUD], jwks: { file: jwks }, profile: 'spiffe' }), { fingerprintKey: key });
}

function corpVerifier(over: Partial<IdentityProviderInput> = {}): JwtVerifier {
  const jwks = corp.writeJwks(join(dir, 'corp-jwks.json'));
  return new JwtVerifier(providerConfig({ name: 'corp', issuer: corp.issuer, audiences: [AUD], jwks: { file: jwks }, profile: 'generic', ...over }), { fingerprintKey: key });
}

describe('github-actions profile', () => {
  it('verifies a token and maps repository, owner and environment to groups', async () => {
    const token = await github.mintGithubActions({ audience: AUD, repository: 'Acme/Payments', environment: 'Production', now: T0 });
    const id = await verifier().verify(token, { now: at(10) });
    expect(id).toMatchObject({
      method: 'oidc-jwt',
      provider: 'github',
      issuer: GITHUB,
      subject: 'repo:Acme/Payments:environment:Production',
      groups: ['repo:acme/payments', 'org:acme', 'env:production'],
      tokenId: decodePart(token, 1)['jti'],
      expiresAt: at(300).toISOString(),
    });
    expect(id.claims).toMatchObject({ repository: 'Acme/Payments', environment: 'Production', workflow: 'deploy', run_id: '9876543210', ref: 'refs/heads/main' });
    expect(id.tokenHash).toMatch(/^b2k:[0-9a-f]{64}$/);
  });

  it('has no env group without an environment, and accepts RS256', async () => {
    const token = await github.mintGithubActions({ audience: [AUD, 'other'], alg: 'RS256', now: T0 });
    const id = await verifier().verify(token, { now: T0 });
    expect(id.subject).toBe('repo:acme/payments:ref:refs/heads/main');
    expect(id.groups).toEqual(['repo:acme/payments', 'org:acme']);
  });

  it('refuses a token without the repository claims it derives groups from', async () => {
    const token = await github.mintGithubActions({ audience: AUD, now: T0, claims: { repository: undefined } });
    const e = await failure(verifier().verify(token, { now: T0 }), 'E_ID_MALFORMED');
    expect(e.clientMessage).toBe('token claim repository is missing');
  });

  it('refuses a repository that is not under repository_owner', async () => {
    const token = await github.mintGithubActions({ audience: AUD, now: T0, claims: { repository_owner: 'evil' } });
    await failure(verifier().verify(token, { now: T0 }), 'E_ID_MALFORMED');
  });

  it('keeps secrets and nested tokens out of the claims summary', async () => {
    const nested = await github.mint({ sub: 'x' });
    const token = await github.mintGithubActions({
      audience: AUD,
      now: T0,
      claims: { access_token: 'gho_secret', client_secret: 's3cr3t', nonce: 'n', password: 'p', workflow: nested, actor: 'a\nb', custom: 'not whitelisted' },
    });
    const id = await verifier({ summaryClaims: ['custom'] }).verify(token, { now: T0 });
    const text = JSON.stringify(id);
    for (const s of ['gho_secret', 's3cr3t', nested, 'a\nb']) expect(text).not.toContain(s);
    for (const name of Object.keys(id.claims)) expect(name).not.toMatch(SECRET_CLAIM_NAME);
    expect(id.claims['workflow']).toBeUndefined();
    expect(id.claims['actor']).toBeUndefined();
    expect(id.claims['custom']).toBe('not whitelisted');
    expect(id.claims['repository']).toBe('acme/payments');
  });
});

describe('spiffe profile', () => {
  it('verifies a JWT-SVID: subject is the SPIFFE ID, groups its trust domain and path prefixes', async () => {
    const token = await spire.mintSpiffe('spiffe://acme.test/ns/prod/sa/payments', AUD, { now: T0 });
    const id = await spireVerifier().verify(token, { now: T0 });
    expect(id.subject).toBe('spiffe://acme.test/ns/prod/sa/payments');
    expect(id.groups).toEqual(['trust-domain:acme.test', 'spiffe://acme.test/ns/', 'spiffe://acme.test/ns/prod/', 'spiffe://acme.test/ns/prod/sa/']);
    expect(id.claims).toEqual({ spiffe_id: 'spiffe://acme.test/ns/prod/sa/payments', trust_domain: 'acme.test' });
  });

  it.each(['payments', 'spiffe://Acme.test/x', 'spiffe://acme.test/a/../b', 'spiffe://acme.test/a/', 'spiffe://acme.test/a?b', 'https://acme.test/a'])('refuses sub %s', async (sub) => {
    const token = await spire.mintSpiffe(sub, AUD, { now: T0 });
    await failure(spireVerifier().verify(token, { now: T0 }), 'E_ID_MALFORMED');
  });

  it('requires aud', async () => {
    const token = await spire.mint({ sub: 'spiffe://acme.test/ci' }, { now: T0 });
    const e = await failure(spireVerifier().verify(token, { now: T0 }), 'E_ID_AUDIENCE');
    expect(e.clientMessage).toBe('token audience must include vigil-prod');
  });
});

describe('generic profile', () => {
  it('takes groups from an array claim', async () => {
    const token = await corp.mint({ sub: 'svc-reporting', aud: AUD, groups: ['readers', 'reporting', 'readers'] }, { now: T0 });
    const id = await corpVerifier().verify(token, { now: T0 });
    expect(id).toMatchObject({ subject: 'svc-reporting', groups: ['readers', 'reporting'], claims: {} });
  });

  it('takes groups from a space/comma separated string, and subject/groups claims from config', async () => {
    const token = await corp.mint({ sub: 'abc', aud: AUD, client_id: 'svc-batch', roles: 'batch, etl  nightly,', tenant: 'eu' }, { now: T0 });
    const id = await corpVerifier({ subjectClaim: 'client_id', groupsClaim: 'roles', summaryClaims: ['tenant'] }).verify(token, { now: T0 });
    expect(id).toMatchObject({ subject: 'svc-batch', groups: ['batch', 'etl', 'nightly'], claims: { tenant: 'eu' } });
  });

  it('refuses a groups claim of the wrong type and a missing subject claim', async () => {
    const v = corpVerifier();
    await failure(v.verify(await corp.mint({ sub: 'a', aud: AUD, groups: 7 }, { now: T0 }), { now: T0 }), 'E_ID_MALFORMED');
    await failure(v.verify(await corp.mint({ sub: 'a', aud: AUD, groups: ['ok', 1] }, { now: T0 }), { now: T0 }), 'E_ID_MALFORMED');
    const e = await failure(corpVerifier({ subjectClaim: 'email' }).verify(await corp.mint({ sub: 'a', aud: AUD }, { now: T0 }), { now: T0 }), 'E_ID_MALFORMED');
    expect(e.clientMessage).toBe('token claim email is missing');
  });
});

describe('time checks', () => {
  it('refuses an expired token and says when it expired', async () => {
    const token = await github.mintGithubActions({ audience: AUD, now: T0 });
    const e = await failure(verifier().verify(token, { now: at(1000) }), 'E_ID_EXPIRED');
    expect(e.clientMessage).toBe('token expired at 2030-06-01T12:05:00Z; request a fresh token');
    expect(sqlstateFor(e)).toBe('28P01');
  });

  it('applies the clock tolerance', async () => {
    const token = await github.mintGithubActions({ audience: AUD, now: T0 });
    await expect(verifier().verify(token, { now: at(320) })).resolves.toBeDefined();
    await failure(verifier({ clockToleranceSeconds: 0 }).verify(token, { now: at(320) }), 'E_ID_EXPIRED');
  });

  it('refuses a token before nbf, and one issued in the future', async () => {
    const token = await github.mintGithubActions({ audience: AUD, now: T0, claims: { nbf: T0.getTime() / 1000 + 120 } });
    const e = await failure(verifier().verify(token, { now: T0 }), 'E_ID_NOT_YET_VALID');
    expect(e.clientMessage).toBe("token is not valid before 2030-06-01T12:02:00Z; check the client's clock");
    const future = await github.mintGithubActions({ audience: AUD, now: at(600), claims: { nbf: undefined } });
    await failure(verifier().verify(future, { now: T0 }), 'E_ID_NOT_YET_VALID');
  });

  it('refuses long-lived tokens (exp − iat), however long they have left', async () => {
    const token = await github.mintGithubActions({ audience: AUD, now: T0, lifetimeSeconds: 7200 });
    const e = await failure(verifier().verify(token, { now: T0 }), 'E_ID_LIFETIME');
    expect(e.clientMessage).toBe('token lifetime 7200 s exceeds the 3600 s maximum; request a shorter-lived token');
    await expect(verifier({ maxTokenLifetimeSeconds: 7200 }).verify(token, { now: T0 })).resolves.toBeDefined();
  });

  it('measures the remaining lifetime when iat and nbf are absent', async () => {
    const token = await github.mintGithubActions({ audience: AUD, now: T0, lifetimeSeconds: 86_400, claims: { iat: undefined, nbf: undefined } });
    await failure(verifier().verify(token, { now: T0 }), 'E_ID_LIFETIME');
    await expect(verifier().verify(token, { now: at(86_400 - 600) })).resolves.toBeDefined();
  });

  it('requires exp and sub', async () => {
    const noExp = await github.mintGithubActions({ audience: AUD, now: T0, claims: { exp: undefined } });
    expect((await failure(verifier().verify(noExp, { now: T0 }), 'E_ID_MALFORMED')).clientMessage).toBe('token has no exp claim');
    const noSub = await github.mintGithubActions({ audience: AUD, now: T0, claims: { sub: undefined } });
    expect((await failure(verifier().verify(noSub, { now: T0 }), 'E_ID_MALFORMED')).clientMessage).toBe('token has no sub claim');
    const emptySub = await github.mintGithubActions({ audience: AUD, now: T0, claims: { sub: '' } });
    await failure(verifier().verify(emptySub, { now: T0 }), 'E_ID_MALFORMED');
  });
});

describe('audience, issuer and algorithm', () => {
  it('refuses another audience and names the expected one', async () => {
    const token = await github.mintGithubActions({ audience: 'https://github.com/acme', now: T0 });
    const e = await failure(verifier().verify(token, { now: T0 }), 'E_ID_AUDIENCE');
    expect(e.clientMessage).toBe('token audience must include vigil-prod');
    expect(e.message).toContain('https://github.com/acme');
  });

  it('refuses another issuer', async () => {
    const token = await corp.mint({ sub: 'x', aud: AUD }, { now: T0 });
    const e = await failure(verifier().verify(token, { now: T0 }), 'E_ID_UNKNOWN_ISSUER');
    expect(sqlstateFor(e)).toBe('28000');
  });

  it('refuses alg none', async () => {
    const payload = decodePart(await github.mintGithubActions({ audience: AUD, now: T0 }), 1);
    const token = `${b64json({ alg: 'none', typ: 'JWT' })}.${b64json(payload)}.`;
    const e = await failure(verifier().verify(token, { now: T0 }), 'E_ID_ALGORITHM');
    expect(e.clientMessage).toBe('unsigned tokens (alg none) are never accepted');
    // Through the registry, too (it picks the provider by iss first).
    const reg = new JwtVerifierRegistry([githubConfig()], { fingerprintKey: key });
    await failure(reg.verify(token, { now: T0 }), 'E_ID_ALGORITHM');
  });

  it('refuses HS256 signed with the public key as the secret (key confusion)', async () => {
    const k = github.keys.find((x) => x.alg === 'RS256')!;
    const pem = await exportSPKI((await importJWK(k.publicJwk, 'RS256', { extractable: true })) as CryptoKey);
    const payload = decodePart(await github.mintGithubActions({ audience: AUD, now: T0 }), 1);
    for (const secret of [utf8(pem), utf8(JSON.stringify(k.publicJwk))]) {
      const token = await new SignJWT(payload).setProtectedHeader({ alg: 'HS256', kid: k.kid, typ: 'JWT' }).sign(secret);
      const e = await failure(verifier().verify(token, { now: T0 }), 'E_ID_ALGORITHM');
      expect(e.clientMessage).toBe('token algorithm HS256 is not accepted; this issuer\'s tokens must use RS256 or ES256');
      // Even a config that got HS256 past the schema cannot be tricked: a JWKS never yields an HMAC key.
      const unsafe = new JwtVerifier({ ...githubConfig(), algorithms: ['HS256' as 'RS256'] }, { fingerprintKey: key });
      await failure(unsafe.verify(token, { now: T0 }), 'E_ID_ALGORITHM');
    }
  });

  it('refuses an algorithm outside the allow-list even when the key would verify it', async () => {
    const token = await github.mintGithubActions({ audience: AUD, alg: 'RS256', now: T0 });
    await failure(verifier({ algorithms: ['ES256'] }).verify(token, { now: T0 }), 'E_ID_ALGORITHM');
  });
});

describe('signatures and keys', () => {
  it('refuses a tampered payload', async () => {
    const token = await github.mintGithubActions({ audience: AUD, now: T0 });
    const [h, p, s] = token.split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
    payload['repository'] = 'acme/admin';
    const e = await failure(verifier().verify(`${h}.${b64json(payload)}.${s}`, { now: T0 }), 'E_ID_BAD_SIGNATURE');
    expect(sqlstateFor(e)).toBe('28P01');
  });

  it('refuses a tampered signature', async () => {
    const token = await github.mintGithubActions({ audience: AUD, now: T0 });
    const sig = Buffer.from(token.split('.')[2]!, 'base64url');
    sig[10]! ^= 1;
    await failure(verifier().verify(`${token.split('.').slice(0, 2).join('.')}.${sig.toString('base64url')}`, { now: T0 }), 'E_ID_BAD_SIGNATURE');
  });

  it('refuses a key the JWKS does not have (unknown kid, and a known kid with a foreign key)', async () => {
    const stranger = await TestIdentityProvider.create({ issuer: GITHUB });
    const unknownKid = await stranger.mintGithubActions({ audience: AUD, now: T0 });
    const e1 = await failure(verifier().verify(unknownKid, { now: T0 }), 'E_ID_BAD_SIGNATURE');
    expect(e1.message).toContain(stranger.kid());
    expect(e1.clientMessage).not.toContain(stranger.kid());
    const forgedKid = await stranger.mintGithubActions({ audience: AUD, now: T0, header: { kid: github.kid() } });
    const e2 = await failure(verifier().verify(forgedKid, { now: T0 }), 'E_ID_BAD_SIGNATURE');
    expect(e2.clientMessage).toBe(e1.clientMessage);
  });

  it('tries every candidate key when the token has no kid', async () => {
    const idp = await TestIdentityProvider.create({ issuer: GITHUB });
    const oldToken = await idp.mintGithubActions({ audience: AUD, now: T0, header: { kid: undefined } });
    await idp.rotate('ES256');
    const newToken = await idp.mintGithubActions({ audience: AUD, now: T0, header: { kid: undefined } });
    const jwks = idp.writeJwks(join(dir, 'two-keys.json'));
    const v = verifier({ jwks: { file: jwks } });
    await expect(v.verify(oldToken, { now: T0 })).resolves.toMatchObject({ subject: 'repo:acme/payments:ref:refs/heads/main' });
    await expect(v.verify(newToken, { now: T0 })).resolves.toBeDefined();
    const stranger = await TestIdentityProvider.create({ issuer: GITHUB });
    await failure(v.verify(await stranger.mintGithubActions({ audience: AUD, now: T0, header: { kid: undefined } }), { now: T0 }), 'E_ID_BAD_SIGNATURE');
  });

  it('refuses a JWKS file that is missing, not JSON, or holds private keys', async () => {
    const bad = join(dir, 'bad-jwks.json');
    expect(() => verifier({ jwks: { file: join(dir, 'nope.json') } })).toThrow(/cannot be read: ENOENT/);
    writeFileSync(bad, '{ nope');
    expect(() => verifier({ jwks: { file: bad } })).toThrow(/is not JSON/);
    writeFileSync(bad, JSON.stringify({ keys: [{ ...github.keys[0]!.publicJwk, d: 'private' }] }));
    expect(() => verifier({ jwks: { file: bad } })).toThrow(/private key material/);
    writeFileSync(bad, JSON.stringify({ keys: [{ kty: 'oct', k: 'c2VjcmV0' }] }));
    expect(() => verifier({ jwks: { file: bad } })).toThrow(/symmetric/);
    try {
      verifier({ jwks: { file: bad } });
    } catch (e) {
      expect((e as IdentityError).code).toBe('E_ID_JWKS_UNAVAILABLE');
    }
  });
});

describe('malformed input', () => {
  it.each([
    ['not a JWT', 'hello'],
    ['two parts', 'a.b'],
    ['five parts (JWE)', 'a.b.c.d.e'],
    ['bad header', `${b64json('x')}.${b64json({})}.sig`],
    ['oversized', `${'a'.repeat(17_000)}.b.c`],
  ])('refuses %s', async (_, token) => {
    const e = await failure(verifier().verify(token, { now: T0 }), 'E_ID_MALFORMED');
    expect(e.clientMessage).toBe('the password is not a valid identity token (expected a signed JWT)');
  });

  it('says so when no token was presented', async () => {
    const e = await failure(verifier().verify('', { now: T0 }), 'E_ID_NO_TOKEN');
    expect(sqlstateFor(e)).toBe('28000');
  });
});

describe('tokenHash', () => {
  it('is keyed BLAKE2b-256 of the raw token, stable, and carried by failures too', async () => {
    const token = await github.mintGithubActions({ audience: AUD, now: T0 });
    const a = await verifier().verify(token, { now: T0 });
    const b = await verifier().verify(token, { now: T0 });
    expect(a.tokenHash).toBe(b.tokenHash);
    expect(a.tokenHash).toBe(`b2k:${toHex(crypto().blake2bKeyed(key, utf8(token), 32))}`);
    const other = await new JwtVerifier(githubConfig(), { fingerprintKey: crypto().randomBytes(32) }).verify(token, { now: T0 });
    expect(other.tokenHash).not.toBe(a.tokenHash);
    expect(a.tokenHash).not.toContain(token.slice(0, 16));
    const e = await failure(verifier().verify(token, { now: at(3600) }), 'E_ID_EXPIRED');
    expect(e.tokenHash).toBe(a.tokenHash);
    expect(tokenHash(key, token)).toBe(a.tokenHash);
  });

  it('needs a fingerprint key of at least 32 bytes', () => {
    let err: unknown;
    try {
      new JwtVerifier(githubConfig(), { fingerprintKey: new Uint8Array(16) });
    } catch (e) {
      err = e;
    }
    expect(isVigilError(err, 'E_ID_FINGERPRINT_KEY')).toBe(true);
  });
});

describe('client-safe messages', () => {
  it('never contain the token, a part of it, a key id, or a file path; logs never contain the token', async () => {
    const stranger = await TestIdentityProvider.create({ issuer: GITHUB });
    const good = await github.mintGithubActions({ audience: AUD, now: T0 });
    const [h, , s] = good.split('.');
    const cases = [
      github.mintGithubActions({ audience: AUD, now: T0 }).then((t) => ({ t, now: at(5000) })),
      github.mintGithubActions({ audience: 'other', now: T0 }).then((t) => ({ t, now: T0 })),
      github.mintGithubActions({ audience: AUD, now: T0, lifetimeSeconds: 9000 }).then((t) => ({ t, now: T0 })),
      stranger.mintGithubActions({ audience: AUD, now: T0 }).then((t) => ({ t, now: T0 })),
      stranger.mintGithubActions({ audience: AUD, now: T0, header: { kid: github.kid() } }).then((t) => ({ t, now: T0 })),
      Promise.resolve({ t: `${h}.${b64json({ iss: GITHUB, sub: 'x', aud: AUD, repository: 'a/b' })}.${s}`, now: T0 }),
      corp.mint({ sub: 'x', aud: AUD }).then((t) => ({ t, now: T0 })),
    ];
    const kids = [...github.keys, ...stranger.keys].map((k) => k.kid);
    for (const c of await Promise.all(cases)) {
      const e = await failure(verifier().verify(c.t, { now: c.now }));
      const parts = c.t.split('.').filter((p) => p.length > 0);
      for (const text of [e.clientMessage]) {
        for (const p of parts) expect(text).not.toContain(p.slice(0, 20));
        for (const kid of kids) expect(text).not.toContain(kid);
        expect(text).not.toContain(githubJwks);
      }
      for (const p of parts) expect(e.message).not.toContain(p.slice(0, 20));
      expect(JSON.stringify({ ...e, message: e.message })).not.toContain(c.t);
    }
  });
});

describe('JwtVerifierRegistry', () => {
  it('selects the provider by iss', async () => {
    const spireJwks = spire.writeJwks(join(dir, 'spire-jwks-reg.json'));
    const reg = new JwtVerifierRegistry(
      [githubConfig(), providerConfig({ name: 'spire', issuer: SPIRE, audiences: [AUD], jwks: { file: spireJwks }, profile: 'spiffe' })],
      { fingerprintKey: key },
    );
    expect((await reg.verify(await github.mintGithubActions({ audience: AUD, now: T0 }), { now: T0 })).provider).toBe('github');
    expect((await reg.verify(await spire.mintSpiffe('spiffe://acme.test/ci', AUD, { now: T0 }), { now: T0 })).provider).toBe('spire');
    const e = await failure(reg.verify(await corp.mint({ sub: 'x', aud: AUD }), { now: T0 }), 'E_ID_UNKNOWN_ISSUER');
    expect(e.clientMessage).toBe('token issuer is not accepted by this gateway');
    expect(e.tokenHash).toMatch(/^b2k:/);
    await failure(reg.verify('garbage', { now: T0 }), 'E_ID_MALFORMED');
    await failure(reg.verify(await github.mint({ iss: undefined, sub: 'x', aud: AUD })), 'E_ID_MALFORMED');
    await failure(reg.verify(''), 'E_ID_NO_TOKEN');
  });

  it('refuses two providers with the same issuer', () => {
    expect(() => new JwtVerifierRegistry([githubConfig(), githubConfig({ name: 'github2' })], { fingerprintKey: key })).toThrow(/configured twice/);
  });

  it('errors are VigilErrors with codes', async () => {
    const reg = new JwtVerifierRegistry([githubConfig()], { fingerprintKey: key });
    const e = await failure(reg.verify('x.y.z'));
    expect(isVigilError(e)).toBe(true);
    expect(e).toBeInstanceOf(IdentityError);
  });
});
