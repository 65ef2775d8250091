/**
 * OpenSSH certificates (PROTOCOL.certkeys), parsed from the wire blob with every length checked and nothing
 * left over. This is structure only: the CA's signature, trust, type, validity, principals and source
 * address are decided by certificate-policy.ts. Every refusal here is E_SSH_CERT_FORMAT with a `reason`.
 *
 * OpenSSH rules followed (sshkey.c cert_parse, auth-options.c cert_option_list):
 *   - the key fields match the certificate type; the signature key is a plain key, never a certificate;
 *   - type is 1 (user) or 2 (host); at most 256 principals (SSHKEY_CERT_MAX_PRINCIPALS); strings with a NUL
 *     are refused;
 *   - critical options and extensions are each sorted by name with no name twice (PROTOCOL.certkeys);
 *   - an unknown critical option refuses the certificate; an unknown extension is kept but grants nothing;
 *   - force-command and source-address hold exactly one string; source-address must parse as a CIDR list;
 *     the known flag extensions carry no data;
 *   - `verify-required` (FIDO user verification) is refused: only sk-* keys can satisfy it and they are not
 *     supported here.
 * The reserved field is parsed and ignored, as OpenSSH does.
 */
import { fromBase64 } from '../../../shared/bytes.ts';
import { SshAuthError, quoted } from './errors.ts';
import { parseKeyBlobWith, readKeyFields, sshFingerprint, type SshKeyType, type SshPublicKey } from './public-key.ts';
import { parseSignature, type SshSignature } from './signature.ts';
import { parseSourceAddressList, type Cidr } from './source-address.ts';
import { SshReader, type Fail } from './wire.ts';

export type SshCertType =
  | 'ssh-ed25519-cert-v01@openssh.com'
  | 'ecdsa-sha2-nistp256-cert-v01@openssh.com'
  | 'ecdsa-sha2-nistp384-cert-v01@openssh.com'
  | 'ecdsa-sha2-nistp521-cert-v01@openssh.com'
  | 'ssh-rsa-cert-v01@openssh.com';

/** Certificate type → the plain key type it certifies. */
export const CERT_KEY_TYPES: Readonly<Record<SshCertType, SshKeyType>> = {
  'ssh-ed25519-cert-v01@openssh.com': 'ssh-ed25519',
  'ecdsa-sha2-nistp256-cert-v01@openssh.com': 'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384-cert-v01@openssh.com': 'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521-cert-v01@openssh.com': 'ecdsa-sha2-nistp521',
  'ssh-rsa-cert-v01@openssh.com': 'ssh-rsa',
};

/** The extensions OpenSSH knows; each is a flag with no data. */
export const KNOWN_EXTENSIONS = [
  'no-touch-required',
  'permit-X11-forwarding',
  'permit-agent-forwarding',
  'permit-port-forwarding',
  'permit-pty',
  'permit-user-rc',
] as const;

/** A whole certificate blob is bounded: a 16384-bit RSA key and CA signature with room for principals. */
export const MAX_CERT_BYTES = 16_384;
export const MAX_PRINCIPALS = 256;
/** valid_before = 2^64-1 means "forever"; valid_after = 0 means "always". */
export const FOREVER = 0xffff_ffff_ffff_ffffn;

export interface SshCertificate {
  certType: SshCertType;
  nonce: Uint8Array;
  /** The certified key (what the client must prove it holds). */
  publicKey: SshPublicKey;
  serial: bigint;
  type: 'user' | 'host';
  keyId: string;
  principals: string[];
  /** Seconds since the epoch, inclusive. */
  validAfter: bigint;
  /** Seconds since the epoch, exclusive. */
  validBefore: bigint;
  criticalOptions: {
    forceCommand: string | undefined;
    /** The list as written, and parsed. */
    sourceAddress: { text: string; blocks: Cidr[] } | undefined;
  };
  /** Every extension by name, known or not, with its raw data (empty for the known flags). */
  extensions: ReadonlyMap<string, Uint8Array>;
  reserved: Uint8Array;
  /** The CA key that signed it. */
  signatureKey: SshPublicKey;
  signature: SshSignature;
  /** The bytes the CA signed: the blob up to (not including) the signature field. */
  signedData: Uint8Array;
  blob: Uint8Array;
}

const fail: Fail = (reason, message) => {
  throw new SshAuthError('E_SSH_CERT_FORMAT', `certificate: ${message}`, 'the certificate is malformed or uses an unsupported feature', { reason });
};

function isCertType(t: string): t is SshCertType {
  return Object.hasOwn(CERT_KEY_TYPES, t);
}

/** Compares option names the way OpenSSH sorts them (bytewise, i.e. by UTF-16 code unit for ASCII). */
function byteCompare(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** A name/data option list: sorted, unique, each data a string. */
function readOptions(section: Uint8Array, what: string): Array<{ name: string; data: Uint8Array }> {
  const r = new SshReader(section, fail);
  const out: Array<{ name: string; data: Uint8Array }> = [];
  let previous: Uint8Array | undefined;
  while (r.remaining > 0) {
    const start = r.position;
    const name = r.text(`${what} name`, 256);
    const rawName = section.subarray(start + 4, r.position);
    const data = r.string(`${what} ${quoted(name)} data`);
    if (previous !== undefined) {
      const c = byteCompare(previous, rawName);
      if (c === 0) fail('duplicate-option', `${what} ${quoted(name)} appears twice`);
      if (c > 0) fail('unsorted-options', `${what} ${quoted(name)} is out of order (names must be sorted)`);
    }
    previous = rawName;
    out.push({ name, data });
  }
  return out;
}

/** The single string a force-command or source-address option holds. */
function optionString(data: Uint8Array, name: string): string {
  const r = new SshReader(data, fail);
  const s = r.text(`critical option ${name}`, 8192);
  r.end(`critical option ${name}`);
  return s;
}

/** Parses a certificate blob (as sent in a userauth request, or base64-decoded from a -cert.pub line). */
export function parseCertificate(input: Uint8Array): SshCertificate {
  if (input.length > MAX_CERT_BYTES) fail('too-large', `${input.length} bytes exceeds the limit of ${MAX_CERT_BYTES}`);
  // A copy: every field below is a view into it, and the caller's buffer (a packet) may be reused.
  const blob = input.slice();
  const r = new SshReader(blob, fail);
  const certType = r.text('type', 64);
  if (!isCertType(certType)) return fail('unsupported-key-type', `unsupported certificate type ${quoted(certType)}`);
  const nonce = r.string('nonce', 256);
  const keyStart = r.position;
  const keyType = CERT_KEY_TYPES[certType];
  const { key, bits } = readKeyFields(r, keyType, fail, 'certified key');
  const publicKey = plainKey(keyType, blob.subarray(keyStart, r.position), key, bits);
  const serial = r.u64('serial');
  const typeCode = r.u32('type');
  if (typeCode !== 1 && typeCode !== 2) fail('bad-cert-type', `type ${typeCode} is neither user (1) nor host (2)`);
  const keyId = r.text('key id', 1024);

  const principalsRaw = r.string('valid principals');
  const pr = new SshReader(principalsRaw, fail);
  const principals: string[] = [];
  while (pr.remaining > 0) {
    if (principals.length === MAX_PRINCIPALS) fail('too-many-principals', `more than ${MAX_PRINCIPALS} principals`);
    principals.push(pr.text('principal', 1024));
  }

  const validAfter = r.u64('valid after');
  const validBefore = r.u64('valid before');
  // A window that ends before it starts admits no instant; it is a malformed certificate, not an expired one.
  if (validBefore <= validAfter) fail('bad-validity', 'valid before is not after valid after');

  const criticalOptions: SshCertificate['criticalOptions'] = { forceCommand: undefined, sourceAddress: undefined };
  for (const { name, data } of readOptions(r.string('critical options'), 'critical option')) {
    if (name === 'force-command') criticalOptions.forceCommand = optionString(data, name);
    else if (name === 'source-address') {
      const text = optionString(data, name);
      const blocks = parseSourceAddressList(text);
      if (typeof blocks === 'string') return fail('bad-source-address', `source-address: ${blocks}`);
      criticalOptions.sourceAddress = { text, blocks };
    } else if (name === 'verify-required') {
      fail('unsupported-critical-option', 'critical option "verify-required" needs a FIDO (sk-*) key, which is not supported');
    } else fail('unknown-critical-option', `unknown critical option ${quoted(name)} (OpenSSH refuses a certificate it cannot honour)`);
  }

  const extensions = new Map<string, Uint8Array>();
  for (const { name, data } of readOptions(r.string('extensions'), 'extension')) {
    if ((KNOWN_EXTENSIONS as readonly string[]).includes(name) && data.length !== 0) fail('extension-data', `extension ${quoted(name)} carries unexpected data`);
    extensions.set(name, data);
  }

  const reserved = r.string('reserved');
  const signatureKeyBlob = r.string('signature key');
  const signatureKey = parseKeyBlobWith(signatureKeyBlob, fail, 'signature key');
  const signedData = blob.subarray(0, r.position);
  const signature = parseSignature(r.string('signature'), signatureKey, fail);
  r.end('certificate');

  return {
    certType,
    nonce,
    publicKey,
    serial,
    type: typeCode === 1 ? 'user' : 'host',
    keyId,
    principals,
    validAfter,
    validBefore,
    criticalOptions,
    extensions,
    reserved,
    signatureKey,
    signature,
    signedData,
    blob,
  };
}

/** The certified key as a plain key: its blob is `string(type) || fields`, the blob its fingerprint is over. */
function plainKey(type: SshKeyType, fields: Uint8Array, key: SshPublicKey['key'], bits: number): SshPublicKey {
  const name = new TextEncoder().encode(type);
  const blob = new Uint8Array(4 + name.length + fields.length);
  new DataView(blob.buffer).setUint32(0, name.length);
  blob.set(name, 4);
  blob.set(fields, 4 + name.length);
  return { type, blob, key, bits, fingerprint: sshFingerprint(blob) };
}

/** A certificate from an OpenSSH line (`ssh-ed25519-cert-v01@openssh.com AAAA… comment`, a -cert.pub file). */
export function parseCertificateLine(line: string): SshCertificate & { comment: string } {
  const m = /^\s*(\S+)\s+([A-Za-z0-9+/]+={0,2})(?:\s+(.*?))?\s*$/.exec(line);
  if (!m) return fail('bad-line', 'expected "<type> <base64> [comment]"');
  let blob: Uint8Array;
  try {
    blob = fromBase64(m[2]!);
  } catch {
    return fail('bad-base64', 'not valid base64');
  }
  const cert = parseCertificate(blob);
  if (cert.certType !== m[1]) fail('type-mismatch', `the line says ${quoted(m[1]!)} but the certificate is ${cert.certType}`);
  return { ...cert, comment: m[3] ?? '' };
}
