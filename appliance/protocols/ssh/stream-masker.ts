/**
 * Masks one output stream (an exec's stdout or stderr) across chunk boundaries: a card number split between
 * two reads of the target is still masked, for the client and in the recording. It holds back only the
 * tail that could continue a card number — the trailing run of bytes strict mode can chain (digits, ASCII
 * punctuation, whitespace, and any non-ASCII byte, which may be a Unicode digit or space), and only if that
 * run holds a digit — and releases it with the next chunk or at the end of the stream. A run longer than
 * HOLD_MAX is cut, but never inside a card number found across the cut. What it cannot see: a track 1
 * split in its name field (the letters end the held run; the PAN before them is still masked).
 * Strict mode throughout (docs/pan-detection.md): what the client gets is exactly what is recorded.
 */
import { findCardData } from '../../../shared/pan/index.ts';

/** Longest tail held back: beyond any card number or track with the separators real output has. */
export const HOLD_MAX = 256;

function chainable(b: number): boolean {
  // digits, ASCII punctuation, space/tab/CR/LF/VT/FF, and every non-ASCII byte (Unicode digits and spaces)
  return (b >= 0x21 && b <= 0x2f) || (b >= 0x30 && b <= 0x39) || (b >= 0x3a && b <= 0x40) || (b >= 0x5b && b <= 0x60) || (b >= 0x7b && b <= 0x7e) || b === 0x20 || (b >= 0x09 && b <= 0x0d) || b >= 0x80;
}

export class StreamMasker {
  private held: Buffer = Buffer.alloc(0);

  /** `mask` masks (and counts) a piece that no card number crosses the end of. */
  constructor(private readonly mask: (b: Uint8Array) => Uint8Array) {}

  /** The bytes that can be released now, masked (possibly empty). */
  push(chunk: Uint8Array): Buffer {
    const buf = this.held.length ? Buffer.concat([this.held, chunk]) : Buffer.from(chunk);
    let start = buf.length;
    let digit = false;
    while (start > 0 && chainable(buf[start - 1]!)) {
      start--;
      if (buf[start]! >= 0x30 && buf[start]! <= 0x39) digit = true;
    }
    let cut = digit || start < buf.length - HOLD_MAX ? start : buf.length;
    if (cut < buf.length - HOLD_MAX) {
      cut = buf.length - HOLD_MAX;
      for (const m of findCardData(buf, { strict: true })) if (m.start < cut && m.end > cut) cut = m.start;
    }
    this.held = buf.subarray(cut);
    return cut === 0 ? Buffer.alloc(0) : Buffer.from(this.mask(buf.subarray(0, cut)));
  }

  /** The end of the stream: everything still held, masked. */
  end(): Buffer {
    const rest = this.held;
    this.held = Buffer.alloc(0);
    return rest.length ? Buffer.from(this.mask(rest)) : rest;
  }
}
