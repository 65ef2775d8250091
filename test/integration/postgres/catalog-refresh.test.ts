/**
 * What Vigil knows of the target's catalog is read again when it expires (targets[].catalogTtlSeconds)
 * and after DDL; statements keep working across every refresh — with a TTL of 0 each statement reads
 * the catalog again — and a relation created meanwhile is resolved at once.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayFixture, type GatewayFixture } from '../../helpers/gateway.ts';

let f: GatewayFixture;
let c: pg.Client;
beforeAll(async () => {
  // A catalog trusted for no time at all: every statement reads it again.
  f = await startGatewayFixture({ targetExtra: '    catalogTtlSeconds: 0\n' });
  c = new pg.Client({ host: '127.0.0.1', port: f.port, user: 'bot', database: 'payments', password: await f.token(), ssl: { rejectUnauthorized: false } });
  await c.connect();
}, 120_000);
afterAll(async () => {
  await c?.end().catch(() => undefined);
  await f?.stop();
});

describe('the catalog, refreshed', () => {
  it('every statement succeeds while the catalog is read again for each of them', async () => {
    for (let i = 0; i < 200; i++) {
      const r = await c.query('SELECT id, lower(name) AS n FROM customers WHERE id = $1 AND balance_of(id) IS NULL OR id = $1', [1 + (i % 3)]).catch((e: Error) => e);
      // balance_of does not exist: the server says so (42883) — never Vigil's "could not read the catalog".
      expect(r instanceof Error ? (r as { code?: string }).code : 'ok').toBe('42883');
      const ok = await c.query('SELECT count(*)::int AS n FROM customers WHERE id <> $1', [i]);
      expect(ok.rows[0].n).toBeGreaterThan(0);
    }
  });

  it('a table created outside Vigil is resolved at once', async () => {
    f.pg.psql('CREATE TABLE later (id int); INSERT INTO later VALUES (7); GRANT SELECT ON later TO svc_reporting', { database: 'payments' });
    expect((await c.query('SELECT id FROM later')).rows).toEqual([{ id: 7 }]);
  });
});
