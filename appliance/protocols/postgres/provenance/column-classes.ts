/**
 * Which source columns hold cardholder data, from three places: the target's `cardholderData` (schema.table
 * .column globs), the policy's `masking.redactColumns`, the column's name (cvv, track… are card-security
 * data; card_number, pan… are PANs) and its comment in the target's catalog (`vigil:pan`, `vigil:sad`).
 * A column of a table that holds PANs or card-security data is itself `cardholder`: its values are scanned
 * for card numbers in strict mode, since data travels between the columns of such a table.
 */
import { globMatch } from '../../../policy/glob.ts';
import { isPanColumn, isSensitiveColumn } from '../../../sql/index.ts';
import type { CatalogRelation } from '../catalog/target-catalog.ts';

/** In increasing order of how much masking they need. */
export type ColumnClass = 'none' | 'cardholder' | 'pan' | 'sad';

export const CLASS_RANK: Record<ColumnClass, number> = { none: 0, cardholder: 1, pan: 2, sad: 3 };

export function stricter(a: ColumnClass, b: ColumnClass): ColumnClass {
  return CLASS_RANK[a] >= CLASS_RANK[b] ? a : b;
}

export interface ClassRules {
  pan: readonly string[];
  sad: readonly string[];
  /** The policy's redactColumns: bare column names or schema.table.column globs; redacted like card-security data. */
  redact: readonly string[];
}

/** A source column: a column of a relation in the catalog, or a name Vigil could not place. */
export interface SourceColumn {
  schema: string | undefined;
  table: string | undefined;
  column: string;
  comment: string | null;
}

/** A glob names a column (`ssn`), a table's column (`cards.cvv2`, any schema) or a schema's (`public.cards.cvv2`). */
function matches(globs: readonly string[], s: SourceColumn): boolean {
  const qualified = `${s.schema ?? '*'}.${s.table ?? '*'}.${s.column}`;
  return globs.some((g) => {
    const dots = g.split('.').length - 1;
    return globMatch(dots === 0 ? `*.*.${g}` : dots === 1 ? `*.${g}` : g, qualified);
  });
}

/**
 * The catalog's own copies of column values, of every table alike: the planner's statistics (sampled values
 * of each column — a CVV column's among them — readable by whoever may read the column, and kept fresh by
 * autovacuum) and the SQL other sessions are running (every Vigil session of a target logs in as the same
 * role, so each sees the others' statements, literals included). Counted as card-security data.
 */
const CATALOG_VALUE_COPIES: readonly string[] = [
  'pg_catalog.pg_statistic.stavalues*',
  'pg_catalog.pg_statistic_ext_data.stxdmcv',
  'pg_catalog.pg_statistic_ext_data.stxdexpr',
  'pg_catalog.pg_stats.most_common_vals',
  'pg_catalog.pg_stats.most_common_elems',
  'pg_catalog.pg_stats.histogram_bounds',
  'pg_catalog.pg_stats_ext.most_common_vals',
  'pg_catalog.pg_stats_ext_exprs.most_common_vals',
  'pg_catalog.pg_stats_ext_exprs.most_common_elems',
  'pg_catalog.pg_stats_ext_exprs.histogram_bounds',
  'pg_catalog.pg_stat_activity.query',
];

/** The class of one column by itself (without the cardholder-table rule). */
export function ownClass(s: SourceColumn, rules: ClassRules): ColumnClass {
  const comment = s.comment ?? '';
  if (s.schema === 'pg_catalog' && matches(CATALOG_VALUE_COPIES, s)) return 'sad';
  if (matches(rules.sad, s) || matches(rules.redact, s) || isSensitiveColumn(s.column) || /\bvigil:sad\b/.test(comment)) return 'sad';
  if (matches(rules.pan, s) || isPanColumn(s.column) || /\bvigil:pan\b/.test(comment)) return 'pan';
  return 'none';
}

/** Classes of every column of a relation (attnum → class), computed once per relation. */
export function relationClasses(rel: CatalogRelation, rules: ClassRules): Map<number, ColumnClass> {
  const out = new Map<number, ColumnClass>();
  let holdsCardData = false;
  for (const c of rel.columns) {
    const cls = ownClass({ schema: rel.schema, table: rel.name, column: c.name, comment: c.comment }, rules);
    out.set(c.attnum, cls);
    if (cls !== 'none') holdsCardData = true;
  }
  if (holdsCardData) for (const [k, v] of out) if (v === 'none') out.set(k, 'cardholder');
  return out;
}
