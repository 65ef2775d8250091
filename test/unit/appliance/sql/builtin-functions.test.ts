/**
 * The reviewed list of built-in functions (appliance/sql/builtin-functions.ts) against a real PostgreSQL 15:
 * complete for every volatile pg_catalog function and every volatile function of every contrib extension
 * the server ships, each entry's volatility, EXECUTE grants and argument positions as the catalog says,
 * and the behaviours that decided a category (what the SQL-running functions refuse and what they still
 * run, what cursor_to_xml fetches, what a READ ONLY transaction does not stop).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type ArgRef, BUILTIN_FUNCTIONS, type BuiltinFunction, builtinFunction } from '../../../../appliance/sql/builtin-functions.ts';
import { DEFAULT_DANGEROUS_FUNCTIONS } from '../../../../appliance/sql/dangerous-functions.ts';
import { startPostgres, type PostgresServer } from '../../../helpers/postgres.ts';

const BOT = { name: 'bot', password: 'bot-test-password', auth: 'scram-sha-256' as const };
const CONTRIB_DB = 'contrib';

let server: PostgresServer;
const clients: pg.Client[] = [];
let gw: pg.Client; // superuser, database postgres (adminpack created there)
let contrib: pg.Client; // superuser, database contrib (every available extension)

async function connect(user = 'gw', database = 'postgres'): Promise<pg.Client> {
  const password = user === 'gw' ? server.password : BOT.password;
  const c = new pg.Client({ host: server.host, port: server.port, user, password, database });
  await c.connect();
  c.on('error', () => undefined); // a terminated session must not crash the test process
  clients.push(c);
  return c;
}

async function value<T = unknown>(c: pg.Client, sql: string): Promise<T> {
  const r = await c.query({ text: sql, rowMode: 'array' });
  return r.rows[0]?.[0] as T;
}

/** The error message a statement fails with (the test fails if it succeeds). */
async function failure(c: pg.Client, sql: string): Promise<string> {
  try {
    await c.query(sql);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error(`expected to fail: ${sql}`);
}

/** Parse + Bind into a named portal, then Sync, without Execute (pg's Submittable interface). */
function bindPortal(c: pg.Client, portal: string, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const submittable = {
      submit(connection: { parse(q: object): void; bind(q: object): void; sync(): void }) {
        connection.parse({ text });
        connection.bind({ portal, values: [] });
        connection.sync();
      },
      handleReadyForQuery: () => resolve(),
      handleError: (e: Error) => reject(e),
    };
    c.query(submittable as never);
  });
}

interface ProcRow {
  name: string;
  volatility: 'v' | 's' | 'i';
  nargs: number;
  types: string[];
  inputNames: (string | undefined)[];
  publicExecute: boolean;
  grantees: string[];
  extension: string;
  schema: string;
  signature: string;
}

async function procs(c: pg.Client): Promise<ProcRow[]> {
  const r = await c.query<{
    name: string;
    volatility: 'v' | 's' | 'i';
    nargs: number;
    types: string[];
    argnames: string[] | null;
    argmodes: string[] | null;
    public_execute: boolean;
    grantees: string[];
    extension: string;
    schema: string;
    signature: string;
  }>(`
    SELECT lower(p.proname) AS name, p.provolatile AS volatility, p.pronargs AS nargs,
           p.proargtypes::regtype[]::text[] AS types, p.proargnames AS argnames, p.proargmodes::text[] AS argmodes,
           has_function_privilege('public', p.oid, 'EXECUTE') AS public_execute,
           array(SELECT DISTINCT a.grantee::regrole::text FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                 WHERE a.privilege_type = 'EXECUTE' AND a.grantee <> 0 AND a.grantee <> p.proowner ORDER BY 1) AS grantees,
           coalesce((SELECT e.extname FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
                     WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'), '') AS extension,
           p.pronamespace::regnamespace::text AS schema, p.oid::regprocedure::text AS signature
      FROM pg_proc p
     WHERE p.prokind IN ('f', 'p', 'a', 'w')`);
  return r.rows.map((row) => {
    // proargnames covers OUT arguments too when proargmodes is set; keep the input ones (in, inout, variadic).
    const names = row.argnames ?? [];
    const modes = row.argmodes ?? names.map(() => 'i');
    const inputNames = names.filter((_, i) => ['i', 'b', 'v'].includes(modes[i] ?? 'i')).map((n) => (n === '' ? undefined : n));
    return { ...row, inputNames, publicExecute: row.public_execute };
  });
}

let core: ProcRow[]; // database postgres
let ext: ProcRow[]; // database contrib

beforeAll(async () => {
  server = await startPostgres({ extraUsers: [BOT] });
  gw = await connect();
  await gw.query('CREATE EXTENSION adminpack');
  await gw.query(`CREATE DATABASE ${CONTRIB_DB}`);
  contrib = await connect('gw', CONTRIB_DB);
  const available = await contrib.query<{ name: string }>('SELECT name FROM pg_available_extensions WHERE installed_version IS NULL ORDER BY name');
  for (const { name } of available.rows) await contrib.query(`CREATE EXTENSION IF NOT EXISTS "${name}" CASCADE`);
  core = await procs(gw);
  ext = await procs(contrib);
}, 120_000);

afterAll(async () => {
  for (const c of clients) await c.end().catch(() => undefined);
  await server?.stop();
});

const RANK = { i: 0, s: 1, v: 2 } as const;

/** The catalog rows an entry describes: core entries in pg_catalog (plpgsql's included), contrib ones by extension. */
function rowsOf(name: string, entry: BuiltinFunction): ProcRow[] {
  if (entry.extension === undefined) return core.filter((r) => r.name === name && r.schema === 'pg_catalog' && (r.extension === '' || r.extension === 'plpgsql'));
  return ext.filter((r) => r.name === name && r.extension === entry.extension);
}

describe('the reviewed list is complete', () => {
  test('every volatile function of pg_catalog is reviewed (adminpack installed there)', () => {
    const volatile = [...new Set(core.filter((r) => r.schema === 'pg_catalog' && r.volatility === 'v').map((r) => r.name))].sort();
    expect(volatile.length).toBeGreaterThan(200);
    const missing = volatile.filter((n) => !BUILTIN_FUNCTIONS.has(n));
    if (missing.length > 0) console.error(`volatile pg_catalog functions not reviewed in builtin-functions.ts:\n  ${missing.join('\n  ')}`);
    expect(missing, `volatile pg_catalog functions not reviewed: ${missing.join(', ')}`).toEqual([]);
  });

  test('every volatile function of every contrib extension is reviewed', () => {
    const extensions = new Set(ext.map((r) => r.extension).filter((e) => e !== ''));
    expect(extensions.size).toBeGreaterThan(40);
    const volatile = ext.filter((r) => r.extension !== '' && r.volatility === 'v');
    const missing = [...new Set(volatile.filter((r) => !BUILTIN_FUNCTIONS.has(r.name)).map((r) => `${r.extension}: ${r.signature}`))].sort();
    if (missing.length > 0) console.error(`volatile contrib functions not reviewed in builtin-functions.ts:\n  ${missing.join('\n  ')}`);
    expect(missing, `volatile contrib functions not reviewed: ${missing.join(', ')}`).toEqual([]);
  });

  test('every entry exists where it says, with its volatility and default EXECUTE grants', () => {
    const problems: string[] = [];
    for (const [name, entry] of BUILTIN_FUNCTIONS) {
      const rows = rowsOf(name, entry);
      if (rows.length === 0) {
        problems.push(`${name}: not found in ${entry.extension ?? 'pg_catalog'}`);
        continue;
      }
      const volatility = rows.reduce<'v' | 's' | 'i'>((m, r) => (RANK[r.volatility] > RANK[m] ? r.volatility : m), 'i');
      if (volatility !== entry.volatility) problems.push(`${name}: volatility ${volatility}, listed ${entry.volatility}`);
      const execute = rows.some((r) => r.publicExecute) ? undefined : [...new Set(rows.flatMap((r) => r.grantees))].sort();
      if (JSON.stringify(execute) !== JSON.stringify(entry.execute && [...entry.execute].sort())) {
        problems.push(`${name}: EXECUTE ${execute ? `[${execute.join(', ')}]` : 'PUBLIC'}, listed ${entry.execute ? `[${entry.execute.join(', ')}]` : 'PUBLIC'}`);
      }
      for (const n of Object.keys(entry.byArgCount ?? {})) {
        if (!rows.some((r) => r.nargs === Number(n))) problems.push(`${name}: no overload with ${n} arguments`);
      }
    }
    expect(problems).toEqual([]);
  });

  test('argument positions have the expected types and parameter names', () => {
    // crosstab(text, integer): argument 1 is the column count (documented in the entry).
    const exceptions = new Set(['crosstab(text,integer)#1']);
    const expected: Array<[keyof BuiltinFunction, string[]]> = [
      ['sqlArgs', ['text']],
      ['relationArg', ['regclass', 'text']],
      ['schemaArg', ['name']],
      ['cursorArg', ['refcursor']],
    ];
    const problems: string[] = [];
    let checked = 0;
    for (const [name, entry] of BUILTIN_FUNCTIONS) {
      const rows = rowsOf(name, entry).filter((r) => entry.byArgCount?.[r.nargs] === undefined);
      for (const [field, types] of expected) {
        const value = entry[field] as ArgRef | readonly ArgRef[] | undefined;
        if (value === undefined) continue;
        for (const ref of Array.isArray(value) ? value : [value as ArgRef]) {
          for (const r of rows.filter((row) => row.nargs > ref.position)) {
            if (exceptions.has(`${r.signature.replace(/^[^(]*\./, '').replace(/ /g, '')}#${ref.position}`)) continue;
            checked++;
            if (!types.includes(r.types[ref.position]!)) problems.push(`${r.signature} #${ref.position}: ${r.types[ref.position]}, expected ${types.join('|')}`);
            if (r.inputNames[ref.position] !== ref.name) problems.push(`${r.signature} #${ref.position}: named ${r.inputNames[ref.position]}, listed ${ref.name}`);
          }
        }
      }
      if (entry.category === 'runs-sql' && entry.sqlArgs === undefined) problems.push(`${name}: runs-sql without sqlArgs`);
      if (entry.category === 'reads-relation' && entry.relationArg === undefined) problems.push(`${name}: reads-relation without relationArg`);
      if (entry.category === 'reads-schema' && entry.schemaArg === undefined) problems.push(`${name}: reads-schema without schemaArg`);
      if (entry.category === 'cursor' && entry.cursorArg === undefined) problems.push(`${name}: cursor without cursorArg`);
    }
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThan(20);
  });

  test('the default dangerous functions are dangerous here too', () => {
    for (const name of DEFAULT_DANGEROUS_FUNCTIONS.filter((n) => !n.endsWith('*'))) {
      expect(BUILTIN_FUNCTIONS.get(name)?.category, name).toBe('dangerous');
    }
  });

  test('lookup: any case, overloads by argument count', () => {
    expect(builtinFunction('NextVal')?.category).toBe('write');
    expect(builtinFunction('RI_FKey_check_ins')?.category).toBe('internal');
    expect(builtinFunction('no_such_function')).toBeUndefined();
    expect(builtinFunction('ts_rewrite')).toMatchObject({ category: 'runs-sql', sqlArgs: [{ position: 1 }] });
    expect(builtinFunction('ts_rewrite', 2)?.category).toBe('runs-sql');
    expect(builtinFunction('ts_rewrite', 3)?.category).toBe('harmless');
    expect(builtinFunction('bt_page_items', 1)?.category).toBe('harmless');
    expect(builtinFunction('bt_page_items', 2)?.category).toBe('dangerous');
    expect(builtinFunction('query_to_xml')).toMatchObject({ category: 'runs-sql', sqlArgs: [{ position: 0, name: 'query' }] });
    expect(builtinFunction('table_to_xml')).toMatchObject({ category: 'reads-relation', relationArg: { position: 0, name: 'tbl' } });
  });
});

describe('findings that decide a category (PostgreSQL 15)', () => {
  beforeAll(async () => {
    await gw.query(`
      CREATE TABLE t (id int, secret text);
      INSERT INTO t SELECT g, 'secret ' || g FROM generate_series(1, 5) g;
      CREATE SEQUENCE s;
      SELECT nextval('s'); -- last_value moves with every later call
      CREATE TABLE side_log (msg text);
      CREATE FUNCTION side() RETURNS int LANGUAGE plpgsql VOLATILE AS
        $$ BEGIN INSERT INTO side_log VALUES ('side'); DELETE FROM t WHERE id = 5; RETURN 1; END $$;
      CREATE FUNCTION side_tsvector() RETURNS tsvector LANGUAGE plpgsql VOLATILE AS
        $$ BEGIN INSERT INTO side_log VALUES ('side_tsvector'); RETURN 'a b'::tsvector; END $$;
      CREATE TABLE visible (a int);
      INSERT INTO visible VALUES (1);
      CREATE SCHEMA views;
      CREATE VIEW views.v_side AS SELECT side() AS s;
      GRANT SELECT ON visible, side_log TO bot;
      GRANT USAGE ON SCHEMA views TO bot;`);
  });

  const sideRuns = async () => Number(await value(gw, 'SELECT count(*) FROM side_log'));
  const lastValue = async () => Number(await value(gw, 'SELECT last_value FROM s'));
  const rows = async () => Number(await value(gw, 'SELECT count(*) FROM t'));
  const restore = async () => {
    await gw.query("DELETE FROM side_log; DELETE FROM t; INSERT INTO t SELECT g, 'secret ' || g FROM generate_series(1, 5) g");
  };

  test('query_to_xml refuses DML but runs the side effects of a function its read calls, in every statement', async () => {
    await restore();
    expect(await failure(gw, "SELECT query_to_xml('DELETE FROM t RETURNING 1', true, false, '')")).toBe('DELETE is not allowed in a non-volatile function');
    expect(await failure(gw, "SELECT query_to_xml('WITH d AS (DELETE FROM t RETURNING 1) SELECT * FROM d', true, false, '')")).toMatch(/not allowed in a non-volatile function/);
    expect(await failure(gw, "SELECT query_to_xml('SELECT 1 FROM t FOR UPDATE', true, false, '')")).toBe('SELECT FOR UPDATE is not allowed in a non-volatile function');
    expect(await failure(gw, "SELECT query_to_xml('SET work_mem = ''8MB''', true, false, '')")).toBe('SET is not allowed in a non-volatile function');
    expect(await rows()).toBe(5);

    await gw.query("SELECT query_to_xml('SELECT side()', true, false, '')");
    expect(await sideRuns()).toBe(1);
    expect(await rows()).toBe(4); // side() deleted a row from inside a "read"

    await restore();
    const xml = await value<string>(gw, "SELECT query_to_xml('SELECT side(); SELECT 42 AS answer', true, false, '')");
    expect(xml).toContain('<answer>42</answer>'); // the last statement's rows…
    expect(await sideRuns()).toBe(1); // …after running the first

    const before = await lastValue();
    await gw.query("SELECT query_to_xml('SELECT nextval(''s'')', true, false, '')");
    expect(await lastValue()).toBe(before + 1);

    await restore();
    await gw.query("SELECT query_to_xml(nulls => true, tableforest => false, targetns => '', query => 'SELECT side()')");
    expect(await sideRuns()).toBe(1); // named notation moves the SQL argument
  });

  test('query_to_xmlschema only plans its query; query_to_xml_and_xmlschema runs it', async () => {
    await restore();
    await gw.query("SELECT query_to_xmlschema('SELECT side()', true, false, '')");
    expect(await sideRuns()).toBe(0);
    await gw.query("SELECT query_to_xml_and_xmlschema('SELECT side()', true, false, '')");
    expect(await sideRuns()).toBe(1);
  });

  test('ts_stat and ts_rewrite run one statement, side effects included, before checking its shape', async () => {
    await restore();
    expect(await failure(gw, "SELECT * FROM ts_stat('DELETE FROM t RETURNING ''a''::tsvector')")).toBe('DELETE is not allowed in a non-volatile function');
    await gw.query("SELECT * FROM ts_stat('SELECT side_tsvector()')");
    expect(await sideRuns()).toBe(1);
    expect(await failure(gw, "SELECT * FROM ts_stat('SELECT side(); SELECT ''a''::tsvector')")).toBe('cannot open multi-query plan as cursor');

    let before = await lastValue();
    expect(await failure(gw, "SELECT * FROM ts_stat('SELECT nextval(''s'')')")).toBe('ts_stat query must return one tsvector column');
    expect(await lastValue()).toBe(before + 1); // ran, then failed; sequences are not rolled back

    before = await lastValue();
    expect(await failure(gw, "SELECT ts_rewrite('a'::tsquery, 'SELECT nextval(''s'')')")).toBe('ts_rewrite query must return two tsquery columns');
    expect(await lastValue()).toBe(before + 1);
    expect(await failure(gw, "SELECT ts_rewrite('a'::tsquery, 'DELETE FROM t RETURNING ''a''::tsquery, ''b''::tsquery')")).toBe(
      'DELETE is not allowed in a non-volatile function',
    );
    expect(await value(gw, "SELECT ts_rewrite('a & b'::tsquery, 'a'::tsquery, 'c'::tsquery)::text")).toBe("'b' & 'c'");
  });

  test('cursor_to_xml fetches from a DECLAREd cursor, and runs a bound but unexecuted DELETE portal', async () => {
    await restore();
    const c = await connect();
    await c.query('BEGIN');
    expect(await failure(c, "SELECT cursor_to_xml('nope', 1, true, false, '')")).toBe('cursor "nope" does not exist');
    await c.query('ROLLBACK');

    await c.query('BEGIN');
    await c.query('DECLARE c CURSOR FOR SELECT id FROM t ORDER BY id');
    const xml = await value<string>(c, "SELECT cursor_to_xml('c', 2, true, false, '')");
    expect(xml).toContain('<id>2</id>');
    await c.query("SELECT cursor_to_xmlschema('c', true, false, '')");
    expect(await value(c, 'FETCH 1 FROM c')).toBe(3); // it advanced the cursor like FETCH; the schema call did not
    await c.query('COMMIT');

    await c.query('BEGIN');
    await bindPortal(c, 'p1', 'DELETE FROM t WHERE id = 1 RETURNING id');
    await c.query("SELECT cursor_to_xmlschema('p1', true, false, '')");
    expect(await value(c, 'SELECT count(*) FROM t')).toBe('5'); // describing runs nothing
    const deleted = await value<string>(c, "SELECT cursor_to_xml('p1', 10, true, false, '')");
    expect(deleted).toContain('<id>1</id>');
    await c.query('COMMIT');
    expect(await rows()).toBe(4); // the DELETE no Execute message ever asked for
  });

  test('table_to_xml reads with the caller\'s privileges; schema_to_xml and database_to_xml also run views', async () => {
    await restore();
    const bot = await connect(BOT.name);
    expect(await failure(bot, "SELECT table_to_xml('t', true, false, '')")).toBe('permission denied for table t');
    expect(await value(bot, "SELECT table_to_xmlschema('t', true, false, '') IS NOT NULL")).toBe(true); // catalog only
    const schema = await value<string>(bot, "SELECT schema_to_xml('public', true, false, '')::text");
    expect(schema).toContain('<visible>');
    expect(schema).not.toContain('<t>'); // tables it may not SELECT are skipped

    await gw.query("SELECT schema_to_xmlschema('views', true, false, '')");
    await gw.query("SELECT database_to_xmlschema(true, false, '')");
    expect(await sideRuns()).toBe(0);
    await gw.query("SELECT schema_to_xml('views', true, false, '')");
    expect(await sideRuns()).toBe(1); // a STABLE function wrote, through a view
    await gw.query("SELECT database_to_xml(true, false, '')");
    expect(await sideRuns()).toBe(2);
    await gw.query("SELECT table_to_xml('views.v_side', true, false, '')");
    expect(await sideRuns()).toBe(3);
  });

  test('lo_get is a read; large-object writers, collation import and origins are not stopped by READ ONLY', async () => {
    const c = await connect();
    await c.query("SELECT lo_from_bytea(4242, 'original')");
    await c.query('BEGIN READ ONLY');
    expect(await value(c, "SELECT convert_from(lo_get(4242), 'UTF8')")).toBe('original');
    await c.query("SELECT lo_put(4242, 0, 'O')");
    await c.query("SELECT lo_from_bytea(4343, 'created in a read-only transaction')");
    await c.query("SELECT lowrite(lo_open(4343, 131072), 'C')"); // INV_WRITE
    await c.query("SELECT pg_logical_emit_message(false, 'vigil', 'wal from a read-only transaction')");
    await c.query("SELECT pg_replication_origin_create('vigil_origin')");
    const collations = Number(await value(c, "SELECT pg_import_system_collations('public')"));
    expect(collations).toBeGreaterThan(0);
    await c.query('COMMIT');
    expect(await value(gw, "SELECT convert_from(lo_get(4242), 'UTF8')")).toBe('Original');
    expect(await value(gw, "SELECT convert_from(lo_get(4343), 'UTF8')")).toBe('Created in a read-only transaction');
    expect(await value(gw, "SELECT count(*) FROM pg_replication_origin WHERE roname = 'vigil_origin'")).toBe('1');
    expect(Number(await value(gw, "SELECT count(*) FROM pg_collation WHERE collnamespace = 'public'::regnamespace"))).toBe(collations);

    await c.query('BEGIN READ ONLY');
    await c.query('SELECT lo_unlink(4343)');
    expect(await failure(c, "SELECT nextval('s')")).toBe('cannot execute nextval() in a read-only transaction');
    await c.query('ROLLBACK');

    await c.query('BEGIN READ ONLY'); // STABLE, yet assigns a transaction ID
    expect(await value(c, 'SELECT pg_current_xact_id_if_assigned() IS NULL')).toBe(true);
    await c.query('SELECT txid_current()');
    expect(await value(c, 'SELECT pg_current_xact_id_if_assigned() IS NOT NULL')).toBe(true);
    await c.query('ROLLBACK');
  });

  test('what an unprivileged role may do, and the privileges checked inside PUBLIC functions', async () => {
    const bot = await connect(BOT.name);
    expect(Number(await value(bot, "SELECT lo_from_bytea(0, 'mine')"))).toBeGreaterThan(0);
    expect(await value(bot, "SELECT pg_logical_emit_message(false, 'vigil', 'x') IS NOT NULL")).toBe(true);
    const victim = await connect(BOT.name);
    const pid = await value<number>(victim, 'SELECT pg_backend_pid()');
    expect(await value(bot, `SELECT pg_terminate_backend(${pid})`)).toBe(true); // another session of its own role

    const refused: Array<[string, string]> = [
      ["SELECT pg_import_system_collations('public')", 'must be superuser to import system collations'],
      ["SELECT pg_create_physical_replication_slot('vigil_slot')", 'must be superuser or replication role to use replication slots'],
      ["SELECT * FROM pg_logical_slot_peek_changes('vigil_slot', NULL, NULL)", 'must be superuser or replication role to use replication slots'],
      ["SELECT pg_nextoid('pg_class', 'oid', 'pg_class_oid_index')", 'must be superuser to call pg_nextoid()'],
      ['SELECT pg_stop_making_pinned_objects()', 'must be superuser to call pg_stop_making_pinned_objects()'],
      ["SELECT pg_read_file_old('postgresql.conf', 0, 10)", 'must be superuser to read files with adminpack 1.0'],
      ['SELECT pg_rotate_logfile_old()', 'must be superuser to rotate log files with adminpack 1.0'],
      ['SELECT binary_upgrade_set_next_pg_type_oid(1)', 'function can only be called when server is in binary upgrade mode'],
      ["SELECT pg_ls_dir('.')", 'permission denied for function pg_ls_dir'],
      ["SELECT lo_export(4242, '/tmp/vigil-never')", 'permission denied for function lo_export'],
      ["SELECT pg_file_write('vigil-never', 'x', false)", 'permission denied for function pg_file_write'],
      ["SELECT lo_unlink(4242)", 'must be owner of large object 4242'],
    ];
    for (const [sql, message] of refused) expect(await failure(bot, sql), sql).toBe(message);

    await gw.query('CREATE TABLE brin_t (a int); CREATE INDEX brin_i ON brin_t USING brin (a); GRANT SELECT ON brin_t TO bot');
    expect(await failure(bot, "SELECT brin_summarize_new_values('brin_i')")).toBe('must be owner of index brin_i');

    const botContrib = await connect(BOT.name, CONTRIB_DB);
    await contrib.query('CREATE TABLE IF NOT EXISTS pt (a int); INSERT INTO pt VALUES (1)');
    expect(await failure(botContrib, "SELECT get_raw_page('pt', 0)")).toBe('must be superuser to use raw page functions');
    expect(await failure(botContrib, "SELECT page_header(decode(repeat('00', 8192), 'hex'))")).toBe('must be superuser to use raw page functions');
  });

  test('adminpack writes, renames and deletes server files', async () => {
    const path = (f: string) => join(server.dataDir, f);
    expect(Number(await value(gw, "SELECT pg_file_write('vigil-probe.txt', 'written by pg_file_write', false)"))).toBe(24);
    expect(readFileSync(path('vigil-probe.txt'), 'utf8')).toBe('written by pg_file_write');
    await gw.query("SELECT pg_file_sync('vigil-probe.txt')");
    expect(await value(gw, "SELECT pg_file_rename('vigil-probe.txt', 'vigil-renamed.txt')")).toBe(true);
    expect(existsSync(path('vigil-renamed.txt'))).toBe(true);
    expect(await value(gw, "SELECT pg_file_unlink('vigil-renamed.txt')")).toBe(true);
    expect(existsSync(path('vigil-renamed.txt'))).toBe(false);
    // pg_logdir_ls reads log_directory on the server's file system (absent here: the logging collector is off)
    expect(await failure(gw, 'SELECT * FROM pg_logdir_ls() AS l(filetime timestamp, filename text)')).toBe('could not open directory "log": No such file or directory');
  });

  test('tablefunc runs its SQL read-only, and connectby runs expressions pasted from its arguments', async () => {
    await contrib.query("CREATE SEQUENCE IF NOT EXISTS s2; SELECT nextval('s2'); CREATE TABLE IF NOT EXISTS tree (id int, parent int); INSERT INTO tree VALUES (1, NULL), (2, 1)");
    const seq = async () => Number(await value(contrib, 'SELECT last_value FROM s2'));
    let before = await seq();
    await contrib.query("SELECT * FROM crosstab('SELECT nextval(''s2'')::text, ''c''::text, ''v''::text') AS (r text, c1 text)");
    expect(await seq()).toBeGreaterThan(before);
    expect(await failure(contrib, "SELECT * FROM crosstab('DELETE FROM tree RETURNING ''a''::text, ''b''::text, ''c''::text') AS (r text, c1 text)")).toBe(
      'DELETE is not allowed in a non-volatile function',
    );
    before = await seq();
    await contrib.query("SELECT * FROM connectby('tree', 'nextval(''s2'')::int', 'parent', '1', 0) AS (k int, p int, l int)");
    expect(await seq()).toBeGreaterThan(before);
    // whole statements can be pasted in too; only the read-only SPI stops the DELETE
    const injected = "connectby('tree WHERE false; DELETE FROM tree; SELECT id, parent FROM tree', 'id', 'parent', '1', 0)";
    expect(await failure(contrib, `SELECT * FROM ${injected} AS (k int, p int, l int)`)).toBe('DELETE is not allowed in a non-volatile function');
  });

  test("xml2's xslt_process cannot read server files", async () => {
    const sheet = (body: string) =>
      `<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"><xsl:template match="/"><x>${body}</x></xsl:template></xsl:stylesheet>`;
    expect(await value(contrib, `SELECT xslt_process('<a/>', '${sheet('ok')}')`)).toContain('<x>ok</x>');
    expect(await failure(contrib, `SELECT xslt_process('<a/>', '${sheet('<xsl:value-of select="document(\'\'/etc/hostname\'\')"/>')}')`)).toBe(
      'failed to apply stylesheet',
    );
  });
});
