/**
 * The trust file an auditor pins out of band: which appliance keys to believe, during which window, and
 * the last checkpoint the auditor saw (so a later bundle must prove the log only grew since).
 */
import { z } from 'zod';
import { checkpointSchema } from './checkpoint.ts';
import { hex32Schema, isoTimeSchema, keyIdSchema, publicKeySchema } from './schemas.ts';
import { parseJson, parseSigned, parseWith, signedEnvelopeSchema } from './signed.ts';

export const trustedKeySchema = z.object({
  keyId: keyIdSchema,
  algorithm: z.literal('ed25519'),
  publicKey: publicKeySchema,
  fingerprint: hex32Schema,
  validFrom: isoTimeSchema,
  /** End of the key's window; null while it is the current key. */
  validUntil: isoTimeSchema.nullable(),
  /** Set by an auditor who learns a key was compromised: nothing it signed is accepted. */
  revoked: z.boolean().optional(),
});
export type TrustedKey = z.infer<typeof trustedKeySchema>;

export const trustFileSchema = z.object({
  format: z.literal('vigil-trust'),
  version: z.literal(1),
  applianceId: z.string().max(64),
  createdAt: isoTimeSchema,
  keys: z.array(trustedKeySchema).min(1).max(1000),
  checkpoint: signedEnvelopeSchema,
});
export type TrustFile = z.infer<typeof trustFileSchema>;

export function parseTrustFile(text: string): TrustFile {
  const trust = parseWith(trustFileSchema, parseJson(text, 'trust file'), 'trust file');
  parseSigned(trust.checkpoint, checkpointSchema, 'trust file checkpoint');
  return trust;
}
