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
