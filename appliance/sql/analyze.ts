/**
 * One walk over a statement's parse tree that gathers what classification needs beyond the top node: the
 * relations it names, the functions it calls, nested data-modifying statements (writable CTEs), literals
 * and parameters bound to card-security columns, and the position of every literal constant (the cache
 * checks those against the shape lexer).
 */
import {
  asNode,
  asRangeVar,
  isLiteralConst,
  isObj,
  list,
  nameList,
  nodeBody,
  num,
  type Obj,
  qualifiedName,
  rangeVarParts,
  str,
} from './ast.ts';
import { builtinFunction } from './builtin-functions.ts';
import type { FunctionMatcher } from './dangerous-functions.ts';
import type { FunctionRef, RelationRef } from './types.ts';

/** A binding before offsets are resolved: a literal is known by its A_Const location (a byte offset). */
export type BindingRef = { kind: 'literal'; location: number; column: string } | { kind: 'param'; index: number; column: string };

export interface StatementFacts {
  tables: string[];
  /** Dangerous functions called, lower-cased, in order of first call. */
  dangerous: string[];
  /** set_config on 'role'/'session_authorization' ('literal'), or on a setting that is not a constant ('dynamic'). */
  roleChange: 'literal' | 'dynamic' | undefined;
  /** set_config('standard_conforming_strings', …): later statements would lex differently from this parser. */
  changesLexing: boolean;
  /** set_config('client_encoding', …): later statements would be decoded differently. */
  changesEncoding: boolean;
  /** set_config with a setting name that is not a constant: it could be any of the above. */
  dynamicSetting: boolean;
  /** INSERT/UPDATE/DELETE/MERGE nodes anywhere in the tree, the top one included. */
  dataModifying: number;
  /** Some SELECT in the tree has INTO (SELECT INTO creates a table). */
  selectInto: boolean;
  /** Some SELECT has FOR UPDATE/SHARE. */
  rowLock: boolean;
  /** The classification read a literal's value, so statements of the same shape may classify differently. */
  valueDependent: boolean;
  sensitive: BindingRef[];
  /** Locations of every literal-valued A_Const, in tree order (duplicates kept). */
  constLocations: number[];
  /** The relations of `tables`, as name parts. */
  relations: RelationRef[];
  functions: FunctionRef[];
  operators: string[];
  attributeNames: string[];
}

export interface AnalyzeOptions {
  dangerous: FunctionMatcher;
  sensitiveColumn: (name: string) => boolean;
}

/** Relation kinds whose DROP/COMMENT/SECURITY LABEL names count as tables. */
const RELATION_OBJECTS = new Set([
  'OBJECT_TABLE',
  'OBJECT_VIEW',
  'OBJECT_MATVIEW',
  'OBJECT_FOREIGN_TABLE',
  'OBJECT_SEQUENCE',
  'OBJECT_INDEX',
]);
const ROLE_SETTINGS = new Set(['role', 'session_authorization']);
/** With it off, a backslash escapes a quote in '…': the server would split the text differently from this parser. */
export const LEXING_SETTING = 'standard_conforming_strings';
/** The system view whose UPDATE rule runs set_config (the parser folds unquoted names to lower case). */
const SETTINGS_VIEW = 'pg_settings';
/** Pinned to UTF8: other client encodings make the server read other characters than this parser. */
export const ENCODING_SETTING = 'client_encoding';
/** Nodes examined when looking for a sensitive column on one side of a comparison. */
const MENTION_BUDGET = 256;

type Scope = ReadonlySet<string>;
const EMPTY_SCOPE: Scope = new Set();

export function analyzeStatement(stmt: unknown, opts: AnalyzeOptions): StatementFacts {
  return new Analyzer(opts).run(stmt);
}

class Analyzer {
  readonly #opts: AnalyzeOptions;
  readonly #tables = new Map<string, readonly string[]>();
  readonly #functions = new Map<string, FunctionRef>();
  readonly #operators = new Set<string>();
  readonly #attributeNames = new Set<string>();
  readonly #dangerous = new Set<string>();
  readonly #sensitive = new Map<string, BindingRef>();
  readonly #facts: StatementFacts = {
    tables: [],
    dangerous: [],
    roleChange: undefined,
    changesLexing: false,
    changesEncoding: false,
    dynamicSetting: false,
    dataModifying: 0,
    selectInto: false,
    rowLock: false,
    valueDependent: false,
    sensitive: [],
    constLocations: [],
    relations: [],
    functions: [],
    operators: [],
    attributeNames: [],
  };

  constructor(opts: AnalyzeOptions) {
    this.#opts = opts;
  }

  run(stmt: unknown): StatementFacts {
    this.#visit(stmt, EMPTY_SCOPE);
    const f = this.#facts;
    f.tables = [...this.#tables.keys()];
    f.relations = [...this.#tables.values()].map((parts) => ({ parts }));
    f.functions = [...this.#functions.values()];
    f.operators = [...this.#operators];
    f.attributeNames = [...this.#attributeNames];
    f.dangerous = [...this.#dangerous];
    f.sensitive = [...this.#sensitive.values()];
    return f;
  }

  /** Depth-first, pre-order, with an explicit stack: trees deep enough to exhaust the JS stack are legal SQL. */
  #visit(root: unknown, rootScope: Scope): void {
    const stack: Array<[unknown, Scope]> = [[root, rootScope]];
    const push = (items: Array<[unknown, Scope]>) => {
      for (let i = items.length - 1; i >= 0; i--) stack.push(items[i]!);
    };
    while (stack.length > 0) {
      const [v, scope] = stack.pop()!;
      if (Array.isArray(v)) {
        for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], scope]);
        continue;
      }
      if (!isObj(v)) continue;
      const node = asNode(v);
      if (!node) {
        // A bare struct: a RangeVar in a `relation` field, an OnConflictClause…
        const rv = asRangeVar(v);
        if (rv) this.#addRangeVar(rv, scope);
        else push(fields(v, scope));
        continue;
      }
      const { type, body } = node;
      switch (type) {
        case 'RangeVar':
          this.#addRangeVar(body, scope);
          continue;
        case 'A_Const':
          if (isLiteralConst(body)) this.#facts.constLocations.push(num(body.location) ?? -1);
          continue;
        case 'FuncCall':
          this.#funcCall(body);
          break;
        case 'ColumnRef': {
          // t.f (and schema.t.f): f may be a function of t's row type (attribute notation).
          const fields = list(body.fields);
          const last = str(nodeBody(fields[fields.length - 1], 'String')?.sval);
          if (fields.length >= 2 && last !== undefined) this.#attributeNames.add(last);
          continue;
        }
        case 'A_Indirection':
          // (t).f, (t.*).f, (expr).f: a field, or the call f(expr).
          for (const i of list(body.indirection)) {
            const name = str(nodeBody(i, 'String')?.sval);
            if (name !== undefined) this.#attributeNames.add(name);
          }
          break;
        case 'A_Expr': {
          this.#comparison(body.lexpr, body.rexpr);
          const op = nameList(body.name);
          if (op) this.#operators.add(op[op.length - 1]!);
          break;
        }
        case 'CaseExpr':
          this.#caseExpr(body);
          break;
        case 'SelectStmt':
          if (body.intoClause !== undefined) this.#facts.selectInto = true;
          if (list(body.lockingClause).length > 0) this.#facts.rowLock = true;
          push(withScope(body, scope));
          continue;
        case 'InsertStmt':
        case 'UpdateStmt':
        case 'DeleteStmt':
        case 'MergeStmt':
          this.#dataModifying(type, body);
          push(withScope(body, scope, 'relation'));
          continue;
        case 'DropStmt':
          if (RELATION_OBJECTS.has(str(body.removeType) ?? '')) {
            for (const o of list(body.objects)) this.#addName(nameList(nodeBody(o, 'List')?.items));
          }
          break;
        case 'CommentStmt':
        case 'SecLabelStmt':
          if (RELATION_OBJECTS.has(str(body.objtype) ?? '')) this.#addName(nameList(nodeBody(body.object, 'List')?.items));
          break;
      }
      push(fields(body, scope));
    }
  }

  #dataModifying(type: string, body: Obj): void {
    this.#facts.dataModifying++;
    // The target is always a table, never a CTE of the same name.
    const target = asRangeVar(body.relation);
    if (target) this.#addName(rangeVarParts(target));
    // pg_settings' ON UPDATE rule calls set_config(name, setting) for every row the UPDATE matches: a
    // setting changed with no function call in the text, named by data (client_encoding, the lexing
    // setting, role…). Refused like set_config of a name that is not a constant, whatever the schema (a
    // relation of that name elsewhere is refused too, on the safe side).
    if (type === 'UpdateStmt' && target && str(target.relname) === SETTINGS_VIEW) {
      this.#facts.dynamicSetting = true;
      this.#facts.roleChange ??= 'dynamic';
    }
    if (type === 'InsertStmt') this.#insertBindings(body);
    if (type === 'UpdateStmt') this.#assignments(body.targetList);
    if (type === 'MergeStmt') {
      for (const w of list(body.mergeWhenClauses)) {
        const clause = nodeBody(w, 'MergeWhenClause');
        if (clause?.commandType === 'CMD_UPDATE') this.#assignments(clause.targetList);
        if (clause?.commandType === 'CMD_INSERT') this.#positional(targetNames(clause.targetList), clause.values);
      }
    }
  }

  /** INSERT … VALUES (every row) and INSERT … SELECT of one plain SELECT, matched by position; ON CONFLICT SET. */
  #insertBindings(body: Obj): void {
    const columns = targetNames(body.cols);
    const select = nodeBody(body.selectStmt, 'SelectStmt');
    if (columns.length > 0 && select) {
      const rows = list(select.valuesLists);
      if (rows.length > 0) {
        for (const row of rows) this.#positional(columns, nodeBody(row, 'List')?.items);
      } else if (select.op === 'SETOP_NONE' || select.op === undefined) {
        this.#positional(
          columns,
          list(select.targetList).map((t) => nodeBody(t, 'ResTarget')?.val),
        );
      }
    }
    const onConflict = isObj(body.onConflictClause) ? body.onConflictClause : undefined;
    if (onConflict) this.#assignments(onConflict.targetList);
  }

  #positional(columns: readonly (string | undefined)[], values: unknown): void {
    list(values).forEach((value, i) => {
      const column = columns[i];
      if (column !== undefined && this.#opts.sensitiveColumn(column)) this.#bindAll(value, column);
    });
  }

  /** SET col = expr lists (UPDATE, ON CONFLICT DO UPDATE, MERGE … UPDATE), including SET (a, b) = (…). */
  #assignments(targets: unknown): void {
    for (const t of list(targets)) {
      const rt = nodeBody(t, 'ResTarget');
      const column = str(rt?.name);
      if (!rt || column === undefined || !this.#opts.sensitiveColumn(column)) continue;
      const multi = nodeBody(rt.val, 'MultiAssignRef');
      if (multi) {
        const row = nodeBody(multi.source, 'RowExpr');
        const colno = num(multi.colno) ?? 0;
        this.#bindAll(row ? list(row.args)[colno - 1] : multi.source, column);
      } else {
        this.#bindAll(rt.val, column);
      }
    }
  }

  /** `cvv = '123'`, `'123' = cvv`, `cvv IN (…)`, `lower(cvv) LIKE …`: a side naming a sensitive column binds the other. */
  #comparison(left: unknown, right: unknown): void {
    const l = this.#mentionsSensitive(left);
    if (l !== undefined) this.#bindAll(right, l);
    const r = this.#mentionsSensitive(right);
    if (r !== undefined) this.#bindAll(left, r);
  }

  #caseExpr(body: Obj): void {
    const column = this.#mentionsSensitive(body.arg);
    if (column === undefined) return;
    for (const w of list(body.args)) this.#bindAll(nodeBody(w, 'CaseWhen')?.expr, column);
  }

  #mentionsSensitive(v: unknown): string | undefined {
    const stack: unknown[] = [v];
    let budget = MENTION_BUDGET;
    while (stack.length > 0 && budget-- > 0) {
      const cur = stack.pop();
      if (Array.isArray(cur)) {
        stack.push(...cur);
        continue;
      }
      if (!isObj(cur)) continue;
      const ref = nodeBody(cur, 'ColumnRef');
      if (ref) {
        const fields = list(ref.fields);
        const last = str(nodeBody(fields[fields.length - 1], 'String')?.sval);
        if (last !== undefined && this.#opts.sensitiveColumn(last)) return last;
        continue;
      }
      for (const k in cur) {
        const f = cur[k];
        if (typeof f === 'object' && f !== null) stack.push(f);
      }
    }
    return undefined;
  }

  /** Every literal and parameter inside `v` is bound to `column` (over-redacting an expression is harmless). */
  #bindAll(v: unknown, column: string): void {
    const stack: unknown[] = [v];
    while (stack.length > 0) {
      const cur = stack.pop();
      if (Array.isArray(cur)) {
        stack.push(...cur);
        continue;
      }
      if (!isObj(cur)) continue;
      const n = asNode(cur);
      if (n?.type === 'A_Const') {
        const location = num(n.body.location);
        if (isLiteralConst(n.body) && location !== undefined && location >= 0 && !this.#sensitive.has(`l${location}`)) {
          this.#sensitive.set(`l${location}`, { kind: 'literal', location, column });
        }
        continue;
      }
      if (n?.type === 'ParamRef') {
        const index = num(n.body.number);
        if (index !== undefined && !this.#sensitive.has(`p${index}`)) this.#sensitive.set(`p${index}`, { kind: 'param', index, column });
        continue;
      }
      for (const k in cur) {
        const f = cur[k];
        if (typeof f === 'object' && f !== null) stack.push(f);
      }
    }
  }

  #funcCall(body: Obj): void {
    const names = nameList(body.funcname);
    const name = names?.[names.length - 1];
    if (name === undefined) return;
    this.#recordCall(names!, body);
    if (this.#opts.dangerous(name)) this.#dangerous.add(name.toLowerCase());
    if (name.toLowerCase() !== 'set_config') return;
    const first = list(body.args)[0];
    const konst = nodeBody(first, 'A_Const');
    if (konst && isLiteralConst(konst)) {
      const setting = isObj(konst.sval) ? str(konst.sval.sval) : undefined;
      // The verdict now depends on a literal's value: this shape must not be cached.
      this.#facts.valueDependent = true;
      if (setting !== undefined && ROLE_SETTINGS.has(setting.toLowerCase())) this.#facts.roleChange = 'literal';
      if (setting?.toLowerCase() === LEXING_SETTING) this.#facts.changesLexing = true;
      if (setting?.toLowerCase() === ENCODING_SETTING) this.#facts.changesEncoding = true;
    } else {
      this.#facts.roleChange ??= 'dynamic';
      this.#facts.dynamicSetting = true;
    }
  }

  #addRangeVar(rv: Obj, scope: Scope): void {
    const rel = str(rv.relname);
    const qualified = rv.schemaname !== undefined || rv.catalogname !== undefined;
    if (rel !== undefined && !qualified && scope.has(rel)) return; // a CTE, not a relation
    this.#addName(rangeVarParts(rv));
  }

  #addName(parts: readonly string[] | undefined): void {
    if (parts && parts.length > 0) {
      const key = qualifiedName(parts);
      if (!this.#tables.has(key)) this.#tables.set(key, parts);
    }
  }

  /** Records the call; built-ins whose effect depends on an argument get its constants (and no cache). */
  #recordCall(names: readonly string[], body: Obj): void {
    const args = list(body.args);
    const key = `${names.join('.')}/${args.length}`;
    const ref: FunctionRef = { parts: names, args: args.length };
    const effect = builtinFunction(names[names.length - 1]!, args.length);
    const last = names[names.length - 1]!.toLowerCase();
    if (last === 'set_config' || (effect && (effect.sqlArgs || effect.relationArg || effect.schemaArg || effect.cursorArg))) {
      const positional: (string | null)[] = [];
      const named: Record<string, string | null> = {};
      for (const a of args) {
        const n = nodeBody(a, 'NamedArgExpr');
        if (n) named[str(n.name) ?? ''] = constantText(n.arg);
        else positional.push(constantText(a));
      }
      ref.constants = { positional, named };
      this.#facts.valueDependent = true;
      this.#functions.set(`${key}#${this.#functions.size}`, ref);
      return;
    }
    if (!this.#functions.has(key)) this.#functions.set(key, ref);
  }
}

/** The object-valued fields of `o`, in order, to visit in `scope`. */
function fields(o: Obj, scope: Scope): Array<[unknown, Scope]> {
  const out: Array<[unknown, Scope]> = [];
  for (const k in o) {
    const f = o[k];
    if (typeof f === 'object' && f !== null) out.push([f, scope]);
  }
  return out;
}

/**
 * The parts of a statement that may carry WITH, each with the CTE names it sees: a CTE sees the earlier
 * ones (all of them when RECURSIVE), the rest of the statement sees them all. `skip` names a field not to
 * visit (a DML target, already recorded).
 */
function withScope(body: Obj, scope: Scope, skip?: string): Array<[unknown, Scope]> {
  const out: Array<[unknown, Scope]> = [];
  const withClause = isObj(body.withClause) ? body.withClause : undefined;
  let inner = scope;
  if (withClause) {
    const ctes = list(withClause.ctes).map((c) => nodeBody(c, 'CommonTableExpr'));
    const names = ctes.map((c) => str(c?.ctename)).filter((n): n is string => n !== undefined);
    const all: Scope = new Set([...scope, ...names]);
    let visible: Scope = scope;
    for (const cte of ctes) {
      if (!cte) continue;
      out.push(...fields(cte, withClause.recursive === true ? all : visible));
      const name = str(cte.ctename);
      if (name !== undefined) visible = new Set([...visible, name]);
    }
    inner = all;
  }
  for (const k in body) {
    if (k === 'withClause' || k === skip) continue;
    const f = body[k];
    if (typeof f === 'object' && f !== null) out.push([f, inner]);
  }
  return out;
}

function targetNames(targets: unknown): (string | undefined)[] {
  return list(targets).map((t) => str(nodeBody(t, 'ResTarget')?.name));
}

/** A string constant (possibly cast, e.g. 'cards'::regclass), or null. */
function constantText(v: unknown): string | null {
  const cast = nodeBody(v, 'TypeCast');
  if (cast) return constantText(cast.arg);
  const c = nodeBody(v, 'A_Const');
  return c && isObj(c.sval) ? (str(c.sval.sval) ?? null) : null;
}
