/**
 * Reading one side of an scp exchange in protocol order: a byte, a line, or up to n bytes of file data,
 * each awaited. The stream is paused while more than HIGH_WATER bytes wait unread, so a fast sender cannot
 * grow the buffer without bound while the relay waits on a decision or a slow peer.
 */
import { ScpProtocolError } from './scp-protocol.ts';

const HIGH_WATER = 1 << 20;

export class ScpReader {
  private chunks: Buffer[] = [];
  private size = 0;
  private ended = false;
  private wake: (() => void) | undefined;

  constructor(private readonly from: NodeJS.ReadableStream) {
    from.on('data', (c: Buffer) => {
      this.chunks.push(c);
      this.size += c.length;
      if (this.size > HIGH_WATER) from.pause();
      this.notify();
    });
    const end = () => {
      this.ended = true;
      this.notify();
    };
    from.on('end', end);
    from.on('close', end);
    // The channel was paused until the relay started (scp-channel.ts): a 'data' listener alone does not resume it.
    from.resume();
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** Waits until something is buffered or the stream ended; false at the end with nothing left. */
  private async ready(): Promise<boolean> {
    while (this.size === 0) {
      if (this.ended) return false;
      await new Promise<void>((r) => (this.wake = r));
    }
    return true;
  }

  private take(n: number): Buffer {
    const out: Buffer[] = [];
    let want = n;
    while (want > 0 && this.chunks.length) {
      const c = this.chunks[0]!;
      if (c.length <= want) {
        out.push(c);
        this.chunks.shift();
        want -= c.length;
      } else {
        out.push(c.subarray(0, want));
        this.chunks[0] = c.subarray(want);
        want = 0;
      }
    }
    const b = out.length === 1 ? out[0]! : Buffer.concat(out);
    this.size -= b.length;
    if (this.size <= HIGH_WATER) this.from.resume();
    return b;
  }

  /** One byte, or null at the end of the stream. */
  async byte(): Promise<number | null> {
    if (!(await this.ready())) return null;
    return this.take(1)[0]!;
  }

  /**
   * Up to `max` bytes (at least one), or null at the end of the stream: all that is buffered, so a relay that
   * fell behind catches up in one step (one scan, one write) instead of one per channel packet.
   */
  async chunk(max: number): Promise<Buffer | null> {
    if (!(await this.ready())) return null;
    return this.take(Math.min(max, this.size));
  }

  /** A line without its newline; null at the end of the stream before any byte. Longer than `max`: a protocol error. */
  async line(max: number): Promise<Buffer | null> {
    const parts: Buffer[] = [];
    let length = 0;
    for (;;) {
      if (!(await this.ready())) {
        if (length === 0) return null;
        throw new ScpProtocolError('the scp stream ended inside a control line');
      }
      const c = this.chunks[0]!;
      const nl = c.indexOf(0x0a);
      const piece = this.take(nl < 0 ? c.length : nl + 1);
      length += piece.length;
      if (length > max + 1) throw new ScpProtocolError(`an scp control line longer than ${max} bytes`);
      if (nl >= 0) {
        parts.push(piece.subarray(0, piece.length - 1));
        return Buffer.concat(parts);
      }
      parts.push(piece);
    }
  }
}
