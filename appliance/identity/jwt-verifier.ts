/**
 * Verifies one provider's JWTs: shape, algorithm allow-list, signature (jose, against the provider's
 * JWKS), issuer, audience, exp/nbf/iat with tolerance, required `sub` and `exp`, and a maximum lifetime;
 * then the profile maps the payload to an identity. For a provider with `singleUseTokens`, `jti` is
 * required too and, once everything else has passed, claimed in the replay store: a second presentation is
 * refused (a token refused for any other reason claims nothing). Every failure is an IdentityError carrying the
 * token's keyed hash; the token itself is never logged, returned or kept.
 */
import { decodeProtectedHeader, errors, jwtVerify, type FetchImplementation, type JWTPayload, type ProtectedHeaderParameters } from 'jose';
import { resolve } from 'node:path';
import { VigilError } from '../../shared/errors.ts';
import { ClaimProblem, groupsFromClaim, identityText, uniq } from './claims.ts';
import type { IdentityProviderConfig } from './config.ts';
import { IdentityError, isoSeconds, logValue } from './errors.ts';
import { algorithmClient, fromJoseError, idError, JTI_REQUIRED_CLIENT, malformed, type JwtErrorContext } from './jwt-errors.ts';
import { keySource, type KeySource } from './jwks.ts';
import { PROFILE_MAPPERS } from './profiles/index.ts';
import type { TokenReplayStore } from './replay-store.ts';
import { checkFingerprintKey, tokenHash } from './token-hash.ts';
import type { VerifiedIdentity } from './verified-identity.ts';

/** Longer than any real OIDC token; refuses to spend effort on junk. */
export const MAX_TOKEN_LENGTH = 16 * 1024;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export interface JwtVerifierOptions {
  /** The appliance's fingerprint key (32–64 bytes): tokenHash is keyed BLAKE2b-256 of the token under it. */
  fingerprintKey: Uint8Array;
  /** Resolves jwks.file / jwks.ca relative to the config file (LoadedConfig.resolvePath). Default: the cwd. */
  resolvePath?: (p: string) => string;
  /** Replaces the HTTPS GET for a remote JWKS (tests). */
  fetch?: FetchImplementation;
  /** Where single-use tokens' ids are remembered; required when a provider sets `singleUseTokens`. */
  replayStore?: TokenReplayStore;
}

export interface VerifyOptions {
  /** The time to verify at (default: now). */
  now?: Date;
}

export class JwtVerifier {
  readonly provider: IdentityProviderConfig;
  private readonly keys: KeySource;
  private readonly fingerprintKey: Uint8Array;
  private readonly replay: TokenReplayStore | undefined;

  constructor(provider: IdentityProviderConfig, options: JwtVerifierOptions) {
    checkFingerprintKey(options.fingerprintKey);
    if (provider.singleUseTokens && !options.replayStore)
      throw new VigilError('E_CONFIG', `identity provider ${provider.name}: singleUseTokens needs a token replay store, and none was given`);
    this.provider = provider;
    this.fingerprintKey = options.fingerprintKey;
    this.replay = options.replayStore;
    this.keys = keySource(provider.name, provider.jwks, {
      resolvePath: options.resolvePath ?? ((p) => resolve(p)),
      ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    });
  }

  /** Where the keys come from (file or URL), for start-up logs. */
  get keyLocation(): string {
    return this.keys.location;
  }

  /** Fetches a remote JWKS now; throws E_ID_JWKS_UNAVAILABLE when it cannot. A file was read at construction. */
  warmUp(): Promise<void> {
    return this.keys.warmUp();
  }

  async verify(token: string, options: VerifyOptions = {}): Promise<VerifiedIdentity> {
    if (token === '') throw noToken();
    const hash = tokenHash(this.fingerprintKey, token);
    try {
      return await this.verifyHashed(token, hash, options.now ?? new Date());
    } catch (e) {
      const err = e instanceof IdentityError ? e : fromJoseError(e, { provider: this.provider, header: {} });
      err.tokenHash = hash;
      throw err;
    }
  }

  private async verifyHashed(token: string, hash: string, now: Date): Promise<VerifiedIdentity> {
    const p = this.provider;
    const { header, iss } = peek(token, p);
    const ctx: JwtErrorContext = { provider: p, header };
    // Unverified, so it only decides which error to report; jose checks iss again after the signature.
    if (iss !== p.issuer)
      throw new IdentityError('E_ID_UNKNOWN_ISSUER', `identity provider ${p.name}: token issuer ${logValue(iss)} is not ${p.issuer}`, 'token issuer is not accepted by this gateway');
    const alg = header.alg;
    // Checked before any key is looked up; jose checks again (`algorithms`).
    if (typeof alg !== 'string' || !(p.algorithms as readonly string[]).includes(alg))
      throw idError('E_ID_ALGORITHM', ctx, `algorithm ${JSON.stringify(alg ?? null)} is not in the allow-list ${p.algorithms.join(', ')}`, algorithmClient(ctx));

    let payload: JWTPayload;
    try {
      ({ payload } = await verifyWithKeys(token, this.keys, {
        algorithms: p.algorithms,
        issuer: p.issuer,
        audience: p.audiences,
        clockTolerance: p.clockToleranceSeconds,
        requiredClaims: p.singleUseTokens ? ['sub', 'exp', 'jti'] : ['sub', 'exp'],
        currentDate: now,
      }));
    } catch (e) {
      throw fromJoseError(e, ctx);
    }
    checkTimes(payload, now, ctx);
    const identity = this.identity(payload, hash, ctx);
    if (p.singleUseTokens) await this.claimOnce(identity.tokenId, payload.exp!, now, ctx);
    return identity;
  }

  /** The last check: a single-use token's jti is claimed only once the token is otherwise acceptable. */
  private async claimOnce(jti: string | undefined, exp: number, now: Date, ctx: JwtErrorContext): Promise<void> {
    const p = this.provider;
    // jose required the claim and identity() checked it is usable text; this is the type's guarantee.
    if (jti === undefined) throw malformed(ctx, 'token has no jti claim', JTI_REQUIRED_CLIENT);
    // Forgettable once the token can no longer pass verification: exp plus the tolerance it was accepted with.
    const until = new Date((exp + p.clockToleranceSeconds) * 1000);
    let first: boolean;
    try {
      first = await this.replay!.claim(p.issuer, jti, until, now);
    } catch (e) {
      // Fail closed: a store that cannot say whether the id was used refuses the token.
      throw idError('E_ID_INTERNAL', ctx, `the single-use token store cannot be reached (${(e as Error).message})`, 'tokens from this issuer are single-use and the gateway cannot check this one now; try again shortly');
    }
    if (!first)
      throw idError('E_ID_TOKEN_REPLAYED', ctx, `token jti ${logValue(jti)} was already used (singleUseTokens)`, 'this token was already used, and tokens from this issuer are single-use; request a fresh token');
  }

  private identity(payload: JWTPayload, hash: string, ctx: JwtErrorContext): VerifiedIdentity {
    const p = this.provider;
    try {
      identityText(payload.sub, 'sub');
      const mapped = PROFILE_MAPPERS[p.profile](payload, p);
      const groups = p.groupsClaim === undefined ? mapped.groups : uniq([...mapped.groups, ...groupsFromClaim(payload, p.groupsClaim)]);
      const jti = payload.jti === undefined ? undefined : identityText(payload.jti, 'jti');
      return {
        method: 'oidc-jwt',
        provider: p.name,
        issuer: p.issuer,
        subject: mapped.subject,
        groups,
        ...(jti === undefined ? {} : { tokenId: jti }),
        tokenHash: hash,
        expiresAt: new Date(payload.exp! * 1000).toISOString(),
        claims: mapped.claims,
      };
    } catch (e) {
      if (e instanceof ClaimProblem) throw malformed(ctx, `${p.profile} profile: claim ${e.message}`, `token claim ${e.message}`);
      throw e;
    }
  }
}

export function noToken(): IdentityError {
  return new IdentityError('E_ID_NO_TOKEN', 'no identity token was presented', 'present an identity token (an OIDC JWT) as the password');
}

/** The protected header and the unverified iss, after checking the token is one compact JWS of sane size. */
function peek(token: string, provider: IdentityProviderConfig): { header: ProtectedHeaderParameters; iss: unknown } {
  const ctx: JwtErrorContext = { provider, header: {} };
  if (token.length > MAX_TOKEN_LENGTH) throw malformed(ctx, `token is ${token.length} characters, more than ${MAX_TOKEN_LENGTH}`);
  if (!COMPACT_JWS.test(token)) throw malformed(ctx, 'token is not a compact JWS (three base64url parts)');
  let header: ProtectedHeaderParameters;
  try {
    header = decodeProtectedHeader(token);
  } catch (e) {
    throw malformed(ctx, `token header does not decode: ${(e as Error).message}`);
  }
  let claims: Record<string, unknown>;
  try {
    claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    throw malformed({ provider, header }, 'token payload is not JSON');
  }
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) throw malformed({ provider, header }, 'token payload is not a JSON object');
  if (claims['iss'] === undefined) throw malformed({ provider, header }, 'token has no iss claim', 'token has no iss claim');
  return { header, iss: claims['iss'] };
}

/**
 * jwtVerify against the provider's keys. A token without `kid` may match several keys (during a
 * rotation, say): each candidate is tried, as jose's docs suggest.
 */
async function verifyWithKeys(token: string, keys: KeySource, options: Parameters<typeof jwtVerify>[2]): Promise<{ payload: JWTPayload }> {
  try {
    return await jwtVerify(token, keys.getKey, options);
  } catch (e) {
    if (!(e instanceof errors.JWKSMultipleMatchingKeys)) throw e;
    for await (const key of e) {
      try {
        return await jwtVerify(token, key, options);
      } catch (inner) {
        if (!(inner instanceof errors.JWSSignatureVerificationFailed)) throw inner;
      }
    }
    throw e;
  }
}

/** What jose does not check: `iat` in the future, and a lifetime (exp − iat) above the maximum. */
function checkTimes(payload: JWTPayload, now: Date, ctx: JwtErrorContext): void {
  const p = ctx.provider;
  const nowS = Math.floor(now.getTime() / 1000);
  const exp = payload.exp!;
  if (payload.iat !== undefined && payload.iat > nowS + p.clockToleranceSeconds)
    throw idError('E_ID_NOT_YET_VALID', ctx, `token issued in the future (iat ${isoSeconds(payload.iat)})`, `token is issued in the future (${isoSeconds(payload.iat)}); check the client's clock`);
  // Without iat or nbf, the remaining lifetime is all we can measure.
  const start = payload.iat ?? payload.nbf ?? nowS;
  const lifetime = exp - start;
  if (lifetime > p.maxTokenLifetimeSeconds)
    throw idError(
      'E_ID_LIFETIME',
      ctx,
      `token lifetime ${lifetime} s exceeds maxTokenLifetimeSeconds ${p.maxTokenLifetimeSeconds}`,
      `token lifetime ${lifetime} s exceeds the ${p.maxTokenLifetimeSeconds} s maximum; request a shorter-lived token`,
    );
}
