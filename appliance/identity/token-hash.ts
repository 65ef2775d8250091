/**
 * Fingerprints of presented credentials. Keyed (with the appliance's fingerprint key) so that a logged
 * hash cannot be checked against a guessed or leaked token without that key, yet the same token always
 * gives the same hash on this appliance: auditors can correlate sessions, nobody can recover the token.
 */
import { toHex, utf8 } from '../../shared/bytes.ts';
import { crypto } from '../../shared/crypto/backend.ts';
import { VigilError } from '../../shared/errors.ts';

export const TOKEN_HASH_PREFIX = 'b2k:';

/** BLAKE2b accepts 16–64 key bytes; fewer than 32 would weaken the guarantee for no gain. */
export function checkFingerprintKey(key: Uint8Array): void {
  if (key.length < 32 || key.length > 64)
    throw new VigilError('E_ID_FINGERPRINT_KEY', `the fingerprint key must be 32–64 bytes, got ${key.length}`);
}

/** 'b2k:' + hex of keyed BLAKE2b-256 over the token's UTF-8 bytes, or over raw bytes (a certificate's DER). */
export function tokenHash(key: Uint8Array, credential: string | Uint8Array): string {
  const data = typeof credential === 'string' ? utf8(credential) : credential;
  return TOKEN_HASH_PREFIX + toHex(crypto().blake2bKeyed(key, data, 32));
}
