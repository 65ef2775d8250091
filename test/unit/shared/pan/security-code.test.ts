/**
 * Keyword-anchored card security codes (CVV2/CVC2/CID…) and PINs in free text (PCI DSS 3.3.1: sensitive
 * authentication data is never stored after authorisation, not even encrypted). docs/pan-detection.md,
 * "Security codes and PINs in free text", has the rules these cases pin down.
 */
import { describe, expect, it } from 'vitest';
import {
  findSecurityCodes,
  maskEvidenceText,
  NEAR_PAN_CHARS,
  PIN_REDACTION,
  redactSecurityCodes,
  SECURITY_CODE_REDACTION,
} from '../../../../shared/pan/index.ts';
import { FP_CATEGORIES, fpCorpus } from './fp-corpus.ts';
import { fixture, rng } from './helpers.ts';

/** What was found in `text`: kind and the characters the match covers (the code only, never the keyword). */
const found = (text: string) => findSecurityCodes(text).map((m) => `${m.kind}:${text.slice(m.start, m.end)}`);
const CVV = (code: string) => [`security-code:${code}`];

describe('an obvious keyword-anchored security code is found without a card number in sight', () => {
  const cases: [string, string][] = [
    ['cvv 123', '123'],
    ['CVV: 123', '123'],
    ['cvv=123', '123'],
    ['Cvv - 123', '123'],
    ['cvv #123', '123'],
    ['cvv2: 1234', '1234'],
    ['CVC2 123', '123'],
    ['cvc:  456', '456'],
    ['cv2=789', '789'],
    ['cvv is 123', '123'],
    ['cvv was 123', '123'],
    ["cvv = '123'", '123'],
    ['cvv:"123"', '123'],
    ['{"cvv":"123"}', '123'],
    ['{"cvv": 123, "exp": "12/29"}', '123'],
    ['{\\"cvv\\":\\"123\\"}', '123'],
    ["'cvv' => '123'", '123'],
    ["jsonb_build_object('cvv', '123')", '123'],
    ['cvv\t123', '123'],
    ['CVV:\n123', '123'],
    ['cvv 123.', '123'],
    ['cvv 123, exp 12/29', '123'],
    ['(cvv: 123)', '123'],
    ['security code: 123', '123'],
    ['Security-Code 1234', '1234'],
    ['security_code=123', '123'],
    ['securityCode=123', '123'],
    ['card security code 123', '123'],
    ['card verification value: 123', '123'],
    ['card_verification_code=1234', '1234'],
    ['cardVerificationValue 123', '123'],
    ['Card Verification: 123', '123'],
    ['card_cvv: 123', '123'],
    ['cardCvv=123', '123'],
    ['cvv_code: 123', '123'],
    ['CVV number 123', '123'],
    ['cvvCode 123', '123'],
    ['cvv no. 123', '123'],
    ['cvv/cvc: 123', '123'],
    ['cvv １２３', '１２３'],
    ['cvv ١٢٣', '١٢٣'],
    ['cvv\u00a0123', '123'],
  ];
  for (const [text, code] of cases) {
    it(JSON.stringify(text), () => {
      expect(found(text)).toEqual(CVV(code));
    });
  }

  it('says whether a card number was near, and which keyword anchored it (never the code)', () => {
    expect(findSecurityCodes('cvv: 123')).toEqual([{ start: 5, end: 8, kind: 'security-code', keyword: 'cvv', nearPan: false }]);
    expect(findSecurityCodes('card 4111 1111 1111 1111 CVV2 123')).toEqual([{ start: 30, end: 33, kind: 'security-code', keyword: 'CVV2', nearPan: true }]);
  });

  it('finds every code of a text, in order', () => {
    expect(found('a cvv 123; b cvc 4567; c security code: 890')).toEqual(['security-code:123', 'security-code:4567', 'security-code:890']);
  });
});

describe('keywords that also mean something else need a card number nearby', () => {
  const weak: [string, string, string][] = [
    ['cid 1234', 'security-code', '1234'],
    ['CID: 123', 'security-code', '123'],
    ['csc=123', 'security-code', '123'],
    ['cvd 456', 'security-code', '456'],
    ['cvn2 456', 'security-code', '456'],
    ['CVN-78 ', 'security-code', '78'],
    ['pin 1234', 'pin', '1234'],
    ['PIN code: 123456', 'pin', '123456'],
  ];
  for (const [text, kind, code] of weak) {
    it(`${JSON.stringify(text)} alone is left, next to a card number it is ${kind}`, () => {
      expect(found(text)).toEqual([]);
      const near = `card 4111111111111111 ${text}`;
      expect(found(near)).toEqual(code.length >= 3 ? [`${kind}:${code}`] : []);
    });
  }

  it('a card number after the code counts too', () => {
    expect(found('cid 1234 for card 4111 1111 1111 1111')).toEqual(['security-code:1234']);
  });

  it('a masked card number or redacted track counts as one: what the verifier sees in recorded text', () => {
    expect(found('card 4111 11** **** 1111 cid 1234')).toEqual(['security-code:1234']);
    expect(found('card 411111******1111, csc: 123')).toEqual(['security-code:123']);
    expect(found('amex 3782 82**** *0005 cid 4321')).toEqual(['security-code:4321']);
    expect(found('[REDACTED TRACK DATA] pin 1234')).toEqual(['pin:1234']);
  });

  it(`"near" is within ${NEAR_PAN_CHARS} characters of the keyword or the code, in the same text`, () => {
    const pan = '4111111111111111';
    const gap = (n: number) => 'x'.repeat(n - 2);
    expect(found(`${pan} ${gap(NEAR_PAN_CHARS)} cid 1234`)).toEqual(['security-code:1234']);
    expect(found(`${pan} ${gap(NEAR_PAN_CHARS + 1)} cid 1234`)).toEqual([]);
    expect(found(`cid 1234 ${gap(NEAR_PAN_CHARS)} ${pan}`)).toEqual(['security-code:1234']);
    expect(found(`cid 1234 ${gap(NEAR_PAN_CHARS + 1)} ${pan}`)).toEqual([]);
  });

  it('a digit run that is no card number (Luhn fails) is no card number nearby', () => {
    expect(found('ref 4111111111111112 cid 1234')).toEqual([]);
  });
});

describe('next to a card number, a few words may stand between keyword and code', () => {
  it('finds the code after up to 24 characters of words', () => {
    expect(found('card 378282246310005 exp 12/29, security code on the back is 1234')).toEqual(['security-code:1234']);
    expect(found('4111111111111111 cvv of this card: 123')).toEqual(['security-code:123']);
    expect(found('4111111111111111 cid (four digits) 1234')).toEqual(['security-code:1234']);
  });

  it('not without the card number, nor further than 24 characters, across a line break or a bracket, or past other digits', () => {
    expect(found('security code on the back is 1234')).toEqual([]);
    expect(found(`4111111111111111 cvv ${'w'.repeat(24)} 123`)).toEqual([]);
    expect(found('4111111111111111 cvv of\nthis card 123')).toEqual([]);
    expect(found('4111111111111111 cvv [see file] 123')).toEqual([]);
    expect(found('4111111111111111 cid (exp 12/29) 1234')).toEqual([]);
    expect(found('4111111111111111 cvv abc123')).toEqual([]);
  });
});

describe('what is no security code', () => {
  const none = [
    'acid 123',
    'lucid 2024',
    'pinned 1234',
    'spin 1234',
    'xcvv 123',
    'cvvx 123',
    'cvv123',
    'cvv 12',
    'cvv 12345',
    'cvv 123.45',
    'cvv 123,456',
    'cvv 123-456',
    'cvv 12:30',
    'cvv 123/4',
    'cvv 123abc',
    'cvv 123_4',
    'cvv abc 123',
    'cvv_attempts = 123',
    'cvv_count: 123',
    'cvv failed 3 times',
    'cid:image001.png@01DA1234',
    'security code sent',
    '[REDACTED CVV] 123',
    'SELECT id, cvv FROM customers WHERE id = 123',
    "UPDATE customers SET cvv = '[REDACTED]' WHERE id = 2",
  ];
  for (const text of none) {
    it(JSON.stringify(text), () => {
      expect(found(text)).toEqual([]);
    });
  }

  it('a code that begins a card number is the card number, not a code', () => {
    expect(found('cvv 4111 1111 1111 1111')).toEqual([]);
    expect(found('cvv 4111 11** **** 1111')).toEqual([]);
  });
});

describe('redaction', () => {
  it('replaces the code, keeps the keyword and everything else', () => {
    expect(redactSecurityCodes("note = 'card 4111 11** **** 1111 cvv 123'")).toEqual({ text: `note = 'card 4111 11** **** 1111 cvv ${SECURITY_CODE_REDACTION}'`, redacted: 1 });
    expect(redactSecurityCodes('4111111111111111 pin 1234 cvv 987')).toEqual({ text: `4111111111111111 pin ${PIN_REDACTION} cvv ${SECURITY_CODE_REDACTION}`, redacted: 2 });
    expect(SECURITY_CODE_REDACTION).toBe('[REDACTED CVV]');
    expect(PIN_REDACTION).toBe('[REDACTED PIN]');
  });

  it('gives back the same string when there is nothing', () => {
    const s = 'SELECT 1 /* nothing here */';
    expect(redactSecurityCodes(s).text).toBe(s);
    expect(redactSecurityCodes(s).redacted).toBe(0);
  });

  it('is idempotent, and its output holds no security code, on dense random text', () => {
    const rand = rng(0x5ad);
    const pieces = [
      'cvv', 'CVV2', 'cid', 'pin', 'security code', 'card verification value', ' ', ': ', '=', "'", '"', ' is ', '-', '#', '\n', '[', ']',
      '123', '1234', '12345', '12', '4111111111111111', '4111 11** **** 1111', '[REDACTED TRACK DATA]', '[REDACTED CVV]', ' on the back ', '12/29', 'x', '.5',
    ];
    for (let n = 0; n < 400; n++) {
      let s = '';
      for (let k = 0; k < 24; k++) s += pieces[Math.floor(rand() * pieces.length)];
      const once = redactSecurityCodes(s);
      expect(findSecurityCodes(once.text), s).toEqual([]);
      expect(redactSecurityCodes(once.text), s).toEqual({ text: once.text, redacted: 0 });
    }
  });
});

describe('maskEvidenceText: what everything recorded or shown goes through', () => {
  it('masks the card number in strict mode and redacts the security code', () => {
    expect(maskEvidenceText("UPDATE customers SET note = 'card 4111 1111 1111 1111 cvv 123' WHERE id = 2")).toEqual({
      text: `UPDATE customers SET note = 'card 4111 11** **** 1111 cvv ${SECURITY_CODE_REDACTION}' WHERE id = 2`,
      masked: 1,
      redacted: 1,
    });
  });

  it('finds nothing to do in its own output', () => {
    const once = maskEvidenceText('x4111111111111111 cid 1234 and cvv: 987');
    expect(once).toMatchObject({ masked: 1, redacted: 2 });
    expect(maskEvidenceText(once.text)).toEqual({ text: once.text, masked: 0, redacted: 0 });
  });
});

describe('false positives', () => {
  it('none on the card-number corpora (every category, alone and after a card number)', () => {
    const corpus = fpCorpus(2000);
    for (const c of FP_CATEGORIES) {
      for (const v of corpus[c]) {
        expect(findSecurityCodes(v), v).toEqual([]);
        expect(findSecurityCodes(`4111111111111111 ${v}`), v).toEqual([]);
      }
    }
    for (const { text } of fixture<{ cases: { text: string }[] }>('hard-negatives.json').cases) expect(findSecurityCodes(text), text).toEqual([]);
  });

  // Texts where the keywords mean something else (seeded, 2 000 each). Measured for docs/pan-detection.md.
  const rand = rng(0xc1d);
  const int = (n: number) => Math.floor(rand() * n);
  const num = (min: number, max: number) => String(min + int(max - min + 1));
  const OTHER_MEANINGS: Record<string, () => string> = {
    'connection / customer id': () => `${['cid', 'CID', 'cid:', 'cid='][int(4)]}${[' ', ''][int(2)]}${num(100, 9999)} ${['connected', 'closed', 'queued'][int(3)]}`,
    'MIME content id': () => `<img src="cid:image${num(1, 999)}.png@01DA${num(1000, 9999)}">`,
    'course code': () => `${['CSC', 'csc'][int(2)]} ${num(100, 499)} ${['Algorithms', 'Databases', 'Networks'][int(3)]}`,
    'hull number': () => `${['CVN', 'CVN-'][int(2)]}${num(65, 79)} ${['Enterprise', 'Ford', 'Nimitz'][int(3)]}`,
    'cardiovascular disease': () => `cvd risk ${num(1, 99)}%, ldl ${num(100, 190)} mg/dl`,
    'GPIO / PIN change': () => `${['pin', 'PIN', 'gpio pin'][int(3)]} ${num(1, 40)} ${['high', 'low'][int(2)]}; pin changed at ${num(10, 23)}:${num(10, 59)}`,
    'security wording': () => `security code ${['sent', 'expired', 'required'][int(3)]} after ${num(2, 9)} attempts, ${num(100, 999)} ms`,
  };
  const rates = (prefix: string) =>
    Object.fromEntries(
      Object.entries(OTHER_MEANINGS).map(([what, gen]) => {
        let hits = 0;
        for (let k = 0; k < 2000; k++) if (findSecurityCodes(prefix + gen()).length > 0) hits++;
        return [what, hits / 2000];
      }),
    );

  it('keywords with another meaning, alone: none found', () => {
    for (const [what, rate] of Object.entries(rates(''))) expect(rate, what).toBe(0);
  });

  it('the same texts right after a masked card number: the measured cost of the near-PAN rule', () => {
    const r = rates('card 411111******1111 ');
    // Only a weak keyword directly followed by a 3-4 digit number is taken: the ids (the 3 spellings of 4 that
    // are not glued, `cid1234` is not) and the course codes.
    expect(r['connection / customer id']).toBeGreaterThan(0.7);
    expect(r['connection / customer id']).toBeLessThan(0.8);
    expect(r['course code']).toBe(1);
    expect(r['MIME content id']).toBe(0);
    expect(r['hull number']).toBe(0);
    expect(r['cardiovascular disease']).toBe(0);
    expect(r['GPIO / PIN change']).toBe(0);
    expect(r['security wording']).toBe(0);
  });
});
