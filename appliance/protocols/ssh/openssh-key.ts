/**
 * Ed25519 key pairs in OpenSSH's own files (`openssh-key-v1`, unencrypted), made with node:crypto.
 *
 * Why not `ssh2.utils.generateKeyPairSync`: in ssh2 1.17 it drops a leading zero byte of the Ed25519 public key
 * (about 1 key in 256 comes out 31 bytes long), and ssh2's own parser then rejects the file it wrote.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { sshString } from './wire.ts';

export interface OpenSshKeyPair {
  /** The `-----BEGIN OPENSSH PRIVATE KEY-----` file text. */
  private: string;
  /** The `ssh-ed25519 AAAA… comment` line (no newline). */
  public: string;
}

const te = new TextEncoder();

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function uint32(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n);
  return out;
}

/** The wire-form public key blob: string "ssh-ed25519", string key(32). */
export function ed25519PublicBlob(publicKey: Uint8Array): Uint8Array {
  return concat([sshString(te.encode('ssh-ed25519')), sshString(publicKey)]);
}

/** Encodes a raw Ed25519 seed (32 bytes) and public key (32 bytes) as OpenSSH files. */
export function encodeEd25519(seed: Uint8Array, publicKey: Uint8Array, comment: string): OpenSshKeyPair {
  if (seed.length !== 32 || publicKey.length !== 32) throw new RangeError('Ed25519 seed and public key are 32 bytes each');
  const blob = ed25519PublicBlob(publicKey);
  const check = randomBytes(4);
  const body = concat([
    check,
    check,
    sshString(te.encode('ssh-ed25519')),
    sshString(publicKey),
    sshString(concat([seed, publicKey])),
    sshString(te.encode(comment)),
  ]);
  // Unencrypted keys are padded to the "none" cipher's block size, 8, with bytes 1, 2, 3, …
  const pad = new Uint8Array((8 - (body.length % 8)) % 8).map((_, i) => i + 1);
  const file = concat([
    te.encode('openssh-key-v1\0'),
    sshString(te.encode('none')),
    sshString(te.encode('none')),
    sshString(new Uint8Array(0)),
    uint32(1),
    sshString(blob),
    sshString(concat([body, pad])),
  ]);
  const b64 = Buffer.from(file).toString('base64');
  const lines = b64.match(/.{1,70}/g) ?? [];
  return {
    private: `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`,
    public: `ssh-ed25519 ${Buffer.from(blob).toString('base64')}${comment ? ` ${comment}` : ''}`,
  };
}

/** A new Ed25519 key pair in OpenSSH files. */
export function generateEd25519(comment: string): OpenSshKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const d = Buffer.from(privateKey.export({ format: 'jwk' }).d ?? '', 'base64url');
  const x = Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url');
  return encodeEd25519(d, x, comment);
}
