/**
 * Random-access bytes: a file in Node, a File/Blob in the browser, or memory. Readers go through this so
 * a multi-gigabyte bundle is never loaded whole.
 */
import { VigilError } from '../errors.ts';

export interface ByteSource {
  readonly size: number;
  /** Exactly `length` bytes at `offset`; callers guarantee offset + length ≤ size. */
  read(offset: number, length: number): Promise<Uint8Array>;
}

export function memorySource(bytes: Uint8Array): ByteSource {
  return { size: bytes.length, read: async (o, n) => bytes.subarray(o, o + n) };
}

/** A window [offset, offset + size) of another source (a file inside a bundle). */
export function sliceSource(src: ByteSource, offset: number, size: number): ByteSource {
  if (offset < 0 || size < 0 || offset + size > src.size) throw new RangeError('slice outside source');
  return { size, read: (o, n) => src.read(offset + o, n) };
}

/**
 * Sequential reader with a large read-ahead buffer: record-by-record parsing without a read call per
 * record. Never allocates more than asked for, and asks for nothing beyond the source's end.
 */
export class SequentialReader {
  private buf: Uint8Array = new Uint8Array(0);
  private bufStart = 0;
  private pos = 0;

  constructor(
    private readonly src: ByteSource,
    private readonly chunk = 4 * 1024 * 1024,
  ) {}

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.src.size - this.pos;
  }

  /** The next `n` bytes (a view that stays valid: buffers are replaced, never overwritten); E_TRUNCATED if fewer remain. */
  async take(n: number): Promise<Uint8Array> {
    if (n > this.remaining) {
      throw new VigilError('E_TRUNCATED', `needs ${n} bytes at offset ${this.pos} but only ${this.remaining} remain`);
    }
    const rel = this.pos - this.bufStart;
    if (rel + n <= this.buf.length) {
      this.pos += n;
      return this.buf.subarray(rel, rel + n);
    }
    if (n >= this.chunk) {
      const out = await this.src.read(this.pos, n);
      this.pos += n;
      return out;
    }
    const want = Math.min(Math.max(this.chunk, n), this.src.size - this.pos);
    this.buf = await this.src.read(this.pos, want);
    this.bufStart = this.pos;
    this.pos += n;
    return this.buf.subarray(0, n);
  }
}
