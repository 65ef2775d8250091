/** The scan of what a user sees along the .deb chain (test/helpers/installed-chain.ts) finds what it must. */
import { describe, expect, it } from 'vitest';
import { SeenByUser } from '../helpers/installed-chain.ts';
import { scanLogLines, withoutIdentifiers } from '../helpers/log-scanner.ts';
import { findCardData } from '../../shared/pan/index.ts';

const DIGEST = '9884950720b748933db08032aae17cfbea91057afd30438934f448f0dc0f9d89'; // once read as a PAN (deb.test)

describe('SeenByUser', () => {
  it('a clear card number, a token and a registered secret are found; masked numbers and generated identifiers are not', () => {
    const seen = new SeenByUser();
    seen.secret('target-Secret-9f3k2');
    seen.saw('psql', { stdout: 'Erika|411111******1111\nHans|5555555555554444\n', stderr: '' });
    seen.saw('export', { stdout: `SHA-256 ${DIGEST}  /var/lib/vigil/x.vigil\n`, stderr: 'password target-Secret-9f3k2 refused\n' });
    seen.saw('client', { stdout: 'Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJib3QifQ.c2ln\n', stderr: '' });
    const f = seen.findings();
    expect(f).toHaveLength(4); // the JWT also matches the bearer pattern
    expect(f.filter((x) => x.includes('clear card number'))).toEqual([expect.stringContaining('psql: Hans|5555555555554444')]);
    expect(f.some((x) => x.includes('export: password') && x.includes('registered secret'))).toBe(true);
    expect(f.some((x) => x.includes('a JWT'))).toBe(true);
  });

  it('blanks identifiers with a letter in them, never a run of digits alone', () => {
    expect(findCardData(`SHA-256 ${DIGEST}`, { strict: true }), 'strict mode reads this digest as a PAN').toHaveLength(1);
    expect(scanLogLines([`SHA-256 ${DIGEST}`], []), 'the log scan (whole suite) blanks it first').toEqual([]);
    expect(withoutIdentifiers(`SHA-256 ${DIGEST} key a09b0e18e084382b`)).toBe(`SHA-256 ${'#'.repeat(64)} key ${'#'.repeat(16)}`);
    expect(withoutIdentifiers('key 4111111111111111')).toBe('key 4111111111111111');
    expect(withoutIdentifiers('fingerprint A09B 0E18 E084 382B E14F 0379 AF9F 3FDF A2DF E5DC 80F9 67E7 3A33 8EB7 166A 9482')).toBe(`fingerprint ${'#'.repeat(79)}`);
  });
});
