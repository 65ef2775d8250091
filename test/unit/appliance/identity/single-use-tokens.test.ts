/**
 * singleUseTokens on an identity provider: jti required, claimed only by a token that passes every other
 * check, refused the second time (E_ID_TOKEN_REPLAYED, 28P01), and remembered across a restart.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { crypto } from '../../../../shared/crypto/backend.ts';
import { identityProviderSchema, type IdentityProviderInput } from '../../../../appliance/identity/config.ts';
import { sqlstateFor } from '../../../../appliance/protocols/postgres/identity-errors.ts';
import { JwtVerifier } from '../../../../appliance/identity/jwt-verifier.ts';
import { JwtVerifierRegistry } from '../../../../appliance/identity/registry.ts';
import type { TokenReplayStore } from '../../../../appliance/identity/replay-store.ts';
import { openDatabase } from '../../../../appliance/store/database.ts';
import { SqliteTokenReplayStore } from '../../../../appliance/store/token-replay-store.ts';
import { providerConfig, tempDir, TestIdentityProvider } from '../../../helpers/identity-provider.ts';
import { failure } from './helpers.ts';

const AUD = 'vigil-prod';
const ISS = 'https://token.actions.githubusercontent.com';
const T0 = new Date('2030-06-01T12:00:00Z');
const at = (s: number) => new Date(T0.getTime() + s * 1000);

let key: Uint8Array;
let dir: string;
let idp: TestIdentityProvider;
let jwks: string;

beforeAll(async () => {
  key = crypto().randomBytes(32);
  dir = tempDir();
  idp = await TestIdentityProvider.create({ issuer: ISS });
  jwks = idp.writeJwks(join(dir, 'jwks.json'));
});

/** A store that remembers in memory and records what it was asked. */
function memoryStore(): TokenReplayStore & { claims: { issuer: string; jti: string; expiresAt: Date }[] } {
  const seen = new Set<string>();
  const claims: { issuer: string; jti: string; expiresAt: Date }[] = [];
  return {
    claims,
    claim(issuer, jti, expiresAt) {
      claims.push({ issuer, jti, expiresAt });
      const k = `${issuer}\0${jti}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    },
  };
}

function verifier(store: TokenReplayStore | undefined, over: Partial<IdentityProviderInput> = {}): JwtVerifier {
  return new JwtVerifier(
    providerConfig({ name: 'github', issuer: ISS, audiences: [AUD], jwks: { file: jwks }, algorithms: ['ES256'], profile: 'github-actions', singleUseTokens: true, clockToleranceSeconds: 5, ...over }),
    { fingerprintKey: key, ...(store ? { replayStore: store } : {}) },
  );
}

describe('singleUseTokens', () => {
  it('defaults to false and is validated as a boolean', () => {
    const base = { name: 'g', issuer: ISS, audiences: [AUD], jwks: { file: 'j.json' } };
    expect(identityProviderSchema.parse(base).singleUseTokens).toBe(false);
    expect(identityProviderSchema.safeParse({ ...base, singleUseTokens: 'yes' }).success).toBe(false);
  });

  it('accepts a token once, then refuses it as replayed with 28P01', async () => {
    const store = memoryStore();
    const v = verifier(store);
    const token = await idp.mintGithubActions({ audience: AUD, now: T0, lifetimeSeconds: 60 });
    const id = await v.verify(token, { now: at(1) });
    expect(id.tokenId).toMatch(/^[0-9a-f-]{36}$/);
    // Remembered until the token could no longer pass: exp + tolerance.
    expect(store.claims).toEqual([{ issuer: ISS, jti: id.tokenId, expiresAt: at(65) }]);
    const e = await failure(v.verify(token, { now: at(2) }), 'E_ID_TOKEN_REPLAYED');
    expect(sqlstateFor(e)).toBe('28P01');
    expect(e.clientMessage).toBe('this token was already used, and tokens from this issuer are single-use; request a fresh token');
    expect(e.message).toContain(id.tokenId);
    expect(e.tokenHash).toBe(id.tokenHash);
  });

  it('refuses a token without jti', async () => {
    const token = await idp.mintGithubActions({ audience: AUD, now: T0, claims: { jti: undefined } });
    const e = await failure(verifier(memoryStore()).verify(token, { now: at(1) }), 'E_ID_MALFORMED');
    expect(e.clientMessage).toBe('token has no jti claim; tokens from this issuer are single-use and must carry one');
    // Without singleUseTokens the same token is fine.
    await expect(verifier(undefined, { singleUseTokens: false }).verify(token, { now: at(1) })).resolves.toMatchObject({ method: 'oidc-jwt' });
  });

  it('claims nothing for a token refused for another reason', async () => {
    const store = memoryStore();
    const v = verifier(store);
    const wrongAudience = await idp.mintGithubActions({ audience: 'elsewhere', now: T0 });
    await failure(v.verify(wrongAudience, { now: at(1) }), 'E_ID_AUDIENCE');
    const expired = await idp.mintGithubActions({ audience: AUD, now: T0, lifetimeSeconds: 10 });
    await failure(v.verify(expired, { now: at(100) }), 'E_ID_EXPIRED');
    expect(store.claims).toEqual([]);
    // …so the expired one's jti is not burnt for anyone, and a good token still works.
    await v.verify(await idp.mintGithubActions({ audience: AUD, now: T0 }), { now: at(1) });
    expect(store.claims).toHaveLength(1);
  });

  it('needs a replay store', () => {
    expect(() => verifier(undefined)).toThrow(/singleUseTokens needs a token replay store/);
    expect(() => new JwtVerifierRegistry([providerConfig({ name: 'g', issuer: ISS, audiences: [AUD], jwks: { file: jwks }, singleUseTokens: true })], { fingerprintKey: key })).toThrow(/replay store/);
  });

  it('refuses a replay after a restart (SQLite store, database reopened)', async () => {
    const file = join(tempDir('vigil-replay-'), 'vigil.db');
    const token = await idp.mintGithubActions({ audience: AUD, now: T0 });
    let db = openDatabase(file);
    await verifier(new SqliteTokenReplayStore(db, { now: at(1) })).verify(token, { now: at(1) });
    db.close();
    db = openDatabase(file);
    await failure(verifier(new SqliteTokenReplayStore(db, { now: at(2) })).verify(token, { now: at(2) }), 'E_ID_TOKEN_REPLAYED');
    db.close();
  });

  it('the registry reports each provider’s clock tolerance', () => {
    const reg = new JwtVerifierRegistry([providerConfig({ name: 'g', issuer: ISS, audiences: [AUD], jwks: { file: jwks }, clockToleranceSeconds: 7 })], { fingerprintKey: key });
    expect(reg.clockToleranceSeconds('g')).toBe(7);
    expect(reg.clockToleranceSeconds('nope')).toBeUndefined();
  });
});
