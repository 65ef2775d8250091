/**
 * How a statement changes what names resolve to: `SET search_path TO` constants (Vigil follows it),
 * anything else that changes the path or the role behind `$user` (Vigil asks the server again), and
 * transaction ends that may revert an earlier change.
 */
import { asNode, isObj, list, nodeBody, str } from '../../../sql/ast.ts';
import type { ClassifiedStatement, FunctionRef } from '../../../sql/index.ts';

export type PathEffect = { kind: 'none' } | { kind: 'set'; values: string[] } | { kind: 'unknown' } | { kind: 'may-revert' };

const NONE: PathEffect = { kind: 'none' };
const UNKNOWN: PathEffect = { kind: 'unknown' };
const SETTINGS_OF_PATH = new Set(['search_path', 'role', 'session_authorization']);

export function pathEffect(s: ClassifiedStatement): PathEffect {
  const node = asNode(s.tree);
  if (s.tags.some((t) => t === 'set-config:role' || t === 'dynamic-setting' || t === 'resets-role')) return UNKNOWN;
  const setConfig = s.functions.filter((f) => f.parts[f.parts.length - 1] === 'set_config');
  if (setConfig.length > 0) return runsEveryCall(s.tree, setConfig.length) ? setConfigEffect(setConfig) : UNKNOWN;
  if (!node) return NONE;
  const { type, body } = node;
  if (type === 'VariableSetStmt') {
    const kind = str(body.kind);
    if (kind === 'VAR_RESET_ALL') return UNKNOWN;
    const name = str(body.name)?.toLowerCase();
    if (!name || !SETTINGS_OF_PATH.has(name)) return NONE;
    if (name !== 'search_path' || kind !== 'VAR_SET_VALUE') return UNKNOWN;
    const values: string[] = [];
    for (const a of list(body.args)) {
      const c = nodeBody(a, 'A_Const');
      const v = c && isObj(c.sval) ? str(c.sval.sval) : undefined;
      if (v === undefined) return UNKNOWN;
      values.push(v);
    }
    return { kind: 'set', values };
  }
  if (type === 'DiscardStmt') return UNKNOWN;
  if (type === 'TransactionStmt') {
    const k = str(body.kind);
    // Rolling back reverts SET; committing reverts SET LOCAL.
    if (k === 'TRANS_STMT_ROLLBACK' || k === 'TRANS_STMT_ROLLBACK_TO' || k === 'TRANS_STMT_COMMIT' || k === 'TRANS_STMT_PREPARE') return { kind: 'may-revert' };
  }
  return NONE;
}

/** Whether resolving the statement's names depends on the search path. */
export function needsSearchPath(s: ClassifiedStatement): boolean {
  // Attribute notation (`t.f` as f(t)) looks f up through the path too.
  return s.relations.some((r) => r.parts.length === 1) || s.functions.some((f) => f.parts.length === 1) || s.operators.length > 0 || (s.attributeNames?.length ?? 0) > 0;
}

/**
 * Whether the server surely evaluates every set_config call of the statement when it runs: each is a whole
 * target of a plain SELECT that returns its one row. Elsewhere it may never run (WHERE false, LIMIT 0, an
 * empty FROM, a CASE branch, EXPLAIN without ANALYZE, PREPARE, DECLARE, a view's definition…).
 */
function runsEveryCall(tree: unknown, calls: number): boolean {
  const sel = nodeBody(tree, 'SelectStmt');
  if (!sel) return false;
  if (str(sel.op) !== undefined && sel.op !== 'SETOP_NONE') return false;
  for (const k in sel) if (k !== 'targetList' && k !== 'op' && k !== 'limitOption' && k !== 'sortClause') return false;
  let top = 0;
  for (const t of list(sel.targetList)) {
    const call = nodeBody(nodeBody(t, 'ResTarget')?.val, 'FuncCall');
    const name = list(call?.funcname).at(-1);
    if (call && str(nodeBody(name, 'String')?.sval) === 'set_config' && call.over === undefined && call.agg_filter === undefined) top++;
  }
  return top === calls;
}

/** set_config('search_path', 'a, "B"', false) with constants is followed; anything else is not. */
function setConfigEffect(calls: readonly FunctionRef[]): PathEffect {
  let effect: PathEffect = NONE;
  for (const f of calls) {
    const [name, value] = f.constants?.positional ?? [];
    const setting = name?.toLowerCase();
    if (setting === undefined || setting === null) return UNKNOWN;
    if (!SETTINGS_OF_PATH.has(setting)) continue;
    if (setting !== 'search_path' || typeof value !== 'string' || calls.length > 1) return UNKNOWN;
    const values = splitIdentifiers(value);
    if (!values) return UNKNOWN;
    effect = { kind: 'set', values };
  }
  return effect;
}

/** scanner_isspace(): what separates names (\v counts from PostgreSQL 16 on only, so it is never guessed at). */
const SPACE = /[ \t\n\r\f]/;
/** NAMEDATALEN - 1: the server truncates longer names (by characters of its own encoding). */
const MAX_NAME_BYTES = 63;

/**
 * PostgreSQL's SplitIdentifierString for a search_path value: commas, double quotes, unquoted names folded.
 * Undefined where Vigil cannot be sure of the server's result, which is then read from the server: an
 * unquoted name with anything but printable ASCII (folding depends on the server's encoding and locale,
 * a no-break space is part of a name), a name the server would truncate.
 */
export function splitIdentifiers(text: string): string[] | undefined {
  const out: string[] = [];
  let i = 0;
  const skip = () => {
    while (i < text.length && SPACE.test(text[i]!)) i++;
  };
  skip();
  if (i === text.length) return out;
  for (;;) {
    let name = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= text.length) return undefined;
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            name += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        name += text[i++];
      }
    } else {
      const start = i;
      while (i < text.length && text[i] !== ',' && !SPACE.test(text[i]!)) i++;
      const raw = text.slice(start, i);
      if (raw === '' || /[^\x21-\x7e]/.test(raw)) return undefined;
      name = raw.replace(/[A-Z]+/g, (c) => c.toLowerCase());
    }
    if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) return undefined;
    out.push(name);
    skip();
    if (i === text.length) return out;
    if (text[i] !== ',') return undefined;
    i++;
    skip();
  }
}
