/**
 * Policy on parsed SQL and inline masking, through real clients: node-postgres (simple and extended
 * protocol, named statements, pipelining, transactions), psql (COPY both ways), with notices,
 * notifications and errors scanned for card numbers.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayFixture, type GatewayFixture } from '../../helpers/gateway.ts';

let f: GatewayFixture;
let c: pg.Client;

async function connect(repository = 'acme/payments'): Promise<pg.Client> {
  const client = new pg.Client({ host: '127.0.0.1', port: f.port, user: 'bot', database: 'payments', password: await f.token({ repository }), ssl: { rejectUnauthorized: false } });
  await client.connect();
  return client;
}

async function pgError(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return { code: (e as { code: string }).code, message: (e as Error).message };
  }
  throw new Error('expected an error');
}

beforeAll(async () => {
  f = await startGatewayFixture();
  f.pg.psql("CREATE FUNCTION card_notice() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RAISE NOTICE 'charged card 4111111111111111'; RETURN 1; END $$", { database: 'payments' });
  f.pg.psql('GRANT EXECUTE ON FUNCTION card_notice() TO svc_reporting', { database: 'payments' });
  c = await connect();
});
afterAll(async () => {
  await c?.end();
  await f?.stop();
});

describe('masking', () => {
  it('masks text, numeric and grouped PANs; redacts CVV; drops track data (extended protocol)', async () => {
    const r = await c.query('SELECT id, card_number, cvv, card_as_number, note FROM customers WHERE id = ANY($1) ORDER BY id', [[1, 3]]);
    expect(r.rows).toEqual([
      { id: 1, card_number: '411111******1111', cvv: '[REDACTED]', card_as_number: '411111******1111', note: 'paid with 4111 11** **** 1111 on 2026-11-01' },
      { id: 3, card_number: '378282*****0005', cvv: '[REDACTED]', card_as_number: '378282*****0005', note: 'track [REDACTED TRACK DATA]' },
    ]);
  });

  it('leaves non-card numbers alone', async () => {
    const r = await c.query("SELECT note, 20261129184132123::bigint AS ts, '2026-11-29 18:41:32'::text AS d FROM customers WHERE id = 2");
    expect(r.rows[0]).toEqual({ note: 'order 20261129184132123 shipped', ts: '20261129184132123', d: '2026-11-29 18:41:32' });
  });

  it('masks a named statement executed twice, and binary results it can read', async () => {
    const q = { name: 'by-id', text: 'SELECT card_number FROM customers WHERE id = $1' };
    expect((await c.query({ ...q, values: [1] })).rows).toEqual([{ card_number: '411111******1111' }]);
    expect((await c.query({ ...q, values: [2] })).rows).toEqual([{ card_number: '555555******4444' }]);
    // node-postgres asks for binary results with `binary: true` (missing from its type definitions).
    const bin = await c.query({ text: 'SELECT card_number, card_as_number FROM customers WHERE id = $1', values: [2], binary: true } as pg.QueryConfig);
    expect(bin.rows[0].card_number.toString()).toBe('555555******4444');
    expect(bin.rows[0].card_as_number).toBeNull(); // a card number in a binary bigint cannot be shown masked: withheld
  });

  it('masks errors, notices and notifications', async () => {
    expect(await pgError(c.query("SELECT '4111111111111111'::int"))).toEqual({ code: '22003', message: 'value "411111******1111" is out of range for type integer' });
    const notices: string[] = [];
    c.on('notice', (n) => notices.push(n.message ?? ''));
    await c.query('SELECT card_notice()');
    expect(notices).toEqual(['charged card 411111******1111']);
    const listener = await connect();
    const got = new Promise<string>((resolve) => listener.on('notification', (n) => resolve(n.payload ?? '')));
    await listener.query('LISTEN settlements');
    await c.query("NOTIFY settlements, 'refund to 5555555555554444 done'");
    expect(await got).toBe('refund to 555555******4444 done');
    await listener.end();
  });

  it('masks COPY TO STDOUT and records COPY FROM STDIN', async () => {
    const out = await f.psql('COPY (SELECT id, card_number, note FROM customers ORDER BY id) TO STDOUT WITH (FORMAT csv)');
    expect(out.stdout.trim().split('\n')).toEqual([
      '1,411111******1111,paid with 4111 11** **** 1111 on 2026-11-01',
      '2,555555******4444,order 20261129184132123 shipped',
      '3,378282*****0005,track [REDACTED TRACK DATA]',
    ]);
    const inp = await f.psql('COPY audit_scratch (v) FROM STDIN', { input: 'card 4111111111111111\nplain row\n' });
    expect(inp.code).toBe(0);
    expect(f.pg.psql("SELECT v FROM audit_scratch WHERE v LIKE 'card%'", { database: 'payments' }).trim()).toBe('card 4111111111111111');
  });

  it('withholds binary COPY output it cannot mask', async () => {
    const r = await f.psql('COPY customers TO STDOUT WITH (FORMAT binary)');
    expect(r.stderr).toMatch(/binary COPY TO STDOUT cannot be masked by Vigil; use text or CSV format/);
    expect(r.stdout).not.toContain('4111111111111111');
  });
});

describe('policy', () => {
  it('blocks DROP and TRUNCATE with 42501, the rule and its reason; the session continues', async () => {
    expect(await pgError(c.query('DROP TABLE customers'))).toEqual({
      code: '42501',
      message: 'blocked by Vigil policy rule "ci-readonly/no-destructive-ddl": DROP and TRUNCATE are never allowed on the CDE database',
    });
    expect((await pgError(c.query({ text: 'TRUNCATE accounts', values: [] }))).code).toBe('42501');
    expect((await c.query('SELECT count(*)::int AS n FROM accounts')).rows[0].n).toBe(100);
  });

  it('a blocked statement inside a transaction aborts it, as PostgreSQL would', async () => {
    await c.query('BEGIN');
    await c.query("INSERT INTO audit_scratch (v) VALUES ('inside')");
    expect((await pgError(c.query('DROP TABLE accounts'))).code).toBe('42501');
    expect((await pgError(c.query('SELECT 1'))).code).toBe('25P02');
    expect((await c.query('COMMIT')).command).toBe('ROLLBACK');
    expect(f.pg.psql("SELECT count(*) FROM audit_scratch WHERE v = 'inside'", { database: 'payments' }).trim()).toBe('0');
  });

  it('a multi-statement string is blocked whole when one part is refused', async () => {
    expect((await pgError(c.query('SELECT 1; DROP TABLE customers; SELECT 2'))).code).toBe('42501');
    expect(f.pg.psql("SELECT count(*) FROM pg_tables WHERE tablename = 'customers'", { database: 'payments' }).trim()).toBe('1');
  });

  it('hidden writes are classified: a CTE with DELETE, DO blocks, role changes, ALTER SYSTEM', async () => {
    const ro = await connect('other/readonly');
    expect((await pgError(ro.query('WITH gone AS (DELETE FROM audit_scratch RETURNING id) SELECT count(*) FROM gone'))).code).toBe('42501');
    expect((await pgError(ro.query('DO $$ BEGIN PERFORM 1; END $$'))).message).toMatch(/DO \(procedural\) is not allowed/);
    expect((await pgError(c.query('SET ROLE gw'))).message).toMatch(/SET ROLE \(role-change\) is not allowed/);
    expect((await pgError(c.query("SELECT set_config('role', 'gw', false)"))).code).toBe('42501');
    expect((await pgError(c.query("ALTER SYSTEM SET log_statement = 'none'"))).code).toBe('42501');
    expect((await pgError(c.query("COPY audit_scratch TO PROGRAM 'cat > /tmp/x'"))).code).toBe('42501');
    expect((await pgError(ro.query("UPDATE accounts SET status = 'closed' WHERE id = 1"))).message).toMatch(/UPDATE \(write\) is not allowed for this identity/);
    expect((await ro.query('SELECT count(*)::int AS n FROM accounts')).rows[0].n).toBe(100);
    await ro.end();
  });

  it('the unparsable never runs: the server parses it only, and the client gets its own syntax error', async () => {
    // Simple and extended protocol alike; the session goes on.
    expect(await pgError(c.query('SELEC broken'))).toEqual({ code: '42601', message: 'syntax error at or near "SELEC"' });
    expect(await pgError(c.query('SELEC $1', [1]))).toEqual({ code: '42601', message: 'syntax error at or near "SELEC"' });
    expect((await c.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
  });

  it('pipelined extended-protocol queries keep their order; a refused one fails only itself', async () => {
    const results = await Promise.allSettled([
      c.query('SELECT $1::int AS a', [1]),
      c.query('DROP TABLE customers'),
      c.query('SELECT $1::int AS b', [2]),
      c.query('SELECT card_number FROM customers WHERE id = $1', [1]),
    ]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value.rows[0] : (r.reason as { code: string }).code))).toEqual([{ a: 1 }, '42501', { b: 2 }, { card_number: '411111******1111' }]);
  });
});
