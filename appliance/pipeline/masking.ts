/**
 * The masker tap's text helpers, shared by every protocol: card numbers become first 6 + last 4, track
 * data is removed, and every rewrite is counted so the session can record how much was masked.
 */
import { maskCardData, maskCardDataBytes } from '../../shared/pan/index.ts';

export const REDACTED = '[REDACTED]';

export class MaskCounter {
  pan = 0;
  redacted = 0;

  text(s: string): string {
    const r = maskCardData(s);
    this.pan += r.masked;
    return r.text;
  }

  /**
   * Strict mode (docs/pan-detection.md): digits glued to letters or digits, any consistent separator,
   * non-ASCII digits. For everything written to evidence, and for server messages (errors, notices,
   * notifications), where a value can be echoed in any form.
   */
  strict(s: string): string {
    const r = maskCardData(s, { strict: true });
    this.pan += r.masked;
    return r.text;
  }

  strictBytes(b: Uint8Array): Uint8Array {
    const r = maskCardDataBytes(b, { strict: true });
    this.pan += r.masked;
    return r.bytes;
  }

  bytes(b: Uint8Array): Uint8Array {
    const r = maskCardDataBytes(b);
    this.pan += r.masked;
    return r.bytes;
  }

  redact(): string {
    this.redacted++;
    return REDACTED;
  }

  get total(): number {
    return this.pan + this.redacted;
  }

  /** Moves the counts out (for one `masking` event) and starts again from zero. */
  take(): { pan: number; redacted: number } | undefined {
    if (this.total === 0) return undefined;
    const out = { pan: this.pan, redacted: this.redacted };
    this.pan = this.redacted = 0;
    return out;
  }
}
