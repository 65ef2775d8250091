import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crypto } from '../../../../shared/crypto/backend.ts';
import type { IdentityProviderInput } from '../../../../appliance/identity/config.ts';
import { sqlstateFor } from '../../../../appliance/protocols/postgres/identity-errors.ts';
import { JwtVerifier } from '../../../../appliance/identity/jwt-verifier.ts';
import { JwtVerifierRegistry } from '../../../../appliance/identity/registry.ts';
import { deadUrl, providerConfig, serveJwks, TestIdentityProvider, type JwksServer } from '../../../helpers/identity-provider.ts';
import { failure } from './helpers.ts';

const AUD = 'vigil-prod';
const ISSUER = 'https://idp.remote.test';

let key: Uint8Array;
let idp: TestIdentityProvider;
let server: JwksServer;

beforeAll(async () => {
  key = crypto().randomBytes(32);
  idp = await TestIdentityProvider.create({ issuer: ISSUER });
  server = await serveJwks(idp);
});

afterAll(() => server.close());

function remoteProvider(jwks: Record<string, unknown> = {}, over: Partial<IdentityProviderInput> = {}) {
  return providerConfig({ name: 'remote', issuer: ISSUER, audiences: [AUD], profile: 'generic', algorithms: ['ES256'], jwks: { url: server.url, ca: server.caPath, ...jwks }, ...over });
}

function verifier(jwks: Record<string, unknown> = {}): JwtVerifier {
  return new JwtVerifier(remoteProvider(jwks), { fingerprintKey: key });
}

describe('remote JWKS over HTTPS with a private CA', () => {
  it('fetches once and then uses the cache', async () => {
    const v = verifier();
    const before = server.requests;
    const id = await v.verify(await idp.mint({ sub: 'svc-a', aud: AUD }));
    expect(id.subject).toBe('svc-a');
    await v.verify(await idp.mint({ sub: 'svc-b', aud: AUD }));
    expect(server.requests - before).toBe(1);
  });

  it('refetches on an unknown kid and picks up a rotated key', async () => {
    const v = verifier({ cooldownSeconds: 0 });
    await v.verify(await idp.mint({ sub: 'before', aud: AUD }));
    const before = server.requests;
    const newKid = await idp.rotate('ES256');
    const id = await v.verify(await idp.mint({ sub: 'after', aud: AUD }, { kid: newKid }));
    expect(id.subject).toBe('after');
    expect(server.requests - before).toBe(1);
  });

  it('does not refetch during the cooldown: an unknown kid is then a bad signature', async () => {
    const v = verifier({ cooldownSeconds: 3600 });
    await v.verify(await idp.mint({ sub: 'x', aud: AUD }));
    const before = server.requests;
    const newKid = await idp.rotate('ES256');
    const e = await failure(v.verify(await idp.mint({ sub: 'y', aud: AUD }, { kid: newKid })), 'E_ID_BAD_SIGNATURE');
    expect(e.clientMessage).not.toContain(newKid);
    expect(server.requests).toBe(before);
  });

  it('refuses the endpoint when its certificate is not signed by jwks.ca (or the system roots)', async () => {
    const v = new JwtVerifier(remoteProvider({ ca: undefined }), { fingerprintKey: key });
    const e = await failure(v.verify(await idp.mint({ sub: 'x', aud: AUD })), 'E_ID_JWKS_UNAVAILABLE');
    expect(e.message).toMatch(/certificate/i);
    expect(e.clientMessage).toBe('the gateway cannot verify tokens from this issuer right now; try again later');
  });
});

describe('JWKS endpoint unavailable', () => {
  it('is E_ID_JWKS_UNAVAILABLE when nothing listens', async () => {
    const url = await deadUrl();
    const v = new JwtVerifier(providerConfig({ name: 'remote', issuer: ISSUER, audiences: [AUD], algorithms: ['ES256'], jwks: { url } }), { fingerprintKey: key });
    const e = await failure(v.verify(await idp.mint({ sub: 'x', aud: AUD })), 'E_ID_JWKS_UNAVAILABLE');
    expect(e.message).toContain('ECONNREFUSED');
    expect(sqlstateFor(e)).toBe('28000');
    expect(e.tokenHash).toMatch(/^b2k:/);
    await expect(v.warmUp()).rejects.toMatchObject({ code: 'E_ID_JWKS_UNAVAILABLE' });
  });

  it.each([503, 404, 302])('is E_ID_JWKS_UNAVAILABLE on HTTP %i (redirects are not followed)', async (status) => {
    server.failWith = status;
    try {
      const e = await failure(verifier().verify(await idp.mint({ sub: 'x', aud: AUD })), 'E_ID_JWKS_UNAVAILABLE');
      expect(e.message).toContain(`(HTTP ${status})`);
    } finally {
      server.failWith = undefined;
    }
  });

  it('is E_ID_JWKS_UNAVAILABLE when the endpoint does not answer in time', async () => {
    server.hang = true;
    try {
      const e = await failure(verifier({ timeoutMs: 200 }).verify(await idp.mint({ sub: 'x', aud: AUD })), 'E_ID_JWKS_UNAVAILABLE');
      expect(e.message).toContain('timed out');
    } finally {
      server.hang = false;
    }
  });

  it('registry warm-up reports unreachable providers', async () => {
    const url = await deadUrl();
    const reg = new JwtVerifierRegistry(
      [remoteProvider(), providerConfig({ name: 'down', issuer: 'https://down.test', audiences: [AUD], jwks: { url } })],
      { fingerprintKey: key },
    );
    const failures = await reg.warmUp();
    expect(failures.map((f) => f.provider)).toEqual(['down']);
  });
});
