/**
 * The clear-card-number check of a download (policy `ssh.transfers.clearPan`). A READ answer is scanned
 * together with the bytes around it — up to LOOK bytes before and after, read ahead from the target — so a
 * card number split across two READ answers (or starting in the last bytes of one) is found before the
 * answer holding its first digits is sent: no part of a clear PAN reaches the client. LOOK is the stream
 * masker's hold limit (stream-masker.ts): a card number with the separators real data has fits in it.
 * Reads at any offset work (the window is re-read); sequential reads reuse what was read ahead.
 */
import { findCardData } from '../../../shared/pan/index.ts';
import { HOLD_MAX } from '../../pipeline/stream-masker.ts';

export const LOOK = HOLD_MAX;

export class DownloadWindow {
  private start = 0;
  private buf: Buffer = Buffer.alloc(0);
  /** The target said end of file at start + buf.length. */
  private eof = false;

  constructor(private readonly fetch: (pos: number, len: number) => Promise<Buffer>) {}

  /** The file's bytes at [off, off+len) (fewer at the end, none past it) and whether clear card data overlaps them. */
  async read(off: number, len: number): Promise<{ data: Buffer; pan: boolean }> {
    const lo = Math.max(0, off - LOOK);
    const hi = off + len + LOOK;
    const end = () => this.start + this.buf.length;
    if (lo < this.start || lo > end()) {
      this.start = lo;
      this.buf = Buffer.alloc(0);
      this.eof = false;
    }
    while (end() < hi && !this.eof) {
      const chunk = await this.fetch(end(), hi - end());
      if (chunk.length === 0) this.eof = true;
      else this.buf = Buffer.concat([this.buf, chunk]);
    }
    const from = Math.min(off, end()) - this.start;
    const to = Math.min(off + len, end()) - this.start;
    const data = Buffer.from(this.buf.subarray(from, to));
    const window = this.buf.subarray(lo - this.start, Math.min(hi, end()) - this.start);
    const at = off - lo;
    const pan = data.length > 0 && findCardData(window, { strict: true }).some((m) => m.start < at + data.length && m.end > at);
    // Keep what the next sequential read needs as look-behind and what was read ahead.
    const keep = Math.max(this.start, off + data.length - LOOK);
    this.buf = this.buf.subarray(keep - this.start);
    this.start = keep;
    return { data, pan };
  }
}
