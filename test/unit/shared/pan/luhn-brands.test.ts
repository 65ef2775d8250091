import { describe, expect, it } from 'vitest';
import { brandOf, luhnValid, maskPanDigits } from '../../../../shared/pan/index.ts';
import { BRAND_TABLE, fixture, generatePan, rng, withCheckDigit } from './helpers.ts';
import type { CardBrand } from '../../../../shared/pan/index.ts';

const publicPans = fixture<{ pans: { pan: string; brand: CardBrand }[] }>('public-test-pans.json').pans;

describe('luhnValid', () => {
  it('accepts the published test numbers and rejects each with its last digit changed', () => {
    for (const { pan } of publicPans) {
      expect(luhnValid(pan), pan).toBe(true);
      const last = Number(pan.at(-1));
      expect(luhnValid(pan.slice(0, -1) + String((last + 1) % 10)), pan).toBe(false);
    }
  });

  it('catches a swap of adjacent digits and rejects non-digits and the empty string', () => {
    expect(luhnValid('79927398713')).toBe(true);
    expect(luhnValid('79927398731')).toBe(false);
    expect(luhnValid('')).toBe(false);
    expect(luhnValid('4111 1111 1111 1111')).toBe(false);
    expect(luhnValid('411111111111111a')).toBe(false);
  });
});

describe('brandOf', () => {
  it('names every published test number', () => {
    for (const { pan, brand } of publicPans) expect(brandOf(pan), pan).toBe(brand);
  });

  it('knows every brand at every length PCI.md lists, and no other length', () => {
    const rand = rng(42);
    for (const [brand, { prefixes, lengths }] of Object.entries(BRAND_TABLE) as [CardBrand, (typeof BRAND_TABLE)[CardBrand]][]) {
      for (const prefix of prefixes) {
        for (let length = 12; length <= 19; length++) {
          const pan = generatePan(prefix, length, rand);
          const got = brandOf(pan);
          if (lengths.includes(length)) expect(got, pan).toBe(brand);
          // Maestro's 50/56–69 range is the fallback for other lengths of a 6… or 5[06-9] prefix.
          else if (brand !== 'maestro') expect(got === brand, pan).toBe(false);
        }
      }
    }
  });

  it('draws the range edges exactly', () => {
    const at = (prefix: string, length = 16) => brandOf(withCheckDigit(prefix.padEnd(length - 1, '0')));
    expect(at('2220')).toBeUndefined();
    expect(at('2221')).toBe('mastercard');
    expect(at('2720')).toBe('mastercard');
    expect(at('2721')).toBeUndefined();
    expect(at('50')).toBe('maestro');
    expect(at('51')).toBe('mastercard');
    expect(at('55')).toBe('mastercard');
    expect(at('5600')).toBe('maestro');
    expect(at('3527')).toBeUndefined();
    expect(at('3528')).toBe('jcb');
    expect(at('3589')).toBe('jcb');
    expect(at('3590')).toBeUndefined();
    expect(at('306', 14)).toBeUndefined();
    expect(at('305', 14)).toBe('diners');
    expect(at('643')).toBe('maestro');
    expect(at('644')).toBe('discover');
    expect(at('6011', 17)).toBe('maestro');
    expect(at('62', 13)).toBe('maestro');
    expect(at('62', 14)).toBe('unionpay');
    expect(at('1')).toBeUndefined();
    expect(at('7')).toBeUndefined();
    expect(at('8')).toBeUndefined();
    expect(at('9')).toBeUndefined();
  });

  it('does not check Luhn, and refuses anything but 12–19 digits', () => {
    expect(brandOf('4111111111111112')).toBe('visa');
    expect(brandOf('41111111111')).toBeUndefined();
    expect(brandOf('41111111111111111111')).toBeUndefined();
    expect(brandOf('4111-1111-1111-1111')).toBeUndefined();
  });
});

describe('maskPanDigits', () => {
  it('keeps the first 6 and last 4 at every length', () => {
    expect(maskPanDigits('4111111111111111')).toBe('411111******1111');
    expect(maskPanDigits('378282246310005')).toBe('378282*****0005');
    expect(maskPanDigits('501800000009')).toBe('501800**0009');
    expect(maskPanDigits('4000000000000000006')).toBe('400000*********0006');
  });

  it('throws on anything that is not 12–19 digits', () => {
    for (const bad of ['41111111111', '41111111111111111111', '4111 1111 1111 1111', '']) {
      expect(() => maskPanDigits(bad), bad).toThrow(TypeError);
    }
  });
});
