/**
 * How a statement changes what names resolve to: `SET search_path TO` constants (Vigil follows it),
 * anything else that changes the path or the role behind `$user` (Vigil asks the server again), and
 * transaction ends that may revert an earlier change.
 */
import { asNode, isObj, list, nodeBody, str } from '../../../sql/ast.ts';
import type { ClassifiedStatement } from '../../../sql/index.ts';

export type PathEffect = { kind: 'none' } | { kind: 'set'; values: string[] } | { kind: 'unknown' } | { kind: 'may-revert' };

const NONE: PathEffect = { kind: 'none' };
const UNKNOWN: PathEffect = { kind: 'unknown' };
const SETTINGS_OF_PATH = new Set(['search_path', 'role', 'session_authorization']);

export function pathEffect(s: ClassifiedStatement): PathEffect {
  const node = asNode(s.tree);
  if (s.tags.some((t) => t === 'set-config:role' || t === 'dynamic-setting' || t === 'resets-role')) return UNKNOWN;
  if (s.functions.some((f) => f.parts[f.parts.length - 1] === 'set_config')) return UNKNOWN;
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
  return s.relations.some((r) => r.parts.length === 1) || s.functions.some((f) => f.parts.length === 1) || s.operators.length > 0;
}
