/**
 * Writes docs/test-vectors/: a tiny session archive made by the real writer, the keys that open it,
 * and the digests an independent verifier must compute. Re-running makes NEW bytes (secretstream and
 * sealed boxes are randomised), so the committed files are the reference; test/unit/shared/
 * test-vectors.test.ts re-derives every value from the spec alone.
 *
 * Usage: node bin/run-ts.mjs scripts/make-test-vectors.ts [OUT_DIR]
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromHex, toBase64, toHex, utf8 } from '../shared/bytes.ts';
import { crypto, useCryptoBackend } from '../shared/crypto/backend.ts';
import { sha256 } from '../shared/crypto/hash.ts';
import { chainStep, headerDigestOf } from '../shared/evidence/archive-format.ts';
import { keyIdOf } from '../shared/evidence/key-id.ts';
import type { Signer } from '../shared/evidence/signed.ts';
import { leafHash, rootFromLeafHashes } from '../shared/merkle/index.ts';
import { signCheckpoint } from '../shared/evidence/checkpoint.ts';
import { nativeBackend } from '../appliance/crypto/native-backend.ts';
import { ArchiveWriter } from '../appliance/evidence/archive-writer.ts';

useCryptoBackend(nativeBackend());
const out = process.argv[2] ?? 'docs/test-vectors';
mkdirSync(out, { recursive: true });

const seed = fromHex('01'.repeat(32));
const kp = crypto().signKeypair(seed);
const signer: Signer = { keyId: keyIdOf(kp.publicKey), sign: (m) => crypto().signDetached(m, kp.secretKey) };
const auditor = crypto().boxKeypair();
let t = Date.parse('2026-01-02T03:04:05.000Z');
const now = () => new Date(t);

const path = join(out, 'tiny.vsa');
rmSync(path, { force: true });
const w = ArchiveWriter.create({
  path,
  sessionId: '00000000-0000-4000-8000-000000000001',
  sessionSeq: 1,
  applianceId: '00000000-0000-4000-8000-0000000000aa',
  signer: () => signer,
  recipients: [{ keyId: keyIdOf(auditor.publicKey), publicKey: auditor.publicKey }],
  context: { protocol: 'postgres', identity: { subject: 'vector-bot' }, target: { name: 'db' }, client: { address: '127.0.0.1:1' } },
  now,
});
w.append({ type: 'command', id: 1, kind: 'sql', text: 'SELECT 1' });
t += 5;
w.flush();
w.append({ type: 'output', stream: 'pty', data: utf8('hello\r\n') });
t += 5;
const sealed = await w.close('end of vector');

const bytes = new Uint8Array(readFileSync(path));
const frames: { offset: number; length: number; chainHead: string }[] = [];
let o = 8;
const headerLen = new DataView(bytes.buffer, bytes.byteOffset).getUint32(o + 1);
const headerDigest = headerDigestOf(bytes.subarray(8, 8 + 5 + headerLen));
let chain = headerDigest;
o += 5 + headerLen;
while (bytes[o] === 0x46) {
  const len = new DataView(bytes.buffer, bytes.byteOffset).getUint32(o + 1);
  chain = chainStep(chain, sha256(bytes.subarray(o, o + 5 + len)));
  frames.push({ offset: o, length: 5 + len, chainHead: toHex(chain) });
  o += 5 + len;
}

// A three-entry log and a checkpoint over it.
const entries = ['{"i":0,"t":"2026-01-02T03:04:05.000Z","type":"appliance.initialized"}', '{"i":1,"t":"2026-01-02T03:04:05.000Z","type":"session.started"}', '{"i":2,"t":"2026-01-02T03:04:05.010Z","type":"session.ended"}'];
const leaves = entries.map((e) => leafHash(utf8(e)));
const root = rootFromLeafHashes(leaves);
const checkpoint = signCheckpoint({ applianceId: '00000000-0000-4000-8000-0000000000aa', size: 3, root: toHex(root), time: '2026-01-02T03:04:06.000Z' }, signer);

const vectors = {
  description: 'Vigil evidence-format test vectors; see docs/evidence-format.md. All hex is lowercase; base64 is RFC 4648 with padding.',
  keys: {
    applianceSigningSeed: toHex(seed),
    applianceSigningPublicKey: toHex(kp.publicKey),
    applianceKeyId: signer.keyId,
    auditorPublicKey: toHex(auditor.publicKey),
    auditorSecretKey: toHex(auditor.secretKey),
    auditorKeyId: keyIdOf(auditor.publicKey),
  },
  archive: {
    file: 'tiny.vsa',
    bytes: bytes.length,
    headerDigest: toHex(headerDigest),
    frames,
    trailerOffset: o,
    manifestDigest: sealed.manifestDigest,
    events: [
      { seq: 0, t: 0, type: 'command', id: 1, kind: 'sql', text: 'SELECT 1' },
      { seq: 1, t: 5, type: 'output', stream: 'pty', data: toBase64(utf8('hello\r\n')) },
      { seq: 2, t: 10, type: 'session.close', reason: 'end of vector' },
    ],
  },
  log: {
    entries,
    leafHashes: leaves.map(toHex),
    root: toHex(root),
    checkpoint,
  },
};
writeFileSync(join(out, 'vectors.json'), JSON.stringify(vectors, null, 2) + '\n');
console.log(`wrote ${path} and ${join(out, 'vectors.json')}`);
