import { describe, expect, it } from 'vitest';
import { identityProviderSchema, identityProvidersSchema, mtlsSchema } from '../../../../appliance/identity/config.ts';

const base = { name: 'github', issuer: 'https://token.actions.githubusercontent.com', audiences: ['vigil-prod'], jwks: { file: 'keys/github-jwks.json' } };

/** The first issue as the config loader reports it: path and message. */
function issue(schema: { safeParse(v: unknown): { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } } }, v: unknown): string {
  const r = schema.safeParse(v);
  expect(r.success).toBe(false);
  const i = r.error!.issues[0]!;
  return `${i.path.map(String).join('.')}: ${i.message}`;
}

describe('identity provider schema', () => {
  it('fills profile defaults', () => {
    expect(identityProviderSchema.parse({ ...base, profile: 'github-actions' })).toEqual({
      ...base,
      jwks: { kind: 'file', file: 'keys/github-jwks.json' },
      algorithms: ['RS256'],
      profile: 'github-actions',
      subjectClaim: 'sub',
      groupsClaim: undefined,
      summaryClaims: [],
      maxTokenLifetimeSeconds: 3600,
      clockToleranceSeconds: 30,
      singleUseTokens: false,
    });
    const generic = identityProviderSchema.parse(base);
    expect(generic).toMatchObject({ profile: 'generic', subjectClaim: 'sub', groupsClaim: 'groups', algorithms: ['RS256', 'ES256'] });
  });

  it('parses a remote JWKS with its defaults', () => {
    const p = identityProviderSchema.parse({ ...base, jwks: { url: 'https://idp.example/jwks', ca: 'keys/idp-ca.pem' } });
    expect(p.jwks).toEqual({ kind: 'url', url: 'https://idp.example/jwks', cacheSeconds: 600, cooldownSeconds: 30, timeoutMs: 5000, ca: 'keys/idp-ca.pem' });
  });

  it("refuses 'none' and HMAC algorithms with a reason", () => {
    expect(issue(identityProviderSchema, { ...base, algorithms: ['RS256', 'none'] })).toMatch(/^algorithms\.1: 'none' is never allowed: it accepts unsigned tokens/);
    expect(issue(identityProviderSchema, { ...base, algorithms: ['HS256'] })).toMatch(/^algorithms\.0: HS256 is never allowed: it is a shared-secret \(HMAC\) algorithm.*key-confusion/);
    expect(issue(identityProviderSchema, { ...base, algorithms: ['hs512'] })).toMatch(/hs512 is never allowed/);
    expect(issue(identityProviderSchema, { ...base, algorithms: ['RS257'] })).toMatch(/^algorithms\.0: unknown algorithm "RS257"; use the issuer's: one of RS256/);
    expect(issue(identityProviderSchema, { ...base, algorithms: [] })).toMatch(/^algorithms:/);
  });

  it('needs exactly one JWKS source, over https, with remote options only for a URL', () => {
    expect(issue(identityProviderSchema, { ...base, jwks: {} })).toBe('jwks: give exactly one of jwks.file (a JWKS file, the offline default) or jwks.url (an https:// JWKS endpoint)');
    expect(issue(identityProviderSchema, { ...base, jwks: { file: 'a', url: 'https://x/jwks' } })).toMatch(/^jwks: give exactly one/);
    expect(issue(identityProviderSchema, { ...base, jwks: { url: 'http://idp.example/jwks' } })).toMatch(/^jwks\.url: jwks\.url must be an https:\/\/ URL/);
    expect(issue(identityProviderSchema, { ...base, jwks: { file: 'a', cacheSeconds: 5 } })).toBe('jwks.cacheSeconds: cacheSeconds applies only to jwks.url');
    expect(issue(identityProviderSchema, { ...base, jwks: { url: 'https://x/jwks', timeoutMs: 10 } })).toMatch(/^jwks\.timeoutMs: Too small/);
  });

  it('needs audiences, a valid name and a known profile', () => {
    expect(issue(identityProviderSchema, { ...base, audiences: [] })).toMatch(/^audiences: list at least one audience/);
    expect(issue(identityProviderSchema, { ...base, name: 'GitHub Prod' })).toMatch(/^name: a provider name is lowercase/);
    expect(issue(identityProviderSchema, { ...base, profile: 'gitlab' })).toMatch(/^profile: Invalid option/);
    expect(issue(identityProviderSchema, { ...base, maxTokenLifetimeSeconds: 0 })).toMatch(/^maxTokenLifetimeSeconds:/);
    expect(issue(identityProviderSchema, { ...base, extra: 1 })).toMatch(/Unrecognized key: "extra"/);
  });

  it('refuses secret-looking summary claims and a spiffe subjectClaim other than sub', () => {
    expect(issue(identityProviderSchema, { ...base, summaryClaims: ['tenant', 'refresh_token'] })).toMatch(/^summaryClaims\.1: refresh_token looks like it may hold a secret/);
    expect(issue(identityProviderSchema, { ...base, profile: 'spiffe', subjectClaim: 'email' })).toMatch(/^subjectClaim: the spiffe profile's subject is always sub/);
  });

  it('refuses duplicate names and issuers in the list', () => {
    expect(issue(identityProvidersSchema, [base, { ...base, issuer: 'https://other' }])).toBe('1.name: provider name github is already used by entry 1');
    expect(issue(identityProvidersSchema, [base, { ...base, name: 'gh2' }])).toMatch(/^1\.issuer: issuer https:\/\/token\.actions\.githubusercontent\.com is already configured by entry 1/);
  });
});

describe('mtls schema', () => {
  it('defaults groups to the SPIFFE ID for san-uri and none for subject-cn', () => {
    expect(mtlsSchema.parse({ ca: 'keys/clients-ca.pem', identityFrom: 'san-uri' })).toEqual({
      name: 'mtls',
      ca: 'keys/clients-ca.pem',
      identityFrom: 'san-uri',
      groupsFrom: ['spiffe-id'],
      trustDomains: undefined,
    });
    expect(mtlsSchema.parse({ ca: 'ca.pem', identityFrom: 'subject-cn' }).groupsFrom).toEqual([]);
  });

  it('refuses inconsistent options', () => {
    expect(issue(mtlsSchema, { ca: 'ca.pem', identityFrom: 'subject-cn', groupsFrom: ['spiffe-id'] })).toBe('groupsFrom: spiffe-id groups need identityFrom: san-uri');
    expect(issue(mtlsSchema, { ca: 'ca.pem', identityFrom: 'subject-cn', trustDomains: ['acme.test'] })).toBe('trustDomains: trustDomains applies only to identityFrom: san-uri');
    expect(issue(mtlsSchema, { ca: 'ca.pem', identityFrom: 'san' })).toMatch(/^identityFrom: Invalid option/);
    expect(issue(mtlsSchema, { identityFrom: 'san-uri' })).toMatch(/^ca:/);
  });
});
