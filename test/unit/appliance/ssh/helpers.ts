/**
 * Real OpenSSH keys and certificates for the SSH certificate tests: every CA key, user key and certificate is
 * made by `ssh-keygen` in a temp dir, and `ssh-keygen -L` is the oracle for what a certificate says.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromBase64 } from '../../../../shared/bytes.ts';

export interface KeyFiles {
  /** Path of the private key; the public key is `${path}.pub`. */
  path: string;
  /** The .pub line. */
  line: string;
}

export interface Listing {
  certType: string;
  kind: 'user' | 'host';
  publicKey: string;
  signingCa: string;
  signingAlgorithm: string;
  keyId: string;
  serial: string;
  valid: string;
  principals: string[];
  criticalOptions: string[];
  extensions: string[];
}

let counter = 0;

export class Keygen {
  readonly dir = mkdtempSync(join(tmpdir(), 'vigil-sshcert-'));

  private run(args: string[]): string {
    return execFileSync('ssh-keygen', args, { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' }, stdio: ['ignore', 'pipe', 'pipe'] });
  }

  key(type: 'ed25519' | 'ecdsa' | 'rsa', opts: { bits?: number; comment?: string } = {}): KeyFiles {
    const path = join(this.dir, `${type}-${++counter}`);
    const args = ['-q', '-t', type, '-N', '', '-C', opts.comment ?? `${type}-${counter}`, '-f', path];
    if (opts.bits !== undefined) args.push('-b', String(opts.bits));
    this.run(args);
    return { path, line: readFileSync(`${path}.pub`, 'utf8').trim() };
  }

  /** `ssh-keygen -s ca …opts key.pub`: returns the -cert.pub path. A fresh copy of the key each time. */
  sign(ca: KeyFiles, key: KeyFiles, opts: string[]): string {
    const copy = join(this.dir, `subject-${++counter}`);
    execFileSync('cp', [`${key.path}.pub`, `${copy}.pub`]);
    this.run(['-q', '-s', ca.path, ...opts, `${copy}.pub`]);
    return `${copy}-cert.pub`;
  }

  /** `ssh-keygen -l -f` → the SHA256 fingerprint it prints. */
  fingerprint(pubPath: string): string {
    return this.run(['-l', '-E', 'sha256', '-f', pubPath]).split(' ')[1]!;
  }

  /** `ssh-keygen -L -f` parsed (times in UTC). */
  listing(certPath: string): Listing {
    const out = this.run(['-L', '-f', certPath]);
    const field = (name: string) => new RegExp(`^\\s+${name}: ?(.*)$`, 'm').exec(out)?.[1] ?? '';
    const list = (name: string) => {
      const lines = out.split('\n');
      const i = lines.findIndex((l) => new RegExp(`^\\s+${name}:`).test(l));
      if (/\(none\)/.test(lines[i]!)) return [];
      const items: string[] = [];
      for (let j = i + 1; j < lines.length && /^\s{16}/.test(lines[j]!); j++) items.push(lines[j]!.trim());
      return items;
    };
    const type = /^(\S+) (user|host) certificate$/.exec(field('Type'))!;
    const ca = /^(\S+) (\S+) \(using (\S+)\)$/.exec(field('Signing CA'))!;
    return {
      certType: type[1]!,
      kind: type[2] as 'user' | 'host',
      publicKey: field('Public key'),
      signingCa: `${ca[1]} ${ca[2]}`,
      signingAlgorithm: ca[3]!,
      keyId: JSON.parse(field('Key ID')) as string,
      serial: field('Serial'),
      valid: field('Valid'),
      principals: list('Principals'),
      criticalOptions: list('Critical Options'),
      extensions: list('Extensions'),
    };
  }
}

export function blobOf(certPath: string): Uint8Array {
  return fromBase64(readFileSync(certPath, 'utf8').trim().split(/\s+/)[1]!);
}

export function lineOf(path: string): string {
  return readFileSync(path, 'utf8').trim();
}

/** ssh-keygen's -V takes local time; with TZ=UTC this is the UTC stamp YYYYMMDDHHMMSS. */
export function stamp(d: Date): string {
  return d.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

/** XORs one byte in place (a mutation for tamper and fuzz tests). */
export function flip(b: Uint8Array, i: number, x: number): void {
  b[i] = b[i]! ^ x;
}
