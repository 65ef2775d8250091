/**
 * An OpenSSH certificate authority held by the appliance (PROTOCOL.certkeys): signs user certificates for
 * clients (cert-issuer.ts) and per-session certificates for Vigil's own login to targets (target-login.ts).
 * The CA key is an unencrypted Ed25519 OpenSSH private key file made by `vigil init`; other CA key types are
 * refused rather than signed with a weaker default. The key is read once and never logged.
 *
 * What this writes is checked against the real `ssh-keygen -L` and `sshd` in the tests, and parsed back by
 * certificate.ts (the same rules the gateway applies to certificates it receives).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import ssh2, { type ParsedKey } from 'ssh2';
import { VigilError } from '../../../shared/errors.ts';
import { containsCardData } from '../../../shared/pan/index.ts';
import { fingerprint } from './keys.ts';
import { SshReader, sshString } from './wire.ts';

const te = new TextEncoder();

/** Plain key type → its certificate type. */
const CERT_TYPE_OF: Readonly<Record<string, string>> = {
  'ssh-ed25519': 'ssh-ed25519-cert-v01@openssh.com',
  'ecdsa-sha2-nistp256': 'ecdsa-sha2-nistp256-cert-v01@openssh.com',
  'ecdsa-sha2-nistp384': 'ecdsa-sha2-nistp384-cert-v01@openssh.com',
  'ecdsa-sha2-nistp521': 'ecdsa-sha2-nistp521-cert-v01@openssh.com',
  'ssh-rsa': 'ssh-rsa-cert-v01@openssh.com',
};

export interface CertificateContent {
  /** The certified key's wire blob (`string type, …fields`). */
  publicKeyBlob: Uint8Array;
  type: 'user' | 'host';
  keyId: string;
  principals: readonly string[];
  validAfter: Date;
  validBefore: Date;
  /** Critical options (force-command, source-address) as name → value. */
  criticalOptions?: Readonly<Record<string, string>>;
  /** Extensions as name → value; '' is a flag (permit-pty…). */
  extensions?: Readonly<Record<string, string>>;
}

export interface SignedCertificate {
  blob: Uint8Array;
  /** The `…-cert-v01@openssh.com AAAA… comment` line, as `ssh-keygen -s` writes it to `*-cert.pub`. */
  line: string;
  certType: string;
  serial: bigint;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function uint32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

function uint64(n: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, n);
  return b;
}

const str = (s: string) => sshString(te.encode(s));

/** An option list: sorted by name (bytewise, as OpenSSH requires), each value wrapped in a string unless a flag. */
function options(o: Readonly<Record<string, string>> | undefined): Uint8Array {
  const names = Object.keys(o ?? {}).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return concat(names.map((n) => concat([str(n), sshString(o![n] === '' ? new Uint8Array(0) : str(o![n]!))])));
}

/**
 * A random 64-bit serial, never 0 (OpenSSH's "none"). Serials are recorded and logged in decimal, as
 * ssh-keygen and sshd print them; one whose digits a card-number scanner would take for a PAN (a Luhn-valid
 * run) would be masked in the evidence and fail the clear-PAN re-scan, so such a draw is drawn again.
 */
function newSerial(): bigint {
  for (;;) {
    const serial = randomBytes(8).readBigUInt64BE() | 1n;
    if (!containsCardData(String(serial), { strict: true })) return serial;
  }
}

const seconds = (d: Date) => BigInt(Math.floor(d.getTime() / 1000));

export class SshCertificateAuthority {
  private constructor(
    private readonly key: ParsedKey,
    /** The CA's public key blob (the certificate's signature key). */
    readonly publicBlob: Uint8Array,
    readonly comment: string,
  ) {}

  /** Reads an unencrypted Ed25519 OpenSSH private key; `what` names it in errors (a config key path). */
  static fromFile(path: string, what: string): SshCertificateAuthority {
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (e) {
      throw new VigilError('E_SSH_CA_KEY', `${what}: cannot read the CA key ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`, { hint: 'vigil init writes one; or: ssh-keygen -t ed25519 -N "" -f PATH' });
    }
    const k = ssh2.utils.parseKey(bytes);
    const key = Array.isArray(k) ? k[0] : k;
    if (!key || key instanceof Error || !key.isPrivateKey()) throw new VigilError('E_SSH_CA_KEY', `${what}: ${path} is not an unencrypted OpenSSH private key`);
    if (key.type !== 'ssh-ed25519') throw new VigilError('E_SSH_CA_KEY', `${what}: ${path} is a ${key.type} key; Vigil's certificate authorities are Ed25519`, { hint: 'ssh-keygen -t ed25519 -N "" -f PATH' });
    return new SshCertificateAuthority(key, new Uint8Array(key.getPublicSSH()), key.comment || 'vigil-ca');
  }

  /** The CA's `ssh-ed25519 AAAA… comment` line: what sshd's TrustedUserCAKeys (or @cert-authority) holds. */
  get publicLine(): string {
    return `ssh-ed25519 ${Buffer.from(this.publicBlob).toString('base64')} ${this.comment}`;
  }

  get fingerprint(): string {
    return fingerprint(this.publicBlob);
  }

  sign(c: CertificateContent): SignedCertificate {
    const r = new SshReader(c.publicKeyBlob, (_reason, m) => {
      throw new VigilError('E_SSH_KEY', `the key to certify: ${m}`);
    });
    const keyType = r.text('key type', 64);
    const certType = Object.hasOwn(CERT_TYPE_OF, keyType) ? CERT_TYPE_OF[keyType] : undefined;
    if (!certType) throw new VigilError('E_SSH_KEY', `cannot certify a ${JSON.stringify(keyType.slice(0, 40))} key (supported: ${Object.keys(CERT_TYPE_OF).join(', ')})`);
    if (c.validBefore.getTime() <= c.validAfter.getTime()) throw new RangeError('validBefore must be after validAfter');
    const serial = newSerial();
    const body = concat([
      str(certType),
      sshString(randomBytes(32)),
      c.publicKeyBlob.subarray(r.position),
      uint64(serial),
      uint32(c.type === 'user' ? 1 : 2),
      str(c.keyId),
      sshString(concat(c.principals.map(str))),
      uint64(seconds(c.validAfter)),
      uint64(seconds(c.validBefore)),
      sshString(options(c.criticalOptions)),
      sshString(options(c.extensions)),
      sshString(new Uint8Array(0)),
      sshString(this.publicBlob),
    ]);
    const sig = this.key.sign(Buffer.from(body));
    if (sig instanceof Error) throw new VigilError('E_SSH_CA_KEY', `signing a certificate failed: ${sig.message}`);
    const blob = concat([body, sshString(concat([str('ssh-ed25519'), sshString(sig)]))]);
    return { blob, line: `${certType} ${Buffer.from(blob).toString('base64')} ${c.keyId}`, certType, serial };
  }
}
