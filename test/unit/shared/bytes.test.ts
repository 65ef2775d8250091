import { describe, expect, it } from 'vitest';
import { fromBase64, fromHex, readU32, toBase64, toHex, u64, writeU32 } from '../../../shared/bytes.ts';

describe('bytes', () => {
  it('base64 round-trips every length and matches Node', () => {
    for (let n = 0; n < 70; n++) {
      const b = new Uint8Array(n).map((_, i) => (i * 37 + n) & 255);
      expect(toBase64(b)).toBe(Buffer.from(b).toString('base64'));
      expect(fromBase64(toBase64(b))).toEqual(b);
    }
  });

  it('base64 decoding is canonical: unused bits must be zero', () => {
    expect(() => fromBase64('AB==')).toThrow(/canonical/); // 'B' carries bits beyond the single byte
    expect(() => fromBase64('AAB=')).toThrow(/canonical/);
    expect(fromBase64('AA==')).toEqual(new Uint8Array([0]));
    expect(() => fromBase64('A===')).toThrow();
    expect(() => fromBase64('@AAA')).toThrow(/not a base64/);
  });

  it('hex and integers', () => {
    expect(toHex(fromHex('00ff10'))).toBe('00ff10');
    expect(() => fromHex('0g')).toThrow();
    const b = new Uint8Array(4);
    writeU32(b, 0, 0xdeadbeef);
    expect(readU32(b, 0)).toBe(0xdeadbeef);
    expect(toHex(u64(2 ** 40 + 5))).toBe('0000010000000005');
  });
});
