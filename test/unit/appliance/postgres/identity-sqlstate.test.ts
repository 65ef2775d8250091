/** The PostgreSQL adapter's answer to identity refusals: a SQLSTATE for every identity error code. */
import { describe, expect, it } from 'vitest';
import { IDENTITY_ERROR_CODES, IdentityError } from '../../../../appliance/identity/errors.ts';
import { IDENTITY_SQLSTATE, sqlstateFor } from '../../../../appliance/protocols/postgres/identity-errors.ts';

describe('identity refusals at the PostgreSQL listener', () => {
  it('map every identity code, and only those, to 28P01 (a different token fixes it) or 28000 (setup)', () => {
    expect(Object.keys(IDENTITY_SQLSTATE).sort()).toEqual([...IDENTITY_ERROR_CODES].sort());
    const p = Object.entries(IDENTITY_SQLSTATE).filter(([, s]) => s === '28P01').map(([c]) => c);
    expect(p.sort()).toEqual(['E_ID_ALGORITHM', 'E_ID_AUDIENCE', 'E_ID_BAD_SIGNATURE', 'E_ID_EXPIRED', 'E_ID_LIFETIME', 'E_ID_MALFORMED', 'E_ID_NOT_YET_VALID', 'E_ID_TOKEN_REPLAYED']);
    for (const [code, s] of Object.entries(IDENTITY_SQLSTATE)) if (code !== 'E_ID_NO_TOKEN' && !p.includes(code)) expect(s, code).toBe('28000');
  });

  it('answer an identity error by its code, and anything unexpected with 28000', () => {
    expect(sqlstateFor(new IdentityError('E_ID_EXPIRED', 'internal', 'client'))).toBe('28P01');
    expect(sqlstateFor(new IdentityError('E_MTLS_EXPIRED', 'internal', 'client'))).toBe('28000');
    expect(sqlstateFor(new Error('boom'))).toBe('28000');
    expect(sqlstateFor(undefined)).toBe('28000');
  });
});
