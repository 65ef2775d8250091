/**
 * The format spec's test vectors, part 1 (keys, archives, command hashes), re-derived from
 * docs/evidence-format.md alone: test/helpers/spec-reader.ts uses libsodium and Node's hashes, nothing of
 * Vigil's, so this is what an auditor's engineer would write. (Part 2: test-vectors-log.test.ts; that
 * Vigil's own verifier agrees and that the files are what the script makes: test-vectors-regenerate.test.ts.)
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sodium from 'libsodium-wrappers-sumo';
import { describe, expect, it } from 'vitest';
import { b64, chain, dec, decrypt, enc, frameAd, headerDigest, hex, keyIdOf, records, sha, signedBy, unhex } from '../../helpers/spec-reader.ts';

await sodium.ready;
const dir = join(import.meta.dirname, '..', '..', '..', 'docs', 'test-vectors');
const v = JSON.parse(readFileSync(join(dir, 'vectors.json'), 'utf8'));
const file = (name: string) => new Uint8Array(readFileSync(join(dir, name)));
const auditor = { keyId: v.auditor.keyId, publicKey: unhex(v.auditor.publicKey), secretKey: unhex(v.auditor.secretKey) };

describe('auditor key files (§8.1)', () => {
  const pub = JSON.parse(readFileSync(join(dir, v.auditor.publicFile), 'utf8'));
  const sec = JSON.parse(readFileSync(join(dir, v.auditor.secretFile), 'utf8'));

  it('public and secret files name the same key, and the key id is derived from it', () => {
    expect(pub).toMatchObject({ format: 'vigil-auditor-public-key', version: 1, algorithm: 'x25519', keyId: v.auditor.keyId });
    expect(sec).toMatchObject({ format: 'vigil-auditor-secret-key', version: 1, algorithm: 'x25519', keyId: pub.keyId, publicKey: pub.publicKey, createdAt: pub.createdAt });
    expect(hex(b64(pub.publicKey))).toBe(v.auditor.publicKey);
    expect(hex(sha(b64(pub.publicKey)))).toBe(v.auditor.fingerprint);
    expect(keyIdOf(b64(pub.publicKey))).toBe(pub.keyId);
    expect(sec.secretKey).toBeUndefined();
  });

  it('the passphrase (UTF-8, as typed) and Argon2id13 open the protected secret key', () => {
    const p = sec.protected;
    expect(p).toMatchObject({ kdf: 'argon2id13', opsLimit: 3, memLimit: 64 * 1024 * 1024 });
    expect([b64(p.salt).length, b64(p.nonce).length, b64(p.ciphertext).length]).toEqual([16, 24, 48]);
    expect(hex(enc(v.auditor.passphrase))).toBe(v.auditor.passphraseUtf8);
    const k = sodium.crypto_pwhash(32, enc(v.auditor.passphrase), b64(p.salt), p.opsLimit, p.memLimit, sodium.crypto_pwhash_ALG_ARGON2ID13);
    expect(hex(k)).toBe(v.auditor.derivedKey);
    const secretKey = sodium.crypto_secretbox_open_easy(b64(p.ciphertext), b64(p.nonce), k);
    expect(hex(secretKey)).toBe(v.auditor.secretKey);
    expect(hex(sodium.crypto_scalarmult_base(secretKey))).toBe(v.auditor.publicKey);
    expect(() => sodium.crypto_secretbox_open_easy(b64(p.ciphertext), b64(p.nonce), sodium.crypto_pwhash(32, enc(v.auditor.passphrase.normalize('NFD')), b64(p.salt), p.opsLimit, p.memLimit, sodium.crypto_pwhash_ALG_ARGON2ID13))).toThrow();
  });
});

describe('a complete archive: tiny.vsa (§2–§5)', () => {
  const bytes = file(v.archive.file);
  const recs = records(bytes);

  it('record layout', () => {
    expect(recs.map((r) => r.type)).toEqual(['H', 'F', 'F', 'T']);
    expect(recs.slice(1, 3).map((r) => ({ offset: r.offset, length: r.whole.length }))).toEqual(v.archive.frames.map((f: { offset: number; length: number }) => ({ offset: f.offset, length: f.length })));
    expect(recs[3]!.offset).toBe(v.archive.trailerOffset);
    expect(bytes.length).toBe(v.archive.bytes);
  });

  it('header digest and frame chain (§3)', () => {
    expect(hex(headerDigest(recs[0]!.whole))).toBe(v.archive.headerDigest);
    expect(chain(recs).map(hex)).toEqual(v.archive.frames.map((f: { chainHead: string }) => f.chainHead));
  });

  it('manifest signature, key id and digest (§5)', () => {
    const env = JSON.parse(dec(recs[3]!.body));
    expect(hex(sha(enc(env.signed)))).toBe(v.archive.manifestDigest);
    const pk = unhex(v.keys.applianceSigningPublicKey);
    expect(signedBy(env, 'vigil.archive-manifest.v1', pk)).toBe(true);
    expect(signedBy(env, 'vigil.checkpoint.v1', pk)).toBe(false);
    expect(hex(sodium.crypto_sign_seed_keypair(unhex(v.keys.applianceSigningSeed)).publicKey)).toBe(v.keys.applianceSigningPublicKey);
    expect(env.keyId).toBe(keyIdOf(pk));
    expect(JSON.parse(env.signed)).toMatchObject({ frames: 2, events: 3, chainHead: v.archive.frames[1].chainHead, headerDigest: v.archive.headerDigest, archiveBytes: v.archive.trailerOffset, outcome: 'complete' });
  });

  it('sealed key, associated data, tags and events (§4)', () => {
    const { key, frames } = decrypt(recs, auditor);
    expect(hex(key)).toBe(v.archive.streamKey);
    const digest = headerDigest(recs[0]!.whole);
    v.archive.frames.forEach((f: { ad: string; plaintext: string; tag: string }, i: number) => {
      expect(hex(frameAd(digest, i))).toBe(f.ad);
      expect(f.ad).toBe(v.archive.headerDigest + i.toString(16).padStart(16, '0'));
      expect(hex(frames[i]!.plaintext)).toBe(f.plaintext);
    });
    expect(frames.map((f) => f.tag)).toEqual([sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE, sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL]);
    expect(frames.flatMap((f) => f.events)).toEqual(v.archive.events);
  });

  it('the log vector: leaves, root and checkpoint (§6)', () => {
    const leaves = v.log.entries.map((e: string) => sha(new Uint8Array([0]), enc(e)));
    expect(leaves.map(hex)).toEqual(v.log.leafHashes);
    const node = (l: Uint8Array, r: Uint8Array) => sha(new Uint8Array([1]), l, r);
    expect(hex(node(node(leaves[0], leaves[1]), leaves[2]))).toBe(v.log.root);
    expect(JSON.parse(v.log.checkpoint.signed)).toMatchObject({ format: 'vigil-checkpoint', size: 3, root: v.log.root, keyId: v.keys.applianceKeyId });
    expect(signedBy(v.log.checkpoint, 'vigil.checkpoint.v1', unhex(v.keys.applianceSigningPublicKey))).toBe(true);
  });
});

describe('an interrupted archive: interrupted.vsa (§5.1)', () => {
  const bytes = file(v.interruptedArchive.file);
  const recs = records(bytes);
  const x = v.interruptedArchive;
  const keyB = v.keyRotation.keys[1];

  it('keeps the durable frame, lost the torn record, and ends with a trailer', () => {
    expect(recs.map((r) => r.type)).toEqual(['H', 'F', 'T']);
    expect(bytes.length).toBe(x.bytes);
    expect(chain(recs).map(hex)).toEqual(x.frames.map((f: { chainHead: string }) => f.chainHead));
    expect(JSON.parse(x.logEntries.anchor.text)).toMatchObject({ type: 'session.anchor', frames: 1, chainHead: x.frames[0].chainHead });
  });

  it('its manifest says interrupted, counts no events, and is signed by the key current at recovery', () => {
    const env = JSON.parse(dec(recs[2]!.body));
    expect(env).toEqual(x.trailer);
    const m = JSON.parse(env.signed);
    expect(m).toMatchObject({ outcome: 'interrupted', frames: 1, headerDigest: x.headerDigest, chainHead: x.frames[0].chainHead, archiveBytes: x.trailerOffset, stats: {} });
    expect(m.events).toBeUndefined();
    expect(m.sealedAt >= v.keyRotation.at && m.endedAt <= m.sealedAt).toBe(true);
    expect(env.keyId).toBe(keyB.keyId);
    expect(signedBy(env, 'vigil.archive-manifest.v1', unhex(keyB.publicKey))).toBe(true);
    expect(JSON.parse(x.logEntries.interrupted.text)).toMatchObject({ type: 'session.interrupted', outcome: 'interrupted', frames: 1, manifestDigest: hex(sha(enc(env.signed))) });
  });

  it('decrypts; its last frame is TAG_MESSAGE and holds whole events', () => {
    const { frames } = decrypt(recs, auditor);
    expect(frames.map((f) => f.tag)).toEqual([sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE]);
    expect(frames.flatMap((f) => f.events)).toEqual(x.events);
    expect(x.events.map((e: { seq: number }) => e.seq)).toEqual(x.events.map((_: unknown, i: number) => i));
    expect(x.events.some((e: { type: string }) => e.type === 'session.close')).toBe(false);
  });
});

describe('approval command hashes (§4.2)', () => {
  it('HMAC-SHA-256 of the session id, a zero byte and the exact command bytes', () => {
    for (const c of v.commandHash.cases) {
      const exact = unhex(c.exactBytes);
      const mac = createHmac('sha256', unhex(v.commandHash.key)).update(enc(c.sessionId)).update(new Uint8Array([0])).update(exact).digest('hex');
      expect(mac).toBe(c.commandHash);
    }
  });

  it('the exact bytes have the documented PostgreSQL layout', () => {
    const parsed = v.commandHash.cases.map((c: { exactBytes: string }) => {
      const b = unhex(c.exactBytes);
      const dv = new DataView(b.buffer, b.byteOffset);
      expect(dec(b.subarray(0, 20))).toBe('vigil-pg-command-v1\0');
      const kind = String.fromCharCode(b[20]!);
      const len = dv.getUint32(21);
      const sql = dec(b.subarray(25, 25 + len));
      let o = 25 + len;
      const count = dv.getUint16(o);
      o += 2;
      const params: { format: number; value: string | null }[] = [];
      for (let i = 0; i < count; i++) {
        const format = dv.getUint16(o);
        const n = dv.getInt32(o + 2);
        o += 6;
        params.push({ format, value: n < 0 ? null : hex(b.subarray(o, o + n)) });
        o += Math.max(n, 0);
      }
      expect(o).toBe(b.length);
      return { kind, sql, params };
    });
    expect(parsed[0]).toEqual({ kind: 'Q', sql: "UPDATE accounts SET status = 'closed' WHERE id = 7 -- vigil:justification=CHG-4411", params: [] });
    expect(parsed[1]).toEqual({
      kind: 'E',
      sql: 'UPDATE accounts SET limit_cents = $1 WHERE id = $2',
      params: [
        { format: 0, value: hex(enc('500000')) },
        { format: 0, value: null },
        { format: 1, value: '00000007' },
      ],
    });
  });
});
