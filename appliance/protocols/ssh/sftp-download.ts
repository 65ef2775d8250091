/**
 * The clear-card-number check of a download (policy `ssh.transfers.clearPan`). A READ answer is scanned
 * together with the bytes around it — up to LOOK bytes before and after, read ahead from the target — so a
 * card number split across two READ answers (or starting in the last bytes of one) is found before the
 * answer holding its first digits is sent: no part of a clear PAN reaches the client. LOOK is the stream
 * masker's hold limit (stream-masker.ts): a card number with the separators real data has fits in it.
 * Reads at any offset work (the window is re-read); sequential reads reuse what was read ahead, and once a
 * client reads sequentially, up to MAX_AHEAD READs are kept in flight to the target ahead of it.
 */
import { findCardData } from '../../../shared/pan/index.ts';
import { HOLD_MAX } from '../../pipeline/stream-masker.ts';

export const LOOK = HOLD_MAX;
/** Size of one READ Vigil asks the target for (OpenSSH serves up to 256 KiB). */
const CHUNK = 128 * 1024;
/**
 * READs kept in flight ahead of a client that reads sequentially: the target's answers take milliseconds each
 * (measured: 4 in flight gave 19 MiB/s, 16 gave 55 MiB/s), so a download runs at link speed only with a deep
 * pipeline. Bounded per SFTP session by a ReadAheadBudget.
 */
const MAX_AHEAD = 16;

/** Bytes of READs in flight across one SFTP session's handles (memory stays bounded however many are open). */
export class ReadAheadBudget {
  used = 0;
  constructor(readonly max: number) {}
}

interface Pending {
  pos: number;
  len: number;
  data: Promise<Buffer>;
}

export class DownloadWindow {
  private start = 0;
  private buf: Buffer = Buffer.alloc(0);
  /** The target said end of file at start + buf.length. */
  private eof = false;
  /** READs sent to the target for the bytes right after the window, in file order. */
  private ahead: Pending[] = [];
  /** Where the previous answer ended, and how many answers in a row started there. */
  private lastEnd = -1;
  private sequential = 0;

  constructor(
    private readonly fetch: (pos: number, len: number) => Promise<Buffer>,
    private readonly budget: ReadAheadBudget = new ReadAheadBudget(MAX_AHEAD * CHUNK),
  ) {}

  /** Forgets the READs in flight (their answers are ignored; the budget gets their bytes back as they settle). */
  private dropAhead(): void {
    this.ahead = [];
  }

  private end(): number {
    return this.start + this.buf.length;
  }

  /** Sends READs for the bytes after the window (and after those in flight) up to `upTo`. */
  private issue(upTo: number): void {
    const last = this.ahead[this.ahead.length - 1];
    let next = last ? last.pos + last.len : this.end();
    // One READ is always allowed (a window that must fill never starves); more only within the session's budget.
    while (!this.eof && this.ahead.length < MAX_AHEAD && next < upTo && (this.ahead.length === 0 || this.budget.used + CHUNK <= this.budget.max)) {
      const budget = this.budget;
      budget.used += CHUNK;
      const data = this.fetch(next, CHUNK).finally(() => (budget.used -= CHUNK));
      data.catch(() => undefined); // a READ dropped after a short answer may fail unobserved
      this.ahead.push({ pos: next, len: CHUNK, data });
      next += CHUNK;
    }
  }

  /** Extends the window to `hi` (or the end of the file) from the READs in flight, sending more as needed. */
  private async fill(hi: number): Promise<void> {
    const prefetch = this.sequential >= 2 ? MAX_AHEAD * CHUNK : 0;
    while (this.end() < hi && !this.eof) {
      this.issue(Math.max(hi, this.end() + 1) + prefetch);
      const a = this.ahead.shift()!;
      let chunk: Buffer;
      try {
        chunk = await a.data;
      } catch (e) {
        this.dropAhead();
        throw e;
      }
      if (a.pos !== this.end()) continue; // sent before the window moved: not these bytes
      if (chunk.length === 0) {
        this.eof = true;
        this.dropAhead();
        break;
      }
      this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
      // A short answer before the end of the file: the READs after it asked for the wrong offsets.
      if (chunk.length < a.len) this.dropAhead();
    }
    if (prefetch) this.issue(this.end() + prefetch);
  }

  /** The file's bytes at [off, off+len) (fewer at the end, none past it) and whether clear card data overlaps them. */
  async read(off: number, len: number): Promise<{ data: Buffer; pan: boolean }> {
    const lo = Math.max(0, off - LOOK);
    const hi = off + len + LOOK;
    this.sequential = off === this.lastEnd ? this.sequential + 1 : 0;
    if (lo < this.start || lo > this.end()) {
      this.start = lo;
      this.buf = Buffer.alloc(0);
      this.eof = false;
      this.dropAhead();
    }
    await this.fill(hi);
    const end = this.end();
    const from = Math.min(off, end) - this.start;
    const to = Math.min(off + len, end) - this.start;
    const data = Buffer.from(this.buf.subarray(from, to));
    const window = this.buf.subarray(lo - this.start, Math.min(hi, end) - this.start);
    const at = off - lo;
    const pan = data.length > 0 && findCardData(window, { strict: true }).some((m) => m.start < at + data.length && m.end > at);
    // Keep what the next sequential read needs as look-behind and what was read ahead.
    const keep = Math.max(this.start, off + data.length - LOOK);
    this.buf = this.buf.subarray(keep - this.start);
    this.start = keep;
    this.lastEnd = off + data.length;
    return { data, pan };
  }
}
