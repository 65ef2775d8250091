/**
 * What the gateway knows of a target's catalog: relations (columns, view definitions, the functions their
 * row-security policies call), functions (volatility, SECURITY DEFINER, language, extension) and
 * user-defined operators. Loaded by name on first use over the target's catalog connection, shared by the
 * target's sessions, and refreshed: entries expire after `ttlMs`, a name that resolves to nothing is looked
 * up again on its next use, and DDL run through the gateway invalidates everything at once.
 *
 * Objects created outside Vigil become visible within `ttlMs` (docs/postgres-gateway.md says so).
 */
import { VigilError } from '../../../../shared/errors.ts';
import type { CatalogConnection } from './catalog-connection.ts';

/** PostgreSQL's FirstNormalObjectId: objects below it were created by initdb (built-ins). */
export const FIRST_NORMAL_OID = 16384;

export interface CatalogColumn {
  attnum: number;
  name: string;
  typeOid: number;
  comment: string | null;
}

export interface CatalogRelation {
  oid: number;
  schema: string;
  name: string;
  /** pg_class.relkind: r table, v view, m materialized view, f foreign, p partitioned, S sequence, c type… */
  kind: string;
  columns: CatalogColumn[];
  /** For views and materialized views: the defining query (pg_get_viewdef). */
  definition: string | null;
  /** Functions the relation's row-security policies call (schema.name). */
  policyFunctions: string[];
}

export interface CatalogFunction {
  oid: number;
  schema: string;
  name: string;
  volatility: 'i' | 's' | 'v';
  securityDefiner: boolean;
  language: string;
  /** f function, p procedure, a aggregate, w window. */
  kind: string;
  nargs: number;
  /** The contrib extension it belongs to, if any. */
  extension: string | null;
  /** Created by initdb (pg_catalog's own functions). */
  builtin: boolean;
}

export interface CatalogOperator {
  schema: string;
  name: string;
  functionSchema: string;
  functionName: string;
}

interface Entry<T> {
  at: number;
  generation: number;
  value: T[];
}

const RELATIONS_SQL = `
SELECT c.oid::pg_catalog.int8::pg_catalog.text, n.nspname, c.relname, c.relkind::pg_catalog.text,
  COALESCE((SELECT pg_catalog.json_agg(pg_catalog.json_build_array(a.attnum, a.attname, a.atttypid::pg_catalog.int8, pg_catalog.col_description(c.oid, a.attnum)) ORDER BY a.attnum)
            FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '[]')::pg_catalog.text,
  CASE WHEN c.relkind IN ('v', 'm') THEN pg_catalog.pg_get_viewdef(c.oid) END,
  COALESCE((SELECT pg_catalog.json_agg(DISTINCT pn.nspname OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) p.proname)
            FROM pg_catalog.pg_policy pol
            JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_policy'::pg_catalog.regclass AND d.objid = pol.oid AND d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass
            JOIN pg_catalog.pg_proc p ON p.oid = d.refobjid JOIN pg_catalog.pg_namespace pn ON pn.oid = p.pronamespace
            WHERE pol.polrelid = c.oid), '[]')::pg_catalog.text
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE `;

const FUNCTIONS_SQL = `
SELECT p.oid::pg_catalog.int8::pg_catalog.text, n.nspname, p.proname, p.provolatile::pg_catalog.text, p.prosecdef::pg_catalog.text,
  l.lanname, p.prokind::pg_catalog.text, p.pronargs::pg_catalog.text,
  (SELECT e.extname FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid
   WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.objid = p.oid AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass AND d.deptype = 'e' LIMIT 1)
FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace JOIN pg_catalog.pg_language l ON l.oid = p.prolang
WHERE p.proname IN (SELECT pg_catalog.json_array_elements_text($1::pg_catalog.json))`;

const OPERATORS_SQL = `
SELECT n.nspname, o.oprname, pn.nspname, p.proname
FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace
JOIN pg_catalog.pg_proc p ON p.oid = o.oprcode JOIN pg_catalog.pg_namespace pn ON pn.oid = p.pronamespace
WHERE o.oid >= ${FIRST_NORMAL_OID}`;

/** Entries kept per cache before it starts over (a real schema has far fewer names in use). */
const MAX_NAMES = 20_000;

export interface TargetCatalogOptions {
  ttlMs?: number;
  now?: () => number;
}

export class TargetCatalog {
  private readonly relations = new Map<string, Entry<CatalogRelation>>();
  private readonly byOid = new Map<number, CatalogRelation>();
  private readonly functions = new Map<string, Entry<CatalogFunction>>();
  private operators: Entry<CatalogOperator> | undefined;
  private generation = 0;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(
    private readonly connection: CatalogConnection,
    opts: TargetCatalogOptions = {},
  ) {
    this.ttlMs = opts.ttlMs ?? 5_000;
    this.now = opts.now ?? (() => Date.now());
  }

  /** Changes whenever everything known was declared out of date (memoised analyses key on it). */
  get version(): number {
    return this.generation;
  }

  /** DDL ran: everything known may be out of date. */
  invalidate(): void {
    this.generation++;
  }

  close(): void {
    this.connection.close();
  }

  // ── relations ────────────────────────────────────────────────────────────────────────────────

  /** Loads the relations named `names` (in every schema) that are not known or not fresh. */
  async ensureRelations(names: Iterable<string>): Promise<void> {
    const missing = [...new Set(names)].filter((n) => !this.isFresh(this.relations.get(n)));
    if (missing.length === 0) return;
    const rows = await this.connection.query(`${RELATIONS_SQL}c.relname IN (SELECT pg_catalog.json_array_elements_text($1::pg_catalog.json))`, [JSON.stringify(missing)]);
    const found = new Map<string, CatalogRelation[]>(missing.map((n) => [n, []]));
    for (const r of rows.map(relationOf)) {
      found.get(r.name)?.push(r);
      this.byOid.set(r.oid, r);
    }
    for (const [name, value] of found) this.relations.set(name, this.entry(value));
  }

  /** Loads relations by OID (what a RowDescription names), when not known yet. */
  async ensureRelationOids(oids: Iterable<number>): Promise<void> {
    const missing = [...new Set(oids)].filter((o) => o > 0 && !this.byOid.has(o));
    if (missing.length === 0) return;
    const rows = await this.connection.query(`${RELATIONS_SQL}c.oid IN (SELECT pg_catalog.json_array_elements_text($1::pg_catalog.json)::pg_catalog.oid)`, [JSON.stringify(missing.map(String))]);
    for (const r of rows.map(relationOf)) this.byOid.set(r.oid, r);
  }

  /**
   * Every relation called `name`, in any schema, as last loaded; undefined when never loaded. Lookups do not
   * expire: ensure*() decides when to read again, and an analysis must not find what it just loaded gone
   * because the clock passed the TTL in between.
   */
  relationsNamed(name: string): readonly CatalogRelation[] | undefined {
    return this.relations.get(name)?.value;
  }

  /** Whether relations and functions of these names are loaded and fresh (nothing to read before analysis). */
  fresh(relations: Iterable<string>, functions: Iterable<string>, operators: boolean): boolean {
    for (const n of relations) if (!this.isFresh(this.relations.get(n))) return false;
    for (const n of functions) if (!this.isFresh(this.functions.get(n))) return false;
    return !operators || this.isFresh(this.operators);
  }

  relation(oid: number): CatalogRelation | undefined {
    return this.byOid.get(oid);
  }

  // ── functions and operators ──────────────────────────────────────────────────────────────────

  async ensureFunctions(names: Iterable<string>): Promise<void> {
    const missing = [...new Set(names)].filter((n) => !this.isFresh(this.functions.get(n)));
    if (missing.length === 0) return;
    const rows = await this.connection.query(FUNCTIONS_SQL, [JSON.stringify(missing)]);
    const found = new Map<string, CatalogFunction[]>(missing.map((n) => [n, []]));
    for (const r of rows) {
      const f: CatalogFunction = {
        oid: Number(r[0]),
        schema: r[1]!,
        name: r[2]!,
        volatility: r[3] as CatalogFunction['volatility'],
        securityDefiner: r[4] === 'true',
        language: r[5]!,
        kind: r[6]!,
        nargs: Number(r[7]),
        extension: r[8] ?? null,
        builtin: Number(r[0]) < FIRST_NORMAL_OID,
      };
      found.get(f.name)?.push(f);
    }
    for (const [name, value] of found) this.functions.set(name, this.entry(value));
  }

  functionsNamed(name: string): readonly CatalogFunction[] | undefined {
    return this.functions.get(name)?.value;
  }

  async ensureOperators(): Promise<void> {
    if (this.isFresh(this.operators)) return;
    const rows = await this.connection.query(OPERATORS_SQL);
    this.operators = this.entry(rows.map((r) => ({ schema: r[0]!, name: r[1]!, functionSchema: r[2]!, functionName: r[3]! })));
  }

  /** Operators defined outside initdb (by users or extensions), as last loaded; undefined when never loaded. */
  userOperators(): readonly CatalogOperator[] | undefined {
    return this.operators?.value;
  }

  /** Names clients made Vigil look up are bounded: a client inventing names cannot grow the caches without end. */
  private bound(): void {
    if (this.relations.size > MAX_NAMES) this.relations.clear();
    if (this.functions.size > MAX_NAMES) this.functions.clear();
    if (this.byOid.size > MAX_NAMES) this.byOid.clear();
  }

  private entry<T>(value: T[]): Entry<T> {
    this.bound();
    return { at: this.now(), generation: this.generation, value };
  }

  private isFresh<T>(e: Entry<T> | undefined): boolean {
    return e !== undefined && e.generation === this.generation && this.now() - e.at < this.ttlMs;
  }
}

function relationOf(r: (string | null)[]): CatalogRelation {
  let columns: CatalogColumn[];
  let policyFunctions: string[];
  try {
    columns = (JSON.parse(r[4] ?? '[]') as [number, string, number, string | null][]).map(([attnum, name, typeOid, comment]) => ({ attnum, name, typeOid, comment }));
    policyFunctions = JSON.parse(r[6] ?? '[]') as string[];
  } catch (e) {
    throw new VigilError('E_CATALOG_FORMAT', 'the catalog answered in an unexpected format', { cause: e });
  }
  return { oid: Number(r[0]), schema: r[1]!, name: r[2]!, kind: r[3]!, columns, definition: r[5] ?? null, policyFunctions };
}
