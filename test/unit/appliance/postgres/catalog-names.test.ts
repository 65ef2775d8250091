/**
 * resolve-names.ts and function-effects.ts over a TargetCatalog whose connection is an in-memory stand-in
 * answering the catalog's own queries (rows in the shape target-catalog.ts selects).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { constantArg, effectOfCall, functionName } from '../../../../appliance/protocols/postgres/catalog/function-effects.ts';
import { functionCandidates, resolveRelation } from '../../../../appliance/protocols/postgres/catalog/resolve-names.ts';
import { FIRST_NORMAL_OID, TargetCatalog, type CatalogFunction } from '../../../../appliance/protocols/postgres/catalog/target-catalog.ts';
import { globMatch } from '../../../../appliance/policy/glob.ts';
import { builtinFunction } from '../../../../appliance/sql/builtin-functions.ts';
import { SqlClassifier, type FunctionRef } from '../../../../appliance/sql/index.ts';

interface Rel {
  oid: number;
  schema: string;
  name: string;
  kind?: string;
  columns?: [number, string, number, string | null][];
  definition?: string | null;
  policyFunctions?: string[];
}

interface Fn {
  oid: number;
  schema: string;
  name: string;
  volatility?: 'i' | 's' | 'v';
  securityDefiner?: boolean;
  language?: string;
  kind?: string;
  nargs?: number;
  extension?: string | null;
}

/** Answers RELATIONS_SQL (by name or by OID), FUNCTIONS_SQL and OPERATORS_SQL from arrays. */
class FakeCatalogConnection {
  readonly queries: { sql: string; params: readonly string[] }[] = [];
  closed = false;

  constructor(
    readonly relations: Rel[],
    readonly functions: Fn[],
  ) {}

  async query(sql: string, params: readonly string[] = []): Promise<(string | null)[][]> {
    this.queries.push({ sql, params });
    if (sql.includes('FROM pg_catalog.pg_class c')) {
      const wanted = JSON.parse(params[0]!) as string[];
      const byOid = sql.includes('c.oid IN');
      return this.relations
        .filter((r) => (byOid ? wanted.includes(String(r.oid)) : wanted.includes(r.name)))
        .map((r) => [String(r.oid), r.schema, r.name, r.kind ?? 'r', JSON.stringify(r.columns ?? []), r.definition ?? null, JSON.stringify(r.policyFunctions ?? [])]);
    }
    if (sql.includes('FROM pg_catalog.pg_proc p')) {
      const wanted = JSON.parse(params[0]!) as string[];
      return this.functions
        .filter((f) => wanted.includes(f.name))
        .map((f) => [
          String(f.oid),
          f.schema,
          f.name,
          f.volatility ?? 'v',
          String(f.securityDefiner ?? false),
          f.language ?? 'plpgsql',
          f.kind ?? 'f',
          String(f.nargs ?? 0),
          f.extension ?? null,
        ]);
    }
    if (sql.includes('pg_catalog.pg_operator')) return [];
    throw new Error(`unexpected catalog query: ${sql}`);
  }

  close(): void {
    this.closed = true;
  }
}

const PATH = ['pg_temp_3', 'pg_catalog', 'app', 'public'];

const RELATIONS: Rel[] = [
  { oid: 20001, schema: 'app', name: 'orders', columns: [[1, 'id', 23, null]] },
  { oid: 20002, schema: 'public', name: 'orders' },
  { oid: 20003, schema: 'public', name: 'customers' },
  { oid: 20004, schema: 'pg_temp_3', name: 'customers' },
  { oid: 1259, schema: 'pg_catalog', name: 'pg_class' },
  { oid: 20005, schema: 'public', name: 'pg_class' },
  { oid: 20006, schema: 'pg_temp_3', name: 'scratch' },
  { oid: 20007, schema: 'other', name: 'elsewhere' },
];

const FUNCTIONS: Fn[] = [
  { oid: 2626, schema: 'pg_catalog', name: 'pg_sleep', language: 'internal' },
  { oid: 30001, schema: 'public', name: 'pg_sleep', volatility: 's' },
  { oid: 30002, schema: 'pg_temp_3', name: 'pg_sleep' },
  { oid: 30003, schema: 'app', name: 'f', volatility: 's', securityDefiner: true },
  { oid: 30004, schema: 'util', name: 'f', volatility: 'i' },
  { oid: 30005, schema: 'pg_temp_3', name: 'tmpfn' },
];

async function catalogWith(relations: Rel[] = RELATIONS, functions: Fn[] = FUNCTIONS, opts: { now?: () => number; ttlMs?: number } = {}) {
  const conn = new FakeCatalogConnection(relations, functions);
  const catalog = new TargetCatalog(conn as never, opts);
  await catalog.ensureRelations(relations.map((r) => r.name).concat(['ghost']));
  await catalog.ensureFunctions(functions.map((f) => f.name).concat(['nowhere']));
  return { conn, catalog };
}

const schemasOf = (fs: readonly CatalogFunction[] | undefined) => fs?.map((f) => f.schema).sort();

describe('resolveRelation', () => {
  it('a bare name: the first schema of the path that holds it wins', async () => {
    const { catalog } = await catalogWith();
    expect(resolveRelation(['orders'], PATH, catalog)).toMatchObject({ names: ['app.orders'], relation: { oid: 20001 } });
    expect(resolveRelation(['orders'], ['pg_catalog', 'public', 'app'], catalog)).toMatchObject({ names: ['public.orders'], relation: { oid: 20002 } });
  });

  it('the temporary schema comes first for relations', async () => {
    const { catalog } = await catalogWith();
    expect(resolveRelation(['customers'], PATH, catalog)).toMatchObject({ names: ['pg_temp_3.customers'], relation: { oid: 20004 } });
  });

  it('pg_catalog before a user table of the same name, when the path says so', async () => {
    const { catalog } = await catalogWith();
    expect(resolveRelation(['pg_class'], PATH, catalog)?.relation?.oid).toBe(1259);
    expect(resolveRelation(['pg_class'], ['public', 'pg_catalog'], catalog)?.relation?.oid).toBe(20005);
  });

  it('a qualified name goes to its schema only (a catalog part is ignored)', async () => {
    const { catalog } = await catalogWith();
    expect(resolveRelation(['public', 'orders'], PATH, catalog)).toMatchObject({ names: ['public.orders'], relation: { oid: 20002 } });
    expect(resolveRelation(['shop', 'public', 'orders'], PATH, catalog)).toMatchObject({ names: ['public.orders'], relation: { oid: 20002 } });
    expect(resolveRelation(['other', 'elsewhere'], PATH, catalog)).toMatchObject({ names: ['other.elsewhere'], relation: { oid: 20007 } });
  });

  it('pg_temp names the session\'s temporary schema', async () => {
    const { catalog } = await catalogWith();
    expect(resolveRelation(['pg_temp', 'scratch'], PATH, catalog)).toMatchObject({ names: ['pg_temp_3.scratch'], relation: { oid: 20006 } });
    expect(resolveRelation(['pg_temp', 'scratch'], ['pg_catalog', 'public'], catalog)).toEqual({ names: ['pg_temp.scratch'], relation: undefined });
  });

  it('a qualified name not in its schema: that one name, no relation', async () => {
    const { catalog } = await catalogWith();
    expect(resolveRelation(['nope', 'orders'], PATH, catalog)).toEqual({ names: ['nope.orders'], relation: undefined });
  });

  it('a bare name found nowhere could come to exist in every schema of the path', async () => {
    const { catalog } = await catalogWith();
    expect(resolveRelation(['ghost'], PATH, catalog)).toEqual({ names: PATH.map((s) => `${s}.ghost`), relation: undefined });
    expect(resolveRelation(['elsewhere'], PATH, catalog)).toEqual({ names: PATH.map((s) => `${s}.elsewhere`), relation: undefined });
  });

  it('a name the catalog has not loaded: undefined (ensure it first)', async () => {
    const { catalog } = await catalogWith();
    expect(resolveRelation(['never_asked'], PATH, catalog)).toBeUndefined();
  });
});

describe('TargetCatalog (as the resolution sees it)', () => {
  it('loads each name once while fresh, again after the ttl or an invalidation', async () => {
    let now = 0;
    const { conn, catalog } = await catalogWith(RELATIONS, FUNCTIONS, { now: () => now, ttlMs: 1000 });
    const relationQueries = () => conn.queries.filter((q) => q.sql.includes('pg_class c')).length;
    expect(relationQueries()).toBe(1);
    await catalog.ensureRelations(['orders', 'customers']);
    expect(relationQueries()).toBe(1);
    now = 1000;
    // Past the ttl a lookup still sees what was last loaded (an analysis running across the boundary must
    // not lose what prepare() loaded); the next ensure reads it again.
    expect(catalog.relationsNamed('orders')).toHaveLength(2);
    await catalog.ensureRelations(['orders']);
    expect(relationQueries()).toBe(2);
    expect(catalog.relationsNamed('orders')).toHaveLength(2);
    catalog.invalidate();
    await catalog.ensureRelations(['orders']);
    expect(relationQueries()).toBe(3);
  });

  it('reads function rows: built-in by OID, security definer, extension', async () => {
    const { catalog } = await catalogWith(RELATIONS, [...FUNCTIONS, { oid: 40000, schema: 'public', name: 'dblink', extension: 'dblink', language: 'c' }]);
    await catalog.ensureFunctions(['dblink']);
    expect(catalog.functionsNamed('pg_sleep')?.find((f) => f.schema === 'pg_catalog')).toMatchObject({ builtin: true, volatility: 'v', language: 'internal' });
    expect(catalog.functionsNamed('f')?.find((f) => f.schema === 'app')).toMatchObject({ builtin: false, securityDefiner: true, volatility: 's', extension: null });
    expect(catalog.functionsNamed('dblink')).toMatchObject([{ builtin: false, extension: 'dblink' }]);
    expect(FIRST_NORMAL_OID).toBe(16384);
  });
});

describe('functionCandidates', () => {
  it('every function of the name on the path counts, pg_catalog included', async () => {
    const { catalog } = await catalogWith();
    expect(schemasOf(functionCandidates(['pg_sleep'], PATH, catalog))).toEqual(['pg_catalog', 'public']);
    expect(schemasOf(functionCandidates(['f'], PATH, catalog))).toEqual(['app']);
  });

  it('the temporary schema is never searched for a bare function name', async () => {
    const { catalog } = await catalogWith();
    expect(schemasOf(functionCandidates(['pg_sleep'], PATH, catalog))).not.toContain('pg_temp_3');
    expect(functionCandidates(['tmpfn'], PATH, catalog)).toEqual([]);
  });

  it('a qualified name: that schema only, the temporary one included when named', async () => {
    const { catalog } = await catalogWith();
    expect(schemasOf(functionCandidates(['util', 'f'], PATH, catalog))).toEqual(['util']);
    expect(schemasOf(functionCandidates(['pg_temp_3', 'tmpfn'], PATH, catalog))).toEqual(['pg_temp_3']);
    expect(functionCandidates(['nosuch', 'f'], PATH, catalog)).toEqual([]);
    expect(schemasOf(functionCandidates(['shop', 'app', 'f'], PATH, catalog))).toEqual(['app']);
  });

  // PostgreSQL's LookupExplicitNamespace maps pg_temp to the session's temporary schema for functions too.
  it('pg_temp.f names the function in the session\'s temporary schema', async () => {
    const { catalog } = await catalogWith();
    expect(schemasOf(functionCandidates(['pg_temp', 'tmpfn'], PATH, catalog))).toEqual(['pg_temp_3']);
  });

  it('a function outside the path is no candidate for its bare name', async () => {
    const { catalog } = await catalogWith();
    expect(functionCandidates(['f'], ['pg_catalog', 'public'], catalog)).toEqual([]);
  });

  it('undefined when the catalog has not loaded the name', async () => {
    const { catalog } = await catalogWith();
    expect(functionCandidates(['never_asked'], PATH, catalog)).toBeUndefined();
    expect(functionCandidates(['nowhere'], PATH, catalog)).toEqual([]);
  });
});

describe('effectOfCall', () => {
  const fn = (f: Partial<CatalogFunction> & Pick<CatalogFunction, 'schema' | 'name'>): CatalogFunction => ({
    oid: f.builtin === false || f.builtin === undefined ? 50000 : 1000,
    volatility: 'v',
    securityDefiner: false,
    language: 'sql',
    kind: 'f',
    nargs: 0,
    extension: null,
    builtin: false,
    ...f,
  });
  const ref = (parts: string[], args = 0): FunctionRef => ({ parts, args });
  const never = () => false;

  it('a reviewed built-in: its reviewed category, and the entry', () => {
    const sleep = effectOfCall(ref(['pg_sleep'], 1), [fn({ schema: 'pg_catalog', name: 'pg_sleep', builtin: true })], never);
    expect(sleep).toEqual({ escalation: 'resource', tags: ['function:resource:sleep:pg_sleep'], builtin: builtinFunction('pg_sleep') });
    const next = effectOfCall(ref(['nextval'], 1), [fn({ schema: 'pg_catalog', name: 'nextval', builtin: true })], never);
    expect(next).toMatchObject({ escalation: 'write', tags: ['function:write:nextval'] });
    const kill = effectOfCall(ref(['pg_terminate_backend'], 1), [fn({ schema: 'pg_catalog', name: 'pg_terminate_backend', builtin: true })], never);
    expect(kill).toMatchObject({ escalation: 'procedural', tags: ['function:dangerous:pg_terminate_backend'] });
  });

  it('a harmless reviewed built-in (even a volatile one) raises nothing and is not tagged', () => {
    const e = effectOfCall(ref(['gen_random_uuid']), [fn({ schema: 'pg_catalog', name: 'gen_random_uuid', builtin: true, volatility: 'v' })], never);
    expect(e).toEqual({ escalation: 'none', tags: [], builtin: builtinFunction('gen_random_uuid') });
  });

  it('the overload decides by argument count', () => {
    const c = [fn({ schema: 'pg_catalog', name: 'ts_rewrite', builtin: true })];
    expect(effectOfCall(ref(['ts_rewrite'], 3), c, never)).toMatchObject({ escalation: 'none', tags: [] });
    expect(effectOfCall(ref(['ts_rewrite'], 2), c, never)).toMatchObject({ escalation: 'none', tags: ['function:runs-sql:ts_rewrite'], builtin: { category: 'runs-sql' } });
  });

  it('an unreviewed built-in: volatile counts as a write, stable or immutable as nothing', () => {
    const volatile = effectOfCall(ref(['pg_mystery']), [fn({ schema: 'pg_catalog', name: 'pg_mystery', builtin: true, volatility: 'v' })], never);
    expect(volatile).toEqual({ escalation: 'write', tags: ['unreviewed-function:pg_catalog.pg_mystery'], builtin: undefined });
    const immutable = effectOfCall(ref(['lower'], 1), [fn({ schema: 'pg_catalog', name: 'lower', builtin: true, volatility: 'i' })], never);
    expect(immutable).toEqual({ escalation: 'none', tags: [], builtin: undefined });
    const stable = effectOfCall(ref(['now']), [fn({ schema: 'pg_catalog', name: 'now', builtin: true, volatility: 's' })], never);
    expect(stable).toEqual({ escalation: 'none', tags: [], builtin: undefined });
  });

  it('a user function counts as a write whatever its volatility, with tags', () => {
    const e = effectOfCall(ref(['f']), [fn({ schema: 'app', name: 'f', volatility: 's', securityDefiner: true })], never);
    expect(e).toEqual({ escalation: 'write', tags: ['user-function:app.f', 'volatility:stable', 'security-definer:app.f'], builtin: undefined });
    expect(effectOfCall(ref(['g']), [fn({ schema: 'app', name: 'g', volatility: 'i' })], never).tags).toEqual(['user-function:app.g', 'volatility:immutable']);
    expect(effectOfCall(ref(['h']), [fn({ schema: 'app', name: 'h', volatility: 'v' })], never).tags).toEqual(['user-function:app.h', 'volatility:volatile']);
  });

  it('a user function named like a reviewed built-in is still a user function', () => {
    const e = effectOfCall(ref(['gen_random_uuid']), [fn({ schema: 'public', name: 'gen_random_uuid' })], never);
    expect(e).toMatchObject({ escalation: 'write', builtin: undefined });
    expect(e.tags).toContain('user-function:public.gen_random_uuid');
  });

  it('a function the target lists as trusted (glob) raises nothing', () => {
    const trusted = (q: string) => globMatch('util.*', q);
    const e = effectOfCall(ref(['f']), [fn({ schema: 'util', name: 'f', volatility: 'v' })], trusted);
    expect(e).toEqual({ escalation: 'none', tags: ['trusted-function:util.f'], builtin: undefined });
    expect(effectOfCall(ref(['f']), [fn({ schema: 'app', name: 'f' })], trusted).escalation).toBe('write');
  });

  it('a contrib function is reviewed only as part of the extension the review names', () => {
    const ok = effectOfCall(ref(['dblink'], 2), [fn({ schema: 'public', name: 'dblink', language: 'c', extension: 'dblink' })], never);
    expect(ok).toEqual({ escalation: 'procedural', tags: ['function:dangerous:dblink'], builtin: builtinFunction('dblink') });
    const impostor = effectOfCall(ref(['dblink'], 2), [fn({ schema: 'public', name: 'dblink', extension: null })], never);
    expect(impostor).toMatchObject({ escalation: 'write', tags: ['user-function:public.dblink', 'volatility:volatile'] });
    const otherExtension = effectOfCall(ref(['dblink'], 2), [fn({ schema: 'public', name: 'dblink', extension: 'not_dblink' })], never);
    expect(otherExtension.tags).toContain('user-function:public.dblink');
    // A contrib name among initdb's own functions is not the reviewed extension function either.
    const asBuiltin = effectOfCall(ref(['dblink'], 2), [fn({ schema: 'pg_catalog', name: 'dblink', builtin: true })], never);
    expect(asBuiltin).toMatchObject({ escalation: 'write', tags: ['unreviewed-function:pg_catalog.dblink'] });
  });

  it('no candidate at all counts as a write (fail closed)', () => {
    expect(effectOfCall(ref(['app', 'f']), [], never)).toEqual({ escalation: 'write', tags: ['unknown-function:app.f'], builtin: undefined });
    expect(effectOfCall(ref(['pg_sleep']), [], never)).toEqual({ escalation: 'write', tags: ['unknown-function:pg_sleep'], builtin: undefined });
  });

  it('several candidates: the strictest decides, tags of all, no reviewed entry unless all are it', () => {
    const e = effectOfCall(ref(['pg_sleep'], 1), [fn({ schema: 'pg_catalog', name: 'pg_sleep', builtin: true }), fn({ schema: 'public', name: 'pg_sleep', volatility: 's' })], never);
    expect(e.escalation).toBe('write');
    expect(e.tags).toEqual(['function:resource:sleep:pg_sleep', 'user-function:public.pg_sleep', 'volatility:stable']);
    expect(e.builtin).toBeUndefined();
    const withDangerous = effectOfCall(ref(['dblink'], 1), [fn({ schema: 'app', name: 'dblink' }), fn({ schema: 'public', name: 'dblink', extension: 'dblink' })], never);
    expect(withDangerous.escalation).toBe('procedural');
  });

  it('overloads of one user function give each tag once', () => {
    const e = effectOfCall(ref(['f'], 1), [fn({ schema: 'app', name: 'f', nargs: 1 }), fn({ schema: 'app', name: 'f', nargs: 2 })], never);
    expect(e.tags).toEqual(['user-function:app.f', 'volatility:volatile']);
  });

  it('candidates from the catalog: pg_catalog.pg_sleep and a user public.pg_sleep', async () => {
    const { catalog } = await catalogWith();
    const candidates = functionCandidates(['pg_sleep'], PATH, catalog)!;
    expect(effectOfCall(ref(['pg_sleep'], 1), candidates, never).escalation).toBe('write');
    const qualified = functionCandidates(['pg_catalog', 'pg_sleep'], PATH, catalog)!;
    expect(effectOfCall(ref(['pg_catalog', 'pg_sleep'], 1), qualified, never)).toMatchObject({ escalation: 'resource', builtin: { category: 'resource:sleep' } });
  });
});

describe('constantArg', () => {
  let classifier: SqlClassifier;
  beforeAll(async () => {
    classifier = await SqlClassifier.create();
  });
  const call = (sql: string): FunctionRef => {
    const s = classifier.classify(sql).statements[0]!;
    return s.functions.find((f) => functionName(f) === 'query_to_xml')!;
  };
  const QUERY = { position: 0, name: 'query' };

  it('positional constants', () => {
    const f = call("SELECT query_to_xml('select 1', true, false, '')");
    expect(f.constants).toBeDefined();
    expect(constantArg(f, QUERY)).toBe('select 1');
    expect(constantArg(f, { position: 3 })).toBe('');
  });

  it('named notation', () => {
    const f = call("SELECT query_to_xml(nulls => true, query => 'select 2', tableforest => false, targetns => '')");
    expect(constantArg(f, QUERY)).toBe('select 2');
  });

  it('a name not given falls back to the position', () => {
    const f = call("SELECT query_to_xml('select 3', nulls => true, tableforest => false, targetns => '')");
    expect(constantArg(f, QUERY)).toBe('select 3');
  });

  it('not a constant: null', () => {
    expect(constantArg(call('SELECT query_to_xml($1, true, false, \'\')'), QUERY)).toBeNull();
    expect(constantArg(call("SELECT query_to_xml(query => $1, nulls => true, tableforest => false, targetns => '')"), QUERY)).toBeNull();
    expect(constantArg(call("SELECT query_to_xml('select ' || '1', true, false, '')"), QUERY)).toBeNull();
  });

  it('a position past the arguments: null', () => {
    expect(constantArg(call("SELECT query_to_xml('select 1', true, false, '')"), { position: 9 })).toBeNull();
  });

  it('no argument reference, or a call without constants: undefined', () => {
    expect(constantArg(call("SELECT query_to_xml('select 1', true, false, '')"), undefined)).toBeUndefined();
    expect(constantArg({ parts: ['lower'], args: 1 }, QUERY)).toBeUndefined();
  });

  it('reads this statement\'s constants, not those of an earlier one of the same shape', () => {
    expect(constantArg(call("SELECT query_to_xml('select 10', true, false, '')"), QUERY)).toBe('select 10');
    expect(constantArg(call("SELECT query_to_xml('select 20', true, false, '')"), QUERY)).toBe('select 20');
  });
});
