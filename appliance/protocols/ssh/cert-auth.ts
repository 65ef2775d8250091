/**
 * OpenSSH user-certificate login (listeners.ssh.userCertificateAuthorities). ssh2 does not parse a
 * certificate: for a publickey request with a `*-cert-v01@openssh.com` algorithm it hands over the raw
 * certificate blob and, since the inner signature format (`ssh-ed25519`, `rsa-sha2-512`) differs from the
 * request's algorithm, the whole SSH signature blob (`string format, string raw`) unstripped. So here:
 *   1. the request's algorithm must fit the certificate (RSA: `rsa-sha2-256/512-cert-v01` over an
 *      `ssh-rsa-cert-v01` blob; `ssh-rsa-cert-v01` itself means SHA-1 and is refused);
 *   2. the CA entry whose keys hold the signing key is found and its UserCertificateVerifier decides
 *      (trust, type, validity, principal, source-address, RSA size);
 *   3. proof of possession: the userauth signature over ssh2's signed blob verifies with the certified key,
 *      in exactly the format the algorithm names.
 * A query (no signature) gets PK_OK only for a certificate that passes 1 and 2. The identity a verified
 * certificate gives is made by a `CertificateIdentityMapper` (the seam for other kinds of CA).
 */
import type { PublicKeyAuthContext } from 'ssh2';
import { bytesEqual } from '../../../shared/bytes.ts';
import type { SessionIdentity } from '../../pipeline/session.ts';
import { parseCertificate, type SshCertType } from './certificate.ts';
import { UserCertificateVerifier, type CertificatePermits, type VerifiedUserCertificate } from './certificate-policy.ts';
import type { SshListenerConfig } from './config.ts';
import { SshAuthError } from './errors.ts';
import { parsePublicKeyLine, type SshPublicKeyLine } from './public-key.ts';
import { parseSignature, verifySshSignature } from './signature.ts';

export type CaEntry = SshListenerConfig['userCertificateAuthorities'][number];

/** Maps a certificate a CA entry verified to the session's identity. */
export type CertificateIdentityMapper = (cert: VerifiedUserCertificate, ca: CaEntry) => SessionIdentity;

export const SSH_CERT_METHOD = 'ssh-certificate';

/** Default mapping: who the CA says the key id is, with the groups the operator gave the CA. */
export const keyIdIdentity: CertificateIdentityMapper = (v, ca) => ({
  method: SSH_CERT_METHOD,
  provider: ca.name,
  issuer: `ssh-ca:${v.evidence.caFingerprint}`,
  subject: v.certificate.keyId,
  groups: ca.groups,
  tokenId: v.evidence.serial,
  ...(v.expiresAt ? { expiresAt: v.expiresAt.toISOString() } : {}),
  claims: { ...v.evidence },
});

/** Every permit granted: a plain key or a token has no certificate restricting it (policy still decides). */
export const ALL_PERMITS: CertificatePermits = { pty: true, portForwarding: true, agentForwarding: true, x11Forwarding: true, userRc: true };

export type CertCheck =
  | { kind: 'query-ok' }
  | { kind: 'verified'; identity: SessionIdentity; cert: VerifiedUserCertificate; toleranceSeconds: number }
  | { kind: 'refused'; code: string; reason: string; clientMessage: string };

/** The request algorithm → the certificate type it must carry and the signature format it must use. */
const ALGORITHMS: Readonly<Record<string, { cert: SshCertType; signature: string }>> = {
  'ssh-ed25519-cert-v01@openssh.com': { cert: 'ssh-ed25519-cert-v01@openssh.com', signature: 'ssh-ed25519' },
  'ecdsa-sha2-nistp256-cert-v01@openssh.com': { cert: 'ecdsa-sha2-nistp256-cert-v01@openssh.com', signature: 'ecdsa-sha2-nistp256' },
  'ecdsa-sha2-nistp384-cert-v01@openssh.com': { cert: 'ecdsa-sha2-nistp384-cert-v01@openssh.com', signature: 'ecdsa-sha2-nistp384' },
  'ecdsa-sha2-nistp521-cert-v01@openssh.com': { cert: 'ecdsa-sha2-nistp521-cert-v01@openssh.com', signature: 'ecdsa-sha2-nistp521' },
  'rsa-sha2-256-cert-v01@openssh.com': { cert: 'ssh-rsa-cert-v01@openssh.com', signature: 'rsa-sha2-256' },
  'rsa-sha2-512-cert-v01@openssh.com': { cert: 'ssh-rsa-cert-v01@openssh.com', signature: 'rsa-sha2-512' },
};

export function isCertificateAlgorithm(algo: string): boolean {
  return algo.endsWith('-cert-v01@openssh.com');
}

interface Authority {
  entry: CaEntry;
  keys: SshPublicKeyLine[];
  verifier: UserCertificateVerifier;
  mapIdentity: CertificateIdentityMapper;
}

/** A CA the gateway trusts beyond the configured ones, with its own identity mapping (the appliance's issuer). */
export interface ExtraAuthority {
  entry: CaEntry;
  mapIdentity: CertificateIdentityMapper;
}

export class UserCertificateAuthorities {
  private readonly authorities: Authority[];

  constructor(
    config: SshListenerConfig['userCertificateAuthorities'],
    mapIdentity: CertificateIdentityMapper = keyIdIdentity,
    extra: readonly ExtraAuthority[] = [],
  ) {
    const all = [...config.map((entry, i) => ({ entry, mapIdentity, where: `listeners.ssh.userCertificateAuthorities[${i}]` })), ...extra.map((x) => ({ ...x, where: `CA ${x.entry.name}` }))];
    this.authorities = all.map(({ entry, mapIdentity: map, where }) => ({
      entry,
      mapIdentity: map,
      keys: entry.keys.map((line, j) => parsePublicKeyLine(line, `${where}.keys[${j}]`)),
      verifier: UserCertificateVerifier.fromInput({
        trustedUserCaKeys: entry.keys,
        clockToleranceSeconds: entry.clockToleranceSeconds,
        ...(entry.maxLifetimeSeconds !== undefined ? { maxLifetimeSeconds: entry.maxLifetimeSeconds } : {}),
        minRsaBits: entry.minRsaBits,
      }),
    }));
  }

  get configured(): boolean {
    return this.authorities.length > 0;
  }

  /** `principal`: the target login Vigil will use (undefined when the user name selects no known target). */
  check(ctx: PublicKeyAuthContext, principal: string | undefined, clientAddress: string | undefined, now = new Date()): CertCheck {
    try {
      return this.checkOrThrow(ctx, principal, clientAddress, now);
    } catch (e) {
      if (e instanceof SshAuthError) return { kind: 'refused', code: e.code, reason: e.message, clientMessage: e.clientMessage };
      throw e;
    }
  }

  private checkOrThrow(ctx: PublicKeyAuthContext, principal: string | undefined, clientAddress: string | undefined, now: Date): CertCheck {
    const alg = Object.hasOwn(ALGORITHMS, ctx.key.algo) ? ALGORITHMS[ctx.key.algo] : undefined;
    if (!alg) {
      const sha1 = ctx.key.algo === 'ssh-rsa-cert-v01@openssh.com';
      throw new SshAuthError(
        sha1 ? 'E_SSH_CERT_SIGNATURE_ALGORITHM' : 'E_SSH_CERT_FORMAT',
        `certificate login with algorithm ${JSON.stringify(ctx.key.algo.slice(0, 64))}: ${sha1 ? 'SHA-1 (ssh-rsa) signatures are refused' : 'not supported'}`,
        sha1 ? 'ssh-rsa (SHA-1) is refused; use rsa-sha2-512 (OpenSSH 8.2 or later does)' : 'this certificate type is not supported',
      );
    }
    const cert = parseCertificate(ctx.key.data);
    if (cert.certType !== alg.cert)
      throw new SshAuthError('E_SSH_CERT_FORMAT', `certificate of type ${cert.certType} presented as ${ctx.key.algo}`, 'the certificate does not match the algorithm it was presented with', { reason: 'algorithm-mismatch' });
    const authority = this.authorities.find((a) => a.keys.some((k) => bytesEqual(k.blob, cert.signatureKey.blob)));
    if (!authority)
      throw new SshAuthError('E_SSH_CERT_UNTRUSTED_CA', `certificate key id ${JSON.stringify(cert.keyId.slice(0, 64))} serial ${cert.serial}: signed by ${cert.signatureKey.fingerprint}, not a trusted user CA`, 'the certificate is not signed by a certificate authority this gateway trusts');
    if (principal === undefined)
      throw new SshAuthError('E_SSH_CERT_PRINCIPAL', `certificate key id ${JSON.stringify(cert.keyId.slice(0, 64))}: the user name selects no configured target, so there is no login to check its principals against`, 'the user name names no target this gateway knows (connect as login+target or target)');
    const verified = authority.verifier.verify({ blob: ctx.key.data, principal, clientAddress, now });
    if (!ctx.signature || !ctx.blob) return { kind: 'query-ok' };
    // Proof of possession fails as E_SSH_BAD_SIGNATURE, as for a plain key: the certificate itself is fine.
    const bad = (why: string): CertCheck => ({
      kind: 'refused',
      code: 'E_SSH_BAD_SIGNATURE',
      reason: `certificate key id ${JSON.stringify(cert.keyId.slice(0, 64))} serial ${cert.serial}: the userauth signature ${why} (certified key ${cert.publicKey.fingerprint})`,
      clientMessage: 'the signature does not verify with the certified key',
    });
    let sig;
    try {
      sig = parseSignature(ctx.signature, cert.publicKey, (_r, m) => {
        throw new Error(m);
      }, 'userauth signature');
    } catch (e) {
      return bad(`is malformed: ${(e as Error).message}`);
    }
    if (sig.algorithm !== alg.signature) return bad(`is ${sig.algorithm}, not the ${alg.signature} its algorithm ${ctx.key.algo} requires`);
    if (!verifySshSignature(cert.publicKey, sig, ctx.blob)) return bad('does not verify');
    return { kind: 'verified', identity: authority.mapIdentity(verified, authority.entry), cert: verified, toleranceSeconds: authority.entry.clockToleranceSeconds };
  }
}
