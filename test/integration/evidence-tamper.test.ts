/**
 * Tampering must be caught, each case with its exact reason. The bundle is made by the real writer and
 * exporter; every test alters it the way an attacker (or a failing disk) would and verifies it again.
 */
import { copyFileSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fromBase64, toBase64, toHex, utf8 } from '../../shared/bytes.ts';
import { sha256 } from '../../shared/crypto/hash.ts';
import { RECORD_TRAILER, chainStep, encodeRecord, headerDigestOf } from '../../shared/evidence/archive-format.ts';
import { memorySource } from '../../shared/evidence/byte-source.ts';
import { readArchiveRecords } from '../../shared/evidence/archive-reader.ts';
import { KeyChain } from '../../shared/evidence/key-chain.ts';
import { SIGNED_LABELS, signStatement, type SignedEnvelope } from '../../shared/evidence/signed.ts';
import type { TrustFile } from '../../shared/evidence/trust.ts';
import { verifyArchive } from '../../shared/evidence/verify/verify-archive.ts';
import { Appliance } from '../../appliance/appliance.ts';
import { exportBundle } from '../../appliance/export/export-bundle.ts';
import { loadSigningKey } from '../../appliance/keys/signing-key.ts';
import { buildTrustFile } from '../../appliance/keys/trust-file.ts';
import {
  archiveRecords,
  failures,
  joinRecords,
  memberBytes,
  members,
  newAppliance,
  rewriteBundle,
  tempDir,
  verifyBytes,
  type TestAppliance,
} from '../helpers/evidence.ts';

/** Records a session of `commands` commands, one durable frame each (the gateway syncs before forwarding). */
async function recordSession(app: Appliance, subject: string, commands: number, extra?: (s: ReturnType<Appliance['recorder']['start']>) => void): Promise<string> {
  const s = app.recorder.start({ protocol: 'postgres', identity: { subject }, target: { name: 'db' }, client: { address: '127.0.0.1:5000' } });
  s.record({ type: 'session.open', protocol: 'postgres' });
  for (let i = 1; i <= commands; i++) {
    s.record({ type: 'command', id: i, kind: 'sql', text: `SELECT ${i}` });
    s.record({ type: 'decision', command: i, decision: 'allow', rule: 'r' });
    await s.sync();
  }
  extra?.(s);
  await s.close('client terminated');
  return s.id;
}

async function exportTo(configPath: string, file: string): Promise<Uint8Array> {
  const app = await Appliance.open(configPath);
  try {
    await exportBundle(app, { out: file });
  } finally {
    await app.close();
  }
  return new Uint8Array(readFileSync(file));
}

let A: TestAppliance;
let bundle: Uint8Array;
let archiveName: string;
let otherArchiveName: string;

beforeAll(async () => {
  A = newAppliance();
  const app = await Appliance.open(A.configPath);
  await recordSession(app, 'bot-a', 6);
  await recordSession(app, 'bot-b', 4);
  await recordSession(app, 'bot-c', 3);
  await app.close();
  bundle = await exportTo(A.configPath, join(A.dir, 'a.vigil'));
  const names = (await members(bundle)).map((m) => m.name).filter((n) => n.startsWith('archives/'));
  archiveName = names[0]!;
  otherArchiveName = names[1]!;
});

async function expectFailure(b: Uint8Array, trust: TrustFile, pattern: RegExp, withKey = true): Promise<string[]> {
  const r = await verifyBytes(b, trust, withKey ? A.auditor : undefined);
  const f = failures(r);
  expect(r.ok).toBe(false);
  expect(f.join('\n')).toMatch(pattern);
  return f;
}

describe('the untouched bundle', () => {
  it('verifies with and without the auditor key', async () => {
    for (const key of [undefined, A.auditor]) {
      const r = await verifyBytes(bundle, A.trust, key);
      expect(failures(r)).toEqual([]);
      expect(r.ok).toBe(true);
      expect(r.sessions.map((s) => s.status)).toEqual(['complete', 'complete', 'complete']);
    }
  });
});

describe('bit flips', () => {
  it('are caught at every byte of an archive, without the key', async () => {
    const m = (await members(bundle)).find((x) => x.name === archiveName)!;
    const missed: number[] = [];
    for (let i = 0; i < m.size; i++) {
      const b = bundle.slice();
      b[m.offset + i]! ^= 1 << (i % 8);
      const r = await verifyBytes(b, A.trust);
      if (r.ok) missed.push(i);
    }
    expect(missed).toEqual([]);
  });

  it('name the part that changed', async () => {
    const archive = await memberBytes(bundle, archiveName);
    const { magic, records } = archiveRecords(archive);
    const flipAt = async (recordIndex: number, delta: number): Promise<string[]> => {
      const recs = records.map((r) => ({ ...r, bytes: r.bytes.slice() }));
      recs[recordIndex]!.bytes[delta]! ^= 0x01;
      return failures(await verifyBytes(await rewriteBundle(bundle, { [archiveName]: joinRecords(magic, recs) }), A.trust, A.auditor));
    };
    // Header: the year of createdAt ('2' ^ 1 = '3' keeps the JSON valid, so only the digest can tell).
    const textOf = (r: { bytes: Uint8Array }) => new TextDecoder().decode(r.bytes.subarray(5)); // offsets below add the 5-byte prefix back
    const createdAt = 5 + textOf(records[0]!).indexOf('"createdAt":"') + 13;
    expect((await flipAt(0, createdAt)).join('\n')).toMatch(/digests: .*header digest differs from the signed manifest: the header was altered/);
    // A frame's ciphertext: chain mismatch without key, decryption failure at that frame with it.
    const f3 = await flipAt(3, 40);
    expect(f3.join('\n')).toMatch(/digests: .*frame chain differs from the signed manifest/);
    expect(f3.join('\n')).toMatch(/decryption: .*frame 2: decryption failed/);
    // The trailer's signature.
    const trailer = records.length - 1;
    // A signature character whose flipped bit is still base64 (a letter B–Y), so only the signature check can tell.
    const trailerText = textOf(records[trailer]!);
    const sigStart = trailerText.lastIndexOf('"sig":"') + 7;
    const sigAt = 5 + sigStart + trailerText.slice(sigStart).search(/[B-Yb-y]/);
    expect((await flipAt(trailer, sigAt)).join('\n')).toMatch(/signatures: .*manifest signature does not verify/);
    // The trailer's signed text (the frame count inside the manifest).
    const framesAt = 5 + textOf(records[trailer]!).indexOf('\\"frames\\":') + 11;
    expect((await flipAt(trailer, framesAt)).join('\n')).toMatch(/signatures: .*manifest signature does not verify/);
  });

  it('are caught in every bundle-level file', async () => {
    for (const m of await members(bundle)) {
      if (m.name.startsWith('archives/')) continue;
      for (const at of [0, Math.floor(m.size / 2), m.size - 2]) {
        const b = bundle.slice();
        b[m.offset + at]! ^= 0x04;
        const r = await verifyBytes(b, A.trust);
        expect(r.ok, `${m.name} @${at}`).toBe(false);
      }
    }
  });

  it('are caught in tar headers and padding', async () => {
    const first = (await members(bundle))[0]!;
    for (const at of [first.offset - 512 + 10, first.offset + first.size + 1, bundle.length - 3]) {
      const b = bundle.slice();
      b[at]! ^= 0x10;
      expect((await verifyBytes(b, A.trust)).fatal).toMatch(/not a valid Vigil bundle/);
    }
  });
});

describe('frames', () => {
  it('truncation at every frame boundary is reported as a missing trailer', async () => {
    const archive = await memberBytes(bundle, archiveName);
    const { magic, records } = archiveRecords(archive);
    for (let keep = 1; keep < records.length; keep++) {
      const cut = joinRecords(magic, records.slice(0, keep));
      const f = failures(await verifyBytes(await rewriteBundle(bundle, { [archiveName]: cut }), A.trust, A.auditor));
      expect(f.join('\n')).toMatch(new RegExp(`archive ends after frame ${keep - 1} without a signed trailer`));
    }
  });

  it('truncation inside a frame names the frame and the missing bytes', async () => {
    const archive = await memberBytes(bundle, archiveName);
    const { records } = archiveRecords(archive);
    const cut = archive.slice(0, records[2]!.offset + 30);
    const f = failures(await verifyBytes(await rewriteBundle(bundle, { [archiveName]: cut }), A.trust));
    expect(f.join('\n')).toMatch(/frame 1 at offset \d+: needs \d+ bytes but only 25 remain \(archive truncated\)/);
  });

  it('dropping a frame is caught by the count, and by decryption at the gap', async () => {
    const { magic, records } = archiveRecords(await memberBytes(bundle, archiveName));
    const dropped = joinRecords(magic, [...records.slice(0, 2), ...records.slice(3)]);
    const f = (await expectFailure(await rewriteBundle(bundle, { [archiveName]: dropped }), A.trust, /counts 7 frames, the archive holds 6: frames were removed/)).join('\n');
    expect(f).toMatch(/decryption: .*frame 1: decryption failed/);
  });

  it('swapping two frames is caught by the chain and by decryption', async () => {
    const { magic, records } = archiveRecords(await memberBytes(bundle, archiveName));
    const swapped = [...records];
    [swapped[2], swapped[3]] = [swapped[3]!, swapped[2]!];
    const f = (await expectFailure(await rewriteBundle(bundle, { [archiveName]: joinRecords(magic, swapped) }), A.trust, /frame chain differs/)).join('\n');
    expect(f).toMatch(/frame 1: decryption failed/);
  });

  it('duplicating a frame is caught', async () => {
    const { magic, records } = archiveRecords(await memberBytes(bundle, archiveName));
    const dup = [...records.slice(0, 3), records[2]!, ...records.slice(3)];
    const f = (await expectFailure(await rewriteBundle(bundle, { [archiveName]: joinRecords(magic, dup) }), A.trust, /frames were added/)).join('\n');
    expect(f).toMatch(/frame 2: decryption failed/);
  });

  it('splicing in a frame from another archive is caught', async () => {
    const a = archiveRecords(await memberBytes(bundle, archiveName));
    const b = archiveRecords(await memberBytes(bundle, otherArchiveName));
    const spliced = [...a.records];
    spliced[2] = b.records[2]!;
    const f = (await expectFailure(await rewriteBundle(bundle, { [archiveName]: joinRecords(a.magic, spliced) }), A.trust, /frame chain differs/)).join('\n');
    expect(f).toMatch(/frame 1: decryption failed \(frame altered, reordered, dropped before it, or spliced from another archive\)/);
  });

  it('an archive signed without its TAG_FINAL frame passes the keyless checks and fails TAG_FINAL with the key', async () => {
    // Only a faulty or forged writer holding the appliance key can make this: re-seal without the final frame.
    const { magic, records } = archiveRecords(await memberBytes(bundle, archiveName));
    const header = records[0]!;
    const frames = records.slice(1, -2);
    const env = JSON.parse(new TextDecoder().decode(records[records.length - 1]!.bytes.subarray(5))) as SignedEnvelope;
    let chain = headerDigestOf(header.bytes);
    for (const f of frames) chain = chainStep(chain, sha256(f.bytes));
    const manifest = { ...JSON.parse(env.signed), frames: frames.length, chainHead: toHex(chain), archiveBytes: 8 + [header, ...frames].reduce((n, r) => n + r.bytes.length, 0) };
    const key = loadSigningKey(join(A.dir, 'appliance', 'keys', `appliance-${A.trust.keys[0]!.keyId}.key`));
    const trailer = encodeRecord(RECORD_TRAILER, utf8(JSON.stringify(signStatement(SIGNED_LABELS.archiveManifest, manifest, key))));
    const forged = joinRecords(magic, [header, ...frames, { bytes: trailer }]);
    const keys = new KeyChain(A.trust, []);
    expect((await verifyArchive(memorySource(forged), { keys })).failures).toEqual([]);
    const v = await verifyArchive(memorySource(forged), { keys, auditor: A.auditor });
    expect(v.failures).toContainEqual({ check: 'tag-final', message: `the last frame (${frames.length - 1}) is not TAG_FINAL: the archive was cut short` });
    expect(v.failures.map((f) => f.check).sort()).toEqual(['decryption', 'tag-final']); // and the final frame's events are missing
  });
});

describe('archives', () => {
  it('deleting an archive from a bundle is caught', async () => {
    await expectFailure(await rewriteBundle(bundle, { [archiveName]: null }), A.trust, /session-sequence: .*listed in the signed bundle manifest but missing from the bundle/, false);
  });

  it('an archive deleted on the appliance before export is caught by the log', async () => {
    const B = newAppliance();
    let app = await Appliance.open(B.configPath);
    await recordSession(app, 'x', 1);
    await recordSession(app, 'y', 1);
    await app.close();
    const archives = join(B.dir, 'appliance', 'data', 'archives');
    const day = readdirSync(archives)[0]!;
    const victim = readdirSync(join(archives, day)).sort()[0]!;
    writeFileSync(join(archives, day, victim), '');
    app = await Appliance.open(B.configPath);
    const summary = await exportBundle(app, { out: join(B.dir, 'b.vigil') });
    await app.close();
    expect(summary.problems.join('\n')).toMatch(/session #1 .* is missing or damaged/);
    const r = await verifyBytes(new Uint8Array(readFileSync(join(B.dir, 'b.vigil'))), B.trust);
    expect(failures(r).join('\n')).toMatch(/session-sequence: session #1 \(.{8}\): ended \(log entry \d+\) but its archive is not in the bundle/);
    expect(r.sessions.find((s) => s.seq === 1)?.status).toBe('failed');
  });

  it('replacing an archive with one from another appliance key is caught', async () => {
    const B = newAppliance();
    const app = await Appliance.open(B.configPath);
    await recordSession(app, 'intruder', 6);
    await app.close();
    const foreign = await exportTo(B.configPath, join(B.dir, 'b.vigil'));
    const foreignArchive = await memberBytes(foreign, (await members(foreign)).find((m) => m.name.startsWith('archives/'))!.name);
    const f = (await expectFailure(await rewriteBundle(bundle, { [archiveName]: foreignArchive }), A.trust, /key-chain: .*manifest: key [0-9a-f]{16} is not trusted/, false)).join('\n');
    expect(f).toMatch(/archive manifest differs from the one named in the bundle manifest/);
  });

  it('a clear card number in recorded content is found by the re-scan (with the key only)', async () => {
    const B = newAppliance();
    const app = await Appliance.open(B.configPath);
    await recordSession(app, 'leaky', 1, (s) => s.record({ type: 'result', command: 1, rows: [['Visa 4111 1111 1111 1111']] }));
    await app.close();
    const b = await exportTo(B.configPath, join(B.dir, 'b.vigil'));
    expect((await verifyBytes(b, B.trust)).ok).toBe(true);
    const r = await verifyBytes(b, B.trust, B.auditor);
    expect(failures(r).join('\n')).toMatch(/pan-rescan: .*frame \d+: clear visa number 411111\*{6}1111 in recorded content/);
    expect(JSON.stringify(r)).not.toContain('4111 1111 1111 1111');
  });

  it('the re-scan is as strict as the recorder: glued, dotted and full-width card numbers in recorded content are found', async () => {
    // The recorder masks these forms (strict mode); an archive holding them in clear was not written by it.
    const B = newAppliance();
    const app = await Appliance.open(B.configPath);
    const forms = ['ref x4111111111111111', '5555555555554444x', 'card 4111.1111.1111.1111', `fw ${'４１１１１１１１１１１１１１１１'}`];
    await recordSession(app, 'glued', 1, (s) => s.record({ type: 'result', command: 1, rows: forms.map((f) => [f]) }));
    await app.close();
    const b = await exportTo(B.configPath, join(B.dir, 'b.vigil'));
    const r = await verifyBytes(b, B.trust, B.auditor);
    const f = failures(r).join('\n');
    // One finding per form: each is found on its own.
    expect(f.match(/pan-rescan: [^\n]*clear (visa|mastercard) number/g)?.length, f).toBe(forms.length);
    for (const form of forms) expect(JSON.stringify(r)).not.toContain(form.split(' ').pop()!);
  });

  it('an archive not sealed to the auditor\'s key says so', async () => {
    const other = newAppliance();
    const r = await verifyBytes(bundle, A.trust, other.auditor);
    expect(failures(r).join('\n')).toMatch(new RegExp(`decryption: .*not sealed to auditor key ${other.auditor.keyId}`));
  });
});

describe('the log', () => {
  it('an altered log entry is caught against the signed checkpoint', async () => {
    const entries = new TextDecoder().decode(await memberBytes(bundle, 'log/entries.jsonl'));
    const altered = entries.replace('"subject":"bot-b"', '"subject":"bot-x"');
    expect(altered).not.toEqual(entries);
    await expectFailure(await rewriteBundle(bundle, { 'log/entries.jsonl': utf8(altered) }), A.trust, /log-inclusion: the log entries do not hash to the signed checkpoint root/, false);
  });

  it('a removed log entry is caught', async () => {
    const lines = new TextDecoder().decode(await memberBytes(bundle, 'log/entries.jsonl')).split('\n');
    lines.splice(3, 1);
    await expectFailure(await rewriteBundle(bundle, { 'log/entries.jsonl': utf8(lines.join('\n')) }), A.trust, /log-inclusion: log entry 3: carries index 4|entries were removed/, false);
  });

  it('a log rolled back (restored from a backup) is caught against the pinned checkpoint', async () => {
    const C = newAppliance();
    const dataDir = join(C.dir, 'appliance', 'data');
    let app = await Appliance.open(C.configPath);
    await recordSession(app, 'one', 1);
    await app.close();
    const backup = tempDir();
    for (const f of readdirSync(dataDir)) if (f.startsWith('vigil.db')) copyFileSync(join(dataDir, f), join(backup, f));
    app = await Appliance.open(C.configPath);
    await recordSession(app, 'two', 1);
    await recordSession(app, 'three', 1);
    const pin = app.log.checkpoint();
    app.log.markExported(pin.checkpoint.size);
    const trust = buildTrustFile(app.id, app.keys.records(), pin.envelope);
    await app.close();
    // Restore the old database: two sessions vanish from the log.
    for (const f of readdirSync(dataDir)) if (f.startsWith('vigil.db')) writeFileSync(join(dataDir, f), '');
    for (const f of readdirSync(backup)) copyFileSync(join(backup, f), join(dataDir, f));
    const rolledBack = await exportTo(C.configPath, join(C.dir, 'r.vigil'));
    await expectFailure(rolledBack, trust, /log-consistency: log rolled back: the pinned checkpoint \(.*\) has \d+ entries, this later checkpoint \(.*\) only \d+/, false);
    // …and after the rolled-back log grows past the pinned size, its entries give another root at that size.
    app = await Appliance.open(C.configPath);
    for (let i = 0; i < 4; i++) await recordSession(app, `again-${i}`, 1);
    await app.close();
    const regrown = await exportTo(C.configPath, join(C.dir, 'g.vigil'));
    await expectFailure(regrown, trust, /log-consistency: the log entries rebuild another root at the pinned size \d+: the log was rewritten/, false);
  });

  it('a checkpoint inconsistent with the pinned one is caught even with a proof from a forged history', async () => {
    // The attacker controls the appliance: forks the log, then ships a proof from its own checkpoint of the pinned size.
    const entries = new TextDecoder().decode(await memberBytes(bundle, 'log/consistency.json'));
    const proofs = JSON.parse(entries) as { fromSize: number; fromRoot: string; proof: string[] }[];
    const pinnedSize = JSON.parse(A.trust.checkpoint.signed).size as number;
    const forged = proofs.map((p) => (p.fromSize === pinnedSize ? { ...p, fromRoot: 'ab'.repeat(32) } : p));
    await expectFailure(await rewriteBundle(bundle, { 'log/consistency.json': utf8(JSON.stringify(forged)) }), A.trust, /log-consistency: the log's checkpoint \d+ has another root than the pinned one/, false);
  });
});

describe('keys', () => {
  let C: TestAppliance;
  let rotated: Uint8Array;
  let oldKeyPath: string;

  beforeAll(async () => {
    C = newAppliance();
    const keysDir = join(C.dir, 'appliance', 'keys');
    const oldKeyId = C.trust.keys[0]!.keyId;
    oldKeyPath = join(C.dir, 'stolen-old.key');
    copyFileSync(join(keysDir, `appliance-${oldKeyId}.key`), oldKeyPath);
    const app = await Appliance.open(C.configPath);
    await recordSession(app, 'before', 2);
    app.keys.rotate(app.log);
    await recordSession(app, 'after', 2);
    await app.close();
    rotated = await exportTo(C.configPath, join(C.dir, 'c.vigil'));
    expect(readdirSync(keysDir).filter((f) => f.startsWith('appliance-'))).toHaveLength(1); // the rotated-out key file is gone
  });

  it('the verifier follows a rotation from the pinned key', async () => {
    const r = await verifyBytes(rotated, C.trust, C.auditor);
    expect(failures(r)).toEqual([]);
    expect(r.checks.find((c) => c.id === 'key-chain')?.summary).toMatch(/1 rotation\(s\) followed/);
    expect(r.trust.keys).toHaveLength(2);
  });

  it('a rotated-out key signing after its window closed is refused', async () => {
    const old = loadSigningKey(oldKeyPath);
    const env = JSON.parse(new TextDecoder().decode(await memberBytes(rotated, 'bundle.json'))) as SignedEnvelope;
    const resigned = signStatement(SIGNED_LABELS.bundleManifest, JSON.parse(env.signed), old);
    await expectFailure(await rewriteBundle(rotated, { 'bundle.json': utf8(JSON.stringify(resigned)) }), C.trust, /key-chain: bundle manifest: key [0-9a-f]{16} signed at .*, after its window closed/, false);
  });

  it('a key revoked in the trust file is refused everywhere', async () => {
    const trust = { ...C.trust, keys: C.trust.keys.map((k) => ({ ...k, revoked: true })) };
    await expectFailure(rotated, trust, /key-chain: .*is revoked in the trust file/, false);
  });

  it('a rotation statement not signed by the outgoing key is refused', async () => {
    const rotations = JSON.parse(new TextDecoder().decode(await memberBytes(rotated, 'keys/rotations.json'))) as SignedEnvelope[];
    const forged = rotations.map((r) => ({ ...r, sig: toBase64(fromBase64(r.sig).map((b, i) => (i === 0 ? b ^ 1 : b))) }));
    await expectFailure(await rewriteBundle(rotated, { 'keys/rotations.json': utf8(JSON.stringify(forged)) }), C.trust, /key-chain: rotation to key [0-9a-f]{16} at .*: signature does not verify/, false);
  });

  it('a trust file for another appliance is refused', async () => {
    await expectFailure(bundle, C.trust, /key-chain: the bundle comes from appliance .*, the trust file pins/, false);
  });

  it('KeyChain refuses a trust file whose key id does not match its key', () => {
    const bad = { ...C.trust, keys: [{ ...C.trust.keys[0]!, keyId: '0000000000000000' }] };
    expect(new KeyChain(bad, []).problems.join()).toMatch(/does not match its public key/);
  });
});

describe('hostile input', () => {
  /** A source that records the largest single read: hostile lengths must not drive allocations. */
  function watched(bytes: Uint8Array) {
    const src = memorySource(bytes);
    let max = 0;
    return { src: { size: src.size, read: (o: number, n: number) => ((max = Math.max(max, n)), src.read(o, n)) }, max: () => max };
  }

  it('garbage, empty and truncated bundles get clear errors', async () => {
    expect((await verifyBytes(new Uint8Array(0), A.trust)).fatal).toMatch(/not a valid Vigil bundle: too short/);
    expect((await verifyBytes(utf8('hello world, not a bundle'.repeat(40)), A.trust)).fatal).toMatch(/not a valid Vigil bundle: header checksum mismatch at offset 0/);
    for (let cut = 512; cut < bundle.length; cut += 1536) {
      const r = await verifyBytes(bundle.slice(0, cut), A.trust);
      expect(r.ok).toBe(false);
      expect(r.fatal ?? failures(r).join()).toMatch(/truncated|beyond the end|missing|not valid/);
    }
  });

  it('absurd lengths in an archive are refused before allocating', async () => {
    const archive = await memberBytes(bundle, archiveName);
    const { records } = archiveRecords(archive);
    for (const [at, claim] of [
      [records[1]!.offset, 0xffffffff],
      [records[1]!.offset, 0x7fffffff],
      [8, 0x10000000],
    ] as const) {
      const b = archive.slice();
      new DataView(b.buffer).setUint32(at + 1, claim);
      const w = watched(b);
      const v = await verifyArchive(w.src, { keys: new KeyChain(A.trust, []) });
      expect(v.status).toBe('failed');
      expect(v.failures.map((f) => f.message).join()).toMatch(/claims \d+ bytes, above the \d+-byte limit/);
      expect(w.max()).toBeLessThanOrEqual(4 * 1024 * 1024);
    }
  });

  it('zero-length and deeply truncated archives get clear errors', async () => {
    const archive = await memberBytes(bundle, archiveName);
    const keys = new KeyChain(A.trust, []);
    expect((await verifyArchive(memorySource(new Uint8Array(0)), { keys })).failures[0]!.message).toMatch(/bad magic bytes/);
    for (const n of [1, 7, 8, 9, 12, 13, 40]) {
      const v = await verifyArchive(memorySource(archive.slice(0, n)), { keys });
      expect(v.status).toBe('failed');
      expect(v.failures[0]!.message).toMatch(/magic|truncated|no header|too short/);
    }
    const zeroFrame = joinRecords(archive.slice(0, 8), [archiveRecords(archive).records[0]!, { bytes: new Uint8Array([0x46, 0, 0, 0, 0]) }]);
    expect((await verifyArchive(memorySource(zeroFrame), { keys })).failures[0]!.message).toMatch(/0 bytes is shorter than any encrypted frame/);
  });

  it('a tar member claiming a huge size is refused', async () => {
    const b = bundle.slice();
    const h = b.subarray(0, 512);
    h.set(utf8('77777777777'), 124);
    h.fill(32, 148, 156);
    const sum = h.reduce((n, x) => n + x, 0);
    h.set(utf8(sum.toString(8).padStart(6, '0')), 148);
    h[154] = 0;
    expect((await verifyBytes(b, A.trust)).fatal).toMatch(/claims \d+ bytes, beyond the end of the file/);
  });

  it('records out of order are refused with their position', async () => {
    const archive = await memberBytes(bundle, archiveName);
    const { magic, records } = archiveRecords(archive);
    const noHeader = joinRecords(magic, records.slice(1));
    await expect(async () => {
      for await (const _ of readArchiveRecords(memorySource(noHeader))) void _;
    }).rejects.toThrow(/the first record must be the header/);
    const extra = joinRecords(magic, [...records, records[1]!]);
    await expect(async () => {
      for await (const _ of readArchiveRecords(memorySource(extra))) void _;
    }).rejects.toThrow(/unexpected bytes after the trailer/);
  });

  it('a signature from another file is not mistaken for valid (statement labels)', async () => {
    const cp = JSON.parse(new TextDecoder().decode(await memberBytes(bundle, 'checkpoint.json'))) as SignedEnvelope;
    const env = JSON.parse(new TextDecoder().decode(await memberBytes(bundle, 'bundle.json'))) as SignedEnvelope;
    // The bundle manifest signature moved onto the checkpoint text: valid Ed25519 from the right key, wrong label/text.
    const mixed = { ...cp, sig: env.sig };
    await expectFailure(await rewriteBundle(bundle, { 'checkpoint.json': utf8(JSON.stringify(mixed)) }), A.trust, /signatures: checkpoint \(size \d+\): signature does not verify/, false);
  });
});

