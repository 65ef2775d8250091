/**
 * The verifier's re-scan flags a clear keyword-anchored security code (or PIN) in recorded content like a
 * clear PAN, with the same rules the recorder redacts by (docs/pan-detection.md), and says which keyword
 * anchored it, never the code.
 */
import { describe, expect, it } from 'vitest';
import { utf8 } from '../../../../shared/bytes.ts';
import type { EvidenceEvent } from '../../../../shared/evidence/events.ts';
import { rescanFrame } from '../../../../shared/evidence/verify/pan-rescan.ts';

const ev = (seq: number, o: Record<string, unknown>): EvidenceEvent => ({ seq, t: seq, type: 'command', ...o });
const scan = (events: EvidenceEvent[]) => rescanFrame(utf8(JSON.stringify(events)), events);
const kinds = (events: EvidenceEvent[]) => scan(events).map((f) => f.match.kind);

describe('re-scan of keyword-anchored security codes', () => {
  it('flags a clear code next to a masked card number in a command text, and in its parameters', () => {
    expect(kinds([ev(0, { id: 1, kind: 'sql', text: "UPDATE customers SET note = 'card 4111 11** **** 1111 cvv 123' WHERE id = 2" })])).toEqual(['security-code']);
    expect(kinds([ev(0, { id: 1, kind: 'sql', text: 'UPDATE t SET note = $1', params: ['card 4111 11** **** 1111, cid 1234'] })])).toEqual(['security-code']);
  });

  it('flags an obvious code anywhere in recorded strings, a PIN only near a card number', () => {
    expect(kinds([ev(0, { type: 'result', command: 1, rows: [['x', 'cvv: 987']] })])).toEqual(['security-code']);
    expect(kinds([ev(0, { type: 'notice', message: 'card 411111******1111 pin 4321' })])).toEqual(['pin']);
    expect(kinds([ev(0, { type: 'notice', message: 'pin 4321' })])).toEqual([]);
  });

  it('names the keyword and where the code is, which the report turns into a finding without the digits', () => {
    const [f] = scan([ev(0, { id: 1, kind: 'sql', text: 'x CVV2: 123' })]);
    expect(f?.match).toMatchObject({ kind: 'security-code', keyword: 'CVV2' });
  });

  it('passes what the recorder writes: the code redacted', () => {
    expect(scan([ev(0, { id: 1, kind: 'sql', text: "UPDATE customers SET note = 'card 4111 11** **** 1111 cvv [REDACTED CVV]' WHERE id = 2" })])).toEqual([]);
  });

  it('skips the identifiers Vigil generates, as for card numbers', () => {
    expect(scan([ev(0, { type: 'approval.requested', requestId: 'apr_abcd_cvv-123', commandHash: 'a'.repeat(64) })])).toEqual([]);
    expect(kinds([ev(0, { type: 'approval.requested', requestId: 'apr_x cvv: 123' })])).toEqual(['security-code']);
  });

  it('flags a clear code in the bytes of terminal and command streams (output, input), not in other raw bytes', () => {
    const frame = (events: EvidenceEvent[]) => rescanFrame(new Uint8Array(0), events).map((f) => f.match.kind);
    expect(frame([ev(0, { type: 'output', channel: 0, stream: 'stdout', data: utf8('order cvv: 123\n') })])).toEqual(['security-code']);
    expect(frame([ev(0, { type: 'input', channel: 0, stream: 'stdin', data: utf8('card 411111******1111 pin 4321') })])).toEqual(['pin']);
    expect(frame([ev(0, { type: 'output', channel: 0, stream: 'stdout', data: utf8('order cvv: [REDACTED CVV]\n') })])).toEqual([]);
    // Invalid UTF-8 is read byte for byte: the code is still found.
    expect(frame([ev(0, { type: 'output', channel: 0, stream: 'stdout', data: new Uint8Array([0xff, ...utf8(' cvc2=987')]) })])).toEqual(['security-code']);
    // Raw bytes of another event type: card numbers only (no recorder redacts codes in them).
    expect(frame([ev(0, { type: 'notice', command: 1, data: utf8('x\tcvv: 123\n') })])).toEqual([]);
  });
});
