/**
 * The bytes received and not yet framed, kept as the chunks they arrived in. A message that lies inside one
 * chunk is returned as a view of it (no copy); one that spans chunks is copied once, when it is complete, so
 * a 100 MiB message arriving in 64 KiB reads costs one allocation and one pass, not a concat per read.
 */
export class ChunkQueue {
  private chunks: Buffer[] = [];
  /** Index of the first unconsumed chunk in `chunks`. */
  private first = 0;
  /** Consumed bytes of chunks[first]. */
  private offset = 0;
  /** Unconsumed bytes in total. */
  length = 0;

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  /** The byte at `index` from the front; the caller checks `index < length`. */
  byteAt(index: number): number {
    let i = this.first;
    let at = this.offset + index;
    for (;;) {
      const c = this.chunks[i]!;
      if (at < c.length) return c[at]!;
      at -= c.length;
      i++;
    }
  }

  /** The big-endian uint32 at `index` from the front; the caller checks `index + 4 <= length`. */
  uint32At(index: number): number {
    const c = this.chunks[this.first]!;
    const at = this.offset + index;
    if (at + 4 <= c.length) return c.readUInt32BE(at);
    return ((this.byteAt(index) << 24) | (this.byteAt(index + 1) << 16) | (this.byteAt(index + 2) << 8) | this.byteAt(index + 3)) >>> 0;
  }

  /** The buffer holding the bytes the last take() removed (set instead of returning a pair per message). */
  taken: Buffer = EMPTY;

  /**
   * Removes the first `n` bytes (`n <= length`) and returns where they start in `taken`: a view into the
   * chunk they arrived in when they lie in one chunk, otherwise a fresh buffer holding them.
   */
  take(n: number): number {
    const c = this.chunks[this.first]!;
    const start = this.offset;
    if (start + n <= c.length) {
      this.consume(n);
      this.taken = c;
      return start;
    }
    const out = Buffer.allocUnsafe(n);
    let done = 0;
    while (done < n) {
      const cur = this.chunks[this.first]!;
      const m = Math.min(cur.length - this.offset, n - done);
      cur.copy(out, done, this.offset, this.offset + m);
      done += m;
      this.consume(m);
    }
    this.taken = out;
    return 0;
  }

  /** Removes and returns everything buffered (a view when it is one chunk). */
  takeAll(): Buffer {
    const n = this.length;
    if (n === 0) return Buffer.alloc(0);
    const start = this.take(n);
    return this.taken.subarray(start, start + n);
  }

  /** Drops the first `n` bytes, which lie in chunks[first] (`n <= its remaining bytes`). */
  private consume(n: number): void {
    this.offset += n;
    this.length -= n;
    if (this.offset === this.chunks[this.first]!.length) {
      this.chunks[this.first] = EMPTY;
      this.first++;
      this.offset = 0;
      if (this.first === this.chunks.length) {
        this.chunks = [];
        this.first = 0;
      } else if (this.first >= 64 && this.first * 2 >= this.chunks.length) {
        this.chunks = this.chunks.slice(this.first);
        this.first = 0;
      }
    }
  }
}

const EMPTY = Buffer.alloc(0);
