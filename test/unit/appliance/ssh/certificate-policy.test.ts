import { beforeAll, describe, expect, it } from 'vitest';
import { bytesEqual, concatBytes } from '../../../../shared/bytes.ts';
import { UserCertificateVerifier, ListedPublicKeys, type CertificateLoginRequest } from '../../../../appliance/protocols/ssh/certificate-policy.ts';
import { SshAuthError, type SshAuthErrorCode } from '../../../../appliance/protocols/ssh/errors.ts';
import { rng } from '../../../helpers/seeded-random.ts';
import { Keygen, blobOf, flip, stamp, type KeyFiles } from './helpers.ts';

let kg: Keygen;
let cas: Record<'ed25519' | 'ecdsa' | 'rsa', KeyFiles>;
let foreign: KeyFiles;
let bot: KeyFiles;
let verifier: UserCertificateVerifier;

const NOW = new Date('2026-06-01T12:00:00Z');
const window = (fromMin: number, toMin: number) => `${stamp(new Date(NOW.getTime() + fromMin * 60_000))}:${stamp(new Date(NOW.getTime() + toMin * 60_000))}`;

beforeAll(() => {
  kg = new Keygen();
  cas = { ed25519: kg.key('ed25519', { comment: 'ed-ca' }), ecdsa: kg.key('ecdsa', { comment: 'ec-ca' }), rsa: kg.key('rsa', { bits: 3072, comment: 'rsa-ca' }) };
  foreign = kg.key('ed25519');
  bot = kg.key('ed25519');
  verifier = UserCertificateVerifier.fromInput({ trustedUserCaKeys: [cas.ed25519.line, cas.ecdsa.line, cas.rsa.line] });
});

function sign(ca: KeyFiles, opts: string[] = [], key = bot): Uint8Array {
  return blobOf(kg.sign(ca, key, ['-I', 'bot:repo:acme/deploy', '-n', 'vigiltest', '-V', window(-5, 10), '-z', '42', ...opts]));
}

function req(blob: Uint8Array, over: Partial<CertificateLoginRequest> = {}): CertificateLoginRequest {
  return { blob, principal: 'vigiltest', clientAddress: '127.0.0.1', now: NOW, ...over };
}

function refused(code: SshAuthErrorCode, r: CertificateLoginRequest, v = verifier): SshAuthError {
  try {
    v.verify(r);
  } catch (e) {
    expect(e).toBeInstanceOf(SshAuthError);
    expect((e as SshAuthError).code).toBe(code);
    return e as SshAuthError;
  }
  throw new Error(`expected ${code}`);
}

describe('UserCertificateVerifier accepts what OpenSSH would', () => {
  for (const ca of ['ed25519', 'ecdsa', 'rsa'] as const)
    it(`a user certificate by the ${ca} CA, with the evidence ssh-keygen -L agrees with`, () => {
      const path = kg.sign(cas[ca], bot, ['-I', 'bot:repo:acme/deploy', '-n', 'vigiltest,deploy', '-V', window(-5, 10), '-z', '18446744073709551615',
        '-O', 'source-address=10.0.0.0/8,127.0.0.1', '-O', 'force-command=/usr/bin/backup', '-O', 'no-pty', '-O', 'no-agent-forwarding']);
      const ok = verifier.verify(req(blobOf(path), { clientAddress: '::ffff:127.0.0.1' }));
      const l = kg.listing(path);
      expect(ok.evidence).toEqual({
        certType: 'ssh-ed25519-cert-v01@openssh.com',
        keyId: l.keyId,
        serial: l.serial,
        principal: 'vigiltest',
        principals: l.principals,
        validAfter: `${/^from (\S+) to/.exec(l.valid)![1]}.000Z`,
        validBefore: `${/ to (\S+)$/.exec(l.valid)![1]}.000Z`,
        keyFingerprint: l.publicKey.split(' ')[1],
        caKeyType: cas[ca].line.split(' ')[0],
        caFingerprint: l.signingCa.split(' ')[1],
        caComment: `${ca === 'ecdsa' ? 'ec' : ca === 'ed25519' ? 'ed' : 'rsa'}-ca`,
        signatureAlgorithm: l.signingAlgorithm,
        criticalOptions: { 'force-command': '/usr/bin/backup', 'source-address': '10.0.0.0/8,127.0.0.1' },
        extensions: l.extensions,
      });
      expect(ok.evidence.serial).toBe('18446744073709551615');
      expect(ok.evidence.caFingerprint).toBe(kg.fingerprint(`${cas[ca].path}.pub`));
      expect(ok.forceCommand).toBe('/usr/bin/backup');
      expect(ok.permits).toEqual({ pty: false, portForwarding: true, agentForwarding: false, x11Forwarding: true, userRc: true });
      expect(ok.expiresAt).toEqual(new Date(NOW.getTime() + 10 * 60_000));
      expect(ok.publicKey.blob).toEqual(blobOf(`${bot.path}.pub`));
    });

  it('always:forever certificates have no end, and ssh-keygen defaults grant pty', () => {
    const ok = verifier.verify(req(blobOf(kg.sign(cas.ed25519, bot, ['-I', 'x', '-n', 'vigiltest']))));
    expect([ok.evidence.validAfter, ok.evidence.validBefore, ok.expiresAt]).toEqual(['always', 'forever', undefined]);
    expect(ok.permits.pty).toBe(true);
  });

  it('the clock tolerance applies at both ends of the window', () => {
    const blob = sign(cas.ed25519);
    const at = (ms: number) => req(blob, { now: new Date(ms) });
    const after = NOW.getTime() - 5 * 60_000;
    const before = NOW.getTime() + 10 * 60_000;
    expect(() => verifier.verify(at(after - 30_000))).not.toThrow();
    refused('E_SSH_CERT_NOT_YET_VALID', at(after - 31_000));
    expect(() => verifier.verify(at(before + 29_000))).not.toThrow();
    refused('E_SSH_CERT_EXPIRED', at(before + 30_000));
    const strict = UserCertificateVerifier.fromInput({ trustedUserCaKeys: [cas.ed25519.line], clockToleranceSeconds: 0 });
    expect(() => strict.verify(at(after))).not.toThrow();
    refused('E_SSH_CERT_NOT_YET_VALID', at(after - 1000), strict);
    refused('E_SSH_CERT_EXPIRED', at(before), strict);
  });
});

describe('UserCertificateVerifier refuses', () => {
  it('expired and not yet valid, saying when', () => {
    const e = refused('E_SSH_CERT_EXPIRED', req(blobOf(kg.sign(cas.ed25519, bot, ['-I', 'x', '-n', 'vigiltest', '-V', window(-60, -10)]))));
    expect(e.clientMessage).toContain('2026-06-01T11:50:00.000Z');
    const f = refused('E_SSH_CERT_NOT_YET_VALID', req(blobOf(kg.sign(cas.ed25519, bot, ['-I', 'x', '-n', 'vigiltest', '-V', window(10, 60)]))));
    expect(f.clientMessage).toContain('2026-06-01T12:10:00.000Z');
  });

  it('a principal not in the certificate, and a certificate with no principals', () => {
    const e = refused('E_SSH_CERT_PRINCIPAL', req(sign(cas.ecdsa), { principal: 'root' }));
    expect(e.clientMessage).toContain('"root"');
    refused('E_SSH_CERT_PRINCIPAL', req(blobOf(kg.sign(cas.ed25519, bot, ['-I', 'anyone']))));
  });

  it('a foreign CA, without saying which CAs are trusted', () => {
    const e = refused('E_SSH_CERT_UNTRUSTED_CA', req(sign(foreign)));
    for (const ca of Object.values(cas)) expect(e.clientMessage).not.toContain(kg.fingerprint(`${ca.path}.pub`));
  });

  it('a host certificate used as a user certificate', () => {
    refused('E_SSH_CERT_TYPE', req(sign(cas.ed25519, ['-h'])));
  });

  it('a tampered signature, and tampered signed contents', () => {
    for (const ca of ['ed25519', 'ecdsa', 'rsa'] as const) {
      const blob = sign(cas[ca]);
      const sig = blob.slice();
      flip(sig, sig.length - 5, 0x01);
      refused('E_SSH_CERT_SIGNATURE', req(sig));
      // The serial (42) becomes 43: still well-formed, no longer what the CA signed.
      const at = blob.findIndex((_, i) => blob[i] === 0 && blob.subarray(i, i + 8).every((b, j) => b === (j === 7 ? 42 : 0)));
      const forged = blob.slice();
      forged[at + 7] = 43;
      refused('E_SSH_CERT_SIGNATURE', req(forged));
    }
  });

  it('an ssh-rsa (SHA-1) signature made by ssh-keygen -t ssh-rsa', () => {
    const e = refused('E_SSH_CERT_SIGNATURE_ALGORITHM', req(sign(cas.rsa, ['-t', 'ssh-rsa'])));
    expect(e.clientMessage).toContain('rsa-sha2-512');
  });

  it('source-address mismatch, IPv4 and IPv6, and an unknown client address', () => {
    const v4 = sign(cas.ed25519, ['-O', 'source-address=10.1.0.0/16']);
    expect(() => verifier.verify(req(v4, { clientAddress: '10.1.255.3' }))).not.toThrow();
    expect(() => verifier.verify(req(v4, { clientAddress: '::ffff:10.1.2.3' }))).not.toThrow();
    refused('E_SSH_CERT_SOURCE_ADDRESS', req(v4, { clientAddress: '10.2.0.1' }));
    refused('E_SSH_CERT_SOURCE_ADDRESS', req(v4, { clientAddress: undefined }));
    const v6 = sign(cas.ed25519, ['-O', 'source-address=2001:db8::/32']);
    expect(() => verifier.verify(req(v6, { clientAddress: '2001:DB8:0:0::1' }))).not.toThrow();
    refused('E_SSH_CERT_SOURCE_ADDRESS', req(v6, { clientAddress: '2001:db9::1' }));
    refused('E_SSH_CERT_SOURCE_ADDRESS', req(v6, { clientAddress: '127.0.0.1' }));
  });

  it('an unknown critical option, as a format error', () => {
    const e = refused('E_SSH_CERT_FORMAT', req(sign(cas.ed25519, ['-O', 'critical:no-audit@evil.example'])));
    expect(e.reason).toBe('unknown-critical-option');
  });

  it('truncated and oversized blobs', () => {
    const blob = sign(cas.ed25519);
    refused('E_SSH_CERT_FORMAT', req(blob.subarray(0, blob.length - 1)));
    refused('E_SSH_CERT_FORMAT', req(concatBytes(blob, new Uint8Array(20_000))));
  });

  it('a certificate longer-lived than maxLifetimeSeconds (forever included)', () => {
    const v = UserCertificateVerifier.fromInput({ trustedUserCaKeys: [cas.ed25519.line], maxLifetimeSeconds: 600 });
    refused('E_SSH_CERT_LIFETIME', req(sign(cas.ed25519), {}), v); // 15 minutes
    refused('E_SSH_CERT_LIFETIME', req(blobOf(kg.sign(cas.ed25519, bot, ['-I', 'x', '-n', 'vigiltest']))), v);
    expect(() => v.verify(req(blobOf(kg.sign(cas.ed25519, bot, ['-I', 'x', '-n', 'vigiltest', '-V', window(-1, 9)]))))).not.toThrow();
  });

  it('an RSA key below minRsaBits (default 2048), for the CA or the certified key', () => {
    const small = kg.key('rsa', { bits: 1024 });
    refused('E_SSH_KEY_WEAK', req(sign(cas.ed25519, [], small)));
    const smallCa = UserCertificateVerifier.fromInput({ trustedUserCaKeys: [small.line] });
    refused('E_SSH_KEY_WEAK', req(sign(small)), smallCa);
    expect(() => UserCertificateVerifier.fromInput({ trustedUserCaKeys: [small.line], minRsaBits: 1024 }).verify(req(sign(small)))).not.toThrow();
  });

  it('a bad CA line at load, naming its position', () => {
    expect(() => UserCertificateVerifier.fromInput({ trustedUserCaKeys: [cas.ed25519.line, 'ssh-ed25519 AAAA'] })).toThrow(/trustedUserCaKeys\[1\]/);
    const certLine = `ssh-ed25519-cert-v01@openssh.com ${Buffer.from(sign(cas.ed25519)).toString('base64')}`;
    expect(() => UserCertificateVerifier.fromInput({ trustedUserCaKeys: [certLine] })).toThrow(/certificate is not accepted here/);
  });

  it('fuzz: no mutated certificate is ever accepted, and every refusal is typed', () => {
    const random = rng(0xc0ffee);
    const pick = (n: number) => Math.floor(random() * n);
    for (const ca of ['ed25519', 'ecdsa', 'rsa'] as const) {
      const base = sign(cas[ca], ['-O', 'source-address=127.0.0.0/8']);
      for (let i = 0; i < 700; i++) {
        const b = base.slice();
        for (let j = 0; j < 1 + pick(3); j++) flip(b, pick(b.length), 1 + pick(255));
        if (bytesEqual(b, base)) continue; // two flips of one byte can cancel out
        try {
          verifier.verify(req(b));
        } catch (e) {
          if (e instanceof SshAuthError) continue;
          throw e;
        }
        throw new Error(`mutation ${ca}#${i} was accepted`);
      }
    }
  });
});

describe('ListedPublicKeys', () => {
  it('finds a listed key by its exact blob and nothing else', () => {
    const other = kg.key('ecdsa');
    const list = new ListedPublicKeys([bot.line, other.line]);
    expect(list.find(blobOf(`${other.path}.pub`))?.fingerprint).toBe(kg.fingerprint(`${other.path}.pub`));
    expect(list.find(blobOf(`${foreign.path}.pub`))).toBeUndefined();
    expect(list.find(sign(cas.ed25519))).toBeUndefined();
  });
});
