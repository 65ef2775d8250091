/**
 * Masks one output stream (an SSH exec's stdout or stderr, a Kubernetes pod's log) across chunk boundaries: a card number split between
 * two reads of the target is still masked, for the client and in the recording. It holds back only the
 * tail that could continue a card number — the trailing run of bytes strict mode can chain (digits, ASCII
 * punctuation, whitespace, and any non-ASCII byte, which may be a Unicode digit or space), and only if that
 * run holds a digit — and releases it with the next chunk or at the end of the stream. A run longer than
 * HOLD_MAX is cut, but never inside a card number found across the cut. What it cannot see: a track 1
 * split in its name field (the letters end the held run; the PAN before them is still masked).
 * Keyword-anchored security codes and PINs are redacted too (the mask function's job), and a keyword at the
 * end of a chunk is held back with what follows it (security-code-hold.ts), so `cvv: ` and `123` arriving
 * apart are still redacted. Strict mode throughout (docs/pan-detection.md): what the client gets is
 * exactly what is recorded.
 */
import { findCardData } from '../../shared/pan/index.ts';
import { securityCodeHoldStart } from '../../shared/pan/security-code-hold.ts';

/** How long a stream must be quiet before held keyword bytes are released (releaseIdle). */
export const IDLE_RELEASE_MS = 5;

/** Longest tail held back: beyond any card number or track with the separators real output has. */
export const HOLD_MAX = 256;

function chainable(b: number): boolean {
  // digits, ASCII punctuation, space/tab/CR/LF/VT/FF, and every non-ASCII byte (Unicode digits and spaces)
  return (b >= 0x21 && b <= 0x2f) || (b >= 0x30 && b <= 0x39) || (b >= 0x3a && b <= 0x40) || (b >= 0x5b && b <= 0x60) || (b >= 0x7b && b <= 0x7e) || b === 0x20 || (b >= 0x09 && b <= 0x0d) || b >= 0x80;
}

/** Released output kept as context: weak keywords and loose gaps need a card number this near (security-code.ts). */
export const CONTEXT_BYTES = 128;

const EMPTY = Buffer.alloc(0);

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

export class StreamMasker {
  private held: Buffer = Buffer.alloc(0);
  private context: Buffer = Buffer.alloc(0);

  /**
   * `mask` masks (and counts) a piece that no card number crosses the end of; `context` is the masked output
   * released just before it, for rules that look back (it must not be changed or returned).
   */
  constructor(private readonly mask: (b: Uint8Array, context: Uint8Array) => Uint8Array) {}

  private release(piece: Buffer): Buffer {
    // A view, not a copy: bulk output without a digit comes back from the mask function unchanged.
    const out = asBuffer(this.mask(piece, this.context));
    // Copied, so a large chunk is not kept alive by its last bytes.
    const both = out.length >= CONTEXT_BYTES ? out.subarray(out.length - CONTEXT_BYTES) : Buffer.concat([this.context, out]);
    this.context = Buffer.from(both.subarray(Math.max(0, both.length - CONTEXT_BYTES)));
    return out;
  }

  /** The bytes that can be released now, masked (possibly empty). */
  push(chunk: Uint8Array): Buffer {
    // The chunk itself when nothing is held (no copy per read); only the short held tail is ever copied.
    const buf = this.held.length ? Buffer.concat([this.held, chunk]) : asBuffer(chunk);
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
    // A keyword-anchored security code (`cvv: 123`) the next chunk may complete is held back too.
    cut = securityCodeHoldStart(buf, cut);
    // Copied: the caller's chunk is not kept alive (or read later) through what is held.
    this.held = cut === buf.length ? EMPTY : Buffer.from(buf.subarray(cut));
    return cut === 0 ? Buffer.alloc(0) : this.release(buf.subarray(0, cut));
  }

  /** The bytes held back now (not to be changed). */
  get heldBytes(): Buffer {
    return this.held;
  }

  /** Whether bytes are held back (the caller arms its idle timer: IDLE_RELEASE_MS). */
  get holding(): boolean {
    return this.held.length > 0;
  }

  /**
   * The stream went quiet with bytes held: what may be released now. Held bytes with no digit are only a
   * security-code keyword, or the start of one, waiting for the code (`c` could begin `cvv`): released, or
   * a shell prompt or a typed `c` would not show until the next output. Held digits stay held until more
   * output or the end of the stream, so a card number split by a pause is still masked whole. What this
   * gives up: a keyword and its code printed more than IDLE_RELEASE_MS apart are not redacted.
   */
  releaseIdle(): Buffer {
    if (this.held.length === 0 || this.held.some((b) => b >= 0x30 && b <= 0x39)) return Buffer.alloc(0);
    return this.end();
  }

  /** The end of the stream: everything still held, masked. */
  end(): Buffer {
    const rest = this.held;
    this.held = Buffer.alloc(0);
    return rest.length ? this.release(rest) : rest;
  }
}
