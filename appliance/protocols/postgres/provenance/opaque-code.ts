/**
 * Code Vigil cannot follow data through: the body of a DO block is a string to the parser, so provenance
 * cannot tell what a RAISE in it prints. When the body names a cardholder column (by the same name rules
 * and configured columns that classify table columns), every message raised while it runs is redacted: a
 * notice could carry `reverse(pan)` or a CVV, which no pattern can recognise. A coarse rule, on the safe
 * side; functions and procedures called by name are not covered (docs/postgres-gateway.md).
 */
import { asNode, list, nodeBody, str } from '../../../sql/ast.ts';
import type { Classification } from '../../../sql/index.ts';
import { ownClass, type ClassRules } from './column-classes.ts';

export function opaqueCodeReadsCardData(c: Classification, rules: ClassRules): boolean {
  const configured = new Set([...rules.pan, ...rules.sad, ...rules.redact].map((g) => g.split('.').pop()!.toLowerCase()));
  for (const s of c.statements) {
    const n = asNode(s.tree);
    if (n?.type !== 'DoStmt') continue;
    for (const a of list(n.body.args)) {
      const def = nodeBody(a, 'DefElem');
      if (str(def?.defname) !== 'as') continue;
      const body = str(nodeBody(def?.arg, 'String')?.sval) ?? '';
      for (const word of body.split(/[^A-Za-z0-9_]+/)) {
        if (word === '') continue;
        if (configured.has(word.toLowerCase()) || ownClass({ schema: undefined, table: undefined, column: word, comment: null }, rules) !== 'none') return true;
      }
    }
  }
  return false;
}

export const REDACTED_MESSAGE = '[REDACTED: raised by a DO block that reads cardholder columns]';

/**
 * SQLSTATE classes whose messages name objects, types and states but never a value the statement computed:
 * connection (08), feature not supported (0A), transaction state (25, 40), names (26, 34, 3D, 3F), syntax
 * and access (42, whose syntax errors quote only the client's own text), resources (53, 54), object state
 * (55), operator intervention (57), authorization (28). Every other class can quote a value: data
 * exceptions (22: `invalid input syntax for type integer: "123x"`), integrity (23: `Key (v)=(…)`, `Failing
 * row contains (…)`), RAISE (P0, and notices 00/01), routine exceptions (2F, 38, 39), internal errors (XX)…
 */
const VALUE_FREE_CLASSES = new Set(['08', '0A', '25', '26', '28', '34', '3D', '3F', '40', '42', '53', '54', '55', '57']);

/** Whether a message of this SQLSTATE may quote a value the statement computed. */
export function quotesValues(sqlstate: string): boolean {
  return !VALUE_FREE_CLASSES.has(sqlstate.slice(0, 2).toUpperCase());
}

/** The message that replaces one raised by a statement reading card data (its SQLSTATE kept). */
export function readsMessage(sqlstate: string): string {
  return `[REDACTED by Vigil: SQLSTATE ${sqlstate} raised by a statement that reads card-security or PAN columns; its text could quote their values]`;
}
