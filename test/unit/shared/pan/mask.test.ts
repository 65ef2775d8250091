import { describe, expect, it } from 'vitest';
import { findCardData, maskCardData, maskCardDataBytes, TRACK_REDACTION } from '../../../../shared/pan/index.ts';
import { byteOffset, utf8 } from './helpers.ts';

const decode = (b: Uint8Array) => new TextDecoder('utf-8', { fatal: true }).decode(b);

/** Masks both ways and checks that bytes and text agree. */
function mask(text: string): { text: string; masked: number } {
  const r = maskCardData(text);
  const rb = maskCardDataBytes(utf8(text));
  expect(decode(rb.bytes), text).toBe(r.text);
  expect(rb.masked).toBe(r.masked);
  return r;
}

describe('maskCardData', () => {
  it('keeps first 6 and last 4, and the separators in place', () => {
    expect(mask('4111111111111111')).toEqual({ text: '411111******1111', masked: 1 });
    expect(mask('4111 1111 1111 1111')).toEqual({ text: '4111 11** **** 1111', masked: 1 });
    expect(mask('4111-1111-1111-1111')).toEqual({ text: '4111-11**-****-1111', masked: 1 });
    expect(mask('3782 822463 10005')).toEqual({ text: '3782 82**** *0005', masked: 1 });
    expect(mask('3056 930902 5904')).toEqual({ text: '3056 93**** 5904', masked: 1 });
    expect(mask('4000 0000 0000 0000 006')).toEqual({ text: '4000 00** **** ***0 006', masked: 1 });
    expect(mask('5018 0000 0009')).toEqual({ text: '5018 00** 0009', masked: 1 });
  });

  it('masks every PAN of a text and leaves the rest untouched', () => {
    const text = 'visa=4111111111111111, mc=5555 5555 5555 4444; order 4532015112830367 on 2026-11-29';
    expect(mask(text)).toEqual({
      text: 'visa=411111******1111, mc=5555 55** **** 4444; order 4532015112830367 on 2026-11-29',
      masked: 2,
    });
  });

  it('masks at the very start and the very end of the input', () => {
    expect(mask('4111111111111111 and 5555555555554444')).toEqual({
      text: '411111******1111 and 555555******4444',
      masked: 2,
    });
  });

  it('replaces whole tracks', () => {
    expect(mask('t2=;4111111111111111=25121010000000000000? ok')).toEqual({
      text: `t2=${TRACK_REDACTION} ok`,
      masked: 1,
    });
    expect(mask('%B4111111111111111^DOE/JOHN^2512101000000000000000000?')).toEqual({
      text: TRACK_REDACTION,
      masked: 1,
    });
    expect(TRACK_REDACTION).toBe('[REDACTED TRACK DATA]');
  });

  it('returns the same string instance when there is nothing to mask', () => {
    const text = ['no card here: 2026-11-29 18:41:32, order ', 4532015112830367, ' €12.50'].join('');
    const r = maskCardData(text);
    expect(r.text).toBe(text);
    expect(r.masked).toBe(0);
    expect(maskCardData('').text).toBe('');
  });
});

describe('maskCardDataBytes', () => {
  it('returns the same Uint8Array when there is nothing to mask, and never writes to its input', () => {
    const clean = utf8('nothing to see: 0.4532015112830366 1234-5678');
    expect(maskCardDataBytes(clean).bytes).toBe(clean);
    const dirty = utf8('pan 4111111111111111');
    const copy = dirty.slice();
    const r = maskCardDataBytes(dirty);
    expect(r.bytes).not.toBe(dirty);
    expect(dirty).toEqual(copy);
    expect(decode(r.bytes)).toBe('pan 411111******1111');
  });

  it('works on a view into a larger buffer, at any alignment', () => {
    const text = `Zoë Müller · carte ${'x'.repeat(70)} 4111 1111 1111 1111 · 山田 ;5555555555554444=26121010000000000000?`;
    const bytes = utf8(text);
    for (let offset = 0; offset < 4; offset++) {
      const buffer = new Uint8Array(bytes.length + 8);
      buffer.set(bytes, offset);
      const view = buffer.subarray(offset, offset + bytes.length);
      const r = maskCardDataBytes(view);
      expect(decode(r.bytes)).toBe(maskCardData(text).text);
      expect(r.masked).toBe(2);
    }
  });

  it('reports byte offsets after multi-byte characters, and masks there', () => {
    const text = 'Zoë 山田 😀 paid 4111111111111111 — ok';
    const start = text.indexOf('4111');
    expect(findCardData(text)).toEqual([{ start, end: start + 16, kind: 'pan', brand: 'visa' }]);
    const b = byteOffset(text, start);
    expect(b).toBeGreaterThan(start);
    expect(findCardData(utf8(text))).toEqual([{ start: b, end: b + 16, kind: 'pan', brand: 'visa' }]);
    expect(decode(maskCardDataBytes(utf8(text)).bytes)).toBe('Zoë 山田 😀 paid 411111******1111 — ok');
  });
});
