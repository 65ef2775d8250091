/**
 * The appliance's Ed25519 signing key: one JSON file, mode 0600, holding the 32-byte seed. A key file
 * readable by anyone else is refused (as ssh refuses an open private key).
 */
import { closeSync, fsyncSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { z } from 'zod';
import { fromBase64, toBase64 } from '../../shared/bytes.ts';
import { crypto } from '../../shared/crypto/backend.ts';
import { VigilError } from '../../shared/errors.ts';
import { fingerprint, keyIdOf } from '../../shared/evidence/key-id.ts';
import type { Signer } from '../../shared/evidence/signed.ts';
import { parseJson, parseWith } from '../../shared/evidence/signed.ts';

const keyFileSchema = z.object({
  format: z.literal('vigil-appliance-signing-key'),
  version: z.literal(1),
  keyId: z.string(),
  publicKey: z.string(),
  seed: z.string(),
  createdAt: z.string(),
});

export interface SigningKey extends Signer {
  readonly publicKey: Uint8Array;
  readonly fingerprint: string;
  readonly createdAt: string;
}

export function generateSigningKey(now = new Date()): { key: SigningKey; seed: Uint8Array } {
  const seed = crypto().randomBytes(32);
  return { key: fromSeed(seed, now.toISOString()), seed };
}

/** Writes the key file with 0600 permissions; never overwrites an existing file. */
export function writeSigningKey(path: string, key: SigningKey, seed: Uint8Array): void {
  const text = JSON.stringify(
    { format: 'vigil-appliance-signing-key', version: 1, keyId: key.keyId, publicKey: toBase64(key.publicKey), seed: toBase64(seed), createdAt: key.createdAt },
    null,
    2,
  );
  const fd = openSync(path, 'wx', 0o600);
  try {
    writeSync(fd, text + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function loadSigningKey(path: string): SigningKey {
  let mode: number;
  let text: string;
  try {
    mode = statSync(path).mode & 0o777;
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new VigilError('E_KEY_FILE', `cannot read the appliance signing key ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
      hint: 'check appliance.signingKey in vigil.yaml, or run `vigil init`',
    });
  }
  if (mode & 0o077) {
    throw new VigilError('E_KEY_PERMISSIONS', `the signing key ${path} is accessible by others (mode ${mode.toString(8).padStart(4, '0')})`, {
      hint: `run: chmod 600 ${path}`,
    });
  }
  const f = parseWith(keyFileSchema, parseJson(text, 'signing key'), `signing key ${path}`);
  const key = fromSeed(fromBase64(f.seed), f.createdAt);
  if (key.keyId !== f.keyId || toBase64(key.publicKey) !== f.publicKey) {
    throw new VigilError('E_KEY_FILE', `the signing key ${path} is corrupt (its seed does not give its public key)`);
  }
  return key;
}

function fromSeed(seed: Uint8Array, createdAt: string): SigningKey {
  const kp = crypto().signKeypair(seed);
  const secretKey = kp.secretKey;
  return {
    keyId: keyIdOf(kp.publicKey),
    publicKey: kp.publicKey,
    fingerprint: fingerprint(kp.publicKey),
    createdAt,
    sign: (message) => crypto().signDetached(message, secretKey),
  };
}
