/** pgbench through the gateway: simple, extended and prepared protocol, several clients, no errors. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayFixture, type GatewayFixture } from '../../helpers/gateway.ts';
import { PGBIN } from '../../helpers/postgres.ts';

let f: GatewayFixture;
beforeAll(async () => {
  f = await startGatewayFixture({
    beforeStart: async (pg) => {
      const r = await spawnPgbench(['-i', '-s', '1', '-q', '-h', '127.0.0.1', '-p', String(pg.port), '-U', 'gw', 'payments'], pg.password, 'disable');
      if (r.code !== 0) throw new Error(`pgbench -i failed: ${r.out}`);
      pg.psql('GRANT SELECT ON ALL TABLES IN SCHEMA public TO svc_reporting', { database: 'payments' });
    },
  });
}, 120_000);
afterAll(async () => {
  await f?.stop();
});

function spawnPgbench(args: string[], password: string, sslmode = 'require'): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(join(PGBIN, 'pgbench'), args, { env: { ...process.env, PGPASSWORD: password, PGSSLMODE: sslmode } });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('close', (code) => resolve({ code: code ?? -1, out }));
  });
}

describe('pgbench', () => {
  it.each(['simple', 'extended', 'prepared'])('select-only with -M %s, 2 clients', async (mode) => {
    const r = await spawnPgbench(['-S', '-M', mode, '-c', '2', '-j', '2', '-T', '2', '-n', '-h', '127.0.0.1', '-p', String(f.port), '-U', 'bot', 'payments'], await f.token());
    expect(r.out, r.out).toMatch(/number of failed transactions: 0 \(0\.000%\)/);
    const tps = Number(/tps = ([\d.]+)/.exec(r.out)?.[1]);
    expect(tps).toBeGreaterThan(0);
    expect(r.code).toBe(0);
  });
});
