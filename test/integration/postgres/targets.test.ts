/**
 * Target and client transport: TLS to the target (required and verify-full), md5 and SCRAM logins with
 * credentials from a file or the environment, targets that would read SQL differently from the parser
 * (standard_conforming_strings off), and mTLS client certificates as the identity.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPsql, startGatewayFixture, type GatewayFixture } from '../../helpers/gateway.ts';
import { TestCa } from '../../helpers/identity-provider.ts';

let f: GatewayFixture;
let ca: TestCa;
let otherCa: TestCa;

beforeAll(async () => {
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const caDir = mkdtempSync(join(tmpdir(), 'vigil-ca-'));
  ca = TestCa.create(caDir, 'clients');
  otherCa = TestCa.create(caDir, 'rogue');
  process.env['VIGIL_TEST_MD5_PASSWORD'] = 'gw-test-password-md5';
  f = await startGatewayFixture({
    beforeStart: (pg) => {
      pg.psql("CREATE ROLE svc_legacy LOGIN PASSWORD 'target-Secret-9f3k2'; ALTER ROLE svc_legacy SET standard_conforming_strings = off; GRANT SELECT ON ALL TABLES IN SCHEMA public TO svc_legacy", { database: 'payments' });
    },
    pgTls: true,
    pgAuth: 'md5',
    listener: '    clientCertificates: true\n',
    extraConfig: `mtls:\n  ca: ${ca.certPath}\n  identityFrom: san-uri\n  trustDomains: [acme.test]\n`,
    extraTargets: `  - name: payments-verified
    protocol: postgres
    host: 127.0.0.1
    port: PGPORT
    database: payments
    user: svc_reporting
    credential: { file: secrets/payments.password }
    tls: { mode: verify-full, ca: PGCA, serverName: 127.0.0.1 }
  - name: payments-md5
    protocol: postgres
    host: 127.0.0.1
    port: PGPORT
    database: payments
    user: gw_md5
    credential: { env: VIGIL_TEST_MD5_PASSWORD }
  - name: payments-legacy
    protocol: postgres
    host: 127.0.0.1
    port: PGPORT
    database: payments
    user: svc_legacy
    credential: { file: secrets/payments.password }
`,
    policies: `policies:
  - name: ci
    match: { subjects: ['repo:acme/*', 'spiffe://acme.test/ci/*'] }
    targets: ['payments*']
    statements: { read: allow, default: block }
`,
  });
}, 120_000);
afterAll(async () => {
  await f?.stop();
});

describe('to the target', () => {
  it('logs in over TLS when the target requires it', async () => {
    const r = await f.psql('SELECT 1');
    expect(r.code).toBe(0);
    const ssl = f.pg.psql("SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.usename = 'svc_reporting'").trim();
    expect(ssl === '' || ssl.split('\n').every((x) => x === 't')).toBe(true);
  });

  it('verify-full checks the target certificate against its CA', async () => {
    expect((await f.psql('SELECT current_user', { database: 'payments-verified' })).stdout.trim()).toBe('svc_reporting');
  });

  it('md5 login with a credential from the environment', async () => {
    expect((await f.psql('SELECT current_user', { database: 'payments-md5' })).stdout.trim()).toBe('gw_md5');
  });

  it('a target that reads SQL with standard_conforming_strings off is refused', async () => {
    const r = await f.psql('SELECT 1', { database: 'payments-legacy' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/runs with standard_conforming_strings off, which Vigil cannot police safely/);
  });
});

describe('mTLS client certificates', () => {
  it('a certificate with a SPIFFE ID from the trusted CA is an identity (no token needed)', async () => {
    const cert = ca.issue('bot', { subject: '/CN=payments-bot', san: ['URI:spiffe://acme.test/ci/payments-bot'], usage: 'client' });
    const r = await runPsql(f.port, 'SELECT current_user', '', { extraEnv: { PGSSLCERT: cert.certPath, PGSSLKEY: cert.keyPath, PGPASSWORD: '' } });
    expect([r.code, r.stdout.trim(), r.stderr]).toEqual([0, 'svc_reporting', '']);
  });

  it('a certificate from another CA: 28000, and no fallback to a password', async () => {
    const cert = otherCa.issue('rogue-bot', { subject: '/CN=rogue', san: ['URI:spiffe://acme.test/ci/rogue'], usage: 'client' });
    const r = await runPsql(f.port, 'SELECT 1', await f.token(), { extraEnv: { PGSSLCERT: cert.certPath, PGSSLKEY: cert.keyPath } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/client certificate is not issued by a CA this gateway trusts/);
  });
});
