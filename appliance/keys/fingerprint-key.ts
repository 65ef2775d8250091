/**
 * The appliance's fingerprint key: keys the BLAKE2b hashes recorded in place of tokens and certificates,
 * so auditors can correlate sessions by credential while nobody can test a guessed token against them.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromBase64, toBase64 } from '../../shared/bytes.ts';
import { crypto } from '../../shared/crypto/backend.ts';
import { VigilError } from '../../shared/errors.ts';

export const FINGERPRINT_KEY_FILE = 'fingerprint.key';

export function loadOrCreateFingerprintKey(keysDir: string): Uint8Array {
  const path = join(keysDir, FINGERPRINT_KEY_FILE);
  if (!existsSync(path)) {
    const key = crypto().randomBytes(32);
    writeFileSync(path, toBase64(key) + '\n', { mode: 0o600, flag: 'wx' });
    return key;
  }
  const key = fromBase64(readFileSync(path, 'utf8').trim());
  if (key.length < 32) throw new VigilError('E_KEY_FILE', `${path} is not a fingerprint key`);
  return key;
}
