/** OpenSSH key helpers: parsing public key lines, SHA256 fingerprints as `ssh-keygen -l` prints them, host key files. */
import { createHash } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import ssh2, { type ParsedKey } from 'ssh2';
import { VigilError } from '../../../shared/errors.ts';
import { keyPart } from './config.ts';
import { generateEd25519 } from './openssh-key.ts';

/** The key of a public key line (authorized_keys or known_hosts), or an error naming where it came from. */
export function parsePublicKey(line: string, where: string): ParsedKey {
  const k = ssh2.utils.parseKey(keyPart(line));
  const key = Array.isArray(k) ? k[0] : k;
  if (!key || key instanceof Error) throw new VigilError('E_SSH_KEY', `${where}: not an OpenSSH public key line`);
  return key;
}

/** `SHA256:…` of a public key blob (the wire form), as OpenSSH prints it. */
export function fingerprint(blob: Uint8Array): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** Reads the gateway's host private key; the error never quotes the file. */
export function readHostKey(path: string): Buffer {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new VigilError('E_SSH_HOST_KEY', `cannot read the SSH host key ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`, { hint: 'vigil init writes one; or make it with ssh-keygen -t ed25519 -N "" -f PATH' });
  }
  const k = ssh2.utils.parseKey(bytes);
  const key = Array.isArray(k) ? k[0] : k;
  if (!key || key instanceof Error || !key.isPrivateKey()) throw new VigilError('E_SSH_HOST_KEY', `${path} is not an unencrypted OpenSSH private key`);
  return bytes;
}

/** The fingerprint of a host private key's public half. */
export function hostKeyFingerprint(privateKey: Buffer): string {
  const k = ssh2.utils.parseKey(privateKey);
  const key = Array.isArray(k) ? k[0] : k;
  if (!key || key instanceof Error) throw new VigilError('E_SSH_HOST_KEY', 'not an OpenSSH private key');
  return fingerprint(key.getPublicSSH());
}

/** Makes a new Ed25519 key (a host or CA key) at `path` (0600) and `path.pub`; returns its fingerprint. */
export function createHostKey(path: string, comment = 'vigil-gateway'): string {
  const pair = generateEd25519(comment);
  writeFileSync(path, pair.private, { mode: 0o600 });
  chmodSync(path, 0o600);
  writeFileSync(`${path}.pub`, pair.public + '\n');
  return hostKeyFingerprint(Buffer.from(pair.private));
}
