import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { md5PasswordResponse, PgAuthError, saslprep, ScramClient, scramPasswordBytes } from '../../../../appliance/protocols/postgres/wire/index.ts';

/** RFC 7677 section 3: user "user", password "pencil". */
const RFC7677 = {
  nonce: 'rOprNGfwEbeRWgbNEkqO',
  clientFirst: 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO',
  serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
  clientFinal: 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
};

async function rfcClient(): Promise<ScramClient> {
  const c = new ScramClient('pencil', { nonce: RFC7677.nonce, user: 'user' });
  expect(c.clientFirstMessage().toString()).toBe(RFC7677.clientFirst);
  expect((await c.clientFinalMessage(Buffer.from(RFC7677.serverFirst))).toString()).toBe(RFC7677.clientFinal);
  return c;
}

async function refusal(p: Promise<unknown> | (() => unknown), message: RegExp): Promise<void> {
  const err = await (typeof p === 'function' ? Promise.resolve().then(p) : p).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PgAuthError);
  expect((err as Error).message).toMatch(message);
}

describe('SCRAM-SHA-256 client', () => {
  test('reproduces the RFC 7677 exchange and accepts the right server signature', async () => {
    const c = await rfcClient();
    expect(c.verified).toBe(false);
    c.verifyServerFinal(Buffer.from(RFC7677.serverFinal));
    expect(c.verified).toBe(true);
  });

  test('sends what PostgreSQL expects: no channel binding, empty user name, 18-byte nonce', () => {
    const first = new ScramClient('pw').clientFirstMessage().toString();
    expect(first).toMatch(/^n,,n=,r=[A-Za-z0-9+/]{24}$/);
  });

  test('refuses a server that cannot prove it knows the password', async () => {
    const c = await rfcClient();
    const wrong = Buffer.from(RFC7677.serverFinal.replace('6rri', '6rrj'));
    await refusal(() => c.verifyServerFinal(wrong), /could not prove it knows the password/);
    expect(c.verified).toBe(false);
    await refusal(async () => (await rfcClient()).verifyServerFinal(Buffer.from('v=AAAA')), /could not prove/);
    await refusal(async () => (await rfcClient()).verifyServerFinal(Buffer.from('e=invalid-proof')), /refused SCRAM authentication: invalid-proof/);
    await refusal(async () => (await rfcClient()).verifyServerFinal(Buffer.from(`${RFC7677.serverFinal},x=1`)), /malformed/);
    await refusal(async () => new ScramClient('p').verifyServerFinal(Buffer.from(RFC7677.serverFinal)), /unexpected SCRAM server-final/);
  });

  test('refuses malformed or hostile server-first messages', async () => {
    const first = (serverFirst: string, options = {}) => {
      const c = new ScramClient('pencil', { nonce: 'abc', ...options });
      c.clientFirstMessage();
      return c.clientFinalMessage(Buffer.from(serverFirst));
    };
    await refusal(first('r=xyzdef,s=c2FsdA==,i=4096'), /nonce does not extend ours/);
    await refusal(first('r=abc,s=c2FsdA==,i=4096'), /nonce does not extend ours/);
    await refusal(first('r=abcdef,s=not base64!,i=4096'), /malformed salt/);
    await refusal(first('r=abcdef,s=,i=4096'), /malformed salt/);
    await refusal(first('r=abcdef,s=c2FsdA==,i=0'), /iteration count "0"/);
    await refusal(first('r=abcdef,s=c2FsdA==,i=4096', { maxIterations: 1000 }), /iteration count "4096"/);
    await refusal(first('m=ext,r=abcdef,s=c2FsdA==,i=4096'), /mandatory extension/);
    await refusal(first('s=c2FsdA==,r=abcdef,i=4096'), /expected attribute "r"/);
    await refusal(first('r=abcdef,s=c2FsdA=='), /malformed SCRAM server-first/);
  });
});

describe('SASLprep as PostgreSQL does it', () => {
  const prep = (s: string) => saslprep(Buffer.from(s, 'utf8'));
  const ok = (s: string) => {
    const r = prep(s);
    expect(r.ok, JSON.stringify(s)).toBe(true);
    return r.ok ? r.value.toString('utf8') : '';
  };

  test('maps, normalizes and keeps ASCII as is (RFC 4013 examples)', () => {
    expect(ok('I\u00ADX')).toBe('IX'); // soft hyphen mapped to nothing
    expect(ok('user')).toBe('user');
    expect(ok('USER')).toBe('USER');
    expect(ok('\u00AA')).toBe('a'); // NFKC
    expect(ok('\u2168')).toBe('IX'); // NFKC
    expect(ok('a\u00A0b\u3000c')).toBe('a b c'); // non-ASCII spaces become SPACE
    expect(ok('\uFB01sh')).toBe('fish');
    expect(ok('\u0627\u0628')).toBe('\u0627\u0628'); // right-to-left only: fine
    // PostgreSQL returns pure ASCII untouched, control characters included.
    expect(ok('tab\there\x07')).toBe('tab\there\x07');
  });

  test('fails where PostgreSQL fails, and then the raw password is used', () => {
    expect(prep('\u0627\u0031')).toEqual({ ok: false, reason: 'prohibited' }); // RandALCat not at both ends
    expect(prep('\u0627a\u0628')).toEqual({ ok: false, reason: 'prohibited' }); // RandALCat with LCat
    expect(prep('caf\u00e9\u0007')).toEqual({ ok: false, reason: 'prohibited' }); // control character, non-ASCII input
    expect(prep('\u00AD')).toEqual({ ok: false, reason: 'prohibited' }); // maps to nothing at all
    expect(prep('\uE000x')).toEqual({ ok: false, reason: 'prohibited' }); // private use
    expect(prep('\u0221x')).toEqual({ ok: false, reason: 'prohibited' }); // unassigned in Unicode 3.2
    expect(saslprep(Buffer.from([0x70, 0xc3]))).toEqual({ ok: false, reason: 'invalid-utf8' });
    expect(saslprep(Buffer.from([0xed, 0xa0, 0x80]))).toEqual({ ok: false, reason: 'invalid-utf8' }); // encoded surrogate
    expect(scramPasswordBytes('\u0627\u0031')).toEqual(Buffer.from('\u0627\u0031'));
    expect(scramPasswordBytes(Buffer.from([0x70, 0xc3]))).toEqual(Buffer.from([0x70, 0xc3]));
  });

  test('checks prohibited characters before normalizing, like pg_saslprep', () => {
    // U+0340 is prohibited (C.8) but NFKC turns it into U+0300, which is not: an RFC-exact SASLprep
    // accepts "a\u0340", PostgreSQL refuses it (and both sides then hash the raw bytes).
    expect(prep('a\u0340')).toEqual({ ok: false, reason: 'prohibited' });
    expect(ok('\u2474x\u00e9')).toBe('(1)x\u00e9');
    // A BOM at the start is kept through decoding and then mapped to nothing.
    expect(ok('\uFEFFp\u00e4ss')).toBe('p\u00e4ss');
  });
});

describe('md5 password response', () => {
  test('is "md5" + md5(md5(password + user) + salt)', () => {
    const salt = Buffer.from([0x01, 0x02, 0x03, 0x04]);
    const inner = createHash('md5').update('secretalice').digest('hex');
    const expected = 'md5' + createHash('md5').update(Buffer.concat([Buffer.from(inner), salt])).digest('hex');
    expect(md5PasswordResponse('alice', 'secret', salt)).toBe(expected);
    expect(md5PasswordResponse('alice', 'secret', salt)).toMatch(/^md5[0-9a-f]{32}$/);
    expect(() => md5PasswordResponse('a', 'b', Buffer.alloc(3))).toThrow(RangeError);
  });
});
