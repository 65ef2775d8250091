import { describe, expect, it } from 'vitest';
import { exactCommandBytes } from '../../../../appliance/protocols/postgres/command-bytes.ts';

const sql = (s: string) => Buffer.from(s, 'utf8');

describe('exactCommandBytes: layout', () => {
  it('matches the documented layout byte for byte (Execute with text, binary, NULL and empty parameters)', () => {
    const out = exactCommandBytes('E', sql('SELECT $1,$2,$3'), [Buffer.from([0x61, 0x62]), null, Buffer.alloc(0)], [1, 0, 0]);
    const expected = Buffer.concat([
      Buffer.from('vigil-pg-command-v1', 'latin1'),
      Buffer.from([0x00]),
      Buffer.from([0x45]), // 'E'
      Buffer.from([0x00, 0x00, 0x00, 0x0f]), // 15 bytes of SQL
      Buffer.from('SELECT $1,$2,$3', 'latin1'),
      Buffer.from([0x00, 0x03]), // 3 parameters
      Buffer.from([0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x61, 0x62]), // binary, 2 bytes "ab"
      Buffer.from([0x00, 0x00, 0xff, 0xff, 0xff, 0xff]), // text, NULL (-1), no bytes
      Buffer.from([0x00, 0x00, 0x00, 0x00, 0x00, 0x00]), // text, 0 bytes
    ]);
    expect(out.toString('hex')).toBe(expected.toString('hex'));
  });

  it('a simple Query without parameters', () => {
    const out = exactCommandBytes('Q', sql('SELECT 1'));
    expect(out.toString('hex')).toBe(
      Buffer.from('vigil-pg-command-v1\0', 'latin1').toString('hex') + '51' + '00000008' + Buffer.from('SELECT 1').toString('hex') + '0000',
    );
  });

  it('counts the SQL length in UTF-8 bytes, not characters', () => {
    const text = sql("SELECT 'é€'");
    const out = exactCommandBytes('Q', text);
    expect(out.readUInt32BE(21)).toBe(text.length);
    expect(text.length).toBeGreaterThan("SELECT 'é€'".length);
    expect(out.subarray(25, 25 + text.length).equals(text)).toBe(true);
  });

  it('one format code applies to every parameter; missing codes are text', () => {
    const params = [Buffer.from('a'), Buffer.from('b')];
    const one = exactCommandBytes('E', sql('x'), params, [1]);
    const both = exactCommandBytes('E', sql('x'), params, [1, 1]);
    expect(one.equals(both)).toBe(true);
    const none = exactCommandBytes('E', sql('x'), params, []);
    const zeros = exactCommandBytes('E', sql('x'), params, [0, 0]);
    expect(none.equals(zeros)).toBe(true);
  });

  it('is deterministic (no uninitialised bytes) and exactly as long as its parts', () => {
    const args = [sql('SELECT $1'), [Buffer.from('xyz'), null], [0, 1]] as const;
    const a = exactCommandBytes('E', args[0], args[1], args[2]);
    const b = exactCommandBytes('E', Buffer.from(args[0]), args[1].map((p) => (p ? Buffer.from(p) : p)), args[2]);
    expect(a.equals(b)).toBe(true);
    expect(a.length).toBe(20 + 1 + 4 + 9 + 2 + (2 + 4 + 3) + (2 + 4));
  });
});

describe('exactCommandBytes: what must differ does', () => {
  const enc = (p: (Buffer | null)[], f: number[] = [], kind: 'Q' | 'E' = 'E', text = 'SELECT $1') => exactCommandBytes(kind, sql(text), p, f).toString('hex');

  it('NULL, a 0xff byte and an empty string are three different commands', () => {
    const variants = [enc([null]), enc([Buffer.from([0xff])]), enc([Buffer.alloc(0)]), enc([Buffer.from([0xff, 0xff, 0xff, 0xff])])];
    expect(new Set(variants).size).toBe(variants.length);
  });

  it('the same bytes in text and in binary format differ', () => {
    const v = Buffer.from('42');
    expect(enc([v], [0])).not.toBe(enc([v], [1]));
  });

  it("a simple Query ('Q') and an Execute ('E') of the same text differ", () => {
    expect(enc([], [], 'Q')).not.toBe(enc([], [], 'E'));
  });

  it('bytes cannot move between the SQL text and the parameters, or between parameters', () => {
    const variants = [
      exactCommandBytes('E', sql('ab'), [Buffer.from('c')]),
      exactCommandBytes('E', sql('a'), [Buffer.from('bc')]),
      exactCommandBytes('E', sql('a'), [Buffer.from('b'), Buffer.from('c')]),
      exactCommandBytes('E', sql('a'), [Buffer.from('bc'), Buffer.alloc(0)]),
      exactCommandBytes('E', sql('abc'), []),
      exactCommandBytes('E', sql('a'), [Buffer.from('b'), null]),
    ].map((b) => b.toString('hex'));
    expect(new Set(variants).size).toBe(variants.length);
  });

  it('parameter order matters', () => {
    expect(enc([Buffer.from('1'), Buffer.from('2')])).not.toBe(enc([Buffer.from('2'), Buffer.from('1')]));
  });
});
