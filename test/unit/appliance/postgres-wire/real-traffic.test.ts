/**
 * Real clients (psql, node-postgres) talk to a real PostgreSQL 15 through a relay that forwards only what
 * our readers frame; the recorded bytes of both directions are then decoded and checked message by message.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  decodeSASLInitialResponse,
  decodeSASLResponse,
  type BackendMessage,
  type FrontendMessage,
  type StartupMessage,
} from '../../../../appliance/protocols/postgres/wire/index.ts';
import { PGBIN, startPostgres, type PostgresServer } from '../../../helpers/postgres.ts';
import { replay, startRecordingRelay, type Relay, type Replay } from './recording-relay.ts';

let server: PostgresServer;
let relay: Relay;

beforeAll(async () => {
  server = await startPostgres();
  relay = await startRecordingRelay(server.port, { reframe: true });
});
afterAll(async () => {
  await relay?.close();
  await server?.stop();
});

/** Runs psql against the relay (asynchronously: the relay lives on this event loop) and replays its connection. */
async function psql(commands: string[], stdin = ''): Promise<{ stdout: string; stderr: string; code: number | null; traffic: Replay }> {
  const index = relay.recordings.length;
  const args = ['-X', '-h', '127.0.0.1', '-p', String(relay.port), '-U', 'gw', '-d', 'postgres', ...commands.flatMap((c) => ['-c', c])];
  const child = spawn(join(PGBIN, 'psql'), args, { env: { ...process.env, PGPASSWORD: server.password, PGSSLMODE: 'prefer', PGCONNECT_TIMEOUT: '10' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  child.stdin.end(stdin);
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  await settle(index);
  return { stdout, stderr, code, traffic: replay(relay.recordings[index]!) };
}

/** Waits until the relay saw connection `index` close on both sides, so its recording is complete. */
async function settle(index: number): Promise<void> {
  await relay.closed[index];
}

async function withPg<T>(config: Partial<pg.ClientConfig>, fn: (c: pg.Client) => Promise<T>): Promise<{ result: T; traffic: Replay }> {
  const index = relay.recordings.length;
  const client = new pg.Client({ host: '127.0.0.1', port: relay.port, user: 'gw', password: server.password, database: 'postgres', ...config });
  await client.connect();
  const result = await fn(client);
  await client.end();
  await settle(index);
  return { result, traffic: replay(relay.recordings[index]!) };
}

const decoded = <T>(frames: { decode(): unknown }[]): T[] => frames.map((f) => f.decode() as T);
const types = (frames: { type: string }[]): string => frames.map((f) => (f.type.length === 1 ? f.type : `[${f.type}]`)).join('');

describe('psql through the framing relay', () => {
  test('startup, SCRAM, simple queries, errors, notices, notifications, COPY out and in, empty query', async () => {
    const r = await psql(
      [
        "select 1 as one, 'x'::text as two, null::int as three",
        'select 1/0',
        "LISTEN ch; NOTIFY ch, 'payload'",
        "DO $$BEGIN RAISE NOTICE 'hello %', 42; END$$",
        "COPY (select g, 'row ' || g from generate_series(1, 3) g) TO STDOUT",
        'create temp table t(a int, b text)',
        'COPY t FROM STDIN',
        'select count(*) from t',
        ';',
      ],
      '1\tone\n2\ttwo\n',
    );
    expect(r.stderr).toContain('ERROR:  division by zero');
    expect(r.stdout).toContain('COPY 2');
    const { client, server: srv } = r.traffic;

    // psql (libpq, sslmode=prefer) asks for TLS first; this server has none and answers 'N'.
    expect(types(client)).toBe('[ssl][startup]ppQQQQQQQdcQQX');
    const startup = client[1]!.decode() as StartupMessage;
    expect(startup.protocol).toEqual({ major: 3, minor: 0 });
    expect(Object.fromEntries(startup.params)).toMatchObject({ user: 'gw', database: 'postgres', application_name: 'psql' });
    const initial = decodeSASLInitialResponse(client[2]!.body);
    expect(initial.mechanism).toBe('SCRAM-SHA-256');
    expect(initial.data!.toString()).toMatch(/^n,,n=,r=[A-Za-z0-9+/]{24}$/);
    expect(decodeSASLResponse(client[3]!.body).data.toString()).toMatch(/^c=biws,r=[^,]+,p=[A-Za-z0-9+/=]+$/);
    const queries = decoded<FrontendMessage>(client).filter((m) => m.type === 'Q');
    expect(queries.map((q) => (q as { sql: string }).sql)).toEqual([
      "select 1 as one, 'x'::text as two, null::int as three",
      'select 1/0',
      "LISTEN ch; NOTIFY ch, 'payload'",
      "DO $$BEGIN RAISE NOTICE 'hello %', 42; END$$",
      "COPY (select g, 'row ' || g from generate_series(1, 3) g) TO STDOUT",
      'create temp table t(a int, b text)',
      'COPY t FROM STDIN',
      'select count(*) from t',
      ';',
    ]);
    // psql sends the COPY input it read as one CopyData.
    expect(client[11]!.decode()).toEqual({ type: 'd', data: Buffer.from('1\tone\n2\ttwo\n') });

    const m = decoded<BackendMessage | { type: 'encryption-response'; accepted: boolean }>(srv);
    expect(m[0]).toEqual({ type: 'encryption-response', accepted: false, byte: 'N' });
    expect(m.slice(1, 5).map((x) => (x as { auth: { kind: string } }).auth.kind)).toEqual(['sasl', 'sasl-continue', 'sasl-final', 'ok']);
    const params = new Map(m.filter((x) => x.type === 'S').map((x) => [(x as { name: string }).name, (x as { value: string }).value]));
    expect(params.get('server_version')).toMatch(/^15\./);
    expect(params.get('client_encoding')).toBe('UTF8');
    expect(m.find((x) => x.type === 'K')).toMatchObject({ type: 'K', pid: expect.any(Number) });
    const after = srv.findIndex((f) => f.type === 'K') + 1;
    expect(types(srv.slice(after))).toBe('ZTDCZEZCCAZNCZHdddcCZCZGCZTDCZIZ');
    const rest = m.slice(after);
    expect(rest[1]).toEqual({
      type: 'T',
      fields: [
        { name: 'one', tableOid: 0, columnAttr: 0, typeOid: 23, typeSize: 4, typeModifier: -1, format: 0 },
        { name: 'two', tableOid: 0, columnAttr: 0, typeOid: 25, typeSize: -1, typeModifier: -1, format: 0 },
        { name: 'three', tableOid: 0, columnAttr: 0, typeOid: 23, typeSize: 4, typeModifier: -1, format: 0 },
      ],
    });
    expect(rest[2]).toEqual({ type: 'D', values: [Buffer.from('1'), Buffer.from('x'), null] });
    expect(rest[3]).toEqual({ type: 'C', tag: 'SELECT 1' });
    expect(rest[4]).toEqual({ type: 'Z', status: 'I' });
    const error = (rest[5] as { fields: Map<string, string> }).fields;
    expect(Object.fromEntries(error)).toMatchObject({ S: 'ERROR', V: 'ERROR', C: '22012', M: 'division by zero', R: 'int4div' });
    expect(rest[9]).toMatchObject({ type: 'A', channel: 'ch', payload: 'payload' });
    expect(Object.fromEntries((rest[11] as { fields: Map<string, string> }).fields)).toMatchObject({ S: 'NOTICE', C: '00000', M: 'hello 42' });
    expect(rest[14]).toEqual({ type: 'H', format: 0, columnFormats: [0, 0] });
    expect(rest.slice(15, 18)).toEqual([1, 2, 3].map((g) => ({ type: 'd', data: Buffer.from(`${g}\trow ${g}\n`) })));
    expect(rest[19]).toEqual({ type: 'C', tag: 'COPY 3' });
    expect(rest[23]).toEqual({ type: 'G', format: 0, columnFormats: [0, 0] });
    expect(rest[24]).toEqual({ type: 'C', tag: 'COPY 2' });
    expect(rest[27]).toEqual({ type: 'D', values: [Buffer.from('2')] });
    expect(rest[30]).toEqual({ type: 'I' });
  });

  test('a large result arrives in many chunks and every row decodes', async () => {
    const r = await psql(["select g, repeat(chr(65 + g % 26), 1000) from generate_series(1, 2000) g"]);
    expect(r.code).toBe(0);
    const rows = decoded<BackendMessage>(r.traffic.server).filter((m) => m.type === 'D') as { values: Buffer[] }[];
    expect(rows).toHaveLength(2000);
    rows.forEach((row, i) => {
      const g = i + 1;
      expect(row.values[0]!.toString()).toBe(String(g));
      expect(row.values[1]!.equals(Buffer.alloc(1000, 65 + (g % 26)))).toBe(true);
    });
    // The rows straddle reads: some frames had to be assembled from several chunks.
    expect(r.traffic.stats.serverChunks).toBeGreaterThan(10);
    expect(r.traffic.server.some((f) => f.source.length === f.length)).toBe(true);
  });
});

describe('node-postgres through the framing relay', () => {
  test('extended protocol: Parse/Bind/Describe/Execute/Sync with text and binary parameters', async () => {
    const { result, traffic } = await withPg({}, async (c) => [
      (await c.query('select $1::int + 1 as n, $2::text as t', [41, 'hi'])).rows,
      (await c.query('select length($1::bytea) as len, $2::text is null as isnull', [Buffer.from([0, 1, 2]), null])).rows,
      (await c.query({ name: 'by_name', text: 'select $1::text as v', values: ['a'] })).rows,
      (await c.query({ name: 'by_name', text: 'select $1::text as v', values: ['b'] })).rows,
    ]);
    expect(result).toEqual([[{ n: 42, t: 'hi' }], [{ len: 3, isnull: true }], [{ v: 'a' }], [{ v: 'b' }]]);
    const { client, server: srv } = traffic;
    expect(types(client)).toBe('[startup]ppPBDESPBDESPBDESBDESX');
    const startup = client[0]!.decode() as StartupMessage;
    expect(Object.fromEntries(startup.params)).toEqual({ user: 'gw', database: 'postgres', client_encoding: 'UTF8' });
    // node-postgres puts "*" as the SCRAM user name where libpq leaves it empty.
    expect(decodeSASLInitialResponse(client[1]!.body).data!.toString()).toMatch(/^n,,n=\*,r=/);
    const c = decoded<FrontendMessage>(client);
    expect(c[3]).toEqual({ type: 'P', name: '', sql: 'select $1::int + 1 as n, $2::text as t', sqlBytes: Buffer.from('select $1::int + 1 as n, $2::text as t'), paramTypes: [] });
    expect(c[4]).toEqual({ type: 'B', portal: '', statement: '', paramFormats: [0, 0], params: [Buffer.from('41'), Buffer.from('hi')], resultFormats: [0] });
    expect(c[5]).toEqual({ type: 'D', kind: 'P', name: '' });
    expect(c[6]).toEqual({ type: 'E', portal: '', maxRows: 0 });
    expect(c[7]).toEqual({ type: 'S' });
    // A Buffer goes as binary (format 1), null as length -1.
    expect(c[9]).toEqual({ type: 'B', portal: '', statement: '', paramFormats: [1, 0], params: [Buffer.from([0, 1, 2]), null], resultFormats: [0] });
    expect(c[13]).toMatchObject({ type: 'P', name: 'by_name' });
    expect(c[14]).toMatchObject({ type: 'B', statement: 'by_name', params: [Buffer.from('a')] });
    // The named statement is parsed once: the second run starts with Bind.
    expect(c[18]).toMatchObject({ type: 'B', statement: 'by_name', params: [Buffer.from('b')] });

    const after = srv.findIndex((f) => f.type === 'K') + 1;
    expect(types(srv.slice(after))).toBe('Z12TDCZ12TDCZ12TDCZ2TDCZ');
    const s = decoded<BackendMessage>(srv.slice(after));
    expect(s[3]).toEqual({
      type: 'T',
      fields: [
        { name: 'n', tableOid: 0, columnAttr: 0, typeOid: 23, typeSize: 4, typeModifier: -1, format: 0 },
        { name: 't', tableOid: 0, columnAttr: 0, typeOid: 25, typeSize: -1, typeModifier: -1, format: 0 },
      ],
    });
    expect(s[4]).toEqual({ type: 'D', values: [Buffer.from('42'), Buffer.from('hi')] });
    expect(s[5]).toEqual({ type: 'C', tag: 'SELECT 1' });
    expect(s[6]).toEqual({ type: 'Z', status: 'I' });
    expect(s[10]).toEqual({ type: 'D', values: [Buffer.from('3'), Buffer.from('t')] });
  });

  test('pipelining: every query is sent before the first answer, and an error stays in its own Sync', async () => {
    const { result, traffic } = await withPg({ pipeline: true } as Partial<pg.ClientConfig>, async (c) =>
      Promise.allSettled([c.query('select 1 as a'), c.query('select $1::int / 0 as b', [2]), c.query('select $1::text as c', ['three'])]),
    );
    expect(result.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const steps = traffic.steps;
    const firstAnswer = steps.find((s) => s.from === 'server' && s.seq > steps.find((x) => x.frame.type === 'Q')!.seq)!;
    const sentBefore = steps.filter((s) => s.from === 'client' && s.seq < firstAnswer.seq).map((s) => s.frame.type).join('');
    // Simple Query, then two extended queries each closed by Sync, all before the server said anything.
    expect(sentBefore).toMatch(/QPBDESPBDES$/);
    const after = traffic.server.findIndex((f) => f.type === 'K') + 1;
    // The division is constant-folded when Bind plans the query, so the error comes right after ParseComplete.
    expect(types(traffic.server.slice(after))).toBe('ZTDCZ1EZ12TDCZ');
    const s = decoded<BackendMessage>(traffic.server.slice(after));
    expect(Object.fromEntries((s[6] as { fields: Map<string, string> }).fields)).toMatchObject({ C: '22012', M: 'division by zero' });
    expect(s[11]).toEqual({ type: 'D', values: [Buffer.from('three')] });
  });
});
