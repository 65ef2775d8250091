/**
 * Which appliance key may sign at which time. Starts from the keys pinned in the trust file and follows
 * rotation statements, each of which must be signed by a key trusted at the rotation's time. A rotation
 * closes the outgoing key's window: a signature it makes afterwards is refused.
 */
import { fromBase64 } from '../bytes.ts';
import { describeError } from '../errors.ts';
import { fingerprint, keyIdOf } from './key-id.ts';
import { readKeyRotation } from './key-rotation.ts';
import { SIGNED_LABELS, verifyEnvelopeSignature, type SignedEnvelope } from './signed.ts';
import { compareTimes } from './time-order.ts';
import type { TrustFile } from './trust.ts';

export interface ChainKey {
  keyId: string;
  publicKey: Uint8Array;
  fingerprint: string;
  validFrom: string;
  validUntil: string | null;
  revoked: boolean;
  /** 'pinned' when the trust file names it, else the key id that announced it. */
  source: 'pinned' | { rotatedFrom: string; at: string };
}

export type KeyResolution = { ok: true; key: ChainKey } | { ok: false; reason: string };

export class KeyChain {
  private readonly keys = new Map<string, ChainKey>();
  /** Problems met while following rotations (each fails the key-chain check). */
  readonly problems: string[] = [];
  readonly rotationsFollowed: number;

  constructor(trust: TrustFile, rotations: readonly SignedEnvelope[]) {
    for (const k of trust.keys) {
      const publicKey = fromBase64(k.publicKey);
      if (keyIdOf(publicKey) !== k.keyId || fingerprint(publicKey) !== k.fingerprint) {
        this.problems.push(`trust file: key ${k.keyId} does not match its public key`);
        continue;
      }
      this.keys.set(k.keyId, { ...k, publicKey, revoked: k.revoked ?? false, source: 'pinned' });
    }
    let followed = 0;
    const parsed = rotations.flatMap((env) => {
      try {
        return [{ env, r: readKeyRotation(env) }];
      } catch (e) {
        this.problems.push(describeError(e));
        return [];
      }
    });
    parsed.sort((a, b) => compareTimes(a.r.at, b.r.at));
    for (const { env, r } of parsed) {
      if (r.applianceId !== trust.applianceId) {
        this.problems.push(`rotation to ${r.newKeyId} belongs to another appliance (${r.applianceId})`);
        continue;
      }
      const signer = this.resolve(r.previousKeyId, r.at);
      if (!signer.ok || env.keyId !== r.previousKeyId) {
        this.problems.push(`rotation to key ${r.newKeyId} at ${r.at}: ${signer.ok ? 'not signed by the outgoing key' : signer.reason}`);
        continue;
      }
      if (!verifyEnvelopeSignature(SIGNED_LABELS.keyRotation, env, signer.key.publicKey)) {
        this.problems.push(`rotation to key ${r.newKeyId} at ${r.at}: signature does not verify`);
        continue;
      }
      const newPk = fromBase64(r.newPublicKey);
      if (keyIdOf(newPk) !== r.newKeyId) {
        this.problems.push(`rotation to key ${r.newKeyId}: key id does not match the announced public key`);
        continue;
      }
      signer.key.validUntil = minTime(signer.key.validUntil, r.at);
      const pinned = this.keys.get(r.newKeyId);
      if (pinned) {
        if (compareTimes(pinned.validFrom, r.at) > 0) pinned.validFrom = r.at;
      } else {
        this.keys.set(r.newKeyId, {
          keyId: r.newKeyId,
          publicKey: newPk,
          fingerprint: fingerprint(newPk),
          validFrom: r.at,
          validUntil: null,
          revoked: false,
          source: { rotatedFrom: r.previousKeyId, at: r.at },
        });
      }
      followed++;
    }
    this.rotationsFollowed = followed;
  }

  /** The key `keyId` if it was allowed to sign at time `at` (ISO), else why not. */
  resolve(keyId: string, at: string): KeyResolution {
    const key = this.keys.get(keyId);
    if (!key) return { ok: false, reason: `key ${keyId} is not trusted (not pinned in the trust file, not announced by a trusted key)` };
    if (key.revoked) return { ok: false, reason: `key ${keyId} is revoked in the trust file` };
    if (compareTimes(at, key.validFrom) < 0) return { ok: false, reason: `key ${keyId} signed at ${at}, before its window opened (${key.validFrom})` };
    if (key.validUntil !== null && compareTimes(at, key.validUntil) >= 0) {
      return { ok: false, reason: `key ${keyId} signed at ${at}, after its window closed (${key.validUntil}, rotated or expired)` };
    }
    return { ok: true, key };
  }

  list(): ChainKey[] {
    return [...this.keys.values()];
  }
}

function minTime(a: string | null, b: string): string {
  return a === null || compareTimes(b, a) < 0 ? b : a;
}
