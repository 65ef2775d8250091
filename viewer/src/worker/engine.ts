/**
 * The viewer's verification engine: runs the shared verifier (the very code `vigil verify` runs) over a
 * Blob, builds per-session digests from the decrypted events, and hands a session's events back on
 * demand — from a bounded in-memory cache, or by decrypting that one archive again. Nothing is written
 * anywhere: decrypted content lives in this object's memory only.
 *
 * DOM-free (a Blob is anything with size and slice): the Web Worker wraps it, Node tests drive it.
 */
import { VigilError, describeError } from '../../../shared/errors.ts';
import { fromUtf8 } from '../../../shared/bytes.ts';
import { initCrypto } from '../../../shared/crypto/backend.ts';
import { parseAuditorSecretKey } from '../../../shared/evidence/auditor-key.ts';
import { BUNDLE_FILES } from '../../../shared/evidence/bundle-format.ts';
import { sliceSource, type ByteSource } from '../../../shared/evidence/byte-source.ts';
import type { EvidenceEvent } from '../../../shared/evidence/events.ts';
import { KeyChain } from '../../../shared/evidence/key-chain.ts';
import { parseJson, parseWith, signedEnvelopeSchema, type SignedEnvelope } from '../../../shared/evidence/signed.ts';
import { readTarIndex, type TarMember } from '../../../shared/evidence/tar.ts';
import { parseTrustFile, type TrustFile } from '../../../shared/evidence/trust.ts';
import type { VerificationReport } from '../../../shared/evidence/verify/report.ts';
import { verifyArchive, type AuditorSecret } from '../../../shared/evidence/verify/verify-archive.ts';
import { verifyBundle, type ArchivePool } from '../../../shared/evidence/verify/verify-bundle.ts';
import { DigestBuilder } from '../model/digest.ts';
import { eventRows, type EventRow } from '../model/event-table.ts';
import { bundleSha256 } from './bundle-sha256.ts';
import type { SessionDigest } from '../model/types.ts';

export interface BlobLike {
  readonly size: number;
  slice(start: number, end: number): { arrayBuffer(): Promise<ArrayBuffer> };
}

/**
 * A ByteSource over a Blob/File: reads only the ranges asked for, so a 10 GiB bundle is never loaded whole.
 * Small reads (tar headers, small archives — a bundle of 100,000 sessions makes hundreds of thousands) are
 * served from a block cache instead of one asynchronous Blob read each.
 */
export function blobSource(blob: BlobLike): ByteSource {
  return cachedSource({ size: blob.size, read: async (offset, length) => new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer()) });
}

const BLOCK = 1 << 20;
const SMALL = 64 * 1024;

export function cachedSource(src: ByteSource): ByteSource {
  const blocks = new Map<number, Promise<Uint8Array>>();
  const block = (i: number): Promise<Uint8Array> => {
    let b = blocks.get(i);
    if (!b) {
      b = src.read(i * BLOCK, Math.min(BLOCK, src.size - i * BLOCK));
      blocks.set(i, b);
      if (blocks.size > 4) blocks.delete(blocks.keys().next().value!);
    }
    return b;
  };
  return {
    size: src.size,
    async read(offset, length) {
      if (length > SMALL) return src.read(offset, length);
      const first = Math.floor(offset / BLOCK);
      const last = Math.floor((offset + length - 1) / BLOCK);
      if (length === 0) return new Uint8Array(0);
      if (first === last) {
        const b = await block(first);
        return b.slice(offset - first * BLOCK, offset - first * BLOCK + length);
      }
      const out = new Uint8Array(length);
      for (let i = first, o = 0; i <= last; i++) {
        const b = await block(i);
        const from = Math.max(offset, i * BLOCK) - i * BLOCK;
        const to = Math.min(offset + length, (i + 1) * BLOCK) - i * BLOCK;
        out.set(b.subarray(from, to), o);
        o += to - from;
      }
      return out;
    },
  };
}

/**
 * A ByteSource over a URL that answers HTTP range requests: the Electron shell serves a file the OS opened
 * this way (app://viewer/opened/<token>), so the worker reads it by ranges like a File.
 */
export function urlSource(url: string, size: number): ByteSource {
  return cachedSource({
    size,
    read: async (offset, length) => {
      if (length === 0) return new Uint8Array(0);
      const r = await fetch(url, { headers: { Range: `bytes=${offset}-${offset + length - 1}` } });
      if (r.status !== 206 && r.status !== 200) throw new VigilError('E_READ', `cannot read the bundle (status ${r.status})`);
      const b = new Uint8Array(await r.arrayBuffer());
      if (b.length !== length) throw new VigilError('E_READ', `short read at offset ${offset}: ${b.length} of ${length} bytes`);
      return b;
    },
  });
}

export interface KeyInput {
  text: string;
  passphrase?: string;
}

export interface VerifyResult {
  report: VerificationReport;
  digests: SessionDigest[];
}

/** What a pool of archive workers needs to verify archives exactly as the engine would. */
export interface PoolContext {
  trustText: string;
  rotations: SignedEnvelope[];
  auditor?: AuditorSecret;
  /** A session's decrypted events are sent back (for the replay cache) when they take at most this. */
  keepBytes: number;
  onArchive(sessionId: string, digest: SessionDigest | undefined, events: EvidenceEvent[] | undefined, eventBytes: number): void;
}

export type PoolFactory = (ctx: PoolContext) => (ArchivePool & { close(): void }) | undefined;

export interface EngineOptions {
  /** Verifies archives in parallel (the Web Worker passes a pool of workers); without it, one after another. */
  makePool?: PoolFactory;
  /** Decrypted events kept in memory across all sessions (replay without decrypting again). */
  cacheBytes?: number;
  /** A single session larger than this is never cached (it is decrypted again when opened). */
  sessionCacheBytes?: number;
  now?: () => Date;
}

/** Events of one session, as decrypted, or why there are none. */
export interface SessionEvents {
  events: EvidenceEvent[];
  /** Set when decryption stopped early (a failed frame) or the session was too large to load whole. */
  note?: string;
}

import { EVENT_OVERHEAD } from './archive-job.ts';
/** A session's decrypted content beyond this is not loaded for replay (the report still covers all of it). */
export const MAX_REPLAY_BYTES = 512 * 1024 * 1024;

export class BundleEngine {
  readonly trust: TrustFile;
  private auditor: AuditorSecret | undefined;
  private members: Map<string, TarMember> | undefined;
  private keys: KeyChain | undefined;
  private report: VerificationReport | undefined;
  private readonly cache = new Map<string, { events: EvidenceEvent[]; bytes: number }>();
  private cached = 0;
  private closed = false;
  private readonly cacheBytes: number;
  private readonly sessionCacheBytes: number;

  constructor(
    private readonly src: ByteSource,
    private readonly trustText: string,
    private readonly opts: EngineOptions = {},
  ) {
    this.trust = parseTrustFile(trustText);
    this.cacheBytes = opts.cacheBytes ?? 384 * 1024 * 1024;
    this.sessionCacheBytes = opts.sessionCacheBytes ?? 128 * 1024 * 1024;
  }

  get withKey(): boolean {
    return this.auditor !== undefined;
  }

  /** Unlocks an auditor key file (Argon2id when protected). Throws E_PASSPHRASE when one is needed or wrong. */
  async unlock(key: KeyInput): Promise<{ keyId: string }> {
    await initCrypto();
    const locked = parseAuditorSecretKey(key.text);
    if (locked.needsPassphrase && !key.passphrase) {
      throw new VigilError('E_PASSPHRASE', 'this auditor key is protected by a passphrase');
    }
    this.auditor = locked.unlock(key.passphrase);
    return { keyId: locked.keyId };
  }

  /** The SHA-256 of the whole bundle file (stops when the engine is closed: another bundle was opened). */
  sha256(onProgress?: (done: number, total: number) => void): Promise<string> {
    return bundleSha256(this.src, { ...(onProgress ? { onProgress } : {}), cancelled: () => this.closed });
  }

  /** This bundle is no longer the one open: forget the key and stop any work still reading it. */
  close(): void {
    this.closed = true;
    this.lock();
  }

  /** Forgets the key and every decrypted event. */
  lock(): void {
    this.auditor?.secretKey.fill(0);
    this.auditor = undefined;
    this.cache.clear();
    this.cached = 0;
  }

  async verify(onProgress?: (done: number, total: number) => void): Promise<VerifyResult> {
    await initCrypto();
    this.cache.clear();
    this.cached = 0;
    const builders = new Map<string, DigestBuilder>();
    const pooled = new Map<string, SessionDigest>();
    const collecting = new Map<string, { events: EvidenceEvent[]; bytes: number } | null>();
    let pool: (ArchivePool & { close(): void }) | undefined;
    if (this.opts.makePool) {
      let rotations: SignedEnvelope[] | undefined;
      try {
        rotations = await this.rotations();
      } catch {
        rotations = undefined; // unreadable: verifyBundle reports it; verify archives here
      }
      if (rotations) {
        pool = this.opts.makePool({
          trustText: this.trustText,
          rotations,
          ...(this.auditor ? { auditor: this.auditor } : {}),
          keepBytes: this.sessionCacheBytes,
          onArchive: (sessionId, digest, events, bytes) => {
            if (digest) pooled.set(sessionId, digest);
            if (events && this.cached + bytes <= this.cacheBytes) {
              this.cache.set(sessionId, { events, bytes });
              this.cached += bytes;
            }
          },
        });
      }
    }
    const report = await verifyBundle(this.src, this.trust, {
      ...(this.auditor ? { auditor: this.auditor } : {}),
      ...(onProgress ? { onProgress } : {}),
      ...(this.opts.now ? { now: this.opts.now } : {}),
      ...(pool ? { archivePool: pool } : {}),
      webCryptoDigests: true,
      onEvents: (sessionId, events) => {
        let b = builders.get(sessionId);
        if (!b) builders.set(sessionId, (b = new DigestBuilder(sessionId)));
        b.add(events);
        let c = collecting.get(sessionId);
        if (c === undefined) collecting.set(sessionId, (c = { events: [], bytes: 0 }));
        if (c) {
          for (const e of events) c.bytes += EVENT_OVERHEAD + (e.data?.length ?? 0);
          if (c.bytes > this.sessionCacheBytes || this.cached + c.bytes > this.cacheBytes) collecting.set(sessionId, null);
          else for (const e of events) c.events.push(e);
        }
        // A session's events arrive together (archives are verified one after another): settle the finished ones.
        for (const [id, done] of collecting) {
          if (id === sessionId || !done) continue;
          this.cache.set(id, done);
          this.cached += done.bytes;
          collecting.set(id, null);
        }
      },
    });
    pool?.close();
    for (const [id, done] of collecting) {
      if (done && this.cached + done.bytes <= this.cacheBytes) {
        this.cache.set(id, done);
        this.cached += done.bytes;
      }
    }
    this.report = report;
    const digests: SessionDigest[] = [];
    if (this.auditor) {
      for (const s of report.sessions) {
        const d = pooled.get(s.sessionId) ?? builders.get(s.sessionId)?.digest;
        if (!d) continue;
        const failedDecryption = s.reasons.some((r) => /decryption|TAG_FINAL|not sealed/i.test(r));
        finalizeDigest(d, s, failedDecryption);
        digests.push(d);
      }
    }
    return { report, digests };
  }

  /** A session's decrypted events, for its detail view and replay. */
  async sessionEvents(sessionId: string): Promise<SessionEvents> {
    if (!this.auditor) throw new VigilError('E_NO_KEY', 'load the auditor key to see what happened in a session');
    const hit = this.cache.get(sessionId);
    if (hit) return { events: hit.events };
    const s = this.report?.sessions.find((x) => x.sessionId === sessionId);
    if (!s?.file) throw new VigilError('E_NO_ARCHIVE', 'this session has no archive in the bundle');
    const m = (await this.index()).get(s.file);
    if (!m) throw new VigilError('E_NO_ARCHIVE', `${s.file} is missing from the bundle`);
    const events: EvidenceEvent[] = [];
    let bytes = 0;
    let note: string | undefined;
    const v = await verifyArchive(sliceSource(this.src, m.offset, m.size), {
      keys: await this.keyChain(),
      auditor: this.auditor,
      webCryptoDigests: true,
      onEvents: (evs) => {
        if (note) return;
        for (const e of evs) {
          bytes += EVENT_OVERHEAD + (e.data?.length ?? 0);
          if (bytes > MAX_REPLAY_BYTES) {
            note = `this session holds more than ${MAX_REPLAY_BYTES / 1024 / 1024} MiB of recorded content: only the first part is loaded for replay (the verification covered all of it)`;
            return;
          }
          events.push(e);
        }
      },
    });
    const failed = v.failures.find((f) => f.check === 'decryption' || f.check === 'tag-final');
    if (failed && !note) note = `decryption stopped: ${failed.message}. Events after that point cannot be shown.`;
    return note ? { events, note } : { events };
  }

  /** A session's event-table rows (decrypting it again when it is not cached). */
  async sessionEventRows(sessionId: string): Promise<EventRow[]> {
    const s = this.report?.sessions.find((x) => x.sessionId === sessionId);
    if (!s) throw new VigilError('E_NO_ARCHIVE', 'this session is not in the bundle');
    const { events, note } = await this.sessionEvents(sessionId);
    return eventRows(events, s, note);
  }

  private async index(): Promise<Map<string, TarMember>> {
    this.members ??= new Map((await readTarIndex(this.src)).map((m) => [m.name, m]));
    return this.members;
  }

  private async rotations(): Promise<SignedEnvelope[]> {
    const m = (await this.index()).get(BUNDLE_FILES.rotations);
    if (!m) return [];
    try {
      return parseWith(signedEnvelopeSchema.array().max(10_000), parseJson(fromUtf8(await this.src.read(m.offset, m.size)), 'rotations'), 'rotations');
    } catch (e) {
      throw new VigilError('E_BUNDLE_FORMAT', describeError(e));
    }
  }

  private async keyChain(): Promise<KeyChain> {
    this.keys ??= new KeyChain(this.trust, await this.rotations());
    return this.keys;
  }
}

/** Completes a digest with what only the report knows (sequence number, identity, target). */
export function finalizeDigest(d: SessionDigest, s: VerificationReport['sessions'][number], partial: boolean): void {
  d.partial ||= partial;
  const subject = s.context?.identity?.subject;
  const issuer = s.context?.identity?.issuer;
  const target = s.context?.target?.name;
  for (const a of d.approvals) {
    a.seq = s.seq;
    if (a.requester === '(unknown identity)' && subject) a.requester = subject;
    if (!a.requesterIssuer && issuer) a.requesterIssuer = issuer;
    if (!a.target && target) a.target = target;
  }
}
