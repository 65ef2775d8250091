/**
 * The recorder's last pass: every string of an event loses its keyword-anchored security codes and PINs, but
 * the identifiers Vigil generates and raw data; an event with nothing to redact is recorded as given.
 */
import { describe, expect, it } from 'vitest';
import { redactEventStrings } from '../../../../appliance/pipeline/recorded-text.ts';
import { redactSecurityCodes } from '../../../../shared/pan/index.ts';

const redact = (s: string) => redactSecurityCodes(s).text;

describe('redactEventStrings', () => {
  it('redacts codes in every string, nested in arrays and objects', () => {
    const ev = { type: 'error', message: 'bad value "cvv: 123"', detail: { lines: ['ok', 'card 411111******1111 cid 1234'] }, count: 2 };
    expect(redactEventStrings(ev, redact)).toEqual({
      type: 'error',
      message: 'bad value "cvv: [REDACTED CVV]"',
      detail: { lines: ['ok', 'card 411111******1111 cid [REDACTED CVV]'] },
      count: 2,
    });
    expect(ev.message, 'the input is not modified').toBe('bad value "cvv: 123"');
  });

  it('gives back the same event when there is nothing, and leaves identifiers of their form and data bytes alone', () => {
    const plain = { type: 'command', text: 'SELECT 1', params: ['a'] };
    expect(redactEventStrings(plain, redact)).toBe(plain);
    const data = new TextEncoder().encode('cvv 123');
    const ev = { type: 'approval.requested', requestId: 'apr_abcd_cvv-123', data, statement: 'x cvv 123' };
    const out = redactEventStrings(ev, redact);
    expect(out).toEqual({ ...ev, statement: 'x cvv [REDACTED CVV]' });
    expect(out.data).toBe(data);
    expect(redactEventStrings({ requestId: 'apr_x cvv: 123' }, redact)).toEqual({ requestId: 'apr_x cvv: [REDACTED CVV]' });
  });
});
