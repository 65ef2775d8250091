/**
 * The PostgreSQL protocol at the gateway's edges, driven byte by byte: TLS and GSSENC negotiation,
 * protocol version negotiation, ParameterStatus pass-through, cancel keys, and malformed input, which
 * gets FATAL 08P01 and a closed connection while other sessions carry on.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toServer } from '../../../appliance/protocols/postgres/wire/index.ts';
import { startGatewayFixture, type GatewayFixture } from '../../helpers/gateway.ts';
import { errorFields, rawConnect, rawLogin } from '../../helpers/pg-raw-client.ts';
import { PGBIN } from '../../helpers/postgres.ts';

let f: GatewayFixture;
let token: string;
beforeAll(async () => {
  f = await startGatewayFixture();
  token = await f.token();
});
afterAll(async () => {
  await f?.stop();
});

function client(): pg.Client {
  return new pg.Client({ host: '127.0.0.1', port: f.port, user: 'bot', database: 'payments', password: token, ssl: { rejectUnauthorized: false } });
}

describe('startup negotiation', () => {
  it('refuses GSSENC cleanly, then accepts TLS on the same connection', async () => {
    const c = await rawConnect(f.port);
    c.send(toServer.gssencRequest());
    const answer = await new Promise<Buffer>((r) => c.socket.once('data', r));
    expect(answer.toString()).toBe('N');
    c.close();
  });

  it('negotiates the protocol version down to 3.0 and names unknown _pq_ options', async () => {
    const c = await rawLogin(f.port, token, { '_pq_.compression': 'on', application_name: 'raw' }, 2);
    const v = c.messages.find((m) => m.type === 'v');
    expect(v).toEqual({ type: 'v', version: 196608, unrecognized: ['_pq_.compression'] });
    c.close();
  });

  it('passes the target\'s ParameterStatus through and hands out its own cancel key', async () => {
    const c = await rawLogin(f.port, token, { application_name: 'raw-test' });
    const params = new Map(c.messages.flatMap((m) => (m.type === 'S' ? [[m.name, m.value] as const] : [])));
    expect(params.get('server_version')).toMatch(/^15\./);
    expect(params.get('application_name')).toBe('raw-test');
    expect(params.get('client_encoding')).toBeDefined();
    const key = c.messages.find((m) => m.type === 'K');
    expect(key?.type === 'K' && key.secret.length).toBe(4);
    // The target's real backend pid is not what the client sees.
    const pids = f.pg.psql("SELECT pid FROM pg_stat_activity WHERE application_name = 'raw-test'").trim().split('\n').map(Number);
    expect(pids).toHaveLength(1);
    expect(key?.type === 'K' && key.pid).not.toBe(pids[0]);
    c.close();
  });

  it('refuses a replication connection', async () => {
    const c = await rawConnect(f.port, { tls: true });
    c.send(toServer.startupMessage({ user: 'x', database: 'payments', replication: 'true' }));
    const e = errorFields(await c.waitFor('E'));
    expect([e.get('S'), e.get('C')]).toEqual(['FATAL', '0A000']);
  });
});

describe('cancel', () => {
  it('psql\'s Ctrl-C cancels the right query on the target', async () => {
    const child = spawn(join(PGBIN, 'psql'), ['-X', '-c', 'SELECT pg_sleep(30)'], {
      env: { ...process.env, PGHOST: '127.0.0.1', PGPORT: String(f.port), PGUSER: 'bot', PGDATABASE: 'payments', PGPASSWORD: token, PGSSLMODE: 'require' },
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    // Wait until the query runs on the target, then interrupt psql as a user would.
    for (let i = 0; i < 100 && !f.pg.psql("SELECT 1 FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(30)%' AND state = 'active'").trim(); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const started = Date.now();
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('close', r));
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/canceling statement due to user request/);
  });

  it('a cancel request with a wrong secret cancels nothing', async () => {
    const c = await rawLogin(f.port, token);
    const key = c.messages.find((m) => m.type === 'K')!;
    if (key.type !== 'K') throw new Error('no key');
    c.send(toServer.query('SELECT pg_sleep(1.5)'));
    const bad = await rawConnect(f.port);
    bad.send(toServer.cancelRequest(key.pid, Buffer.from([0, 0, 0, 0])));
    await bad.closed;
    const done = await c.waitFor('C', 10_000);
    expect(done).toEqual({ type: 'C', tag: 'SELECT 1' });
    c.close();
  });
});

describe('malformed input gets FATAL 08P01 and never disturbs other sessions', () => {
  let bystander: pg.Client;
  beforeAll(async () => {
    bystander = client();
    await bystander.connect();
  });
  afterAll(async () => {
    await bystander.end();
  });

  async function expectFatal08P01(bytes: Buffer, tls: boolean, login: boolean): Promise<string> {
    const c = login ? await rawLogin(f.port, token) : await rawConnect(f.port, { tls });
    c.send(bytes);
    const e = errorFields(await c.waitFor('E'));
    await c.closed;
    expect([e.get('S'), e.get('C')]).toEqual(['FATAL', '08P01']);
    expect((await bystander.query('SELECT count(*)::int AS n FROM customers')).rows[0].n).toBe(3);
    return e.get('M')!;
  }

  it('garbage before startup', async () => {
    expect(await expectFatal08P01(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), false, false)).toMatch(/invalid length of startup packet/);
  });

  it('a 2 GiB message length', async () => {
    const b = Buffer.from([0x51, 0x7f, 0xff, 0xff, 0xff, 0x53]);
    expect(await expectFatal08P01(b, true, true)).toMatch(/invalid message length/);
  });

  it('an unknown message type', async () => {
    expect(await expectFatal08P01(Buffer.from([0x7a, 0, 0, 0, 4]), true, true)).toMatch(/invalid frontend message type/);
  });

  it('a length shorter than its own header', async () => {
    expect(await expectFatal08P01(Buffer.from([0x51, 0, 0, 0, 2]), true, true)).toMatch(/invalid message length/);
  });

  it('a body that contradicts its type (Bind with a bad count)', async () => {
    const bind = Buffer.from([0x42, 0, 0, 0, 12, 0, 0, 0xff, 0xff, 0, 0, 0, 0]);
    expect(await expectFatal08P01(bind, true, true)).toMatch(/Bind/);
  });

  it('a password message after authentication', async () => {
    expect(await expectFatal08P01(toServer.passwordMessage('again'), true, true)).toMatch(/unexpected p message/);
  });
});
