/**
 * A flood of connections that never authenticate cannot lock legitimate clients out (issue 8, item 10).
 * Real gateway, real PostgreSQL 15, node-postgres over TLS with a token for the legitimate client; the
 * flood is raw TCP from other loopback addresses (all of 127/8 is loopback on Linux):
 *
 *   - 2000 half-open connections from one address (sending nothing, or a partial startup packet): 64 wait
 *     (maxUnauthenticatedPerAddress), the rest are refused at once with FATAL 53300; a client from another
 *     address connects and queries at once;
 *   - 2000 spread over 59 addresses fill the total (maxUnauthenticated, 512): an open session keeps working;
 *     a new client from a less busy address gets in, because the oldest waiting connection of the busiest
 *     address is closed to make room; the deadline then cuts the whole flood and a client connects again.
 *
 * The evidence holds exactly the legitimate sessions, complete and verified with the auditor key: a
 * connection that sent no startup packet is no session. The log holds a few lines, not thousands.
 */
import { connect, type Socket } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvidenceEvent } from '../../shared/evidence/events.ts';
import type { VerificationReport } from '../../shared/evidence/verify/report.ts';
import { BackendReader, toServer } from '../../appliance/protocols/postgres/wire/index.ts';
import { startGatewayFixture, type GatewayFixture, exportAndVerify } from '../helpers/gateway.ts';

const DEADLINE_MS = 4_000;
const FLOOD = 2_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let f: GatewayFixture;
let token: string;
/** Every flood socket opened, so that afterAll can close any a failed test left open. */
const opened: Socket[] = [];
/** The marker each legitimate session's query carries, in order. */
const legitimate: string[] = [];

beforeAll(async () => {
  // The default limits (512 waiting, 64 per address, 2000 sessions), with a deadline short enough for a test.
  f = await startGatewayFixture({ listener: `    authenticationTimeoutMs: ${DEADLINE_MS}\n` });
  token = await f.token();
}, 120_000);

afterAll(async () => {
  for (const s of opened) s.destroy();
  await f?.gateway.stop();
  await f?.pg.stop();
});

interface FloodSocket {
  socket: Socket;
  source: string;
  /** Bytes the gateway sent. */
  data: Buffer[];
  /** Set when the gateway closed (or reset) the connection. */
  closedAt: number | undefined;
}

/** Opens `count` connections round-robin over `sources`, 100 at a time (each awaits its connect). */
async function flood(sources: string[], count: number, first?: Buffer): Promise<FloodSocket[]> {
  const out: FloodSocket[] = [];
  for (let i = 0; i < count; i += 100) {
    const batch = Array.from({ length: Math.min(100, count - i) }, (_, j) => {
      const source = sources[(i + j) % sources.length]!;
      return new Promise<FloodSocket>((resolve, reject) => {
        const socket = connect({ host: '127.0.0.1', port: f.port, localAddress: source });
        opened.push(socket);
        const fs: FloodSocket = { socket, source, data: [], closedAt: undefined };
        socket.on('data', (d) => fs.data.push(d));
        socket.on('error', () => undefined);
        socket.once('error', reject);
        socket.on('end', () => socket.destroy()); // as a client does when the server hangs up
        socket.once('close', () => (fs.closedAt = Date.now()));
        socket.once('connect', () => {
          socket.off('error', reject);
          if (first) socket.write(first);
          resolve(fs);
        });
      });
    });
    out.push(...(await Promise.all(batch)));
  }
  return out;
}

/** The SQLSTATE of the FATAL a flood socket got, if any. */
function sqlstate(s: FloodSocket): string | undefined {
  const r = new BackendReader();
  r.push(Buffer.concat(s.data));
  const m = r.next()?.decode();
  return m?.type === 'E' ? m.fields.get('C') : undefined;
}

async function until(cond: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await sleep(10);
  }
}

const admitted = () => f.gateway.protocol('postgres')!.admitted;

async function session(marker: string): Promise<pg.Client> {
  const c = new pg.Client({ host: '127.0.0.1', port: f.port, user: 'bot', database: 'payments', password: token, ssl: { rejectUnauthorized: false }, connectionTimeoutMillis: 5_000 });
  await c.connect();
  legitimate.push(marker);
  return c;
}

/** Connects from 127.0.0.1, runs the marked query, disconnects; returns how long it all took. */
async function legitimateQuery(marker: string): Promise<number> {
  const t0 = Date.now();
  const c = await session(marker);
  const r = await c.query(`SELECT '${marker}' AS marker, count(*)::int AS n FROM customers`);
  expect(r.rows[0]).toEqual({ marker, n: 3 });
  await c.end();
  return Date.now() - t0;
}

function closeAll(sockets: FloodSocket[]): Promise<void> {
  for (const s of sockets) s.socket.destroy();
  return until(() => admitted().unauthenticated === 0, 'the gateway released every flood connection');
}

describe('2000 half-open connections from one address', () => {
  const partialStartup = toServer.startupMessage({ user: 'flood', database: 'payments' }).subarray(0, 6);

  it.each([
    ['sending nothing', undefined],
    ['sending a partial startup packet', partialStartup],
  ])('%s: 64 wait, the rest are refused at once with 53300, and a client from another address gets in at once', async (_, first) => {
    const logLinesBefore = f.logs().split('\n').length;
    const sockets = await flood(['127.0.0.2'], FLOOD, first);
    await until(() => sockets.filter((s) => s.closedAt !== undefined).length === FLOOD - 64, 'the gateway refused all but 64');
    const refused = sockets.filter((s) => s.closedAt !== undefined);
    expect(refused.map(sqlstate)).toEqual(Array(FLOOD - 64).fill('53300'));
    expect(admitted().unauthenticated).toBe(64);

    expect(await legitimateQuery(first ? 'one-address-partial' : 'one-address')).toBeLessThan(2_000);

    // Refusals are logged, rate-limited: one line for the first, the rest summed up later.
    const newLines = f.logs().split('\n').slice(logLinesBefore - 1).filter((l) => /admission limits|connection refused: too many/.test(l));
    expect(newLines.length).toBeLessThanOrEqual(2);
    await closeAll(sockets);
  });
});

describe('2000 connections from 59 addresses, filling the total', () => {
  it('an open session keeps working, a new client gets in, and the deadline cuts the flood', async () => {
    const open = await session('open-during-flood');
    const sources = Array.from({ length: 59 }, (_, i) => `127.0.0.${i + 2}`);
    const started = Date.now();
    const sockets = await flood(sources, FLOOD);
    // The total (512) is full: the other 1488 were refused (their address held as many as any) or closed
    // to make room for a newer one from a less busy address.
    await until(() => admitted().unauthenticated === 512 && sockets.filter((s) => s.closedAt !== undefined).length === FLOOD - 512, 'the total filled');
    expect(admitted().authenticated).toBe(1);
    const perSource = new Map<string, number>();
    for (const s of sockets) if (s.closedAt === undefined) perSource.set(s.source, (perSource.get(s.source) ?? 0) + 1);
    expect(Math.max(...perSource.values()) - Math.min(...perSource.values())).toBeLessThanOrEqual(1); // shared out fairly

    // The session that was already open is not affected.
    expect((await open.query("SELECT 'open-during-flood' AS marker")).rows[0].marker).toBe('open-during-flood');
    // A new client from 127.0.0.1 (no connection waiting) gets in: the busiest address's oldest waiting
    // connection is closed for it.
    expect(await legitimateQuery('new-during-flood')).toBeLessThan(2_000);
    expect(sockets.filter((s) => s.closedAt !== undefined).length).toBe(FLOOD - 512 + 1);

    // The deadline cuts every flood connection that is left, counted from its connect.
    await until(() => sockets.every((s) => s.closedAt !== undefined), 'the deadline cut the flood', DEADLINE_MS + 3_000);
    expect(Math.max(...sockets.map((s) => s.closedAt!)) - started).toBeLessThan(DEADLINE_MS + 3_000);
    const answers = new Map<string, number>();
    for (const s of sockets) answers.set(sqlstate(s) ?? 'none', (answers.get(sqlstate(s) ?? 'none') ?? 0) + 1);
    expect(answers.get('08006')).toBe(511); // at the deadline ("authentication timed out")
    expect(answers.get('53300')).toBe(FLOOD - 511); // refused over the total, or closed to make room
    await until(() => admitted().unauthenticated === 0, 'the gateway released every flood connection');

    // Right after, a client connects at once, and the old session still works.
    expect(await legitimateQuery('after-flood')).toBeLessThan(2_000);
    expect((await open.query("SELECT 'open-during-flood' AS marker, 2 AS again")).rows[0].again).toBe(2);
    await open.end();
    await closeAll(sockets);
  }, 30_000);
});

describe('the evidence', () => {
  let report: VerificationReport;
  const events = new Map<string, EvidenceEvent[]>();

  beforeAll(async () => {
    await until(() => admitted().authenticated === 0, 'every session ended');
    await f.gateway.stop();
    const exported = await exportAndVerify(f, 'flood.vigil');
    report = exported.report;
    for (const [id, evs] of exported.sessions) events.set(id, evs);
  }, 60_000);

  it('verifies completely with the auditor key', () => {
    expect(report.checks.filter((c) => c.status !== 'pass')).toEqual([]);
    expect(report.ok).toBe(true);
  });

  it('holds exactly the legitimate sessions, each complete with its identity and its query; the flood left none', () => {
    expect(legitimate).toEqual(['one-address', 'one-address-partial', 'open-during-flood', 'new-during-flood', 'after-flood']);
    expect(report.sessions).toHaveLength(legitimate.length);
    expect(report.sessions.map((s) => s.status)).toEqual(legitimate.map(() => 'complete'));
    const markers = [...events.values()].map((evs) => {
      expect(evs.filter((e) => e.type === 'identity.verified')).toHaveLength(1);
      expect(evs.some((e) => e.type === 'identity.rejected' || e.type === 'error')).toBe(false);
      expect(evs.at(-1)?.type).toBe('session.close');
      const texts = evs.filter((e) => e.type === 'command').map((e) => String(e.text));
      return /'([a-z-]+)' AS marker/.exec(texts[0] ?? '')?.[1];
    });
    expect(markers.sort()).toEqual([...legitimate].sort());
  });
});
