/**
 * Decides whether an OpenSSH user certificate logs a client in, and returns what the adapter must enforce and
 * what evidence must record. Checks, in this order (so every refusal after the second is about a certificate
 * a trusted CA really issued):
 *   1. structure (certificate.ts);
 *   2. the signing key is one of the configured user CA keys (compared by exact key blob) and its signature
 *      over the certificate verifies; `ssh-rsa` (SHA-1) signatures are refused;
 *   3. the certificate is a user certificate (a host certificate never logs a client in);
 *   4. validity window, with a clock tolerance on both ends; optionally a maximum lifetime;
 *   5. the requested principal is listed (an empty list is refused, as sshd does for TrustedUserCAKeys);
 *   6. source-address, when present, contains the client's address;
 *   7. RSA keys (CA and certified) meet the configured minimum size.
 *
 * NOT done here, the adapter's job: checking the client's proof of possession — the userauth signature over
 * the session identifier, made with `certificate.publicKey` (verifySshSignature in signature.ts does the
 * arithmetic) — and enforcing `forceCommand` and the `permits` flags on the session's channels. A certificate
 * alone proves nothing: it is public.
 */
import { z } from 'zod';
import { bytesEqual } from '../../../shared/bytes.ts';
import { isoTime } from '../../time.ts';
import { FOREVER, parseCertificate, type SshCertificate } from './certificate.ts';
import { SshAuthError, quoted } from './errors.ts';
import { parsePublicKeyLine, type SshPublicKey, type SshPublicKeyLine } from './public-key.ts';
import { verifySshSignature } from './signature.ts';
import { sourceAddressAllowed } from './source-address.ts';

export const sshUserCertificatesSchema = z.strictObject({
  /** OpenSSH public key lines (`ssh-ed25519 AAAA… comment`), as in sshd's TrustedUserCAKeys file. */
  trustedUserCaKeys: z.array(z.string().min(1)).min(1),
  /** Clock skew allowed between the CA, the client and the appliance, on both ends of the window. */
  clockToleranceSeconds: z.number().int().min(0).max(300).default(30),
  /** When set, a certificate valid for longer than this (forever included) is refused. */
  maxLifetimeSeconds: z.number().int().positive().optional(),
  /** Minimum RSA modulus for the CA and the certified key (OpenSSH's floor is 1024). */
  minRsaBits: z.number().int().min(1024).max(16384).default(2048),
});

export type SshUserCertificatesInput = z.input<typeof sshUserCertificatesSchema>;
export type SshUserCertificatesConfig = z.output<typeof sshUserCertificatesSchema>;

export interface CertificateLoginRequest {
  /** The certificate blob from the userauth request. */
  blob: Uint8Array;
  /** The principal the login asks for (the SSH user name's identity part); matched literally, as sshd does. */
  principal: string;
  /** The socket's remote address, any spelling (IPv4-mapped IPv6 included). */
  clientAddress: string | undefined;
  now?: Date;
}

/** What the adapter enforces on the session. */
export interface CertificatePermits {
  pty: boolean;
  portForwarding: boolean;
  agentForwarding: boolean;
  x11Forwarding: boolean;
  userRc: boolean;
}

/** What the session's evidence records about the certificate: public facts only. */
export interface CertificateEvidence {
  certType: string;
  keyId: string;
  /** Decimal: serials are 64-bit. */
  serial: string;
  principal: string;
  principals: string[];
  /** ISO 8601 UTC with milliseconds (the evidence time format, time.ts), or 'always'. */
  validAfter: string;
  /** ISO 8601 UTC with milliseconds, or 'forever'. */
  validBefore: string;
  /** Of the certified key, as `ssh-keygen -L` prints it after "Public key:". */
  keyFingerprint: string;
  caKeyType: string;
  /** As `ssh-keygen -L` prints it after "Signing CA:". */
  caFingerprint: string;
  caComment: string;
  signatureAlgorithm: string;
  criticalOptions: { 'force-command'?: string; 'source-address'?: string };
  extensions: string[];
}

export interface VerifiedUserCertificate {
  certificate: SshCertificate;
  /** Same as certificate.publicKey: the key whose userauth signature the adapter must check. */
  publicKey: SshPublicKey;
  forceCommand: string | undefined;
  permits: CertificatePermits;
  /** When the login must end at the latest (undefined: the certificate never expires). */
  expiresAt: Date | undefined;
  evidence: CertificateEvidence;
}

const CLIENT = {
  untrusted: 'the certificate is not signed by a certificate authority this gateway trusts',
  signature: 'the certificate signature is not valid',
  sha1: 'the certificate is signed with ssh-rsa (SHA-1), which is refused; re-issue it with rsa-sha2-256 or rsa-sha2-512 (ssh-keygen -t rsa-sha2-512)',
};

function secondsToText(s: bigint, edge: 'always' | 'forever'): string {
  if ((edge === 'always' && s === 0n) || (edge === 'forever' && s === FOREVER)) return edge;
  // Date covers ±8.64e12 s; beyond that the raw value is stated rather than a rounded date.
  if (s > 8_640_000_000_000n) return `unix:${s}`;
  return isoTime(new Date(Number(s) * 1000));
}

function fail(code: SshAuthError['code'], message: string, clientMessage: string): never {
  throw new SshAuthError(code, message, clientMessage);
}

export class UserCertificateVerifier {
  private readonly cas: SshPublicKeyLine[];

  constructor(private readonly config: SshUserCertificatesConfig) {
    // Parsed once, at load: a bad CA line is a configuration error that names its position.
    this.cas = config.trustedUserCaKeys.map((line, i) => parsePublicKeyLine(line, `trustedUserCaKeys[${i}]`));
  }

  static fromInput(input: SshUserCertificatesInput): UserCertificateVerifier {
    return new UserCertificateVerifier(sshUserCertificatesSchema.parse(input));
  }

  verify(req: CertificateLoginRequest): VerifiedUserCertificate {
    const cert = parseCertificate(req.blob);
    const label = `certificate key id ${quoted(cert.keyId)} serial ${cert.serial}`;

    const ca = this.cas.find((c) => bytesEqual(c.blob, cert.signatureKey.blob));
    if (!ca) fail('E_SSH_CERT_UNTRUSTED_CA', `${label}: signed by ${cert.signatureKey.fingerprint}, not a trusted user CA`, CLIENT.untrusted);
    if (cert.signature.algorithm === 'ssh-rsa') fail('E_SSH_CERT_SIGNATURE_ALGORITHM', `${label}: signed with ssh-rsa (SHA-1) by ${ca.fingerprint}`, CLIENT.sha1);
    if (!verifySshSignature(ca, cert.signature, cert.signedData))
      fail('E_SSH_CERT_SIGNATURE', `${label}: the ${cert.signature.algorithm} signature by ${ca.fingerprint} does not verify`, CLIENT.signature);

    if (cert.type !== 'user') fail('E_SSH_CERT_TYPE', `${label}: a host certificate, not a user certificate`, 'a host certificate cannot be used to log in');

    const now = BigInt(Math.floor((req.now ?? new Date()).getTime() / 1000));
    const tol = BigInt(this.config.clockToleranceSeconds);
    const after = secondsToText(cert.validAfter, 'always');
    const before = secondsToText(cert.validBefore, 'forever');
    if (now + tol < cert.validAfter)
      fail('E_SSH_CERT_NOT_YET_VALID', `${label}: not valid before ${after} (tolerance ${tol} s)`, `the certificate is not valid before ${after}; check the clocks`);
    if (now - tol >= cert.validBefore)
      fail('E_SSH_CERT_EXPIRED', `${label}: expired at ${before} (tolerance ${tol} s)`, `the certificate expired at ${before}; request a new one`);
    const max = this.config.maxLifetimeSeconds;
    if (max !== undefined && cert.validBefore - cert.validAfter > BigInt(max))
      fail('E_SSH_CERT_LIFETIME', `${label}: valid from ${after} to ${before}, longer than the ${max} s allowed`, `the certificate is valid for longer than the ${max} s this gateway allows`);

    if (cert.principals.length === 0)
      fail('E_SSH_CERT_PRINCIPAL', `${label}: lists no principals (a certificate for anyone is refused)`, 'the certificate lists no principals');
    if (!cert.principals.includes(req.principal))
      fail('E_SSH_CERT_PRINCIPAL', `${label}: principal ${quoted(req.principal)} is not among ${JSON.stringify(cert.principals.slice(0, 16))}`, `the certificate is not valid for ${quoted(req.principal)}`);

    const src = cert.criticalOptions.sourceAddress;
    if (src && !sourceAddressAllowed(req.clientAddress, src.blocks))
      fail('E_SSH_CERT_SOURCE_ADDRESS', `${label}: client address ${quoted(req.clientAddress ?? 'unknown')} is not in source-address ${quoted(src.text, 256)}`, 'the certificate is not valid from this address');

    for (const [what, key] of [['CA key', ca], ['certified key', cert.publicKey]] as const)
      if (key.type === 'ssh-rsa' && key.bits < this.config.minRsaBits)
        fail('E_SSH_KEY_WEAK', `${label}: ${what} is RSA ${key.bits} bits, below the ${this.config.minRsaBits} required`, `the certificate's ${what} is too small (RSA ${key.bits} bits)`);

    const ext = cert.extensions;
    const criticalOptions: CertificateEvidence['criticalOptions'] = {};
    if (cert.criticalOptions.forceCommand !== undefined) criticalOptions['force-command'] = cert.criticalOptions.forceCommand;
    if (src) criticalOptions['source-address'] = src.text;
    return {
      certificate: cert,
      publicKey: cert.publicKey,
      forceCommand: cert.criticalOptions.forceCommand,
      permits: {
        pty: ext.has('permit-pty'),
        portForwarding: ext.has('permit-port-forwarding'),
        agentForwarding: ext.has('permit-agent-forwarding'),
        x11Forwarding: ext.has('permit-X11-forwarding'),
        userRc: ext.has('permit-user-rc'),
      },
      expiresAt: cert.validBefore === FOREVER || cert.validBefore > 8_640_000_000_000n ? undefined : new Date(Number(cert.validBefore) * 1000),
      evidence: {
        certType: cert.certType,
        keyId: cert.keyId,
        serial: cert.serial.toString(),
        principal: req.principal,
        principals: cert.principals,
        validAfter: after,
        validBefore: before,
        keyFingerprint: cert.publicKey.fingerprint,
        caKeyType: ca.type,
        caFingerprint: ca.fingerprint,
        caComment: ca.comment,
        signatureAlgorithm: cert.signature.algorithm,
        criticalOptions,
        extensions: [...ext.keys()],
      },
    };
  }
}

/**
 * Plain public keys listed for an identity (authorized_keys-style lines). A key is accepted only if its exact
 * blob is listed; certificates are not accepted here. Proof of possession is, again, the adapter's job.
 */
export class ListedPublicKeys {
  private readonly keys: SshPublicKeyLine[];

  constructor(lines: readonly string[], label = 'publicKeys') {
    this.keys = lines.map((line, i) => parsePublicKeyLine(line, `${label}[${i}]`));
  }

  /** The listed key with this blob, or undefined. */
  find(blob: Uint8Array): SshPublicKeyLine | undefined {
    return this.keys.find((k) => bytesEqual(k.blob, blob));
  }
}
