/**
 * A bundle is one ustar file an auditor receives:
 *
 *   bundle.json           signed bundle manifest (what is inside, the export window)
 *   checkpoint.json       the signed checkpoint everything is proven against
 *   keys/rotations.json   every key rotation statement, oldest first
 *   log/prefix.json       perfect-subtree hashes covering the log before the first included entry
 *   log/entries.jsonl     log entries [from, checkpoint size), one per line, byte-exact
 *   log/consistency.json  consistency proofs to the checkpoint from every earlier exported checkpoint
 *   archives/*.vsa        the session archives
 */
import { z } from 'zod';
import { hex32Schema, isoTimeSchema } from './schemas.ts';

export const BUNDLE_FILES = {
  manifest: 'bundle.json',
  checkpoint: 'checkpoint.json',
  rotations: 'keys/rotations.json',
  prefix: 'log/prefix.json',
  entries: 'log/entries.jsonl',
  consistency: 'log/consistency.json',
} as const;

export const BUNDLE_FILE_EXTENSION = '.vigil';

export function archiveMemberName(seq: number, sessionId: string): string {
  return `archives/${String(seq).padStart(8, '0')}-${sessionId}.vsa`;
}

export const bundleManifestSchema = z.object({
  format: z.literal('vigil-bundle'),
  version: z.literal(1),
  bundleId: z.string().max(64),
  applianceId: z.string().max(64),
  createdAt: isoTimeSchema,
  /** Sessions whose start entry falls in [since, until) are exported; null = unbounded. */
  range: z.object({ since: isoTimeSchema.nullable(), until: isoTimeSchema.nullable() }),
  checkpoint: z.object({ size: z.number().int().nonnegative(), root: hex32Schema }),
  log: z.object({ from: z.number().int().nonnegative(), to: z.number().int().nonnegative() }),
  archives: z
    .array(
      z.object({
        sessionId: z.string().max(64),
        seq: z.number().int().positive(),
        file: z.string().max(255),
        bytes: z.number().int().positive(),
        manifestDigest: hex32Schema,
      }),
    )
    .max(10_000_000),
});
export type BundleManifest = z.infer<typeof bundleManifestSchema>;

export const logPrefixSchema = z.object({ size: z.number().int().nonnegative(), hashes: z.array(hex32Schema).max(64) });
export type LogPrefix = z.infer<typeof logPrefixSchema>;

export const consistencyProofsSchema = z
  .array(z.object({ fromSize: z.number().int().nonnegative(), fromRoot: hex32Schema, proof: z.array(hex32Schema).max(128) }))
  .max(100_000);
export type ConsistencyProofs = z.infer<typeof consistencyProofsSchema>;
