/**
 * How the PostgreSQL listener answers an identity refusal: a SQLSTATE for every identity error code
 * (appliance/identity/errors.ts). The table must name every code (a new one fails typechecking until it
 * is mapped here), so no refusal falls through to a default by accident.
 *   28P01 invalid_password — a token was presented for a trusted issuer and is not acceptable as it stands
 *         (bad signature, expired, not yet valid, too long-lived, wrong audience or algorithm, not a JWT,
 *         a single-use token presented again). The fix is a different token; libpq reports "password
 *         authentication failed".
 *   28000 invalid_authorization_specification — nothing here can establish an identity: no token, an
 *         issuer this gateway does not trust, keys that cannot be fetched, and every mTLS failure (the
 *         certificate, not a password, is the credential). The fix is on the setup side.
 */
import { IdentityError, type IdentityErrorCode } from '../../identity/index.ts';

export const SQLSTATE = { invalidPassword: '28P01', invalidAuthorization: '28000' } as const;
export type IdentitySqlstate = (typeof SQLSTATE)[keyof typeof SQLSTATE];

const P = SQLSTATE.invalidPassword;
const A = SQLSTATE.invalidAuthorization;

/** Every identity error code and its SQLSTATE. */
export const IDENTITY_SQLSTATE = {
  E_ID_NO_TOKEN: A,
  E_ID_MALFORMED: P,
  E_ID_UNKNOWN_ISSUER: A,
  E_ID_ALGORITHM: P,
  E_ID_BAD_SIGNATURE: P,
  E_ID_AUDIENCE: P,
  E_ID_EXPIRED: P,
  E_ID_NOT_YET_VALID: P,
  E_ID_LIFETIME: P,
  E_ID_TOKEN_REPLAYED: P,
  E_ID_JWKS_UNAVAILABLE: A,
  E_ID_INTERNAL: A,
  E_MTLS_NO_CERT: A,
  E_MTLS_MALFORMED: A,
  E_MTLS_UNTRUSTED: A,
  E_MTLS_EXPIRED: A,
  E_MTLS_NOT_YET_VALID: A,
  E_MTLS_NO_IDENTITY: A,
} as const satisfies Record<IdentityErrorCode, IdentitySqlstate>;

/** The SQLSTATE to answer an authentication failure with; anything that is not an identity error is 28000. */
export function sqlstateFor(e: unknown): IdentitySqlstate {
  return e instanceof IdentityError ? IDENTITY_SQLSTATE[e.code] : SQLSTATE.invalidAuthorization;
}
