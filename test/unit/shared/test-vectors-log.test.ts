/**
 * The format spec's test vectors, part 2 (log, key rotation, the whole bundle), re-derived from
 * docs/evidence-format.md alone with test/helpers/spec-reader.ts (libsodium and Node's SHA-256 only).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sodium from 'libsodium-wrappers-sumo';
import { describe, expect, it } from 'vitest';
import {
  dec,
  decrypt,
  enc,
  headerDigest,
  hex,
  keyIdOf,
  leaf,
  mth,
  rebuildRoot,
  records,
  sha,
  signedBy,
  tarMembers,
  unhex,
  verifyConsistency,
} from '../../helpers/spec-reader.ts';

await sodium.ready;
const dir = join(import.meta.dirname, '..', '..', '..', 'docs', 'test-vectors');
const v = JSON.parse(readFileSync(join(dir, 'vectors.json'), 'utf8'));
const auditor = { keyId: v.auditor.keyId, publicKey: unhex(v.auditor.publicKey), secretKey: unhex(v.auditor.secretKey) };
const [keyA, keyB] = v.keyRotation.keys;
const trust = JSON.parse(readFileSync(join(dir, v.bundle.trustFile), 'utf8'));
type Env = { signed: string; keyId: string; sig: string };

describe('the log: leaves, roots and consistency proofs (§6)', () => {
  const c = v.consistency;
  const leaves = c.entries.map((e: string) => leaf(enc(e)));

  it('leaf hashes and the root at every size', () => {
    expect(leaves.map(hex)).toEqual(c.leafHashes);
    c.roots.forEach((root: string, n: number) => expect(hex(mth(leaves.slice(0, n)))).toBe(root));
    expect(c.roots[0]).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('every proof verifies (RFC 9162 §2.1.4.2), and none verifies against another root (from size 0: another old root)', () => {
    expect(c.proofs.map((p: { fromSize: number }) => p.fromSize)).toContain(0);
    for (const p of c.proofs) {
      expect([p.fromRoot, p.toRoot]).toEqual([c.roots[p.fromSize], c.roots[p.toSize]]);
      const proof = p.proof.map(unhex);
      expect(verifyConsistency(p.fromSize, p.toSize, unhex(p.fromRoot), unhex(p.toRoot), proof)).toBe(true);
      // From size 0 nothing is proven about the new root (every tree extends the empty one): only the old root is checked.
      if (p.fromSize > 0) expect(verifyConsistency(p.fromSize, p.toSize, unhex(p.fromRoot), unhex(c.roots[p.toSize - 1]), proof)).toBe(false);
      expect(verifyConsistency(p.fromSize, p.toSize, sha(unhex(p.fromRoot)), unhex(p.toRoot), proof)).toBe(false);
      if (p.fromSize === 0 || p.fromSize === p.toSize) expect(p.proof).toEqual([]);
      if (proof.length) expect(verifyConsistency(p.fromSize, p.toSize, unhex(p.fromRoot), unhex(p.toRoot), [sha(proof[0]!), ...proof.slice(1)])).toBe(false);
    }
  });

  it('entries carry consecutive indexes and times that never decrease', () => {
    const parsed = c.entries.map((e: string) => JSON.parse(e));
    expect(parsed.map((e: { i: number }) => e.i)).toEqual(parsed.map((_: unknown, i: number) => i));
    for (let i = 1; i < parsed.length; i++) expect(parsed[i].t >= parsed[i - 1].t).toBe(true);
    for (const e of c.entries) expect(Object.keys(JSON.parse(e)).slice(0, 3)).toEqual(['i', 't', 'type']);
  });
});

describe('a key rotation (§8)', () => {
  const r = v.keyRotation;
  const st = JSON.parse(r.rotation.signed);

  it('the outgoing key signs the statement announcing its successor', () => {
    for (const k of r.keys) {
      expect(hex(sodium.crypto_sign_seed_keypair(unhex(k.seed)).publicKey)).toBe(k.publicKey);
      expect([keyIdOf(unhex(k.publicKey)), hex(sha(unhex(k.publicKey)))]).toEqual([k.keyId, k.fingerprint]);
    }
    expect(st).toEqual({ format: 'vigil-key-rotation', version: 1, applianceId: trust.applianceId, previousKeyId: keyA.keyId, newKeyId: keyB.keyId, newPublicKey: Buffer.from(unhex(keyB.publicKey)).toString('base64'), at: r.at });
    expect(r.rotation.keyId).toBe(keyA.keyId);
    expect(signedBy(r.rotation, 'vigil.key-rotation.v1', unhex(keyA.publicKey))).toBe(true);
    expect(signedBy(r.rotation, 'vigil.key-rotation.v1', unhex(keyB.publicKey))).toBe(false);
  });

  it('is logged as key.rotated with the same envelope, as an object', () => {
    const e = JSON.parse(r.logEntry.text);
    expect(e).toMatchObject({ i: r.logEntry.index, type: 'key.rotated', previousKeyId: keyA.keyId, newKeyId: keyB.keyId, t: r.at });
    expect(e.rotation).toEqual(r.rotation);
  });

  it('closes the outgoing key\'s window and opens the new one at `at`', () => {
    // §8: the pinned window [validFrom, validUntil) ends at the rotation; the announced key's starts there.
    const pinnedA = trust.keys.find((k: { keyId: string }) => k.keyId === keyA.keyId);
    expect(pinnedA.validUntil === null || pinnedA.validUntil > r.at).toBe(true);
    expect(r.windowsAfterRotation).toEqual([
      { keyId: keyA.keyId, validFrom: pinnedA.validFrom, validUntil: r.at, source: 'pinned' },
      { keyId: keyB.keyId, validFrom: st.at, validUntil: null, source: `announced by ${st.previousKeyId}` },
    ]);
  });
});

describe('a whole bundle: small.vigil with trust.json (§7, §9)', () => {
  const tar = new Uint8Array(readFileSync(join(dir, v.bundle.file)));
  const members = tarMembers(tar);
  const content = (name: string) => {
    const m = members.find((x) => x.name === name)!;
    return tar.subarray(m.offset, m.offset + m.size);
  };
  const json = (name: string) => JSON.parse(dec(content(name)));
  const manifestEnv: Env = json('bundle.json');
  const manifest = JSON.parse(manifestEnv.signed);
  const cpEnv: Env = json('checkpoint.json');
  const cp = JSON.parse(cpEnv.signed);
  const lines = dec(content('log/entries.jsonl')).split('\n');

  it('is a ustar file whose members are the documented ones, in the documented order', () => {
    expect(hex(sha(tar))).toBe(v.bundle.sha256);
    expect(tar.length % 512).toBe(0);
    expect(members.map((m) => ({ ...m, sha256: hex(sha(tar.subarray(m.offset, m.offset + m.size))) }))).toEqual(v.bundle.members);
    expect(members.map((m) => m.name)).toEqual(['bundle.json', 'checkpoint.json', 'keys/rotations.json', 'log/prefix.json', 'log/consistency.json', 'log/entries.jsonl', ...manifest.archives.map((a: { file: string }) => a.file)]);
  });

  it('trust file → key chain: A pinned, B announced by A; every statement signed by the key valid at its time', () => {
    expect(trust.keys).toEqual([{ keyId: keyA.keyId, algorithm: 'ed25519', publicKey: Buffer.from(unhex(keyA.publicKey)).toString('base64'), fingerprint: keyA.fingerprint, validFrom: keyA.createdAt, validUntil: null }]);
    expect(signedBy(trust.checkpoint, 'vigil.checkpoint.v1', unhex(keyA.publicKey))).toBe(true);
    expect(json('keys/rotations.json')).toEqual([v.keyRotation.rotation]);
    for (const [env, label, time] of [
      [manifestEnv, 'vigil.bundle-manifest.v1', manifest.createdAt],
      [cpEnv, 'vigil.checkpoint.v1', cp.time],
    ] as const) {
      expect(time >= v.keyRotation.at && env.keyId === keyB.keyId).toBe(true);
      expect(signedBy(env, label, unhex(keyB.publicKey))).toBe(true);
    }
    expect([manifest.applianceId, cp.applianceId, cp.keyId]).toEqual([trust.applianceId, trust.applianceId, cpEnv.keyId]);
  });

  it('the entries rebuild the checkpoint root from the prefix hashes (no inclusion proofs are carried)', () => {
    expect(manifest.checkpoint).toEqual({ size: cp.size, root: cp.root });
    expect(manifest.log).toEqual({ from: v.bundle.log.from, to: cp.size });
    const prefix = json('log/prefix.json');
    expect(prefix.size).toBe(manifest.log.from);
    expect(lines.pop()).toBe('');
    expect(lines.length).toBe(cp.size - manifest.log.from);
    expect(hex(rebuildRoot(prefix.size, prefix.hashes.map(unhex), lines.map((l) => leaf(enc(l)))))).toBe(cp.root);
    expect(lines).toEqual(v.consistency.entries.slice(manifest.log.from, cp.size));
    const firstEntry = JSON.parse(lines[0]!);
    expect(firstEntry.i === manifest.log.from && firstEntry.t < manifest.range.since).toBe(true);
  });

  it('the log only grew since the pinned checkpoint', () => {
    const pinned = JSON.parse(trust.checkpoint.signed);
    const proof = json('log/consistency.json').find((p: { fromSize: number }) => p.fromSize === pinned.size);
    expect(proof.fromRoot).toBe(pinned.root);
    expect(verifyConsistency(pinned.size, cp.size, unhex(pinned.root), unhex(cp.root), proof.proof.map(unhex))).toBe(true);
  });

  it('every session started in the window has its archive, matching its logged start and end', () => {
    const entries = lines.map((l) => JSON.parse(l));
    const started = entries.filter((e) => e.type === 'session.started');
    expect(started.map((e) => e.seq)).toEqual([1, 2, 3]);
    for (const s of started) {
      const listed = manifest.archives.find((a: { sessionId: string }) => a.sessionId === s.sessionId);
      const archive = content(listed.file);
      expect(archive.length).toBe(listed.bytes);
      const recs = records(archive);
      expect(hex(headerDigest(recs[0]!.whole))).toBe(s.headerDigest);
      const trailer: Env = JSON.parse(dec(recs[recs.length - 1]!.body));
      const end = entries.find((e) => (e.type === 'session.ended' || e.type === 'session.interrupted') && e.sessionId === s.sessionId);
      expect([hex(sha(enc(trailer.signed))), hex(sha(enc(trailer.signed)))]).toEqual([listed.manifestDigest, end.manifestDigest]);
      const m = JSON.parse(trailer.signed);
      const signer = m.sealedAt < v.keyRotation.at ? keyA : keyB;
      expect(trailer.keyId).toBe(signer.keyId);
      expect(signedBy(trailer, 'vigil.archive-manifest.v1', unhex(signer.publicKey))).toBe(true);
      expect(m.outcome).toBe(end.type === 'session.ended' ? 'complete' : 'interrupted');
    }
  });

  it('approvals: the archive and the log name the same requests, hashes and approvers, in their own shapes', () => {
    const entries = lines.map((l) => JSON.parse(l));
    const s1 = manifest.archives.find((a: { seq: number }) => a.seq === 1);
    const evs = decrypt(records(content(s1.file)), auditor).frames.flatMap((f) => f.events) as Record<string, unknown>[];
    const decided = evs.filter((e) => e.type === 'approval.decided');
    expect(decided.map((e) => [e.decision, (e.approver as { subject: string }).subject])).toEqual([
      ['approved', 'alice@acme.example'],
      ['denied', 'bob@acme.example'],
    ]);
    const logged = entries.filter((e) => e.type === 'approval.decided');
    expect(logged.map((e) => [e.decision, e.approver, e.approverIssuer])).toEqual([
      ['approve', 'alice@acme.example', 'https://login.acme.example'],
      ['deny', 'bob@acme.example', 'https://login.acme.example'],
    ]);
    for (const req of evs.filter((e) => e.type === 'approval.requested')) {
      const about = evs.filter((e) => e.requestId === req.requestId);
      expect(new Set(about.map((e) => e.commandHash))).toEqual(new Set([req.commandHash]));
      expect(entries.filter((e) => e.requestId === req.requestId).every((e) => e.commandHash === req.commandHash)).toBe(true);
      const cmd = evs.find((e) => e.type === 'command' && e.id === req.command)!;
      expect(req.statement).toBe(cmd.text);
    }
    const final = evs.filter((e) => e.type === 'decision' && typeof e.requestId === 'string').map((e) => e.decision);
    expect(final).toEqual(['approved', 'denied']);
  });
});
