/**
 * Builders against readers (build → read back gives the same fields, over random values and random
 * chunking) and against node-postgres's pg-protocol, an independent implementation: our frontend builders
 * must produce its exact bytes, and its parser must read our backend messages as we meant them.
 */
import { serialize } from 'pg-protocol';
import type { BackendMessage as PgMessage } from 'pg-protocol/dist/messages.js';
import { Parser } from 'pg-protocol/dist/parser.js';
import { describe, expect, test } from 'vitest';
import {
  BackendReader,
  decodeSASLInitialResponse,
  FrontendReader,
  toClient,
  toServer,
  type FieldDescription,
  type FrontendFrame,
} from '../../../../appliance/protocols/postgres/wire/index.ts';
import { drain, int, prng, randomBytes, randomChunks, randomText } from './wire-test-utils.ts';

const pgParse = (bytes: Buffer): PgMessage[] => {
  const out: PgMessage[] = [];
  new Parser().parse(bytes, (m) => out.push(m));
  return out;
};

describe('frontend builders', () => {
  test('produce the same bytes as pg-protocol', () => {
    const same = (ours: Buffer, theirs: Buffer) => expect(ours.toString('hex')).toBe(theirs.toString('hex'));
    same(toServer.startupMessage({ user: 'gw', database: 'db', client_encoding: 'UTF8' }), serialize.startup({ user: 'gw', database: 'db' }));
    same(toServer.sslRequest(), serialize.requestSsl());
    same(toServer.passwordMessage('pässword'), serialize.password('pässword'));
    same(toServer.saslInitialResponse('SCRAM-SHA-256', Buffer.from('n,,n=,r=abc')), serialize.sendSASLInitialResponseMessage('SCRAM-SHA-256', 'n,,n=,r=abc'));
    same(toServer.saslResponse(Buffer.from('c=biws,r=abcdef,p=xyz')), serialize.sendSCRAMClientFinalMessage('c=biws,r=abcdef,p=xyz'));
    same(toServer.query('select 1'), serialize.query('select 1'));
    same(toServer.parse('s', 'select $1', [23]), serialize.parse({ name: 's', text: 'select $1', types: [23] }));
    same(
      toServer.bind({ portal: 'p', statement: 's', params: ['1', null, Buffer.from([1, 2])], paramFormats: [0, 0, 1], resultFormats: [1] }),
      serialize.bind({ portal: 'p', statement: 's', values: ['1', null, Buffer.from([1, 2])], binary: true }),
    );
    same(toServer.execute(), serialize.execute());
    same(toServer.execute('p', 5), serialize.execute({ portal: 'p', rows: 5 }));
    same(toServer.describe('S', 's'), serialize.describe({ type: 'S', name: 's' }));
    same(toServer.close('P', 'p'), serialize.close({ type: 'P', name: 'p' }));
    same(toServer.sync(), serialize.sync());
    same(toServer.flush(), serialize.flush());
    same(toServer.terminate(), serialize.end());
    same(toServer.copyData(Buffer.from('row\n')), serialize.copyData(Buffer.from('row\n')));
    same(toServer.copyDone(), serialize.copyDone());
    same(toServer.copyFail('nope'), serialize.copyFail('nope'));
    same(toServer.cancelRequest(77, 0x12345678), serialize.cancel(77, 0x12345678));
  });

  test('round-trip random values through FrontendReader', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const rand = prng(seed);
      const text = () => randomText(rand);
      const value = () => (rand() < 0.2 ? null : randomBytes(rand, int(rand, 0, 300)));
      const params = new Map([['user', text() || 'u'], ['database', text()], [`x${seed}`, text()]]);
      const paramTypes = Array.from({ length: int(rand, 0, 5) }, () => int(rand, 0, 0xffff_ffff));
      const bindParams = Array.from({ length: int(rand, 0, 6) }, value);
      const paramFormats = bindParams.length && rand() < 0.5 ? bindParams.map(() => int(rand, 0, 1)) : [int(rand, 0, 1)];
      const resultFormats = Array.from({ length: int(rand, 0, 3) }, () => int(rand, 0, 1));
      const args = Array.from({ length: int(rand, 0, 4) }, value);
      const expected: unknown[] = [
        { type: 'startup', protocol: { major: 3, minor: 0 }, params, protocolOptions: new Map() },
        { type: 'Q', sql: text() },
        { type: 'P', name: text(), sql: text(), paramTypes },
        { type: 'B', portal: text(), statement: text(), paramFormats, params: bindParams, resultFormats },
        { type: 'E', portal: text(), maxRows: int(rand, 0, 2 ** 31 - 1) },
        { type: 'D', kind: rand() < 0.5 ? 'S' : 'P', name: text() },
        { type: 'C', kind: rand() < 0.5 ? 'S' : 'P', name: text() },
        { type: 'F', oid: int(rand, 1, 0xffff_ffff), argFormats: args.map(() => int(rand, 0, 1)), args, resultFormat: int(rand, 0, 1) },
        { type: 'd', data: randomBytes(rand, int(rand, 0, 2000)) },
        { type: 'f', message: text() },
      ];
      const e = expected as any[];
      const stream = Buffer.concat([
        toServer.startupMessage(params),
        toServer.query(e[1].sql),
        toServer.parse(e[2].name, e[2].sql, e[2].paramTypes),
        toServer.bind(e[3]),
        toServer.execute(e[4].portal, e[4].maxRows),
        toServer.describe(e[5].kind, e[5].name),
        toServer.close(e[6].kind, e[6].name),
        toServer.functionCall(e[7].oid, e[7].args, e[7].argFormats, e[7].resultFormat),
        toServer.copyData(e[8].data),
        toServer.copyFail(e[9].message),
      ]);
      const frames: FrontendFrame[] = drain(new FrontendReader(), randomChunks(stream, rand, 64));
      // Statement and portal names decode as byte-exact keys (latin1); SQL text also comes as its bytes.
      const key = (s: string) => Buffer.from(s, 'utf8').toString('latin1');
      e[1].sqlBytes = Buffer.from(e[1].sql);
      Object.assign(e[2], { name: key(e[2].name), sqlBytes: Buffer.from(e[2].sql) });
      Object.assign(e[3], { portal: key(e[3].portal), statement: key(e[3].statement) });
      for (const i of [4]) e[i].portal = key(e[i].portal);
      for (const i of [5, 6]) e[i].name = key(e[i].name);
      expect(frames.map((f) => f.decode()), `seed ${seed}`).toEqual(expected);
    }
  });

  test('refuse strings PostgreSQL could not read back', () => {
    expect(() => toServer.query('select 1\0; drop table t')).toThrow(/NUL/);
    expect(() => toServer.startupMessage({ '': 'x' })).toThrow(/name/);
    expect(decodeSASLInitialResponse(toServer.saslInitialResponse('M', Buffer.alloc(0)).subarray(5))).toEqual({ mechanism: 'M', data: Buffer.alloc(0) });
  });
});

describe('backend builders', () => {
  test('are read by pg-protocol as intended', () => {
    const bytes = Buffer.concat([
      toClient.authenticationOk(),
      toClient.authenticationCleartextPassword(),
      toClient.authenticationMD5Password(Buffer.from([1, 2, 3, 4])),
      toClient.authenticationSASL(['SCRAM-SHA-256']),
      toClient.authenticationSASLContinue(Buffer.from('r=x,s=eA==,i=1')),
      toClient.authenticationSASLFinal(Buffer.from('v=eA==')),
      toClient.parameterStatus('client_encoding', 'UTF8'),
      toClient.backendKeyData(4321, 99),
      toClient.readyForQuery('T'),
      toClient.rowDescription([{ name: 'pan', tableOid: 1, columnAttr: 2, typeOid: 25, typeSize: -1, typeModifier: -1, format: 0 }]),
      toClient.dataRow(['4111 1111 1111 1111', null]),
      toClient.commandComplete('SELECT 1'),
      toClient.errorResponse({ severity: 'FATAL', code: '08P01', message: 'invalid length of startup packet', detail: 'd', hint: 'h' }),
      toClient.noticeResponse({ severity: 'WARNING', code: '01000', message: 'careful', severityNonLocalized: 'WARNING' }),
      toClient.emptyQueryResponse(),
      toClient.parseComplete(),
      toClient.bindComplete(),
      toClient.closeComplete(),
      toClient.noData(),
      toClient.notificationResponse(5, 'c', 'p'),
      toClient.parameterDescription([23]),
    ]);
    const m = pgParse(bytes) as any[];
    expect(m.map((x) => x.name)).toEqual([
      'authenticationOk',
      'authenticationCleartextPassword',
      'authenticationMD5Password',
      'authenticationSASL',
      'authenticationSASLContinue',
      'authenticationSASLFinal',
      'parameterStatus',
      'backendKeyData',
      'readyForQuery',
      'rowDescription',
      'dataRow',
      'commandComplete',
      'error',
      'notice',
      'emptyQuery',
      'parseComplete',
      'bindComplete',
      'closeComplete',
      'noData',
      'notification',
      'parameterDescription',
    ]);
    expect(m[2].salt).toEqual(Buffer.from([1, 2, 3, 4]));
    expect(m[3].mechanisms).toEqual(['SCRAM-SHA-256']);
    expect(m[4].data).toBe('r=x,s=eA==,i=1');
    expect(m[5].data).toBe('v=eA==');
    expect([m[6].parameterName, m[6].parameterValue]).toEqual(['client_encoding', 'UTF8']);
    expect([m[7].processID, m[7].secretKey]).toEqual([4321, 99]);
    expect(m[8].status).toBe('T');
    expect(m[9].fields[0]).toMatchObject({ name: 'pan', tableID: 1, columnID: 2, dataTypeID: 25, dataTypeSize: -1, dataTypeModifier: -1, format: 'text' });
    expect(m[10].fields).toEqual(['4111 1111 1111 1111', null]);
    expect(m[11].text).toBe('SELECT 1');
    expect(m[12]).toMatchObject({ severity: 'FATAL', code: '08P01', message: 'invalid length of startup packet', detail: 'd', hint: 'h' });
    expect(m[13]).toMatchObject({ severity: 'WARNING', code: '01000', message: 'careful' });
    expect([m[19].processId, m[19].channel, m[19].payload]).toEqual([5, 'c', 'p']);
    expect(m[20].dataTypeIDs).toEqual([23]);
  });

  test('ErrorResponse carries severity as S and V, and a Map is written as given', () => {
    const [frame] = drain(new BackendReader(), [toClient.errorResponse({ severity: 'FATAL', code: '28P01', message: 'no' })]);
    expect([...(frame!.decode() as { fields: Map<string, string> }).fields]).toEqual([
      ['S', 'FATAL'],
      ['V', 'FATAL'],
      ['C', '28P01'],
      ['M', 'no'],
    ]);
    const fields = new Map([['S', 'ERROR'], ['C', '22012'], ['M', 'x'], ['Z', 'future field']]);
    const [again] = drain(new BackendReader(), [toClient.errorResponse(fields)]);
    expect((again!.decode() as { fields: Map<string, string> }).fields).toEqual(fields);
    expect(() => toClient.errorResponse(new Map([['SS', 'x']]))).toThrow(RangeError);
  });

  test('round-trip random values through BackendReader', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const rand = prng(seed);
      const text = () => randomText(rand);
      const fields: FieldDescription[] = Array.from({ length: int(rand, 0, 6) }, () => ({
        name: text(),
        tableOid: int(rand, 0, 0xffff_ffff),
        columnAttr: int(rand, -32768, 32767),
        typeOid: int(rand, 0, 0xffff_ffff),
        typeSize: int(rand, -32768, 32767),
        typeModifier: int(rand, -(2 ** 31), 2 ** 31 - 1),
        format: int(rand, 0, 1),
      }));
      const values = Array.from({ length: int(rand, 0, 8) }, () => (rand() < 0.2 ? null : randomBytes(rand, int(rand, 0, 500))));
      const notice = new Map([['S', 'ERROR'], ['V', 'ERROR'], ['C', '22000'], ['M', text()], ['D', text()], ['H', text()], ['P', String(int(rand, 1, 99))]]);
      const key = randomBytes(rand, int(rand, 4, 256));
      const expected = [
        { type: 'T', fields },
        { type: 'D', values },
        { type: 'E', fields: notice },
        { type: 'S', name: text(), value: text() },
        { type: 'K', pid: int(rand, 1, 2 ** 31 - 1), secret: key },
        { type: 'A', pid: int(rand, 1, 2 ** 31 - 1), channel: text(), payload: text() },
        { type: 'C', tag: text() },
        { type: 'v', version: 196608 + int(rand, 0, 5), unrecognized: [text(), text()] },
        { type: 't', paramTypes: Array.from({ length: int(rand, 0, 9) }, () => int(rand, 0, 0xffff_ffff)) },
        { type: 'R', auth: { kind: 'md5-password', salt: randomBytes(rand, 4) } },
      ] as const;
      const e = expected as any;
      const stream = Buffer.concat([
        toClient.rowDescription(fields),
        toClient.dataRow(values),
        toClient.errorResponse(notice),
        toClient.parameterStatus(e[3].name, e[3].value),
        toClient.backendKeyData(e[4].pid, key),
        toClient.notificationResponse(e[5].pid, e[5].channel, e[5].payload),
        toClient.commandComplete(e[6].tag),
        toClient.negotiateProtocolVersion(e[7].version, e[7].unrecognized),
        toClient.parameterDescription(e[8].paramTypes),
        toClient.authenticationMD5Password(e[9].auth.salt),
      ]);
      const frames = drain(new BackendReader(), randomChunks(stream, rand, 97));
      expect(frames.map((f) => f.decode()), `seed ${seed}`).toEqual(expected);
    }
  });
});
