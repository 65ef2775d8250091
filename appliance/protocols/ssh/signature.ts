/**
 * SSH signatures (`string format, string blob`; RFC 4253 §6.6, RFC 5656 §3.1.2, RFC 8332, RFC 8709) checked
 * with node:crypto. Used for the CA's signature over a certificate; the SSH adapter uses the same function
 * for the client's proof of possession (the userauth signature made by the certificate's key).
 *
 * `ssh-rsa` (RSA with SHA-1) is parsed but never verified: OpenSSH stopped accepting it by default in 8.8
 * (CASignatureAlgorithms has excluded it since 8.2), and SHA-1 is not acceptable for PCI DSS either.
 */
import { verify } from 'node:crypto';
import { ECDSA_CURVES, type SshPublicKey } from './public-key.ts';
import { SshReader, type Fail } from './wire.ts';

export type SshSignatureAlgorithm =
  | 'ssh-ed25519'
  | 'ecdsa-sha2-nistp256'
  | 'ecdsa-sha2-nistp384'
  | 'ecdsa-sha2-nistp521'
  | 'rsa-sha2-256'
  | 'rsa-sha2-512'
  | 'ssh-rsa';

/** Algorithms this module verifies; `ssh-rsa` is absent on purpose (see above). */
export const ACCEPTED_SIGNATURE_ALGORITHMS: readonly SshSignatureAlgorithm[] = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-256',
  'rsa-sha2-512',
];

export interface SshSignature {
  algorithm: SshSignatureAlgorithm;
  /** The raw signature bytes inside the blob (for ECDSA: the encoded r and s). */
  raw: Uint8Array;
}

/**
 * Parses a signature blob and checks its format fits the signer's key type (an ed25519 key signs only
 * `ssh-ed25519`, an RSA key one of the `ssh-rsa`/`rsa-sha2-*` formats, an ECDSA key its own curve's).
 */
export function parseSignature(blob: Uint8Array, signer: SshPublicKey, fail: Fail, what = 'signature'): SshSignature {
  const r = new SshReader(blob, fail);
  const format = r.text(`${what} format`, 64);
  const raw = r.string(`${what} bytes`, 4096);
  r.end(what);
  const fits =
    signer.type === 'ssh-rsa' ? format === 'ssh-rsa' || format === 'rsa-sha2-256' || format === 'rsa-sha2-512' : format === signer.type;
  if (!fits) fail('signature-format', `${what}: format ${JSON.stringify(format.slice(0, 64))} does not fit a ${signer.type} key`);
  if (signer.type === 'ssh-ed25519' && raw.length !== 64) fail('signature-format', `${what}: an ed25519 signature is 64 bytes, not ${raw.length}`);
  return { algorithm: format as SshSignatureAlgorithm, raw };
}

/** Whether `sig` is a valid signature by `signer` over `data`. False (never a throw) for any bad signature. */
export function verifySshSignature(signer: SshPublicKey, sig: SshSignature, data: Uint8Array): boolean {
  try {
    switch (sig.algorithm) {
      case 'ssh-ed25519':
        return verify(null, data, signer.key, sig.raw);
      case 'ecdsa-sha2-nistp256':
      case 'ecdsa-sha2-nistp384':
      case 'ecdsa-sha2-nistp521': {
        const curve = ECDSA_CURVES[sig.algorithm];
        const p1363 = ecdsaToP1363(sig.raw, curve.size);
        if (!p1363) return false;
        return verify(curve.hash, data, { key: signer.key, dsaEncoding: 'ieee-p1363' }, p1363);
      }
      case 'rsa-sha2-256':
      case 'rsa-sha2-512': {
        // RFC 8332: the signature is as long as the modulus; OpenSSH accepts a shorter one and left-pads it.
        const size = Math.ceil(signer.bits / 8);
        if (sig.raw.length > size) return false;
        const padded = new Uint8Array(size);
        padded.set(sig.raw, size - sig.raw.length);
        return verify(sig.algorithm === 'rsa-sha2-256' ? 'sha256' : 'sha512', data, signer.key, padded);
      }
      default:
        return false; // ssh-rsa (SHA-1): never verified.
    }
  } catch {
    return false;
  }
}

/** `string(mpint r || mpint s)` → fixed-width r||s, or undefined when malformed or out of range. */
function ecdsaToP1363(raw: Uint8Array, size: number): Uint8Array | undefined {
  const bad: Fail = () => {
    throw new RangeError('bad ecdsa signature');
  };
  try {
    const r = new SshReader(raw, bad);
    const rr = r.mpint('r', size);
    const ss = r.mpint('s', size);
    r.end('ecdsa signature');
    const out = new Uint8Array(2 * size);
    out.set(rr, size - rr.length);
    out.set(ss, 2 * size - ss.length);
    return out;
  } catch {
    return undefined;
  }
}
