/** Builds the trust file an auditor pins: the appliance's keys and a signed checkpoint. */
import { fromBase64 } from '../../shared/bytes.ts';
import { fingerprint } from '../../shared/evidence/key-id.ts';
import type { TrustFile } from '../../shared/evidence/trust.ts';
import type { SignedEnvelope } from '../../shared/evidence/signed.ts';
import type { KeyRecord } from './key-ring.ts';

export function buildTrustFile(applianceId: string, keys: readonly KeyRecord[], checkpoint: SignedEnvelope, now = new Date()): TrustFile {
  return {
    format: 'vigil-trust',
    version: 1,
    applianceId,
    createdAt: now.toISOString(),
    keys: keys.map((k) => ({
      keyId: k.keyId,
      algorithm: 'ed25519' as const,
      publicKey: k.publicKey,
      fingerprint: fingerprint(fromBase64(k.publicKey)),
      validFrom: k.createdAt,
      validUntil: k.retiredAt,
    })),
    checkpoint,
  };
}
