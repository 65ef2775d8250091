/** The identity step: who is this client? OIDC JWTs (JwtVerifierRegistry) and mTLS certificates (identityFromCertificate). */
export {
  identityProviderSchema,
  identityProvidersSchema,
  jwksSchema,
  mtlsSchema,
  PROFILES,
  type IdentityProviderConfig,
  type IdentityProviderInput,
  type JwksSource,
  type JwsAlgorithm,
  type MtlsConfig,
  type MtlsInput,
  type ProfileName,
} from './config.ts';
export { clientMessageFor, IDENTITY_ERROR_CODES, IdentityError, isIdentityError, type IdentityErrorCode } from './errors.ts';
export { JwtVerifier, type JwtVerifierOptions, type VerifyOptions } from './jwt-verifier.ts';
export { JwtVerifierRegistry } from './registry.ts';
export type { TokenReplayStore } from './replay-store.ts';
export { identityFromCertificate, mtlsServerOptions, type CertificateContext } from './mtls.ts';
export { tokenHash, TOKEN_HASH_PREFIX } from './token-hash.ts';
export type { ClaimValue, VerifiedIdentity } from './verified-identity.ts';
