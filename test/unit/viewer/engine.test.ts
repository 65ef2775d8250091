/**
 * The viewer's engine (what its Web Worker runs), in Node over a real demo bundle: it must report exactly
 * what `vigil verify`'s code reports, build the session digests the UI shows, and keep decrypted content
 * in memory only.
 */
import { openAsBlob, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { memorySource } from '../../../shared/evidence/byte-source.ts';
import { parseAuditorSecretKey } from '../../../shared/evidence/auditor-key.ts';
import { parseTrustFile } from '../../../shared/evidence/trust.ts';
import { verifyBundle } from '../../../shared/evidence/verify/verify-bundle.ts';
import { writeDemoEvidence, type DemoEvidence } from '../../../appliance/demo/evidence-demo.ts';
import { KeyChain } from '../../../shared/evidence/key-chain.ts';
import { runArchiveJob } from '../../../viewer/src/worker/archive-job.ts';
import { BundleEngine, blobSource, cachedSource, type PoolFactory } from '../../../viewer/src/worker/engine.ts';
import { FAST_KDF, tempDir } from '../../helpers/evidence.ts';

let demo: DemoEvidence;
let trustText: string;
let bundle: Uint8Array;

beforeAll(async () => {
  demo = await writeDemoEvidence(join(tempDir(), 'demo'), { kdf: FAST_KDF });
  trustText = readFileSync(demo.trust, 'utf8');
  bundle = new Uint8Array(readFileSync(demo.bundle));
});

const strip = <T extends { verifiedAt: string }>(r: T) => ({ ...r, verifiedAt: '' });

describe('BundleEngine', () => {
  it('reports exactly what the shared verifier (vigil verify) reports, with and without the key', async () => {
    const e = new BundleEngine(blobSource(await openAsBlob(demo.bundle)), trustText);
    const trust = parseTrustFile(trustText);
    const without = await e.verify();
    expect(strip(without.report)).toEqual(strip(await verifyBundle(memorySource(bundle), trust)));
    expect(without.digests).toEqual([]);
    await e.unlock({ text: readFileSync(demo.auditorKey, 'utf8') });
    const auditor = parseAuditorSecretKey(readFileSync(demo.auditorKey, 'utf8')).unlock();
    const withKey = await e.verify();
    expect(strip(withKey.report)).toEqual(strip(await verifyBundle(memorySource(bundle), trust, { auditor })));
    expect(withKey.report.ok).toBe(true);
    expect(withKey.report.sessions.map((s) => s.status)).toEqual(['complete', 'complete', 'complete', 'complete', 'interrupted']);
  });

  it('builds digests: commands, decisions, masking, approvals, terminal size', async () => {
    const e = new BundleEngine(memorySource(bundle), trustText);
    await e.unlock({ text: readFileSync(demo.auditorKey, 'utf8') });
    const { digests, report } = await e.verify();
    const by = new Map(digests.map((d) => [report.sessions.find((s) => s.sessionId === d.sessionId)!.seq, d]));
    expect(by.get(1)!.masked).toBe(6);
    expect(by.get(1)!.commands[0]).toMatchObject({ kind: 'sql', decision: 'allow', tag: 'SELECT 3', rowCount: 3, masked: 6 });
    expect(by.get(2)!.blocks).toBe(1);
    expect(by.get(2)!.commands.map((c) => c.decision)).toEqual(['block', 'allow']);
    expect(by.get(2)!.commands[0]!.errors[0]!.message).toMatch(/blocked by Vigil policy/);
    const [a] = by.get(3)!.approvals;
    expect(a).toMatchObject({
      requestId: 'apr_7Q2M9Xdemo01',
      seq: 3,
      requester: 'spiffe://acme.internal/ns/billing/sa/refund-worker',
      target: 'payments-db',
      justification: 'CHG-4411 customer request',
      outcome: 'approved',
      executed: true,
      hashCheck: 'match', // the approved decision carries the request's command hash
    });
    expect(a!.approvers).toEqual([expect.objectContaining({ subject: 'alice@acme.example', decision: 'approved', reason: 'matches CHG-4411', address: '10.1.0.22' })]);
    expect(a!.commandText).toMatch(/^UPDATE accounts SET status = 'closed'/);
    expect(by.get(4)).toMatchObject({ terminal: true, pty: { cols: 100, rows: 30, term: 'xterm-256color' }, blocks: 1, masked: 2 });
    expect(by.get(5)!.commands).toHaveLength(1);
  });

  it('gives a session\'s events from memory, or by decrypting its archive again, identically', async () => {
    const cached = new BundleEngine(memorySource(bundle), trustText);
    const uncached = new BundleEngine(memorySource(bundle), trustText, { cacheBytes: 0 });
    for (const e of [cached, uncached]) await e.unlock({ text: readFileSync(demo.auditorKey, 'utf8') });
    const { report } = await cached.verify();
    await uncached.verify();
    for (const s of report.sessions) {
      const a = await cached.sessionEvents(s.sessionId);
      const b = await uncached.sessionEvents(s.sessionId);
      expect(b.events).toEqual(a.events);
      expect(a.events.length).toBeGreaterThan(0);
    }
    cached.lock();
    await expect(cached.sessionEvents(report.sessions[0]!.sessionId)).rejects.toThrow(/auditor key/);
  });

  it('asks for the passphrase of a protected key and refuses a wrong one', async () => {
    const e = new BundleEngine(memorySource(bundle), trustText);
    const text = readFileSync(demo.protectedKey, 'utf8');
    await expect(e.unlock({ text })).rejects.toMatchObject({ code: 'E_PASSPHRASE' });
    await expect(e.unlock({ text, passphrase: 'wrong horse' })).rejects.toMatchObject({ code: 'E_PASSPHRASE' });
    expect(e.withKey).toBe(false);
    await e.unlock({ text, passphrase: demo.passphrase });
    expect((await e.verify()).report.checks.find((c) => c.id === 'decryption')!.status).toBe('pass');
  });

  it('refuses a trust file or key that is not one, with a clear message', async () => {
    expect(() => new BundleEngine(memorySource(bundle), '{"format":"nope"}')).toThrow(/trust file: invalid/);
    const e = new BundleEngine(memorySource(bundle), trustText);
    await expect(e.unlock({ text: readFileSync(join(demo.dir, 'auditor.pub'), 'utf8') })).rejects.toThrow(/auditor key: invalid/);
  });

  it('reports an unreadable bundle as fatal, not as a crash', async () => {
    const e = new BundleEngine(memorySource(new Uint8Array(2048).fill(7)), trustText);
    const { report } = await e.verify();
    expect(report.ok).toBe(false);
    expect(report.fatal).toMatch(/not a valid Vigil bundle/);
  });
});

describe('WebCrypto frame digests (the viewer\'s option on the shared verifier)', () => {
  it('give the same report as the backend\'s SHA-256, on an intact and on a damaged bundle', async () => {
    const trust = parseTrustFile(trustText);
    const auditor = parseAuditorSecretKey(readFileSync(demo.auditorKey, 'utf8')).unlock();
    const damaged = bundle.slice();
    const members = (await import('../../helpers/evidence.ts')).members;
    const archive = (await members(bundle)).find((m) => m.name.startsWith('archives/'))!;
    damaged[archive.offset + archive.size - 400]! ^= 1; // inside the last frame or the trailer
    for (const b of [bundle, damaged]) {
      const plain = await verifyBundle(memorySource(b), trust, { auditor });
      const web = await verifyBundle(memorySource(b), trust, { auditor, webCryptoDigests: true });
      expect(strip(web)).toEqual(strip(plain));
    }
    expect((await verifyBundle(memorySource(damaged), trust, { webCryptoDigests: true })).ok).toBe(false);
  });
});

describe('archive pool (how the Web Worker verifies archives in parallel)', () => {
  /** The worker pool's logic without Workers: runArchiveJob in this thread, completing out of order. */
  const inProcessPool = (bytes: Uint8Array): PoolFactory => (ctx) => {
    const keys = new KeyChain(parseTrustFile(ctx.trustText), ctx.rotations);
    let n = 0;
    return {
      concurrency: 3,
      async verify(job, progress) {
        await new Promise((r) => setTimeout(r, (n++ % 3) * 5)); // later jobs may finish first
        const out = await runArchiveJob(memorySource(bytes), job, keys, ctx.auditor, ctx.keepBytes, progress);
        ctx.onArchive(job.sessionId, out.digest, out.events, out.eventBytes);
        return out.verification;
      },
      close() {},
    };
  };

  it('gives the same report, digests and events as verifying in one thread', async () => {
    const one = new BundleEngine(memorySource(bundle), trustText);
    const pooled = new BundleEngine(memorySource(bundle), trustText, { makePool: inProcessPool(bundle) });
    for (const e of [one, pooled]) await e.unlock({ text: readFileSync(demo.auditorKey, 'utf8') });
    const a = await one.verify();
    const b = await pooled.verify();
    expect(strip(b.report)).toEqual(strip(a.report));
    expect(b.digests).toEqual(a.digests);
    for (const s of a.report.sessions) expect((await pooled.sessionEvents(s.sessionId)).events).toEqual((await one.sessionEvents(s.sessionId)).events);
  });

  it('reports a damaged archive the same way', async () => {
    const damaged = bundle.slice();
    const { members } = await import('../../helpers/evidence.ts');
    const m = (await members(bundle)).filter((x) => x.name.startsWith('archives/'))[1]!;
    damaged[m.offset + 200]! ^= 4;
    const one = await new BundleEngine(memorySource(damaged), trustText).verify();
    const pooled = await new BundleEngine(memorySource(damaged), trustText, { makePool: inProcessPool(damaged) }).verify();
    expect(pooled.report.ok).toBe(false);
    expect(strip(pooled.report)).toEqual(strip(one.report));
  });
});

describe('cachedSource', () => {
  it('returns exactly the bytes asked for, across block boundaries, small and large', async () => {
    const bytes = new Uint8Array(3 * 1024 * 1024 + 777).map((_, i) => (i * 31 + (i >> 11)) & 255);
    let reads = 0;
    const src = cachedSource({ size: bytes.length, read: async (o, n) => (reads++, bytes.slice(o, o + n)) });
    for (const [o, n] of [[0, 512], [512, 512], [1048570, 20], [2 * 1048576 - 3, 70_000], [bytes.length - 10, 10], [5, 0], [100, 2_000_000], [3 * 1048576, 777]] as const) {
      expect(await src.read(o, n), `${o}+${n}`).toEqual(bytes.subarray(o, o + n));
    }
    const before = reads;
    for (let o = 0; o < 1024 * 1024; o += 512) await src.read(o, 512); // tar-header-sized reads: one block read, not 2048
    expect(reads - before).toBeLessThanOrEqual(1);
  });
});
