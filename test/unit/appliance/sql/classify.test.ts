import { beforeAll, describe, expect, it } from 'vitest';
import { SqlClassifier, type ClassifiedStatement, type StatementClass } from '../../../../appliance/sql/index.ts';

let classifier: SqlClassifier;
let uncached: SqlClassifier;

beforeAll(async () => {
  classifier = await SqlClassifier.create();
  uncached = await SqlClassifier.create({ cacheSize: 0 });
});

/** The single statement of `sql`, classified with and without the cache (both must agree). */
function one(sql: string): ClassifiedStatement {
  const a = uncached.classify(sql);
  const b = classifier.classify(sql);
  expect(a.parseError, `${sql} should parse`).toBeUndefined();
  expect(a.statements).toHaveLength(1);
  expect(b.statements).toEqual(a.statements);
  return a.statements[0]!;
}

type Case = [sql: string, cls: StatementClass, command: string, tags?: string[]];

function table(cases: Case[]): void {
  it.each(cases)('%s', (sql, cls, command, tags) => {
    const s = one(sql);
    expect({ class: s.class, command: s.command }).toEqual({ class: cls, command });
    for (const t of tags ?? []) expect(s.tags).toContain(t);
  });
}

describe('read', () => {
  table([
    ['SELECT id, email FROM customers WHERE id = 42', 'read', 'SELECT'],
    ['VALUES (1, 2), (3, 4)', 'read', 'VALUES'],
    ['TABLE customers', 'read', 'SELECT'],
    ['SHOW search_path', 'read', 'SHOW'],
    ['EXPLAIN SELECT * FROM orders', 'read', 'EXPLAIN', ['explain']],
    ['EXPLAIN DELETE FROM orders', 'read', 'EXPLAIN', ['explains:write']],
    ['EXPLAIN (ANALYZE false) DELETE FROM orders', 'read', 'EXPLAIN'],
    ["EXPLAIN (ANALYZE 'off', COSTS) UPDATE orders SET total = 0", 'read', 'EXPLAIN'],
    ['EXPLAIN ANALYZE SELECT count(*) FROM orders', 'read', 'EXPLAIN ANALYZE', ['explain-analyze']],
    ['FETCH 10 FROM order_cursor', 'read', 'FETCH'],
    ['MOVE FORWARD 5 IN order_cursor', 'read', 'MOVE'],
    ['SELECT * FROM accounts WHERE id = 1 FOR UPDATE', 'write', 'SELECT', ['row-lock']],
    ['SELECT * FROM (SELECT id FROM accounts FOR KEY SHARE) s', 'write', 'SELECT', ['row-lock']],
    ['SELECT a.id FROM accounts a JOIN ledger l ON l.account_id = a.id UNION ALL SELECT id FROM archive', 'read', 'SELECT'],
    ['LOCK TABLE accounts IN ACCESS SHARE MODE', 'read', 'LOCK', ['lock']],
    ["SELECT set_config('statement_timeout', '5s', false)", 'read', 'SELECT'],
    ["SELECT current_setting('role')", 'read', 'SELECT'],
  ]);
});

describe('write', () => {
  table([
    ["INSERT INTO orders (id, total) VALUES (1, 9.99)", 'write', 'INSERT'],
    ["INSERT INTO orders (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET total = 0", 'write', 'INSERT', ['upsert']],
    ['UPDATE orders SET status = $1 WHERE id = $2', 'write', 'UPDATE'],
    ['DELETE FROM sessions', 'write', 'DELETE', ['no-where']],
    ["UPDATE orders SET status = 'x'", 'write', 'UPDATE', ['no-where']],
    [
      'MERGE INTO stock s USING deliveries d ON s.item = d.item WHEN MATCHED THEN UPDATE SET qty = s.qty + d.qty WHEN NOT MATCHED THEN INSERT (item, qty) VALUES (d.item, d.qty)',
      'write',
      'MERGE',
    ],
    ['LOCK TABLE accounts', 'write', 'LOCK', ['lock']],
    ['LOCK TABLE accounts IN ROW EXCLUSIVE MODE', 'write', 'LOCK'],
    ['EXPLAIN ANALYZE DELETE FROM orders WHERE id = 1', 'write', 'EXPLAIN ANALYZE', ['explain-analyze']],
    ['EXPLAIN (ANALYZE, BUFFERS) UPDATE orders SET total = 0 WHERE id = 1', 'write', 'EXPLAIN ANALYZE'],
    ['EXPLAIN (ANALYZE 1) INSERT INTO orders DEFAULT VALUES', 'write', 'EXPLAIN ANALYZE'],
  ]);

  it('a writable CTE makes a SELECT a write, however deep', () => {
    for (const sql of [
      'WITH gone AS (DELETE FROM sessions WHERE expires < now() RETURNING id) SELECT count(*) FROM gone',
      'WITH u AS (UPDATE accounts SET balance = 0 RETURNING *) SELECT * FROM u',
      'WITH i AS (INSERT INTO audit (msg) VALUES ($1) RETURNING id) SELECT id FROM i',
      'SELECT * FROM (WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d) sub',
      'EXPLAIN ANALYZE WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d',
    ]) {
      const s = one(sql);
      expect(s.class, sql).toBe('write');
      expect(s.tags, sql).toContain('cte-write');
    }
  });

  it('a write with a writable CTE keeps the tag', () => {
    const s = one('WITH moved AS (DELETE FROM queue RETURNING *) INSERT INTO done SELECT * FROM moved');
    expect(s).toMatchObject({ class: 'write', command: 'INSERT', tags: ['cte-write'] });
    expect(s.tables).toEqual(['done', 'queue']);
  });

  it('a read-only CTE is still a read', () => {
    expect(one('WITH recent AS (SELECT * FROM orders WHERE created_at > now() - interval \'1 day\') SELECT * FROM recent').class).toBe('read');
  });
});

describe('ddl', () => {
  table([
    ['CREATE TABLE cards (id bigint PRIMARY KEY, token text NOT NULL)', 'ddl', 'CREATE TABLE'],
    ['CREATE TABLE archive AS SELECT * FROM orders', 'ddl', 'CREATE TABLE AS'],
    ['SELECT * INTO archive FROM orders', 'ddl', 'SELECT INTO'],
    ['CREATE MATERIALIZED VIEW daily AS SELECT 1', 'ddl', 'CREATE MATERIALIZED VIEW'],
    ['REFRESH MATERIALIZED VIEW CONCURRENTLY daily', 'ddl', 'REFRESH MATERIALIZED VIEW'],
    ['ALTER TABLE orders ADD COLUMN note text', 'ddl', 'ALTER TABLE'],
    ['ALTER TABLE orders DROP COLUMN note', 'ddl', 'ALTER TABLE', ['drop-column']],
    ['ALTER INDEX orders_pkey RENAME TO orders_pk', 'ddl', 'ALTER INDEX RENAME'],
    ['CREATE INDEX CONCURRENTLY orders_created ON orders (created_at)', 'ddl', 'CREATE INDEX'],
    ['DROP TABLE IF EXISTS orders CASCADE', 'ddl', 'DROP TABLE', ['drop', 'cascade']],
    ['DROP VIEW daily', 'ddl', 'DROP VIEW', ['drop']],
    ['DROP SCHEMA billing', 'ddl', 'DROP SCHEMA', ['drop']],
    ['TRUNCATE orders, order_lines', 'ddl', 'TRUNCATE', ['truncate']],
    ["COMMENT ON TABLE orders IS 'customer orders'", 'ddl', 'COMMENT'],
    ["SECURITY LABEL ON TABLE orders IS 'secret'", 'ddl', 'SECURITY LABEL'],
    ['CREATE FUNCTION add(a int, b int) RETURNS int LANGUAGE sql AS $$ SELECT a + b $$', 'ddl', 'CREATE FUNCTION'],
    ['CREATE PROCEDURE p() LANGUAGE sql AS $$ DELETE FROM t $$', 'ddl', 'CREATE PROCEDURE'],
    ['CREATE VIEW v AS SELECT * FROM orders', 'ddl', 'CREATE VIEW'],
    ['CREATE SCHEMA billing', 'ddl', 'CREATE SCHEMA'],
    ['CREATE SEQUENCE order_ids', 'ddl', 'CREATE SEQUENCE'],
    ["CREATE TYPE mood AS ENUM ('sad', 'ok')", 'ddl', 'CREATE TYPE'],
    ['ALTER TABLE orders OWNER TO billing', 'ddl', 'ALTER TABLE', ['owner']],
    ['ALTER SCHEMA billing OWNER TO finance', 'ddl', 'ALTER SCHEMA OWNER', ['owner']],
    ['CREATE TRIGGER t BEFORE INSERT ON orders FOR EACH ROW EXECUTE FUNCTION f()', 'ddl', 'CREATE TRIGGER'],
    ['CREATE POLICY p ON orders USING (owner = current_user)', 'ddl', 'CREATE POLICY'],
  ]);
});

describe('dcl', () => {
  table([
    ['GRANT SELECT ON orders TO reporting', 'dcl', 'GRANT'],
    ['REVOKE ALL ON orders FROM PUBLIC', 'dcl', 'REVOKE'],
    ['GRANT admin TO ci_bot', 'dcl', 'GRANT ROLE'],
    ['REVOKE admin FROM ci_bot', 'dcl', 'REVOKE ROLE'],
    ["CREATE ROLE auditor LOGIN PASSWORD 'x'", 'dcl', 'CREATE ROLE'],
    ['CREATE USER deploy', 'dcl', 'CREATE USER'],
    ['CREATE GROUP ops', 'dcl', 'CREATE GROUP'],
    ['ALTER ROLE deploy SUPERUSER', 'dcl', 'ALTER ROLE'],
    ['ALTER USER deploy WITH NOSUPERUSER', 'dcl', 'ALTER ROLE'],
    ['ALTER ROLE deploy SET search_path = billing', 'dcl', 'ALTER ROLE SET'],
    ['ALTER ROLE deploy RENAME TO deployer', 'dcl', 'ALTER ROLE RENAME'],
    ['DROP ROLE deploy', 'dcl', 'DROP ROLE', ['drop']],
    ['DROP USER IF EXISTS deploy', 'dcl', 'DROP ROLE', ['drop']],
    ['ALTER DEFAULT PRIVILEGES IN SCHEMA billing GRANT SELECT ON TABLES TO reporting', 'dcl', 'ALTER DEFAULT PRIVILEGES'],
    ['REASSIGN OWNED BY deploy TO postgres', 'dcl', 'REASSIGN OWNED'],
    ['DROP OWNED BY deploy', 'dcl', 'DROP OWNED', ['drop']],
  ]);
});

describe('transaction', () => {
  table([
    ['BEGIN', 'transaction', 'BEGIN'],
    ['BEGIN ISOLATION LEVEL SERIALIZABLE', 'transaction', 'BEGIN'],
    ['START TRANSACTION READ ONLY', 'transaction', 'START TRANSACTION'],
    ['COMMIT', 'transaction', 'COMMIT'],
    ['END', 'transaction', 'COMMIT'],
    ['ROLLBACK', 'transaction', 'ROLLBACK'],
    ['ABORT', 'transaction', 'ROLLBACK'],
    ['SAVEPOINT before_update', 'transaction', 'SAVEPOINT'],
    ['RELEASE SAVEPOINT before_update', 'transaction', 'RELEASE SAVEPOINT'],
    ['ROLLBACK TO SAVEPOINT before_update', 'transaction', 'ROLLBACK TO SAVEPOINT'],
    ['SET TRANSACTION ISOLATION LEVEL REPEATABLE READ', 'transaction', 'SET TRANSACTION'],
    ['SET CONSTRAINTS ALL DEFERRED', 'transaction', 'SET CONSTRAINTS'],
  ]);
});

describe('session', () => {
  table([
    ["SET search_path = billing, public", 'session', 'SET', ['setting:search_path']],
    ["SET LOCAL statement_timeout = '5s'", 'session', 'SET LOCAL', ['setting:statement_timeout']],
    ["SET TIME ZONE 'UTC'", 'session', 'SET', ['setting:timezone']],
    ['RESET search_path', 'session', 'RESET'],
    ['RESET ALL', 'session', 'RESET ALL'],
    ['SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY', 'session', 'SET SESSION CHARACTERISTICS'],
    ['DISCARD ALL', 'session', 'DISCARD ALL', ['resets-role']],
    ['DISCARD PLANS', 'session', 'DISCARD PLANS'],
    ['DEALLOCATE ALL', 'session', 'DEALLOCATE'],
    ['PREPARE q(int) AS SELECT * FROM orders WHERE id = $1', 'session', 'PREPARE', ['prepares:read']],
    ['PREPARE d(int) AS DELETE FROM orders WHERE id = $1', 'session', 'PREPARE', ['prepares:write']],
    ['LISTEN order_events', 'session', 'LISTEN'],
    ['UNLISTEN *', 'session', 'UNLISTEN'],
    ["NOTIFY order_events, 'paid'", 'session', 'NOTIFY'],
    ['DECLARE c CURSOR WITH HOLD FOR SELECT * FROM orders', 'session', 'DECLARE CURSOR'],
    ['CLOSE c', 'session', 'CLOSE'],
  ]);

  it('EXECUTE is unknown: which statement it runs is not in the text', () => {
    expect(one('EXECUTE q(42)')).toMatchObject({ class: 'unknown', command: 'EXECUTE', tags: ['unresolved-prepared-statement'] });
    expect(one('EXPLAIN ANALYZE EXECUTE q(42)').class).toBe('unknown');
  });

  it('a cursor over a dangerous query takes that class', () => {
    expect(one("DECLARE c CURSOR FOR SELECT pg_read_file('/etc/passwd')").class).toBe('procedural');
  });
});

describe('role-change', () => {
  table([
    ['SET ROLE admin', 'role-change', 'SET ROLE'],
    ["SET ROLE 'admin'", 'role-change', 'SET ROLE'],
    ['SET ROLE NONE', 'role-change', 'SET ROLE'],
    ['SET LOCAL ROLE admin', 'role-change', 'SET LOCAL ROLE'],
    ['SET SESSION ROLE admin', 'role-change', 'SET ROLE'],
    ['RESET ROLE', 'role-change', 'RESET ROLE'],
    ["SET SESSION AUTHORIZATION 'postgres'", 'role-change', 'SET SESSION AUTHORIZATION'],
    ['SET SESSION AUTHORIZATION DEFAULT', 'role-change', 'SET SESSION AUTHORIZATION'],
    ['RESET SESSION AUTHORIZATION', 'role-change', 'RESET SESSION AUTHORIZATION'],
    ['SET role = admin', 'role-change', 'SET ROLE'],
    ['SET "ROLE" TO admin', 'role-change', 'SET ROLE'],
    ["SET session_authorization = 'postgres'", 'role-change', 'SET SESSION AUTHORIZATION'],
    ["SELECT set_config('role', 'admin', false)", 'role-change', 'SELECT', ['set-config:role', 'escalated-from:read']],
    ["SELECT pg_catalog.set_config('ROLE', 'admin', true)", 'role-change', 'SELECT', ['set-config:role']],
    ["SELECT set_config('session_authorization', 'postgres', false)", 'role-change', 'SELECT'],
    ["SELECT id FROM orders WHERE set_config('role', 'admin', false) IS NOT NULL", 'role-change', 'SELECT'],
    // The setting's name is not a constant: it could be 'role'.
    // A setting named at run time could be the role, or one that changes how later statements are read.
    ["SELECT set_config($1, 'admin', false)", 'unknown', 'SELECT', ['dynamic-setting']],
    ["SELECT set_config(lower('ROLE'), 'admin', false)", 'unknown', 'SELECT', ['dynamic-setting']],
    ["UPDATE t SET x = set_config('role', 'admin', false)", 'role-change', 'UPDATE', ['escalated-from:write']],
    // pg_settings' UPDATE rule runs set_config(name, setting) with the name taken from the rows matched.
    ["UPDATE pg_settings SET setting = 'off' WHERE name = 'standard_conforming_strings'", 'unknown', 'UPDATE', ['dynamic-setting']],
    ["update PG_CATALOG.PG_SETTINGS s SET setting = 'SJIS' FROM (SELECT 1) x WHERE s.name = 'client_encoding'", 'unknown', 'UPDATE', ['dynamic-setting']],
    ["WITH u AS (UPDATE pg_settings SET setting = '0' WHERE name = 'work_mem' RETURNING 1) SELECT 1", 'unknown', 'SELECT', ['dynamic-setting']],
  ]);
});

describe('copy', () => {
  table([
    ['COPY orders TO STDOUT', 'copy-out', 'COPY TO STDOUT'],
    ['COPY orders (id, total) TO STDOUT WITH (FORMAT csv, HEADER)', 'copy-out', 'COPY TO STDOUT'],
    ['COPY (SELECT id, total FROM orders WHERE total > 100) TO STDOUT', 'copy-out', 'COPY TO STDOUT'],
    ['COPY orders FROM STDIN', 'copy-in', 'COPY FROM STDIN'],
    ['COPY orders FROM STDIN WITH (FORMAT binary)', 'copy-in', 'COPY FROM STDIN'],
    ["COPY orders TO PROGRAM 'gzip > /tmp/o.gz'", 'program', 'COPY TO PROGRAM', ['program']],
    ["COPY orders FROM PROGRAM 'curl http://x'", 'program', 'COPY FROM PROGRAM', ['program']],
    ["COPY orders TO '/tmp/orders.csv'", 'program', 'COPY TO FILE', ['server-file']],
    ["COPY orders FROM '/var/lib/postgresql/orders.csv'", 'program', 'COPY FROM FILE', ['server-file']],
    // A file named stdout is still a server file.
    ["COPY orders TO 'stdout'", 'program', 'COPY TO FILE'],
  ]);

  it('COPY of a data-modifying query is a write, tagged copy-out', () => {
    const s = one('COPY (DELETE FROM orders RETURNING *) TO STDOUT');
    expect(s).toMatchObject({ class: 'write', command: 'COPY TO STDOUT' });
    expect(s.tags).toContain('copy-out');
  });
});

describe('procedural', () => {
  table([
    ['DO $$ BEGIN PERFORM 1; END $$', 'procedural', 'DO'],
    ["DO LANGUAGE plpgsql $body$ BEGIN EXECUTE 'DROP TABLE t'; END $body$", 'procedural', 'DO'],
    ["DO 'BEGIN NULL; END'", 'procedural', 'DO'],
    ['CALL archive_orders(30)', 'procedural', 'CALL'],
    ["SELECT pg_read_file('/etc/passwd')", 'procedural', 'SELECT', ['dangerous-function:pg_read_file', 'escalated-from:read']],
    ["SELECT * FROM pg_ls_dir('.')", 'procedural', 'SELECT', ['dangerous-function:pg_ls_dir']],
    ["SELECT lo_import('/etc/shadow')", 'procedural', 'SELECT', ['dangerous-function:lo_import']],
    ["SELECT * FROM dblink('host=evil', 'SELECT 1') AS t(x int)", 'procedural', 'SELECT', ['dangerous-function:dblink']],
    ["SELECT dblink_exec('host=evil', 'DROP TABLE t')", 'procedural', 'SELECT', ['dangerous-function:dblink_exec']],
    ['SELECT pg_terminate_backend(pid) FROM pg_stat_activity', 'procedural', 'SELECT'],
    ['SELECT pg_cancel_backend(42)', 'procedural', 'SELECT'],
    ['SELECT pg_reload_conf()', 'procedural', 'SELECT'],
    ['SELECT PG_CATALOG.PG_ROTATE_LOGFILE()', 'procedural', 'SELECT'],
    ["INSERT INTO loot (body) SELECT pg_read_binary_file('/etc/ssl/private/key.pem')", 'procedural', 'INSERT', ['escalated-from:write']],
    ["COPY (SELECT pg_stat_file('/etc/passwd')) TO STDOUT", 'procedural', 'COPY TO STDOUT', ['escalated-from:copy-out']],
    ["CREATE TABLE loot AS SELECT pg_read_file('/etc/passwd')", 'procedural', 'CREATE TABLE AS', ['escalated-from:ddl']],
    ["EXPLAIN SELECT pg_read_file('x')", 'procedural', 'EXPLAIN'],
  ]);

  it('the dangerous list is configurable, with prefixes', async () => {
    const custom = await SqlClassifier.create({ dangerousFunctions: ['gen_random_*', 'http_get'] });
    expect(custom.classify('SELECT gen_random_uuid()').statements[0]!.class).toBe('procedural');
    expect(custom.classify("SELECT http_get('x')").statements[0]!.class).toBe('procedural');
    // The default list is replaced, not extended.
    expect(custom.classify("SELECT pg_read_file('x')").statements[0]!.class).toBe('read');
  });
});

describe('admin', () => {
  table([
    ["ALTER SYSTEM SET log_statement = 'none'", 'admin', 'ALTER SYSTEM'],
    ['ALTER SYSTEM RESET ALL', 'admin', 'ALTER SYSTEM'],
    ['VACUUM FULL orders', 'admin', 'VACUUM'],
    ['VACUUM (VERBOSE, ANALYZE) orders', 'admin', 'VACUUM'],
    ['ANALYZE orders', 'admin', 'ANALYZE'],
    ['CHECKPOINT', 'admin', 'CHECKPOINT'],
    ['CLUSTER orders USING orders_pkey', 'admin', 'CLUSTER'],
    ['REINDEX TABLE orders', 'admin', 'REINDEX'],
    ["LOAD 'auto_explain'", 'admin', 'LOAD'],
    ['CREATE EXTENSION IF NOT EXISTS dblink', 'admin', 'CREATE EXTENSION'],
    ['ALTER EXTENSION pgcrypto UPDATE', 'admin', 'ALTER EXTENSION'],
    ['DROP EXTENSION pgcrypto', 'admin', 'DROP EXTENSION', ['drop']],
    ["PREPARE TRANSACTION 'tx1'", 'admin', 'PREPARE TRANSACTION'],
    ["COMMIT PREPARED 'tx1'", 'admin', 'COMMIT PREPARED'],
    ["ROLLBACK PREPARED 'tx1'", 'admin', 'ROLLBACK PREPARED'],
    ['ALTER DATABASE shop SET work_mem = 65536', 'admin', 'ALTER DATABASE SET'],
    ['ALTER DATABASE shop CONNECTION LIMIT 5', 'admin', 'ALTER DATABASE'],
    ['ALTER DATABASE shop RENAME TO shop2', 'admin', 'ALTER DATABASE RENAME'],
    ['CREATE DATABASE shop_copy TEMPLATE shop', 'admin', 'CREATE DATABASE'],
    ['DROP DATABASE shop_copy', 'admin', 'DROP DATABASE', ['drop']],
    ["CREATE TABLESPACE fast LOCATION '/mnt/ssd'", 'admin', 'CREATE TABLESPACE'],
    ['ALTER TABLESPACE fast SET (random_page_cost = 1.1)', 'admin', 'ALTER TABLESPACE'],
    ['DROP TABLESPACE fast', 'admin', 'DROP TABLESPACE', ['drop']],
    // PostgreSQL turns a CREATE LANGUAGE without a handler into CREATE EXTENSION.
    ['CREATE LANGUAGE plperlu', 'admin', 'CREATE EXTENSION'],
    ['CREATE LANGUAGE plsample HANDLER plsample_call_handler', 'admin', 'CREATE LANGUAGE'],
    ["CREATE SUBSCRIPTION s CONNECTION 'host=x' PUBLICATION p", 'admin', 'CREATE SUBSCRIPTION'],
  ]);

  it('a dangerous function does not lower an admin statement', () => {
    expect(one("COPY (SELECT pg_read_file('x')) TO PROGRAM 'cat'").class).toBe('program');
  });
});

describe('unknown', () => {
  it('garbage, truncated and PL-only input', () => {
    for (const sql of ['SELEC 1', 'SELECT * FROM', "SELECT 'unterminated", 'DROP TABLE', 'RETURN 1', '\u00e9t\u00e9']) {
      const r = classifier.classify(sql);
      expect(r.parseError, sql).toMatch(/syntax error|unterminated|at or near/);
      expect(r.statements).toHaveLength(1);
      expect(r.statements[0]).toMatchObject({ class: 'unknown', command: 'UNKNOWN', tags: ['parse-error'], tables: [] });
      expect(r.statements[0]!.location).toEqual({ start: 0, end: Buffer.byteLength(sql) });
      expect(r.fingerprint).toBe('unparsed');
      expect(r.cacheHit).toBe(false);
    }
  });

  it('one bad statement makes the whole string unknown: nothing of it is trusted', () => {
    const r = classifier.classify('SELECT 1; DROP TABLE orders; SELEC 2');
    expect(r.statements.map((s) => s.class)).toEqual(['unknown']);
    expect(r.parseError).toMatch(/syntax error at or near "SELEC"/);
  });

  it('refuses input over 1 MiB without parsing it', () => {
    const sql = `SELECT '${'x'.repeat(1024 * 1024)}'`;
    const r = classifier.classify(sql);
    expect(r.statements[0]).toMatchObject({ class: 'unknown', tags: ['too-large'] });
    expect(r.parseError).toMatch(/larger than 1048576 bytes/);
    // Multi-byte characters count as the bytes they take.
    const wide = `SELECT '${'\u20ac'.repeat(350_000)}'`;
    expect(wide.length).toBeLessThan(1024 * 1024);
    expect(classifier.classify(wide).statements[0]!.tags).toEqual(['too-large']);
  });

  it('refuses a NUL character (the C parser would stop there)', () => {
    const r = classifier.classify('SELECT 1\u0000; DROP TABLE orders');
    expect(r.statements).toHaveLength(1);
    expect(r.statements[0]).toMatchObject({ class: 'unknown', tags: ['nul-character'] });
  });

  it('survives deeply nested input and keeps classifying correctly afterwards', async () => {
    const deep = [
      `SELECT ${'('.repeat(50_000)}1${')'.repeat(50_000)}`,
      `SELECT 1${'+1'.repeat(30_000)}`,
      `SELECT ${'NOT '.repeat(30_000)}true`,
      `SELECT ${'ARRAY['.repeat(20_000)}1${']'.repeat(20_000)}`,
      `SELECT * FROM t WHERE ${'x IN (SELECT x FROM t WHERE '.repeat(3000)}true${')'.repeat(3000)}`,
    ];
    for (const sql of deep) {
      const r = classifier.classify(sql);
      expect(r.statements.map((s) => s.class), sql.slice(0, 40)).toEqual(['unknown']);
      expect(r.parseError).toBeDefined();
      await classifier.parser.ready();
      expect(classifier.classify('DELETE FROM orders WHERE id = 1').statements[0]).toMatchObject({ class: 'write', tables: ['orders'] });
    }
  });

  it('never throws, even when handed something that is not a string', () => {
    const r = classifier.classify(undefined as unknown as string);
    expect(r.statements[0]).toMatchObject({ class: 'unknown', tags: ['internal-error'] });
  });

  it('an empty query has no statements', () => {
    for (const sql of ['', '   ', ';', ' ; ; ', '-- nothing\n', '/* nothing */']) {
      const r = classifier.classify(sql);
      expect(r.statements, JSON.stringify(sql)).toEqual([]);
      expect(r.parseError).toBeUndefined();
      expect(r.fingerprint).toBe('empty');
    }
  });
});

describe('multi-statement strings', () => {
  it('classifies every statement with its own offsets', () => {
    const sql = 'SELECT 1; DROP TABLE t';
    const r = classifier.classify(sql);
    expect(r.statements.map((s) => [s.class, s.command, s.tags])).toEqual([
      ['read', 'SELECT', []],
      ['ddl', 'DROP TABLE', ['drop']],
    ]);
    expect(r.statements.map((s) => sql.slice(s.location.start, s.location.end))).toEqual(['SELECT 1', 'DROP TABLE t']);
  });

  it('a transaction script', () => {
    const sql = "BEGIN;\nSET LOCAL ROLE admin;\nUPDATE accounts SET balance = balance - 10 WHERE id = 1;\nTRUNCATE audit_log;\nCOMMIT;\n";
    const r = classifier.classify(sql);
    expect(r.statements.map((s) => s.class)).toEqual(['transaction', 'role-change', 'write', 'ddl', 'transaction']);
    expect(r.statements.map((s) => sql.slice(s.location.start, s.location.end))).toEqual([
      'BEGIN',
      'SET LOCAL ROLE admin',
      'UPDATE accounts SET balance = balance - 10 WHERE id = 1',
      'TRUNCATE audit_log',
      'COMMIT',
    ]);
    expect(r.statements[3]!.tags).toEqual(['truncate']);
  });

  it('offsets are UTF-8 byte offsets and skip comments before a statement', () => {
    const sql = "SELECT 'h\u00e9llo \u{1F600}';  /* \u00e9 */ DELETE FROM t";
    const r = classifier.classify(sql);
    const bytes = Buffer.from(sql);
    expect(r.statements.map((s) => bytes.subarray(s.location.start, s.location.end).toString())).toEqual([
      "SELECT 'h\u00e9llo \u{1F600}'",
      'DELETE FROM t',
    ]);
  });
});

describe('tables', () => {
  it('are listed as written, qualified, quoted when needed, once each', () => {
    const s = one(
      'SELECT * FROM billing.invoices i JOIN "Customers" c ON c.id = i.customer_id JOIN billing.invoices j ON true, shop.public.items WHERE i.id IN (SELECT invoice_id FROM payments)',
    );
    expect(s.tables).toEqual(['billing.invoices', '"Customers"', 'shop.public.items', 'payments']);
  });

  it('leave out CTE names but keep a table a CTE shadows inside its own definition', () => {
    expect(one('WITH recent AS (SELECT * FROM orders) SELECT * FROM recent JOIN customers ON true').tables).toEqual(['orders', 'customers']);
    expect(one('WITH orders AS (SELECT * FROM orders WHERE total > 0) SELECT * FROM orders').tables).toEqual(['orders']);
    expect(one('WITH a AS (SELECT 1), b AS (SELECT * FROM a) SELECT * FROM b').tables).toEqual([]);
    expect(one('WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT * FROM r').tables).toEqual([]);
    // A qualified name is never a CTE.
    expect(one('WITH orders AS (SELECT 1) SELECT * FROM public.orders').tables).toEqual(['public.orders']);
  });

  it('include the targets of writes and DDL', () => {
    expect(one('WITH t AS (SELECT 1) INSERT INTO t SELECT * FROM t').tables).toEqual(['t']);
    expect(one('DROP TABLE a, billing.b').tables).toEqual(['a', 'billing.b']);
    expect(one('TRUNCATE a, b').tables).toEqual(['a', 'b']);
    expect(one('UPDATE accounts a SET x = 1 FROM ledger l WHERE l.id = a.id').tables).toEqual(['accounts', 'ledger']);
    expect(one('COPY billing.invoices TO STDOUT').tables).toEqual(['billing.invoices']);
    expect(one("COMMENT ON TABLE billing.invoices IS 'x'").tables).toEqual(['billing.invoices']);
    expect(one('GRANT SELECT ON billing.invoices TO x').tables).toEqual(['billing.invoices']);
    expect(one('ALTER TABLE invoices ADD COLUMN y int').tables).toEqual(['invoices']);
    expect(one('SELECT 1').tables).toEqual([]);
  });
});

describe('fingerprint', () => {
  it('is shared by statements that differ only in literal values, and differs otherwise', () => {
    const a = uncached.classify("SELECT * FROM orders WHERE id = 1 AND note = 'a'").fingerprint;
    expect(uncached.classify("SELECT * FROM orders WHERE id = 99 AND note = 'it''s'").fingerprint).toBe(a);
    expect(uncached.classify("SELECT * FROM orders WHERE id = 99 AND note = E'x\\\\y'").fingerprint).toBe(a);
    expect(classifier.classify("SELECT * FROM orders WHERE id = 7 AND note = 'b'").fingerprint).toBe(a);
    expect(uncached.classify("SELECT * FROM orders WHERE id = 1 OR note = 'a'").fingerprint).not.toBe(a);
    expect(a).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('options', () => {
  it('rejects a nonsensical configuration', async () => {
    await expect(SqlClassifier.create({ cacheSize: -1 })).rejects.toMatchObject({ code: 'E_SQL_OPTIONS' });
    await expect(SqlClassifier.create({ dangerousFunctions: ['*'] })).rejects.toMatchObject({ code: 'E_SQL_OPTIONS' });
  });
});
