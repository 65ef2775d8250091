/**
 * Issue 8 item 11, the certificate half: a session admitted by an mTLS client certificate ends at the
 * certificate's notAfter (no clock tolerance, as the certificate check allows none): FATAL 57P01 naming the
 * certificate, nothing runs after it, and the archive's close reason says why.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvidenceEvent } from '../../../shared/evidence/events.ts';
import { exportAndVerify, startGatewayFixture, type GatewayFixture } from '../../helpers/gateway.ts';
import { TestCa } from '../../helpers/identity-provider.ts';

let f: GatewayFixture;
let ca: TestCa;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  ca = TestCa.create(mkdtempSync(join(tmpdir(), 'vigil-ca-')), 'clients');
  f = await startGatewayFixture({
    listener: '    clientCertificates: true\n',
    extraConfig: `mtls:\n  ca: ${ca.certPath}\n  identityFrom: san-uri\n  trustDomains: [acme.test]\n`,
    policies: `policies:
  - name: ci
    match: { subjects: ['spiffe://acme.test/ci/*'] }
    targets: [payments]
    statements: { read: allow, write: allow, transaction: allow, session: allow, default: block }
`,
  });
}, 120_000);
afterAll(async () => {
  await f?.stop();
});

describe('a session admitted by a client certificate', () => {
  it('works until notAfter, then ends with FATAL 57P01 naming the certificate; nothing runs after', async () => {
    // Whole seconds: a certificate's times have no fraction.
    const notAfter = new Date(Math.ceil((Date.now() + 4_000) / 1000) * 1000);
    const cert = ca.issue('short-lived', { subject: '/CN=short-lived', san: ['URI:spiffe://acme.test/ci/short-lived'], usage: 'client', notAfter });
    expect(new Date(new X509Certificate(readFileSync(cert.certPath)).validTo).getTime(), 'the certificate ends when asked').toBe(notAfter.getTime());
    const client = new pg.Client({ host: '127.0.0.1', port: f.port, user: 'cert-bot', database: 'payments', password: '', ssl: { rejectUnauthorized: false, cert: cert.cert, key: cert.key } });
    const ended = new Promise<{ error: pg.DatabaseError; at: number }>((resolve) => client.on('error', (e) => resolve({ error: e as pg.DatabaseError, at: Date.now() })));
    await client.connect();
    expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);

    const { error, at } = await ended;
    expect(error.code).toBe('57P01');
    expect(error.message).toBe(`your client certificate expired at ${notAfter.toISOString().replace('.000Z', 'Z')}; connect again with a renewed certificate`);
    expect(at, 'not before notAfter (no tolerance is added, none subtracted)').toBeGreaterThanOrEqual(notAfter.getTime());
    expect(at).toBeLessThan(notAfter.getTime() + 1_500);

    await sleep(500);
    await expect(client.query("INSERT INTO audit_scratch (v) VALUES ('after cert expiry')")).rejects.toThrow();
    expect(f.pg.psql("SELECT count(*) FROM audit_scratch WHERE v = 'after cert expiry'", { database: 'payments' }).trim()).toBe('0');
    await client.end().catch(() => undefined);
  }, 20_000);

  describe('the evidence', () => {
    let session: EvidenceEvent[] = [];
    beforeAll(async () => {
      await f.gateway.stop();
      const { report, sessions } = await exportAndVerify(f);
      expect(report.checks.filter((c) => c.status !== 'pass')).toEqual([]);
      session = [...sessions.values()].find((evs) => evs.some((e) => e.type === 'identity.verified' && String(e.subject).endsWith('/short-lived'))) ?? [];
    }, 60_000);

    it('records the certificate identity, its end, the FATAL and a close reason naming the certificate', () => {
      expect(session.length).toBeGreaterThan(0);
      const limits = session.find((e) => e.type === 'notice' && e.kind === 'session-limits');
      expect(limits?.credentialEndsAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect(session.find((e) => e.type === 'error' && e.code === '57P01')?.message).toMatch(/^your client certificate expired at /);
      const close = session.at(-1)!;
      expect(close.type).toBe('session.close');
      expect(String(close.reason)).toMatch(/^ended by the gateway: client certificate expired at \S+Z/);
      expect(session.filter((e) => e.type === 'command').map((e) => e.text)).toEqual(['SELECT 1 AS one']);
    });
  });
});
