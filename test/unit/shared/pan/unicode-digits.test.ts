import { describe, expect, it } from 'vitest';
import { BMP_CLASS, ESCAPE, OTHER, WS_H, WS_V } from '../../../../shared/pan/strict-classes.ts';
import { astralDigitValue, decimalDigitRuns } from '../../../../shared/pan/unicode-digits.ts';

const nd = /^\p{Nd}$/u;

describe('decimal digits of every script', () => {
  it('are exactly the runtime’s \\p{Nd}, with values 0–9 from each zero', () => {
    const runs = decimalDigitRuns();
    const wrong: string[] = [];
    let count = 0;
    for (let cp = 0; cp <= 0x10ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const isNd = nd.test(String.fromCodePoint(cp));
      const v = cp <= 0xffff ? (BMP_CLASS[cp]! <= 9 ? BMP_CLASS[cp]! : -1) : astralDigitValue(cp);
      if (!isNd) {
        if (v >= 0) wrong.push(cp.toString(16));
        continue;
      }
      count++;
      const run = runs.find(([zero, n]) => cp >= zero && cp < zero + n);
      if (run === undefined || v !== (cp - run[0]) % 10) wrong.push(cp.toString(16));
    }
    expect(wrong).toEqual([]);
    expect(count).toBe(runs.reduce((a, [, n]) => a + n, 0));
  });

  it('include the scripts the penetration test used', () => {
    expect(BMP_CLASS[0xff14]).toBe(4); // full-width ４
    expect(BMP_CLASS[0x664]).toBe(4); // Arabic-Indic ٤
    expect(BMP_CLASS[0x6f4]).toBe(4); // Extended Arabic-Indic ۴
    expect(BMP_CLASS[0x96a]).toBe(4); // Devanagari ४
    expect(astralDigitValue(0x1d7d2)).toBe(4); // mathematical bold 𝟒
    expect(astralDigitValue(0x1d7fa)).toBe(4); // mathematical monospace 𝟺
    expect(astralDigitValue(0x1f600)).toBe(-1);
  });
});

describe('separator classes', () => {
  it('ASCII punctuation is its own kind; letters, digits and controls are not separators', () => {
    for (let c = 0; c < 0x80; c++) {
      const ch = String.fromCharCode(c);
      const cls = BMP_CLASS[c]!;
      if (/[0-9]/.test(ch)) expect(cls).toBe(c - 0x30);
      else if (c === 0x5c) expect(cls).toBe(ESCAPE);
      else if (/[!-/:-@[-`{-~]/.test(ch)) expect(cls, ch).toBe(c);
      else if (ch === ' ' || ch === '\t') expect(cls).toBe(WS_H);
      else if (ch === '\n' || ch === '\r') expect(cls).toBe(WS_V);
      else expect(cls, `0x${c.toString(16)}`).toBe(OTHER);
    }
  });

  it('Unicode spaces, invisible joiners and dash, dot and comma look-alikes join like their ASCII forms', () => {
    for (const ws of [0xa0, 0x2009, 0x202f, 0x3000, 0x200b, 0xfeff]) expect(BMP_CLASS[ws], ws.toString(16)).toBe(WS_H);
    for (const lb of [0x2028, 0x2029, 0x85]) expect(BMP_CLASS[lb]).toBe(WS_V);
    for (const dash of [0x2010, 0x2013, 0x2014, 0x2212, 0xff0d]) expect(BMP_CLASS[dash]).toBe(0x2d);
    expect(BMP_CLASS[0xff0e]).toBe(0x2e);
    expect(BMP_CLASS[0x66b]).toBe(0x2e); // Arabic decimal separator
    expect(BMP_CLASS[0x66c]).toBe(0x2c); // Arabic thousands separator
    expect(BMP_CLASS[0x2019]).toBe(0x27); // Swiss thousands apostrophe
    expect(BMP_CLASS[0xe9]).toBe(OTHER); // é
  });
});
