/**
 * Refusals of SSH keys and certificates. Like identity errors (identity/errors.ts) each carries two messages:
 *   - `message`, for the appliance log: names the key id, serial, CA fingerprint or the failing field;
 *   - `clientMessage`, all the client is told: enough for a legitimate bot to fix its setup (expired → when,
 *     wrong principal → which user it asked for), nothing about which CAs are trusted or why a signature failed.
 * Everything a parser rejects is E_SSH_CERT_FORMAT (for certificates) or E_SSH_KEY_FORMAT (for plain keys and
 * CA lines), with a machine-readable `reason`; the other codes are decisions about a well-formed certificate.
 * Codes never change meaning once released; the SSH adapter maps them to its wire messages.
 */
import { VigilError } from '../../../shared/errors.ts';

export const SSH_AUTH_ERROR_CODES = [
  'E_SSH_CERT_FORMAT',
  'E_SSH_KEY_FORMAT',
  'E_SSH_CERT_UNTRUSTED_CA',
  'E_SSH_CERT_SIGNATURE_ALGORITHM',
  'E_SSH_CERT_SIGNATURE',
  'E_SSH_CERT_TYPE',
  'E_SSH_CERT_EXPIRED',
  'E_SSH_CERT_NOT_YET_VALID',
  'E_SSH_CERT_LIFETIME',
  'E_SSH_CERT_PRINCIPAL',
  'E_SSH_CERT_SOURCE_ADDRESS',
  'E_SSH_KEY_WEAK',
] as const;

export type SshAuthErrorCode = (typeof SSH_AUTH_ERROR_CODES)[number];

export class SshAuthError extends VigilError {
  declare readonly code: SshAuthErrorCode;
  /** Safe to send to the client. */
  readonly clientMessage: string;
  /** For the format codes: which rule the input broke (e.g. 'truncated', 'unknown-critical-option'). */
  readonly reason: string | undefined;

  constructor(code: SshAuthErrorCode, message: string, clientMessage: string, options: { reason?: string; cause?: unknown } = {}) {
    super(code, message, options.cause === undefined ? {} : { cause: options.cause });
    this.name = 'SshAuthError';
    this.clientMessage = clientMessage;
    this.reason = options.reason;
  }
}

export function isSshAuthError(e: unknown, code?: SshAuthErrorCode): e is SshAuthError {
  return e instanceof SshAuthError && (code === undefined || e.code === code);
}

/** A short, printable rendering of attacker-supplied text for log messages (never the whole of it). */
export function quoted(s: string, max = 64): string {
  const cut = s.length > max ? `${s.slice(0, max)}…` : s;
  return JSON.stringify(cut);
}
