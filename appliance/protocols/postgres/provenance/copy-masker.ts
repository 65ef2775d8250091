/**
 * COPY … TO STDOUT, masked field by field like a result: PostgreSQL sends one CopyData message per row, in
 * text format (fields split by the delimiter, `\N` for NULL, special characters backslash-escaped) or CSV
 * (fields quoted when needed, the quote doubled inside). The row's fields follow the COPY's columns,
 * whose provenance the statement gives. A row that does not split into that many fields is withheld when
 * any column needs more than a scan (fail closed).
 */
import { asNode, isObj, list, nodeBody, str } from '../../../sql/ast.ts';
import type { ColumnClass } from './column-classes.ts';
import type { Field } from './provenance.ts';

export interface CopyLayout {
  csv: boolean;
  delimiter: string;
  quote: string;
  nullText: string;
  header: boolean;
}

/** The layout of a COPY TO STDOUT statement's rows, or undefined for binary or an option Vigil does not read. */
export function copyLayout(tree: unknown): CopyLayout | undefined {
  const n = asNode(tree);
  if (n?.type !== 'CopyStmt') return undefined;
  let csv = false;
  let delimiter: string | undefined;
  let quote = '"';
  let nullText: string | undefined;
  let header = false;
  let escape: string | undefined;
  for (const o of list(n.body.options)) {
    const d = nodeBody(o, 'DefElem');
    const name = str(d?.defname);
    const value = str(nodeBody(d?.arg, 'String')?.sval);
    if (name === 'format') {
      if (value === 'csv') csv = true;
      else if (value !== 'text') return undefined;
    } else if (name === 'delimiter' && value !== undefined) delimiter = value;
    else if (name === 'quote' && value !== undefined) quote = value;
    else if (name === 'null' && value !== undefined) nullText = value;
    else if (name === 'header') header = d?.arg === undefined || !/^(f|false|off|0|no)$/i.test(value ?? optionText(d.arg));
    else if (name === 'escape' && value !== undefined) escape = value;
    else if (name !== 'force_quote' && name !== 'encoding' && name !== 'freeze' && name !== 'force_not_null' && name !== 'force_null') return undefined;
  }
  delimiter ??= csv ? ',' : '\t';
  if (delimiter.length !== 1 || quote.length !== 1) return undefined;
  // Only the CSV default, the escape being the quote itself (doubled quotes), is read.
  if (escape !== undefined && escape !== quote) return undefined;
  return { csv, delimiter, quote, nullText: nullText ?? (csv ? '' : '\\N'), header };
}

/** A Boolean or Integer option value as text. */
function optionText(arg: unknown): string {
  const b = nodeBody(arg, 'Boolean');
  if (b) return b.boolval === true ? 'true' : 'false';
  const i = nodeBody(arg, 'Integer');
  return i ? String(isObj(i) ? (i.ival ?? 0) : 0) : 'true';
}

export type FieldMask = (value: string, cls: ColumnClass, plain: boolean) => string;

/**
 * The masked row (with its newline), or undefined when it does not split into `columns` fields. `first`:
 * the first row of the COPY, which is the header when the layout has one.
 */
export function maskCopyRow(row: string, layout: CopyLayout, columns: readonly Field[], first: boolean, mask: FieldMask): string | undefined {
  const nl = row.endsWith('\r\n') ? '\r\n' : row.endsWith('\n') ? '\n' : '';
  const body = row.slice(0, row.length - nl.length);
  const fields = layout.csv ? splitCsv(body, layout) : body.split(layout.delimiter).map((v) => ({ v, quoted: false }));
  if (!fields || fields.length !== columns.length) return undefined;
  if (first && layout.header) return row;
  const out = fields.map((f, i) => {
    if (!f.quoted && f.v === layout.nullText) return f.v;
    const c = columns[i]!.prov;
    const masked = mask(f.v, c.cls, c.plain);
    if (!layout.csv) return masked;
    // Quoted as PostgreSQL quoted it, or when masking put a character there that needs quotes.
    const needs = f.quoted || masked.includes(layout.delimiter) || masked.includes(layout.quote) || /[\r\n]/.test(masked);
    return needs ? `${layout.quote}${masked.split(layout.quote).join(layout.quote + layout.quote)}${layout.quote}` : masked;
  });
  return out.join(layout.delimiter) + nl;
}

function splitCsv(line: string, l: CopyLayout): { v: string; quoted: boolean }[] | undefined {
  const out: { v: string; quoted: boolean }[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === l.quote) {
      let v = '';
      i++;
      for (;;) {
        if (i >= line.length) return undefined;
        if (line[i] === l.quote) {
          if (line[i + 1] === l.quote) {
            v += l.quote;
            i += 2;
            continue;
          }
          i++;
          break;
        }
        v += line[i++];
      }
      out.push({ v, quoted: true });
    } else {
      const j = line.indexOf(l.delimiter, i);
      out.push({ v: j < 0 ? line.slice(i) : line.slice(i, j), quoted: false });
      i = j < 0 ? line.length : j;
    }
    if (i >= line.length) return out;
    if (line[i] !== l.delimiter) return undefined;
    i++;
    if (i === line.length) {
      out.push({ v: '', quoted: false });
      return out;
    }
  }
}
