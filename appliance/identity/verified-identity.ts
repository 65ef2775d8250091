/** What the identity step proves about a client, whichever way it authenticated. */

/** A claim value the audit summary may carry. */
export type ClaimValue = string | string[] | number | boolean;

export interface VerifiedIdentity {
  method: 'oidc-jwt' | 'mtls';
  /** The config name of the identity provider (or of the mTLS section). */
  provider: string;
  /** The token's `iss`, or the client certificate's issuer DN. */
  issuer: string;
  /** The identity: the profile's subject claim, or the certificate's SPIFFE ID / CN. */
  subject: string;
  /** Derived by the profile (see profiles/); meaningful only together with `provider`. */
  groups: string[];
  /** The token's `jti`, or the certificate's serial number (hex). */
  tokenId?: string;
  /** Keyed BLAKE2b-256 of the raw token or certificate DER, 'b2k:' + hex: auditors can correlate, nobody can recover it. */
  tokenHash?: string;
  /** ISO 8601: the token's `exp`, or the certificate's notAfter. */
  expiresAt?: string;
  /** A safe summary: only whitelisted, non-secret claims (per profile, plus `summaryClaims`). */
  claims: Record<string, ClaimValue>;
}
