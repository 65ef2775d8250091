/**
 * All configured identity providers, one JwtVerifier each. A token's `iss` (read before verification:
 * it only chooses which keys and rules apply, and the chosen verifier checks it again) selects exactly one
 * provider; issuers are unique by config.
 */
import { decodeJwt } from 'jose';
import { VigilError } from '../../shared/errors.ts';
import type { IdentityProviderConfig } from './config.ts';
import { IdentityError, logValue } from './errors.ts';
import { JwtVerifier, MAX_TOKEN_LENGTH, noToken, type JwtVerifierOptions, type VerifyOptions } from './jwt-verifier.ts';
import { checkFingerprintKey, tokenHash } from './token-hash.ts';
import type { VerifiedIdentity } from './verified-identity.ts';

export class JwtVerifierRegistry {
  private readonly byIssuer = new Map<string, JwtVerifier>();
  private readonly fingerprintKey: Uint8Array;

  constructor(providers: readonly IdentityProviderConfig[], options: JwtVerifierOptions) {
    checkFingerprintKey(options.fingerprintKey);
    this.fingerprintKey = options.fingerprintKey;
    for (const p of providers) {
      if (this.byIssuer.has(p.issuer)) throw new VigilError('E_CONFIG', `identity provider ${p.name}: issuer ${p.issuer} is configured twice`);
      this.byIssuer.set(p.issuer, new JwtVerifier(p, options));
    }
  }

  get verifiers(): JwtVerifier[] {
    return [...this.byIssuer.values()];
  }

  /**
   * The clock tolerance the named provider verifies with: a session on its token lasts until `exp` plus
   * this (appliance/pipeline/session-limits.ts). Undefined for a name that is not a configured provider.
   */
  clockToleranceSeconds(provider: string): number | undefined {
    return this.verifiers.find((v) => v.provider.name === provider)?.provider.clockToleranceSeconds;
  }

  /** Fetches every remote JWKS now; resolves to the failures (empty when all are reachable). */
  async warmUp(): Promise<{ provider: string; error: unknown }[]> {
    const results = await Promise.allSettled(this.verifiers.map((v) => v.warmUp()));
    return results.flatMap((r, i) => (r.status === 'rejected' ? [{ provider: this.verifiers[i]!.provider.name, error: r.reason as unknown }] : []));
  }

  async verify(token: string, options: VerifyOptions = {}): Promise<VerifiedIdentity> {
    return this.verifierFor(token).verify(token, options);
  }

  /** The verifier for the token's issuer; E_ID_UNKNOWN_ISSUER or E_ID_MALFORMED otherwise. */
  verifierFor(token: string): JwtVerifier {
    if (token === '') throw noToken();
    const fail = (code: 'E_ID_MALFORMED' | 'E_ID_UNKNOWN_ISSUER', internal: string, client: string) =>
      new IdentityError(code, internal, client, { tokenHash: tokenHash(this.fingerprintKey, token) });
    if (token.length > MAX_TOKEN_LENGTH) throw fail('E_ID_MALFORMED', `token is ${token.length} characters, more than ${MAX_TOKEN_LENGTH}`, NOT_A_JWT);
    let iss: unknown;
    try {
      iss = decodeJwt(token).iss;
    } catch (e) {
      throw fail('E_ID_MALFORMED', `token is not a JWT: ${(e as Error).message}`, NOT_A_JWT);
    }
    if (typeof iss !== 'string') throw fail('E_ID_MALFORMED', 'token has no iss claim', 'token has no iss claim');
    const v = this.byIssuer.get(iss);
    if (!v) throw fail('E_ID_UNKNOWN_ISSUER', `no identity provider is configured for issuer ${logValue(iss)}`, 'token issuer is not accepted by this gateway');
    return v;
  }
}

const NOT_A_JWT = 'the password is not a valid identity token (expected a signed JWT)';
