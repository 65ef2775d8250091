/**
 * Plain public-key authentication against listeners.ssh.authorizedKeys: a key is accepted only if it is
 * listed for an identity, and only once the client proved it holds the private key (ssh2 hands over the
 * signed blob; the listed key verifies the signature). A key query without a signature (the client asking
 * "would you take this key?") gets PK_OK only for a listed key.
 */
import type { ParsedKey, PublicKeyAuthContext } from 'ssh2';
import type { SessionIdentity } from '../../pipeline/session.ts';
import type { SshListenerConfig } from './config.ts';
import { fingerprint, parsePublicKey } from './keys.ts';

export const SSH_KEY_PROVIDER = 'authorized-keys';
export const SSH_KEY_ISSUER = 'vigil:listeners.ssh.authorizedKeys';

interface Entry {
  key: ParsedKey;
  blob: Buffer;
  subject: string;
  groups: string[];
}

export type KeyCheck =
  | { kind: 'query-ok' }
  | { kind: 'verified'; identity: SessionIdentity }
  | { kind: 'unlisted'; fingerprint: string }
  | { kind: 'bad-signature'; fingerprint: string };

export class AuthorizedKeys {
  private readonly byBlob = new Map<string, Entry>();

  constructor(config: SshListenerConfig['authorizedKeys']) {
    config.forEach((id, i) =>
      id.keys.forEach((line, j) => {
        const key = parsePublicKey(line, `listeners.ssh.authorizedKeys[${i}].keys[${j}]`);
        const blob = key.getPublicSSH();
        const hex = blob.toString('hex');
        const other = this.byBlob.get(hex);
        if (other) throw new Error(`listeners.ssh.authorizedKeys: key ${fingerprint(blob)} is listed for both ${other.subject} and ${id.subject}`);
        this.byBlob.set(hex, { key, blob, subject: id.subject, groups: id.groups });
      }),
    );
  }

  check(ctx: PublicKeyAuthContext): KeyCheck {
    const fp = fingerprint(ctx.key.data);
    const e = this.byBlob.get(ctx.key.data.toString('hex'));
    if (!e) return { kind: 'unlisted', fingerprint: fp };
    if (!ctx.signature || !ctx.blob) return { kind: 'query-ok' };
    if (e.key.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) return { kind: 'bad-signature', fingerprint: fp };
    return {
      kind: 'verified',
      identity: { method: 'ssh-key', provider: SSH_KEY_PROVIDER, issuer: SSH_KEY_ISSUER, subject: e.subject, groups: e.groups, claims: { keyType: e.key.type, keyFingerprint: fp } },
    };
  }
}
