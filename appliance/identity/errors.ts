/**
 * Identity failures. Each has a stable code and two messages:
 *   - `message`, for the appliance log: may name the provider, issuer, key id, claim or certificate, never
 *     the token itself;
 *   - `clientMessage`, all the client is ever told: enough for a legitimate caller to fix their setup
 *     (expired → when; audience → which one is expected), nothing that helps an attacker (which keys exist,
 *     which issuers are trusted, why a signature failed).
 *
 * Codes are protocol-neutral and never change meaning once released. Each protocol adapter maps every code
 * to its own wire error (PostgreSQL: protocols/postgres/identity-errors.ts, a SQLSTATE per code, checked
 * complete by the type system), so identity/ knows nothing of any wire protocol. Two kinds of code:
 *   - the credential was presented and is not acceptable as it stands (bad signature, expired, not yet
 *     valid, too long-lived, wrong audience or algorithm, not a JWT, a single-use token presented again):
 *     the fix is a different token;
 *   - nothing here can establish an identity (no token, an issuer this gateway does not trust, keys that
 *     cannot be fetched, an internal failure, every mTLS failure): the fix is on the setup side.
 */
import { VigilError } from '../../shared/errors.ts';

/** Every identity error code. */
export const IDENTITY_ERROR_CODES = [
  'E_ID_NO_TOKEN',
  'E_ID_MALFORMED',
  'E_ID_UNKNOWN_ISSUER',
  'E_ID_ALGORITHM',
  'E_ID_BAD_SIGNATURE',
  'E_ID_AUDIENCE',
  'E_ID_EXPIRED',
  'E_ID_NOT_YET_VALID',
  'E_ID_LIFETIME',
  'E_ID_TOKEN_REPLAYED',
  'E_ID_JWKS_UNAVAILABLE',
  'E_ID_INTERNAL',
  'E_MTLS_NO_CERT',
  'E_MTLS_MALFORMED',
  'E_MTLS_UNTRUSTED',
  'E_MTLS_EXPIRED',
  'E_MTLS_NOT_YET_VALID',
  'E_MTLS_NO_IDENTITY',
] as const;

export type IdentityErrorCode = (typeof IDENTITY_ERROR_CODES)[number];

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
}

export function isIdentityError(e: unknown, code?: IdentityErrorCode): e is IdentityError {
  return e instanceof IdentityError && (code === undefined || e.code === code);
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
