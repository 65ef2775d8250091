/**
 * jose's errors, translated into IdentityErrors. Internal messages name the provider, the `kid`, `alg`
 * and claim involved; client messages say what a legitimate caller can fix and never which keys exist.
 * jose errors are not attached as `cause`: claim errors carry the whole payload, which does not belong in
 * a log line.
 */
import { errors, type JWTPayload, type ProtectedHeaderParameters } from 'jose';
import type { IdentityProviderConfig } from './config.ts';
import { IdentityError, isoSeconds, logValue, type IdentityErrorCode } from './errors.ts';

export interface JwtErrorContext {
  provider: IdentityProviderConfig;
  header: ProtectedHeaderParameters;
}

export const JTI_REQUIRED_CLIENT = 'token has no jti claim; tokens from this issuer are single-use and must carry one';

const SIGNATURE_CLIENT = "token signature could not be verified with the issuer's keys; request a fresh token from the issuer";

export function idError(code: IdentityErrorCode, ctx: JwtErrorContext, internal: string, client: string): IdentityError {
  return new IdentityError(code, `identity provider ${ctx.provider.name}: ${internal}`, client);
}

export function malformed(ctx: JwtErrorContext, internal: string, client = 'the password is not a valid identity token (expected a signed JWT)'): IdentityError {
  return idError('E_ID_MALFORMED', ctx, internal, client);
}

export function fromJoseError(e: unknown, ctx: JwtErrorContext): IdentityError {
  if (e instanceof IdentityError) return e;
  const p = ctx.provider;
  const keyDesc = `kid ${ctx.header.kid === undefined ? '(none)' : logValue(ctx.header.kid)}, alg ${logValue(ctx.header.alg)}`;

  if (e instanceof errors.JWTExpired) {
    const exp = numeric(e.payload, 'exp');
    return idError('E_ID_EXPIRED', ctx, `token expired at ${exp === undefined ? '?' : isoSeconds(exp)} (tolerance ${p.clockToleranceSeconds} s)`, `token expired${exp === undefined ? '' : ` at ${isoSeconds(exp)}`}; request a fresh token`);
  }
  if (e instanceof errors.JWTClaimValidationFailed) return fromClaimError(e, ctx);
  if (e instanceof errors.JOSEAlgNotAllowed)
    return idError('E_ID_ALGORITHM', ctx, `algorithm ${logValue(ctx.header.alg)} is not in the allow-list ${p.algorithms.join(', ')}`, algorithmClient(ctx));
  if (e instanceof errors.JWSSignatureVerificationFailed) return idError('E_ID_BAD_SIGNATURE', ctx, `signature verification failed (${keyDesc})`, SIGNATURE_CLIENT);
  if (e instanceof errors.JWKSNoMatchingKey) return idError('E_ID_BAD_SIGNATURE', ctx, `no key in the JWKS matches ${keyDesc}`, SIGNATURE_CLIENT);
  if (e instanceof errors.JWKSMultipleMatchingKeys) return idError('E_ID_BAD_SIGNATURE', ctx, `no key among several candidates verifies the signature (${keyDesc})`, SIGNATURE_CLIENT);
  if (e instanceof errors.JWKInvalid || e instanceof errors.JWKSInvalid)
    return new IdentityError('E_ID_JWKS_UNAVAILABLE', `identity provider ${p.name}: a key in the JWKS cannot be used (${keyDesc}): ${e.message}`, 'the gateway cannot verify tokens from this issuer right now; try again later');
  // e.g. a secret (HMAC) alg against a JWKS: jose refuses it even if an allow-list let it through.
  if (e instanceof errors.JOSENotSupported) return idError('E_ID_ALGORITHM', ctx, `unsupported for this JWKS (${keyDesc}): ${e.message}`, algorithmClient(ctx));
  if (e instanceof errors.JWSInvalid || e instanceof errors.JWTInvalid) return malformed(ctx, `not a valid JWS/JWT: ${e.message}`);
  // An unexpected failure (a bug, or jose rejecting its own options): no detail for the client.
  return new IdentityError('E_ID_INTERNAL', `identity provider ${p.name}: token verification failed unexpectedly: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`, 'identity verification failed');
}

function fromClaimError(e: InstanceType<typeof errors.JWTClaimValidationFailed>, ctx: JwtErrorContext): IdentityError {
  const p = ctx.provider;
  if (e.claim === 'aud' && e.reason === 'missing') return audience(ctx, 'no audience');
  if (e.claim === 'jti' && e.reason === 'missing')
    return malformed(ctx, 'token has no jti claim (required: singleUseTokens)', JTI_REQUIRED_CLIENT);
  if (e.reason === 'missing') return malformed(ctx, `token has no ${e.claim} claim`, `token has no ${e.claim} claim`);
  if (e.reason === 'invalid') return malformed(ctx, `token claim ${e.claim} is not of the right type`, `token claim ${e.claim} is malformed`);
  switch (e.claim) {
    case 'aud':
      return audience(ctx, `audience ${logValue(e.payload.aud)}`);
    case 'nbf': {
      const nbf = isoSeconds(numeric(e.payload, 'nbf') ?? Number.NaN);
      return idError('E_ID_NOT_YET_VALID', ctx, `token not valid before ${nbf} (tolerance ${p.clockToleranceSeconds} s)`, `token is not valid before ${nbf}; check the client's clock`);
    }
    case 'iss':
      return new IdentityError('E_ID_UNKNOWN_ISSUER', `identity provider ${p.name}: token issuer ${logValue(e.payload.iss)} is not ${p.issuer}`, 'token issuer is not accepted by this gateway');
    default:
      return malformed(ctx, `claim ${e.claim} failed validation (${e.reason})`, `token claim ${e.claim} is not acceptable`);
  }
}

function audience(ctx: JwtErrorContext, got: string): IdentityError {
  const a = ctx.provider.audiences;
  const expected = a.length === 1 ? a[0]! : `one of ${a.join(', ')}`;
  return idError('E_ID_AUDIENCE', ctx, `token has ${got}, expected ${expected}`, `token audience must include ${expected}`);
}

export function algorithmClient(ctx: JwtErrorContext): string {
  const alg = ctx.header.alg;
  if (typeof alg === 'string' && alg.toLowerCase() === 'none') return 'unsigned tokens (alg none) are never accepted';
  return `token algorithm ${typeof alg === 'string' && /^[A-Za-z0-9]{1,16}$/.test(alg) ? alg : '(invalid)'} is not accepted; this issuer's tokens must use ${ctx.provider.algorithms.join(' or ')}`;
}

function numeric(payload: JWTPayload, claim: 'exp' | 'nbf'): number | undefined {
  const v = payload[claim];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
