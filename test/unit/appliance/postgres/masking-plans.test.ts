/**
 * provenance/mask-plan.ts (planResult, redactedValue), provenance/structured-values.ts (maskJsonRow) and
 * provenance/copy-masker.ts (copyLayout, maskCopyRow).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { OID } from '../../../../appliance/protocols/postgres/pg-types.ts';
import type { ColumnClass } from '../../../../appliance/protocols/postgres/provenance/column-classes.ts';
import { copyLayout, maskCopyRow, type CopyLayout } from '../../../../appliance/protocols/postgres/provenance/copy-masker.ts';
import { planResult, redactedValue, type PlanContext } from '../../../../appliance/protocols/postgres/provenance/mask-plan.ts';
import type { Field, Prov, StatementOutput } from '../../../../appliance/protocols/postgres/provenance/provenance.ts';
import { maskJsonRow, type RowShape } from '../../../../appliance/protocols/postgres/provenance/structured-values.ts';
import type { FieldDescription } from '../../../../appliance/protocols/postgres/wire/index.ts';
import { SqlClassifier } from '../../../../appliance/sql/index.ts';

const field = (typeOid: number, format: 0 | 1 = 0, origin?: [number, number], name = 'c'): FieldDescription => ({
  name,
  tableOid: origin?.[0] ?? 0,
  columnAttr: origin?.[1] ?? 0,
  typeOid,
  typeSize: -1,
  typeModifier: -1,
  format,
});

const prov = (cls: ColumnClass, plain: boolean, source?: string): Prov => ({ cls, plain, ...(source ? { source } : {}) });
const out = (provs: Prov[], exact = true, referenced: ColumnClass = 'none'): StatementOutput => ({
  columns: provs.map((p, i) => ({ name: `c${i}`, prov: p })),
  exact,
  referenced,
});

/** Origins the "catalog" knows: table 100 is a card table (1 id cardholder, 2 pan, 3 cvv). */
const ctx = (unmasked: string[] = []): PlanContext => ({
  origin(tableOid, attnum) {
    if (tableOid !== 100) return undefined;
    return ({ 1: prov('cardholder', true, 'public.cards.id'), 2: prov('pan', true, 'public.cards.pan'), 3: prov('sad', true, 'public.cards.cvv') } as Record<number, Prov>)[attnum];
  },
  unmasked: (s) => unmasked.includes(s),
});

const actions = (fields: FieldDescription[], output: StatementOutput | undefined, c = ctx()) => planResult(fields, output, c).map((p) => p.action);

describe('planResult: by class', () => {
  it('card-security data is redacted; a plain PAN column masked 6+4, a derived one redacted', () => {
    expect(actions([field(OID.text), field(OID.text), field(OID.text)], out([prov('sad', true), prov('pan', true, 's.t.pan'), prov('pan', false)]))).toEqual([
      'redact',
      'mask-pan',
      'redact',
    ]);
  });

  it('a column of a cardholder table is scanned strictly, anything else normally', () => {
    expect(actions([field(OID.text), field(OID.varchar)], out([prov('cardholder', true), prov('none', true)]))).toEqual(['scan-strict', 'scan']);
  });

  it('a plain PAN column whose source the policy unmasks passes', () => {
    expect(actions([field(OID.text)], out([prov('pan', true, 'public.cards.pan')]), ctx(['public.cards.pan']))).toEqual(['pass']);
    expect(actions([field(OID.text)], out([prov('pan', true, 'public.other.pan')]), ctx(['public.cards.pan']))).toEqual(['mask-pan']);
  });

  it('a plain PAN column: binary text is masked, binary of another type and text bytea are redacted', () => {
    expect(actions([field(OID.text, 1), field(OID.varchar, 1), field(OID.int8, 1), field(OID.bytea, 0), field(OID.numeric, 1)], out(Array(5).fill(prov('pan', true, 'x.y.z'))))).toEqual([
      'mask-pan',
      'mask-pan',
      'redact',
      'redact',
      'redact',
    ]);
    expect(actions([field(OID.int8, 0)], out([prov('pan', true, 'x.y.z')]))).toEqual(['mask-pan']);
  });
});

describe('planResult: by type (no card class)', () => {
  it.each<[string, number, 0 | 1, string]>([
    ['int4', OID.int4, 0, 'pass'],
    ['int4 binary', OID.int4, 1, 'pass'],
    ['timestamptz', OID.timestamptz, 1, 'pass'],
    ['bool', OID.bool, 0, 'pass'],
    ['float8 text', OID.float8, 0, 'number'],
    ['money text', OID.money, 0, 'number'],
    ['numeric text', OID.numeric, 0, 'scan'],
    ['int8 text', OID.int8, 0, 'scan'],
    ['bytea text', OID.bytea, 0, 'bytea-hex'],
    ['bytea binary', OID.bytea, 1, 'scan'],
    ['uuid text', OID.uuid, 0, 'strict-or-null'],
    ['uuid binary', OID.uuid, 1, 'unmaskable'],
    ['inet text', OID.inet, 0, 'strict-or-null'],
    ['point text', 600, 0, 'strict-or-null'],
    ['int8 binary', OID.int8, 1, 'number-binary'],
    ['numeric binary', OID.numeric, 1, 'number-binary'],
    ['float8 binary', OID.float8, 1, 'number-binary'],
    ['money binary', OID.money, 1, 'number-binary'],
    ['text binary', OID.text, 1, 'scan'],
    ['jsonb binary', OID.jsonb, 1, 'scan'],
    ['int4range text', 3904, 0, 'scan'],
    ['int4range binary', 3904, 1, 'unmaskable'],
  ])('%s → %s', (_label, typeOid, format, action) => {
    expect(actions([field(typeOid, format)], out([prov('none', false)]))).toEqual([action]);
  });

  it('a cardholder text column in binary format is scanned strictly', () => {
    expect(actions([field(OID.text, 1)], out([prov('cardholder', true)]))).toEqual(['scan-strict']);
  });
});

describe('planResult: tree and server together', () => {
  it('the server\'s origin makes a column plain, and the stricter class decides', () => {
    // The tree saw a derived value (c.cvv::text is a no-op cast the server reports as the column itself).
    const [p] = planResult([field(OID.text, 0, [100, 2])], out([prov('none', false)]), ctx());
    expect(p).toMatchObject({ action: 'mask-pan' });
    expect(actions([field(OID.text, 0, [100, 3])], out([prov('none', true)]))).toEqual(['redact']);
  });

  it('the server\'s source decides what unmaskColumns applies to', () => {
    expect(actions([field(OID.text, 0, [100, 2])], out([prov('none', true, 'public.elsewhere.x')]), ctx(['public.cards.pan']))).toEqual(['pass']);
  });

  it('an origin the catalog does not know leaves the tree\'s answer', () => {
    expect(actions([field(OID.text, 0, [999, 1])], out([prov('sad', false)]))).toEqual(['redact']);
  });

  it('shape not exact: a column the server does not place is derived from everything read', () => {
    const o = out([prov('none', false), prov('none', false)], false, 'sad');
    expect(actions([field(OID.text), field(OID.text, 0, [100, 1])], o)).toEqual(['redact', 'scan-strict']);
  });

  it('a column count that differs from the tree\'s: the same fallback', () => {
    const o = out([prov('none', false)], true, 'pan');
    // Even an int4 is redacted: substr(pan, 7, 6)::int would hold digits of the PAN.
    expect(actions([field(OID.text), field(OID.int4)], o)).toEqual(['redact', 'redact']);
    expect(actions([field(OID.text), field(OID.int4)], out([prov('none', false)], true, 'cardholder'))).toEqual(['scan-strict', 'pass']);
  });

  it('no output known (rows Vigil did not expect): unplaced columns scanned strictly, placed ones by their origin', () => {
    expect(actions([field(OID.text), field(OID.text, 0, [100, 3])], undefined)).toEqual(['scan-strict', 'redact']);
  });

  it('keeps name, type and format', () => {
    expect(planResult([field(OID.varchar, 1, undefined, 'who')], out([prov('none', false)]), ctx())).toEqual([{ name: 'who', typeOid: OID.varchar, format: 1, action: 'scan' }]);
  });
});

describe('planResult: whole rows', () => {
  const rowFields: Field[] = [
    { name: 'id', prov: prov('cardholder', true) },
    { name: 'cvv', prov: prov('sad', true) },
  ];
  const row = (as: 'json' | 'record', cls: ColumnClass = 'sad'): Prov => ({ cls, plain: false, row: { fields: rowFields, as } });

  it('a JSON row in text json or jsonb is masked field by field', () => {
    const plan = planResult([field(OID.json), field(OID.jsonb)], out([row('json'), row('json')]), ctx());
    expect(plan.map((p) => p.action)).toEqual(['json-row', 'json-row']);
    expect(plan[0]!.shape).toEqual({ names: ['id', 'cvv'], classes: ['cardholder', 'sad'] });
  });

  it('binary jsonb, a record, or a JSON row in a text column are redacted whole', () => {
    expect(actions([field(OID.jsonb, 1), field(OID.text), field(OID.text)], out([row('json'), row('record'), row('json')]))).toEqual(['redact', 'redact', 'redact']);
  });

  it('a row without card data is treated by its type', () => {
    expect(actions([field(OID.json)], out([row('json', 'none')]))).toEqual(['scan']);
  });
});

describe('redactedValue', () => {
  it.each([OID.text, OID.varchar, OID.bpchar, OID.name, OID.unknown, OID.xml])('type %d: the text [REDACTED] in both formats', (oid) => {
    expect(redactedValue(oid, 0)?.toString()).toBe('[REDACTED]');
    expect(redactedValue(oid, 1)?.toString()).toBe('[REDACTED]');
  });

  it('json: the JSON string "[REDACTED]"; jsonb binary: its version byte first', () => {
    expect(redactedValue(OID.json, 0)?.toString()).toBe('"[REDACTED]"');
    expect(redactedValue(OID.json, 1)?.toString()).toBe('"[REDACTED]"');
    expect(redactedValue(OID.jsonb, 0)?.toString()).toBe('"[REDACTED]"');
    expect(redactedValue(OID.jsonb, 1)).toEqual(Buffer.concat([Buffer.from([1]), Buffer.from('"[REDACTED]"')]));
  });

  it.each([OID.int8, OID.int4, OID.numeric, OID.float8, OID.uuid, OID.bytea, OID.money, OID.inet, 3904])('type %d: NULL', (oid) => {
    expect(redactedValue(oid, 0)).toBeNull();
    expect(redactedValue(oid, 1)).toBeNull();
  });
});

describe('maskJsonRow', () => {
  const SHAPE: RowShape = { names: ['id', 'card_number', 'cvv', 'note'], classes: ['cardholder', 'pan', 'sad', 'none'] };
  /** A masker that shows what it was asked: sad redacted, pan wrapped, the others unchanged. */
  const calls: [string, ColumnClass][] = [];
  const mask = (v: string, cls: ColumnClass): string => {
    calls.push([v, cls]);
    return cls === 'sad' ? '[REDACTED]' : cls === 'pan' ? `PAN(${v})` : v;
  };

  it('masks an object field by field, by the class of its column', () => {
    calls.length = 0;
    const text = '{"id":1,"card_number":"4111111111111111","cvv":"123","note":"hi"}';
    expect(maskJsonRow(text, SHAPE, mask, false)).toBe('{"id":1,"card_number":"PAN(4111111111111111)","cvv":"[REDACTED]","note":"hi"}');
    expect(calls).toEqual([
      ['1', 'cardholder'],
      ['4111111111111111', 'pan'],
      ['123', 'sad'],
      ['hi', 'none'],
    ]);
  });

  it('an array of objects (json_agg)', () => {
    const text = '[{"id":1,"card_number":null,"cvv":"1","note":null},{"id":2,"card_number":"x","cvv":"2","note":"n"}]';
    expect(maskJsonRow(text, SHAPE, mask, false)).toBe('[{"id":1,"card_number":null,"cvv":"[REDACTED]","note":null},{"id":2,"card_number":"PAN(x)","cvv":"[REDACTED]","note":"n"}]');
  });

  it('numbers are kept as written, and become strings only when masking changes them', () => {
    const text = '{"id":12345678901234567890123,"card_number":4111111111111111,"cvv":123,"note":1.50e+3}';
    expect(maskJsonRow(text, SHAPE, mask, false)).toBe('{"id":12345678901234567890123,"card_number":"PAN(4111111111111111)","cvv":"[REDACTED]","note":1.50e+3}');
  });

  it('nested values are masked as their text, and kept as values when unchanged', () => {
    const shape: RowShape = { names: ['a', 'b'], classes: ['sad', 'none'] };
    expect(maskJsonRow('{"a":{"x":[1,2]},"b":{"y":[3,{"z":true}]}}', shape, mask, false)).toBe('{"a":"[REDACTED]","b":{"y":[3,{"z":true}]}}');
  });

  it('jsonb spacing is kept, and a nested value is handed to the masker as jsonb prints it', () => {
    calls.length = 0;
    const shape: RowShape = { names: ['a', 'b'], classes: ['cardholder', 'none'] };
    expect(maskJsonRow('{"a": [1, 2], "b": {"c": "d"}}', shape, mask, true)).toBe('{"a": [1, 2], "b": {"c": "d"}}');
    expect(calls[0]).toEqual(['[1, 2]', 'cardholder']);
    expect(maskJsonRow('{"a":[1,2],"b":{"c":"d"}}', shape, mask, false)).toBe('{"a":[1,2],"b":{"c":"d"}}');
  });

  it('strings with escapes are read as JSON reads them', () => {
    const shape: RowShape = { names: ['a', 'b'], classes: ['pan', 'none'] };
    expect(JSON.parse(maskJsonRow('{"a":"4\\"1\\u0031","b":"\\\\"}', shape, mask, false)!)).toEqual({ a: 'PAN(4"11)', b: '\\' });
  });

  it('true, false and null fields are kept', () => {
    const shape: RowShape = { names: ['a', 'b', 'c'], classes: ['sad', 'sad', 'sad'] };
    expect(maskJsonRow('{"a":true,"b":false,"c":null}', shape, mask, false)).toBe('{"a":true,"b":false,"c":null}');
  });

  it.each(['{"id":1', '{"id":}', '{id:1}', 'nope', '{"id":1} x', '', '{"id":01}', '{"id":1,}', '[{"id":1}', '{"id":"x}', '"just a string"', '42'])(
    'not a JSON row (%j): undefined',
    (text) => expect(maskJsonRow(text, SHAPE, mask, false)).toBeUndefined(),
  );

  it('a key that is no column of the row: undefined', () => {
    expect(maskJsonRow('{"id":1,"other":"4111111111111111"}', SHAPE, mask, false)).toBeUndefined();
    expect(maskJsonRow('[{"id":1},{"nope":2}]', SHAPE, mask, false)).toBeUndefined();
  });

  it('two columns of one name: each value is masked as the stricter of them', () => {
    // row_to_json of (SELECT cvv AS x, id AS x …): PostgreSQL keeps both keys.
    const shape: RowShape = { names: ['x', 'x'], classes: ['sad', 'cardholder'] };
    const r = maskJsonRow('{"x":"123","x":1}', shape, mask, false);
    expect(r).not.toContain('"123"');
  });

  it('a key more often than the row has such a column: not this row (the names Vigil computed are wrong)', () => {
    const shape: RowShape = { names: ['case', '?column?'], classes: ['cardholder', 'sad'] };
    const r = maskJsonRow('{"case":1,"case":"123"}', shape, mask, false);
    expect(r === undefined || !r.includes('"123"')).toBe(true);
  });

  it('a column of the row missing from the object (jsonb keeps one of two equal keys): not this row', () => {
    const shape: RowShape = { names: ['case', '?column?'], classes: ['cardholder', 'sad'] };
    const r = maskJsonRow('{"case": "123"}', shape, mask, true);
    expect(r === undefined || !r.includes('"123"')).toBe(true);
  });
});

describe('copyLayout', () => {
  let classifier: SqlClassifier;
  beforeAll(async () => {
    classifier = await SqlClassifier.create();
  });
  const layout = (sql: string) => {
    const c = classifier.classify(sql);
    expect(c.parseError, sql).toBeUndefined();
    return copyLayout(c.statements[0]!.tree);
  };
  const TEXT: CopyLayout = { csv: false, delimiter: '\t', quote: '"', nullText: '\\N', header: false };
  const CSV: CopyLayout = { csv: true, delimiter: ',', quote: '"', nullText: '', header: false };

  it.each<[string, CopyLayout]>([
    ['COPY cards TO STDOUT', TEXT],
    ['COPY cards TO STDOUT WITH (FORMAT text)', TEXT],
    ['COPY (SELECT 1) TO STDOUT', TEXT],
    ['COPY cards TO STDOUT WITH (FORMAT csv)', CSV],
    ['COPY cards TO STDOUT CSV', CSV],
    ['COPY cards TO STDOUT CSV HEADER', { ...CSV, header: true }],
    ["COPY cards TO STDOUT WITH (FORMAT csv, DELIMITER ';', QUOTE '''', NULL 'NULL', HEADER)", { csv: true, delimiter: ';', quote: "'", nullText: 'NULL', header: true }],
    ['COPY cards TO STDOUT WITH (FORMAT csv, HEADER true)', { ...CSV, header: true }],
    ['COPY cards TO STDOUT WITH (FORMAT csv, HEADER false)', CSV],
    ['COPY cards TO STDOUT WITH (FORMAT csv, HEADER 0)', CSV],
    ['COPY cards TO STDOUT WITH (FORMAT csv, HEADER off)', CSV],
    ['COPY cards TO STDOUT WITH (FORMAT csv, HEADER 1)', { ...CSV, header: true }],
    ["COPY cards TO STDOUT WITH (DELIMITER '|', NULL '')", { ...TEXT, delimiter: '|', nullText: '' }],
    ["COPY cards TO STDOUT DELIMITER ','", { ...TEXT, delimiter: ',' }],
    ["COPY cards TO STDOUT WITH (FORMAT csv, ESCAPE '\"', FORCE_QUOTE *)", CSV],
    ["COPY cards TO STDOUT WITH (FORMAT csv, FORCE_QUOTE (id), ENCODING 'UTF8')", CSV],
    ["COPY cards TO STDOUT WITH (FORMAT csv, QUOTE '''', ESCAPE '''')", { ...CSV, quote: "'" }],
  ])('%s', (sql, expected) => expect(layout(sql)).toEqual(expected));

  it.each([
    'COPY cards TO STDOUT WITH (FORMAT binary)',
    'COPY cards TO STDOUT BINARY',
    "COPY cards TO STDOUT WITH (FORMAT csv, ESCAPE '\\')",
    "COPY cards TO STDOUT WITH (FORMAT csv, ESCAPE '\"', QUOTE '''')",
    "COPY cards TO STDOUT WITH (DELIMITER '||')",
    "COPY cards TO STDOUT WITH (FORMAT csv, QUOTE '')",
    'COPY cards TO STDOUT WITH (SOMETHING_NEW 1)',
  ])('%s: undefined', (sql) => expect(layout(sql)).toBeUndefined());

  it('not a COPY: undefined', () => {
    expect(layout('SELECT 1')).toBeUndefined();
    expect(copyLayout(undefined)).toBeUndefined();
  });
});

describe('maskCopyRow', () => {
  const TEXT: CopyLayout = { csv: false, delimiter: '\t', quote: '"', nullText: '\\N', header: false };
  const CSV: CopyLayout = { csv: true, delimiter: ',', quote: '"', nullText: '', header: false };
  const cols = (...classes: ColumnClass[]): Field[] => classes.map((cls, i) => ({ name: `c${i}`, prov: { cls, plain: true } }));
  const seen: [string, ColumnClass, boolean][] = [];
  const mask = (v: string, cls: ColumnClass, plain: boolean): string => {
    seen.push([v, cls, plain]);
    return cls === 'sad' ? '[REDACTED]' : cls === 'pan' ? v.replace(/\d(?=\d{4})/g, '*') : v;
  };

  it('text: field by field, NULL markers untouched, the newline kept', () => {
    seen.length = 0;
    expect(maskCopyRow('7\t4111111111111111\t123\t\\N\n', TEXT, cols('cardholder', 'pan', 'sad', 'sad'), false, mask)).toBe('7\t************1111\t[REDACTED]\t\\N\n');
    expect(seen).toEqual([
      ['7', 'cardholder', true],
      ['4111111111111111', 'pan', true],
      ['123', 'sad', true],
    ]);
  });

  it('text: \\r\\n or no line end is kept as it was', () => {
    expect(maskCopyRow('a\t1\r\n', TEXT, cols('none', 'sad'), false, mask)).toBe('a\t[REDACTED]\r\n');
    expect(maskCopyRow('a\t1', TEXT, cols('none', 'sad'), false, mask)).toBe('a\t[REDACTED]');
  });

  it('text: a custom NULL marker and delimiter', () => {
    expect(maskCopyRow('NULL|123|x\n', { ...TEXT, delimiter: '|', nullText: 'NULL' }, cols('sad', 'sad', 'none'), false, mask)).toBe('NULL|[REDACTED]|x\n');
  });

  it('text: a field count that differs from the columns: undefined', () => {
    expect(maskCopyRow('a\tb\n', TEXT, cols('none', 'none', 'none'), false, mask)).toBeUndefined();
    expect(maskCopyRow('a\tb\tc\n', TEXT, cols('none', 'none'), false, mask)).toBeUndefined();
  });

  it('CSV: quoted fields with doubled quotes and delimiters inside', () => {
    seen.length = 0;
    const row = '1,"a ""quoted"", with comma","x,y"\n';
    expect(maskCopyRow(row, CSV, cols('none', 'none', 'sad'), false, mask)).toBe('1,"a ""quoted"", with comma","[REDACTED]"\n');
    expect(seen.map(([v]) => v)).toEqual(['1', 'a "quoted", with comma', 'x,y']);
  });

  it('CSV: an empty unquoted field is NULL (kept), a quoted empty string is a value', () => {
    seen.length = 0;
    expect(maskCopyRow(',"",3\n', CSV, cols('sad', 'sad', 'sad'), false, mask)).toBe(',"[REDACTED]",[REDACTED]\n');
    expect(seen.map(([v]) => v)).toEqual(['', '3']);
  });

  it('CSV: a trailing delimiter is one more (NULL) field', () => {
    expect(maskCopyRow('1,\n', CSV, cols('sad', 'sad'), false, mask)).toBe('[REDACTED],\n');
  });

  it('CSV: a masked value that needs quotes gets them, quotes inside doubled', () => {
    const q = (v: string) => (v === 'x' ? 'a,"b"' : v);
    expect(maskCopyRow('x,y\n', CSV, cols('none', 'none'), false, q)).toBe('"a,""b""",y\n');
    expect(maskCopyRow('x\n', CSV, cols('none'), false, () => 'line\nbreak')).toBe('"line\nbreak"\n');
  });

  it('CSV: a newline inside a quoted field is part of the field', () => {
    expect(maskCopyRow('"a\nb",1\n', CSV, cols('none', 'sad'), false, mask)).toBe('"a\nb",[REDACTED]\n');
  });

  it('CSV: another quote character and delimiter', () => {
    expect(maskCopyRow("'a;b';123\n", { ...CSV, delimiter: ';', quote: "'" }, cols('none', 'sad'), false, mask)).toBe("'a;b';[REDACTED]\n");
  });

  it.each(['"unterminated,1\n', '"a"b,1\n', 'a,"b" ,1\n'])('CSV: malformed %j: undefined', (row) => {
    expect(maskCopyRow(row, CSV, cols('none', 'none', 'none').slice(0, 2), false, mask)).toBeUndefined();
  });

  it('CSV: a field count that differs from the columns: undefined', () => {
    expect(maskCopyRow('"a,b"\n', CSV, cols('none', 'none'), false, mask)).toBeUndefined();
  });

  it('the header row passes unmasked when the layout has one, only as the first row', () => {
    const layout = { ...CSV, header: true };
    expect(maskCopyRow('id,cvv\n', layout, cols('none', 'sad'), true, mask)).toBe('id,cvv\n');
    expect(maskCopyRow('1,123\n', layout, cols('none', 'sad'), false, mask)).toBe('1,[REDACTED]\n');
    expect(maskCopyRow('id,cvv\n', CSV, cols('none', 'sad'), true, mask)).toBe('id,[REDACTED]\n');
  });

  it('a header with the wrong field count: undefined', () => {
    expect(maskCopyRow('only_one\n', { ...CSV, header: true }, cols('none', 'sad'), true, mask)).toBeUndefined();
  });
});
