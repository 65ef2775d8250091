/**
 * Admission at the PostgreSQL listener, against a real gateway and PostgreSQL 15: the per-address limit
 * for connections still authenticating, the pre-authentication deadline (a slowloris client is cut off),
 * authenticated capacity (FATAL 53300 after authentication, over TLS), pgbench -C -c 50 from one host with
 * the default limits, and the startup edge of SSLRequest followed by Terminate or by other bytes.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackendReader, toServer, type BackendMessage } from '../../../appliance/protocols/postgres/wire/index.ts';
import { startGatewayFixture, type GatewayFixture } from '../../helpers/gateway.ts';
import { PGBIN } from '../../helpers/postgres.ts';

interface Probe {
  socket: Socket;
  bytes: () => Buffer;
  /** Resolves with the time (ms since connect) when the server closed or reset the connection. */
  closed: Promise<number>;
}

function probe(port: number, first?: Buffer): Promise<Probe> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let t0 = 0;
    const socket = connect({ host: '127.0.0.1', port }, () => {
      t0 = Date.now();
      if (first) socket.write(first);
      resolve({ socket, bytes: () => Buffer.concat(chunks), closed });
    });
    const closed = new Promise<number>((r) => socket.once('close', () => r(Date.now() - t0)));
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', () => undefined);
    socket.once('error', reject);
  });
}

function messages(b: Buffer): BackendMessage[] {
  const r = new BackendReader();
  r.push(b);
  const out: BackendMessage[] = [];
  for (let f = r.next(); f; f = r.next()) out.push(f.decode() as BackendMessage);
  return out;
}

function fatalOf(b: Buffer): Map<string, string> {
  const m = messages(b)[0];
  if (m?.type !== 'E') throw new Error(`expected an ErrorResponse, got ${JSON.stringify(b.toString('latin1'))}`);
  return m.fields;
}

/** Polls until `cond` holds (the server sees a client's close a moment after the client does). */
async function until(cond: () => boolean, what: string, timeoutMs = 3_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const SSL_REQUEST = toServer.sslRequest();
const TERMINATE = toServer.terminate();

function client(f: GatewayFixture, token: string): pg.Client {
  return new pg.Client({ host: '127.0.0.1', port: f.port, user: 'bot', database: 'payments', password: token, ssl: { rejectUnauthorized: false } });
}

describe('with the default limits', () => {
  let f: GatewayFixture;
  beforeAll(async () => {
    f = await startGatewayFixture();
  }, 120_000);
  afterAll(async () => {
    await f?.stop();
  });

  it('SSLRequest and Terminate in one packet: the request is answered, then the connection closes quietly', async () => {
    const p = await probe(f.port, Buffer.concat([SSL_REQUEST, TERMINATE]));
    const after = await p.closed;
    // Exactly what PostgreSQL 15 with ssl=on sends (it then sees the client close): 'S', and no FATAL.
    expect(p.bytes().toString('latin1')).toBe('S');
    expect(after).toBeLessThan(2_000);
    p.socket.destroy();
  });

  it('SSLRequest followed by other plaintext bytes is still refused before TLS (CVE-2021-23214)', async () => {
    for (const extra of [toServer.startupMessage({ user: 'x', database: 'payments' }), Buffer.concat([TERMINATE, TERMINATE]), TERMINATE.subarray(0, 3)]) {
      const p = await probe(f.port, Buffer.concat([SSL_REQUEST, extra]));
      await p.closed;
      const e = fatalOf(p.bytes());
      expect([e.get('S'), e.get('C'), e.get('M')]).toEqual(['FATAL', '08P01', 'unencrypted data after an SSLRequest']);
      expect(p.bytes()[0]).toBe(0x45); // 'E' first: no 'S', no TLS with injected bytes behind it
    }
  });

  it('pgbench -C -c 50 (a new connection per transaction) from one host works', async () => {
    const script = join(f.dir, 'select1.sql');
    writeFileSync(script, 'SELECT 1;\n');
    const token = await f.token();
    const r = await new Promise<{ code: number; out: string }>((resolve) => {
      const p = spawn(join(PGBIN, 'pgbench'), ['-n', '-C', '-c', '50', '-j', '2', '-t', '3', '-f', script, '-h', '127.0.0.1', '-p', String(f.port), '-U', 'bot', 'payments'], {
        env: { ...process.env, PGPASSWORD: token, PGSSLMODE: 'require' },
      });
      let out = '';
      p.stdout.on('data', (d) => (out += d));
      p.stderr.on('data', (d) => (out += d));
      p.on('close', (code) => resolve({ code: code ?? -1, out }));
    });
    expect(r.out, r.out).toMatch(/number of transactions actually processed: 150\/150/);
    expect(r.out).toMatch(/number of failed transactions: 0 /);
    expect(r.code).toBe(0);
  }, 60_000);
});

describe('with tight limits', () => {
  let f: GatewayFixture;
  let token: string;
  beforeAll(async () => {
    f = await startGatewayFixture({
      listener: '    maxConnections: 1\n    maxUnauthenticated: 4\n    maxUnauthenticatedPerAddress: 2\n    authenticationTimeoutMs: 1500\n',
    });
    token = await f.token();
  }, 120_000);
  afterAll(async () => {
    await f?.stop();
  });

  it('refuses a connection over its address\'s limit at once, with FATAL 53300 naming the limit', async () => {
    const held = [await probe(f.port), await probe(f.port)];
    const started = Date.now();
    const over = await probe(f.port);
    await over.closed;
    expect(Date.now() - started).toBeLessThan(1_000);
    const e = fatalOf(over.bytes());
    expect([e.get('S'), e.get('C')]).toEqual(['FATAL', '53300']);
    expect(e.get('M')).toBe('too many connections from 127.0.0.1 waiting to authenticate to this Vigil listener (limit 2, listeners.postgres.maxUnauthenticatedPerAddress)');
    // A plaintext client shows it as is.
    const psql = await f.psql('SELECT 1', { sslmode: 'disable' });
    expect(psql.stderr).toMatch(/FATAL: {2}too many connections from 127\.0\.0\.1 waiting to authenticate .*maxUnauthenticatedPerAddress/);
    for (const h of held) h.socket.destroy();
    await until(() => f.gateway.protocol('postgres')!.admitted.unauthenticated === 0, 'the server released the held connections');
    // With the places free again, a client gets in.
    expect((await f.psql('SELECT 1')).stdout.trim()).toBe('1');
  });

  it('cuts a slowloris client (one byte a second) off at the deadline, counted from connect', async () => {
    const startup = toServer.startupMessage({ user: 'slow', database: 'payments' });
    const p = await probe(f.port);
    let i = 0;
    const drip = setInterval(() => {
      if (i < startup.length && !p.socket.destroyed) p.socket.write(startup.subarray(i, ++i));
    }, 1_000);
    const after = await p.closed;
    clearInterval(drip);
    expect(after).toBeGreaterThanOrEqual(1_400);
    expect(after).toBeLessThan(3_000);
    const e = fatalOf(p.bytes());
    expect([e.get('C'), e.get('M')]).toEqual(['08006', 'authentication timed out: a client must authenticate within 1500 ms of connecting']);
    await until(() => f.gateway.protocol('postgres')!.admitted.unauthenticated === 0, 'the server released the slow connection');
  });

  it('authenticated capacity: a client that authenticates while it is full gets FATAL 53300 over TLS; the open session is untouched', async () => {
    const open = client(f, token);
    await open.connect();
    expect(f.gateway.protocol('postgres')!.admitted.authenticated).toBe(1);
    const second = client(f, token);
    const err = (await second.connect().then(() => undefined, (e: unknown) => e)) as { code?: string; message?: string } | undefined;
    expect(err?.code).toBe('53300');
    expect(err?.message).toBe('too many sessions on this Vigil listener (limit 1, listeners.postgres.maxConnections)');
    const psql = await f.psql('SELECT 1');
    expect(psql.code).not.toBe(0);
    expect(psql.stderr).toMatch(/FATAL: {2}too many sessions on this Vigil listener \(limit 1/);
    expect((await open.query('SELECT count(*)::int AS n FROM customers')).rows[0].n).toBe(3);
    await open.end();
    await until(() => f.gateway.protocol('postgres')!.admitted.authenticated === 0, 'the session ended');
    expect((await f.psql('SELECT 1')).stdout.trim()).toBe('1');
    const refusals = f.logs().split('\n').filter((l) => l.includes('"sqlstate":"53300"'));
    expect(refusals).toHaveLength(2);
    expect(refusals[0]).toMatch(/"reason":"authenticated session capacity full"/);
  });
});
