/**
 * What a function call can do, decided per candidate the name resolves to: a built-in (or a contrib
 * function of the extension the review names) by the reviewed list (appliance/sql/builtin-functions.ts);
 * a built-in the list does not know by its volatility (volatile and unreviewed counts as a write); any
 * other function by the catalog — a user-defined function may do anything its body does, and PostgreSQL
 * does not stop a STABLE function from calling a volatile one, so it counts as a write unless the target
 * lists it as trusted. A name that resolves to nothing yet counts the same (fail closed).
 */
import { builtinFunction, type BuiltinFunction, type FunctionCategory } from '../../../sql/builtin-functions.ts';
import type { FunctionRef } from '../../../sql/index.ts';
import type { CatalogFunction } from './target-catalog.ts';

/** How far a call escalates its statement. */
export type CallEscalation = 'none' | 'resource' | 'write' | 'procedural' | 'admin' | 'unknown';

export const ESCALATION_RANK: Record<CallEscalation, number> = { none: 0, resource: 1, write: 2, procedural: 3, admin: 4, unknown: 5 };

export interface CallEffect {
  escalation: CallEscalation;
  tags: string[];
  /** The reviewed entry when every candidate is that built-in (runs-sql, reads-relation… need its arguments). */
  builtin: BuiltinFunction | undefined;
}

const BY_CATEGORY: Record<FunctionCategory, CallEscalation> = {
  harmless: 'none',
  internal: 'none',
  session: 'none',
  cursor: 'none',
  'reads-relation': 'none',
  'reads-schema': 'none',
  'reads-database': 'none',
  'runs-sql': 'none',
  'resource:sleep': 'resource',
  'resource:lock': 'resource',
  'resource:notify': 'resource',
  write: 'write',
  admin: 'admin',
  dangerous: 'procedural',
};

export function effectOfCall(ref: FunctionRef, candidates: readonly CatalogFunction[], trusted: (qualified: string) => boolean): CallEffect {
  const name = ref.parts[ref.parts.length - 1]!;
  if (candidates.length === 0) {
    return { escalation: 'write', tags: [`unknown-function:${ref.parts.join('.')}`], builtin: undefined };
  }
  let escalation: CallEscalation = 'none';
  const tags: string[] = [];
  let builtin: BuiltinFunction | undefined;
  let allBuiltin = true;
  const raise = (e: CallEscalation) => {
    if (ESCALATION_RANK[e] > ESCALATION_RANK[escalation]) escalation = e;
  };
  for (const c of candidates) {
    const qualified = `${c.schema}.${c.name}`;
    const entry = builtinFunction(c.name, ref.args);
    const reviewed = entry && (c.builtin ? entry.extension === undefined : c.extension !== null && entry.extension === c.extension);
    if (reviewed) {
      builtin = entry;
      raise(BY_CATEGORY[entry.category]);
      if (entry.category !== 'harmless' && entry.category !== 'internal') tags.push(`function:${entry.category}:${c.name}`);
      continue;
    }
    allBuiltin = false;
    if (c.builtin) {
      // initdb's own functions the review does not list: their declared volatility can be trusted.
      if (c.volatility === 'v') {
        raise('write');
        tags.push(`unreviewed-function:${qualified}`);
      }
      continue;
    }
    if (trusted(qualified)) {
      tags.push(`trusted-function:${qualified}`);
      continue;
    }
    raise('write');
    tags.push(`user-function:${qualified}`, `volatility:${c.volatility === 'v' ? 'volatile' : c.volatility === 's' ? 'stable' : 'immutable'}`);
    if (c.securityDefiner) tags.push(`security-definer:${qualified}`);
  }
  return { escalation, tags: [...new Set(tags)], builtin: allBuiltin ? builtin : undefined };
}

/** The constant argument at `ref`'s position (or by its parameter name), or null when it is not a constant. */
export function constantArg(ref: FunctionRef, arg: { position: number; name?: string } | undefined): string | null | undefined {
  if (!arg || !ref.constants) return undefined;
  if (arg.name !== undefined && arg.name in ref.constants.named) return ref.constants.named[arg.name] ?? null;
  return ref.constants.positional[arg.position] ?? null;
}

export { type FunctionRef };
export const functionName = (ref: FunctionRef): string => ref.parts[ref.parts.length - 1]!;
