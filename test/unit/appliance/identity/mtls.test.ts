import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { beforeAll, describe, expect, it } from 'vitest';
import { crypto } from '../../../../shared/crypto/backend.ts';
import { mtlsSchema, type MtlsConfig, type MtlsInput } from '../../../../appliance/identity/config.ts';
import { IdentityError } from '../../../../appliance/identity/errors.ts';
import { sqlstateFor } from '../../../../appliance/protocols/postgres/identity-errors.ts';
import { identityFromCertificate, mtlsServerOptions, parseSubjectAltName } from '../../../../appliance/identity/mtls.ts';
import { tokenHash } from '../../../../appliance/identity/token-hash.ts';
import type { VerifiedIdentity } from '../../../../appliance/identity/verified-identity.ts';
import { tempDir, TestCa, type CertFiles } from '../../../helpers/identity-provider.ts';
import { failure } from './helpers.ts';

const SPIFFE_ID = 'spiffe://acme.test/ns/prod/sa/payments';

let key: Uint8Array;
let ca: TestCa;
let server: CertFiles;
let spiffeClient: CertFiles;
let cnClient: CertFiles;
let rogueClient: CertFiles;
let twoUris: CertFiles;

beforeAll(() => {
  key = crypto().randomBytes(32);
  const dir = tempDir('vigil-mtls-');
  ca = TestCa.create(dir, 'client-ca');
  const rogue = TestCa.create(dir, 'rogue-ca');
  server = ca.issue('server', { subject: '/CN=vigil.test', san: ['IP:127.0.0.1'], usage: 'server' });
  spiffeClient = ca.issue('spiffe', { subject: '/CN=payments/O=Acme', san: [`URI:${SPIFFE_ID}`, 'DNS:payments.acme.test'], usage: 'client', serial: '0xabcdef01' });
  cnClient = ca.issue('cn', { subject: '/CN=ci-bot/OU=payments/OU=ops/O=Acme', usage: 'client' });
  rogueClient = rogue.issue('rogue', { subject: '/CN=ci-bot/OU=payments', san: [`URI:${SPIFFE_ID}`], usage: 'client' });
  twoUris = ca.issue('two-uris', { subject: '/CN=two', san: [`URI:${SPIFFE_ID}`, 'URI:spiffe://acme.test/other'], usage: 'client' });
});

function cfg(input: Partial<MtlsInput> = {}): MtlsConfig {
  return mtlsSchema.parse({ ca: ca.certPath, identityFrom: 'san-uri', ...input });
}

interface Outcome {
  x509: VerifiedIdentity | IdentityError;
  legacy: VerifiedIdentity | IdentityError;
}

/** A real handshake on 127.0.0.1; the server judges the client's certificate both ways Node offers it. */
async function handshake(client: CertFiles | undefined, config: MtlsConfig, now?: Date): Promise<Outcome> {
  const judge = (socket: TLSSocket, peer: Parameters<typeof identityFromCertificate>[0]) => {
    try {
      return identityFromCertificate(peer, socket.authorized, config, { fingerprintKey: key, authorizationError: socket.authorizationError, ...(now ? { now } : {}) });
    } catch (e) {
      if (e instanceof IdentityError) return e;
      throw e;
    }
  };
  const srv = createServer({ cert: server.cert, key: server.key, ...mtlsServerOptions(config, (p) => p) });
  const judged = new Promise<Outcome>((resolve, reject) => {
    srv.once('secureConnection', (socket: TLSSocket) => {
      try {
        resolve({ x509: judge(socket, socket.getPeerX509Certificate()), legacy: judge(socket, socket.getPeerCertificate()) });
      } catch (e) {
        reject(e);
      }
      socket.end();
    });
    srv.once('tlsClientError', reject);
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const sock = connect({ host: '127.0.0.1', port: (srv.address() as AddressInfo).port, ca: ca.cert, ...(client ? { cert: client.cert, key: client.key } : {}) });
  sock.on('error', () => {});
  try {
    return await judged;
  } finally {
    sock.destroy();
    srv.close();
  }
}

async function identity(client: CertFiles, config: MtlsConfig, now?: Date): Promise<VerifiedIdentity> {
  const r = await handshake(client, config, now);
  if (r.x509 instanceof Error) throw r.x509;
  expect(r.legacy).toEqual(r.x509);
  return r.x509;
}

async function error(client: CertFiles | undefined, config: MtlsConfig, now?: Date): Promise<IdentityError> {
  const r = await handshake(client, config, now);
  expect(r.x509).toBeInstanceOf(IdentityError);
  expect((r.legacy as IdentityError).code).toBe((r.x509 as IdentityError).code);
  return r.x509 as IdentityError;
}

describe('mTLS identity over a real handshake', () => {
  it('takes the SPIFFE ID from the URI SAN', async () => {
    const id = await identity(spiffeClient, cfg());
    const der = new X509Certificate(readFileSync(spiffeClient.certPath)).raw;
    expect(id).toEqual({
      method: 'mtls',
      provider: 'mtls',
      issuer: 'CN=Vigil Test client-ca, O=Vigil Tests',
      subject: SPIFFE_ID,
      groups: ['trust-domain:acme.test', 'spiffe://acme.test/ns/', 'spiffe://acme.test/ns/prod/', 'spiffe://acme.test/ns/prod/sa/'],
      tokenId: 'ABCDEF01',
      tokenHash: tokenHash(key, der),
      expiresAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      claims: { subject_dn: 'CN=payments, O=Acme', spiffe_id: SPIFFE_ID, trust_domain: 'acme.test', not_after: id.expiresAt },
    });
  });

  it('takes the subject CN, with OU and O groups when asked', async () => {
    const id = await identity(cnClient, cfg({ identityFrom: 'subject-cn', groupsFrom: ['subject-ou', 'subject-o'] }));
    expect(id.subject).toBe('ci-bot');
    expect(id.groups).toEqual(['ou:payments', 'ou:ops', 'o:Acme']);
    expect((await identity(cnClient, cfg({ identityFrom: 'subject-cn' }))).groups).toEqual([]);
  });

  it('refuses a certificate from an untrusted CA', async () => {
    const e = await error(rogueClient, cfg());
    expect(e.code).toBe('E_MTLS_UNTRUSTED');
    expect(sqlstateFor(e)).toBe('28000');
    expect(e.message).toMatch(/rogue-ca.*does not chain to the configured CA: UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
    expect(e.clientMessage).toBe('client certificate is not issued by a CA this gateway trusts');
    expect(e.tokenHash).toMatch(/^b2k:/);
  });

  it('refuses a connection without a client certificate', async () => {
    const e = await error(undefined, cfg());
    expect(e.code).toBe('E_MTLS_NO_CERT');
    expect(e.clientMessage).toBe('a client certificate is required');
  });

  it('refuses an expired or not yet valid certificate', async () => {
    const e = await error(spiffeClient, cfg(), new Date(Date.now() + 30 * 86_400_000));
    expect(e.code).toBe('E_MTLS_EXPIRED');
    expect(e.clientMessage).toMatch(/^client certificate expired at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ; renew it$/);
    expect((await error(spiffeClient, cfg(), new Date(Date.now() - 30 * 86_400_000))).code).toBe('E_MTLS_NOT_YET_VALID');
  });

  it('refuses a certificate without a usable identity', async () => {
    const noUri = await error(cnClient, cfg());
    expect(noUri.code).toBe('E_MTLS_NO_IDENTITY');
    expect(noUri.clientMessage).toBe('client certificate has no usable identity: URI SAN is missing (expected a SPIFFE ID)');
    expect((await error(twoUris, cfg())).code).toBe('E_MTLS_NO_IDENTITY');
    expect((await error(spiffeClient, cfg({ trustDomains: ['other.test'] }))).code).toBe('E_MTLS_NO_IDENTITY');
  });
});

describe('identityFromCertificate without a socket', () => {
  it('accepts an X509Certificate and trusts only the authorized flag for the chain', () => {
    const cert = new X509Certificate(readFileSync(spiffeClient.certPath));
    expect(identityFromCertificate(cert, true, cfg(), { fingerprintKey: key }).subject).toBe(SPIFFE_ID);
    return failure(() => identityFromCertificate(cert, false, cfg(), { fingerprintKey: key, authorizationError: 'SELF_SIGNED' }), 'E_MTLS_UNTRUSTED');
  });

  it('treats an empty peer certificate ({}) as none', () => failure(() => identityFromCertificate({} as never, false, cfg(), { fingerprintKey: key }), 'E_MTLS_NO_CERT'));

  it('refuses a certificate that does not parse', () =>
    failure(() => identityFromCertificate({ raw: Buffer.from('not DER') } as never, true, cfg(), { fingerprintKey: key }), 'E_MTLS_MALFORMED'));
});

describe('parseSubjectAltName', () => {
  it('splits Node’s format, including quoted values', () => {
    expect(parseSubjectAltName('DNS:a.test, URI:spiffe://td/x, IP Address:127.0.0.1')).toEqual([
      { type: 'DNS', value: 'a.test' },
      { type: 'URI', value: 'spiffe://td/x' },
      { type: 'IP Address', value: '127.0.0.1' },
    ]);
    expect(parseSubjectAltName('URI:"spiffe://td/a, URI:spiffe://td/b", DNS:x')).toEqual([
      { type: 'URI', value: 'spiffe://td/a, URI:spiffe://td/b' },
      { type: 'DNS', value: 'x' },
    ]);
    expect(parseSubjectAltName('')).toEqual([]);
  });

  it('refuses what it cannot parse completely', () => {
    expect(parseSubjectAltName('garbage')).toBeUndefined();
  });
});
