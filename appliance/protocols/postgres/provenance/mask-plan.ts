/**
 * A result's masking plan, one action per column, from two sources that must agree: where the statement's
 * parse tree says each column comes from (provenance.ts), and what the server says in RowDescription
 * (the table and column a plain column comes from, which it reports through aliases, subqueries and
 * CTEs). The stricter of the two decides. When the tree's output shape is uncertain or does not match the
 * RowDescription, every column the server does not place is treated as derived from everything the
 * statement reads.
 *
 *   card-security data, or a derived value of a PAN column → redact (policy may block instead, earlier)
 *   a plain PAN column → every digit but the first 6 and last 4 masked, whatever the value looks like
 *   a column of a table holding card data → scanned in strict mode
 *   anything else → scanned (normal mode), by type
 */
import type { FieldDescription } from '../wire/index.ts';
import { CANNOT_HOLD_PAN, NUMERIC, OID, PLAIN_TEXT, STRICT_OR_NULL, TEXT_LIKE } from '../pg-types.ts';
import { stricter, type ColumnClass } from './column-classes.ts';
import type { Prov, StatementOutput } from './provenance.ts';
import type { RowShape } from './structured-values.ts';

export type ColumnAction =
  | 'pass' // cannot hold a card number
  | 'scan' // text, or binary UTF-8: mask card numbers in place (normal mode)
  | 'scan-strict' // the same in strict mode
  | 'bytea-hex' // text-format bytea: decode \x…, scan the bytes, re-encode
  | 'number' // float / money text: NULL when the number is a card number
  | 'number-binary' // binary int8 / numeric / money / float: NULL when it is a card number
  | 'strict-or-null' // uuid, network, geometric: NULL when strict mode finds card data in the text
  | 'mask-pan' // a plain PAN column: first 6 + last 4 digits
  | 'redact' // '[REDACTED]' for text, the JSON string "[REDACTED]" for json/jsonb, NULL otherwise
  | 'json-row' // a JSON object (or array) of a row: field by field
  | 'unmaskable'; // binary form of a type Vigil cannot read: the row is withheld

export interface ColumnPlan {
  name: string;
  typeOid: number;
  format: number;
  action: ColumnAction;
  /** json-row: the row's fields and their classes. */
  shape?: RowShape;
}

export interface PlanContext {
  /** What a RowDescription origin (table OID, column number; 0: the whole row) is, if the catalog knows it. */
  origin(tableOid: number, attnum: number): Prov | undefined;
  /** A plain PAN column whose source the policy unmasks (masking.unmaskColumns). */
  unmasked(source: string): boolean;
}

export function planResult(fields: readonly FieldDescription[], output: StatementOutput | undefined, ctx: PlanContext): ColumnPlan[] {
  const aligned = output?.exact === true && output.columns.length === fields.length;
  // No output known for a statement that returned rows after all (a FETCH of a cursor Vigil did not see
  // declared, a procedure's OUT values…): scanned strictly, whatever it is.
  const fallback: Prov = { cls: output ? output.referenced : 'cardholder', plain: false };
  return fields.map((f, i) => {
    const fromTree = aligned ? output.columns[i]!.prov : undefined;
    const fromServer = f.tableOid !== 0 ? ctx.origin(f.tableOid, f.columnAttr) : undefined;
    const prov = combine(fromTree ?? (fromServer ? undefined : fallback), fromServer);
    return { name: f.name, typeOid: f.typeOid, format: f.format, ...decide(f, prov, ctx) };
  });
}

function combine(a: Prov | undefined, b: Prov | undefined): Prov {
  if (!a) return b ?? { cls: 'none', plain: false };
  if (!b) return a;
  // The server only names an origin for a column passed through unchanged: it is plain, whatever the tree says.
  return { cls: stricter(a.cls, b.cls), plain: b.plain, ...(b.source ? { source: b.source } : a.source ? { source: a.source } : {}), ...(a.row && !b.plain ? { row: a.row } : b.row ? { row: b.row } : {}) };
}

function decide(f: FieldDescription, p: Prov, ctx: PlanContext): { action: ColumnAction; shape?: RowShape } {
  const cls: ColumnClass = p.cls;
  if (p.row && cls !== 'none') {
    const shape = { names: p.row.fields.map((x) => x.name), classes: p.row.fields.map((x) => x.prov.cls) };
    // Field by field only for JSON, which clients parse and which stays valid with a field replaced by a
    // string; a row value (a record) is redacted whole: its fields keep their types, '[REDACTED]' fits none.
    if (p.row.as === 'json' && f.format === 0 && (f.typeOid === OID.json || f.typeOid === OID.jsonb)) return { action: 'json-row', shape };
    return { action: 'redact' };
  }
  if (cls === 'sad') return { action: 'redact' };
  if (cls === 'pan') {
    if (!p.plain) return { action: 'redact' };
    if (p.source && ctx.unmasked(p.source)) return { action: 'pass' };
    if (f.format !== 0) return { action: TEXT_LIKE.has(f.typeOid) ? 'mask-pan' : 'redact' };
    return { action: f.typeOid === OID.bytea ? 'redact' : 'mask-pan' };
  }
  return { action: byType(f, cls === 'cardholder') };
}

function byType(f: FieldDescription, strict: boolean): ColumnAction {
  if (CANNOT_HOLD_PAN.has(f.typeOid)) return 'pass';
  if (STRICT_OR_NULL.has(f.typeOid)) return f.format === 0 ? 'strict-or-null' : 'unmaskable';
  if (f.format === 0) {
    if (f.typeOid === OID.bytea) return 'bytea-hex';
    if (NUMERIC.has(f.typeOid)) return 'number';
    return strict ? 'scan-strict' : 'scan';
  }
  if (TEXT_LIKE.has(f.typeOid) || f.typeOid === OID.bytea) return strict ? 'scan-strict' : 'scan';
  if (f.typeOid === OID.int8 || f.typeOid === OID.numeric || NUMERIC.has(f.typeOid)) return 'number-binary';
  return 'unmaskable';
}

/** The redacted value of a column: what keeps the type valid where one exists, NULL everywhere else. */
export function redactedValue(typeOid: number, format: number): Buffer | null {
  if (PLAIN_TEXT.has(typeOid) || typeOid === OID.xml) return REDACTED_TEXT;
  if (typeOid === OID.json || (typeOid === OID.jsonb && format === 0)) return REDACTED_JSON;
  if (typeOid === OID.jsonb) return REDACTED_JSONB_BINARY;
  return null;
}

const REDACTED_TEXT = Buffer.from('[REDACTED]');
const REDACTED_JSON = Buffer.from('"[REDACTED]"');
const REDACTED_JSONB_BINARY = Buffer.concat([Buffer.from([1]), REDACTED_JSON]);
