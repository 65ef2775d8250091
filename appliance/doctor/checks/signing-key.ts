/** The current signing key loads (mode, seed ↔ public key), is the one the database records, and signs. */
import { toBase64 } from '../../../shared/bytes.ts';
import { crypto } from '../../../shared/crypto/backend.ts';
import { describeError } from '../../../shared/errors.ts';
import { KeyRing } from '../../keys/key-ring.ts';
import { needConfig, needDb, isResult, type DoctorCheck } from '../check.ts';

export const signingKeyCheck: DoctorCheck = {
  id: 'signing-key',
  title: 'the signing key is present, private and valid',
  async run(ctx) {
    const loaded = needConfig(ctx, 'signing-key');
    if (isResult(loaded)) return [loaded];
    const db = needDb(ctx, 'signing-key');
    if (isResult(db)) return [db];
    let ring: KeyRing;
    try {
      ring = new KeyRing(db, loaded.resolvePath(loaded.config.appliance.keysDir));
    } catch (e) {
      return [{ check: 'signing-key', status: 'fail', detail: describeError(e), fix: (e as { hint?: string }).hint ?? 'restore the keys directory from backup' }];
    }
    const key = ring.current;
    const recorded = ring.records().find((r) => r.keyId === key.keyId);
    if (!recorded || recorded.publicKey !== toBase64(key.publicKey)) {
      return [{ check: 'signing-key', status: 'fail', detail: `the key file ${key.keyId} does not match the public key the database records`, fix: 'restore the keys directory that belongs to this database' }];
    }
    const msg = new TextEncoder().encode('vigil doctor');
    const ok = crypto().verifyDetached(key.sign(msg), msg, key.publicKey);
    if (!ok) return [{ check: 'signing-key', status: 'fail', detail: `key ${key.keyId} made a signature its public key rejects` }];
    return [{ check: 'signing-key', status: 'pass', detail: `key ${key.keyId} (created ${key.createdAt}) loads, matches the database and signs` }];
  },
};
