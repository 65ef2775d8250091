import { beforeAll, describe, expect, it } from 'vitest';
import { concatBytes, utf8 } from '../../../../shared/bytes.ts';
import { parseCertificate, parseCertificateLine, MAX_CERT_BYTES, type SshCertificate } from '../../../../appliance/protocols/ssh/certificate.ts';
import { SshAuthError } from '../../../../appliance/protocols/ssh/errors.ts';
import { SshReader, sshString } from '../../../../appliance/protocols/ssh/wire.ts';
import { rng } from '../../../helpers/seeded-random.ts';
import { Keygen, blobOf, flip, lineOf, type KeyFiles } from './helpers.ts';

let kg: Keygen;
let cas: Record<'ed25519' | 'ecdsa' | 'rsa', KeyFiles>;
let bot: KeyFiles;
/** A user cert with every field ssh-keygen can set, by an ed25519 CA. */
let full: string;

beforeAll(() => {
  kg = new Keygen();
  cas = { ed25519: kg.key('ed25519'), ecdsa: kg.key('ecdsa'), rsa: kg.key('rsa', { bits: 2048 }) };
  bot = kg.key('ed25519');
  full = kg.sign(cas.ed25519, bot, ['-I', 'bot:repo:acme/deploy', '-n', 'vigiltest,deploy', '-V', '20260101000000:20260101001000', '-z', '42',
    '-O', 'source-address=127.0.0.1/32,10.0.0.0/8,::1', '-O', 'force-command=/usr/bin/backup --now', '-O', 'no-pty']);
});

function formatError(f: () => unknown): SshAuthError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(SshAuthError);
    expect((e as SshAuthError).code).toBe('E_SSH_CERT_FORMAT');
    return e as SshAuthError;
  }
  throw new Error('expected a format error');
}

function iso(s: bigint): string {
  return new Date(Number(s) * 1000).toISOString().slice(0, 19);
}

/** What `ssh-keygen -L` prints, rebuilt from our parse. */
function expectMatchesListing(cert: SshCertificate, path: string): void {
  const l = kg.listing(path);
  expect(cert.certType).toBe(l.certType);
  expect(cert.type).toBe(l.kind);
  expect(`${l.publicKey.split(' ')[1]}`).toBe(cert.publicKey.fingerprint);
  expect(l.signingCa.split(' ')[1]).toBe(cert.signatureKey.fingerprint);
  expect(cert.signature.algorithm).toBe(l.signingAlgorithm);
  expect(cert.keyId).toBe(l.keyId);
  expect(cert.serial.toString()).toBe(l.serial);
  expect(cert.principals).toEqual(l.principals);
  const crit: string[] = [];
  if (cert.criticalOptions.forceCommand !== undefined) crit.push(`force-command ${cert.criticalOptions.forceCommand}`);
  if (cert.criticalOptions.sourceAddress) crit.push(`source-address ${cert.criticalOptions.sourceAddress.text}`);
  expect(crit).toEqual(l.criticalOptions);
  expect([...cert.extensions.keys()]).toEqual(l.extensions);
  const valid = cert.validAfter === 0n && cert.validBefore === 0xffffffffffffffffn ? 'forever' : `from ${iso(cert.validAfter)} to ${iso(cert.validBefore)}`;
  expect(valid).toBe(l.valid);
}

describe('parseCertificate on certificates made by ssh-keygen -s', () => {
  it('reads every field of a user certificate as ssh-keygen -L prints it', () => {
    const cert = parseCertificateLine(lineOf(full));
    expectMatchesListing(cert, full);
    expect(cert.keyId).toBe('bot:repo:acme/deploy');
    expect(cert.serial).toBe(42n);
    expect(cert.principals).toEqual(['vigiltest', 'deploy']);
    expect(cert.criticalOptions.forceCommand).toBe('/usr/bin/backup --now');
    expect(cert.criticalOptions.sourceAddress?.blocks.map((b) => `${b.family}/${b.prefix}`)).toEqual(['4/32', '4/8', '6/128']);
    expect(cert.extensions.has('permit-pty')).toBe(false);
    expect(cert.extensions.has('permit-port-forwarding')).toBe(true);
    expect(cert.nonce.length).toBe(32);
    expect(cert.publicKey.blob).toEqual(blobOf(`${bot.path}.pub`));
  });

  for (const caType of ['ed25519', 'ecdsa', 'rsa'] as const)
    for (const keyType of ['ed25519', 'ecdsa', 'rsa'] as const)
      it(`a ${keyType} key certified by a ${caType} CA`, () => {
        const key = kg.key(keyType);
        const path = kg.sign(cas[caType], key, ['-I', `${keyType}@${caType}`, '-n', 'p1', '-z', '7', '-V', 'always:forever']);
        const cert = parseCertificate(blobOf(path));
        expectMatchesListing(cert, path);
        expect(cert.publicKey.blob).toEqual(blobOf(`${key.path}.pub`));
        expect(cert.signatureKey.blob).toEqual(blobOf(`${cas[caType].path}.pub`));
        if (caType === 'rsa') expect(cert.signature.algorithm).toBe('rsa-sha2-512');
      });

  it('keeps its own copy: reusing the input buffer (a packet) changes nothing', () => {
    const input = blobOf(full);
    const cert = parseCertificate(input);
    const signed = cert.signedData.slice();
    input.fill(0);
    expect(cert.signedData).toEqual(signed);
    expect(cert.publicKey.blob).toEqual(blobOf(`${bot.path}.pub`));
    expect(cert.blob).toEqual(blobOf(full));
  });

  it('a host certificate (-h) is parsed as type host', () => {
    const path = kg.sign(cas.ecdsa, bot, ['-h', '-I', 'host', '-n', 'vigil.example']);
    const cert = parseCertificate(blobOf(path));
    expect(cert.type).toBe('host');
    expectMatchesListing(cert, path);
  });
});

/** The raw fields of a certificate over an ed25519 key, to rebuild variants. */
function fields(blob: Uint8Array): Uint8Array[] {
  const r = new SshReader(blob, (_r, m) => {
    throw new Error(m);
  });
  const out: Uint8Array[] = [];
  const take = (f: () => unknown) => {
    const start = r.position;
    f();
    out.push(blob.slice(start, r.position));
  };
  const s = () => r.string('f');
  for (const f of [s, s, s, () => r.u64('f'), () => r.u32('f'), s, s, () => r.u64('f'), () => r.u64('f'), s, s, s, s, s]) take(f);
  r.end('cert');
  return out;
}
const CRIT = 9;
const EXT = 10;

function options(...pairs: Array<[string, Uint8Array]>): Uint8Array {
  return sshString(concatBytes(...pairs.flatMap(([n, d]) => [sshString(utf8(n)), sshString(d)])));
}
const str = (s: string) => sshString(utf8(s));

describe('parseCertificate refuses malformed or unsupported certificates', () => {
  it('truncated at every length', () => {
    const blob = blobOf(full);
    for (let n = 0; n < blob.length; n++) {
      const e = formatError(() => parseCertificate(blob.subarray(0, n)));
      expect(['truncated', 'trailing-bytes', 'signature-format', 'bad-key', 'unsupported-key-type', 'too-long']).toContain(e.reason);
    }
  });

  it('trailing bytes', () => {
    expect(formatError(() => parseCertificate(concatBytes(blobOf(full), new Uint8Array([0])))).reason).toBe('trailing-bytes');
  });

  it('an oversized blob, and a length that claims more than is there', () => {
    expect(formatError(() => parseCertificate(new Uint8Array(MAX_CERT_BYTES + 1))).reason).toBe('too-large');
    const f = fields(blobOf(full));
    f[5] = concatBytes(new Uint8Array([0x7f, 0xff, 0xff, 0xff]), f[5]!.subarray(4));
    expect(formatError(() => parseCertificate(concatBytes(...f))).reason).toBe('truncated');
  });

  it('an unknown critical option (made by ssh-keygen -O critical:)', () => {
    const path = kg.sign(cas.ed25519, bot, ['-I', 'x', '-n', 'p', '-O', 'critical:permit-everything@evil.example=yes']);
    const e = formatError(() => parseCertificate(blobOf(path)));
    expect(e.reason).toBe('unknown-critical-option');
    expect(e.message).toContain('permit-everything@evil.example');
  });

  it('keeps an unknown extension (made by ssh-keygen -O extension:) but grants nothing by it', () => {
    const path = kg.sign(cas.ed25519, bot, ['-I', 'x', '-n', 'p', '-O', 'extension:login@github.com=octocat']);
    const cert = parseCertificate(blobOf(path));
    expect([...cert.extensions.keys()]).toContain('login@github.com');
    expect(cert.extensions.get('login@github.com')).toEqual(str('octocat'));
  });

  it('verify-required is refused (needs a FIDO key)', () => {
    const f = fields(blobOf(full));
    f[CRIT] = options(['verify-required', new Uint8Array()]);
    expect(formatError(() => parseCertificate(concatBytes(...f))).reason).toBe('unsupported-critical-option');
  });

  it('duplicate and unsorted options, in both sections', () => {
    const f = fields(blobOf(full));
    const cmd = str('/bin/true');
    const src = str('127.0.0.1');
    for (const [i, section, reason] of [
      [CRIT, options(['force-command', cmd], ['force-command', cmd]), 'duplicate-option'],
      [CRIT, options(['source-address', src], ['force-command', cmd]), 'unsorted-options'],
      [EXT, options(['permit-pty', new Uint8Array()], ['permit-pty', new Uint8Array()]), 'duplicate-option'],
      [EXT, options(['permit-pty', new Uint8Array()], ['permit-X11-forwarding', new Uint8Array()]), 'unsorted-options'],
    ] as const) {
      const g = [...f];
      g[i] = section;
      expect(formatError(() => parseCertificate(concatBytes(...g))).reason).toBe(reason);
    }
    // Sorted bytewise: 'X' (0x58) sorts before 'a', as ssh-keygen writes it.
    const g = [...f];
    g[EXT] = options(['permit-X11-forwarding', new Uint8Array()], ['permit-pty', new Uint8Array()]);
    expect([...parseCertificate(concatBytes(...g)).extensions.keys()]).toEqual(['permit-X11-forwarding', 'permit-pty']);
  });

  it('option data that is not exactly what the option holds', () => {
    const f = fields(blobOf(full));
    for (const [i, section, reason] of [
      [CRIT, options(['force-command', concatBytes(str('/bin/true'), new Uint8Array([1]))]), 'trailing-bytes'],
      [CRIT, options(['force-command', utf8('/bin/true')]), 'truncated'],
      [CRIT, options(['source-address', str('10.0.0.1/8')]), 'bad-source-address'],
      [CRIT, options(['source-address', str('*.example.com')]), 'bad-source-address'],
      [CRIT, options(['source-address', str('10.0.0.0/8,')]), 'bad-source-address'],
      [EXT, options(['permit-pty', str('yes')]), 'extension-data'],
    ] as const) {
      const g = [...f];
      g[i] = section;
      expect(formatError(() => parseCertificate(concatBytes(...g))).reason).toBe(reason);
    }
  });

  it('a type that is neither user nor host, a NUL in the key id, a window that ends before it starts', () => {
    const f = fields(blobOf(full));
    const bad = (i: number, v: Uint8Array) => {
      const g = [...f];
      g[i] = v;
      return formatError(() => parseCertificate(concatBytes(...g))).reason;
    };
    expect(bad(4, new Uint8Array([0, 0, 0, 3]))).toBe('bad-cert-type');
    expect(bad(5, sshString(utf8('bot\0admin')))).toBe('nul-in-string');
    expect(bad(7, f[8]!)).toBe('bad-validity');
  });

  it('a certificate as the signature key, and unsupported key types', () => {
    const f = fields(blobOf(full));
    const g = [...f];
    g[12] = sshString(blobOf(full).subarray(0, 200));
    expect(formatError(() => parseCertificate(concatBytes(...g))).reason).toBe('unsupported-key-type');
    expect(formatError(() => parseCertificate(concatBytes(str('ssh-dss-cert-v01@openssh.com'), ...f.slice(1)))).reason).toBe('unsupported-key-type');
    expect(formatError(() => parseCertificate(concatBytes(str('sk-ssh-ed25519-cert-v01@openssh.com'), ...f.slice(1)))).reason).toBe('unsupported-key-type');
  });

  it('a line whose type word does not match the blob', () => {
    const [, b64] = lineOf(full).split(' ');
    expect(formatError(() => parseCertificateLine(`ssh-rsa-cert-v01@openssh.com ${b64}`)).reason).toBe('type-mismatch');
    expect(formatError(() => parseCertificateLine('ssh-ed25519-cert-v01@openssh.com AAAA*')).reason).toBe('bad-line');
  });
});

describe('fuzz: mutated blobs only ever raise the typed format error', () => {
  it('2000 seeded mutations of each CA type', () => {
    const random = rng(0x5eed);
    const pick = (n: number) => Math.floor(random() * n);
    let parsed = 0;
    for (const ca of ['ed25519', 'ecdsa', 'rsa'] as const) {
      const base = blobOf(kg.sign(cas[ca], bot, ['-I', 'fuzz', '-n', 'a,b', '-O', 'source-address=10.0.0.0/8', '-O', 'force-command=x']));
      for (let i = 0; i < 2000; i++) {
        let b: Uint8Array = base.slice();
        const kind = pick(5);
        if (kind === 0) flip(b, pick(b.length), 1 << pick(8));
        else if (kind === 1) b = b.subarray(0, pick(b.length));
        else if (kind === 2) b = concatBytes(b.subarray(0, pick(b.length)), new Uint8Array([pick(256)]), b.subarray(pick(b.length)));
        else if (kind === 3) {
          const at = pick(b.length - 4);
          new DataView(b.buffer).setUint32(at, random() < 0.5 ? pick(0x10000) : pick(2 ** 32));
        } else for (let j = 0; j < 1 + pick(8); j++) b[pick(b.length)] = pick(256);
        try {
          parseCertificate(b);
          parsed++;
        } catch (e) {
          if (!(e instanceof SshAuthError) || e.code !== 'E_SSH_CERT_FORMAT') throw new Error(`mutation ${ca}#${i} (kind ${kind}) threw ${String(e)}`);
        }
      }
    }
    // Some mutations land in the nonce or signature and still parse: the policy's signature check is what
    // refuses those (certificate-policy.test.ts fuzzes verify()).
    expect(parsed).toBeGreaterThan(0);
  });
});
