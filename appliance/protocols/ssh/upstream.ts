/**
 * Vigil's own SSH login to a target: ssh2's Client with the target's private key (read at each connection,
 * so rotation needs no restart; never logged) and host-key pinning — the key the target presents must be
 * one of its `hostKeys`, else the handshake is aborted before authentication and the caller records it.
 */
import { readFileSync } from 'node:fs';
import ssh2, { type Client } from 'ssh2';
import { VigilError } from '../../../shared/errors.ts';
import type { SshTarget } from './config.ts';
import { fingerprint, parsePublicKey } from './keys.ts';

export class UpstreamError extends VigilError {
  constructor(
    code: 'E_SSH_HOST_KEY_MISMATCH' | 'E_SSH_TARGET_UNAVAILABLE' | 'E_CREDENTIAL',
    message: string,
    /** What the target presented, for a host key mismatch. */
    readonly presented?: string,
  ) {
    super(code, message);
  }
}

/** The target's private key, whole (an OpenSSH key spans many lines). */
export function readTargetKey(t: SshTarget, resolvePath: (p: string) => string): string {
  const c = t.credential;
  if ('env' in c) {
    const v = process.env[c.env];
    if (!v) throw new UpstreamError('E_CREDENTIAL', `target ${t.name}: environment variable ${c.env} is not set`);
    return v;
  }
  const path = resolvePath(c.file);
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new UpstreamError('E_CREDENTIAL', `target ${t.name}: cannot read its key file ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

export function connectUpstream(t: SshTarget, login: string, privateKey: string): Promise<Client> {
  const pinned = t.hostKeys.map((l, i) => parsePublicKey(l, `target ${t.name} hostKeys[${i}]`).getPublicSSH());
  return new Promise((resolve, reject) => {
    const c = new ssh2.Client();
    let presented: string | undefined;
    let mismatch = false;
    c.once('ready', () => resolve(c));
    c.once('error', (e) => {
      c.end();
      if (mismatch) reject(new UpstreamError('E_SSH_HOST_KEY_MISMATCH', `target ${t.name} presented host key ${presented}, which is not one of its pinned hostKeys`, presented));
      // ssh2's messages name the host and the failure (auth, timeout, refused), never the key.
      else reject(new UpstreamError('E_SSH_TARGET_UNAVAILABLE', `target ${t.name} (${t.host}:${t.port}): ${e.message}`));
    });
    c.connect({
      host: t.host,
      port: t.port,
      username: login,
      privateKey,
      readyTimeout: t.connectTimeoutMs,
      hostVerifier: (key: Buffer) => {
        presented = fingerprint(key);
        mismatch = !pinned.some((p) => p.equals(key));
        return !mismatch;
      },
    });
  });
}
