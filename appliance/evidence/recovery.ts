/**
 * Seals an archive whose writer died (crash, kill, power loss) as "interrupted": keeps every complete
 * frame, cuts off a torn last record, and appends a signed trailer. Nothing is decrypted — the appliance
 * cannot — so the manifest carries no event count.
 */
import { closeSync, fdatasyncSync, ftruncateSync, openSync, statSync, writeSync } from 'node:fs';
import { toHex, utf8 } from '../../shared/bytes.ts';
import { sha256Parts } from '../../shared/crypto/hash.ts';
import { VigilError, describeError } from '../../shared/errors.ts';
import { RECORD_TRAILER, chainStep, encodeRecord, type ArchiveHeader, type ArchiveManifest } from '../../shared/evidence/archive-format.ts';
import { readArchiveRecords } from '../../shared/evidence/archive-reader.ts';
import { SIGNED_LABELS, signStatement, type Signer } from '../../shared/evidence/signed.ts';
import { isoTime } from '../time.ts';
import type { SealedArchive } from './archive-writer.ts';
import { openFileSource } from './file-source.ts';

export interface ScannedArchive {
  header: ArchiveHeader;
  frames: number;
  chainHead: string;
  headerDigest: string;
  /** Offset just after the last complete frame. */
  goodBytes: number;
  /** Set when the archive already has a trailer (sealed before the crash reached the database). */
  sealed?: SealedArchive;
}

/** Reads an archive as far as it is intact. Throws E_RECOVERY if even the header is unreadable. */
export async function scanArchive(path: string): Promise<ScannedArchive> {
  const src = openFileSource(path);
  let header: ArchiveHeader | undefined;
  let headerDigest = new Uint8Array(0) as Uint8Array;
  let chain = new Uint8Array(0) as Uint8Array;
  let frames = 0;
  let goodBytes = 0;
  try {
    for await (const rec of readArchiveRecords(src)) {
      if (rec.kind === 'header') {
        header = rec.header;
        headerDigest = chain = rec.digest;
        goodBytes = 8 + rec.bytes;
      } else if (rec.kind === 'frame') {
        chain = chainStep(chain, sha256Parts(rec.prefix, rec.body));
        frames++;
        goodBytes = rec.offset + rec.prefix.length + rec.body.length;
      } else {
        const manifestDigest = toHex(sha256Parts(utf8(rec.envelope.signed)));
        const sealed = { manifest: rec.manifest, envelope: rec.envelope, manifestDigest };
        return { header: header!, frames, chainHead: toHex(chain), headerDigest: toHex(headerDigest), goodBytes, sealed };
      }
    }
  } catch (e) {
    if (!header) throw new VigilError('E_RECOVERY', `${path}: unreadable archive header: ${describeError(e)}`);
  } finally {
    src.close();
  }
  return { header: header!, frames, chainHead: toHex(chain), headerDigest: toHex(headerDigest), goodBytes };
}

export async function sealInterrupted(path: string, signer: Signer, reason: string, now = new Date()): Promise<SealedArchive> {
  const scan = await scanArchive(path);
  if (scan.sealed) return scan.sealed;
  const lastWrite = statSync(path).mtime;
  const h = scan.header;
  const manifest: ArchiveManifest = {
    format: 'vigil-archive-manifest',
    version: 1,
    sessionId: h.sessionId,
    sessionSeq: h.sessionSeq,
    applianceId: h.applianceId,
    headerDigest: scan.headerDigest,
    chainHead: scan.chainHead,
    frames: scan.frames,
    archiveBytes: scan.goodBytes,
    outcome: 'interrupted',
    closeReason: reason,
    startedAt: h.createdAt,
    endedAt: isoTime(lastWrite < new Date(h.createdAt) ? new Date(h.createdAt) : lastWrite),
    sealedAt: isoTime(now),
    context: h.context,
    stats: {},
  };
  const envelope = signStatement(SIGNED_LABELS.archiveManifest, manifest, signer);
  const fd = openSync(path, 'r+');
  try {
    ftruncateSync(fd, scan.goodBytes);
    writeSync(fd, encodeRecord(RECORD_TRAILER, utf8(JSON.stringify(envelope))), 0, undefined, scan.goodBytes);
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return { manifest, envelope, manifestDigest: toHex(sha256Parts(utf8(envelope.signed))) };
}
