/**
 * Auditor key files. Archives are sealed to auditors' X25519 public keys (`NAME.pub`); the secret key
 * (`NAME.key`) stays with the auditor, optionally protected by a passphrase (Argon2id → XSalsa20-Poly1305).
 */
import { z } from 'zod';
import { fromBase64, toBase64, utf8 } from '../bytes.ts';
import { crypto, PWHASH_SALTBYTES, SECRETBOX_NONCEBYTES } from '../crypto/backend.ts';
import { VigilError } from '../errors.ts';
import { keyIdOf } from './key-id.ts';
import { base64Schema, isoTimeSchema, keyIdSchema, publicKeySchema } from './schemas.ts';
import { parseJson, parseWith } from './signed.ts';
import type { AuditorSecret } from './verify/verify-archive.ts';

/** Argon2id cost for new keys (RFC 9106 §4, second recommended option: t=3, m=64 MiB). */
export const KDF_DEFAULTS = { opsLimit: 3, memLimit: 64 * 1024 * 1024 } as const;

const publicFileSchema = z.object({
  format: z.literal('vigil-auditor-public-key'),
  version: z.literal(1),
  keyId: keyIdSchema,
  algorithm: z.literal('x25519'),
  publicKey: publicKeySchema,
  createdAt: isoTimeSchema,
  label: z.string().max(256).optional(),
});
export type AuditorPublicKeyFile = z.infer<typeof publicFileSchema>;

const protectedSchema = z.object({
  kdf: z.literal('argon2id13'),
  opsLimit: z.number().int().min(1).max(32),
  memLimit: z.number().int().min(8192).max(2 ** 31),
  salt: base64Schema,
  nonce: base64Schema,
  ciphertext: base64Schema,
});

const secretFileSchema = publicFileSchema.extend({
  format: z.literal('vigil-auditor-secret-key'),
  secretKey: base64Schema.optional(),
  protected: protectedSchema.optional(),
});

export interface AuditorKeyFiles {
  keyId: string;
  publicFile: string;
  secretFile: string;
}

export function createAuditorKey(opts: { passphrase?: string; label?: string; now?: Date; kdf?: { opsLimit: number; memLimit: number } } = {}): AuditorKeyFiles {
  const c = crypto();
  const kp = c.boxKeypair();
  const base = {
    version: 1 as const,
    keyId: keyIdOf(kp.publicKey),
    algorithm: 'x25519' as const,
    publicKey: toBase64(kp.publicKey),
    createdAt: (opts.now ?? new Date()).toISOString(),
    ...(opts.label ? { label: opts.label } : {}),
  };
  let secret: Record<string, unknown>;
  if (opts.passphrase) {
    const kdf = opts.kdf ?? KDF_DEFAULTS;
    const salt = c.randomBytes(PWHASH_SALTBYTES);
    const nonce = c.randomBytes(SECRETBOX_NONCEBYTES);
    const k = c.pwhash(32, utf8(opts.passphrase), salt, kdf.opsLimit, kdf.memLimit);
    const ciphertext = c.secretboxEasy(kp.secretKey, nonce, k);
    k.fill(0);
    secret = { protected: { kdf: 'argon2id13', ...kdf, salt: toBase64(salt), nonce: toBase64(nonce), ciphertext: toBase64(ciphertext) } };
  } else {
    secret = { secretKey: toBase64(kp.secretKey) };
  }
  kp.secretKey.fill(0);
  return {
    keyId: base.keyId,
    publicFile: JSON.stringify({ format: 'vigil-auditor-public-key', ...base }, null, 2) + '\n',
    secretFile: JSON.stringify({ format: 'vigil-auditor-secret-key', ...base, ...secret }, null, 2) + '\n',
  };
}

export function parseAuditorPublicKey(text: string): AuditorPublicKeyFile & { raw: Uint8Array } {
  const f = parseWith(publicFileSchema, parseJson(text, 'auditor public key'), 'auditor public key');
  const raw = fromBase64(f.publicKey);
  if (keyIdOf(raw) !== f.keyId) throw new VigilError('E_KEY_FILE', `auditor public key: key id ${f.keyId} does not match the key`);
  return { ...f, raw };
}

export interface LockedAuditorKey {
  keyId: string;
  needsPassphrase: boolean;
  /** Throws E_PASSPHRASE on a wrong passphrase. */
  unlock(passphrase?: string): AuditorSecret;
}

export function parseAuditorSecretKey(text: string): LockedAuditorKey {
  const f = parseWith(secretFileSchema, parseJson(text, 'auditor key'), 'auditor key');
  const publicKey = fromBase64(f.publicKey);
  if (keyIdOf(publicKey) !== f.keyId) throw new VigilError('E_KEY_FILE', `auditor key: key id ${f.keyId} does not match the key`);
  if (!f.secretKey === !f.protected) throw new VigilError('E_KEY_FILE', 'auditor key: needs exactly one of secretKey or protected');
  return {
    keyId: f.keyId,
    needsPassphrase: f.protected !== undefined,
    unlock(passphrase) {
      let secretKey: Uint8Array;
      if (f.secretKey) {
        secretKey = fromBase64(f.secretKey);
      } else {
        const p = f.protected!;
        if (!passphrase) throw new VigilError('E_PASSPHRASE', 'this auditor key is protected by a passphrase', { hint: 'give the passphrase' });
        const k = crypto().pwhash(32, utf8(passphrase), fromBase64(p.salt), p.opsLimit, p.memLimit);
        try {
          secretKey = crypto().secretboxOpenEasy(fromBase64(p.ciphertext), fromBase64(p.nonce), k);
        } catch {
          throw new VigilError('E_PASSPHRASE', 'wrong passphrase for this auditor key');
        } finally {
          k.fill(0);
        }
      }
      if (secretKey.length !== 32) throw new VigilError('E_KEY_FILE', 'auditor key: secret key has the wrong length');
      return { keyId: f.keyId, publicKey, secretKey };
    },
  };
}
