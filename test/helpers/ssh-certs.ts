/**
 * OpenSSH certificates for tests, made with the real ssh-keygen (RECIPES.md "SSH certificates"): key pairs
 * of any type, CAs, and user or host certificates with key id, principals, validity and options.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export type KeyKind = 'ed25519' | 'ecdsa' | 'rsa';

/** Makes an unencrypted key pair at `path` (and `path.pub`); returns the public key line. */
export function makeKey(path: string, kind: KeyKind = 'ed25519', comment = 'test'): string {
  const size = kind === 'rsa' ? ['-b', '3072'] : kind === 'ecdsa' ? ['-b', '256'] : [];
  const r = spawnSync('ssh-keygen', ['-q', '-t', kind, ...size, '-N', '', '-C', comment, '-f', path]);
  if (r.status !== 0) throw new Error(`ssh-keygen failed: ${String(r.stderr)}`);
  return readFileSync(`${path}.pub`, 'utf8').trim();
}

export interface CertOptions {
  keyId: string;
  principals: string[];
  /** ssh-keygen -V (e.g. '-1m:+10m'). */
  validity?: string;
  serial?: number;
  /** ssh-keygen -O options (e.g. 'force-command=echo hi', 'no-pty', 'source-address=10.0.0.1/32'). */
  options?: string[];
  host?: boolean;
  /** ssh-keygen -t for an RSA CA: rsa-sha2-512 (default), rsa-sha2-256 or ssh-rsa. */
  caSignatureAlgorithm?: string;
  /** Where to write it (ssh-keygen writes <key>-cert.pub; copied here when given). */
}

/** Signs `keyPath.pub` with the CA at `caPath`; returns the path of the certificate (`keyPath-cert.pub`). */
export function signCert(caPath: string, keyPath: string, o: CertOptions): string {
  const args = ['-q', '-s', caPath, '-I', o.keyId, '-n', o.principals.join(','), '-V', o.validity ?? '-1m:+10m', '-z', String(o.serial ?? 1)];
  for (const opt of o.options ?? []) args.push('-O', opt);
  if (o.host) args.push('-h');
  if (o.caSignatureAlgorithm) args.push('-t', o.caSignatureAlgorithm);
  args.push(`${keyPath}.pub`);
  const r = spawnSync('ssh-keygen', args);
  if (r.status !== 0) throw new Error(`ssh-keygen -s failed: ${String(r.stderr)}`);
  return `${keyPath}-cert.pub`;
}

/** ssh-keygen -L output of a certificate (what an operator sees). */
export function describeCert(certPath: string): string {
  return String(spawnSync('ssh-keygen', ['-L', '-f', certPath]).stdout);
}
