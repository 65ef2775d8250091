/** Key identifiers: a key's fingerprint is SHA-256 of its raw public key; its id is the first 16 hex digits. */
import { toHex } from '../bytes.ts';
import { sha256 } from '../crypto/hash.ts';

export function fingerprint(publicKey: Uint8Array): string {
  return toHex(sha256(publicKey));
}

export function keyIdOf(publicKey: Uint8Array): string {
  return fingerprint(publicKey).slice(0, 16);
}

/** "9f2c41d8…" → "9F2C 41D8 …": how fingerprints are shown to people who compare them by eye. */
export function formatFingerprint(fp: string): string {
  return fp.toUpperCase().replace(/(.{4})(?=.)/g, '$1 ');
}
