/**
 * A second implementation of the evidence format, written from docs/evidence-format.md alone: it uses
 * libsodium and Node's SHA-256 and HMAC, nothing of Vigil's. The test-vector tests check the vectors with
 * it, the way an auditor's engineer would.
 */
import { createHash } from 'node:crypto';
import sodium from 'libsodium-wrappers-sumo';

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder('utf-8', { fatal: true }).decode(b);
export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
export const b64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));

export function sha(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

const u32 = (b: Uint8Array, o: number) => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(o);

// ── §2–§5: archives ─────────────────────────────────────────────────────────────────────────────

export interface SpecRecord {
  type: string;
  offset: number;
  whole: Uint8Array;
  body: Uint8Array;
}

export function records(archive: Uint8Array): SpecRecord[] {
  if (hex(archive.subarray(0, 8)) !== '895649470d0a1a0a') throw new Error('bad magic');
  const out: SpecRecord[] = [];
  for (let o = 8; o < archive.length; ) {
    const len = u32(archive, o + 1);
    if (o + 5 + len > archive.length) throw new Error(`record at ${o} is cut off`);
    out.push({ type: String.fromCharCode(archive[o]!), offset: o, whole: archive.subarray(o, o + 5 + len), body: archive.subarray(o + 5, o + 5 + len) });
    o += 5 + len;
  }
  return out;
}

export function headerDigest(headerRecord: Uint8Array): Uint8Array {
  return sha(enc('vigil.archive-header.v1\n'), headerRecord);
}

/** chain after every frame (§3). */
export function chain(recs: SpecRecord[]): Uint8Array[] {
  let c = headerDigest(recs[0]!.whole);
  return recs.filter((r) => r.type === 'F').map((r) => (c = sha(c, sha(r.whole))));
}

export function frameAd(digest: Uint8Array, index: number): Uint8Array {
  const ad = new Uint8Array(40);
  ad.set(digest);
  new DataView(ad.buffer).setBigUint64(32, BigInt(index));
  return ad;
}

export interface DecryptedFrame {
  tag: number;
  plaintext: Uint8Array;
  events: Record<string, unknown>[];
}

/** Opens the sealed stream key and decrypts every frame (§4). */
export function decrypt(recs: SpecRecord[], auditor: { keyId: string; publicKey: Uint8Array; secretKey: Uint8Array }): { key: Uint8Array; frames: DecryptedFrame[] } {
  const header = JSON.parse(dec(recs[0]!.body));
  const recipient = header.recipients.find((r: { keyId: string }) => r.keyId === auditor.keyId);
  const key = sodium.crypto_box_seal_open(b64(recipient.sealedKey), auditor.publicKey, auditor.secretKey);
  const state = sodium.crypto_secretstream_xchacha20poly1305_init_pull(b64(header.stream.header), key);
  const digest = headerDigest(recs[0]!.whole);
  const frames = recs
    .filter((r) => r.type === 'F')
    .map((r, i): DecryptedFrame => {
      const res = sodium.crypto_secretstream_xchacha20poly1305_pull(state, r.body, frameAd(digest, i));
      if (!res) throw new Error(`frame ${i} does not authenticate`);
      return { tag: res.tag, plaintext: res.message, events: events(res.message) };
    });
  return { key, frames };
}

/** §4.2: u32 JSON length, u32 data length, JSON, data (shown as base64 under `data`). */
export function events(p: Uint8Array): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (let o = 0; o < p.length; ) {
    const jl = u32(p, o);
    const dl = u32(p, o + 4);
    const ev = JSON.parse(dec(p.subarray(o + 8, o + 8 + jl)));
    if (dl) ev.data = Buffer.from(p.subarray(o + 8 + jl, o + 8 + jl + dl)).toString('base64');
    out.push(ev);
    o += 8 + jl + dl;
  }
  return out;
}

/** §5: an envelope's signature under a raw Ed25519 public key, with the statement's label. */
export function signedBy(env: { signed: string; sig: string }, label: string, publicKey: Uint8Array): boolean {
  return sodium.crypto_sign_verify_detached(b64(env.sig), enc(`${label}\n${env.signed}`), publicKey);
}

export const keyIdOf = (publicKey: Uint8Array): string => hex(sha(publicKey)).slice(0, 16);

// ── §6: the Merkle tree ──────────────────────────────────────────────────────────────────────────

export const leaf = (entry: Uint8Array): Uint8Array => sha(new Uint8Array([0]), entry);
export const node = (l: Uint8Array, r: Uint8Array): Uint8Array => sha(new Uint8Array([1]), l, r);

/** RFC 6962 MTH, recursively, as the RFC states it. */
export function mth(leaves: Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return sha(new Uint8Array(0));
  if (leaves.length === 1) return leaves[0]!;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return node(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

/** RFC 9162 §2.1.4.2, with the spec's rule for size 0 (empty proof, old root = MTH of nothing). */
export function verifyConsistency(first: number, second: number, firstRoot: Uint8Array, secondRoot: Uint8Array, proof: Uint8Array[]): boolean {
  const eq = (a: Uint8Array, b: Uint8Array) => hex(a) === hex(b);
  if (first > second) return false;
  if (first === 0) return proof.length === 0 && eq(firstRoot, sha(new Uint8Array(0)));
  if (first === second) return proof.length === 0 && eq(firstRoot, secondRoot);
  if (proof.length === 0) return false;
  const path = (first & (first - 1)) === 0 ? [firstRoot, ...proof] : [...proof];
  let fn = first - 1;
  let sn = second - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn & 1 || fn === sn) {
      fr = node(c, fr);
      sr = node(c, sr);
      while (!(fn & 1) && fn !== 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = node(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn === 0 && eq(fr, firstRoot) && eq(sr, secondRoot);
}

/**
 * §9 step 4: the root from the perfect-subtree hashes covering [0, from) and the leaves from `from` on.
 * The prefix hashes are the binary decomposition of `from`, largest first; appending merges equal sizes.
 */
export function rebuildRoot(from: number, prefix: Uint8Array[], leaves: Uint8Array[]): Uint8Array {
  const stack: { size: number; hash: Uint8Array }[] = [];
  let rest = from;
  for (const h of prefix) {
    let size = 1;
    while (size * 2 <= rest) size *= 2;
    stack.push({ size, hash: h });
    rest -= size;
  }
  if (rest !== 0) throw new Error('prefix does not cover [0, from)');
  for (const l of leaves) {
    let cur = { size: 1, hash: l };
    while (stack.length && stack[stack.length - 1]!.size === cur.size) {
      const left = stack.pop()!;
      cur = { size: cur.size * 2, hash: node(left.hash, cur.hash) };
    }
    stack.push(cur);
  }
  if (stack.length === 0) return sha(new Uint8Array(0));
  let acc = stack[stack.length - 1]!.hash;
  for (let i = stack.length - 2; i >= 0; i--) acc = node(stack[i]!.hash, acc);
  return acc;
}

// ── §7: the tar container ────────────────────────────────────────────────────────────────────────

export interface SpecMember {
  name: string;
  headerOffset: number;
  offset: number;
  size: number;
}

/** POSIX ustar: 512-byte header (name 0..100, size 124..136 octal, checksum 148..156, prefix 345..500), content padded to 512. */
export function tarMembers(tar: Uint8Array): SpecMember[] {
  const field = (h: Uint8Array, a: number, n: number) => {
    const s = h.subarray(a, a + n);
    const end = s.indexOf(0);
    return String.fromCharCode(...(end < 0 ? s : s.subarray(0, end)));
  };
  const out: SpecMember[] = [];
  for (let o = 0; ; ) {
    const h = tar.subarray(o, o + 512);
    if (h.length < 512) throw new Error('tar cut off');
    if (h.every((b) => b === 0)) {
      if (!tar.subarray(o).every((b) => b === 0) || tar.length - o < 1024) throw new Error('bad end of archive');
      return out;
    }
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
    if (parseInt(field(h, 148, 8).trim(), 8) !== sum) throw new Error(`checksum of the header at ${o}`);
    if (field(h, 257, 6) !== 'ustar' || h[156] !== 0x30) throw new Error(`header at ${o} is not a ustar regular file`);
    const prefix = field(h, 345, 155);
    const name = (prefix ? prefix + '/' : '') + field(h, 0, 100);
    const size = parseInt(field(h, 124, 12).trim(), 8);
    out.push({ name, headerOffset: o, offset: o + 512, size });
    o += 512 + Math.ceil(size / 512) * 512;
  }
}
