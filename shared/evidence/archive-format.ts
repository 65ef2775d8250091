/**
 * Session archive layout (docs/evidence-format.md is the normative description):
 *
 *   magic (8 bytes)  89 56 49 47 0D 0A 1A 0A   ("\x89VIG\r\n\x1a\n", catches text-mode mangling)
 *   record*          type (1 byte) | length (u32 big-endian) | body
 *     'H' header     UTF-8 JSON, exactly once, first
 *     'F' frame      one secretstream message (event batch), 0..n times
 *     'T' trailer    UTF-8 JSON signed envelope of the manifest, exactly once, last
 *
 * Integrity without a key: headerDigest = SHA-256("vigil.archive-header.v1\n" ‖ H record),
 * chain₀ = headerDigest, chainᵢ₊₁ = SHA-256(chainᵢ ‖ SHA-256(F recordᵢ)); the signed manifest carries
 * the final chain head and frame count. With a key: every frame's associated data is
 * headerDigest ‖ u64(frame index), and the last frame of a complete archive carries TAG_FINAL.
 */
import { z } from 'zod';
import { concatBytes, u64, utf8, writeU32 } from '../bytes.ts';
import { sha256Parts, taggedSha256 } from '../crypto/hash.ts';
import { base64Schema, hex32Schema, isoTimeSchema, keyIdSchema } from './schemas.ts';

export const ARCHIVE_MAGIC = new Uint8Array([0x89, 0x56, 0x49, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
export const RECORD_HEADER = 0x48; // 'H'
export const RECORD_FRAME = 0x46; // 'F'
export const RECORD_TRAILER = 0x54; // 'T'
export const RECORD_PREFIX_BYTES = 5;

/** Hard limits: a reader refuses anything larger before allocating for it. */
export const LIMITS = {
  headerBytes: 64 * 1024,
  /** Plaintext bytes of one frame (an event batch). */
  framePlaintextBytes: 16 * 1024 * 1024,
  frameBytes: 16 * 1024 * 1024 + 17,
  trailerBytes: 256 * 1024,
} as const;

export const ARCHIVE_FILE_EXTENSION = '.vsa';

const iso = isoTimeSchema;
const hex32 = hex32Schema;
const keyId = keyIdSchema;
const b64 = base64Schema;

/** Who and what a session is about; known (at least partly) when it opens, final in the manifest. */
export const sessionContextSchema = z.object({
  protocol: z.string().max(32),
  identity: z
    .object({
      subject: z.string().max(1024),
      issuer: z.string().max(1024).optional(),
      method: z.string().max(64).optional(),
      groups: z.array(z.string().max(256)).max(256).optional(),
      tokenId: z.string().max(256).optional(),
      tokenHash: z.string().max(128).optional(),
    })
    .nullable(),
  target: z.object({ name: z.string().max(256), address: z.string().max(512).optional(), user: z.string().max(256).optional(), credentialRef: z.string().max(512).optional() }).nullable(),
  client: z.object({ address: z.string().max(256), tls: z.string().max(256).optional() }).nullable(),
});
export type SessionContext = z.infer<typeof sessionContextSchema>;

export const archiveHeaderSchema = z.object({
  format: z.literal('vigil-session-archive'),
  version: z.literal(1),
  sessionId: z.string().regex(/^[0-9a-zA-Z-]{8,64}$/),
  sessionSeq: z.number().int().positive(),
  applianceId: z.string().max(64),
  keyId,
  createdAt: iso,
  recipients: z.array(z.object({ keyId, sealedKey: b64.max(128) })).min(1).max(64),
  stream: z.object({ cipher: z.literal('xchacha20poly1305-secretstream'), header: b64.max(64) }),
  context: sessionContextSchema,
});
export type ArchiveHeader = z.infer<typeof archiveHeaderSchema>;

export const OUTCOMES = ['complete', 'interrupted'] as const;

export const archiveManifestSchema = z.object({
  format: z.literal('vigil-archive-manifest'),
  version: z.literal(1),
  sessionId: z.string(),
  sessionSeq: z.number().int().positive(),
  applianceId: z.string(),
  headerDigest: hex32,
  chainHead: hex32,
  frames: z.number().int().nonnegative(),
  /** Absent when the archive was sealed as interrupted: counting would need the auditor's key. */
  events: z.number().int().nonnegative().optional(),
  /** Offset of the trailer record: the archive's length without its trailer. */
  archiveBytes: z.number().int().positive(),
  outcome: z.enum(OUTCOMES),
  closeReason: z.string().max(1024),
  startedAt: iso,
  endedAt: iso,
  /** When the appliance signed this manifest (key validity is judged at this time). */
  sealedAt: iso,
  context: sessionContextSchema,
  stats: z.record(z.string().max(64), z.number().int().nonnegative()),
});
export type ArchiveManifest = z.infer<typeof archiveManifestSchema>;

export function encodeRecord(type: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(RECORD_PREFIX_BYTES + body.length);
  out[0] = type;
  writeU32(out, 1, body.length);
  out.set(body, RECORD_PREFIX_BYTES);
  return out;
}

export function encodeHeaderRecord(header: ArchiveHeader): Uint8Array {
  return encodeRecord(RECORD_HEADER, utf8(JSON.stringify(header)));
}

export function headerDigestOf(headerRecord: Uint8Array): Uint8Array {
  return taggedSha256('vigil.archive-header.v1', headerRecord);
}

/** Associated data of frame `index`: binds it to its archive and its position. */
export function frameAd(headerDigest: Uint8Array, index: number): Uint8Array {
  return concatBytes(headerDigest, u64(index));
}

export function chainStep(chain: Uint8Array, frameRecordDigest: Uint8Array): Uint8Array {
  return sha256Parts(chain, frameRecordDigest);
}
