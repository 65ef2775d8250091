import { describe, expect, it } from 'vitest';
import { ClaimProblem, groupsFromClaim, summarizeClaims } from '../../../../appliance/identity/claims.ts';
import { clientMessageFor, IDENTITY_ERROR_CODES, IdentityError, isoSeconds, logValue } from '../../../../appliance/identity/errors.ts';
import { isSpiffeId, parseSpiffeId, spiffeGroups } from '../../../../appliance/identity/spiffe-id.ts';
import { VigilError } from '../../../../shared/errors.ts';

describe('SPIFFE IDs', () => {
  it('parses valid IDs and derives prefix groups', () => {
    const id = parseSpiffeId('spiffe://acme.test/ns/prod/sa/payments');
    expect(isSpiffeId(id) && spiffeGroups(id)).toEqual(['trust-domain:acme.test', 'spiffe://acme.test/ns/', 'spiffe://acme.test/ns/prod/', 'spiffe://acme.test/ns/prod/sa/']);
    const td = parseSpiffeId('spiffe://acme.test');
    expect(isSpiffeId(td) && spiffeGroups(td)).toEqual(['trust-domain:acme.test']);
  });

  it.each([
    ['spiffe://ACME.test/a', 'trust domain'],
    ['spiffe:///a', 'trust domain'],
    ['spiffe://acme.test:8443/a', 'trust domain'],
    ['spiffe://user@acme.test/a', 'trust domain'],
    ['spiffe://acme.test//a', 'empty path segment'],
    ['spiffe://acme.test/a/', 'trailing'],
    ['spiffe://acme.test/./a', '. or ..'],
    ['spiffe://acme.test/a%2Fb', 'path character'],
    ['SPIFFE://acme.test/a', 'spiffe://'],
    [`spiffe://acme.test/${'a'.repeat(2100)}`, 'longer'],
  ])('refuses %s', (s, why) => {
    const r = parseSpiffeId(s);
    expect(isSpiffeId(r)).toBe(false);
    expect((r as { error: string }).error).toContain(why);
  });
});

describe('groups and claims', () => {
  it('reads arrays and separated strings, trimming and skipping empties', () => {
    expect(groupsFromClaim({ g: ['a', ' b ', ''] }, 'g')).toEqual(['a', 'b']);
    expect(groupsFromClaim({ g: 'a b,c ,, d' }, 'g')).toEqual(['a', 'b', 'c', 'd']);
    expect(groupsFromClaim({}, 'g')).toEqual([]);
    expect(() => groupsFromClaim({ g: { a: 1 } }, 'g')).toThrow(ClaimProblem);
    expect(() => groupsFromClaim({ g: ['x\ny'] }, 'g')).toThrow(/control characters/);
    expect(() => groupsFromClaim({ g: Array.from({ length: 300 }, (_, i) => `g${i}`) }, 'g')).toThrow(/more than 256/);
  });

  it('summarises only listed, plain, non-secret values', () => {
    const payload = {
      repository: 'acme/payments',
      run_id: '1',
      n: 3,
      ok: true,
      list: ['a', 'b'],
      obj: { nested: 1 },
      long: 'x'.repeat(300),
      id_token: 'aaaaaaaaaa.bbbbbbbbbb.cccccccccc',
      jwtish: 'eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl',
      api_key: 'k',
    };
    expect(summarizeClaims(payload, Object.keys(payload))).toEqual({ repository: 'acme/payments', run_id: '1', n: 3, ok: true, list: ['a', 'b'] });
  });
});

describe('errors', () => {
  it('have stable codes of their own and no wire-protocol error (each adapter maps them: test/unit/appliance/postgres/identity-sqlstate.test.ts)', () => {
    expect(new Set(IDENTITY_ERROR_CODES).size).toBe(IDENTITY_ERROR_CODES.length);
    for (const c of IDENTITY_ERROR_CODES) expect(c).toMatch(/^E_(ID|MTLS)_[A-Z_]+$/);
    const e = new IdentityError('E_ID_EXPIRED', 'internal', 'client');
    expect(e).toBeInstanceOf(VigilError);
    expect([e.code, e.message, clientMessageFor(e)]).toEqual(['E_ID_EXPIRED', 'internal', 'client']);
    expect('sqlstate' in e).toBe(false);
  });

  it('give unexpected errors the generic client message', () => {
    expect(clientMessageFor(new Error('secret detail'))).toBe('authentication failed');
  });

  it('log attacker values quoted and bounded', () => {
    expect(logValue('a\nb')).toBe('"a\\nb"');
    expect(logValue('x'.repeat(200)).length).toBeLessThan(130);
    expect(isoSeconds(1_900_000_000)).toBe('2030-03-17T17:46:40Z');
  });
});
