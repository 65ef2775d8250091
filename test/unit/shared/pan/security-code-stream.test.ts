/** Security codes and PINs in byte streams: redacted like text, and held back across chunk boundaries. */
import { describe, expect, it } from 'vitest';
import { containsSecurityCodeBytes, maskCardDataBytes, redactSecurityCodesBytes, redactSecurityCodesBytesAfter } from '../../../../shared/pan/index.ts';
import { securityCodeHoldStart } from '../../../../shared/pan/security-code-hold.ts';
import { StreamMasker } from '../../../../appliance/pipeline/stream-masker.ts';

const te = new TextEncoder();
const mask = (b: Uint8Array, context: Uint8Array) => redactSecurityCodesBytesAfter(context, maskCardDataBytes(b, { strict: true }).bytes).bytes;
const stream = (chunks: Uint8Array[]) => {
  const m = new StreamMasker(mask);
  const parts = chunks.map((c) => Buffer.from(m.push(c)));
  return Buffer.concat([...parts, m.end()]).toString('latin1');
};

describe('security codes in byte streams', () => {
  it('redacts as the text rules do, leaving every other byte as it was (invalid UTF-8 included)', () => {
    expect(Buffer.from(redactSecurityCodesBytes(te.encode('card 4111 11** **** 1111 cvv: 123\n')).bytes).toString()).toBe('card 4111 11** **** 1111 cvv: [REDACTED CVV]\n');
    const raw = Buffer.concat([Buffer.from([0xff, 0xfe, 0x80]), Buffer.from(' "cvc2":"9876" \x00\x01')]);
    const out = Buffer.from(redactSecurityCodesBytes(raw).bytes);
    expect(out.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xfe, 0x80]));
    expect(out.toString('latin1').slice(3)).toBe(' "cvc2":"[REDACTED CVV]" \x00\x01');
    // A PIN keyword is weak: it needs a card number near.
    expect(redactSecurityCodesBytes(te.encode('PIN: 4711')).redacted).toBe(0);
    expect(redactSecurityCodesBytes(te.encode('card 555555******4444 PIN: 4711')).redacted).toBe(1);
    // Nothing to find: the same bytes back, not a copy.
    const plain = te.encode('version 1.2.3 build 456');
    expect(redactSecurityCodesBytes(plain).bytes).toBe(plain);
    expect(containsSecurityCodeBytes(te.encode('security code is 1234'))).toBe(true);
    expect(containsSecurityCodeBytes(te.encode('exit code 127'))).toBe(false);
  });

  it('redacts a code split across two chunks at every split point', () => {
    for (const line of ['order 7 cvv: 123 ok\n', 'card 4111111111111111 security code 1234\n', '{"card_cvc":"987"}\n', 'card 5555555555554444 PIN = 4711\r\n']) {
      const b = te.encode(line);
      const whole = stream([b]);
      expect(whole).toContain('[REDACTED');
      for (let i = 1; i < b.length; i++) expect(stream([b.subarray(0, i), b.subarray(i)]), `${JSON.stringify(line)} split at ${i}`).toBe(whole);
    }
  });

  it('holds back only a keyword (or its start) followed by gap characters, not ordinary text', () => {
    const hold = (s: string) => s.slice(securityCodeHoldStart(te.encode(s), s.length));
    expect(hold('the cvv: ')).toBe('cvv: ');
    expect(hold('enter your PIN')).toBe('PIN');
    expect(hold('card verif')).toBe('card verif');
    expect(hold('hello world\n')).toBe('');
    expect(hold('cvv: 123\nnext line')).toBe('');
  });
});
