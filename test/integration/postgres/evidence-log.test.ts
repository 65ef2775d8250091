/**
 * What the signed transparency log says about real gateway sessions, and exports taken while the gateway
 * runs: the log names who connected to which target (`session.identified`), every export is logged
 * (`evidence.exported`) and its checkpoint marked, so a bundle's checkpoint an auditor pinned is provable
 * from every later bundle — by a consistency proof, also when the later bundle's window starts after it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvidenceEvent } from '../../../shared/evidence/events.ts';
import { memorySource } from '../../../shared/evidence/byte-source.ts';
import { parseTrustFile, type TrustFile } from '../../../shared/evidence/trust.ts';
import type { VerificationReport } from '../../../shared/evidence/verify/report.ts';
import { verifyBundle } from '../../../shared/evidence/verify/verify-bundle.ts';
import { vigilAsync } from '../../helpers/cli.ts';
import { failures, memberBytes } from '../../helpers/evidence.ts';
import { startGatewayFixture, type GatewayFixture } from '../../helpers/gateway.ts';

let f: GatewayFixture;

beforeAll(async () => {
  f = await startGatewayFixture();
}, 180_000);

afterAll(async () => {
  await f?.stop();
});

interface Exported {
  bytes: Uint8Array;
  report: VerificationReport;
  events: Map<string, EvidenceEvent[]>;
  entries: Record<string, unknown>[];
}

/** `vigil export` in its own process while the gateway (this process) holds the appliance directory. */
async function exportWhileRunning(name: string, trust: TrustFile, extra: string[] = []): Promise<Exported> {
  // Closed clients' sessions end (and are logged) a moment later: wait, so the export holds them sealed.
  for (let i = 0; i < 500 && f.gateway.appliance.recorder.liveSessions().length > 0; i++) await new Promise((r) => setTimeout(r, 20));
  const out = join(f.dir, name);
  const r = await vigilAsync(['export', '--config', f.configPath, '--out', out, ...extra]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const bytes = new Uint8Array(readFileSync(out));
  const events = new Map<string, EvidenceEvent[]>();
  const report = await verifyBundle(memorySource(bytes), trust, { auditor: f.auditor, onEvents: (id, evs) => events.set(id, [...(events.get(id) ?? []), ...evs]) });
  const lines = new TextDecoder().decode(await memberBytes(bytes, 'log/entries.jsonl')).split('\n').filter(Boolean);
  return { bytes, report, events, entries: lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

/** The trust file an auditor keeps after a bundle verified: same keys, the bundle's checkpoint pinned. */
async function pin(trust: TrustFile, bundle: Uint8Array): Promise<TrustFile> {
  const checkpoint = JSON.parse(new TextDecoder().decode(await memberBytes(bundle, 'checkpoint.json'))) as unknown;
  return parseTrustFile(JSON.stringify({ ...trust, checkpoint }));
}

const sizeOf = (trust: TrustFile) => (JSON.parse(trust.checkpoint.signed) as { size: number }).size;
const check = (r: VerificationReport, id: string) => r.checks.find((c) => c.id === id)!;

async function session(database: string, sql: string): Promise<void> {
  const c = new pg.Client({ host: '127.0.0.1', port: f.port, user: 'bot', database, password: await f.token(), ssl: { rejectUnauthorized: false } });
  try {
    await c.connect();
    await c.query(sql);
  } catch {
    /* refused sessions are part of the evidence */
  } finally {
    await c.end().catch(() => undefined);
  }
}

describe('the signed log names who connected to what', () => {
  let first: Exported;

  beforeAll(async () => {
    await session('payments', 'SELECT id FROM customers ORDER BY id');
    await session('no-such-target', 'SELECT 1'); // identity proven, target refused by policy
    await f.psql('SELECT 1', { token: await f.token({ audience: 'not-vigil' }) }); // identity refused
    first = await exportWhileRunning('identified.vigil', f.trust);
  });

  it('the bundle exported while the gateway runs verifies completely', () => {
    expect(failures(first.report)).toEqual([]);
    expect(first.report.checks.filter((c) => c.status !== 'pass').map((c) => c.id)).toEqual([]);
    expect(first.report.sessions.map((s) => s.status)).toEqual(['complete', 'complete', 'complete']);
  });

  it('session.identified carries the real subject, issuer, method, target and protocol', () => {
    const identified = first.entries.filter((e) => e.type === 'session.identified');
    expect(identified).toHaveLength(2); // the refused identity has none
    for (const [sessionId, evs] of first.events) {
      const proven = evs.find((e) => e.type === 'identity.verified');
      const logged = identified.filter((e) => e.sessionId === sessionId);
      if (!proven) {
        expect(logged).toEqual([]);
        continue;
      }
      expect(proven.subject).toMatch(/^repo:acme\/payments/);
      const target = evs.find((e) => e.type === 'decision' && e.scope === 'session')!.target;
      expect(logged).toEqual([
        expect.objectContaining({ sessionId, protocol: 'postgres', subject: proven.subject, issuer: 'https://token.actions.githubusercontent.com', method: proven.method, target }),
      ]);
    }
    expect(identified.map((e) => e.target).sort()).toEqual(['no-such-target', 'payments']);
  });

  it('the verifier cross-checked both identified sessions against their archives', () => {
    expect(check(first.report, 'log-inclusion').summary).toMatch(/identity and target of 2 of 2 session\(s\) with a proven identity agree with the signed log/);
  });

  it('the export is itself in the log, inside the checkpoint the bundle carries', () => {
    const bundleId = first.report.bundle!.bundleId;
    const exported = first.entries.filter((e) => e.type === 'evidence.exported');
    expect(exported.at(-1)).toMatchObject({ bundleId, since: null, until: null });
    expect(exported.at(-1)!.i).toBe(first.report.bundle!.checkpoint.size - 1);
  });

  describe('pinning the checkpoint of a bundle exported while running', () => {
    let pinned: TrustFile;
    let since: string;

    beforeAll(async () => {
      pinned = await pin(f.trust, first.bytes);
      await session('payments', 'SELECT 2');
      since = new Date(Date.now() + 5).toISOString();
      await new Promise((r) => setTimeout(r, 20));
      await session('payments', 'SELECT 3');
    });

    it('a later full export proves consistency from the pinned checkpoint with a consistency proof', async () => {
      const next = await exportWhileRunning('later.vigil', pinned);
      expect(failures(next.report)).toEqual([]);
      expect(next.report.ok).toBe(true);
      const proofs = JSON.parse(new TextDecoder().decode(await memberBytes(next.bytes, 'log/consistency.json'))) as { fromSize: number }[];
      expect(proofs.map((p) => p.fromSize)).toContain(sizeOf(pinned));
      expect(check(next.report, 'log-consistency')).toMatchObject({ status: 'pass', covered: 1, total: 1 });
      expect(check(next.report, 'log-consistency').summary).toMatch(new RegExp(`extends the pinned checkpoint ${sizeOf(pinned)} \\(consistency proof`));
    });

    it('so does an export whose window starts after the pinned checkpoint (only the proof can show it)', async () => {
      const windowed = await exportWhileRunning('window.vigil', pinned, ['--since', since]);
      expect(windowed.report.bundle!.log.from).toBeGreaterThan(sizeOf(pinned));
      expect(failures(windowed.report)).toEqual([]);
      expect(windowed.report.ok).toBe(true);
      expect(windowed.report.sessions).toHaveLength(1);
      expect(check(windowed.report, 'log-consistency').summary).toBe(`checkpoint ${windowed.report.bundle!.checkpoint.size} extends the pinned checkpoint ${sizeOf(pinned)} (consistency proof)`);
    });
  });
});

describe('exports beside a busy gateway', () => {
  it('exports taken while sessions open and close break none of them, and every bundle verifies', async () => {
    let stop = false;
    const results: number[] = [];
    const client = async () => {
      while (!stop) results.push((await f.psql('SELECT 1')).code);
    };
    const clients = [client(), client(), client()];
    const bundles: Uint8Array[] = [];
    for (let i = 0; i < 2; i++) {
      const out = join(f.dir, `busy-${i}.vigil`);
      const r = await vigilAsync(['export', '--config', f.configPath, '--out', out]);
      expect(r.code, r.stderr).toBe(0);
      bundles.push(new Uint8Array(readFileSync(out)));
    }
    stop = true;
    await Promise.all(clients);
    expect(results.length).toBeGreaterThan(3);
    expect(results.filter((c) => c !== 0)).toEqual([]);
    for (const b of bundles) {
      const report = await verifyBundle(memorySource(b), f.trust, { auditor: f.auditor });
      expect(failures(report)).toEqual([]);
    }
  });
});
