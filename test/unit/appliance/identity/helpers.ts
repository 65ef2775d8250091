/** Shared bits of the identity tests. */
import { expect } from 'vitest';
import { IdentityError, type IdentityErrorCode } from '../../../../appliance/identity/errors.ts';

/** The IdentityError a promise (or function) fails with; fails the test if it succeeds or throws something else. */
export async function failure(p: Promise<unknown> | (() => unknown), code?: IdentityErrorCode): Promise<IdentityError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    expect(e).toBeInstanceOf(IdentityError);
    if (code) expect((e as IdentityError).code, (e as Error).message).toBe(code);
    return e as IdentityError;
  }
  throw new Error(`expected an IdentityError${code ? ` ${code}` : ''}, but it succeeded`);
}

/** base64url of a JSON value, for hand-built tokens. */
export function b64json(v: unknown): string {
  return Buffer.from(JSON.stringify(v)).toString('base64url');
}

export function decodePart(token: string, i: 0 | 1): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[i]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}
