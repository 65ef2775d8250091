/**
 * Writes one session archive: events in, one encrypted, signed file out (format in
 * shared/evidence/archive-format.ts). Memory stays bounded: events are batched into frames of about
 * `frameTargetBytes` and written as soon as a frame is full.
 *
 * The per-session stream key exists only in memory while the session runs; the file holds it sealed
 * to the auditors' public keys, so once the archive is closed the appliance cannot read it back.
 */
import { closeSync, fsyncSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { concatBytes, toBase64, toHex, u64, writeU32 } from '../../shared/bytes.ts';
import { crypto, SECRETSTREAM_ABYTES, type SecretStreamPush } from '../../shared/crypto/backend.ts';
import { sha256Parts } from '../../shared/crypto/hash.ts';
import {
  ARCHIVE_MAGIC,
  LIMITS,
  RECORD_FRAME,
  RECORD_PREFIX_BYTES,
  RECORD_TRAILER,
  encodeHeaderRecord,
  encodeRecord,
  frameAd,
  headerDigestOf,
  type ArchiveHeader,
  type ArchiveManifest,
  type SessionContext,
} from '../../shared/evidence/archive-format.ts';
import { EventEncoder, type EvidenceEvent } from '../../shared/evidence/events.ts';
import { SIGNED_LABELS, signStatement, type SignedEnvelope, type Signer } from '../../shared/evidence/signed.ts';
import { utf8 } from '../../shared/bytes.ts';
import { VigilError } from '../../shared/errors.ts';
import { isoTime } from '../time.ts';
import { DirectSink, writeAll, type ArchiveSink } from './archive-sink.ts';
import { ChainHasher } from './chain-hasher.ts';

export interface AuditorRecipient {
  keyId: string;
  publicKey: Uint8Array;
}

export interface ArchiveWriterOptions {
  path: string;
  sessionId: string;
  sessionSeq: number;
  applianceId: string;
  /** The signer current at the moment of signing (keys may rotate while a session runs). */
  signer: () => Signer;
  recipients: readonly AuditorRecipient[];
  context: SessionContext;
  frameTargetBytes?: number;
  now?: () => Date;
  /** Where the bytes go (default: straight to the archive file, fsynced on sync()). */
  sink?: (fd: number, path: string, sessionId: string) => ArchiveSink;
}

/** Chain position after a frame: what the transparency log anchors. */
export interface ChainState {
  frames: number;
  chainHead: string;
}

export interface SealedArchive {
  manifest: ArchiveManifest;
  envelope: SignedEnvelope;
  /** SHA-256 of the manifest's signed text, as recorded in the transparency log. */
  manifestDigest: string;
}

/** Event fields a caller supplies; the writer assigns seq and t. */
export type EventInput = Omit<EvidenceEvent, 'seq' | 't'>;

export class ArchiveWriter {
  readonly path: string;
  readonly sessionId: string;
  readonly startedAt: Date;
  private readonly startedAtMs: number;
  private readonly opts: ArchiveWriterOptions;
  private readonly now: () => Date;
  /** Milliseconds now: Date.now() unless a clock was injected (demos, tests). */
  private readonly nowMs: () => number;
  /** Associated data of the next frame: header digest ‖ u64 frame index (see frameAd), reused. */
  private readonly ad: Uint8Array;
  private readonly frameTarget: number;
  private readonly headerDigest: Uint8Array;
  private readonly stream: SecretStreamPush;
  private readonly encoder = new EventEncoder();
  private readonly sink: ArchiveSink;
  private offset: number;
  private frames = 0;
  private events = 0;
  /** The hash chain, computed off this thread (chain-hasher.ts). */
  private readonly hasher: ChainHasher;
  /** Frames known durable (sync()); their chain head is fetched when asked (durableStateAsync). */
  private durableFrames = 0;
  private durable: ChainState;
  private durableQuery: { frames: number; state: Promise<ChainState> } | undefined;
  private context: SessionContext;
  private readonly stats: Record<string, number> = {};
  private closed = false;

  private constructor(opts: ArchiveWriterOptions, sink: ArchiveSink, header: ArchiveHeader, headerRecord: Uint8Array, stream: SecretStreamPush) {
    this.opts = opts;
    this.path = opts.path;
    this.sessionId = opts.sessionId;
    this.now = opts.now ?? (() => new Date());
    const injected = opts.now;
    this.nowMs = injected ? () => injected().getTime() : Date.now;
    this.startedAt = new Date(header.createdAt);
    this.startedAtMs = this.startedAt.getTime();
    this.frameTarget = Math.min(opts.frameTargetBytes ?? 64 * 1024, LIMITS.framePlaintextBytes);
    this.sink = sink;
    this.stream = stream;
    this.context = opts.context;
    this.headerDigest = headerDigestOf(headerRecord);
    this.ad = frameAd(this.headerDigest, 0);
    this.hasher = new ChainHasher(this.headerDigest);
    this.offset = ARCHIVE_MAGIC.length + headerRecord.length;
    this.durable = { frames: 0, chainHead: toHex(this.headerDigest) };
  }

  /** Creates the archive file (never overwrites) and makes its header durable. */
  static create(opts: ArchiveWriterOptions): ArchiveWriter {
    if (opts.recipients.length === 0) {
      throw new VigilError('E_NO_AUDITOR', 'no auditor public key configured', { hint: 'add one under `auditors:` in vigil.yaml' });
    }
    const c = crypto();
    const key = c.secretstreamKeygen();
    const { header: ssHeader, stream } = c.secretstreamInitPush(key);
    const now = (opts.now ?? (() => new Date()))();
    const header: ArchiveHeader = {
      format: 'vigil-session-archive',
      version: 1,
      sessionId: opts.sessionId,
      sessionSeq: opts.sessionSeq,
      applianceId: opts.applianceId,
      keyId: opts.signer().keyId,
      createdAt: isoTime(now),
      recipients: opts.recipients.map((r) => ({ keyId: r.keyId, sealedKey: toBase64(c.boxSeal(key, r.publicKey)) })),
      stream: { cipher: 'xchacha20poly1305-secretstream', header: toBase64(ssHeader) },
      context: opts.context,
    };
    key.fill(0);
    const headerRecord = encodeHeaderRecord(header);
    const fd = openSync(opts.path, 'wx', 0o600);
    let sink: ArchiveSink;
    try {
      if (opts.sink) {
        // The journal makes the header durable with the session's first commit (and can recreate the file).
        sink = opts.sink(fd, opts.path, opts.sessionId);
        sink.append(concatBytes(ARCHIVE_MAGIC, headerRecord), 0);
      } else {
        writeAll(fd, concatBytes(ARCHIVE_MAGIC, headerRecord));
        fsyncSync(fd);
        syncDirectory(dirname(opts.path));
        sink = new DirectSink(fd, opts.path);
      }
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    return new ArchiveWriter(opts, sink, header, headerRecord, stream);
  }

  /** Records an event; returns its sequence number. Written to disk when its frame fills or on flush(). */
  append(event: EventInput): number {
    if (this.closed) throw new VigilError('E_ARCHIVE_CLOSED', `archive ${this.sessionId} is already closed`);
    const seq = this.events;
    const full = { ...event, seq, t: this.elapsedMs() } as EvidenceEvent;
    // A frame may hold at most LIMITS.framePlaintextBytes: an event that would push it over goes into a frame
    // of its own, and one that cannot fit even alone is refused (nothing written) — written, it would make the
    // frame, and so the whole archive, unreadable.
    const before = { size: this.encoder.byteLength, count: this.encoder.eventCount };
    let size = this.encoder.add(full);
    if (size > LIMITS.framePlaintextBytes) {
      this.encoder.truncate(before.size, before.count);
      if (before.count > 0) this.writeFrame(false);
      size = this.encoder.add(full);
      if (size > LIMITS.framePlaintextBytes) {
        this.encoder.truncate(0, 0);
        throw new VigilError('E_EVENT_TOO_LARGE', `a ${event.type} event of ${size} bytes is too large to record (an archive frame holds ${LIMITS.framePlaintextBytes})`, {
          hint: 'record less of it (fewer or shorter values)',
        });
      }
    }
    this.events++;
    this.count(full);
    if (size >= this.frameTarget) this.writeFrame(false);
    return seq;
  }

  /** Updates what the manifest will say about identity, target or client (e.g. once identity is proven). */
  setContext(update: Partial<SessionContext>): void {
    this.context = { ...this.context, ...update };
  }

  /** Seals buffered events into a frame and hands it to the OS (survives a process crash, not power loss). */
  flush(): void {
    if (this.encoder.eventCount > 0) this.writeFrame(false);
  }

  /**
   * flush() + fdatasync: afterwards every event appended so far survives a crash. Concurrent callers share
   * one fdatasync (group commit): a call made while one is in flight waits for the next round.
   */
  async sync(): Promise<void> {
    this.flush();
    const upTo = this.hasher.mark(); // the worker keeps the head after exactly these frames
    await this.sink.commit();
    if (upTo > this.durableFrames) this.durableFrames = upTo;
  }

  /** Resolves once every frame so far is hashed (and, for a direct sink, written to the file; not fsynced). */
  settled(): Promise<void> {
    return this.hasher.barrier();
  }

  /** For a journal sink: writes and fsyncs the archive file itself, so the journal can be rotated. */
  async makeFileDurable(): Promise<void> {
    const s = this.sink as ArchiveSink & { makeDurable?: () => Promise<void> };
    if (s.makeDurable && !this.closed) await s.makeDurable();
  }

  /** Position of the last frame known to be on disk whose chain head has been fetched (durableStateAsync). */
  durableState(): ChainState {
    return this.durable;
  }

  /** Position of the last frame known to be on disk (what may be anchored in the log), with its chain head. */
  durableStateAsync(): Promise<ChainState> {
    const frames = this.durableFrames;
    if (frames <= this.durable.frames) return Promise.resolve(this.durable);
    if (this.durableQuery?.frames !== frames) {
      const state = this.hasher.headAt(frames).then((head) => {
        const s = { frames, chainHead: toHex(head) };
        if (frames > this.durable.frames) this.durable = s;
        return s;
      });
      this.durableQuery = { frames, state };
    }
    return this.durableQuery.state;
  }

  get headerDigestHex(): string {
    return toHex(this.headerDigest);
  }

  get frameCount(): number {
    return this.frames;
  }

  get eventCount(): number {
    return this.events;
  }

  /** Writes the final frame (TAG_FINAL) and the signed trailer, makes the file durable and closes it. */
  async close(closeReason: string, extraStats: Record<string, number> = {}): Promise<SealedArchive> {
    if (this.closed) throw new VigilError('E_ARCHIVE_CLOSED', `archive ${this.sessionId} is already closed`);
    this.append({ type: 'session.close', reason: closeReason });
    this.closed = true;
    this.writeFrame(true);
    const chainHead = toHex(await this.hasher.finish());
    const endedAt = this.now();
    const signer = this.opts.signer();
    const manifest: ArchiveManifest = {
      format: 'vigil-archive-manifest',
      version: 1,
      sessionId: this.sessionId,
      sessionSeq: this.opts.sessionSeq,
      applianceId: this.opts.applianceId,
      headerDigest: toHex(this.headerDigest),
      chainHead,
      frames: this.frames,
      events: this.events,
      archiveBytes: this.offset,
      outcome: 'complete',
      closeReason,
      startedAt: isoTime(this.startedAt),
      endedAt: isoTime(endedAt),
      sealedAt: isoTime(endedAt),
      context: this.context,
      stats: { ...this.stats, ...extraStats },
    };
    const envelope = signStatement(SIGNED_LABELS.archiveManifest, manifest, signer);
    const trailer = encodeRecord(RECORD_TRAILER, utf8(JSON.stringify(envelope)));
    await this.sink.finish(trailer, this.offset);
    return { manifest, envelope, manifestDigest: toHex(sha256Parts(utf8(envelope.signed))) };
  }

  /** Closes the file without a trailer, as a crash would; used to hand the archive to recovery. */
  abandon(): void {
    if (this.closed) return;
    this.sink.abandon();
    this.hasher.abandon();
    this.closed = true;
  }

  private writeFrame(final: boolean): void {
    const plain = this.encoder.view();
    // One buffer per record: prefix, then the ciphertext encrypted straight into place.
    // Not zero-filled: every byte is written below (prefix, then the ciphertext of exactly this length).
    const record = Buffer.allocUnsafe(RECORD_PREFIX_BYTES + plain.length + SECRETSTREAM_ABYTES);
    record[0] = RECORD_FRAME;
    writeU32(record, 1, plain.length + SECRETSTREAM_ABYTES);
    this.ad.set(u64(this.frames), this.headerDigest.length);
    this.stream.pushInto(record.subarray(RECORD_PREFIX_BYTES), plain, this.ad, final);
    this.encoder.reset();
    if (this.sink.appendHashed) this.sink.appendHashed(record, this.offset, this.hasher);
    else {
      this.sink.append(record, this.offset);
      this.hasher.add(record);
    }
    this.frames++;
    this.offset += record.length;
  }

  private elapsedMs(): number {
    return Math.round((this.nowMs() - this.startedAtMs) * 1000) / 1000;
  }

  private count(e: EvidenceEvent): void {
    this.bump(e.type, 1);
    if (e.type === 'decision' && typeof e.decision === 'string') this.bump(`decision.${e.decision}`, 1);
    if (e.type === 'masking' && typeof e.count === 'number' && Number.isSafeInteger(e.count)) this.bump('masked', e.count);
  }

  private bump(key: string, n: number): void {
    this.stats[key] = (this.stats[key] ?? 0) + n;
  }
}

/** fsync a directory so a newly created file's entry survives a crash. */
export function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
