/**
 * Where each output column of a statement comes from, read from its parse tree — masking follows the data,
 * not the label. An output column is *plain* when it is a source column passed through unchanged (aliased,
 * through subqueries, CTEs, views, set operations), *derived* when an expression computed it; its class is
 * the strictest class of every source column it depends on (provenance/column-classes.ts). A whole-row
 * reference (`SELECT c FROM cards c`, `row_to_json(c)`) depends on all the row's columns and keeps them, so
 * the masker can mask the row field by field and keep JSON valid.
 *
 * What this cannot follow (documented in docs/postgres-gateway.md): data inside functions Vigil cannot see
 * into (a user function returning a CVV), data written into another table by an earlier statement, and what
 * filters reveal (`WHERE cvv = '123'` returns rows, not the CVV). When the shape of the output cannot be
 * known exactly (`*` over a function or a relation the catalog does not know), `exact` is false and the
 * masker treats every non-plain column as derived from everything the statement reads.
 */
import { asNode, isObj, list, nodeBody, str, type Obj } from '../../../sql/ast.ts';
import type { CatalogRelation } from '../catalog/target-catalog.ts';
import { CLASS_RANK, stricter, type ColumnClass } from './column-classes.ts';
import { builtinFunction, type FunctionEffect } from '../../../sql/builtin-functions.ts';

export interface Field {
  name: string;
  prov: Prov;
}

export interface Prov {
  cls: ColumnClass;
  plain: boolean;
  /** For a plain column: schema.table.column it comes from (what unmaskColumns names). */
  source?: string;
  /** A whole row of these fields (a row value, or a JSON object of the row). */
  row?: { fields: Field[]; as: 'record' | 'json' };
}

export interface StatementOutput {
  columns: Field[];
  /** The column count and order are certain. */
  exact: boolean;
  /** The strictest class of anything the statement reads, anywhere (the fallback for uncertain columns). */
  referenced: ColumnClass;
}

export interface ProvenanceContext {
  /** A relation by its name parts, resolved through the session's search path. */
  relation(parts: readonly string[]): CatalogRelation | undefined;
  /** Class of each of a relation's columns (attnum → class). */
  classes(rel: CatalogRelation): Map<number, ColumnClass>;
  /** The output columns of a view (its definition analysed), or undefined when it cannot be read. */
  viewColumns(rel: CatalogRelation): Field[] | undefined;
  /** The statement behind a cursor or portal name (FETCH). */
  cursor(name: string): unknown;
  /** The class a column name alone gives (for columns of relations or functions the catalog cannot list). */
  nameClass(column: string): ColumnClass;
  /** The statement trees of an SQL text a function runs (undefined elements: statements that do not parse). */
  parse(sql: string): unknown[];
}

const NONE: Prov = { cls: 'none', plain: false };

interface FromItem {
  refname: string | undefined;
  /** schema.name of a relation item (qualified column references can name it). */
  qualified: string | undefined;
  /** Undefined: its columns cannot be listed (a function, an unknown relation). */
  columns: Field[] | undefined;
  /** Any column of an item whose columns are unknown: what it could be derived from. */
  open: Prov;
}

class Scope {
  constructor(
    readonly items: FromItem[],
    readonly parent: Scope | undefined,
    readonly ctes: Map<string, Field[]>,
  ) {}

  cte(name: string): Field[] | undefined {
    return this.ctes.get(name) ?? this.parent?.cte(name);
  }
}

/**
 * SELECT bodies one statement's analysis may read. Nested WITH RECURSIVE lists multiply the work (each is
 * analysed round by round until it settles): without a bound, a statement of a few kilobytes would hold the
 * gateway's event loop for seconds.
 */
const MAX_SELECTS = 10_000;

const SESSION_SQL = new Set(['pg_stat_get_activity', 'pg_stat_get_backend_activity']);

const ROW_JSON = new Set(['row_to_json', 'to_json', 'to_jsonb', 'json_agg', 'jsonb_agg', 'array_to_json']);

export class ProvenanceAnalyzer {
  private referenced: ColumnClass = 'none';
  private exact = true;
  private depth = 0;
  private selects = 0;

  /** `nesting`: how many SQL texts run by functions this analysis is inside (query_to_xml of query_to_xml…). */
  constructor(
    private readonly ctx: ProvenanceContext,
    private readonly nesting = 0,
  ) {}

  /**
   * The strictest class of anything the statements analysed so far read, anywhere (WHERE, SET, a write
   * without RETURNING included): the server's error messages can quote any value it computed.
   */
  get readClass(): ColumnClass {
    return this.referenced;
  }

  /** The output of a statement tree, or undefined when it returns no rows Vigil knows of. */
  statement(tree: unknown): StatementOutput | undefined {
    const n = asNode(tree);
    if (!n) return undefined;
    let columns: Field[] | undefined;
    switch (n.type) {
      case 'SelectStmt':
        columns = this.select(n.body, undefined);
        break;
      case 'InsertStmt':
      case 'UpdateStmt':
      case 'DeleteStmt':
      case 'MergeStmt':
        columns = this.returning(n.type, n.body);
        break;
      case 'CopyStmt':
        columns = this.copy(n.body);
        break;
      case 'DeclareCursorStmt':
        return this.statement(n.body.query);
      case 'ExplainStmt':
        // No rows of its own, but EXPLAIN ANALYZE runs the statement: what it reads counts (readClass).
        this.statement(n.body.query);
        return undefined;
      case 'FetchStmt': {
        const name = str(n.body.portalname);
        const inner = name === undefined ? undefined : this.ctx.cursor(name);
        if (inner === undefined) return undefined;
        return this.statement(inner);
      }
      default:
        return undefined;
    }
    if (!columns) return undefined;
    return { columns, exact: this.exact, referenced: this.referenced };
  }

  // ── statements ───────────────────────────────────────────────────────────────────────────────

  private select(body: Obj, parent: Scope | undefined): Field[] {
    if (++this.depth > 64 || ++this.selects > MAX_SELECTS) {
      // What lies deeper (or past the budget) is not read: it could be anything, card-security data included.
      this.exact = false;
      this.referenced = 'sad';
      this.depth--;
      return [];
    }
    try {
      const ctes = this.withClause(body.withClause, parent);
      const op = str(body.op);
      // LIMIT and OFFSET see no FROM item, but may hold a subquery reading anything (and its errors quote it).
      const limits = () => {
        const outer = new Scope([], parent, ctes);
        this.expr(body.limitCount, outer);
        this.expr(body.limitOffset, outer);
      };
      if ((op && op !== 'SETOP_NONE') || list(body.valuesLists).length > 0) {
        const out = op && op !== 'SETOP_NONE' ? this.setOperation(body, new Scope([], parent, ctes)) : this.values(list(body.valuesLists), new Scope([], parent, ctes));
        limits(); // (ORDER BY of a set operation may only name its output columns)
        return out;
      }
      const scope = new Scope([], parent, ctes);
      for (const f of list(body.fromClause)) scope.items.push(...this.fromItem(f, scope));
      // What the statement reads anywhere counts for the fallback, filters included.
      for (const k of ['whereClause', 'havingClause', 'groupClause', 'sortClause', 'distinctClause', 'windowClause']) this.expr(body[k], scope);
      limits();
      return this.targetList(list(body.targetList), scope);
    } finally {
      this.depth--;
    }
  }

  private setOperation(body: Obj, scope: Scope): Field[] {
    const l = nodeBody({ SelectStmt: body.larg }, 'SelectStmt') ?? (isObj(body.larg) ? body.larg : undefined);
    const r = nodeBody({ SelectStmt: body.rarg }, 'SelectStmt') ?? (isObj(body.rarg) ? body.rarg : undefined);
    const left = l ? this.select(l, scope) : [];
    const right = r ? this.select(r, scope) : [];
    if (left.length !== right.length) this.exact = false;
    return left.map((f, i) => {
      const o = right[i]?.prov ?? NONE;
      return { name: f.name, prov: { cls: stricter(f.prov.cls, o.cls), plain: f.prov.plain && o.plain } };
    });
  }

  private values(rows: readonly unknown[], scope: Scope): Field[] {
    const out: Field[] = [];
    for (const row of rows) {
      list(nodeBody(row, 'List')?.items).forEach((e, i) => {
        const p = derived(this.expr(e, scope));
        out[i] = { name: `column${i + 1}`, prov: out[i] ? { cls: stricter(out[i]!.prov.cls, p.cls), plain: false } : p };
      });
    }
    return out;
  }

  private withClause(w: unknown, parent: Scope | undefined): Map<string, Field[]> {
    const ctes = new Map<string, Field[]>();
    if (!isObj(w)) return ctes;
    const defs: { name: string; query: unknown; aliases: string[] }[] = [];
    for (const c of list(w.ctes)) {
      const cte = nodeBody(c, 'CommonTableExpr');
      const name = str(cte?.ctename);
      if (!cte || name === undefined) continue;
      defs.push({ name, query: cte.ctequery, aliases: list(cte.aliascolnames).map((a) => str(nodeBody(a, 'String')?.sval) ?? '?') });
    }
    const scope = new Scope([], parent, ctes);
    const run = (d: (typeof defs)[number]) => this.rename(this.inner(d.query, scope) ?? [], d.aliases);
    if (w.recursive !== true) {
      // Each CTE sees the ones before it; a name not yet defined is a table.
      for (const d of defs) ctes.set(d.name, run(d));
      return ctes;
    }
    // WITH RECURSIVE: every name of the list is in scope in every CTE of it, itself and later ones included
    // (never a table of the same name). Classes are carried round until nothing changes, so a class moves
    // through as many iterations as the server may run; the last round, with every CTE in place, alone
    // decides whether the shape is exact.
    for (const d of defs) ctes.set(d.name, d.aliases.map((name) => ({ name, prov: { cls: 'none', plain: true } })));
    const exact = this.exact;
    for (let round = 0; ; round++) {
      this.exact = exact;
      let changed = false;
      for (const d of defs) {
        const next = run(d);
        if (!sameFields(next, ctes.get(d.name)!)) changed = true;
        ctes.set(d.name, next);
      }
      if (!changed) break;
      let width = 0;
      for (const f of ctes.values()) width += f.length;
      if (round > 4 * width + 4) {
        this.exact = false;
        break;
      }
    }
    return ctes;
  }

  /** The output of a statement nested in another (a CTE body, a subquery): SELECT or DML with RETURNING. */
  private inner(tree: unknown, scope: Scope): Field[] | undefined {
    const n = asNode(tree);
    if (!n) return undefined;
    if (n.type === 'SelectStmt') return this.select(n.body, scope);
    if (n.type === 'InsertStmt' || n.type === 'UpdateStmt' || n.type === 'DeleteStmt' || n.type === 'MergeStmt') return this.returning(n.type, n.body, scope);
    this.exact = false;
    return undefined;
  }

  private returning(type: string, body: Obj, parent?: Scope): Field[] | undefined {
    const ctes = this.withClause(body.withClause, parent);
    const scope = new Scope([], parent, ctes);
    const target = nodeBody(body.relation, 'RangeVar') ?? (isObj(body.relation) ? body.relation : undefined);
    if (target) scope.items.push(...this.fromItem({ RangeVar: target }, scope));
    for (const f of list(type === 'DeleteStmt' ? body.usingClause : body.fromClause)) scope.items.push(...this.fromItem(f, scope));
    if (type === 'MergeStmt') {
      // MERGE … USING source ON …: RETURNING (PostgreSQL 17+) sees the source; its WHEN clauses are written.
      scope.items.push(...this.fromItem(body.sourceRelation, scope));
      this.expr(body.joinCondition, scope);
      this.expr(body.mergeWhenClauses, scope);
    }
    // What is written counts as read too: INSERT … SELECT cvv, UPDATE … SET x = cvv.
    this.expr(body.selectStmt, scope);
    this.expr(body.targetList, scope);
    this.expr(body.whereClause, scope);
    // ON CONFLICT … DO UPDATE SET / WHERE read too (its EXCLUDED row is the one being inserted). Read for what
    // it reads only: its names are not in this scope, and must not make the RETURNING shape uncertain.
    const exact = this.exact;
    this.expr(body.onConflictClause, scope);
    this.exact = exact;
    // PostgreSQL 18 trees hold RETURNING as a ReturningClause (its OLD/NEW aliases beside the list).
    const ret = list(isObj(body.returningClause) ? body.returningClause.exprs : body.returningList);
    if (ret.length === 0) return undefined;
    // RETURNING shows the target's columns as written: a column holds what was assigned to it (the server
    // still labels it as the table's column).
    const item = target ? scope.items[0] : undefined;
    if (item?.columns) item.columns = this.assigned(type, body, item.columns, scope, parent, ctes);
    return this.targetList(ret, scope);
  }

  /** The target's columns after the statement: each one assigned is what was assigned to it. */
  private assigned(type: string, body: Obj, columns: Field[], scope: Scope, parent: Scope | undefined, ctes: Map<string, Field[]>): Field[] {
    const values = new Map<string, Prov>();
    const set = (name: string | undefined, p: Prov) => {
      if (name === undefined) return;
      const before = values.get(name);
      values.set(name, before ? { cls: stricter(before.cls, p.cls), plain: false } : p);
    };
    const assignments = (targets: unknown) => {
      for (const t of list(targets)) {
        const rt = nodeBody(t, 'ResTarget');
        if (!rt) continue;
        const multi = nodeBody(rt.val, 'MultiAssignRef');
        set(str(rt.name), multi ? derived(this.expr(multi.source, scope)) : this.expr(rt.val, scope));
      }
    };
    if (type === 'InsertStmt') {
      const names = list(body.cols).map((c) => str(nodeBody(c, 'ResTarget')?.name));
      const source = this.inner(body.selectStmt, new Scope([], parent, ctes)) ?? [];
      const order = names.length > 0 ? names : columns.map((c) => c.name);
      source.forEach((f, i) => set(order[i], f.prov));
      const conflict = isObj(body.onConflictClause) ? body.onConflictClause : undefined;
      if (conflict) {
        const inserted = new Map(values);
        values.clear();
        assignments(conflict.targetList);
        // Either the row was inserted or the conflict updated it: the stricter of both.
        for (const [k, p] of inserted) set(k, p);
      }
    } else if (type === 'UpdateStmt') {
      assignments(body.targetList);
    } else if (type === 'MergeStmt') {
      // Which WHEN clause wrote a row is not known: a column takes the stricter of everything assigned to it.
      for (const w of list(body.mergeWhenClauses)) {
        const clause = nodeBody(w, 'MergeWhenClause');
        if (clause?.commandType === 'CMD_UPDATE') assignments(clause.targetList);
        if (clause?.commandType === 'CMD_INSERT') {
          const names = list(clause.targetList).map((c) => str(nodeBody(c, 'ResTarget')?.name));
          const order = names.length > 0 ? names : columns.map((c) => c.name);
          list(clause.values).forEach((v, i) => set(order[i], this.expr(v, scope)));
        }
      }
    }
    return columns.map((c) => {
      const v = values.get(c.name);
      // Still the table's column (plain) unless what was assigned is card data computed from elsewhere.
      return v ? { name: c.name, prov: { cls: stricter(c.prov.cls, v.cls), plain: c.prov.plain && (v.plain || v.cls === 'none') } } : c;
    });
  }

  private copy(body: Obj): Field[] | undefined {
    if (body.is_from === true) return undefined;
    if (body.query !== undefined) return this.inner(body.query, new Scope([], undefined, new Map()));
    const rv = nodeBody(body.relation, 'RangeVar') ?? (isObj(body.relation) ? body.relation : undefined);
    if (!rv) return undefined;
    const scope = new Scope([], undefined, new Map());
    scope.items.push(...this.fromItem({ RangeVar: rv }, scope));
    const item = scope.items[0];
    const names = list(body.attlist).map((a) => str(nodeBody(a, 'String')?.sval));
    if (!item?.columns) {
      this.exact = false;
      return names.map((n) => ({ name: n ?? '?', prov: item?.open ?? NONE }));
    }
    const picked = names.length === 0 ? item.columns : names.map((n) => item.columns!.find((c) => c.name === n) ?? { name: n ?? '?', prov: this.unknownColumn() });
    for (const c of picked) this.note(c.prov);
    return picked;
  }

  // ── FROM ─────────────────────────────────────────────────────────────────────────────────────

  private fromItem(v: unknown, scope: Scope): FromItem[] {
    const n = asNode(v);
    if (!n) return [];
    const b = n.body;
    const alias = isObj(b.alias) ? b.alias : undefined;
    const aliasName = str(alias?.aliasname);
    const aliasCols = list(alias?.colnames).map((c) => str(nodeBody(c, 'String')?.sval) ?? '?');
    switch (n.type) {
      case 'RangeVar': {
        const parts = [b.catalogname, b.schemaname, b.relname].filter((p): p is string => typeof p === 'string');
        const name = parts[parts.length - 1]!;
        const cte = parts.length === 1 ? scope.cte(name) : undefined;
        if (cte) return [{ refname: aliasName ?? name, qualified: undefined, columns: this.rename(cte, aliasCols), open: NONE }];
        const rel = this.ctx.relation(parts);
        if (!rel) {
          this.exact = false;
          return [{ refname: aliasName ?? name, qualified: parts.join('.'), columns: undefined, open: { cls: 'none', plain: true } }];
        }
        const columns = this.relationColumns(rel);
        if (!columns) this.exact = false;
        return [{ refname: aliasName ?? rel.name, qualified: `${rel.schema}.${rel.name}`, columns: columns ? this.rename(columns, aliasCols) : undefined, open: this.unknownColumn() }];
      }
      case 'RangeSubselect': {
        // Only LATERAL sees the FROM items before it; every subquery sees the CTEs and the outer levels.
        const cols = this.inner(b.subquery, b.lateral === true ? scope : new Scope([], scope.parent, scope.ctes));
        return [{ refname: aliasName, qualified: undefined, columns: cols ? this.rename(cols, aliasCols) : undefined, open: this.unknownColumn() }];
      }
      case 'RangeFunction': {
        let open = NONE;
        for (const f of list(b.functions)) open = merge(open, derived(this.expr(f, scope)));
        const defs = list(b.coldeflist).map((c) => str(nodeBody(c, 'ColumnDef')?.colname) ?? '?');
        const names = aliasCols.length > 0 ? aliasCols : defs;
        const col = (name: string): Field => ({ name, prov: { cls: stricter(open.cls, this.ctx.nameClass(name)), plain: false } });
        if (names.length > 0) return [{ refname: aliasName, qualified: undefined, columns: names.map(col), open }];
        const single = singleOutputName(b);
        if (single !== undefined) return [{ refname: aliasName ?? single, qualified: undefined, columns: [col(aliasName ?? single)], open }];
        return [{ refname: aliasName, qualified: undefined, columns: undefined, open }];
      }
      case 'JoinExpr': {
        const left = this.fromItem(b.larg, scope);
        const right = this.fromItem(b.rarg, scope);
        this.expr(b.quals, new Scope([...scope.items, ...left, ...right], scope.parent, scope.ctes));
        const using = list(b.usingClause).map((u) => str(nodeBody(u, 'String')?.sval) ?? '');
        const natural = b.isNatural === true;
        if (!aliasName && using.length === 0 && !natural) return [...left, ...right];
        const lcols = allColumns(left);
        const rcols = allColumns(right);
        if (!lcols || !rcols) {
          this.exact = false;
          return [{ refname: aliasName, qualified: undefined, columns: undefined, open: merge(openOf(left), openOf(right)) }, ...(aliasName ? [] : [...left, ...right])];
        }
        const common = natural ? lcols.filter((c) => rcols.some((r) => r.name === c.name)).map((c) => c.name) : using;
        const merged: Field[] = common.map((name) => {
          const l = lcols.find((c) => c.name === name)?.prov ?? NONE;
          const r = rcols.find((c) => c.name === name)?.prov ?? NONE;
          return { name, prov: { cls: stricter(l.cls, r.cls), plain: l.plain && r.plain } };
        });
        const joined = [...merged, ...lcols.filter((c) => !common.includes(c.name)), ...rcols.filter((c) => !common.includes(c.name))];
        const item: FromItem = { refname: aliasName, qualified: undefined, columns: this.rename(joined, aliasCols), open: NONE };
        // Without an alias the joined relations stay visible by their own names (for qualified references).
        return aliasName ? [item] : [{ ...item, refname: undefined }, ...left.map(hidden), ...right.map(hidden)];
      }
      case 'RangeTableSample':
        // The sampled relation (its alias is on it), with the sampling arguments read.
        this.expr(b.args, scope);
        this.expr(b.repeatable, scope);
        return this.fromItem(b.relation, scope);
      default: {
        this.exact = false;
        // XMLTABLE, JSON_TABLE…: what they output is derived from what they read (earlier items included).
        const open = merge(this.unknownColumn(), derived(this.fields(b, scope)));
        return [{ refname: aliasName, qualified: undefined, columns: undefined, open }];
      }
    }
  }

  private relationColumns(rel: CatalogRelation): Field[] | undefined {
    if (rel.definition !== null) {
      const view = this.ctx.viewColumns(rel);
      if (!view) return undefined;
      return rel.columns.map((c, i) => ({ name: c.name, prov: view[i]?.prov ?? this.unknownColumn() }));
    }
    const classes = this.ctx.classes(rel);
    return rel.columns.map((c) => ({ name: c.name, prov: { cls: classes.get(c.attnum) ?? 'none', plain: true, source: `${rel.schema}.${rel.name}.${c.name}` } }));
  }

  /** What an unplaceable column could be: nothing Vigil knows, which the fallback covers. */
  private unknownColumn(): Prov {
    return NONE;
  }

  private rename(fields: Field[], names: readonly string[]): Field[] {
    if (names.length === 0) return fields;
    return fields.map((f, i) => ({ name: names[i] ?? f.name, prov: f.prov }));
  }

  // ── target lists and expressions ─────────────────────────────────────────────────────────────

  private targetList(targets: readonly unknown[], scope: Scope): Field[] {
    const out: Field[] = [];
    for (const t of targets) {
      const rt = nodeBody(t, 'ResTarget');
      if (!rt) continue;
      const star = this.starExpansion(rt.val, scope);
      if (star) {
        out.push(...star);
        continue;
      }
      const prov = this.expr(rt.val, scope);
      out.push({ name: str(rt.name) ?? outputName(rt.val), prov });
    }
    return out;
  }

  /** `*`, `t.*`, `(c).*`: the columns it stands for, or undefined when the value is not a star. */
  private starExpansion(v: unknown, scope: Scope): Field[] | undefined {
    const ref = nodeBody(v, 'ColumnRef');
    const fields = list(ref?.fields);
    if (ref && fields.length > 0 && nodeBody(fields[fields.length - 1], 'A_Star')) {
      const qual = fields.slice(0, -1).map((f) => str(nodeBody(f, 'String')?.sval) ?? '');
      // Every FROM item counts for `*`, one without a name or known columns too (it makes the shape uncertain).
      const items = qual.length === 0 ? scope.items.filter(visible) : findItems(scope, qual);
      const out: Field[] = [];
      for (const item of items) {
        if (!item.columns) {
          this.exact = false;
          this.referenced = stricter(this.referenced, item.open.cls);
          continue;
        }
        for (const c of item.columns) this.note(c.prov);
        out.push(...item.columns);
      }
      return out;
    }
    const ind = nodeBody(v, 'A_Indirection');
    const last = list(ind?.indirection).at(-1);
    if (ind && nodeBody(last, 'A_Star')) {
      const p = this.expr(ind.arg, scope);
      if (p.row) return p.row.fields;
      this.exact = false;
      return [];
    }
    return undefined;
  }

  /** The provenance of an expression. */
  expr(v: unknown, scope: Scope): Prov {
    if (Array.isArray(v)) return v.reduce<Prov>((acc, x) => merge(acc, derived(this.expr(x, scope))), NONE);
    const n = asNode(v);
    if (!n) return isObj(v) ? this.fields(v, scope) : NONE;
    const b = n.body;
    switch (n.type) {
      case 'ColumnRef':
        return this.columnRef(list(b.fields), scope);
      case 'A_Const':
      case 'ParamRef':
        return NONE;
      case 'SubLink': {
        const sub = nodeBody(b.subselect, 'SelectStmt');
        const test = b.testexpr === undefined ? NONE : derived(this.expr(b.testexpr, scope));
        if (!sub) return test;
        const cols = this.select(sub, scope);
        if (b.subLinkType === 'EXISTS_SUBLINK') return test;
        return merge(test, derived(cols.reduce<Prov>((acc, c) => merge(acc, c.prov), NONE)), b.subLinkType === 'EXPR_SUBLINK' && cols.length === 1 ? cols[0]!.prov : undefined);
      }
      case 'FuncCall': {
        const name = list(b.funcname).map((x) => str(nodeBody(x, 'String')?.sval)).at(-1)?.toLowerCase();
        const args = list(b.args);
        const inner = args.reduce<Prov>((acc, a) => merge(acc, derived(this.expr(a, scope))), NONE);
        this.expr(b.agg_filter, scope);
        this.expr(b.agg_order, scope);
        this.expr(b.over, scope);
        if (name && ROW_JSON.has(name) && args.length === 1) {
          const arg = this.expr(args[0], scope);
          if (arg.row) return { cls: arg.cls, plain: false, row: { fields: arg.row.fields, as: 'json' } };
        }
        // Other sessions' SQL, literals included (what pg_stat_activity.query shows: column-classes.ts).
        if (name && SESSION_SQL.has(name)) return this.note({ cls: 'sad', plain: false });
        const effect = name ? builtinFunction(name, args.length) : undefined;
        if (effect && (effect.sqlArgs || effect.relationArg || effect.cursorArg || effect.schemaArg || effect.category === 'reads-database')) {
          // What it returns (and the errors it raises) derive from everything the SQL, relation or cursor it
          // is given reads; nothing of that is visible in this statement's own column references.
          return this.note(merge(inner, { cls: this.hiddenReads(effect, args), plain: false }));
        }
        return inner;
      }
      case 'RowExpr': {
        const fields = list(b.args).map((a, i) => ({ name: `f${i + 1}`, prov: this.expr(a, scope) }));
        return { cls: fields.reduce<ColumnClass>((c, f) => stricter(c, f.prov.cls), 'none'), plain: false, row: { fields, as: 'record' } };
      }
      case 'SelectStmt': {
        const cols = this.select(b, scope);
        return derived(cols.reduce<Prov>((acc, c) => merge(acc, c.prov), NONE));
      }
      default:
        return derived(this.fields(b, scope));
    }
  }

  private fields(o: Obj, scope: Scope): Prov {
    let p = NONE;
    for (const k in o) {
      const f = o[k];
      if (typeof f === 'object' && f !== null) p = merge(p, derived(this.expr(f, scope)));
    }
    return p;
  }

  private columnRef(fields: readonly unknown[], scope: Scope): Prov {
    const names = fields.map((f) => str(nodeBody(f, 'String')?.sval));
    // `t.*` inside an expression (row_to_json(t.*), t.*::text, ROW(t.*)) is t's whole row; count(*) is no
    // ColumnRef (agg_star), so a bare `*` here stands for every row of the FROM list.
    if (names.length > 0 && names.slice(0, -1).every((n) => n !== undefined) && nodeBody(fields[fields.length - 1], 'A_Star')) {
      const qual = names.slice(0, -1) as string[];
      for (let s: Scope | undefined = scope; s; s = s.parent) {
        const items = qual.length === 0 ? s.items.filter(visible) : findItems(s, qual);
        if (items.length === 1) return this.note(wholeRow(items[0]!));
        if (items.length > 1) return this.note(items.reduce<Prov>((acc, i) => merge(acc, derived(wholeRow(i))), NONE));
      }
      this.exact = false;
      return NONE;
    }
    if (names.some((n) => n === undefined)) return NONE;
    const parts = names as string[];
    for (let s: Scope | undefined = scope; s; s = s.parent) {
      const p = resolveIn(s, parts, this.ctx.nameClass);
      if (p) return this.note(p);
    }
    // Not found: the server will resolve it against something Vigil does not know (or fail).
    this.exact = false;
    return NONE;
  }

  /** The strictest class read by the SQL, relation or cursor a function is handed ('sad' when Vigil cannot tell). */
  private hiddenReads(effect: FunctionEffect, args: readonly unknown[]): ColumnClass {
    const arg = (ref: { position: number; name?: string }): string | undefined => {
      const named = args.find((a) => ref.name !== undefined && str(nodeBody(a, 'NamedArgExpr')?.name) === ref.name);
      const node = named ? nodeBody(named, 'NamedArgExpr')!.arg : args.filter((a) => !nodeBody(a, 'NamedArgExpr'))[ref.position];
      return constantText(node);
    };
    if (this.nesting >= 4) return 'sad';
    if (effect.sqlArgs) {
      if (effect.sqlArgs.length === 0) return 'sad';
      let cls: ColumnClass = 'none';
      for (const ref of effect.sqlArgs) {
        const sql = arg(ref);
        if (sql === undefined) return 'sad';
        for (const tree of this.ctx.parse(sql)) cls = stricter(cls, this.readsOfTree(tree));
      }
      return cls;
    }
    if (effect.relationArg) {
      const name = arg(effect.relationArg);
      const parts = name === undefined ? undefined : simpleName(name);
      const rel = parts ? this.ctx.relation(parts) : undefined;
      const columns = rel ? this.relationColumns(rel) : undefined;
      return columns ? columns.reduce<ColumnClass>((c, f) => stricter(c, f.prov.cls), 'none') : 'sad';
    }
    if (effect.cursorArg) {
      const name = arg(effect.cursorArg);
      const tree = name === undefined ? undefined : this.ctx.cursor(name);
      return tree === undefined ? 'sad' : this.readsOfTree(tree);
    }
    return 'sad'; // a whole schema or database
  }

  private readsOfTree(tree: unknown): ColumnClass {
    if (tree === undefined) return 'sad';
    const inner = new ProvenanceAnalyzer(this.ctx, this.nesting + 1);
    const out = inner.statement(tree);
    const cols = out?.columns.reduce<ColumnClass>((c, f) => stricter(c, f.prov.cls), 'none') ?? 'none';
    return stricter(inner.readClass, cols);
  }

  private note(p: Prov): Prov {
    if (CLASS_RANK[p.cls] > CLASS_RANK[this.referenced]) this.referenced = p.cls;
    return p;
  }
}

/** A column or whole-row reference resolved in one scope level (PostgreSQL's transformColumnRef, simplified). */
function resolveIn(scope: Scope, parts: readonly string[], nameClass: (c: string) => ColumnClass): Prov | undefined {
  // A column of something whose columns Vigil cannot list: what it is derived from, and what its name says.
  const byName = (open: Prov, column: string): Prov => ({ cls: stricter(open.cls, nameClass(column)), plain: open.plain });
  const items = scope.items.filter(visible);
  if (parts.length === 1) {
    const name = parts[0]!;
    const hits = items.flatMap((i) => i.columns?.filter((c) => c.name === name) ?? []);
    if (hits.length > 0) return hits.reduce<Prov>((acc, c) => (acc === NONE ? c.prov : merge(acc, c.prov)), NONE);
    const openItems = items.filter((i) => !i.columns);
    const whole = scope.items.find((i) => i.refname === name);
    if (whole) return wholeRow(whole);
    if (openItems.length > 0) return openItems.reduce<Prov>((acc, i) => merge(acc, byName(i.open, name)), NONE);
    return undefined;
  }
  const qual = parts.slice(0, -1);
  const col = parts[parts.length - 1]!;
  const item = findItems(scope, qual)[0];
  if (item) {
    if (!item.columns) return byName(item.open, col);
    const hit = item.columns.find((c) => c.name === col);
    if (hit) return hit.prov;
    // Attribute notation: t.f with no column f of t is the call f(t), derived from t's whole row
    // (t.row_to_json is its JSON object, masked field by field).
    const row = wholeRow(item);
    if (ROW_JSON.has(col.toLowerCase()) && row.row) return { cls: row.cls, plain: false, row: { fields: row.row.fields, as: 'json' } };
    return derived(row);
  }
  // (c).field style references are A_Indirection, not here; a qualified name might be the whole row of a
  // table named by its two last parts.
  const whole = findItems(scope, parts)[0];
  return whole ? wholeRow(whole) : undefined;
}

function findItems(scope: Scope, qual: readonly string[]): FromItem[] {
  const want = qual.join('.');
  return scope.items.filter((i) => i.refname === qual[qual.length - 1] && (qual.length === 1 || i.qualified?.endsWith(want)) || i.qualified === want);
}

function wholeRow(item: FromItem): Prov {
  if (!item.columns) return { ...item.open, plain: false };
  const cls = item.columns.reduce<ColumnClass>((c, f) => stricter(c, f.prov.cls), 'none');
  return { cls, plain: false, row: { fields: item.columns, as: 'record' } };
}

/** Hidden items are joined relations behind a JOIN without alias: their columns are the join's, their names stay visible. */
const HIDDEN = Symbol('hidden');
function hidden(i: FromItem): FromItem {
  return Object.assign({ ...i }, { [HIDDEN]: true });
}
function visible(i: FromItem): boolean {
  return !(i as unknown as Record<symbol, unknown>)[HIDDEN];
}

function allColumns(items: readonly FromItem[]): Field[] | undefined {
  const out: Field[] = [];
  for (const i of items.filter(visible)) {
    if (!i.columns) return undefined;
    out.push(...i.columns);
  }
  return out;
}

function openOf(items: readonly FromItem[]): Prov {
  return items.reduce<Prov>((acc, i) => merge(acc, i.open), NONE);
}

function sameFields(a: readonly Field[], b: readonly Field[]): boolean {
  return a.length === b.length && a.every((f, i) => f.name === b[i]!.name && f.prov.cls === b[i]!.prov.cls && f.prov.plain === b[i]!.prov.plain);
}

/** A value computed from `p`: no longer the plain column, and no longer a row Vigil can mask field by field. */
function derived(p: Prov): Prov {
  return p.plain || p.row ? { cls: p.cls, plain: false } : p;
}

function merge(a: Prov, b: Prov, keep?: Prov): Prov {
  if (keep) return keep;
  if (a === NONE) return b;
  if (b === NONE) return a;
  return { cls: stricter(a.cls, b.cls), plain: false };
}

/** The column name PostgreSQL gives an unnamed target (FigureColname, simplified). */
function outputName(v: unknown): string {
  const n = asNode(v);
  if (!n) return '?column?';
  switch (n.type) {
    case 'ColumnRef': {
      const last = list(n.body.fields).at(-1);
      return str(nodeBody(last, 'String')?.sval) ?? '?column?';
    }
    case 'FuncCall':
      return list(n.body.funcname).map((x) => str(nodeBody(x, 'String')?.sval)).at(-1) ?? '?column?';
    case 'TypeCast': {
      const inner = outputName(n.body.arg);
      if (inner !== '?column?') return inner;
      const type = isObj(n.body.typeName) ? n.body.typeName : undefined;
      return list(type?.names).map((x) => str(nodeBody(x, 'String')?.sval)).at(-1) ?? '?column?';
    }
    case 'A_Indirection': {
      const last = list(n.body.indirection).at(-1);
      return str(nodeBody(last, 'String')?.sval) ?? outputName(n.body.arg);
    }
    case 'SubLink': {
      const kind = n.body.subLinkType;
      if (kind === 'EXISTS_SUBLINK') return 'exists';
      if (kind === 'ARRAY_SUBLINK') return 'array';
      if (kind !== 'EXPR_SUBLINK') return '?column?';
      // A scalar subquery is named after its single target (the left arm's, for a set operation).
      let sub = nodeBody(n.body.subselect, 'SelectStmt');
      while (sub && str(sub.op) !== undefined && sub.op !== 'SETOP_NONE') sub = isObj(sub.larg) ? sub.larg : undefined;
      const target = nodeBody(list(sub?.targetList)[0], 'ResTarget');
      return target ? (str(target.name) ?? outputName(target.val)) : '?column?';
    }
    case 'CollateClause':
      return outputName(n.body.arg);
    case 'A_Expr':
      return n.body.kind === 'AEXPR_NULLIF' ? 'nullif' : '?column?';
    case 'MinMaxExpr':
      return n.body.op === 'IS_LEAST' ? 'least' : 'greatest';
    case 'SQLValueFunction':
      // SVFOP_CURRENT_TIMESTAMP_N → current_timestamp, SVFOP_USER → user…
      return str(n.body.op)?.replace(/^SVFOP_/, '').replace(/_N$/, '').toLowerCase() ?? '?column?';
    case 'XmlExpr':
      return n.body.op === 'IS_DOCUMENT' ? '?column?' : (str(n.body.op)?.replace(/^IS_/, '').toLowerCase() ?? '?column?');
    case 'JsonFuncExpr':
      return str(n.body.op)?.replace(/_OP$/, '').toLowerCase() ?? '?column?';
    default:
      return FIXED_NAMES[n.type] ?? '?column?';
  }
}

/** Expressions PostgreSQL names by their kind (FigureColnameInternal). */
const FIXED_NAMES: Readonly<Record<string, string>> = {
  CaseExpr: 'case',
  RowExpr: 'row',
  CoalesceExpr: 'coalesce',
  A_ArrayExpr: 'array',
  GroupingFunc: 'grouping',
  XmlSerialize: 'xmlserialize',
  MergeSupportFunc: 'merge_action',
  JsonObjectConstructor: 'json_object',
  JsonArrayConstructor: 'json_array',
  JsonArrayQueryConstructor: 'json_array',
  JsonObjectAgg: 'json_objectagg',
  JsonArrayAgg: 'json_arrayagg',
  JsonParseExpr: 'json',
  JsonScalarExpr: 'json_scalar',
  JsonSerializeExpr: 'json_serialize',
};

/** A function in FROM whose output is one column named after it (most scalar and set-returning functions). */
function singleOutputName(b: Obj): string | undefined {
  const fns = list(b.functions);
  if (fns.length !== 1) return undefined;
  const items = list(nodeBody(fns[0], 'List')?.items);
  const call = nodeBody(items[0], 'FuncCall');
  const name = list(call?.funcname).map((x) => str(nodeBody(x, 'String')?.sval)).at(-1);
  if (!name || MULTI_COLUMN_FUNCTIONS.has(name.toLowerCase())) return undefined;
  return SINGLE_COLUMN_FUNCTIONS.has(name.toLowerCase()) ? name : undefined;
}

const SINGLE_COLUMN_FUNCTIONS = new Set(['generate_series', 'unnest', 'generate_subscripts', 'regexp_matches', 'regexp_split_to_table', 'json_array_elements', 'jsonb_array_elements', 'json_array_elements_text', 'jsonb_array_elements_text', 'json_object_keys', 'jsonb_object_keys', 'string_to_table']);
const MULTI_COLUMN_FUNCTIONS = new Set(['json_each', 'jsonb_each', 'json_each_text', 'jsonb_each_text']);

/** The text of a string constant (or of a cast of one: 'customers'::regclass). */
function constantText(node: unknown): string | undefined {
  const c = nodeBody(node, 'A_Const');
  if (c) return isObj(c.sval) ? str(c.sval.sval) : undefined;
  const cast = nodeBody(node, 'TypeCast');
  return cast ? constantText(cast.arg) : undefined;
}

/** A relation name as regclass input spells it, when it is plain: `name` or `schema.name`, unquoted (folded). */
function simpleName(text: string): string[] | undefined {
  if (!/^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$/.test(text)) return undefined;
  return text.toLowerCase().split('.');
}
