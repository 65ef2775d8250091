/**
 * authenticateUpstream against a real PostgreSQL 15 (SCRAM, md5, cleartext, trust, TLS, SASLprep'd
 * passwords) and against scripted impostors that must be refused.
 */
import { randomBytes } from 'node:crypto';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  authenticateUpstream,
  BackendReader,
  decodeSASLInitialResponse,
  PgAuthError,
  PgConnectionError,
  PgServerError,
  requestUpstreamTls,
  toClient,
  toServer,
  type UpstreamAuthOptions,
} from '../../../../appliance/protocols/postgres/wire/index.ts';
import { startPostgres, type PostgresServer } from '../../../helpers/postgres.ts';
import { connectTcp, fakeServer, roundTrip, simpleQuery } from './pg-session.ts';

let pg: PostgresServer;

const UNICODE_USERS = [
  // [role, password stored by CREATE ROLE, password the client gives]
  ['u_nfkc', 'p\u00e4ssw\u00f6rd', 'pa\u0308sswo\u0308rd'], // composed vs decomposed: same after NFKC
  ['u_lig', '\uFB01sh\u00A0\u00e9', 'fish \u00e9'], // ligature and no-break space
  ['u_prohib', 'x\u0340y\u00e9', 'x\u0340y\u00e9'], // SASLprep fails on both sides: raw bytes hashed
] as const;

beforeAll(async () => {
  pg = await startPostgres({
    tls: true,
    auth: 'md5',
    extraUsers: [
      { name: 'gw_clear', password: 'clear-text-pw', auth: 'password' },
      { name: 'gw_trust', password: 'unused', auth: 'trust' },
      ...UNICODE_USERS.map(([name, password]) => ({ name, password, auth: 'scram-sha-256' as const })),
    ],
  });
});
afterAll(() => pg?.stop());

async function login(options: Omit<UpstreamAuthOptions, 'database'> & { database?: string }) {
  const socket = await connectTcp(pg.port);
  const session = await authenticateUpstream(socket, { database: 'postgres', ...options });
  return { socket, session };
}

async function refused(p: Promise<unknown>): Promise<Error> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e, 'expected the login to fail').toBeInstanceOf(Error);
  return e as Error;
}

describe('authenticateUpstream against PostgreSQL 15', () => {
  test('SCRAM-SHA-256: right password opens a usable session', async () => {
    const { socket, session } = await login({ user: 'gw', password: pg.password, params: { application_name: 'vigil-test' } });
    expect(session.method).toBe('scram-sha-256');
    expect(session.parameters.get('server_version')).toMatch(/^15\./);
    expect(session.parameters.get('application_name')).toBe('vigil-test');
    expect(session.backendKey.pid).toBeGreaterThan(0);
    expect(session.backendKey.secret.length).toBe(4);
    expect(session.transactionStatus).toBe('I');
    const r = await simpleQuery(socket, 'select current_user, pg_backend_pid()', session.leftover);
    expect(r.rows).toEqual([['gw', String(session.backendKey.pid)]]);
    socket.end(toServer.terminate());
  });

  test("FunctionCall ('F') and its FunctionCallResponse ('V')", async () => {
    const { socket, session } = await login({ user: 'gw', password: pg.password });
    const oid = Number((await simpleQuery(socket, "select 'int4abs'::regproc::oid", session.leftover)).rows[0]![0]);
    const reply = await roundTrip(socket, toServer.functionCall(oid, ['-5'], [0], 0));
    expect(reply).toEqual([
      { type: 'V', result: Buffer.from('5') },
      { type: 'Z', status: 'I' },
    ]);
    const binary = await roundTrip(socket, toServer.functionCall(oid, [Buffer.from([0xff, 0xff, 0xff, 0xf9])], [1], 1));
    expect(binary[0]).toEqual({ type: 'V', result: Buffer.from([0, 0, 0, 7]) });
    socket.destroy();
  });

  test("SCRAM-SHA-256: a wrong password fails with the server's error", async () => {
    const e = await refused(login({ user: 'gw', password: 'wrong' }));
    expect(e).toBeInstanceOf(PgServerError);
    const err = e as PgServerError;
    expect(err.sqlstate).toBe('28P01');
    expect(err.severity).toBe('FATAL');
    expect(err.fields.get('M')).toBe('password authentication failed for user "gw"');
  });

  test('md5: right password works, wrong one fails', async () => {
    const user = pg.md5User!;
    const { socket, session } = await login({ user: user.name, password: user.password });
    expect(session.method).toBe('md5');
    expect((await simpleQuery(socket, 'select current_user', session.leftover)).rows).toEqual([[user.name]]);
    socket.destroy();
    const e = (await refused(login({ user: user.name, password: 'nope' }))) as PgServerError;
    expect(e.sqlstate).toBe('28P01');
    expect(e.fields.get('M')).toBe(`password authentication failed for user "${user.name}"`);
  });

  test('cleartext and trust work, and a method outside `allow` is refused before sending the password', async () => {
    const clear = await login({ user: 'gw_clear', password: 'clear-text-pw' });
    expect(clear.session.method).toBe('cleartext');
    clear.socket.destroy();
    const trust = await login({ user: 'gw_trust' });
    expect(trust.session.method).toBe('trust');
    trust.socket.destroy();
    const e = await refused(login({ user: 'gw_clear', password: 'clear-text-pw', allow: ['scram-sha-256', 'md5'] }));
    expect(e).toBeInstanceOf(PgAuthError);
    expect(e.message).toMatch(/cleartext authentication, which is not allowed/);
    const none = await refused(login({ user: 'gw' }));
    expect(none.message).toMatch(/no password is configured/);
  });

  test("derives the same SCRAM key as the server for non-ASCII passwords (PostgreSQL's SASLprep)", async () => {
    for (const [user, , password] of UNICODE_USERS) {
      const { socket, session } = await login({ user, password });
      expect(session.method).toBe('scram-sha-256');
      socket.destroy();
    }
    // Where SASLprep fails PostgreSQL hashes the raw bytes, so the normalized look-alike must not work.
    const e = (await refused(login({ user: 'u_prohib', password: 'x\u0300y\u00e9' }))) as PgServerError;
    expect(e.sqlstate).toBe('28P01');
  });

  test('over TLS after SSLRequest, with the server certificate checked', async () => {
    const raw = await connectTcp(pg.port);
    expect(await requestUpstreamTls(raw)).toBe(true);
    const secure = tlsConnect({ socket: raw, ca: pg.certificate, host: '127.0.0.1' });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    const session = await authenticateUpstream(secure, { user: 'gw', database: 'postgres', password: pg.password });
    const r = await simpleQuery(secure, 'select ssl from pg_stat_ssl where pid = pg_backend_pid()', session.leftover);
    expect(r.rows).toEqual([['t']]);
    secure.destroy();
  });

  test('PostgreSQL 15 answers protocol 3.1 and _pq_ options with NegotiateProtocolVersion(3.0)', async () => {
    const socket = await connectTcp(pg.port);
    const reader = new BackendReader();
    socket.write(toServer.startupMessage({ user: 'gw', database: 'postgres', '_pq_.vigil_probe': 'on' }, 1));
    const frames = await new Promise<unknown[]>((resolve) => {
      const out: unknown[] = [];
      socket.on('data', (chunk) => {
        reader.push(chunk);
        for (let f = reader.next(); f; f = reader.next()) out.push(f.decode());
        if (out.length >= 2) resolve(out);
      });
    });
    socket.destroy();
    // The int32 is the whole protocol number, 3 << 16 | 0, not just the minor version the docs describe.
    expect(frames[0]).toEqual({ type: 'v', version: 196608, unrecognized: ['_pq_.vigil_probe'] });
    expect(frames[1]).toEqual({ type: 'R', auth: { kind: 'sasl', mechanisms: ['SCRAM-SHA-256'] } });
  });
});

describe('authenticateUpstream refuses impostors', () => {
  /** Runs the start of a SCRAM exchange as a server that does not know the password. */
  async function scramImpostor(finish: (c: Parameters<Parameters<typeof fakeServer>[0]>[0], clientNonce: string) => void) {
    return fakeServer(async (c) => {
      expect((await c.next()).type).toBe('startup');
      c.write(toClient.authenticationSASL(['SCRAM-SHA-256']));
      const first = decodeSASLInitialResponse((await c.next()).body);
      const clientNonce = /r=([^,]+)/.exec(first.data!.toString())![1]!;
      c.write(toClient.authenticationSASLContinue(Buffer.from(`r=${clientNonce}srv,s=${randomBytes(16).toString('base64')},i=4096`)));
      await c.next(); // client-final with a proof the impostor cannot check
      finish(c, clientNonce);
    });
  }

  async function against(port: number, options: Partial<UpstreamAuthOptions> = {}): Promise<Error> {
    const socket = await connectTcp(port);
    const e = await refused(authenticateUpstream(socket, { user: 'gw', password: 'secret', timeoutMs: 10_000, ...options }));
    expect(socket.destroyed).toBe(true);
    return e;
  }

  test('a wrong SCRAM server signature', async () => {
    const fake = await scramImpostor((c) => c.write(toClient.authenticationSASLFinal(Buffer.from(`v=${randomBytes(32).toString('base64')}`))));
    const e = await against(fake.port);
    expect(e).toBeInstanceOf(PgAuthError);
    expect(e.message).toMatch(/could not prove it knows the password/);
    await fake.close();
  });

  test('AuthenticationOk without SASLFinal', async () => {
    const fake = await scramImpostor((c) => c.write(toClient.authenticationOk(), toClient.backendKeyData(1, 2), toClient.readyForQuery()));
    const e = await against(fake.port);
    expect(e.message).toMatch(/AuthenticationOk before proving it knows the password/);
    await fake.close();
  });

  test('AuthenticationOk straight away when only SCRAM is allowed', async () => {
    const fake = await fakeServer(async (c) => {
      await c.next();
      c.write(toClient.authenticationOk(), toClient.backendKeyData(1, 2), toClient.readyForQuery());
    });
    const e = await against(fake.port, { allow: ['scram-sha-256'] });
    expect(e.message).toMatch(/trust authentication, which is not allowed/);
    await fake.close();
  });

  test('unsupported methods, server errors and hang-ups', async () => {
    const gss = await fakeServer(async (c) => {
      await c.next();
      c.write(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 7]));
    });
    expect((await against(gss.port)).message).toMatch(/gss authentication, which the gateway does not support/);
    await gss.close();
    const fatal = await fakeServer(async (c) => {
      await c.next();
      c.write(toClient.errorResponse({ severity: 'FATAL', code: '53300', message: 'sorry, too many clients already' }));
    });
    const e = (await against(fatal.port)) as PgServerError;
    expect(e).toBeInstanceOf(PgServerError);
    expect([e.sqlstate, e.fields.get('M')]).toEqual(['53300', 'sorry, too many clients already']);
    await fatal.close();
    const hangup = await fakeServer(async (c) => {
      await c.next();
      c.socket.end();
    });
    expect(await against(hangup.port)).toBeInstanceOf(PgConnectionError);
    await hangup.close();
  });

  test('hands back bytes that arrived after ReadyForQuery, and leaves the socket paused', async () => {
    const after = Buffer.concat([toClient.noticeResponse({ severity: 'NOTICE', code: '00000', message: 'early' }), toClient.readyForQuery()]);
    const fake = await fakeServer(async (c) => {
      await c.next();
      c.write(toClient.authenticationOk(), toClient.parameterStatus('server_version', '15.0'), toClient.backendKeyData(7, Buffer.alloc(32, 1)), toClient.readyForQuery('I'), after);
    });
    const socket = await connectTcp(fake.port);
    const session = await authenticateUpstream(socket, { user: 'gw' });
    expect(session.leftover).toEqual(after);
    expect(session.backendKey).toEqual({ pid: 7, secret: Buffer.alloc(32, 1) });
    expect(socket.isPaused()).toBe(true);
    expect(socket.listenerCount('data')).toBe(0);
    socket.destroy();
    await fake.close();
  });

  test('unencrypted bytes injected after the SSL answer', async () => {
    const fake = await fakeServer(async (c) => {
      expect((await c.next()).type).toBe('ssl');
      c.socket.write(Buffer.concat([Buffer.from('S'), toClient.authenticationOk()]));
    });
    const socket = await connectTcp(fake.port);
    const e = await refused(requestUpstreamTls(socket));
    expect(e.message).toMatch(/unencrypted data after the SSL response/);
    await fake.close();
  });
});
