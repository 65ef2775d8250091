/**
 * Output provenance for a session: the ProvenanceContext over the target's catalog and the session's search
 * path, with what is costly kept — column classes per relation, the analysed output of each view, and each
 * statement's output per (search path, catalog version), so a hot loop analyses a statement shape once.
 */
import type { Classification } from '../../../sql/index.ts';
import { DEFINITION_PATH, resolveRelation } from '../catalog/resolve-names.ts';
import type { CatalogRelation, TargetCatalog } from '../catalog/target-catalog.ts';
import { ownClass, relationClasses, stricter, type ClassRules, type ColumnClass } from './column-classes.ts';
import type { PlanContext } from './mask-plan.ts';
import { ProvenanceAnalyzer, type Field, type Prov, type ProvenanceContext, type StatementOutput } from './provenance.ts';

const MAX_VIEW_DEPTH = 8;

interface Memo {
  key: string;
  output: StatementOutput | undefined;
  reads: ColumnClass;
}

export class ResultProvenance {
  private readonly classCache = new Map<number, { version: number; classes: Map<number, ColumnClass> }>();
  private readonly viewCache = new Map<number, { version: number; columns: Field[] | undefined }>();
  private readonly memo = new WeakMap<object, Memo>();
  private viewDepth = 0;

  constructor(
    private readonly catalog: TargetCatalog,
    private readonly rules: ClassRules,
    private readonly classify: (sql: string) => Classification,
    private readonly cursor: (name: string) => Classification | undefined,
  ) {}

  /** Each statement's output (undefined: it returns no rows Vigil knows of), names resolved through `path`. */
  outputs(c: Classification, path: readonly string[]): (StatementOutput | undefined)[] {
    return c.statements.map((s) => this.analysed(s.tree, path)?.output);
  }

  /**
   * The strictest class of anything the statements read, anywhere, output or not ('sad' when a statement
   * cannot be analysed): what an error or notice the server raises while running them could quote.
   */
  reads(c: Classification, path: readonly string[]): ColumnClass {
    return c.statements.reduce<ColumnClass>((cls, s) => stricter(cls, this.analysed(s.tree, path)?.reads ?? 'sad'), 'none');
  }

  private analysed(tree: unknown, path: readonly string[]): Memo | undefined {
    if (typeof tree !== 'object' || tree === null) return undefined;
    const key = `${this.catalog.version}\0${path.join('\0')}`;
    const m = this.memo.get(tree);
    if (m?.key === key) return m;
    const analyzer = new ProvenanceAnalyzer(this.context(path));
    const output = analyzer.statement(tree);
    const memo: Memo = { key, output, reads: analyzer.readClass };
    this.memo.set(tree, memo);
    return memo;
  }

  /** What the masker needs to place RowDescription origins. */
  planContext(unmaskColumns: readonly string[]): PlanContext {
    return {
      origin: (oid, attnum) => this.origin(oid, attnum),
      unmasked: (source) => unmaskColumns.some((u) => (u.includes('.') ? source === u || source.endsWith(`.${u}`) : source.endsWith(`.${u}`))),
    };
  }

  private origin(oid: number, attnum: number): Prov | undefined {
    const rel = this.catalog.relation(oid);
    if (!rel) return undefined;
    const columns = this.columnsOf(rel);
    if (!columns) return undefined;
    if (attnum === 0) {
      const cls = columns.reduce<ColumnClass>((c, f) => stricter(c, f.prov.cls), 'none');
      return { cls, plain: false, row: { fields: columns, as: 'record' } };
    }
    const i = rel.columns.findIndex((c) => c.attnum === attnum);
    return i < 0 ? undefined : columns[i]?.prov;
  }

  private columnsOf(rel: CatalogRelation): Field[] | undefined {
    if (rel.definition !== null) {
      const view = this.viewColumns(rel);
      return view ? rel.columns.map((c, i) => ({ name: c.name, prov: view[i]?.prov ?? { cls: 'none', plain: false } })) : undefined;
    }
    const classes = this.classes(rel);
    return rel.columns.map((c) => ({ name: c.name, prov: { cls: classes.get(c.attnum) ?? 'none', plain: true, source: `${rel.schema}.${rel.name}.${c.name}` } }));
  }

  private classes(rel: CatalogRelation): Map<number, ColumnClass> {
    const hit = this.classCache.get(rel.oid);
    if (hit?.version === this.catalog.version) return hit.classes;
    const classes = relationClasses(rel, this.rules);
    this.classCache.set(rel.oid, { version: this.catalog.version, classes });
    return classes;
  }

  private viewColumns(rel: CatalogRelation): Field[] | undefined {
    const hit = this.viewCache.get(rel.oid);
    if (hit?.version === this.catalog.version) return hit.columns;
    if (this.viewDepth >= MAX_VIEW_DEPTH || !rel.definition) return undefined;
    this.viewDepth++;
    try {
      const c = this.classify(rel.definition);
      const tree = c.statements.length === 1 ? c.statements[0]!.tree : undefined;
      const out = tree === undefined ? undefined : new ProvenanceAnalyzer(this.context(DEFINITION_PATH)).statement(tree);
      // A view whose output Vigil cannot place column by column counts as derived from all it reads.
      const derived = out && out.exact ? out.columns : out ? out.columns.map((f) => ({ name: f.name, prov: { cls: out.referenced, plain: false } })) : undefined;
      // A view's own column counts too: cardholderData or a comment naming it, pg_stats' value columns.
      const columns = derived?.map((f, i) => {
        const c = rel.columns[i];
        const own = c ? ownClass({ schema: rel.schema, table: rel.name, column: c.name, comment: c.comment }, this.rules) : 'none';
        return stricter(f.prov.cls, own) === f.prov.cls ? f : { name: f.name, prov: { ...f.prov, cls: own } };
      });
      this.viewCache.set(rel.oid, { version: this.catalog.version, columns });
      return columns;
    } finally {
      this.viewDepth--;
    }
  }

  private context(path: readonly string[]): ProvenanceContext {
    return {
      relation: (parts) => resolveRelation(parts, path, this.catalog)?.relation,
      classes: (rel) => this.classes(rel),
      viewColumns: (rel) => this.viewColumns(rel),
      cursor: (name) => {
        const c = this.cursor(name);
        return c && c.statements.length === 1 ? c.statements[0]!.tree : undefined;
      },
      nameClass: (column) => ownClass({ schema: undefined, table: undefined, column, comment: null }, this.rules),
      parse: (sql) => this.classify(sql).statements.map((s) => (typeof s.tree === 'object' && s.tree !== null ? s.tree : undefined)),
    };
  }
}
