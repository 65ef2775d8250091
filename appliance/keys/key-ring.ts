/**
 * The appliance's signing keys: the current one signs; rotation announces a successor with a statement
 * signed by the outgoing key, logged, after which the outgoing key's file is destroyed.
 */
import { existsSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toBase64 } from '../../shared/bytes.ts';
import { VigilError } from '../../shared/errors.ts';
import { signKeyRotation } from '../../shared/evidence/key-rotation.ts';
import type { SignedEnvelope } from '../../shared/evidence/signed.ts';
import type { TransparencyLog } from '../log/transparency-log.ts';
import { getMeta, setMeta, type Db } from '../store/database.ts';
import { isoTime } from '../time.ts';
import { generateSigningKey, loadSigningKey, writeSigningKey, type SigningKey } from './signing-key.ts';

export interface KeyRecord {
  keyId: string;
  publicKey: string;
  createdAt: string;
  retiredAt: string | null;
  rotation: SignedEnvelope | null;
}

export function signingKeyPath(keysDir: string, keyId: string): string {
  return join(keysDir, `appliance-${keyId}.key`);
}

export class KeyRing {
  private key: SigningKey;

  constructor(
    private readonly db: Db,
    private readonly keysDir: string,
  ) {
    const keyId = getMeta(db, 'signing_key_id');
    if (!keyId) throw new VigilError('E_STORE', 'no signing key recorded in the appliance database', { hint: 'run `vigil init`' });
    this.key = loadSigningKey(signingKeyPath(keysDir, keyId));
  }

  /** Creates the first signing key of a new appliance. */
  static create(db: Db, keysDir: string, now = new Date()): SigningKey {
    const { key, seed } = generateSigningKey(now);
    writeSigningKey(signingKeyPath(keysDir, key.keyId), key, seed);
    seed.fill(0);
    db.prepare('INSERT INTO signing_keys (key_id, public_key, created_at) VALUES (?, ?, ?)').run(key.keyId, toBase64(key.publicKey), key.createdAt);
    setMeta(db, 'signing_key_id', key.keyId);
    return key;
  }

  get current(): SigningKey {
    return this.key;
  }

  readonly signer = (): SigningKey => this.key;

  /** Rotates to a fresh key; returns the rotation statement (signed by the outgoing key). */
  rotate(log: TransparencyLog, now = new Date()): { previous: SigningKey; next: SigningKey; rotation: SignedEnvelope } {
    const previous = this.key;
    const { key: next, seed } = generateSigningKey(now);
    const path = signingKeyPath(this.keysDir, next.keyId);
    writeSigningKey(path, next, seed);
    seed.fill(0);
    const at = isoTime(now);
    const rotation = signKeyRotation(
      { applianceId: log.id, previousKeyId: previous.keyId, newKeyId: next.keyId, newPublicKey: toBase64(next.publicKey), at },
      previous,
    );
    try {
      this.db.transaction(() => {
        log.append('key.rotated', { previousKeyId: previous.keyId, newKeyId: next.keyId, rotation });
        this.db.prepare('UPDATE signing_keys SET retired_at = ? WHERE key_id = ?').run(at, previous.keyId);
        this.db
          .prepare('INSERT INTO signing_keys (key_id, public_key, created_at, rotation) VALUES (?, ?, ?, ?)')
          .run(next.keyId, toBase64(next.publicKey), at, JSON.stringify(rotation));
        setMeta(this.db, 'signing_key_id', next.keyId);
      })();
    } catch (e) {
      unlinkSync(path);
      throw e;
    }
    this.key = next;
    destroyKeyFile(signingKeyPath(this.keysDir, previous.keyId));
    return { previous, next, rotation };
  }

  records(): KeyRecord[] {
    const rows = this.db.prepare('SELECT key_id, public_key, created_at, retired_at, rotation FROM signing_keys ORDER BY created_at').all() as {
      key_id: string;
      public_key: string;
      created_at: string;
      retired_at: string | null;
      rotation: string | null;
    }[];
    return rows.map((r) => ({
      keyId: r.key_id,
      publicKey: r.public_key,
      createdAt: r.created_at,
      retiredAt: r.retired_at,
      rotation: r.rotation ? (JSON.parse(r.rotation) as SignedEnvelope) : null,
    }));
  }
}

/** Overwrites, then removes, a retired key file: a retired key must not be able to sign again. */
function destroyKeyFile(path: string): void {
  if (!existsSync(path)) return;
  writeFileSync(path, '0'.repeat(256));
  unlinkSync(path);
}
