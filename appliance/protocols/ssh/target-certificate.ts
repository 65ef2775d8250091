/**
 * Per-session target credentials (`credential: {certificate: …}`): for each session a fresh Ed25519 key
 * pair, held in memory only, and a certificate for exactly the login Vigil uses, valid for minutes and
 * signed by the appliance's target CA. So no long-lived key to the target exists anywhere, and the target's
 * own sshd log names the session (the key id) and the serial, which the session's evidence records too.
 */
import ssh2, { type ParsedKey } from 'ssh2';
import { VigilError } from '../../../shared/errors.ts';
import { SshCertificateAuthority } from './certificate-authority.ts';
import { generateEd25519 } from './openssh-key.ts';
import { parsePublicKeyLine } from './public-key.ts';
import { certificateLoginKey } from './ssh2-certificate-login.ts';
import type { TargetLogin } from './upstream.ts';

/** sshd compares validity with its own clock: a little back-dating absorbs skew between the two hosts. */
const BACKDATE_SECONDS = 60;

export interface MintedTargetLogin {
  login: TargetLogin;
  /** Public facts for the session's evidence (never the key). */
  evidence: { keyId: string; serial: string; principal: string; validAfter: string; validBefore: string; caFingerprint: string };
}

/** CA keys by path, read once (a CA key does not rotate under a running gateway; a restart reads it again). */
export class TargetCertificateMinter {
  private readonly cas = new Map<string, SshCertificateAuthority>();

  constructor(private readonly resolvePath: (p: string) => string) {}

  mint(o: { target: string; caKey: string; lifetimeSeconds: number; login: string; sessionId: string; subject: string; now?: Date }): MintedTargetLogin {
    const ca = this.ca(o.caKey, o.target);
    const pair = generateEd25519(`vigil-session-${o.sessionId}`);
    const parsed = ssh2.utils.parseKey(pair.private);
    const key = (Array.isArray(parsed) ? parsed[0] : parsed) as ParsedKey | Error | undefined;
    if (!key || key instanceof Error) throw new VigilError('E_CREDENTIAL', 'could not parse the per-session key Vigil made');
    const now = o.now ?? new Date();
    const validAfter = new Date(now.getTime() - BACKDATE_SECONDS * 1000);
    const validBefore = new Date(now.getTime() + o.lifetimeSeconds * 1000);
    // Subject names can hold anything a token's sub holds; sshd logs the key id, so keep it printable.
    const keyId = `vigil:session=${o.sessionId}:subject=${o.subject.replace(/[^\x21-\x7e]/g, '?').slice(0, 200)}`;
    const cert = ca.sign({
      publicKeyBlob: parsePublicKeyLine(pair.public).blob,
      type: 'user',
      keyId,
      principals: [o.login],
      validAfter,
      validBefore,
      // A terminal and forwarding on the target are what the gateway's policy already allowed the client.
      extensions: { 'permit-port-forwarding': '', 'permit-pty': '' },
    });
    return {
      login: { kind: 'certificate', login: certificateLoginKey(key, cert) },
      evidence: { keyId, serial: String(cert.serial), principal: o.login, validAfter: validAfter.toISOString(), validBefore: validBefore.toISOString(), caFingerprint: ca.fingerprint },
    };
  }

  private ca(path: string, target: string): SshCertificateAuthority {
    const full = this.resolvePath(path);
    let ca = this.cas.get(full);
    if (!ca) {
      ca = SshCertificateAuthority.fromFile(full, `target ${target} credential.certificate.caKey`);
      this.cas.set(full, ca);
    }
    return ca;
  }
}
