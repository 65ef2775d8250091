/**
 * Names resolved as the target resolves them: a relation through the session's search path (the
 * temporary schema and pg_catalog included, in the order current_schemas(true) reports), a function
 * through every candidate the path offers (Vigil does not redo PostgreSQL's overload resolution, so every
 * function of that name on the path counts: the strictest decides).
 */
import type { CatalogFunction, CatalogRelation, TargetCatalog } from './target-catalog.ts';

/** The path pg_get_viewdef prints a view's names for: the catalog connection's default. */
export const DEFINITION_PATH: readonly string[] = ['pg_catalog', 'public'];

export interface ResolvedRelation {
  /** schema.name as recorded and matched by policy; for a name found nowhere, every place it could be. */
  names: string[];
  relation: CatalogRelation | undefined;
}

/** The schema and name a qualified or bare relation reference points at (the catalog part is ignored). */
function split(parts: readonly string[]): { schema: string | undefined; name: string } {
  const name = parts[parts.length - 1]!;
  return { schema: parts.length >= 2 ? parts[parts.length - 2] : undefined, name };
}

/** The session's own temporary schema, when it has one. */
function tempSchema(path: readonly string[]): string | undefined {
  return path.find((s) => s.startsWith('pg_temp_'));
}

/** Undefined when the catalog has not loaded the name (ensure it first). */
export function resolveRelation(parts: readonly string[], path: readonly string[], catalog: TargetCatalog): ResolvedRelation | undefined {
  const { schema, name } = split(parts);
  const all = catalog.relationsNamed(name);
  if (!all) return undefined;
  if (schema !== undefined) {
    const s = schema === 'pg_temp' ? (tempSchema(path) ?? 'pg_temp') : schema;
    const relation = all.find((r) => r.schema === s);
    return { names: [`${s}.${name}`], relation };
  }
  for (const s of path) {
    const relation = all.find((r) => r.schema === s);
    if (relation) return { names: [`${s}.${name}`], relation };
  }
  // Found nowhere (yet): it could come to exist in any schema of the path.
  return { names: path.map((s) => `${s}.${name}`), relation: undefined };
}

/** Every function the call could resolve to. Undefined when the catalog has not loaded the name. */
export function functionCandidates(parts: readonly string[], path: readonly string[], catalog: TargetCatalog): readonly CatalogFunction[] | undefined {
  const { schema, name } = split(parts);
  const all = catalog.functionsNamed(name);
  if (!all) return undefined;
  // Functions are never looked up in the temporary schema unless it is named (PostgreSQL's own rule), as
  // pg_temp or by its own name.
  if (schema !== undefined) {
    const s = schema === 'pg_temp' ? (tempSchema(path) ?? 'pg_temp') : schema;
    return all.filter((f) => f.schema === s);
  }
  const searched = path.filter((s) => !s.startsWith('pg_temp_'));
  return all.filter((f) => searched.includes(f.schema));
}
