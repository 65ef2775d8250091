/**
 * Reading libpg_query's JSON parse tree. A node is an object with one key, its type (`{ "SelectStmt": {…} }`);
 * fields whose C type is a specific struct (a RangeVar `relation`, a WithClause) hold the struct bare; fields
 * equal to their zero value (false, 0, empty) are omitted. Nothing here trusts a shape: every accessor
 * tolerates a missing or unexpected field.
 */
export type Obj = { readonly [key: string]: unknown };

export interface AstNode {
  type: string;
  body: Obj;
}

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The node wrapped in `v` (`{ Type: body }`), or undefined for arrays, scalars and bare structs. */
export function asNode(v: unknown): AstNode | undefined {
  if (!isObj(v)) return undefined;
  let type: string | undefined;
  for (const k in v) {
    if (type !== undefined) return undefined;
    type = k;
  }
  if (type === undefined) return undefined;
  const first = type.charCodeAt(0);
  if (first < 65 || first > 90) return undefined;
  const body = v[type];
  return isObj(body) ? { type, body } : undefined;
}

/** The body of `v` when it is a node of `type`. */
export function nodeBody(v: unknown, type: string): Obj | undefined {
  const n = asNode(v);
  return n?.type === type ? n.body : undefined;
}

export function list(v: unknown): readonly unknown[] {
  return Array.isArray(v) ? v : [];
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function num(v: unknown): number | undefined {
  return typeof v === 'number' ? v : undefined;
}

/** The strings of a list of String nodes (qualified names), or undefined if any element is something else. */
export function nameList(v: unknown): string[] | undefined {
  const out: string[] = [];
  for (const item of list(v)) {
    const s = str(nodeBody(item, 'String')?.sval);
    if (s === undefined) return undefined;
    out.push(s);
  }
  return out.length > 0 ? out : undefined;
}

/** A bare or wrapped RangeVar. */
export function asRangeVar(v: unknown): Obj | undefined {
  const wrapped = nodeBody(v, 'RangeVar');
  if (wrapped) return wrapped;
  return isObj(v) && typeof v.relname === 'string' && typeof v.relpersistence === 'string' ? v : undefined;
}

/** An identifier as SQL would need it written: bare when it is a plain lower-case name, else double-quoted. */
export function quoteIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

export function qualifiedName(parts: readonly string[]): string {
  return parts.map(quoteIdent).join('.');
}

/** catalog.schema.relation as written (absent parts left out). */
export function rangeVarParts(rv: Obj): string[] | undefined {
  if (str(rv.relname) === undefined) return undefined;
  return [rv.catalogname, rv.schemaname, rv.relname].filter((p): p is string => typeof p === 'string' && p !== '');
}

/** An A_Const that holds a value written as a literal (not NULL, TRUE or FALSE, which are keywords). */
export function isLiteralConst(body: Obj): boolean {
  return 'ival' in body || 'fval' in body || 'sval' in body || 'bsval' in body;
}
