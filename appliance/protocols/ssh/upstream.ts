/**
 * Vigil's own SSH login to a target: ssh2's Client with the target's credential and host-key pinning — the
 * key the target presents must be one of its `hostKeys`, else the handshake is aborted before authentication
 * and the caller records it. The credential is a private key (read at each connection, so rotation needs no
 * restart; never logged) or a per-session certificate (target-certificate.ts).
 */
import { readFileSync } from 'node:fs';
import ssh2, { type Client, type ConnectConfig, type PublicKeyAuthMethod } from 'ssh2';
import { VigilError } from '../../../shared/errors.ts';
import type { SshTarget } from './config.ts';
import { fingerprint, parsePublicKey } from './keys.ts';
import type { CertificateLoginKey } from './ssh2-certificate-login.ts';

/** What Vigil logs in to a target with. */
export type TargetLogin = { kind: 'key'; privateKey: string } | { kind: 'certificate'; login: CertificateLoginKey };

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
  if ('certificate' in c) throw new UpstreamError('E_CREDENTIAL', `target ${t.name}: logs in with a per-session certificate, not a key`);
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

export function connectUpstream(t: SshTarget, login: string, credential: TargetLogin): Promise<Client> {
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
    const config: ConnectConfig = {
      host: t.host,
      port: t.port,
      username: login,
      readyTimeout: t.connectTimeoutMs,
      hostVerifier: (key: Buffer) => {
        presented = fingerprint(key);
        mismatch = !pinned.some((p) => p.equals(key));
        return !mismatch;
      },
    };
    if (credential.kind === 'key') return c.connect({ ...config, privateKey: credential.privateKey });
    const method: PublicKeyAuthMethod = { type: 'publickey', username: login, key: credential.login.key };
    c.connect({ ...config, authHandler: [method] });
    try {
      credential.login.install(c);
    } catch (e) {
      c.end();
      reject(e);
    }
  });
}
