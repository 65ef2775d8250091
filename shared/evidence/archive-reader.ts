/**
 * Streaming parser for session archives. It validates structure only (magic, record order, lengths,
 * JSON schemas); cryptographic checks are the verifier's job. Hostile input gets a VigilError naming the
 * record and offset, and no allocation larger than the format's limits.
 */
import { bytesEqual, fromUtf8, readU32 } from '../bytes.ts';
import { VigilError } from '../errors.ts';
import {
  ARCHIVE_MAGIC,
  LIMITS,
  RECORD_FRAME,
  RECORD_HEADER,
  RECORD_PREFIX_BYTES,
  RECORD_TRAILER,
  archiveHeaderSchema,
  archiveManifestSchema,
  headerDigestOf,
  type ArchiveHeader,
  type ArchiveManifest,
} from './archive-format.ts';
import { SequentialReader, type ByteSource } from './byte-source.ts';
import { parseJson, parseSigned, parseWith, signedEnvelopeSchema, type SignedEnvelope } from './signed.ts';

export type ArchiveRecord =
  | { kind: 'header'; header: ArchiveHeader; digest: Uint8Array; bytes: number }
  | { kind: 'frame'; index: number; offset: number; prefix: Uint8Array; body: Uint8Array }
  | { kind: 'trailer'; offset: number; envelope: SignedEnvelope; manifest: ArchiveManifest };

function fail(code: string, message: string): VigilError {
  return new VigilError(code, message);
}

export async function* readArchiveRecords(src: ByteSource): AsyncGenerator<ArchiveRecord> {
  const r = new SequentialReader(src);
  if (src.size < ARCHIVE_MAGIC.length || !bytesEqual(await r.take(ARCHIVE_MAGIC.length), ARCHIVE_MAGIC)) {
    throw fail('E_ARCHIVE_MAGIC', 'not a Vigil session archive (bad magic bytes)');
  }
  let frames = 0;
  let sawHeader = false;
  while (r.remaining > 0) {
    const offset = r.offset;
    const where = sawHeader ? `record after frame ${frames} at offset ${offset}` : `header at offset ${offset}`;
    if (r.remaining < RECORD_PREFIX_BYTES) {
      throw fail('E_ARCHIVE_TRUNCATED', `${where}: ${r.remaining} stray bytes, too short for a record (archive truncated)`);
    }
    const prefix = (await r.take(RECORD_PREFIX_BYTES)).slice();
    const type = prefix[0]!;
    const length = readU32(prefix, 1);
    const limit = type === RECORD_HEADER ? LIMITS.headerBytes : type === RECORD_FRAME ? LIMITS.frameBytes : type === RECORD_TRAILER ? LIMITS.trailerBytes : -1;
    if (limit < 0) throw fail('E_ARCHIVE_FORMAT', `${where}: unknown record type 0x${type.toString(16).padStart(2, '0')}`);
    const name = type === RECORD_FRAME ? `frame ${frames} at offset ${offset}` : type === RECORD_TRAILER ? `trailer at offset ${offset}` : where;
    if (length > limit) throw fail('E_ARCHIVE_FORMAT', `${name}: claims ${length} bytes, above the ${limit}-byte limit`);
    if (length > r.remaining) {
      throw fail('E_ARCHIVE_TRUNCATED', `${name}: needs ${length} bytes but only ${r.remaining} remain (archive truncated)`);
    }
    const body = await r.take(length);
    if (!sawHeader) {
      if (type !== RECORD_HEADER) throw fail('E_ARCHIVE_FORMAT', `offset ${offset}: the first record must be the header`);
      sawHeader = true;
      const record = new Uint8Array(RECORD_PREFIX_BYTES + length);
      record.set(prefix);
      record.set(body, RECORD_PREFIX_BYTES);
      const header = parseWith(archiveHeaderSchema, parseJson(decode(body, 'header'), 'archive header'), 'archive header');
      yield { kind: 'header', header, digest: headerDigestOf(record), bytes: record.length };
    } else if (type === RECORD_FRAME) {
      if (length < 17) throw fail('E_ARCHIVE_FORMAT', `${name}: ${length} bytes is shorter than any encrypted frame`);
      yield { kind: 'frame', index: frames++, offset, prefix, body };
    } else if (type === RECORD_TRAILER) {
      const envelope = parseWith(signedEnvelopeSchema, parseJson(decode(body, 'trailer'), 'archive trailer'), 'archive trailer');
      const manifest = parseSigned(envelope, archiveManifestSchema, 'archive manifest');
      if (r.remaining > 0) throw fail('E_ARCHIVE_TRAILING', `${r.remaining} unexpected bytes after the trailer`);
      yield { kind: 'trailer', offset, envelope, manifest };
      return;
    } else {
      throw fail('E_ARCHIVE_FORMAT', `${where}: a second header record`);
    }
  }
  if (!sawHeader) throw fail('E_ARCHIVE_TRUNCATED', 'archive ends after the magic bytes (no header)');
  throw fail('E_ARCHIVE_NO_TRAILER', `archive ends after frame ${frames} without a signed trailer (truncated, or still being written)`);
}

function decode(b: Uint8Array, what: string): string {
  try {
    return fromUtf8(b);
  } catch {
    throw fail('E_FORMAT', `archive ${what}: not UTF-8`);
  }
}
