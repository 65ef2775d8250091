/**
 * The committed test vectors are exactly what scripts/make-test-vectors.ts writes (so they follow the
 * code: regenerate after a format change), Vigil's own verifier accepts them with the outcomes
 * vectors.json states, and changing one byte of them makes it fail.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromHex, toBase64 } from '../../../shared/bytes.ts';
import { parseAuditorSecretKey } from '../../../shared/evidence/auditor-key.ts';
import { memorySource } from '../../../shared/evidence/byte-source.ts';
import { KeyChain } from '../../../shared/evidence/key-chain.ts';
import { fingerprint } from '../../../shared/evidence/key-id.ts';
import { parseTrustFile, type TrustFile } from '../../../shared/evidence/trust.ts';
import { verifyArchive } from '../../../shared/evidence/verify/verify-archive.ts';
import { verifyBundle } from '../../../shared/evidence/verify/verify-bundle.ts';
import { makeTestVectors, VECTOR_FILES } from '../../../scripts/make-test-vectors.ts';

const dir = join(import.meta.dirname, '..', '..', '..', 'docs', 'test-vectors');
const v = JSON.parse(readFileSync(join(dir, 'vectors.json'), 'utf8'));
const file = (name: string) => new Uint8Array(readFileSync(join(dir, name)));
const auditor = parseAuditorSecretKey(readFileSync(join(dir, v.auditor.secretFile), 'utf8')).unlock(v.auditor.passphrase);
const trust = parseTrustFile(readFileSync(join(dir, v.bundle.trustFile), 'utf8'));
const flip = (b: Uint8Array, at: number) => {
  const c = b.slice();
  c[at]! ^= 0x01;
  return c;
};

describe('the committed vectors are what the script writes', () => {
  let out: string;
  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'vigil-vectors-check-'));
    await makeTestVectors(out);
  }, 120_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('byte for byte, and nothing else is in docs/test-vectors', () => {
    expect(readdirSync(dir).sort()).toEqual([...VECTOR_FILES].sort());
    expect(readdirSync(out).sort()).toEqual([...VECTOR_FILES].sort());
    for (const name of VECTOR_FILES) {
      const made = readFileSync(join(out, name));
      // A failure here means the code's output changed: run `node bin/run-ts.mjs scripts/make-test-vectors.ts`.
      expect(made.equals(readFileSync(join(dir, name))), `${name} differs from what the script writes now`).toBe(true);
    }
  });
});

describe('Vigil\'s verifier accepts the archives and rejects any one-byte change', () => {
  const tinyKeys = (): KeyChain => {
    const pk = fromHex(v.keys.applianceSigningPublicKey);
    const t: TrustFile = {
      format: 'vigil-trust',
      version: 1,
      applianceId: '00000000-0000-4000-8000-0000000000aa',
      createdAt: '2026-01-01T00:00:00.000Z',
      keys: [{ keyId: v.keys.applianceKeyId, algorithm: 'ed25519', publicKey: toBase64(pk), fingerprint: fingerprint(pk), validFrom: '2026-01-01T00:00:00.000Z', validUntil: null }],
      checkpoint: v.log.checkpoint,
    };
    return new KeyChain(t, []);
  };
  const bundleKeys = () => new KeyChain(trust, [v.keyRotation.rotation]);

  it('tiny.vsa: complete, with every event', async () => {
    const r = await verifyArchive(memorySource(file('tiny.vsa')), { keys: tinyKeys(), auditor });
    expect(r.failures).toEqual([]);
    expect([r.status, r.frames, r.events, r.manifestDigest]).toEqual(['complete', 2, v.archive.events.length, v.archive.manifestDigest]);
  });

  it('interrupted.vsa: interrupted (not a failure), signed by the rotated-in key', async () => {
    const r = await verifyArchive(memorySource(file('interrupted.vsa')), { keys: bundleKeys(), auditor });
    expect(r.failures).toEqual([]);
    expect([r.status, r.frames, r.events, r.manifestDigest]).toEqual(['interrupted', 1, v.interruptedArchive.events.length, v.interruptedArchive.manifestDigest]);
  });

  it('the key chain follows the rotation as vectors.json says', () => {
    const keys = bundleKeys();
    expect(keys.problems).toEqual([]);
    expect(keys.list().map((k) => ({ keyId: k.keyId, validFrom: k.validFrom, validUntil: k.validUntil, source: k.source === 'pinned' ? 'pinned' : `announced by ${k.source.rotatedFrom}` }))).toEqual(
      v.keyRotation.windowsAfterRotation,
    );
    expect(keys.resolve(v.keyRotation.keys[0].keyId, v.keyRotation.at).ok).toBe(false);
    expect(keys.resolve(v.keyRotation.keys[1].keyId, v.keyRotation.at).ok).toBe(true);
  });

  for (const name of ['tiny.vsa', 'interrupted.vsa']) {
    it(`${name}: flipping any one of its bytes fails verification`, async () => {
      const bytes = file(name);
      const keys = name === 'tiny.vsa' ? tinyKeys() : bundleKeys();
      const passed: number[] = [];
      for (let at = 0; at < bytes.length; at++) {
        const r = await verifyArchive(memorySource(flip(bytes, at)), { keys, auditor });
        if (r.failures.length === 0) passed.push(at);
      }
      expect(passed).toEqual([]);
    });
  }
});

describe('Vigil\'s verifier on the whole bundle', () => {
  const bundle = file(v.bundle.file);
  const now = () => new Date('2026-01-03T00:00:00.000Z');

  it('with the auditor key: what vectors.json expects', async () => {
    const r = await verifyBundle(memorySource(bundle), trust, { auditor, now });
    const want = v.bundle.expected.withKey;
    expect(r.fatal).toBeUndefined();
    expect(r.verdict.status).toBe(want.verdict);
    expect(Object.fromEntries(r.checks.map((c) => [c.id, [c.status, c.covered, c.total]]))).toEqual(want.checks);
    expect(r.sessions.map((s) => ({ seq: s.seq, status: s.status }))).toEqual(want.sessions);
    expect(r.approvals!.map((a) => ({ requestId: a.requestId, outcome: a.outcome, ran: a.ran, hashMatches: a.hashMatches }))).toEqual(want.approvals);
  });

  it('without it: integrity only, the content checks skipped', async () => {
    const r = await verifyBundle(memorySource(bundle), trust, { now });
    expect(r.verdict.status).toBe(v.bundle.expected.withoutKey.verdict);
    expect(r.checks.filter((c) => c.status === 'skipped').map((c) => c.id)).toEqual(v.bundle.expected.withoutKey.skipped);
    expect(r.checks.filter((c) => c.status !== 'skipped').every((c) => c.status === 'pass')).toBe(true);
  });

  it('a one-byte change anywhere it matters fails it', async () => {
    // Every byte of the first tar header, one byte in each 64-byte run of every member's content, and every
    // 29th byte of the whole file (headers, padding, end blocks). Not flipped: byte 155 of a tar header, the
    // checksum field's terminator after its NUL, which no tar reader reads (§7.1: the container is not signed).
    const unread = new Set(v.bundle.members.map((m: { headerOffset: number }) => m.headerOffset + 155));
    const positions = new Set<number>();
    for (let at = 0; at < 512; at++) positions.add(at);
    for (const m of v.bundle.members) for (let at = m.offset; at < m.offset + m.size; at += 64) positions.add(at + ((at * 31) % Math.min(64, m.offset + m.size - at)));
    for (let at = 0; at < bundle.length; at += 29) positions.add(at);
    const passed: number[] = [];
    for (const at of [...positions].filter((p) => !unread.has(p)).sort((a, b) => a - b)) {
      const r = await verifyBundle(memorySource(flip(bundle, at)), trust, { auditor, now });
      if (r.verdict.status !== 'fail') passed.push(at);
    }
    expect(passed).toEqual([]);
  }, 300_000);
});
