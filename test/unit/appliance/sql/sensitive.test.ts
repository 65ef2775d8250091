import { beforeAll, describe, expect, it } from 'vitest';
import { SqlClassifier, isSensitiveColumn, type Classification } from '../../../../appliance/sql/index.ts';

let classifier: SqlClassifier;
let uncached: SqlClassifier;

beforeAll(async () => {
  classifier = await SqlClassifier.create();
  uncached = await SqlClassifier.create({ cacheSize: 0 });
});

/** The text of each sensitive literal (sliced from the UTF-8 bytes) and each parameter, with its column. */
function bound(sql: string, c: Classification): string[] {
  const bytes = Buffer.from(sql);
  return c.statements.flatMap((s) =>
    s.sensitive.map((b) => (b.kind === 'literal' ? `${b.column}=${bytes.subarray(b.start, b.end).toString()}` : `${b.column}=$${b.index}`)),
  );
}

/** Checked without the cache, then twice through it (fill, hit with other literal values is cache.test.ts). */
function check(sql: string, expected: string[]): Classification {
  const fresh = uncached.classify(sql);
  expect(fresh.parseError, sql).toBeUndefined();
  expect(bound(sql, fresh), sql).toEqual(expected);
  classifier.classify(sql);
  const again = classifier.classify(sql);
  expect(bound(sql, again), sql).toEqual(expected);
  expect(again.statements).toEqual(fresh.statements);
  return fresh;
}

describe('isSensitiveColumn', () => {
  it.each([
    'cvv', 'CVV', 'cvv2', 'cvc', 'cvc2', 'cid', 'cvn', 'cvd', 'csc', 'card_cvv', 'cvv_code', 'CardCVV', 'cardCvc2', 'card_cvv2_hash',
    'security_code', 'card_security_code', 'securityCode', 'card_verification_value', 'card_verification_code', 'cardverificationvalue',
    'track1', 'track_1', 'track2', 'track_2', 'Track2Data', 'track_data', 'trackdata', 'magstripe', 'mag_stripe', 'pin', 'PIN',
    'pin_block', 'pinblock', 'PINBlock', 'customer_pin', 'pin_code',
  ])('%s is sensitive', (name) => expect(isSensitiveColumn(name)).toBe(true));

  it.each([
    'id', 'pan_token', 'card_last4', 'expiry', 'cardholder_name', 'pinned', 'spin', 'opinion', 'cidr', 'cvvx', 'track', 'tracking_number',
    'security', 'code', 'verification_status', 'card', 'pins_total',
  ])('%s is not', (name) => expect(isSensitiveColumn(name)).toBe(false));
});

describe('bindings', () => {
  it('INSERT … VALUES, every row, literals and parameters', () => {
    check("INSERT INTO cards (token, cvv) VALUES ('tok_1', '123')", ["cvv='123'"]);
    check('INSERT INTO cards (token, cvv) VALUES ($1, $2)', ['cvv=$2']);
    check("INSERT INTO cards (token, cvv, pin) VALUES ('a', '111', 1234), ('b', '222', -42), ($1, $2, $3)", [
      "cvv='111'",
      'pin=1234',
      "cvv='222'",
      'pin=-42',
      'cvv=$2',
      'pin=$3',
    ]);
    check("INSERT INTO cards (cvv) VALUES ('12' || '3'), (upper($1::text))", ["cvv='12'", "cvv='3'", 'cvv=$1']);
  });

  it('INSERT … SELECT of one plain SELECT, by position', () => {
    check("INSERT INTO cards (token, cvv) SELECT 'tok', '999'", ["cvv='999'"]);
  });

  it('INSERT without a column list cannot be bound (documented)', () => {
    check("INSERT INTO cards VALUES ('tok', '123')", []);
  });

  it('UPDATE … SET, ON CONFLICT DO UPDATE, MERGE', () => {
    check("UPDATE cards SET cvv = '123', note = 'x' WHERE id = 7", ["cvv='123'"]);
    check('UPDATE cards SET cvv = $1 WHERE id = $2', ['cvv=$1']);
    check("UPDATE cards SET (note, cvv) = ('x', '456')", ["cvv='456'"]);
    check("INSERT INTO cards (id, cvv) VALUES (1, '111') ON CONFLICT (id) DO UPDATE SET cvv = '222'", ["cvv='111'", "cvv='222'"]);
    check(
      "MERGE INTO cards c USING incoming i ON c.id = i.id WHEN MATCHED THEN UPDATE SET cvv = '333' WHEN NOT MATCHED THEN INSERT (id, cvv) VALUES (i.id, '444')",
      ["cvv='333'", "cvv='444'"],
    );
  });

  it('comparisons in WHERE, on either side, IN lists, LIKE, BETWEEN, CASE', () => {
    check("SELECT id FROM cards WHERE cvv = '123'", ["cvv='123'"]);
    check('SELECT id FROM cards WHERE cvv = $1', ['cvv=$1']);
    check("SELECT id FROM cards WHERE '123' = cvv", ["cvv='123'"]);
    check("SELECT id FROM cards WHERE c.cvv IN ('1', '2') AND id = 5", ["cvv='1'", "cvv='2'"]);
    check("SELECT id FROM cards WHERE track_2 LIKE ';4111%'", ["track_2=';4111%'"]);
    check("SELECT id FROM cards WHERE pin BETWEEN 1000 AND 1999", ['pin=1000', 'pin=1999']);
    check("SELECT id FROM cards WHERE lower(card_cvv) <> '12a'", ["card_cvv='12a'"]);
    check("SELECT CASE cvv WHEN '000' THEN 'bad' ELSE 'ok' END FROM cards", ["cvv='000'"]);
    check("DELETE FROM cards WHERE cvv = '123' OR pin = '9999'", ["cvv='123'", "pin='9999'"]);
    check("SELECT id FROM cards WHERE cvv = '123'::text", ["cvv='123'"]);
    check("SELECT id FROM cards WHERE cvv IS NULL AND token = 'abc'", []);
  });

  it('every statement of a multi-statement string', () => {
    check("SELECT 1 WHERE 'x' = 'y'; UPDATE cards SET cvv = '777'; SELECT * FROM cards WHERE pin = 12", ["cvv='777'", 'pin=12']);
  });

  it('a custom predicate replaces the default', async () => {
    const custom = await SqlClassifier.create({ sensitiveColumn: (n) => n === 'secret' });
    const sql = "UPDATE t SET secret = 's', cvv = '1'";
    expect(bound(sql, custom.classify(sql))).toEqual(["secret='s'"]);
  });
});

describe('offsets', () => {
  it('are UTF-8 byte offsets, with multi-byte text before the literal', () => {
    const sql = "INSERT INTO cartes (titulaire, cvv) VALUES ('Zoë Müller 山田 😀', '321')";
    const c = check(sql, ["cvv='321'"]);
    const b = c.statements[0]!.sensitive[0]!;
    expect(b).toEqual({ kind: 'literal', start: Buffer.byteLength(sql.slice(0, sql.indexOf("'321'"))), end: Buffer.byteLength(sql.slice(0, sql.indexOf("'321'") + 5)), column: 'cvv' });
    expect(b.kind === 'literal' && b.start).not.toBe(sql.indexOf("'321'")); // bytes, not UTF-16 units
  });

  it('cover every literal form exactly', () => {
    check("SELECT 1 FROM c WHERE cvv = E'1\\'2'", ["cvv=E'1\\'2'"]);
    check("SELECT 1 FROM c WHERE cvv = $$12'3$$", ["cvv=$$12'3$$"]);
    check("SELECT 1 FROM c WHERE cvv = $x$123$x$", ['cvv=$x$123$x$']);
    check("SELECT 1 FROM c WHERE cvv = U&'\\0031\\0032'", ["cvv=U&'\\0031\\0032'"]);
    check("SELECT 1 FROM c WHERE cvv = 'a\\b'", ["cvv='a\\b'"]);
    check("SELECT 1 FROM c WHERE cvv = 'it''s'", ["cvv='it''s'"]);
    check("SELECT 1 FROM c WHERE cvv = '12'\n  '3' -- continued", ["cvv='12'\n  '3'"]);
    check("SELECT 1 FROM c WHERE pin = - /* sign */ 1234", ['pin=- /* sign */ 1234']);
    check('SELECT 1 FROM c WHERE pin = 0x4D2', ['pin=0x4D2']);
    check('SELECT 1 FROM c WHERE pin = 1_234', ['pin=1_234']);
    check('SELECT 1 FROM c WHERE pin = 12.5e1', ['pin=12.5e1']);
    check("SELECT 1 FROM c WHERE cvv = B'101'", ["cvv=B'101'"]);
    check("SELECT 1 FROM c /* é */ WHERE cvv = 'é1'", ["cvv='é1'"]);
  });
});

describe('redactForRecording', () => {
  it('replaces exactly the bound literals, keeping the rest byte for byte', () => {
    const sql = "INSERT INTO cartes (nom, cvv, pin) VALUES ('Zoë', '321', -1234), ('山田', $1, 0042)";
    const c = classifier.classify(sql);
    expect(classifier.redactForRecording(sql, c)).toBe(
      "INSERT INTO cartes (nom, cvv, pin) VALUES ('Zoë', '[REDACTED]', '[REDACTED]'), ('山田', $1, '[REDACTED]')",
    );
  });

  it('the redacted text still parses to the same classes', () => {
    const sql = "BEGIN; UPDATE cards SET cvv = E'9\\'9' WHERE pin = 1234; COMMIT";
    const c = uncached.classify(sql);
    const red = classifier.redactForRecording(sql, c);
    expect(red).toBe("BEGIN; UPDATE cards SET cvv = '[REDACTED]' WHERE pin = '[REDACTED]'; COMMIT");
    expect(uncached.classify(red).statements.map((s) => s.class)).toEqual(c.statements.map((s) => s.class));
  });

  it('returns the text unchanged when nothing is bound', () => {
    const sql = "SELECT * FROM orders WHERE note = 'cvv 123'";
    expect(classifier.redactForRecording(sql, classifier.classify(sql))).toBe(sql);
  });

  it('redacts every literal of a statement that does not parse, and all of one that does not lex', () => {
    const bad = "INSERT INTO cards (cvv) VALUES ('123'";
    expect(classifier.redactForRecording(bad, classifier.classify(bad))).toBe("INSERT INTO cards (cvv) VALUES ('[REDACTED]'");
    const unlexable = "UPDATE cards SET cvv = '123";
    expect(classifier.redactForRecording(unlexable, classifier.classify(unlexable))).toBe("'[REDACTED]'");
  });

  it('refuses a classification of another text', () => {
    const c = classifier.classify("UPDATE cards SET cvv = '123456789'");
    expect(() => classifier.redactForRecording("UPDATE c SET cvv = '1'", c)).toThrow(expect.objectContaining({ code: 'E_SQL_REDACT' }));
  });
});
