/**
 * A purge record: the appliance's signed statement "I deleted these sessions' archives because their
 * retention under this policy ended". It travels inside an `evidence.purged` log entry (so the checkpoint
 * covers it) and is signed on its own (so it names its signer and time like a checkpoint). A verifier that
 * finds a session's end entry but no archive tells a purge (this record, signed, for that session's
 * manifest digest, at least `days` after its end, no legal hold standing) from a deletion (no record).
 */
import { z } from 'zod';
import { hex32Schema, isoTimeSchema, keyIdSchema } from './schemas.ts';
import { SIGNED_LABELS, parseSigned, signStatement, type SignedEnvelope, type Signer } from './signed.ts';

/** PCI DSS v4.0.1 10.5.1: audit log history is kept at least 12 months. */
export const MINIMUM_RETENTION_DAYS = 365;
/** Sessions per record: keeps one `evidence.purged` entry well under the log's 64 KiB. */
export const PURGE_RECORD_MAX_SESSIONS = 100;

export const purgedSessionSchema = z.object({
  sessionId: z.string().max(64),
  seq: z.number().int().positive(),
  endedAt: isoTimeSchema,
  /** The manifest digest the log's end entry names: ties the record to exactly that archive. */
  manifestDigest: hex32Schema.nullable(),
  /** SHA-256 of the archive file as deleted (null when no copy was left to hash). */
  archiveSha256: hex32Schema.nullable(),
  /** Where copies were deleted: 'local', 'bucket'. */
  copies: z.array(z.enum(['local', 'bucket'])).max(2),
});
export type PurgedSession = z.infer<typeof purgedSessionSchema>;

export const purgeRecordSchema = z.object({
  format: z.literal('vigil-purge'),
  version: z.literal(1),
  applianceId: z.string().max(64),
  purgeId: z.string().max(64),
  time: isoTimeSchema,
  reason: z.literal('retention'),
  policy: z.object({ name: z.string().max(64), days: z.number().int().positive() }),
  /** Sessions that ended before this time were due. */
  cutoff: isoTimeSchema,
  /** The bundle exported just before the purge (`vigil retention run --export`), if any. */
  exportedIn: z.string().max(64).nullable(),
  sessions: z.array(purgedSessionSchema).min(1).max(PURGE_RECORD_MAX_SESSIONS),
  keyId: keyIdSchema,
});
export type PurgeRecord = z.infer<typeof purgeRecordSchema>;

export function signPurgeRecord(r: Omit<PurgeRecord, 'format' | 'version' | 'keyId'>, signer: Signer): SignedEnvelope {
  const full: PurgeRecord = { format: 'vigil-purge', version: 1, ...r, keyId: signer.keyId };
  return signStatement(SIGNED_LABELS.purgeRecord, full, signer);
}

export function readPurgeRecord(env: SignedEnvelope): PurgeRecord {
  return parseSigned(env, purgeRecordSchema, 'purge record');
}

/** The earliest time a session that ended at `endedAt` may be purged under a policy of `days`. */
export function retentionEnd(endedAt: string, days: number): Date {
  return new Date(Date.parse(endedAt) + days * 86_400_000);
}
