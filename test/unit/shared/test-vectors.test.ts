/**
 * The format spec's test vectors, re-derived from docs/evidence-format.md alone: this test uses libsodium
 * and Node's SHA-256 directly, not Vigil's reader, so it is what an auditor's engineer would write.
 * Then Vigil's own verifier must agree.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sodium from 'libsodium-wrappers-sumo';
import { describe, expect, it } from 'vitest';
import { memorySource } from '../../../shared/evidence/byte-source.ts';
import { KeyChain } from '../../../shared/evidence/key-chain.ts';
import { verifyArchive } from '../../../shared/evidence/verify/verify-archive.ts';
import { fingerprint } from '../../../shared/evidence/key-id.ts';

await sodium.ready;
const dir = join(import.meta.dirname, '..', '..', '..', 'docs', 'test-vectors');
const v = JSON.parse(readFileSync(join(dir, 'vectors.json'), 'utf8'));
const bytes = new Uint8Array(readFileSync(join(dir, v.archive.file)));
const sha = (...parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const u32 = (o: number) => new DataView(bytes.buffer, bytes.byteOffset).getUint32(o);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe('evidence-format test vectors (independent implementation of the spec)', () => {
  // §2: magic, then records: type byte, u32 big-endian length, body.
  expect(hex(bytes.subarray(0, 8))).toBe('895649470d0a1a0a');
  const records: { type: string; offset: number; body: Uint8Array; whole: Uint8Array }[] = [];
  for (let o = 8; o < bytes.length; ) {
    const len = u32(o + 1);
    records.push({ type: String.fromCharCode(bytes[o]!), offset: o, body: bytes.subarray(o + 5, o + 5 + len), whole: bytes.subarray(o, o + 5 + len) });
    o += 5 + len;
  }

  it('record layout', () => {
    expect(records.map((r) => r.type)).toEqual(['H', 'F', 'F', 'T']);
    expect(records.slice(1, 3).map((r) => ({ offset: r.offset, length: r.whole.length }))).toEqual(v.archive.frames.map((f: { offset: number; length: number }) => ({ offset: f.offset, length: f.length })));
    expect(records[3]!.offset).toBe(v.archive.trailerOffset);
  });

  it('header digest and frame chain (§3)', () => {
    const headerDigest = sha(new TextEncoder().encode('vigil.archive-header.v1\n'), records[0]!.whole);
    expect(hex(headerDigest)).toBe(v.archive.headerDigest);
    let chain = headerDigest;
    records.slice(1, 3).forEach((r, i) => {
      chain = sha(chain, sha(r.whole));
      expect(hex(chain)).toBe(v.archive.frames[i].chainHead);
    });
  });

  it('manifest signature and digest (§5)', () => {
    const env = JSON.parse(text(records[3]!.body));
    expect(hex(sha(new TextEncoder().encode(env.signed)))).toBe(v.archive.manifestDigest);
    const message = new TextEncoder().encode(`vigil.archive-manifest.v1\n${env.signed}`);
    const pk = Buffer.from(v.keys.applianceSigningPublicKey, 'hex');
    expect(sodium.crypto_sign_verify_detached(Buffer.from(env.sig, 'base64'), message, pk)).toBe(true);
    expect(env.keyId).toBe(hex(sha(pk)).slice(0, 16));
    const m = JSON.parse(env.signed);
    expect(m).toMatchObject({ frames: 2, events: 3, chainHead: v.archive.frames[1].chainHead, headerDigest: v.archive.headerDigest, archiveBytes: v.archive.trailerOffset, outcome: 'complete' });
  });

  it('decryption with the auditor key, associated data and TAG_FINAL (§4)', () => {
    const header = JSON.parse(text(records[0]!.body));
    const recipient = header.recipients.find((r: { keyId: string }) => r.keyId === v.keys.auditorKeyId);
    const key = sodium.crypto_box_seal_open(Buffer.from(recipient.sealedKey, 'base64'), Buffer.from(v.keys.auditorPublicKey, 'hex'), Buffer.from(v.keys.auditorSecretKey, 'hex'));
    const state = sodium.crypto_secretstream_xchacha20poly1305_init_pull(Buffer.from(header.stream.header, 'base64'), key);
    const headerDigest = Buffer.from(v.archive.headerDigest, 'hex');
    const events: unknown[] = [];
    const tags: number[] = [];
    records.slice(1, 3).forEach((r, i) => {
      const ad = new Uint8Array(40);
      ad.set(headerDigest);
      new DataView(ad.buffer).setBigUint64(32, BigInt(i));
      const res = sodium.crypto_secretstream_xchacha20poly1305_pull(state, r.body, ad);
      if (!res) throw new Error(`frame ${i} did not authenticate`);
      tags.push(res.tag);
      // §4.2: u32 json length, u32 data length, JSON, data.
      const p = res.message;
      for (let o = 0; o < p.length; ) {
        const dv = new DataView(p.buffer, p.byteOffset);
        const jl = dv.getUint32(o);
        const dl = dv.getUint32(o + 4);
        const ev = JSON.parse(text(p.subarray(o + 8, o + 8 + jl)));
        if (dl) ev.data = Buffer.from(p.subarray(o + 8 + jl, o + 8 + jl + dl)).toString('base64');
        events.push(ev);
        o += 8 + jl + dl;
      }
    });
    expect(tags).toEqual([sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE, sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL]);
    expect(events).toEqual(v.archive.events);
  });

  it('log leaves, root and checkpoint (§6)', () => {
    const leaves = v.log.entries.map((e: string) => sha(new Uint8Array([0]), new TextEncoder().encode(e)));
    expect(leaves.map(hex)).toEqual(v.log.leafHashes);
    const node = (l: Uint8Array, r: Uint8Array) => sha(new Uint8Array([1]), l, r);
    expect(hex(node(node(leaves[0], leaves[1]), leaves[2]))).toBe(v.log.root);
    const cp = v.log.checkpoint;
    expect(JSON.parse(cp.signed)).toMatchObject({ format: 'vigil-checkpoint', size: 3, root: v.log.root });
    expect(sodium.crypto_sign_verify_detached(Buffer.from(cp.sig, 'base64'), new TextEncoder().encode(`vigil.checkpoint.v1\n${cp.signed}`), Buffer.from(v.keys.applianceSigningPublicKey, 'hex'))).toBe(true);
  });

  it('Vigil\'s verifier agrees', async () => {
    const pk = Buffer.from(v.keys.applianceSigningPublicKey, 'hex');
    const trust = {
      format: 'vigil-trust' as const,
      version: 1 as const,
      applianceId: 'x',
      createdAt: '2026-01-01T00:00:00.000Z',
      keys: [{ keyId: v.keys.applianceKeyId, algorithm: 'ed25519' as const, publicKey: pk.toString('base64'), fingerprint: fingerprint(pk), validFrom: '2026-01-01T00:00:00.000Z', validUntil: null }],
      checkpoint: v.log.checkpoint,
    };
    const auditor = { keyId: v.keys.auditorKeyId, publicKey: Buffer.from(v.keys.auditorPublicKey, 'hex'), secretKey: Buffer.from(v.keys.auditorSecretKey, 'hex') };
    const r = await verifyArchive(memorySource(bytes), { keys: new KeyChain(trust, []), auditor });
    expect(r.failures).toEqual([]);
    expect([r.status, r.frames, r.events, r.manifestDigest]).toEqual(['complete', 2, 3, v.archive.manifestDigest]);
  });
});
