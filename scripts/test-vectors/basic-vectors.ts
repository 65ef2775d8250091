/**
 * The small vectors: the auditor key pair (a passphrase-protected secret key file, as `vigil keys auditor`
 * writes it), a tiny complete archive made by the real writer, and a three-entry log with its checkpoint.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromBase64, fromHex, toHex, utf8 } from '../../shared/bytes.ts';
import { crypto } from '../../shared/crypto/backend.ts';
import { createAuditorKey, KDF_DEFAULTS, parseAuditorSecretKey } from '../../shared/evidence/auditor-key.ts';
import { signCheckpoint } from '../../shared/evidence/checkpoint.ts';
import { fingerprint, keyIdOf } from '../../shared/evidence/key-id.ts';
import type { Signer } from '../../shared/evidence/signed.ts';
import type { AuditorSecret } from '../../shared/evidence/verify/verify-archive.ts';
import { leafHash, rootFromLeafHashes } from '../../shared/merkle/index.ts';
import { ArchiveWriter } from '../../appliance/evidence/archive-writer.ts';
import { archiveParts } from './archive-parts.ts';

export const AUDITOR_PASSPHRASE = 'correct horse battery staple – Prüfer';
export const VECTOR_APPLIANCE_ID = '00000000-0000-4000-8000-0000000000aa';

export interface AuditorVector {
  secret: AuditorSecret;
  section: Record<string, unknown>;
}

/** auditor.pub / auditor.key; the secret key is protected with the production Argon2id cost. */
export function auditorVector(out: string): AuditorVector {
  const files = createAuditorKey({ passphrase: AUDITOR_PASSPHRASE, label: 'test-vector auditor', now: new Date('2026-01-01T00:00:00.000Z'), kdf: KDF_DEFAULTS });
  writeFileSync(join(out, 'auditor.pub'), files.publicFile);
  writeFileSync(join(out, 'auditor.key'), files.secretFile);
  const secret = parseAuditorSecretKey(files.secretFile).unlock(AUDITOR_PASSPHRASE);
  const p = (JSON.parse(files.secretFile) as { protected: { opsLimit: number; memLimit: number; salt: string; nonce: string } }).protected;
  const derived = crypto().pwhash(32, utf8(AUDITOR_PASSPHRASE), fromBase64(p.salt), p.opsLimit, p.memLimit);
  return {
    secret,
    section: {
      description:
        'An auditor X25519 key pair. auditor.pub and auditor.key are the files `vigil keys auditor` writes (§8.1). The secret key file is protected: ' +
        'k = Argon2id13(out 32 bytes, passphrase = UTF-8 of `passphrase`, salt, opsLimit, memLimit); secretKey = crypto_secretbox_open_easy(ciphertext, nonce, k). ' +
        'keyId = first 16 hex digits of SHA-256(raw public key).',
      publicFile: 'auditor.pub',
      secretFile: 'auditor.key',
      passphrase: AUDITOR_PASSPHRASE,
      passphraseUtf8: toHex(utf8(AUDITOR_PASSPHRASE)),
      opsLimit: p.opsLimit,
      memLimit: p.memLimit,
      derivedKey: toHex(derived),
      publicKey: toHex(secret.publicKey),
      secretKey: toHex(secret.secretKey),
      fingerprint: fingerprint(secret.publicKey),
      keyId: secret.keyId,
    },
  };
}

/** tiny.vsa: one command, one output with raw data, the close; two frames, the second TAG_FINAL. */
export async function tinyArchiveVector(out: string, auditor: AuditorSecret): Promise<Record<string, unknown>> {
  const seed = fromHex('01'.repeat(32));
  const kp = crypto().signKeypair(seed);
  const signer: Signer = { keyId: keyIdOf(kp.publicKey), sign: (m) => crypto().signDetached(m, kp.secretKey) };
  let t = Date.parse('2026-01-02T03:04:05.000Z');
  const path = join(out, 'tiny.vsa');
  rmSync(path, { force: true });
  const w = ArchiveWriter.create({
    path,
    sessionId: '00000000-0000-4000-8000-000000000001',
    sessionSeq: 1,
    applianceId: VECTOR_APPLIANCE_ID,
    signer: () => signer,
    recipients: [{ keyId: auditor.keyId, publicKey: auditor.publicKey }],
    context: { protocol: 'postgres', identity: { subject: 'vector-bot' }, target: { name: 'db' }, client: { address: '127.0.0.1:1' } },
    now: () => new Date(t),
  });
  w.append({ type: 'command', id: 1, kind: 'sql', text: 'SELECT 1' });
  t += 5;
  w.flush();
  w.append({ type: 'output', stream: 'pty', data: utf8('hello\r\n') });
  t += 5;
  const sealed = await w.close('end of vector');
  const parts = archiveParts(new Uint8Array(readFileSync(path)), auditor);

  const entries = [
    '{"i":0,"t":"2026-01-02T03:04:05.000Z","type":"appliance.initialized"}',
    '{"i":1,"t":"2026-01-02T03:04:05.000Z","type":"session.started"}',
    '{"i":2,"t":"2026-01-02T03:04:05.010Z","type":"session.ended"}',
  ];
  const leaves = entries.map((e) => leafHash(utf8(e)));
  const root = rootFromLeafHashes(leaves);
  const checkpoint = signCheckpoint({ applianceId: VECTOR_APPLIANCE_ID, size: 3, root: toHex(root), time: '2026-01-02T03:04:06.000Z' }, signer);
  return {
    keys: {
      description: 'The appliance key that signs tiny.vsa and the three-entry log (the bundle below has keys of its own).',
      applianceSigningSeed: toHex(seed),
      applianceSigningPublicKey: toHex(kp.publicKey),
      applianceFingerprint: fingerprint(kp.publicKey),
      applianceKeyId: signer.keyId,
    },
    archive: {
      description:
        'tiny.vsa, a complete archive (§2–§5): header, two frames, trailer. streamKey is K, what the sealed box for the auditor opens to. ' +
        'For frame i: ad = headerDigest ‖ u64be(i) (40 bytes), tag, plaintext = the event batch (§4.2). chainHead is chain after that frame (§3).',
      file: 'tiny.vsa',
      ...parts,
      manifestDigest: sealed.manifestDigest,
    },
    log: {
      description: 'Three log entries (shortened, not real entry shapes), their RFC 6962 leaf hashes, the root, and a checkpoint signed by the key above.',
      entries,
      leafHashes: leaves.map(toHex),
      root: toHex(root),
      checkpoint,
    },
  };
}
