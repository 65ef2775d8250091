/**
 * Plain SSH public keys: the wire blob (RFC 4253 §6.6, RFC 5656 §3.1, RFC 8709), the one-line OpenSSH form
 * (`ssh-ed25519 AAAA… comment`, as in authorized_keys and TrustedUserCAKeys files) and the SHA256
 * fingerprint exactly as `ssh-keygen -l` prints it. Used for trusted CA keys, for the key inside a
 * certificate, and for "plain public keys only if listed for an identity".
 *
 * Supported: ssh-ed25519, ecdsa-sha2-nistp256/384/521, ssh-rsa (1024–16384-bit modulus, OpenSSH's own
 * bounds; policy raises the minimum). Not supported, refused: ssh-dss (removed from OpenSSH) and the FIDO
 * sk-* types (their signatures carry flags and counters this module does not check).
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { fromBase64 } from '../../../shared/bytes.ts';
import { SshAuthError, quoted } from './errors.ts';
import { SshReader, type Fail } from './wire.ts';

export type SshKeyType = 'ssh-ed25519' | 'ecdsa-sha2-nistp256' | 'ecdsa-sha2-nistp384' | 'ecdsa-sha2-nistp521' | 'ssh-rsa';

export const SSH_KEY_TYPES: readonly SshKeyType[] = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'ssh-rsa'];

/** The curve of each ECDSA type: its SSH name, JWK name, coordinate size and the hash its signatures use. */
export const ECDSA_CURVES = {
  'ecdsa-sha2-nistp256': { ssh: 'nistp256', jwk: 'P-256', size: 32, hash: 'sha256' },
  'ecdsa-sha2-nistp384': { ssh: 'nistp384', jwk: 'P-384', size: 48, hash: 'sha384' },
  'ecdsa-sha2-nistp521': { ssh: 'nistp521', jwk: 'P-521', size: 66, hash: 'sha512' },
} as const;

/** OpenSSH's SSH_RSA_MINIMUM_MODULUS_SIZE and SSHBUF_MAX_BIGNUM (16384 bits). */
const RSA_MIN_BITS = 1024;
const RSA_MAX_BYTES = 2048;

export interface SshPublicKey {
  type: SshKeyType;
  /** The exact wire blob (what the fingerprint is computed over and what a listed key is compared by). */
  blob: Uint8Array;
  key: KeyObject;
  /** `SHA256:` + unpadded base64 of SHA-256(blob), as `ssh-keygen -l` prints it. */
  fingerprint: string;
  /** Modulus size for RSA, curve size for ECDSA, 256 for Ed25519. */
  bits: number;
}

export interface SshPublicKeyLine extends SshPublicKey {
  comment: string;
}

export function sshFingerprint(blob: Uint8Array): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

function b64url(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('base64url');
}

function isKeyType(t: string): t is SshKeyType {
  return (SSH_KEY_TYPES as readonly string[]).includes(t);
}

function bitLength(magnitude: Uint8Array): number {
  if (magnitude.length === 0) return 0;
  return (magnitude.length - 1) * 8 + (32 - Math.clz32(magnitude[0]!));
}

/**
 * Reads one public key's fields from `r` (after its type string), leaving `r` after them. Shared by plain
 * blobs and certificates, whose key fields sit between the nonce and the serial.
 */
export function readKeyFields(r: SshReader, type: SshKeyType, fail: Fail, what: string): { key: KeyObject; bits: number } {
  let jwk: Record<string, string>;
  let bits: number;
  if (type === 'ssh-ed25519') {
    const pk = r.string(`${what} ed25519 key`, 64);
    if (pk.length !== 32) fail('bad-key', `${what}: an ed25519 key is 32 bytes, not ${pk.length}`);
    jwk = { kty: 'OKP', crv: 'Ed25519', x: b64url(pk) };
    bits = 256;
  } else if (type === 'ssh-rsa') {
    const e = r.mpint(`${what} RSA exponent`, RSA_MAX_BYTES);
    const n = r.mpint(`${what} RSA modulus`, RSA_MAX_BYTES);
    bits = bitLength(n);
    if (bits < RSA_MIN_BITS) fail('bad-key', `${what}: RSA modulus of ${bits} bits is below OpenSSH's minimum of ${RSA_MIN_BITS}`);
    if (e.length === 0 || (e[e.length - 1]! & 1) === 0) fail('bad-key', `${what}: RSA exponent must be odd`);
    jwk = { kty: 'RSA', n: b64url(n), e: b64url(e) };
  } else {
    const curve = ECDSA_CURVES[type];
    const name = r.text(`${what} curve name`, 32);
    if (name !== curve.ssh) fail('bad-key', `${what}: curve ${quoted(name)} does not match key type ${type}`);
    const q = r.string(`${what} ECDSA point`, 1 + 2 * curve.size);
    // Uncompressed points only (0x04 || X || Y), as OpenSSH emits and accepts.
    if (q.length !== 1 + 2 * curve.size || q[0] !== 4) fail('bad-key', `${what}: not an uncompressed ${curve.ssh} point`);
    jwk = { kty: 'EC', crv: curve.jwk, x: b64url(q.subarray(1, 1 + curve.size)), y: b64url(q.subarray(1 + curve.size)) };
    bits = curve.size === 66 ? 521 : curve.size * 8;
  }
  try {
    // Node (OpenSSL) validates the key here: an ECDSA point off the curve is refused.
    return { key: createPublicKey({ key: jwk, format: 'jwk' }), bits };
  } catch {
    return fail('bad-key', `${what}: not a valid ${type} key`);
  }
}

/** Parses a plain public key blob; `fail` decides the error (a certificate parser maps to its own code). */
export function parseKeyBlobWith(blob: Uint8Array, fail: Fail, what: string): SshPublicKey {
  const r = new SshReader(blob, fail);
  const type = r.text(`${what} type`, 64);
  if (!isKeyType(type)) {
    const hint = type.includes('-cert-') ? ' (a certificate is not accepted here)' : '';
    return fail('unsupported-key-type', `${what}: unsupported key type ${quoted(type)}${hint}`);
  }
  const { key, bits } = readKeyFields(r, type, fail, what);
  r.end(what);
  return { type, blob, key, bits, fingerprint: sshFingerprint(blob) };
}

function keyFail(context: string): Fail {
  return (reason, message) => {
    throw new SshAuthError('E_SSH_KEY_FORMAT', `${context}${message}`, 'the public key is malformed or of an unsupported type', { reason });
  };
}

/** A plain public key from its wire blob (e.g. a userauth "publickey" request). */
export function parsePublicKeyBlob(blob: Uint8Array): SshPublicKey {
  return parseKeyBlobWith(blob, keyFail(''), 'public key');
}

/**
 * Splits an OpenSSH one-line key (`type base64 [comment]`) and checks that the type word names the type in
 * the blob (OpenSSH refuses a mismatch). Returns the decoded blob.
 */
export function splitKeyLine(line: string, fail: Fail): { type: string; blob: Uint8Array; comment: string } {
  const m = /^\s*(\S+)\s+([A-Za-z0-9+/]+={0,2})(?:\s+(.*?))?\s*$/.exec(line);
  if (!m) return fail('bad-line', 'expected "<type> <base64> [comment]"');
  const type = m[1]!;
  let blob: Uint8Array;
  try {
    blob = fromBase64(m[2]!);
  } catch {
    return fail('bad-base64', `the key of type ${quoted(type)} is not valid base64`);
  }
  const r = new SshReader(blob, fail);
  const inner = r.text('key type', 64);
  if (inner !== type) fail('type-mismatch', `the line says ${quoted(type)} but the key is ${quoted(inner)}`);
  return { type, blob, comment: m[3] ?? '' };
}

/** A plain public key from one OpenSSH line; `label` (e.g. "trustedUserCaKeys[2]") prefixes any error. */
export function parsePublicKeyLine(line: string, label = 'public key'): SshPublicKeyLine {
  const fail = keyFail(`${label}: `);
  const { blob, comment } = splitKeyLine(line, fail);
  return { ...parseKeyBlobWith(blob, fail, 'key'), comment };
}
