import { describe, expect, it } from 'vitest';
import type { CatalogRelation } from '../../../../appliance/protocols/postgres/catalog/target-catalog.ts';
import {
  CLASS_RANK,
  ownClass,
  relationClasses,
  stricter,
  type ClassRules,
  type SourceColumn,
} from '../../../../appliance/protocols/postgres/provenance/column-classes.ts';
import { isPanColumn } from '../../../../appliance/sql/index.ts';

describe('isPanColumn', () => {
  it.each([
    'pan', 'PAN', 'card_number', 'CardNumber', 'cardNumber', 'CARD_NUMBER', 'card-number', 'cardnumber', 'cc_num', 'CCNum', 'ccnum', 'cc_number',
    'ccnumber', 'cc_no', 'credit_card_no', 'credit_card', 'creditcard', 'CreditCardNumber', 'creditcardnumber', 'customer_pan', 'card_pan',
    'primary_account_number', 'card_no', 'cardNo', 'card_nr', 'card_num', 'cardnum', 'cardno', 'pan_encrypted', 'billing_card_number_v2',
    'pan1', 'pan_2', 'card_numbers', 'cardnumbers', 'card_number2', 'cc_numbers', 'credit_cards',
  ])('%s holds PANs', (name) => expect(isPanColumn(name)).toBe(true));

  it.each([
    'panel', 'japan', 'card_type', 'expansion', 'span', 'pane', 'panama', 'company', 'pantry', 'card', 'number', 'cc', 'credit', 'card_last4',
    'cardholder_name', 'account_number', 'card_expiry', 'order_number', 'cvv', 'pin', 'id', 'spanish_name', 'cardinal', 'number_of_cards',
  ])('%s does not', (name) => expect(isPanColumn(name)).toBe(false));
});

describe('stricter / CLASS_RANK', () => {
  it('orders none < cardholder < pan < sad', () => {
    expect(CLASS_RANK.none).toBeLessThan(CLASS_RANK.cardholder);
    expect(CLASS_RANK.cardholder).toBeLessThan(CLASS_RANK.pan);
    expect(CLASS_RANK.pan).toBeLessThan(CLASS_RANK.sad);
    expect(stricter('pan', 'sad')).toBe('sad');
    expect(stricter('sad', 'pan')).toBe('sad');
    expect(stricter('none', 'cardholder')).toBe('cardholder');
    expect(stricter('none', 'none')).toBe('none');
  });
});

describe('ownClass', () => {
  const NO_RULES: ClassRules = { pan: [], sad: [], redact: [] };
  const col = (column: string, more: Partial<SourceColumn> = {}): SourceColumn => ({ schema: 'public', table: 't', column, comment: null, ...more });

  it('by name: card-security data is sad, PAN columns pan, anything else none', () => {
    expect(ownClass(col('cvv'), NO_RULES)).toBe('sad');
    expect(ownClass(col('card_security_code'), NO_RULES)).toBe('sad');
    expect(ownClass(col('track2'), NO_RULES)).toBe('sad');
    expect(ownClass(col('card_number'), NO_RULES)).toBe('pan');
    expect(ownClass(col('email'), NO_RULES)).toBe('none');
  });

  it('a name with both words is sad (the stricter)', () => {
    expect(ownClass(col('pan_cvv'), NO_RULES)).toBe('sad');
  });

  it('config globs (schema.table.column) for PAN and card-security columns', () => {
    const rules: ClassRules = { pan: ['billing.cards.number', 'vault.*.acct'], sad: ['*.*.secret_code'], redact: [] };
    expect(ownClass(col('number', { schema: 'billing', table: 'cards' }), rules)).toBe('pan');
    expect(ownClass(col('number', { schema: 'public', table: 'cards' }), rules)).toBe('none');
    expect(ownClass(col('number', { schema: 'billing', table: 'orders' }), rules)).toBe('none');
    expect(ownClass(col('acct', { schema: 'vault', table: 'anything' }), rules)).toBe('pan');
    expect(ownClass(col('secret_code', { schema: 'x', table: 'y' }), rules)).toBe('sad');
  });

  it('a glob must match the whole name, and . is literal', () => {
    const rules: ClassRules = { pan: ['billing.cards.num'], sad: [], redact: [] };
    expect(ownClass(col('number', { schema: 'billing', table: 'cards' }), rules)).toBe('none');
    expect(ownClass(col('num', { schema: 'billingXcards', table: undefined }), rules)).toBe('none');
  });

  it('a bare name in config matches the column in any table', () => {
    const rules: ClassRules = { pan: ['acct_ref'], sad: ['otp'], redact: [] };
    expect(ownClass(col('acct_ref', { schema: 'a', table: 'b' }), rules)).toBe('pan');
    expect(ownClass(col('otp', { schema: undefined, table: undefined }), rules)).toBe('sad');
  });

  it('table.column names that column of a table of that name in any schema', () => {
    const rules: ClassRules = { pan: ['orders.cc'], sad: ['orders.sec*'], redact: ['people.ssn'] };
    expect(ownClass(col('cc', { schema: 'public', table: 'orders' }), rules)).toBe('pan');
    expect(ownClass(col('cc', { schema: 'archive', table: 'orders' }), rules)).toBe('pan');
    expect(ownClass(col('cc', { schema: 'public', table: 'refunds' }), rules)).toBe('none');
    expect(ownClass(col('sec_code', { schema: 'x', table: 'orders' }), rules)).toBe('sad');
    expect(ownClass(col('ssn', { schema: 'hr', table: 'people' }), rules)).toBe('sad');
  });

  it("the policy's redactColumns are redacted like card-security data", () => {
    const rules: ClassRules = { pan: [], sad: [], redact: ['ssn', 'hr.people.salary', 'hr.*.bonus*'] };
    expect(ownClass(col('ssn', { schema: 'any', table: 'thing' }), rules)).toBe('sad');
    expect(ownClass(col('salary', { schema: 'hr', table: 'people' }), rules)).toBe('sad');
    expect(ownClass(col('salary', { schema: 'hr', table: 'other' }), rules)).toBe('none');
    expect(ownClass(col('bonus_2024', { schema: 'hr', table: 'x' }), rules)).toBe('sad');
  });

  it('a column Vigil could not place matches only globs that allow any schema and table', () => {
    const rules: ClassRules = { pan: ['*.*.acct'], sad: ['billing.cards.code'], redact: [] };
    const unplaced = (column: string) => col(column, { schema: undefined, table: undefined });
    expect(ownClass(unplaced('acct'), rules)).toBe('pan');
    expect(ownClass(unplaced('code'), rules)).toBe('none');
  });

  it('comments vigil:pan and vigil:sad, as words', () => {
    expect(ownClass(col('ref', { comment: 'vigil:pan' }), NO_RULES)).toBe('pan');
    expect(ownClass(col('ref', { comment: 'encrypted; vigil:pan (legacy)' }), NO_RULES)).toBe('pan');
    expect(ownClass(col('ref', { comment: 'vigil:sad' }), NO_RULES)).toBe('sad');
    expect(ownClass(col('ref', { comment: 'vigil:pan vigil:sad' }), NO_RULES)).toBe('sad');
    expect(ownClass(col('ref', { comment: 'vigil:panel' }), NO_RULES)).toBe('none');
    expect(ownClass(col('ref', { comment: 'xvigil:pan' }), NO_RULES)).toBe('none');
    expect(ownClass(col('ref', { comment: 'vigil pan' }), NO_RULES)).toBe('none');
    expect(ownClass(col('ref', { comment: '' }), NO_RULES)).toBe('none');
  });
});

describe('relationClasses: the cardholder-table rule', () => {
  const NO_RULES: ClassRules = { pan: [], sad: [], redact: [] };
  const rel = (columns: [string, string | null][], schema = 'public', name = 't'): CatalogRelation => ({
    oid: 1,
    schema,
    name,
    kind: 'r',
    columns: columns.map(([n, comment], i) => ({ attnum: i + 1, name: n, typeOid: 25, comment })),
    definition: null,
    policyFunctions: [],
  });

  it('a table holding PANs: its other columns are cardholder data', () => {
    const classes = relationClasses(rel([['id', null], ['card_number', null], ['email', null]]), NO_RULES);
    expect([...classes]).toEqual([
      [1, 'cardholder'],
      [2, 'pan'],
      [3, 'cardholder'],
    ]);
  });

  it('a table holding card-security data only: the same', () => {
    const classes = relationClasses(rel([['id', null], ['cvv', null]]), NO_RULES);
    expect([...classes]).toEqual([
      [1, 'cardholder'],
      [2, 'sad'],
    ]);
  });

  it('a table without card data: every column none', () => {
    const classes = relationClasses(rel([['id', null], ['email', null], ['panel', null]]), NO_RULES);
    expect([...classes.values()]).toEqual(['none', 'none', 'none']);
  });

  it('a comment or a config glob is enough to make it a cardholder table', () => {
    expect([...relationClasses(rel([['id', null], ['ref', 'vigil:pan']]), NO_RULES).values()]).toEqual(['cardholder', 'pan']);
    const rules: ClassRules = { pan: ['billing.accounts.ref'], sad: [], redact: [] };
    expect([...relationClasses(rel([['id', null], ['ref', null]], 'billing', 'accounts'), rules).values()]).toEqual(['cardholder', 'pan']);
    expect([...relationClasses(rel([['id', null], ['ref', null]], 'public', 'accounts'), rules).values()]).toEqual(['none', 'none']);
  });

  it("redactColumns count too (they are redacted like card-security data)", () => {
    const rules: ClassRules = { pan: [], sad: [], redact: ['ssn'] };
    expect([...relationClasses(rel([['id', null], ['ssn', null]]), rules).values()]).toEqual(['cardholder', 'sad']);
  });

  it('keys are attribute numbers, not positions', () => {
    const r = rel([['id', null], ['pan', null]]);
    r.columns[0]!.attnum = 1;
    r.columns[1]!.attnum = 5; // a dropped column in between
    expect([...relationClasses(r, NO_RULES)]).toEqual([
      [1, 'cardholder'],
      [5, 'pan'],
    ]);
  });
});
