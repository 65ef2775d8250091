/**
 * The masker tap's text helpers, shared by every protocol: card numbers become first 6 + last 4, track
 * data is removed, keyword-anchored security codes and PINs in free text are redacted from what is
 * recorded, and every rewrite is counted so the session can record how much was masked.
 */
import { maskCardData, maskCardDataBytes, maskEvidenceText, mayHoldDigit, redactSecurityCodes, redactSecurityCodesBytesAfter } from '../../shared/pan/index.ts';

export const REDACTED = '[REDACTED]';

export class MaskCounter {
  pan = 0;
  redacted = 0;
  /** Security codes and PINs redacted from free text (docs/pan-detection.md). */
  sad = 0;

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

  /**
   * What is recorded or shown as a command (its text, its parameters, recorded values): strict masking, then
   * keyword-anchored security codes and PINs redacted. Only for evidence and approvers, never for what goes
   * to the target or back to the client.
   */
  evidence(s: string): string {
    const r = maskEvidenceText(s);
    this.pan += r.masked;
    this.sad += r.redacted;
    return r.text;
  }

  /** Security codes and PINs of text already masked (the recorder's last pass over every string). */
  securityCodes(s: string): string {
    const r = redactSecurityCodes(s);
    this.sad += r.redacted;
    return r.text;
  }

  strictBytes(b: Uint8Array): Uint8Array {
    const r = maskCardDataBytes(b, { strict: true });
    this.pan += r.masked;
    return r.bytes;
  }

  /**
   * A piece of a terminal or command output stream: strict masking, then security codes and PINs redacted,
   * with `context` (the stream's masked bytes just before) read for a card number near a weak keyword.
   */
  streamBytes(b: Uint8Array, context: Uint8Array = new Uint8Array(0)): Uint8Array {
    if (!mayHoldDigit(b)) return b; // nothing to mask without a digit (bulk output: one pass instead of three)
    const r = maskCardDataBytes(b, { strict: true });
    this.pan += r.masked;
    const c = redactSecurityCodesBytesAfter(context, r.bytes);
    this.sad += c.redacted;
    return c.bytes;
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
    return this.pan + this.redacted + this.sad;
  }

  /** Moves the counts out (for one `masking` event) and starts again from zero; `sad` only when there were any. */
  take(): { pan: number; redacted: number; sad?: number } | undefined {
    if (this.total === 0) return undefined;
    const out = { pan: this.pan, redacted: this.redacted, ...(this.sad ? { sad: this.sad } : {}) };
    this.pan = this.redacted = this.sad = 0;
    return out;
  }
}
