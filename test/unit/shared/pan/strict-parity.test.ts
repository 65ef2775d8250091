import { describe, expect, it } from 'vitest';
import { containsCardData, findCardData, maskCardData, maskCardDataBytes } from '../../../../shared/pan/index.ts';
import type { CardDataMatch } from '../../../../shared/pan/index.ts';
import { rng, utf8 } from './helpers.ts';
import { strictSoup } from './soup.ts';
import { referenceStrict } from './strict-reference.ts';

const STRICT = { strict: true } as const;
const decode = (b: Uint8Array) => new TextDecoder('utf-8', { fatal: true }).decode(b);

/** UTF-16 offset of every UTF-8 byte offset that starts a character of `text`. */
function byteToText(text: string): Map<number, number> {
  const map = new Map<number, number>();
  let b = 0;
  for (let i = 0; i <= text.length; ) {
    map.set(b, i);
    if (i === text.length) break;
    const cp = text.codePointAt(i)!;
    b += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    i += cp > 0xffff ? 2 : 1;
  }
  return map;
}

function bytesAsText(text: string, bytes: Uint8Array): CardDataMatch[] {
  const map = byteToText(text);
  return findCardData(bytes, STRICT).map((m) => ({ ...m, start: map.get(m.start)!, end: map.get(m.end)! }));
}

const soups = (seed: number, rounds: number, max: number) => {
  const rand = rng(seed);
  return Array.from({ length: rounds }, () => strictSoup(rand, 20 + Math.floor(rand() * max)));
};

describe('strict mode: scanners, reference and normal mode agree', () => {
  it('the string scan finds what the reference implementation finds', () => {
    let total = 0;
    for (const text of soups(4242, 400, 500)) {
      const expected = referenceStrict(text);
      total += expected.length;
      expect(findCardData(text, STRICT), JSON.stringify(text)).toEqual(expected);
    }
    expect(total).toBeGreaterThan(1500);
  });

  it('the byte scan agrees with the string scan, at every alignment, and matches are ordered and disjoint', () => {
    for (const text of soups(77, 300, 400)) {
      const expected = findCardData(text, STRICT);
      for (let k = 1; k < expected.length; k++) expect(expected[k]!.start).toBeGreaterThanOrEqual(expected[k - 1]!.end);
      const bytes = utf8(text);
      for (let offset = 0; offset < 4; offset++) {
        const buffer = new Uint8Array(bytes.length + 8).fill(0x0a);
        buffer.set(bytes, offset);
        expect(bytesAsText(text, buffer.subarray(offset, offset + bytes.length)), JSON.stringify(text)).toEqual(expected);
      }
      expect(containsCardData(text, STRICT)).toBe(expected.length > 0);
      expect(containsCardData(bytes, STRICT)).toBe(expected.length > 0);
    }
  });

  it('covers everything normal mode finds', () => {
    for (const text of soups(2027, 300, 400)) {
      const strict = findCardData(text, STRICT);
      for (const m of findCardData(text)) {
        expect(
          strict.some((s) => s.start <= m.start && s.end >= m.end),
          `${JSON.stringify(text.slice(m.start, m.end))} in ${JSON.stringify(text)}`,
        ).toBe(true);
      }
    }
  });

  it('masks the same way in strings and bytes, and masking again finds nothing', () => {
    for (const text of soups(99, 300, 400)) {
      const r = maskCardData(text, STRICT);
      expect(decode(maskCardDataBytes(utf8(text), STRICT).bytes), JSON.stringify(text)).toBe(r.text);
      expect(findCardData(r.text, STRICT), JSON.stringify(r.text)).toEqual([]);
      expect(maskCardData(r.text, STRICT).text).toBe(r.text);
    }
  });

  it('survives malformed UTF-8 and reads it as a decoder would', () => {
    const rand = rng(5);
    for (let round = 0; round < 200; round++) {
      const bytes = utf8(strictSoup(rand, 200));
      for (let k = 0; k < 8; k++) bytes[Math.floor(rand() * bytes.length)] = 0x80 + Math.floor(rand() * 0x80);
      const text = new TextDecoder().decode(bytes);
      // U+FFFD is no digit nor separator, like each malformed byte, so a chain sees the same breaks.
      const fromBytes = findCardData(bytes, STRICT).length;
      expect(fromBytes).toBe(findCardData(text, STRICT).length);
      maskCardDataBytes(bytes, STRICT);
    }
  });

  it('cuts very long chains without losing what lies within them', () => {
    // 0 0 0 …: no window starts there, so only the two inserted PANs (with zeros they glue to) are found; the
    // second lies past the first cut.
    const zeros = '0 '.repeat(3000);
    const pan = '4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1';
    const text = `${zeros}${pan} ${zeros}${pan} ${zeros}`;
    const found = findCardData(text, STRICT).map((m) => text.slice(m.start, m.end));
    expect(found).toHaveLength(2);
    for (const f of found) expect(f.startsWith(pan), f).toBe(true);
  });
});

describe('mayHoldDigit: the fast path of stream masking', () => {
  it('bytes it calls digit-free hold nothing any masker finds, however they combine into characters', async () => {
    const { mayHoldDigit, findSecurityCodesBytes } = await import('../../../../shared/pan/index.ts');
    const alphabet = [...Array(256).keys()].filter((c) => !mayHoldDigit(Uint8Array.of(c)));
    // Every byte that can start a UTF-8 sequence without a digit in its range is in the alphabet, continuation bytes too.
    expect(alphabet.length).toBeGreaterThan(200);
    const r = rng(4242);
    const words = utf8('cvv: pin code security CVC card verification ');
    for (let round = 0; round < 400; round++) {
      const b = new Uint8Array(64 + Math.floor(r() * 400));
      for (let i = 0; i < b.length; i++) b[i] = r() < 0.2 ? words[Math.floor(r() * words.length)]! : alphabet[Math.floor(r() * alphabet.length)]!;
      expect(mayHoldDigit(b)).toBe(false);
      expect(findCardData(b, STRICT)).toEqual([]);
      expect(findSecurityCodesBytes(b).matches).toEqual([]);
    }
    expect(mayHoldDigit(utf8('fullwidth ４'))).toBe(true);
    expect(mayHoldDigit(utf8('arabic-indic ٤'))).toBe(true);
    expect(mayHoldDigit(utf8('math 𝟒'))).toBe(true);
  });

  it('four bytes at a time, it finds one digit-starting byte at any position and alignment (the byte-by-byte answer)', async () => {
    const { mayHoldDigit } = await import('../../../../shared/pan/index.ts');
    const single = (c: number) => mayHoldDigit(Uint8Array.of(c));
    const clean = [...Array(256).keys()].filter((c) => !single(c));
    const starts = [...Array(256).keys()].filter(single);
    const r = rng(77);
    const backing = new Uint8Array(600);
    for (let round = 0; round < 3000; round++) {
      const offset = Math.floor(r() * 8);
      const len = Math.floor(r() * 70);
      const b = backing.subarray(offset, offset + len);
      for (let i = 0; i < len; i++) b[i] = clean[Math.floor(r() * clean.length)]!;
      expect(mayHoldDigit(b)).toBe(false);
      if (len === 0) continue;
      const at = Math.floor(r() * len);
      b[at] = starts[Math.floor(r() * starts.length)]!;
      expect(mayHoldDigit(b)).toBe(true);
    }
  });
});
