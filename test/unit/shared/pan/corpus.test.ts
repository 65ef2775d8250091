import { describe, expect, it } from 'vitest';
import { brandOf, containsCardData, findCardData, luhnValid } from '../../../../shared/pan/index.ts';
import type { CardBrand, CardDataMatch } from '../../../../shared/pan/index.ts';
import { BRAND_TABLE, fixture, generatePan, group, rng, utf8 } from './helpers.ts';

const publicPans = fixture<{ pans: { pan: string; brand: CardBrand }[] }>('public-test-pans.json').pans;
const negatives = fixture<{ cases: { why: string; text: string; digits?: string }[] }>('hard-negatives.json').cases;

/** Finds in both representations and checks they agree (the texts here are ASCII). */
function find(text: string): CardDataMatch[] {
  const fromText = findCardData(text);
  expect(findCardData(utf8(text)), text).toEqual(fromText);
  expect(containsCardData(text), text).toBe(fromText.length > 0);
  expect(containsCardData(utf8(text)), text).toBe(fromText.length > 0);
  return fromText;
}

function expectOnePan(text: string, pan: string, brand: CardBrand): void {
  const start = text.indexOf(pan);
  expect(start, `${pan} in ${text}`).toBeGreaterThanOrEqual(0);
  expect(find(text), text).toEqual([{ start, end: start + pan.length, kind: 'pan', brand }]);
}

// Every brand × every length, plain, spaced and dashed, at the start, in the middle and at the end of a text.
const generated: { pan: string; brand: CardBrand }[] = [];
{
  const rand = rng(7);
  for (const [brand, { prefixes, lengths }] of Object.entries(BRAND_TABLE) as [CardBrand, (typeof BRAND_TABLE)[CardBrand]][]) {
    for (const length of lengths) for (const prefix of prefixes) generated.push({ pan: generatePan(prefix, length, rand), brand });
  }
}

describe('true PANs', () => {
  it('the generated corpus covers every brand and length of PCI.md', () => {
    const seen = new Set(generated.map(({ pan, brand }) => `${brand}:${pan.length}`));
    let expected = 0;
    for (const { lengths } of Object.values(BRAND_TABLE)) expected += lengths.length;
    expect(seen.size).toBe(expected);
    for (const { pan, brand } of generated) {
      expect(luhnValid(pan), pan).toBe(true);
      expect(brandOf(pan), pan).toBe(brand);
    }
  });

  for (const [name, corpus] of [
    ['published test numbers', publicPans],
    ['generated numbers', generated],
  ] as const) {
    it(`finds the ${name} plain, spaced and dashed, anywhere in a text`, () => {
      for (const { pan, brand } of corpus) {
        for (const written of [pan, group(pan, ' '), group(pan, '-')]) {
          expectOnePan(written, written, brand);
          expectOnePan(`card: ${written}`, written, brand);
          expectOnePan(`${written} was declined`, written, brand);
          expectOnePan(`{"pan":"${written}","amount":12.5}`, written, brand);
        }
      }
    });
  }

  it('finds PANs between common delimiters and escapes', () => {
    const pan = '4111111111111111';
    for (const text of [
      `pan=${pan}&exp=1225`,
      `(${pan})`,
      `'${pan}'`,
      `a,${pan},b`,
      `a;${pan};b`,
      `line\n${pan}\n`,
      `json "note":"card\\n${pan}\\tok"`,
      `q=card%3D${pan}`,
      `q=card%20${pan}`,
      `card-${pan}`,
      `end of sentence ${pan}.`,
      `2026-11-29 18:41:32 ${pan} 12/25`,
      `/v1/cards/${pan}/tokens`,
    ]) {
      expectOnePan(text, pan, 'visa');
    }
  });

  it('takes a space-grouped PAN out of the numbers around it', () => {
    expectOnePan('4111 1111 1111 1111 12 25 123', '4111 1111 1111 1111', 'visa');
    expectOnePan('18:41:32 4111 1111 1111 1111 2026', '4111 1111 1111 1111', 'visa');
    expectOnePan('VISA 4111 1111 1111 1111', '4111 1111 1111 1111', 'visa');
    expectOnePan('3782 822463 10005 1225', '3782 822463 10005', 'amex');
    // 19 digits when the fifth group makes a valid 19-digit PAN, else the first 16.
    expectOnePan('4000 0000 0000 0000 006', '4000 0000 0000 0000 006', 'visa');
    expectOnePan('4111 1111 1111 1111 007', '4111 1111 1111 1111', 'visa');
  });

  it('does not start a space-grouped PAN inside a longer grouped number, but after a matched one', () => {
    expect(find('ref 3058 6238 3480 6050')).toEqual([]); // 6238 3480 6050 alone would be a Maestro PAN
    expect(find('ref 6238 3480 6050')).toEqual([{ start: 4, end: 18, kind: 'pan', brand: 'maestro' }]);
    expect(find('4111 1111 1111 1111 5555 5555 5555 4444')).toEqual([
      { start: 0, end: 19, kind: 'pan', brand: 'visa' },
      { start: 20, end: 39, kind: 'pan', brand: 'mastercard' },
    ]);
  });

  it('finds several PANs in order, without overlap', () => {
    const text = '4111111111111111 5555-5555-5555-4444,378282246310005;6011 1111 1111 1117';
    expect(find(text)).toEqual([
      { start: 0, end: 16, kind: 'pan', brand: 'visa' },
      { start: 17, end: 36, kind: 'pan', brand: 'mastercard' },
      { start: 37, end: 52, kind: 'pan', brand: 'amex' },
      { start: 53, end: 72, kind: 'pan', brand: 'discover' },
    ]);
  });
});

describe('hard negatives', () => {
  it('the fixture cases with digits really hold a Luhn-valid number', () => {
    for (const { text, digits } of negatives) {
      if (digits === undefined) continue;
      expect(luhnValid(digits), digits).toBe(true);
      expect(text.replace(/[ .-]/g, '').includes(digits), text).toBe(true);
    }
  });

  it('finds nothing in any of them', () => {
    for (const { why, text } of negatives) expect(find(text), `${why}: ${text}`).toEqual([]);
  });

  it('still finds the PAN once the context that made it a negative is gone', () => {
    // The negatives fail because of the rules, not because of the digits.
    expectOnePan('card 5555 5555 5555 4444 189', '5555 5555 5555 4444', 'mastercard');
    expectOnePan('x 4111111111111111', '4111111111111111', 'visa');
    expectOnePan('score 4532015112830366', '4532015112830366', 'visa');
    expectOnePan('total 4111111111111111. Thanks', '4111111111111111', 'visa');
  });

  it('rejects Luhn-failing numbers of every brand and length', () => {
    for (const { pan } of generated) {
      const bad = pan.slice(0, -1) + String((Number(pan.at(-1)) + 5) % 10);
      expect(find(`card ${bad} and ${group(bad, '-')}`), bad).toEqual([]);
      // Spaced, a 17–19 digit number's first four groups are a PAN of their own when they pass.
      const spaced = group(bad, ' ');
      const head16 = bad.slice(0, 16);
      const expected =
        bad.length > 16 && luhnValid(head16) && brandOf(head16) !== undefined
          ? [{ start: 0, end: 19, kind: 'pan', brand: brandOf(head16) }]
          : [];
      expect(find(spaced), spaced).toEqual(expected);
    }
  });

  it('keeps a long text of dates, ids and amounts free of matches', () => {
    const rand = rng(99);
    const int = (max: number) => Math.floor(rand() * max);
    let text = '';
    for (let i = 0; i < 2000; i++) {
      text += `2026-${String(1 + int(12)).padStart(2, '0')}-${String(1 + int(28)).padStart(2, '0')} `;
      text += `id=${int(1e9)} amount=${int(1e6)}.${String(int(100)).padStart(2, '0')} ts=${1764441692123 + int(1e9)} `;
      text += `ip=10.${int(256)}.${int(256)}.${int(256)} v${int(9)}.${int(99)}.${int(999)}\n`;
    }
    expect(find(text)).toEqual([]);
  });
});
