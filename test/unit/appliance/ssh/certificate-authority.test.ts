/**
 * The appliance's own CA writes certificates the real OpenSSH reads as written: `ssh-keygen -L` is the
 * oracle, and the gateway's own verifier (the one that checks certificates clients present) accepts them.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { SshCertificateAuthority } from '../../../../appliance/protocols/ssh/certificate-authority.ts';
import { UserCertificateVerifier } from '../../../../appliance/protocols/ssh/certificate-policy.ts';
import { parsePublicKeyLine } from '../../../../appliance/protocols/ssh/public-key.ts';
import { Keygen, type KeyFiles } from './helpers.ts';

let kg: Keygen;
let caFiles: KeyFiles;
let ca: SshCertificateAuthority;
const from = new Date('2026-06-01T12:00:00Z');
const to = new Date('2026-06-01T12:10:00Z');

beforeAll(() => {
  kg = new Keygen();
  caFiles = kg.key('ed25519', { comment: 'vigil-user-ca' });
  ca = SshCertificateAuthority.fromFile(caFiles.path, 'test CA');
});

function certify(key: KeyFiles, extra: Partial<Parameters<SshCertificateAuthority['sign']>[0]> = {}) {
  const signed = ca.sign({
    publicKeyBlob: parsePublicKeyLine(key.line).blob,
    type: 'user',
    keyId: 'vigil:github:repo:acme/deploy:jti=7',
    principals: ['deploy', 'vigiltest'],
    validAfter: from,
    validBefore: to,
    extensions: { 'permit-pty': '', 'permit-port-forwarding': '', 'identity@vigil': '{"subject":"x"}' },
    ...extra,
  });
  const path = join(kg.dir, `cert-${signed.serial}.pub`);
  writeFileSync(path, signed.line + '\n');
  return { signed, path };
}

describe('SshCertificateAuthority', () => {
  for (const kind of ['ed25519', 'ecdsa', 'rsa'] as const)
    it(`certifies a ${kind} key; ssh-keygen -L reads back every field`, () => {
      const key = kg.key(kind);
      const { signed, path } = certify(key, { criticalOptions: { 'force-command': '/usr/bin/backup', 'source-address': '127.0.0.1/32' } });
      const l = kg.listing(path);
      expect(l.kind).toBe('user');
      expect(l.certType).toBe(signed.certType);
      expect(l.keyId).toBe('vigil:github:repo:acme/deploy:jti=7');
      expect(l.serial).toBe(String(signed.serial));
      expect(l.principals).toEqual(['deploy', 'vigiltest']);
      expect(l.valid).toBe('from 2026-06-01T12:00:00 to 2026-06-01T12:10:00');
      expect(l.signingCa).toBe(`ED25519 ${kg.fingerprint(`${caFiles.path}.pub`)}`);
      expect(l.signingAlgorithm).toBe('ssh-ed25519');
      expect(l.criticalOptions).toEqual(['force-command /usr/bin/backup', 'source-address 127.0.0.1/32']);
      expect(l.extensions.slice().sort()).toEqual([`identity@vigil UNKNOWN OPTION: 0000000f${Buffer.from('{"subject":"x"}').toString('hex')} (len 19)`, 'permit-port-forwarding', 'permit-pty'].sort());
      expect(l.publicKey.split(' ')[1]).toBe(kg.fingerprint(`${key.path}.pub`));
    });

  it('the gateway verifier accepts it for a listed principal, and the serials differ', () => {
    const key = kg.key('ed25519');
    const a = certify(key).signed;
    const b = certify(key).signed;
    expect(a.serial).not.toBe(b.serial);
    const v = UserCertificateVerifier.fromInput({ trustedUserCaKeys: [ca.publicLine] });
    const ok = v.verify({ blob: a.blob, principal: 'deploy', clientAddress: '127.0.0.1', now: new Date('2026-06-01T12:05:00Z') });
    expect(ok.evidence.keyId).toBe('vigil:github:repo:acme/deploy:jti=7');
    expect(ok.permits.pty).toBe(true);
    expect(ok.permits.agentForwarding).toBe(false);
    expect(() => v.verify({ blob: a.blob, principal: 'root', clientAddress: '127.0.0.1', now: new Date('2026-06-01T12:05:00Z') })).toThrow(/principal/);
  });

  it('refuses a CA key that is not Ed25519, and a key type it cannot certify', () => {
    const rsaCa = kg.key('rsa');
    expect(() => SshCertificateAuthority.fromFile(rsaCa.path, 'listeners.ssh.certificateIssuer.key')).toThrow(/ssh-rsa key; Vigil's certificate authorities are Ed25519/);
    expect(() => SshCertificateAuthority.fromFile(join(kg.dir, 'missing'), 'x')).toThrow(/cannot read the CA key/);
    const bogus = new Uint8Array([0, 0, 0, 7, ...Buffer.from('ssh-dss'), 0, 0, 0, 0]);
    expect(() => ca.sign({ publicKeyBlob: bogus, type: 'user', keyId: 'k', principals: ['p'], validAfter: from, validBefore: to })).toThrow(/cannot certify a "ssh-dss" key/);
  });
});

describe('serials', () => {
  it('are never digits a card-number scanner takes for a PAN (they are recorded in decimal)', async () => {
    const { containsCardData } = await import('../../../../shared/pan/index.ts');
    const key = kg.key('ed25519');
    for (let i = 0; i < 300; i++) expect(containsCardData(String(certify(key).signed.serial), { strict: true })).toBe(false);
  });
});
