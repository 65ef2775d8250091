/** A key rotation: the outgoing appliance key announces its successor (signed by the outgoing key). */
import { z } from 'zod';
import { isoTimeSchema, keyIdSchema, publicKeySchema } from './schemas.ts';
import { SIGNED_LABELS, parseSigned, signStatement, type SignedEnvelope, type Signer } from './signed.ts';

export const keyRotationSchema = z.object({
  format: z.literal('vigil-key-rotation'),
  version: z.literal(1),
  applianceId: z.string().max(64),
  previousKeyId: keyIdSchema,
  newKeyId: keyIdSchema,
  newPublicKey: publicKeySchema,
  at: isoTimeSchema,
});
export type KeyRotation = z.infer<typeof keyRotationSchema>;

export function signKeyRotation(r: Omit<KeyRotation, 'format' | 'version'>, outgoing: Signer): SignedEnvelope {
  return signStatement(SIGNED_LABELS.keyRotation, { format: 'vigil-key-rotation', version: 1, ...r }, outgoing);
}

export function readKeyRotation(env: SignedEnvelope): KeyRotation {
  return parseSigned(env, keyRotationSchema, 'key rotation');
}
