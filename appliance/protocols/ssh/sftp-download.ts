/**
 * The clear-card-number check of a download (policy `ssh.transfers.clearPan`), and the read-ahead that makes
 * it fast. Every byte is scanned with at least LOOK bytes of the file on either side of it (or the file's
 * start or end), so a card number split across two READ answers (or starting in the last bytes of one) is
 * found before the answer holding its first digits is sent: no part of a clear PAN reaches the client. LOOK
 * is the stream masker's hold limit (stream-masker.ts): a card number with the separators real data has fits
 * in it.
 *
 * A handle's reads are served from a **stream**: READs of CHUNK bytes sent to the target in file order (up to
 * MAX_AHEAD in flight once the client reads sequentially), each answer scanned once as it arrives, together
 * with the LOOK bytes before it, up to LOOK bytes before its end (the rest waits for the next answer or the
 * end of the file). A client READ is answered as soon as all its bytes are scanned — at once, when the stream
 * is ahead of it — and says whether card data found by those scans overlaps it. A READ the stream cannot
 * serve (an offset it already dropped or will not reach soon) moves the stream there when nothing waits on it,
 * or else is served on its own: its bytes and LOOK either side are read from the target and scanned.
 */
import { findCardData } from '../../../shared/pan/index.ts';
import { mayHoldStrictMatch } from '../../../shared/pan/strict-prefilter.ts';
import { HOLD_MAX } from '../../pipeline/stream-masker.ts';

export const LOOK = HOLD_MAX;
/** Size of one READ Vigil asks the target for (OpenSSH serves up to 256 KiB). */
export const CHUNK = 128 * 1024;
/**
 * READs kept in flight ahead of a client that reads sequentially: the target's answers take milliseconds each
 * (measured: 4 in flight gave 19 MiB/s, 16 gave 55 MiB/s), so a download runs at link speed only with a deep
 * pipeline. Bounded per SFTP session by a ReadAheadBudget.
 */
const MAX_AHEAD = 16;
/** How far the stream reads ahead of what the client has been answered, with no READ waiting for it. */
const FAR = MAX_AHEAD * CHUNK;
/**
 * How far ahead of the stream a READ may start and still wait for it: OpenSSH keeps up to 64 READs out, of
 * 32 KiB, or of 255 KiB once the server advertises limits@openssh.com (as Vigil's own framing does): 16 MiB.
 * Waiting costs no memory: bytes are held only up to FAR past what was answered (see settle).
 */
const WAIT_FAR = 64 * 256 * 1024;

/** Bytes of READs in flight across one SFTP session's handles (memory stays bounded however many are open). */
export class ReadAheadBudget {
  used = 0;
  constructor(readonly max: number) {}
}

/** Card data at [start, end) of `b`, strict mode; the prefilter skips bytes that cannot hold any. */
export function cardDataIn(b: Uint8Array): { start: number; end: number }[] {
  return mayHoldStrictMatch(b) ? findCardData(b, { strict: true }) : [];
}

interface Pending {
  pos: number;
  len: number;
  /** The target's answer, as the pieces it arrived in (Vigil's framing does not join them). */
  answer?: Buffer[];
  dropped?: boolean;
}
interface Waiter {
  off: number;
  len: number;
  resolve(r: ReadResult): void;
  reject(e: unknown): void;
}
interface Chunk {
  pos: number;
  data: Buffer;
}
export interface ReadResult {
  /** The bytes, as views of what the stream holds (joined only if `data` is asked for). */
  parts: Buffer[];
  length: number;
  readonly data: Buffer;
  pan: boolean;
}

function result(parts: Buffer[], pan: boolean): ReadResult {
  let joined: Buffer | undefined;
  return {
    parts,
    length: parts.reduce((n, p) => n + p.length, 0),
    pan,
    get data() {
      return (joined ??= parts.length === 1 ? parts[0]! : Buffer.concat(parts));
    },
  };
}

const asParts = (b: Buffer | Buffer[]): Buffer[] => (Buffer.isBuffer(b) ? [b] : b);
const lengthOf = (parts: Buffer[]): number => parts.reduce((n, p) => n + p.length, 0);

export class DownloadWindow {
  /** Where the stream started (it scans from here), and the first byte it can clear (LOOK later unless 0). */
  private origin = 0;
  private floor = 0;
  /** Bytes the stream holds, in order, contiguous, ending at `end`. */
  private chunks: Chunk[] = [];
  private end = 0;
  /** Bytes in [floor, cleared) are scanned with their context; `dirty` is the card data those scans found. */
  private cleared = 0;
  private readonly dirty: { start: number; end: number }[] = [];
  private eof = false;
  private ahead: Pending[] = [];
  private waiters: Waiter[] = [];
  /** The end of the stream's READs answered so far: what the client has consumed (what read-ahead runs past). */
  private servedTo = 0;
  private lastEnd = -1;
  private sequential = 0;

  constructor(
    private readonly fetch: (pos: number, len: number) => Promise<Buffer | Buffer[]>,
    private readonly budget: ReadAheadBudget = new ReadAheadBudget(MAX_AHEAD * CHUNK),
  ) {}

  /** The file's bytes at [off, off+len) (fewer at the end, none past it) and whether clear card data overlaps them. */
  read(off: number, len: number): Promise<ReadResult> {
    this.sequential = off === this.lastEnd ? this.sequential + 1 : 0;
    this.lastEnd = off + len;
    const held = off >= this.floor && off >= this.start();
    if (this.waiters.length === 0) {
      if (!held || off > this.end + CHUNK) this.restart(off);
    } else if (!held || (!this.eof && off > this.end + WAIT_FAR)) return this.alone(off, len);
    return new Promise<ReadResult>((resolve, reject) => {
      this.waiters.push({ off, len, resolve, reject });
      this.settle();
      this.pump();
    });
  }

  private start(): number {
    return this.chunks.length ? this.chunks[0]!.pos : this.end;
  }

  /** Moves the stream to serve `off` (nothing waits on it): what it held and has in flight is dropped. */
  private restart(off: number): void {
    this.dropAhead();
    this.origin = Math.max(0, off - LOOK);
    this.floor = this.origin === 0 ? 0 : this.origin + LOOK;
    this.chunks = [];
    this.end = this.origin;
    this.cleared = this.floor;
    this.servedTo = this.floor;
    this.eof = false;
  }

  private dropAhead(): void {
    for (const a of this.ahead) a.dropped = true;
    this.ahead = [];
  }

  /** Sends READs for the bytes after the stream, up to what waiters need and, when sequential, MAX_AHEAD further. */
  private pump(): void {
    let want = this.servedTo + (this.sequential >= 2 ? FAR : 0);
    for (const w of this.waiters) want = Math.max(want, w.off + w.len + LOOK);
    const last = this.ahead[this.ahead.length - 1];
    let next = last ? last.pos + last.len : this.end;
    // One READ is always allowed (a stream that must fill never starves); more only within the session's budget.
    while (!this.eof && this.ahead.length < MAX_AHEAD && next < want && (this.ahead.length === 0 || this.budget.used + CHUNK <= this.budget.max)) {
      const budget = this.budget;
      budget.used += CHUNK;
      const a: Pending = { pos: next, len: CHUNK };
      this.ahead.push(a);
      this.fetch(next, CHUNK)
        .finally(() => (budget.used -= CHUNK))
        .then(
          (answer) => {
            if (a.dropped) return;
            a.answer = asParts(answer);
            this.arrived();
          },
          (e) => {
            if (!a.dropped) this.failed(e);
          },
        );
      next += CHUNK;
    }
  }

  /** Takes the answers at the head of the queue, in file order; scans; answers the READs now covered. */
  private arrived(): void {
    while (this.ahead[0]?.answer) {
      const a = this.ahead.shift()!;
      const n = lengthOf(a.answer!);
      if (n === 0) {
        this.eof = true;
        this.dropAhead();
        break;
      }
      for (const piece of a.answer!) {
        if (piece.length === 0) continue;
        this.chunks.push({ pos: this.end, data: piece });
        this.end += piece.length;
      }
      // A short answer before the end of the file: the READs after it asked for the wrong offsets.
      if (n < a.len) this.dropAhead();
    }
    this.scan();
    this.settle();
    this.pump();
  }

  private failed(e: unknown): void {
    this.dropAhead();
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.reject(e);
  }

  /** Scans the bytes that now have LOOK bytes after them (all of them at the end of the file). */
  private scan(): void {
    const to = this.eof ? this.end : this.end - LOOK;
    if (to <= this.cleared) return;
    const from = Math.max(this.origin, this.cleared - LOOK);
    const region = this.bytes(from, this.end);
    for (const m of cardDataIn(region)) this.dirty.push({ start: from + m.start, end: from + m.end });
    this.cleared = to;
    this.consolidate(from, region);
  }

  /**
   * The scan needed [from, end) in one buffer: the stream keeps that buffer instead of the pieces it was
   * joined from, so the bytes are copied once (answers are views of it), not again for each READ.
   */
  private consolidate(from: number, region: Buffer): void {
    if (region.length === 0) return;
    const kept: Chunk[] = [];
    for (const c of this.chunks) {
      if (c.pos >= from) break;
      kept.push(c.pos + c.data.length > from ? { pos: c.pos, data: c.data.subarray(0, from - c.pos) } : c);
    }
    kept.push({ pos: from, data: region });
    this.chunks = kept;
  }

  /** Answers every READ whose bytes are all scanned (lowest offset first); drops what no one needs any more. */
  private settle(): void {
    if (this.waiters.length > 1) this.waiters.sort((x, y) => x.off - y.off);
    const done = this.eof && this.cleared >= this.end;
    const still: Waiter[] = [];
    for (const w of this.waiters) {
      if (!done && this.cleared < w.off + w.len) {
        still.push(w);
        continue;
      }
      const hi = Math.min(w.off + w.len, this.end);
      const parts = hi > w.off ? this.pieces(w.off, hi) : [];
      const pan = parts.length > 0 && this.dirty.some((d) => d.start < hi && d.end > w.off);
      this.servedTo = Math.max(this.servedTo, hi);
      w.resolve(result(parts, pan));
    }
    this.waiters = still;
    // Held: what a READ still waits on, and up to FAR of scanned bytes no READ has asked for yet.
    let keep = Math.min(this.cleared - LOOK, Math.max(this.servedTo, this.cleared - LOOK - FAR));
    for (const w of still) keep = Math.min(keep, w.off);
    while (this.chunks.length && this.chunks[0]!.pos + this.chunks[0]!.data.length <= keep) this.chunks.shift();
    // Card data wholly before what the stream holds concerns no READ it can still answer (a file full of
    // card numbers, allowed through, would otherwise make every answer slower).
    if (this.dirty.length && this.dirty[0]!.end <= this.start()) this.dirty.splice(0, this.dirty.findIndex((d) => d.end > this.start()) >>> 0);
  }

  /** The held bytes [from, to) (both within the stream), in one buffer. */
  private bytes(from: number, to: number): Buffer {
    const parts = this.pieces(from, to);
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  /** The held bytes [from, to), as views of the chunks. */
  private pieces(from: number, to: number): Buffer[] {
    const parts: Buffer[] = [];
    for (const c of this.chunks) {
      const cEnd = c.pos + c.data.length;
      if (cEnd <= from) continue;
      if (c.pos >= to) break;
      parts.push(c.data.subarray(Math.max(0, from - c.pos), Math.min(c.data.length, to - c.pos)));
    }
    return parts;
  }

  /** A READ outside the stream, served on its own: its bytes and LOOK either side, fresh from the target. */
  private async alone(off: number, len: number): Promise<ReadResult> {
    const lo = Math.max(0, off - LOOK);
    const hi = off + len + LOOK;
    const parts: Buffer[] = [];
    for (let pos = lo; pos < hi; ) {
      const b = asParts(await this.fetch(pos, Math.min(hi - pos, CHUNK)));
      const n = lengthOf(b);
      if (n === 0) break;
      parts.push(...b);
      pos += n;
    }
    const window = Buffer.concat(parts);
    const at = off - lo;
    const data = window.subarray(Math.min(at, window.length), Math.min(at + len, window.length));
    const pan = data.length > 0 && cardDataIn(window).some((m) => m.start < at + data.length && m.end > at);
    return result(data.length ? [data] : [], pan);
  }
}
