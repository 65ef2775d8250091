/**
 * The `identityProviders` and `mtls` sections of vigil.yaml. Everything a verifier needs is resolved
 * here (profile defaults included), and anything unsafe is refused at load with a message that says why:
 * `none` and HMAC algorithms, plain-http JWKS, secret-looking claims in the audit summary.
 * Paths (jwks.file, jwks.ca, mtls.ca) are relative to the config file; the caller resolves them.
 */
import { z } from 'zod';

export const PROFILES = ['github-actions', 'spiffe', 'generic'] as const;
export type ProfileName = (typeof PROFILES)[number];

/** Asymmetric JWS algorithms jose verifies on Node 20. HMAC is absent on purpose (see `algorithm`). */
export const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;
export type JwsAlgorithm = (typeof ASYMMETRIC_ALGORITHMS)[number];

interface ProfileDefaults {
  subjectClaim: string;
  groupsClaim: string | undefined;
  algorithms: JwsAlgorithm[];
}

export const PROFILE_DEFAULTS: Record<ProfileName, ProfileDefaults> = {
  // GitHub signs with RS256 and has no groups claim: groups come from repository/owner/environment.
  'github-actions': { subjectClaim: 'sub', groupsClaim: undefined, algorithms: ['RS256'] },
  // SPIRE signs JWT-SVIDs with RS256 or ES256 keys; groups come from the SPIFFE ID.
  spiffe: { subjectClaim: 'sub', groupsClaim: undefined, algorithms: ['RS256', 'ES256'] },
  generic: { subjectClaim: 'sub', groupsClaim: 'groups', algorithms: ['RS256', 'ES256'] },
};

/**
 * Claim names that may hold credentials or one-time values; they never enter the audit summary
 * (checked at load for `summaryClaims`, and again at run time).
 */
export const SECRET_CLAIM_NAME = /token|secret|passw|pwd|key|credential|cookie|session|nonce|signature|assertion|code|hash|otp/i;

const CLAIM_NAME = /^[A-Za-z_][A-Za-z0-9_.:-]{0,127}$/;
const claimName = z.string().regex(CLAIM_NAME, 'a claim name is a letter or _ then letters, digits, _ . : -');

const algorithm = z.string().transform((alg, ctx): JwsAlgorithm => {
  if ((ASYMMETRIC_ALGORITHMS as readonly string[]).includes(alg)) return alg as JwsAlgorithm;
  let message = `unknown algorithm ${JSON.stringify(alg)}; use the issuer's: one of ${ASYMMETRIC_ALGORITHMS.join(', ')}`;
  if (alg.toLowerCase() === 'none') message = `'none' is never allowed: it accepts unsigned tokens, so anyone could claim any identity`;
  else if (/^HS\d+$/i.test(alg))
    message =
      `${alg} is never allowed: it is a shared-secret (HMAC) algorithm, so whoever can verify a token can also mint one, ` +
      `and it opens the key-confusion attack (a public key used as the HMAC secret); allow the issuer's asymmetric algorithm (RS256, ES256, …)`;
  ctx.addIssue({ code: 'custom', message });
  return z.NEVER;
});

const httpsUrl = z.url({ protocol: /^https$/, error: 'jwks.url must be an https:// URL (a JWKS fetched over plain http could be swapped in transit)' });

export type JwksSource =
  | { kind: 'file'; file: string }
  | { kind: 'url'; url: string; cacheSeconds: number; cooldownSeconds: number; timeoutMs: number; ca: string | undefined };

const REMOTE_ONLY = ['cacheSeconds', 'cooldownSeconds', 'timeoutMs', 'ca'] as const;

export const jwksSchema = z
  .strictObject({
    /** A JWKS file: the default in a CDE, where the appliance may not reach the internet. */
    file: z.string().min(1).optional(),
    url: httpsUrl.optional(),
    /** How long fetched keys are trusted before a refetch. */
    cacheSeconds: z.number().int().min(0).max(86_400).optional(),
    /** After a fetch, a token with an unknown `kid` waits this long before triggering another one. */
    cooldownSeconds: z.number().int().min(0).max(3_600).optional(),
    timeoutMs: z.number().int().min(100).max(60_000).optional(),
    /** PEM file of the CA(s) that sign the JWKS endpoint's certificate, instead of the system store. */
    ca: z.string().min(1).optional(),
  })
  .superRefine((j, ctx) => {
    if ((j.file === undefined) === (j.url === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'give exactly one of jwks.file (a JWKS file, the offline default) or jwks.url (an https:// JWKS endpoint)' });
      return;
    }
    if (j.file !== undefined)
      for (const k of REMOTE_ONLY) if (j[k] !== undefined) ctx.addIssue({ code: 'custom', path: [k], message: `${k} applies only to jwks.url` });
  })
  .transform(
    (j): JwksSource =>
      j.file !== undefined
        ? { kind: 'file', file: j.file }
        : { kind: 'url', url: j.url!, cacheSeconds: j.cacheSeconds ?? 600, cooldownSeconds: j.cooldownSeconds ?? 30, timeoutMs: j.timeoutMs ?? 5_000, ca: j.ca },
  );

export const identityProviderSchema = z
  .strictObject({
    /** Names the provider in logs, evidence and policy `match.providers`. */
    name: z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, 'a provider name is lowercase letters, digits, _ and -, starting with a letter'),
    /** Compared exactly with the token's `iss` (a trailing slash matters). */
    issuer: z.string().min(1).max(2_048),
    /** The token's `aud` must contain at least one of these. */
    audiences: z.array(z.string().min(1).max(512)).min(1, 'list at least one audience: a token minted for another service must not work here'),
    jwks: jwksSchema,
    algorithms: z.array(algorithm).min(1).optional(),
    profile: z.enum(PROFILES).default('generic'),
    subjectClaim: claimName.optional(),
    groupsClaim: claimName.optional(),
    /** Extra non-secret claims copied into the audit summary (on top of the profile's own list). */
    summaryClaims: z.array(claimName).optional(),
    /** Longest accepted `exp - iat`: long-lived tokens are refused even when still valid. */
    maxTokenLifetimeSeconds: z.number().int().min(1).max(86_400).default(3_600),
    clockToleranceSeconds: z.number().int().min(0).max(300).default(30),
    /**
     * Each token is accepted once: its `jti` (then required) is remembered until the token expires, durably,
     * and a second presentation is refused (E_ID_TOKEN_REPLAYED).
     */
    singleUseTokens: z.boolean().default(false),
  })
  .superRefine((p, ctx) => {
    if (p.profile === 'spiffe' && p.subjectClaim !== undefined && p.subjectClaim !== 'sub')
      ctx.addIssue({ code: 'custom', path: ['subjectClaim'], message: "the spiffe profile's subject is always sub (the SPIFFE ID); remove subjectClaim" });
    (p.summaryClaims ?? []).forEach((c, i) => {
      if (SECRET_CLAIM_NAME.test(c))
        ctx.addIssue({ code: 'custom', path: ['summaryClaims', i], message: `${c} looks like it may hold a secret; the audit summary never includes such claims` });
    });
  })
  .transform((p) => {
    const d = PROFILE_DEFAULTS[p.profile];
    return {
      name: p.name,
      issuer: p.issuer,
      audiences: p.audiences,
      jwks: p.jwks,
      algorithms: [...new Set(p.algorithms ?? d.algorithms)],
      profile: p.profile,
      subjectClaim: p.subjectClaim ?? d.subjectClaim,
      groupsClaim: p.groupsClaim ?? d.groupsClaim,
      summaryClaims: p.summaryClaims ?? [],
      maxTokenLifetimeSeconds: p.maxTokenLifetimeSeconds,
      clockToleranceSeconds: p.clockToleranceSeconds,
      singleUseTokens: p.singleUseTokens,
    };
  });

export type IdentityProviderConfig = z.output<typeof identityProviderSchema>;
export type IdentityProviderInput = z.input<typeof identityProviderSchema>;

/** The list: names identify providers and issuers select them, so both must be unique. */
export const identityProvidersSchema = z.array(identityProviderSchema).superRefine((list, ctx) => {
  const names = new Map<string, number>();
  const issuers = new Map<string, number>();
  list.forEach((p, i) => {
    const n = names.get(p.name);
    if (n !== undefined) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `provider name ${p.name} is already used by entry ${n + 1}` });
    else names.set(p.name, i);
    const s = issuers.get(p.issuer);
    if (s !== undefined)
      ctx.addIssue({ code: 'custom', path: [i, 'issuer'], message: `issuer ${p.issuer} is already configured by entry ${s + 1}; a token's iss must select exactly one provider` });
    else issuers.set(p.issuer, i);
  });
});

export const MTLS_GROUP_SOURCES = ['spiffe-id', 'subject-ou', 'subject-o'] as const;
export type MtlsGroupSource = (typeof MTLS_GROUP_SOURCES)[number];

const TRUST_DOMAIN = /^[a-z0-9._-]{1,255}$/;

export const mtlsSchema = z
  .strictObject({
    /** Names this identity source in logs and policy `match.providers`. */
    name: z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, 'a provider name is lowercase letters, digits, _ and -, starting with a letter').default('mtls'),
    /** PEM file of the CA(s) client certificates must chain to. */
    ca: z.string().min(1),
    /** san-uri: the certificate's one URI SAN, which must be a SPIFFE ID (X509-SVID); subject-cn: its subject CN. */
    identityFrom: z.enum(['san-uri', 'subject-cn']),
    /** Default: spiffe-id with san-uri, nothing with subject-cn. */
    groupsFrom: z.array(z.enum(MTLS_GROUP_SOURCES)).optional(),
    /** With san-uri: only SPIFFE IDs of these trust domains are accepted. */
    trustDomains: z.array(z.string().regex(TRUST_DOMAIN, 'a trust domain is lowercase letters, digits, . _ -')).min(1).optional(),
  })
  .superRefine((m, ctx) => {
    if (m.identityFrom !== 'san-uri') {
      if (m.groupsFrom?.includes('spiffe-id'))
        ctx.addIssue({ code: 'custom', path: ['groupsFrom'], message: 'spiffe-id groups need identityFrom: san-uri' });
      if (m.trustDomains) ctx.addIssue({ code: 'custom', path: ['trustDomains'], message: 'trustDomains applies only to identityFrom: san-uri' });
    }
  })
  .transform((m) => ({
    name: m.name,
    ca: m.ca,
    identityFrom: m.identityFrom,
    groupsFrom: [...new Set(m.groupsFrom ?? (m.identityFrom === 'san-uri' ? (['spiffe-id'] as const) : []))],
    trustDomains: m.trustDomains,
  }));

export type MtlsConfig = z.output<typeof mtlsSchema>;
export type MtlsInput = z.input<typeof mtlsSchema>;
