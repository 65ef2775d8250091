/**
 * Event fields that hold identifiers Vigil itself generates, with their exact forms. Neither the recorder's
 * redaction of free text nor the verifier's re-scan touches such a value when it has its form (a hex digest
 * reads like glued digits, a base64url id can spell `…_cvv-123`); one that does not have it is scanned.
 */
const HEX64 = /^[0-9a-f]{64}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// A Map, not an object literal: field names can be the client's (query parameters, startup settings), and
// `constructor` or `toString` must not find Object.prototype's members.
const IDENTIFIERS: ReadonlyMap<string, RegExp> = new Map(Object.entries({
  commandHash: HEX64,
  // A transfer's SHA-256 (SSH, scp, SFTP, kubectl cp): 64 hex digits read as glued digits by strict mode,
  // so about one digest in two hundred would be flagged as a clear card number.
  sha256: HEX64,
  tokenHash: /^b2k:[0-9a-f]{64}$/,
  sessionId: UUID,
  requestId: /^apr_[A-Za-z0-9_-]{12}$/,
  fingerprint: /^[0-9a-f]{16}$|^(empty|unparsed|unfingerprinted)$/,
  // A token's jti is the client's, but is a UUID by nearly every issuer's convention.
  tokenId: UUID,
}));

/** Whether `value`, found under `key`, is a Vigil-generated identifier of its documented form. */
export function isGeneratedIdentifier(key: string | undefined, value: string): boolean {
  const form = key === undefined ? undefined : IDENTIFIERS.get(key);
  return form !== undefined && form.test(value);
}
