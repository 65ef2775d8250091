import { describe, expect, it } from 'vitest';
import { MaskCounter } from '../../../../appliance/pipeline/masking.ts';
import { OID } from '../../../../appliance/protocols/postgres/pg-types.ts';
import { MaskingError, encodeDataRow, maskDataRow, maskPanColumn, planNeedsWork, rowValues, type ColumnPlan } from '../../../../appliance/protocols/postgres/row-masker.ts';
import type { ColumnAction } from '../../../../appliance/protocols/postgres/provenance/mask-plan.ts';
import { decodeDataRow } from '../../../../appliance/protocols/postgres/wire/index.ts';

const col = (action: ColumnAction, typeOid: number = OID.text, format = 0, extra: Partial<ColumnPlan> = {}): ColumnPlan => ({ name: 'c', typeOid, format, action, ...extra });
const b = (s: string) => Buffer.from(s, 'utf8');

/** Masks one row; returns the values the client gets (decoded from the message) and the counts. */
function run(values: (Buffer | null)[], plan: ColumnPlan[]) {
  const raw = encodeDataRow(values);
  const masks = new MaskCounter();
  const r = maskDataRow(raw, plan, masks);
  const sent = decodeDataRow(r.message.subarray(5));
  return { raw, r, sent, masks };
}

/** The one value of a one-column row after masking (null: NULL). */
function one(value: Buffer | null, c: ColumnPlan): { out: Buffer | null; masks: MaskCounter; unchanged: boolean } {
  const { raw, r, sent, masks } = run([value], [c]);
  return { out: sent[0]!, masks, unchanged: r.message === raw };
}

const text = (x: { out: Buffer | null }) => x.out?.toString('utf8') ?? null;

function int8(v: bigint): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigInt64BE(v);
  return out;
}

function float8(v: number): Buffer {
  const out = Buffer.alloc(8);
  out.writeDoubleBE(v);
  return out;
}

/** PostgreSQL's binary numeric: ndigits, weight, sign, dscale, then base-10000 digits. */
function numeric(digits: number[], weight: number, sign = 0, dscale = 0): Buffer {
  const out = Buffer.alloc(8 + digits.length * 2);
  out.writeUInt16BE(digits.length, 0);
  out.writeInt16BE(weight, 2);
  out.writeUInt16BE(sign, 4);
  out.writeUInt16BE(dscale, 6);
  digits.forEach((d, i) => out.writeUInt16BE(d, 8 + i * 2));
  return out;
}

const PAN = '4111111111111111';

describe('encodeDataRow / rowValues', () => {
  it('round-trips values, NULL and empty included', () => {
    const values = [b('a'), null, Buffer.alloc(0), b('é')];
    const raw = encodeDataRow(values);
    expect(raw[0]).toBe(0x44);
    expect(raw.readUInt32BE(1)).toBe(raw.length - 1);
    expect(rowValues(raw)).toEqual(values);
    expect(decodeDataRow(raw.subarray(5))).toEqual(values);
  });

  it('matches the wire layout byte for byte', () => {
    expect(encodeDataRow([b('ab'), null]).toString('hex')).toBe('44' + '00000010' + '0002' + '00000002' + '6162' + 'ffffffff');
  });
});

describe('maskDataRow: the row', () => {
  it('a row with nothing to mask is sent as it came (the same buffer)', () => {
    const { raw, r } = run([b('hello'), b('42')], [col('scan'), col('pass', OID.int4)]);
    expect(r.message).toBe(raw);
    expect(r.values).toBeUndefined();
  });

  it('only the changed column changes; the others keep their bytes', () => {
    const { r, sent, masks } = run([b('x'), b(`pan ${PAN}`), null, b('y')], [col('scan'), col('scan'), col('scan'), col('pass')]);
    expect(sent).toEqual([b('x'), b('pan 411111******1111'), null, b('y')]);
    expect(r.values).toEqual(sent);
    expect(masks.pan).toBe(1);
  });

  it('NULL is never touched, whatever the action', () => {
    for (const a of ['scan', 'redact', 'mask-pan', 'number', 'unmaskable', 'json-row'] as ColumnAction[]) {
      const { r, raw } = run([null], [col(a, OID.json, 0, { shape: { names: [], classes: [] } })]);
      expect(r.message, a).toBe(raw);
    }
  });

  it('a row whose width differs from the plan: MaskingError', () => {
    expect(() => run([b('a')], [col('pass'), col('pass')])).toThrow(MaskingError);
  });

  it('a column Vigil cannot mask stops the row with 0A000, naming the column', () => {
    let err: unknown;
    try {
      run([b('x'), Buffer.from([1, 2, 3])], [col('pass'), col('unmaskable', 3904, 1, { name: 'span' })]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MaskingError);
    expect((err as MaskingError).sqlstate).toBe('0A000');
    expect((err as Error).message).toMatch(/"span".*3904.*binary/);
  });

  it('planNeedsWork: only when some column is not pass', () => {
    expect(planNeedsWork([col('pass'), col('pass')])).toBe(false);
    expect(planNeedsWork([col('pass'), col('scan')])).toBe(true);
    expect(planNeedsWork([])).toBe(false);
  });
});

describe('maskDataRow: scan and scan-strict', () => {
  it('scan masks card numbers in text, 6+4', () => {
    const r = one(b(`card ${PAN} and 5555555555554444`), col('scan'));
    expect(text(r)).toBe('card 411111******1111 and 555555******4444');
    expect(r.masks.pan).toBe(2);
  });

  it('scan leaves a digit run glued to letters; scan-strict masks it', () => {
    expect(one(b(`abc${PAN}`), col('scan')).unchanged).toBe(true);
    expect(text(one(b(`abc${PAN}`), col('scan-strict')))).toBe('abc411111******1111');
  });

  it('strict also finds full-width digits', () => {
    expect(text(one(b('４１１１１１１１１１１１１１１１'), col('scan-strict')))).toBe('４１１１１１******１１１１');
  });

  it('a text without a card number is unchanged', () => {
    expect(one(b('order 12345'), col('scan-strict')).unchanged).toBe(true);
  });
});

describe('maskDataRow: bytea-hex', () => {
  it('hex bytea: decoded, scanned, re-encoded', () => {
    const r = one(b('\\x' + Buffer.from(`pan=${PAN}`).toString('hex')), col('bytea-hex', OID.bytea));
    expect(text(r)).toBe('\\x' + Buffer.from('pan=411111******1111').toString('hex'));
    expect(r.masks.pan).toBe(1);
  });

  it('escape-format bytea is scanned as it is', () => {
    expect(text(one(b(`x${'\\'}000 ${PAN}`), col('bytea-hex', OID.bytea)))).toBe(`x${'\\'}000 411111******1111`);
  });

  it('hex bytea without a card number is unchanged', () => {
    expect(one(b('\\x' + Buffer.from('hello').toString('hex')), col('bytea-hex', OID.bytea)).unchanged).toBe(true);
  });
});

describe('maskDataRow: number (text floats and money)', () => {
  it.each(['4.111111111111111e+15', '-4.111111111111111e+15', '4111111111111111', '$4,111,111,111,111,111.00', '-$4,111,111,111,111,111.00', '4111111111111111.5'])(
    '%s holds a card number: NULL',
    (v) => {
      const r = one(b(v), col('number', OID.float8));
      expect(r.out).toBeNull();
      expect(r.masks.pan).toBe(1);
    },
  );

  it.each(['1.5e+3', '3.14159', '$12.50', '4.111111111111112e+15', 'NaN', 'Infinity', '-0', '1e+300', '123456789012'])('%s does not: unchanged', (v) => {
    expect(one(b(v), col('number', OID.float8)).unchanged).toBe(true);
  });

  // lc_monetary (a startup setting Vigil passes) decides the separators: de_DE prints 4.111.111.111.111.111,00 €.
  it.each(['4.111.111.111.111.111,00 €', '4.111.111.111.111.111,00 lei', "Fr. 4'111'111'111'111'111.00", '￥4,111,111,111,111,111', '4 111 111 111 111 111,00 €'])('money in another locale (%s) is read too', (v) => {
    expect(one(b(v), col('number', OID.money)).out).toBeNull();
  });
});

describe('maskDataRow: number-binary', () => {
  it('int8 holding a card number: NULL; another number: unchanged', () => {
    expect(one(int8(4111111111111111n), col('number-binary', OID.int8, 1)).out).toBeNull();
    expect(one(int8(-4111111111111111n), col('number-binary', OID.int8, 1)).out).toBeNull();
    expect(one(int8(42n), col('number-binary', OID.int8, 1)).unchanged).toBe(true);
  });

  it('float8 holding a card number: NULL', () => {
    expect(one(float8(4111111111111111), col('number-binary', OID.float8, 1)).out).toBeNull();
    expect(one(float8(3.5), col('number-binary', OID.float8, 1)).unchanged).toBe(true);
  });

  it('numeric: base-10000 groups', () => {
    expect(one(numeric([4111, 1111, 1111, 1111], 3), col('number-binary', OID.numeric, 1)).out).toBeNull();
    expect(one(numeric([4111, 1111, 1111, 1111], 3, 0x4000), col('number-binary', OID.numeric, 1)).out).toBeNull();
    expect(one(numeric([4111, 1111, 1111, 1111, 2500], 3, 0, 2), col('number-binary', OID.numeric, 1)).out).toBeNull();
    expect(one(numeric([42], 0), col('number-binary', OID.numeric, 1)).unchanged).toBe(true);
    expect(one(numeric([1], -1), col('number-binary', OID.numeric, 1)).unchanged).toBe(true);
  });

  it('numeric: trailing zero groups are left out of the digits and still counted', () => {
    // 4111111111090000 (Luhn-valid) is sent as 4111 1111 1109 with weight 3.
    const v = Buffer.from('0003' + '0003' + '0000' + '0000' + '100f' + '0457' + '0455', 'hex');
    expect(one(v, col('number-binary', OID.numeric, 1)).out).toBeNull();
    expect(one(numeric([4111, 1111, 1111], 2), col('number-binary', OID.numeric, 1)).unchanged).toBe(true);
  });

  it('numeric NaN and a short value are unchanged', () => {
    expect(one(numeric([], 0, 0xc000), col('number-binary', OID.numeric, 1)).unchanged).toBe(true);
    expect(one(Buffer.from([0, 1]), col('number-binary', OID.numeric, 1)).unchanged).toBe(true);
  });

  // Binary money is an int8 in the currency's smallest unit: $4,111,111,111,111,111.00 is 411111111111111100.
  it('money holding a card number: NULL', () => {
    expect(one(int8(411111111111111100n), col('number-binary', OID.money, 1)).out).toBeNull();
    expect(one(int8(1250n), col('number-binary', OID.money, 1)).unchanged).toBe(true);
  });
});

describe('maskDataRow: strict-or-null', () => {
  it('a uuid spelling a card number across its groups: NULL', () => {
    const r = one(b('41111111-1111-1111-8a2b-3c4d5e6f7a8b'), col('strict-or-null', OID.uuid));
    expect(r.out).toBeNull();
    expect(r.masks.pan).toBe(1);
  });

  it('an ordinary uuid or address: unchanged', () => {
    expect(one(b('123e4567-e89b-12d3-a456-426614174000'), col('strict-or-null', OID.uuid)).unchanged).toBe(true);
    expect(one(b('192.168.0.1/24'), col('strict-or-null', OID.inet)).unchanged).toBe(true);
  });
});

describe('maskDataRow: mask-pan and maskPanColumn', () => {
  it.each([
    [PAN, '411111******1111'],
    ['4111 1111 1111 1111', '4111 11** **** 1111'],
    ['4111-1111-1111-1112', '4111-11**-****-1112'],
    ['123456789012', '123456**9012'],
    ['12345678901', '***********'],
    ['1234', '****'],
    ['tok_4111111111111111_x', 'tok_411111******1111_x'],
  ])('%s → %s (whether or not it passes a card check)', (v, masked) => {
    const r = one(b(v), col('mask-pan'));
    expect(text(r)).toBe(masked);
    expect(r.masks.pan).toBe(1);
  });

  it('a value without digits is unchanged', () => {
    expect(one(b('n/a'), col('mask-pan')).unchanged).toBe(true);
  });

  it('full-width digits are masked by the strict scan that follows', () => {
    expect(text(one(b('４１１１１１１１１１１１１１１１'), col('mask-pan')))).toBe('４１１１１１******１１１１');
  });

  it('maskPanColumn: undefined when nothing changed, counts one PAN per value', () => {
    const masks = new MaskCounter();
    expect(maskPanColumn(b('none here'), masks)).toBeUndefined();
    expect(masks.pan).toBe(0);
    expect(maskPanColumn(b(PAN), masks)?.toString()).toBe('411111******1111');
    expect(masks.pan).toBe(1);
  });

  it('maskPanColumn does not change its input', () => {
    const v = b(PAN);
    maskPanColumn(v, new MaskCounter());
    expect(v.toString()).toBe(PAN);
  });
});

describe('maskDataRow: redact', () => {
  it.each<[number, number, Buffer | null]>([
    [OID.text, 0, b('[REDACTED]')],
    [OID.varchar, 1, b('[REDACTED]')],
    [OID.json, 0, b('"[REDACTED]"')],
    [OID.jsonb, 0, b('"[REDACTED]"')],
    [OID.jsonb, 1, Buffer.concat([Buffer.from([1]), b('"[REDACTED]"')])],
    [OID.int4, 0, null],
    [OID.uuid, 1, null],
    [OID.bytea, 0, null],
  ])('type %d format %d', (oid, format, expected) => {
    const r = one(b('123'), col('redact', oid, format));
    expect(r.out).toEqual(expected);
    expect(r.masks.redacted).toBe(1);
  });
});

describe('maskDataRow: json-row', () => {
  const shape = { names: ['id', 'card_number', 'cvv'], classes: ['cardholder', 'pan', 'sad'] as const };
  const jsonCol = (typeOid: number = OID.json) => col('json-row', typeOid, 0, { shape: { names: shape.names, classes: [...shape.classes] } });

  it('masks the row field by field and keeps it valid JSON', () => {
    const r = one(b(`{"id":1,"card_number":"${PAN}","cvv":"123"}`), jsonCol());
    expect(JSON.parse(text(r)!)).toEqual({ id: 1, card_number: '411111******1111', cvv: '[REDACTED]' });
    expect(r.masks.pan).toBe(1);
    expect(r.masks.redacted).toBe(1);
  });

  it('a cardholder field is scanned strictly', () => {
    const r = one(b(`{"id":"x${PAN}","card_number":null,"cvv":null}`), jsonCol());
    expect(JSON.parse(text(r)!).id).toBe('x411111******1111');
  });

  it('jsonb keeps its spacing', () => {
    expect(text(one(b(`{"id": 1, "card_number": "${PAN}", "cvv": "1"}`), jsonCol(OID.jsonb)))).toBe('{"id": 1, "card_number": "411111******1111", "cvv": "[REDACTED]"}');
  });

  it('not the expected row: redacted whole', () => {
    const r = one(b('{"something":"else"}'), jsonCol());
    expect(text(r)).toBe('"[REDACTED]"');
    expect(r.masks.redacted).toBe(1);
    expect(text(one(b('not json'), jsonCol()))).toBe('"[REDACTED]"');
  });

  it('a row that needs no change is sent as it came', () => {
    expect(one(b('{"id":1,"card_number":null,"cvv":null}'), jsonCol()).unchanged).toBe(true);
  });
});
