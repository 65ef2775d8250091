/**
 * Takes a session archive apart the way docs/evidence-format.md §2–§4 describe it, for the vectors: every
 * record's offset and length, the header digest, the chain after each frame, and — with the auditor's
 * secret key — the stream key, each frame's associated data, tag and plaintext, and the decoded events.
 */
import { fromBase64, readU32, toBase64, toHex } from '../../shared/bytes.ts';
import { crypto } from '../../shared/crypto/backend.ts';
import { sha256 } from '../../shared/crypto/hash.ts';
import { chainStep, frameAd, headerDigestOf, type ArchiveHeader } from '../../shared/evidence/archive-format.ts';
import { decodeEvents } from '../../shared/evidence/events.ts';
import type { AuditorSecret } from '../../shared/evidence/verify/verify-archive.ts';

export interface FrameVector {
  offset: number;
  length: number;
  chainHead: string;
  ad: string;
  tag: 'TAG_MESSAGE' | 'TAG_FINAL';
  plaintext: string;
}

export interface ArchiveParts {
  bytes: number;
  headerRecord: { offset: number; length: number };
  headerDigest: string;
  streamKey: string;
  frames: FrameVector[];
  trailerOffset: number | null;
  trailer: { signed: string; keyId: string; sig: string } | null;
  manifestDigest: string | null;
  /** Decoded events; `data` as base64. */
  events: Record<string, unknown>[];
}

export function archiveParts(bytes: Uint8Array, auditor: AuditorSecret): ArchiveParts {
  const headerLen = readU32(bytes, 9);
  const headerRecord = bytes.subarray(8, 8 + 5 + headerLen);
  const header = JSON.parse(new TextDecoder().decode(headerRecord.subarray(5))) as ArchiveHeader;
  const digest = headerDigestOf(headerRecord);
  const recipient = header.recipients.find((r) => r.keyId === auditor.keyId);
  if (!recipient) throw new Error('archive not sealed to the vector auditor');
  const key = crypto().boxSealOpen(fromBase64(recipient.sealedKey), auditor.publicKey, auditor.secretKey);
  const pull = crypto().secretstreamInitPull(key, fromBase64(header.stream.header));
  const frames: FrameVector[] = [];
  const events: Record<string, unknown>[] = [];
  let chain = digest;
  let o = 8 + headerRecord.length;
  while (o < bytes.length && bytes[o] === 0x46) {
    const len = readU32(bytes, o + 1);
    const record = bytes.subarray(o, o + 5 + len);
    chain = chainStep(chain, sha256(record));
    const ad = frameAd(digest, frames.length);
    const { message, final } = pull.pull(record.subarray(5), ad);
    for (const e of decodeEvents(message)) events.push(e.data ? { ...e, data: toBase64(e.data) } : { ...e });
    frames.push({ offset: o, length: record.length, chainHead: toHex(chain), ad: toHex(ad), tag: final ? 'TAG_FINAL' : 'TAG_MESSAGE', plaintext: toHex(message) });
    o += record.length;
  }
  let trailer: ArchiveParts['trailer'] = null;
  if (o < bytes.length) {
    trailer = JSON.parse(new TextDecoder().decode(bytes.subarray(o + 5))) as NonNullable<ArchiveParts['trailer']>;
  }
  return {
    bytes: bytes.length,
    headerRecord: { offset: 8, length: headerRecord.length },
    headerDigest: toHex(digest),
    streamKey: toHex(key),
    frames,
    trailerOffset: trailer ? o : null,
    trailer,
    manifestDigest: trailer ? toHex(sha256(new TextEncoder().encode(trailer.signed))) : null,
    events,
  };
}
