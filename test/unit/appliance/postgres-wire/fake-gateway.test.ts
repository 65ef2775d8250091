/**
 * The server half of the codec against real clients: a tiny gateway built only from FrontendReader and the
 * to-client builders (SSL refused or accepted with TLS, cleartext password, simple and extended queries,
 * errors) serves psql and node-postgres, which must understand every message we build.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { TLSSocket } from 'node:tls';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  decodePasswordMessage,
  formatOf,
  FrontendReader,
  toClient,
  type BindMessage,
  type FrontendFrame,
  type FrontendMessage,
  type StartupMessage,
} from '../../../../appliance/protocols/postgres/wire/index.ts';
import { PGBIN } from '../../../helpers/postgres.ts';

const PASSWORD = 'gateway-pw';
let certDir: string;
let key: Buffer;
let cert: Buffer;

beforeAll(() => {
  certDir = mkdtempSync(join(tmpdir(), 'vigil-gw-cert-'));
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-keyout', join(certDir, 'k.pem'), '-out', join(certDir, 'c.pem')]);
  if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr}`);
  key = readFileSync(join(certDir, 'k.pem'));
  cert = readFileSync(join(certDir, 'c.pem'));
});
afterAll(() => rmSync(certDir, { recursive: true, force: true }));

interface Gateway {
  port: number;
  /** What each connection sent, decoded. */
  seen: (FrontendMessage | { type: string })[][];
  close(): Promise<void>;
}

async function startGateway(options: { tls: boolean }): Promise<Gateway> {
  const seen: Gateway['seen'] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    const log: Gateway['seen'][number] = [];
    seen.push(log);
    const reader = new FrontendReader();
    let io: Duplex = socket;
    let bind: BindMessage | undefined;
    const send = (...messages: Buffer[]) => io.write(Buffer.concat(messages));

    const handle = (f: FrontendFrame): void => {
      const m = f.type === 'p' ? { type: 'p' } : f.decode();
      log.push(m);
      switch (m.type) {
        case 'ssl':
          if (!options.tls) return void socket.write(toClient.SSL_REFUSED);
          if (reader.buffered !== 0) throw new Error('plaintext after SSLRequest');
          socket.off('data', onData);
          socket.write(toClient.SSL_ACCEPTED);
          io = new TLSSocket(socket, { isServer: true, key, cert });
          io.on('data', onData);
          io.on('error', () => undefined);
          return;
        case 'gssenc':
          return void socket.write(toClient.GSSENC_REFUSED);
        case 'startup':
          (log[log.length - 1] as { user?: string }).user = (m as StartupMessage).params.get('user');
          return void send(toClient.authenticationCleartextPassword());
        case 'p':
          if (decodePasswordMessage(f.body).password !== PASSWORD) {
            send(toClient.errorResponse({ severity: 'FATAL', code: '28P01', message: 'password authentication failed for user "app"' }));
            return void io.end();
          }
          return void send(
            toClient.authenticationOk(),
            ...Object.entries({ server_version: '15.0', server_encoding: 'UTF8', client_encoding: 'UTF8', DateStyle: 'ISO, MDY', integer_datetimes: 'on', standard_conforming_strings: 'on' }).map(([k, v]) =>
              toClient.parameterStatus(k, v),
            ),
            toClient.backendKeyData(4242, 0x1234),
            toClient.readyForQuery('I'),
          );
        case 'Q': {
          const sql = (m as { sql: string }).sql;
          if (sql.includes('1/0')) return void send(toClient.errorResponse({ severity: 'ERROR', code: '22012', message: 'division by zero', hint: 'masked by the gateway' }), toClient.readyForQuery());
          if (sql.trim() === '') return void send(toClient.emptyQueryResponse(), toClient.readyForQuery());
          return void send(
            toClient.noticeResponse({ severity: 'NOTICE', code: '00000', message: 'served by the test gateway' }),
            toClient.rowDescription([{ name: 'echo' }, { name: 'n', typeOid: 23, typeSize: 4 }, { name: 'nothing' }]),
            toClient.dataRow([sql, '7', null]),
            toClient.commandComplete('SELECT 1'),
            toClient.readyForQuery('I'),
          );
        }
        case 'P':
          return void send(toClient.parseComplete());
        case 'B':
          bind = m as BindMessage;
          return void send(toClient.bindComplete());
        case 'D':
          return void send(toClient.rowDescription((bind?.params ?? []).map((_, i) => ({ name: `p${i + 1}` }))));
        case 'E':
          return void send(
            toClient.dataRow((bind?.params ?? []).map((v, i) => (v === null ? null : formatOf(bind!.paramFormats, i) === 1 ? v.toString('hex') : v))),
            toClient.commandComplete('SELECT 1'),
          );
        case 'S':
          return void send(toClient.readyForQuery('I'));
        case 'X':
          return void io.end();
      }
    };
    function onData(chunk: Buffer): void {
      try {
        reader.push(chunk);
        for (let f = reader.next(); f; f = reader.next()) handle(f);
      } catch {
        socket.destroy();
      }
    }
    socket.on('data', onData);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    seen,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function psql(port: number, sql: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(join(PGBIN, 'psql'), ['-X', '-h', '127.0.0.1', '-p', String(port), '-U', 'app', '-d', 'shop', ...sql.flatMap((s) => ['-c', s])], {
    env: { ...process.env, PGCONNECT_TIMEOUT: '10', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  child.stdin.end();
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

describe('a gateway made of the codec serves real clients', () => {
  test('psql in plaintext: SSL refused, cleartext password, rows, NULLs, notices, errors', async () => {
    const gw = await startGateway({ tls: false });
    const r = await psql(gw.port, ["select 'hi'", 'select 1/0'], { PGPASSWORD: PASSWORD, PGSSLMODE: 'prefer' });
    await gw.close();
    expect(r.stdout).toContain(" select 'hi' | 7 | ");
    expect(r.stdout).toContain('(1 row)');
    expect(r.stderr).toContain('NOTICE:  served by the test gateway');
    expect(r.stderr).toContain('ERROR:  division by zero');
    expect(r.stderr).toContain('HINT:  masked by the gateway');
    expect(gw.seen[0]!.map((m) => m.type)).toEqual(['ssl', 'startup', 'p', 'Q', 'Q', 'X']);
    expect(gw.seen[0]![1]).toMatchObject({ user: 'app' });
  });

  test('psql with sslmode=require: TLS accepted and the same reader goes on with the decrypted stream', async () => {
    const gw = await startGateway({ tls: true });
    const r = await psql(gw.port, ['select 42'], { PGPASSWORD: PASSWORD, PGSSLMODE: 'require' });
    await gw.close();
    expect(r.stderr).not.toMatch(/error|fatal/i);
    expect(r.stdout).toContain(' select 42 | 7 |');
    expect(gw.seen[0]!.map((m) => m.type)).toEqual(['ssl', 'startup', 'p', 'Q', 'X']);
  });

  test("psql shows our FATAL for a wrong password", async () => {
    const gw = await startGateway({ tls: false });
    const r = await psql(gw.port, ['select 1'], { PGPASSWORD: 'wrong', PGSSLMODE: 'disable' });
    await gw.close();
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('FATAL:  password authentication failed for user "app"');
  });

  test('node-postgres: extended protocol with text, binary and NULL parameters', async () => {
    const gw = await startGateway({ tls: false });
    const client = new pg.Client({ host: '127.0.0.1', port: gw.port, user: 'app', database: 'shop', password: PASSWORD });
    await client.connect();
    const res = await client.query('select $1, $2, $3', ['text', Buffer.from([0xca, 0xfe]), null]);
    const simple = await client.query("select 'simple'");
    await client.end();
    await gw.close();
    expect(res.rows).toEqual([{ p1: 'text', p2: 'cafe', p3: null }]);
    expect(simple.rows).toEqual([{ echo: "select 'simple'", n: 7, nothing: null }]);
    expect(gw.seen[0]!.map((m) => m.type)).toEqual(['startup', 'p', 'P', 'B', 'D', 'E', 'S', 'Q', 'X']);
  });
});
