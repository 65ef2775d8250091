/** A signed checkpoint: the appliance's statement "my log had `size` entries with this root at `time`". */
import { z } from 'zod';
import { hex32Schema, isoTimeSchema, keyIdSchema } from './schemas.ts';
import { SIGNED_LABELS, parseSigned, signStatement, type SignedEnvelope, type Signer } from './signed.ts';

export const checkpointSchema = z.object({
  format: z.literal('vigil-checkpoint'),
  version: z.literal(1),
  applianceId: z.string().max(64),
  size: z.number().int().nonnegative(),
  root: hex32Schema,
  time: isoTimeSchema,
  keyId: keyIdSchema,
});
export type Checkpoint = z.infer<typeof checkpointSchema>;

export function signCheckpoint(c: Omit<Checkpoint, 'format' | 'version' | 'keyId'>, signer: Signer): SignedEnvelope {
  const full: Checkpoint = { format: 'vigil-checkpoint', version: 1, ...c, keyId: signer.keyId };
  return signStatement(SIGNED_LABELS.checkpoint, full, signer);
}

export function readCheckpoint(env: SignedEnvelope): Checkpoint {
  return parseSigned(env, checkpointSchema, 'checkpoint');
}
