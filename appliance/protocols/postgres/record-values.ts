/**
 * How result values and bind parameters appear in the recording: masked in strict mode (the recording is
 * at least as strict as what the client gets, and the verifier re-scans it as strictly), security codes
 * redacted (MaskCounter.evidence), bounded, readable.
 */
import type { MaskCounter } from '../../pipeline/masking.ts';

/** Result values are evidence of what came back, not the data itself: a bounded prefix is enough. */
export const MAX_RECORDED_VALUE_CHARS = 256;
/** Bind parameters are part of the command that ran: recorded whole up to this, then prefix and length. */
export const MAX_RECORDED_PARAM_CHARS = 64 * 1024;
/** Error and notice texts longer than this are cut (commands themselves are recorded whole). */
export const MAX_RECORDED_MESSAGE_CHARS = 64 * 1024;

export function recordValue(v: Buffer | null, format: number, masks: MaskCounter | undefined, max = MAX_RECORDED_VALUE_CHARS): string | null {
  if (v === null) return null;
  if (format !== 0) return `<binary ${v.length} bytes>`;
  const text = v.toString('utf8');
  const masked = masks ? masks.evidence(text) : text;
  return masked.length > max ? `${masked.slice(0, max)}…[${masked.length} chars]` : masked;
}

/** A server message (error, notice, notification) as recorded: bounded. */
export function truncateMessage(text: string): string {
  if (text.length <= MAX_RECORDED_MESSAGE_CHARS) return text;
  return `${text.slice(0, MAX_RECORDED_MESSAGE_CHARS)}…[${text.length - MAX_RECORDED_MESSAGE_CHARS} more characters not recorded]`;
}
