/**
 * Identity failures. Each has a stable code and two messages:
 *   - `message`, for the appliance log: may name the provider, issuer, key id, claim or certificate, never
 *     the token itself;
 *   - `clientMessage`, all the client is ever told: enough for a legitimate caller to fix their setup
 *     (expired → when; audience → which one is expected), nothing that helps an attacker (which keys exist,
 *     which issuers are trusted, why a signature failed).
 *
 * SQLSTATE for the PostgreSQL listener (`sqlstateFor`):
 *   28P01 invalid_password — a token was presented for a trusted issuer and is not acceptable as it stands
 *         (bad signature, expired, not yet valid, too long-lived, wrong audience or algorithm, not a JWT,
 *         a single-use token presented again).
 *         The fix is a different token; libpq reports "password authentication failed".
 *   28000 invalid_authorization_specification — nothing here can establish an identity: no token, an
 *         issuer this gateway does not trust, keys that cannot be fetched, and every mTLS failure (the
 *         certificate, not a password, is the credential). The fix is on the setup side.
 */
import { VigilError } from '../../shared/errors.ts';

export const SQLSTATE = { invalidPassword: '28P01', invalidAuthorization: '28000' } as const;
export type IdentitySqlstate = (typeof SQLSTATE)[keyof typeof SQLSTATE];

const P = SQLSTATE.invalidPassword;
const A = SQLSTATE.invalidAuthorization;

/** Every identity error code and its SQLSTATE. Codes never change meaning once released. */
export const IDENTITY_ERRORS = {
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
} as const satisfies Record<string, IdentitySqlstate>;

export type IdentityErrorCode = keyof typeof IDENTITY_ERRORS;

export class IdentityError extends VigilError {
  declare readonly code: IdentityErrorCode;
  /** Safe to send to the client. */
  readonly clientMessage: string;
  /** The presented credential's keyed fingerprint (see token-hash.ts), when one was computed. */
  tokenHash: string | undefined;

  constructor(code: IdentityErrorCode, message: string, clientMessage: string, options: { hint?: string; cause?: unknown; tokenHash?: string } = {}) {
    super(code, message, options);
    this.name = 'IdentityError';
    this.clientMessage = clientMessage;
    this.tokenHash = options.tokenHash;
  }

  get sqlstate(): IdentitySqlstate {
    return IDENTITY_ERRORS[this.code];
  }
}

export function isIdentityError(e: unknown, code?: IdentityErrorCode): e is IdentityError {
  return e instanceof IdentityError && (code === undefined || e.code === code);
}

/** The SQLSTATE to answer an authentication failure with; anything unexpected is 28000. */
export function sqlstateFor(e: unknown): IdentitySqlstate {
  return e instanceof IdentityError ? e.sqlstate : SQLSTATE.invalidAuthorization;
}

/** What the client may be told about a failure; never the internal message of an unexpected error. */
export function clientMessageFor(e: unknown): string {
  return e instanceof IdentityError ? e.clientMessage : 'authentication failed';
}

/** An attacker-supplied value made safe for a log line: quoted, escaped, bounded. */
export function logValue(v: unknown, max = 120): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v) ?? String(v);
  return JSON.stringify(s.length > max ? `${s.slice(0, max)}…` : s);
}

/** A NumericDate as a second-precision UTC time, the way client messages show it. */
export function isoSeconds(epochSeconds: number): string {
  const d = new Date(epochSeconds * 1000);
  return Number.isNaN(d.getTime()) ? String(epochSeconds) : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
