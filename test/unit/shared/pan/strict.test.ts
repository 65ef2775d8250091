import { describe, expect, it } from 'vitest';
import {
  containsCardData,
  findCardData,
  maskCardData,
  maskCardDataBytes,
  maskedMatchDigits,
  TRACK_REDACTION,
} from '../../../../shared/pan/index.ts';
import type { CardDataMatch } from '../../../../shared/pan/index.ts';
import { attackForms, inScript } from './attack-forms.ts';
import { ATTACK_PANS, detected } from './measure.ts';
import { byteOffset, utf8, withCheckDigit } from './helpers.ts';

/** Value of any Unicode decimal digit (they come in runs of ten from a zero). */
function digitValue(ch: string): number {
  let cp = ch.codePointAt(0)!;
  while (/\p{Nd}/u.test(String.fromCodePoint(cp - 1))) cp--;
  return (ch.codePointAt(0)! - cp) % 10;
}

const STRICT = { strict: true } as const;
const KEEP = 10; // first 6 + last 4
const decode = (b: Uint8Array) => new TextDecoder('utf-8', { fatal: true }).decode(b);

/** Strict matches of a text, checked against the bytes scan (offsets mapped) and containsCardData. */
function find(text: string): CardDataMatch[] {
  const m = findCardData(text, STRICT);
  const bytes = utf8(text);
  expect(
    findCardData(bytes, STRICT).map((x) => [x.start, x.end, x.kind, x.brand]),
    text,
  ).toEqual(m.map((x) => [byteOffset(text, x.start), byteOffset(text, x.end), x.kind, x.brand]));
  expect(containsCardData(text, STRICT), text).toBe(m.length > 0);
  expect(containsCardData(bytes, STRICT), text).toBe(m.length > 0);
  return m;
}

/** Strict masking both ways: the bytes variant decodes to the string variant's output, and it is idempotent. */
function mask(text: string): string {
  const r = maskCardData(text, STRICT);
  const rb = maskCardDataBytes(utf8(text), STRICT);
  expect(decode(rb.bytes), text).toBe(r.text);
  expect(rb.masked, text).toBe(r.masked);
  expect(find(r.text), `masked output of ${text}`).toEqual([]);
  return r.text;
}

const covered = (text: string) => find(text).map((m) => text.slice(m.start, m.end));

describe('strict mode: the attack forms', () => {
  it('finds every form of every published test number, in strings and bytes, and masks its middle digits', () => {
    let forms = 0;
    for (const pan of ATTACK_PANS) {
      for (const { form, text, expected } of attackForms(pan)) {
        if (!expected) continue;
        forms++;
        expect(detected(text, pan, 'strict'), `${form}: ${JSON.stringify(text)}`).toBe(true);
        find(text);
        // The PAN does not survive masking in any script, and at least its middle digits became '*'.
        const masked = mask(text);
        const asAscii = masked.replace(/\p{Nd}/gu, (ch) => String(digitValue(ch)));
        expect(asAscii.replace(/[^0-9]/g, ''), `${form}: ${masked}`).not.toContain(pan);
        // A float8 text does not write the zeros its exponent implies.
        const stars = form.includes('float8') ? pan.replace(/0+$/, '').length - KEEP : pan.length - KEEP;
        expect(masked.split('*').length - 1, `${form}: ${masked}`).toBeGreaterThanOrEqual(Math.min(stars, pan.length - KEEP));
      }
    }
    expect(forms).toBeGreaterThan(1000);
  });

  it('masks in the display format, separators and glued characters in place', () => {
    expect(mask('x4111111111111111')).toBe('x411111******1111');
    expect(mask('00004111111111111111')).toBe('0000411111******1111');
    expect(mask('4111111111111111.5')).toBe('411111******1111.5');
    expect(mask('4111.1111.1111.1111')).toBe('4111.11**.****.1111');
    expect(mask('4111 - 1111 - 1111 - 1111')).toBe('4111 - 11** - **** - 1111');
    expect(mask('4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1')).toBe('4 1 1 1 1 1 * * * * * * 1 1 1 1');
    expect(mask('$4,111,111,111,111,111.00')).toBe('$4,111,11*,***,**1,111.00');
    expect(mask('00000000-0000-4111-1111-111111111111')).toBe('00000000-0000-4111-11**-****11111111');
    expect(mask('"4111\\t1111\\t1111\\t1111"')).toBe('"4111\\t11**\\t****\\t1111"');
  });

  it('replaces each non-ASCII digit by one *, keeping the first 6 and last 4 as written', () => {
    const full = inScript('4111111111111111', 0xff10);
    expect(mask(full)).toBe(`${full.slice(0, 6)}******${full.slice(-4)}`);
    const math = inScript('5555555555554444', 0x1d7ce); // two UTF-16 code units, four UTF-8 bytes per digit
    expect(mask(`card ${math}!`)).toBe(`card ${inScript('555555', 0x1d7ce)}******${inScript('4444', 0x1d7ce)}!`);
    expect(maskCardDataBytes(utf8(math), STRICT).bytes.length).toBe(10 * 4 + 6);
    const m = findCardData(math, STRICT);
    expect(m).toEqual([{ start: 0, end: 32, kind: 'pan', brand: 'mastercard' }]);
    expect(maskedMatchDigits(math, m[0]!)).toBe('555555******4444');
  });

  it('reads a float8 mantissa with the zeros its exponent implies', () => {
    expect(covered('4.111111111111111e+15')).toEqual(['4.111111111111111']);
    expect(mask('4.111111111111111e+15')).toBe('4.11111******1111e+15');
    // 3530111333300000 as float8 text drops its trailing zeros. Implied zeros where '*' goes would tell what
    // the masked digits are, so the exponent is masked too.
    expect(covered('(3.5301113333e+15,0)')).toEqual(['3.5301113333e+15']);
    expect(mask('(3.5301113333e+15,0)')).toBe('(3.53011*****e+**,0)');
    expect(mask('6.304e+15')).toBe('6.304e+**'); // 6304000000000000, Maestro
    const [m] = findCardData('3.5301113333e+15', STRICT);
    expect(maskedMatchDigits('3.5301113333e+15', m!)).toBe('353011******0000');
    // More mantissa digits than the integer part holds: the rest is a fraction.
    expect(covered('4.1111111111111115e+15')).toEqual(['4.111111111111111']);
    expect(covered('4.111111111111111E15')).toEqual(['4.111111111111111']);
    expect(find('4.111111111111111e+16')).toEqual([]); // 41111111111111110: no PAN
    expect(find('4.111111111111111e-15')).toEqual([]);
  });

  it('redacts tracks whole, also with strict separators and glued to letters', () => {
    expect(mask('t2=;4111111111111111=25121010000000000000? ok')).toBe(`t2=${TRACK_REDACTION} ok`);
    expect(mask('x;4111 1111 1111 1111=2512101000?')).toBe(`x${TRACK_REDACTION}`);
    expect(mask('%B4111111111111111^DOE/JOHN^2512101000000000000000000?')).toBe(TRACK_REDACTION);
    expect(find('swipe%B4111111111111111^DOE/JOHN^2512101000?').map((m) => m.kind)).toEqual(['track1']);
  });

  it('merges overlapping candidates into one match and keeps matches in order', () => {
    // 5555555555554444 and, 3 digits on, another Mastercard number: one match, its first 6 and last 4 kept.
    const text = `555${withCheckDigit('5555555554444' + '12')}`;
    expect(text.slice(0, 16)).toBe('5555555555554444');
    expect(find(text)).toEqual([{ start: 0, end: 19, kind: 'pan', brand: 'mastercard' }]);
    expect(mask(text)).toBe(`555555*********${text.slice(-4)}`);
    expect(covered('a 4111111111111111 b 5555.5555.5555.4444 c ４１１１１１１１１１１１１１１１')).toEqual([
      '4111111111111111',
      '5555.5555.5555.4444',
      '４１１１１１１１１１１１１１１１',
    ]);
  });

  it('still needs brand, length and Luhn', () => {
    expect(find('x4111111111111112')).toEqual([]);
    expect(find('4111.1111.1111.1112')).toEqual([]);
    expect(find(inScript('4111111111111112', 0xff10))).toEqual([]);
    expect(find('9000000000000001')).toEqual([]); // Luhn-valid, no brand
    expect(find('4111_1111_1111_111')).toEqual([]); // 15 digits: no Visa length
  });
});

describe('strict mode: what it leaves alone', () => {
  it('does not join groups whose separators differ', () => {
    expect(find('4111 1111-1111 1111')).toEqual([]);
    expect(find('4111 -- 1111 -- 1111 -- 1111')).toEqual([]);
    expect(find('2026-11-29 18:41:32.123456+00')).toEqual([]);
  });

  it('reads a decimal number by its integer part only', () => {
    expect(find('{"score":0.4532015112830366}')).toEqual([]);
    expect(find('1764441692.123456')).toEqual([]);
    expect(covered('total 4111111111111111.50')).toEqual(['4111111111111111']);
  });

  it('exempts the last group of a UUID and the digits of a valid IBAN', () => {
    expect(find('req_id=7640030d-b212-4cdc-a5aa-617222158322')).toEqual([]);
    expect(find('IBAN FR71 3000 5555 5555 5555 4444 189')).toEqual([]); // mod 97 holds
    expect(find('DE89370400440532013000')).toEqual([]);
    // The same digits with check digits that fail mod 97 are no IBAN.
    expect(covered('IBAN FR00 3000 5555 5555 5555 4444 189')).not.toEqual([]);
  });

  it('returns the very same input when nothing is masked', () => {
    const text = 'no card: 2026-11-29 18:41:32, order 45320151, 12.50 €';
    expect(maskCardData(text, STRICT).text).toBe(text);
    const bytes = utf8(text);
    expect(maskCardDataBytes(bytes, STRICT).bytes).toBe(bytes);
  });
});

describe('options', () => {
  it('leaves the normal mode as it was when strict is absent or false', () => {
    const text = 'x4111111111111111 and 4111 1111 1111 1111';
    expect(findCardData(text, { strict: false })).toEqual(findCardData(text));
    expect(findCardData(text)).toEqual([{ start: 22, end: 41, kind: 'pan', brand: 'visa' }]);
    expect(maskCardData(text, {})).toEqual(maskCardData(text));
    expect(covered(text)).toEqual(['4111111111111111', '4111 1111 1111 1111']);
  });
});
