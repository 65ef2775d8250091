import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { utils } from 'ssh2';
import { beforeAll, describe, expect, it } from 'vitest';
import { concatBytes, fromBase64, utf8 } from '../../../../shared/bytes.ts';
import { SshAuthError } from '../../../../appliance/protocols/ssh/errors.ts';
import { parsePublicKeyBlob, parsePublicKeyLine } from '../../../../appliance/protocols/ssh/public-key.ts';
import { parseSignature, verifySshSignature } from '../../../../appliance/protocols/ssh/signature.ts';
import { SshReader, sshString } from '../../../../appliance/protocols/ssh/wire.ts';
import { Keygen, blobOf, flip, type KeyFiles } from './helpers.ts';

let kg: Keygen;
let keys: Array<[string, KeyFiles]>;

beforeAll(() => {
  kg = new Keygen();
  keys = [
    ['ed25519', kg.key('ed25519', { comment: 'bot@ci two words' })],
    ['ecdsa-256', kg.key('ecdsa', { bits: 256 })],
    ['ecdsa-384', kg.key('ecdsa', { bits: 384 })],
    ['ecdsa-521', kg.key('ecdsa', { bits: 521 })],
    ['rsa-2048', kg.key('rsa', { bits: 2048 })],
    ['rsa-4096', kg.key('rsa', { bits: 4096 })],
  ];
});

function keyError(f: () => unknown): SshAuthError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(SshAuthError);
    expect((e as SshAuthError).code).toBe('E_SSH_KEY_FORMAT');
    return e as SshAuthError;
  }
  throw new Error('expected E_SSH_KEY_FORMAT');
}

describe('plain public keys', () => {
  it('fingerprints match ssh-keygen -l, blobs match ssh2 utils.parseKey, comments are kept', () => {
    for (const [name, k] of keys) {
      const parsed = parsePublicKeyLine(k.line);
      expect(parsed.fingerprint, name).toBe(kg.fingerprint(`${k.path}.pub`));
      expect(parsed.fingerprint).not.toContain('=');
      const ref = utils.parseKey(k.line);
      if (ref instanceof Error || Array.isArray(ref)) throw new Error('ssh2 could not parse the key');
      expect(Buffer.from(parsed.blob).equals(ref.getPublicSSH()), name).toBe(true);
      expect(parsed.type).toBe(ref.type);
      expect(parsed.comment).toBe(k.line.split(' ').slice(2).join(' '));
      expect(parsePublicKeyBlob(parsed.blob).fingerprint).toBe(parsed.fingerprint);
    }
    expect(parsePublicKeyLine(keys[4]![1].line).bits).toBe(2048);
    expect(parsePublicKeyLine(keys[3]![1].line).bits).toBe(521);
  });

  it('refuses malformed lines and blobs', () => {
    const [, ed] = keys[0]!;
    const [, ec] = keys[1]!;
    const b64 = ed.line.split(' ')[1]!;
    expect(keyError(() => parsePublicKeyLine(`ssh-rsa ${b64}`)).reason).toBe('type-mismatch');
    expect(keyError(() => parsePublicKeyLine(`ssh-ed25519 ${b64.slice(0, -4)}`)).reason).toBe('truncated');
    expect(keyError(() => parsePublicKeyLine('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO')).reason).toBe('bad-base64');
    expect(keyError(() => parsePublicKeyLine('from="10.0.0.1" ssh-ed25519 AAAA')).reason).toBe('bad-line');
    const blob = blobOf(`${ed.path}.pub`);
    expect(keyError(() => parsePublicKeyBlob(concatBytes(blob, new Uint8Array([0])))).reason).toBe('trailing-bytes');
    expect(keyError(() => parsePublicKeyBlob(concatBytes(sshString(utf8('ssh-dss')), sshString(new Uint8Array(20))))).reason).toBe('unsupported-key-type');
    expect(keyError(() => parsePublicKeyBlob(concatBytes(sshString(utf8('sk-ssh-ed25519@openssh.com')), blob.subarray(15)))).reason).toBe('unsupported-key-type');
    // An ECDSA point moved off the curve.
    const off = blobOf(`${ec.path}.pub`).slice();
    flip(off, off.length - 1, 1);
    expect(keyError(() => parsePublicKeyBlob(off)).reason).toBe('bad-key');
    // A compressed point (0x02 || X) is not what OpenSSH sends.
    const compressed = concatBytes(sshString(utf8('ecdsa-sha2-nistp256')), sshString(utf8('nistp256')), sshString(new Uint8Array(33).fill(2)));
    expect(keyError(() => parsePublicKeyBlob(compressed)).reason).toBe('bad-key');
    // RSA below OpenSSH's 1024-bit floor.
    const rsa512 = concatBytes(sshString(utf8('ssh-rsa')), sshString(new Uint8Array([1, 0, 1])), sshString(new Uint8Array(64).fill(0x41)));
    expect(keyError(() => parsePublicKeyBlob(rsa512)).reason).toBe('bad-key');
  });
});

/** An SSHSIG (ssh-keygen -Y sign) signature: a real OpenSSH signature blob over data we can rebuild. */
function sshsig(k: KeyFiles, message: string): { blob: Uint8Array; signed: Uint8Array } {
  const file = `${k.path}.msg`;
  writeFileSync(file, message);
  execFileSync('ssh-keygen', ['-q', '-Y', 'sign', '-f', k.path, '-n', 'file', file], { stdio: 'ignore' });
  const armored = readFileSync(`${file}.sig`, 'utf8').split('\n').filter((l) => l && !l.startsWith('-----')).join('');
  const raw = fromBase64(armored);
  const r = new SshReader(raw.subarray(6), (_reason, m) => {
    throw new Error(m);
  });
  r.u32('version');
  r.string('publickey');
  const ns = r.string('namespace');
  const reserved = r.string('reserved');
  const hash = r.string('hash');
  const blob = r.string('signature');
  const digest = createHash(new TextDecoder().decode(hash)).update(message).digest();
  const signed = concatBytes(utf8('SSHSIG'), sshString(ns), sshString(reserved), sshString(hash), sshString(digest));
  return { blob, signed };
}

describe('verifySshSignature on signatures made by OpenSSH (ssh-keygen -Y sign)', () => {
  it('verifies each key type and refuses any change to the data or the signature', () => {
    const fail = (_r: string, m: string): never => {
      throw new Error(m);
    };
    for (const [name, k] of keys) {
      const key = parsePublicKeyLine(k.line);
      const { blob, signed } = sshsig(k, `deploy ${name}`);
      const sig = parseSignature(blob, key, fail);
      if (key.type === 'ssh-rsa') expect(sig.algorithm).toBe('rsa-sha2-512');
      expect(verifySshSignature(key, sig, signed), name).toBe(true);
      const other = signed.slice();
      flip(other, other.length - 1, 1);
      expect(verifySshSignature(key, sig, other), name).toBe(false);
      const bent = { ...sig, raw: sig.raw.slice() };
      flip(bent.raw, bent.raw.length - 2, 4);
      expect(verifySshSignature(key, bent, signed), name).toBe(false);
      // Another key of the same type does not verify it.
      expect(verifySshSignature(parsePublicKeyLine(kg.key(key.type === 'ssh-rsa' ? 'rsa' : key.type === 'ssh-ed25519' ? 'ed25519' : 'ecdsa', key.type.startsWith('ecdsa') ? { bits: key.bits } : {}).line), sig, signed)).toBe(false);
    }
  });

  it('never verifies ssh-rsa (SHA-1), and refuses a format that does not fit the key', () => {
    const rsa = parsePublicKeyLine(keys[4]![1].line);
    expect(verifySshSignature(rsa, { algorithm: 'ssh-rsa', raw: new Uint8Array(256) }, new Uint8Array(1))).toBe(false);
    const ed = parsePublicKeyLine(keys[0]![1].line);
    const { blob } = sshsig(keys[4]![1], 'x');
    expect(() => parseSignature(blob, ed, (_r, m) => { throw new Error(m); })).toThrow(/does not fit/);
  });
});
