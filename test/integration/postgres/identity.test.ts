/**
 * Who may connect: an OIDC token as the password over TLS, checked against the JWKS; failures get 28P01
 * or 28000 with a message that helps a legitimate bot and leaks nothing, and every attempt is recorded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayFixture, type GatewayFixture } from '../../helpers/gateway.ts';

let f: GatewayFixture;
beforeAll(async () => {
  f = await startGatewayFixture();
});
afterAll(async () => {
  await f?.stop();
});

async function fails(token: string, sslmode = 'require') {
  const r = await f.psql('SELECT 1', { token, sslmode });
  expect(r.code).toBe(2);
  return r.stderr;
}

describe('token identity', () => {
  it('a valid GitHub Actions token works over TLS', async () => {
    const r = await f.psql('SELECT current_user', { token: await f.token() });
    expect([r.code, r.stdout.trim()]).toEqual([0, 'svc_reporting']);
  });

  it('an expired token: 28P01, says when it expired', async () => {
    const old = await f.idp.mintGithubActions({ repository: 'acme/payments', audience: 'vigil-test', now: new Date(Date.now() - 3_600_000), lifetimeSeconds: 300 });
    expect(await fails(old)).toMatch(/FATAL: {2}token expired at \d{4}-\d\d-\d\dT[\d:]+Z/);
  });

  it('a token for another audience: 28P01 names the audience to request', async () => {
    expect(await fails(await f.token({ audience: 'someone-else' }))).toMatch(/FATAL: .*audience.*vigil-test/);
  });

  it('garbage as the password: 28P01 without echoing it', async () => {
    const err = await fails('hunter2-not-a-token');
    expect(err).toMatch(/password is not a valid identity token/);
    expect(err).not.toContain('hunter2');
  });

  it('a token from an issuer nobody configured: 28000', async () => {
    const { TestIdentityProvider } = await import('../../../appliance/identity/test-identity-provider.ts');
    const rogue = await TestIdentityProvider.create({ issuer: 'https://evil.example' });
    const t = await rogue.mintGithubActions({ repository: 'acme/payments', audience: 'vigil-test' });
    expect(await fails(t)).toMatch(/token issuer is not accepted by this gateway/);
  });

  it('a forged signature (right issuer, wrong key): 28P01, nothing about keys', async () => {
    const { TestIdentityProvider } = await import('../../../appliance/identity/test-identity-provider.ts');
    const forger = await TestIdentityProvider.create({ issuer: 'https://token.actions.githubusercontent.com' });
    const err = await fails(await forger.mintGithubActions({ repository: 'acme/payments', audience: 'vigil-test' }));
    expect(err).toMatch(/FATAL/);
    expect(err).not.toMatch(/kid|jwk|key id/i);
  });

  it('no TLS: the token is never asked for', async () => {
    const err = await fails(await f.token(), 'disable');
    expect(err).toMatch(/Vigil accepts identity tokens only over TLS/);
    expect(err).toMatch(/sslmode=require/);
  });

  it('an identity no policy names: 28000 after identity is proven', async () => {
    expect(await fails(await f.token({ repository: 'nobody/tools' }))).toMatch(/no policy grants repo:nobody\/tools:ref:refs\/heads\/main access to target "payments"/);
  });

  it('a target that does not exist gets the same answer as one that is not granted', async () => {
    const r = await f.psql('SELECT 1', { database: 'hr-db' });
    expect(r.stderr).toMatch(/no policy grants .* access to target "hr-db"/);
  });

  it('the startup parameter options (-c role=…) is refused by default', async () => {
    const r = await f.psql('SELECT 1', { extraEnv: { PGOPTIONS: '-c role=gw' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/the startup parameter "options" is not allowed by the Vigil policy/);
  });

  it('the log names failures but never the token', async () => {
    const t = await f.token({ audience: 'wrong' });
    await fails(t);
    const logs = f.logs();
    expect(logs).toMatch(/connection refused/);
    expect(logs).not.toContain(t);
    expect(logs).not.toContain(t.split('.')[2]!);
  });
});
