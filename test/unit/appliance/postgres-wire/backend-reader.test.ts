import { describe, expect, test } from 'vitest';
import {
  BackendReader,
  DataRowLayout,
  decodeDataRow,
  decodeNoticeFields,
  toClient,
  type BackendFrame,
} from '../../../../appliance/protocols/postgres/wire/index.ts';
import { byteByByte, drain, expectWireError, prng, randomChunks } from './wire-test-utils.ts';

/** A server's side of a session: SCRAM, startup parameters, a simple query, an extended query, COPY, errors. */
function serverStream(): { stream: Buffer; types: string[] } {
  const parts: Buffer[] = [
    toClient.negotiateProtocolVersion(196608, ['_pq_.x']),
    toClient.authenticationSASL(['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256']),
    toClient.authenticationSASLContinue(Buffer.from('r=abc,s=c2FsdA==,i=4096')),
    toClient.authenticationSASLFinal(Buffer.from('v=c2ln')),
    toClient.authenticationOk(),
    toClient.parameterStatus('server_version', '15.18'),
    toClient.backendKeyData(1234, 0x7fff_fffe),
    toClient.readyForQuery('I'),
    toClient.rowDescription([{ name: 'id', tableOid: 16384, columnAttr: 1, typeOid: 23, typeSize: 4, typeModifier: -1, format: 0 }, { name: 'nom' }]),
    toClient.dataRow(['1', null]),
    toClient.dataRow([Buffer.from([0, 1, 2]), 'é']),
    toClient.commandComplete('SELECT 2'),
    toClient.parseComplete(),
    toClient.parameterDescription([23, 25]),
    toClient.noData(),
    toClient.bindComplete(),
    toClient.portalSuspended(),
    toClient.closeComplete(),
    toClient.emptyQueryResponse(),
    toClient.noticeResponse({ severity: 'NOTICE', code: '00000', message: 'hi' }),
    toClient.notificationResponse(99, 'chan', 'payload'),
    toClient.copyResponse('G', 0, [0, 0]),
    toClient.copyResponse('H', 1, [1]),
    toClient.copyResponse('W', 0, []),
    toClient.copyData(Buffer.from('a\tb\n')),
    toClient.copyDone(),
    toClient.errorResponse({ severity: 'ERROR', code: '22012', message: 'division by zero', detail: 'd', hint: 'h', position: '8' }),
    toClient.readyForQuery('E'),
  ];
  const stream = Buffer.concat(parts);
  return { stream, types: parts.map((p) => String.fromCharCode(p[0]!)) };
}

function checkDecoded(f: BackendFrame[]): void {
  expect(f[0]!.decode()).toEqual({ type: 'v', version: 196608, unrecognized: ['_pq_.x'] });
  expect(f[1]!.decode()).toEqual({ type: 'R', auth: { kind: 'sasl', mechanisms: ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'] } });
  expect(f[2]!.decode()).toEqual({ type: 'R', auth: { kind: 'sasl-continue', data: Buffer.from('r=abc,s=c2FsdA==,i=4096') } });
  expect(f[3]!.decode()).toEqual({ type: 'R', auth: { kind: 'sasl-final', data: Buffer.from('v=c2ln') } });
  expect(f[4]!.decode()).toEqual({ type: 'R', auth: { kind: 'ok' } });
  expect(f[5]!.decode()).toEqual({ type: 'S', name: 'server_version', value: '15.18' });
  expect(f[6]!.decode()).toEqual({ type: 'K', pid: 1234, secret: Buffer.from([0x7f, 0xff, 0xff, 0xfe]) });
  expect(f[7]!.decode()).toEqual({ type: 'Z', status: 'I' });
  expect(f[8]!.decode()).toEqual({
    type: 'T',
    fields: [
      { name: 'id', tableOid: 16384, columnAttr: 1, typeOid: 23, typeSize: 4, typeModifier: -1, format: 0 },
      { name: 'nom', tableOid: 0, columnAttr: 0, typeOid: 25, typeSize: -1, typeModifier: -1, format: 0 },
    ],
  });
  expect(f[9]!.decode()).toEqual({ type: 'D', values: [Buffer.from('1'), null] });
  expect(f[10]!.decode()).toEqual({ type: 'D', values: [Buffer.from([0, 1, 2]), Buffer.from('é')] });
  expect(f[11]!.decode()).toEqual({ type: 'C', tag: 'SELECT 2' });
  expect(f[13]!.decode()).toEqual({ type: 't', paramTypes: [23, 25] });
  for (const i of [12, 14, 15, 16, 17, 18, 25]) expect(Object.keys(f[i]!.decode())).toEqual(['type']);
  expect(f[19]!.decode()).toEqual({ type: 'N', fields: new Map([['S', 'NOTICE'], ['V', 'NOTICE'], ['C', '00000'], ['M', 'hi']]) });
  expect(f[20]!.decode()).toEqual({ type: 'A', pid: 99, channel: 'chan', payload: 'payload' });
  expect(f[21]!.decode()).toEqual({ type: 'G', format: 0, columnFormats: [0, 0] });
  expect(f[22]!.decode()).toEqual({ type: 'H', format: 1, columnFormats: [1] });
  expect(f[23]!.decode()).toEqual({ type: 'W', format: 0, columnFormats: [] });
  expect(f[24]!.decode()).toEqual({ type: 'd', data: Buffer.from('a\tb\n') });
  const error = f[26]!.decode() as { fields: Map<string, string> };
  expect([...error.fields]).toEqual([
    ['S', 'ERROR'],
    ['V', 'ERROR'],
    ['C', '22012'],
    ['M', 'division by zero'],
    ['D', 'd'],
    ['H', 'h'],
    ['P', '8'],
  ]);
  expect(f[27]!.decode()).toEqual({ type: 'Z', status: 'E' });
}

describe('BackendReader framing', () => {
  const { stream, types } = serverStream();

  test('frames and decodes every backend message type, relaying bytes unchanged', () => {
    const frames = drain(new BackendReader(), [stream]);
    expect(frames.map((f) => f.type)).toEqual(types);
    expect(Buffer.concat(frames.map((f) => f.raw))).toEqual(stream);
    checkDecoded(frames);
  });

  test('gives the same frames for every split point, byte by byte and in random chunks', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const frames = drain(new BackendReader(), [stream.subarray(0, cut), stream.subarray(cut)]);
      expect(Buffer.concat(frames.map((f) => f.raw))).toEqual(stream);
    }
    checkDecoded(drain(new BackendReader(), byteByByte(stream)));
    for (let seed = 1; seed <= 200; seed++) {
      const frames = drain(new BackendReader(), randomChunks(stream, prng(seed), 1 + (seed % 53)));
      expect(frames.map((f) => f.type)).toEqual(types);
      expect(Buffer.concat(frames.map((f) => f.raw))).toEqual(stream);
    }
  });

  test('DataRow values are views of the received chunk, not copies', () => {
    const row = toClient.dataRow(['4111111111111111', null, '']);
    const [frame] = drain(new BackendReader(), [row]);
    const values = decodeDataRow(frame!.body);
    expect(values.map((v) => v?.toString())).toEqual(['4111111111111111', undefined, '']);
    expect(values[0]!.buffer).toBe(row.buffer);
    expect(values[0]!.byteOffset).toBe(row.byteOffset + 5 + 2 + 4);
  });

  test('DataRowLayout gives the same columns as decodeDataRow without views, and reuses its arrays', () => {
    const layout = new DataRowLayout();
    const rand = prng(3);
    for (let i = 0; i < 200; i++) {
      const values = Array.from({ length: Math.floor(rand() * 40) }, () => (rand() < 0.2 ? null : Buffer.alloc(Math.floor(rand() * 50), i)));
      const [frame] = drain(new BackendReader(), [Buffer.concat([Buffer.from('junk'), toClient.dataRow(values)]).subarray(4)]);
      const f = frame!;
      layout.read(f.source, f.start + 5, f.end);
      expect(layout.count).toBe(values.length);
      const seen = Array.from({ length: layout.count }, (_, c) =>
        layout.lengths[c] === -1 ? null : f.source.subarray(layout.starts[c], layout.starts[c]! + layout.lengths[c]!),
      );
      expect(seen).toEqual(decodeDataRow(f.body));
    }
    const bad = toClient.dataRow(['abc']);
    bad.writeInt32BE(9, 7);
    expectWireError(() => layout.read(bad, 5), 'E_PG_PROTOCOL', /column 0 claims 9 bytes/);
    expect(() => layout.read(bad, 5, bad.length + 1)).toThrow(RangeError);
  });

  test('frames the one-byte answer to SSLRequest when told to expect it', () => {
    for (const byte of ['S', 'N', 'G']) {
      const reader = new BackendReader();
      reader.expectEncryptionResponse();
      const frames = drain(reader, [Buffer.from(byte), toClient.authenticationOk()]);
      expect(frames.map((f) => f.type)).toEqual(['encryption-response', 'R']);
      expect(frames[0]!.decode()).toEqual({ type: 'encryption-response', accepted: byte !== 'N', byte });
      expect(frames[0]!.raw).toEqual(Buffer.from(byte));
    }
    const refused = new BackendReader();
    refused.expectEncryptionResponse();
    const err = toClient.errorResponse({ severity: 'FATAL', code: '53300', message: 'too many' });
    expect(drain(refused, [err]).map((f) => f.type)).toEqual(['E']);
    const bogus = new BackendReader();
    bogus.expectEncryptionResponse();
    bogus.push(Buffer.from('X'));
    expectWireError(() => bogus.next(), 'E_PG_PROTOCOL', /invalid response to encryption request/);
  });

  test('hands on what follows ReadyForQuery', () => {
    const reader = new BackendReader();
    const tail = toClient.dataRow(['x']);
    reader.push(Buffer.concat([toClient.readyForQuery(), tail.subarray(0, 3)]));
    reader.push(tail.subarray(3));
    expect(reader.next()?.type).toBe('Z');
    expect(reader.takeBuffered()).toEqual(tail);
    expect(reader.buffered).toBe(0);
  });
});

describe('BackendReader limits and malformed input', () => {
  const header = (type: string, length: number): Buffer => {
    const b = Buffer.alloc(5);
    b[0] = type.charCodeAt(0);
    b.writeUInt32BE(length >>> 0, 1);
    return b;
  };

  test('refuses unknown types, lengths below 4 and 2 GiB lengths from the header alone', () => {
    const cases: [Buffer, RegExp][] = [
      [header('Q', 4), /invalid backend message type 'Q'/],
      [header('\0', 4), /invalid backend message type byte 0x00/],
      [header('D', 3), /invalid message length 3 for 'D' \(DataRow\)/],
      [header('D', 0x8000_0000), /invalid message length 2147483648/],
      [header('d', 0x4000_0000), /invalid message length 1073741824/],
    ];
    for (const [bytes, message] of cases) {
      const r = new BackendReader();
      r.push(bytes);
      expectWireError(() => r.next(), 'E_PG_PROTOCOL', message);
      expectWireError(() => r.next(), 'E_PG_PROTOCOL', message);
    }
  });

  test("caps messages that are never long at libpq's 30 000 bytes, long ones at the configured maximum", () => {
    const status = new BackendReader();
    status.push(header('S', 30_001));
    expectWireError(() => status.next(), 'E_PG_PROTOCOL', /'S' \(ParameterStatus\) \(allowed 4…30000\)/);
    const row = new BackendReader();
    row.push(header('D', 30_001));
    expect(row.next()).toBeUndefined();
    const capped = new BackendReader({ maxMessageLength: 1 << 20 });
    capped.push(header('D', (1 << 20) + 1));
    expectWireError(() => capped.next(), 'E_PG_PROTOCOL', /allowed 4…1048576/);
  });

  test('decoders refuse truncated or inconsistent bodies', () => {
    const frame = (msg: Buffer): BackendFrame => drain(new BackendReader(), [msg])[0]!;
    const row = toClient.dataRow(['abc', 'def']);
    row.writeInt32BE(100, 5 + 2); // first column claims more than there is
    expectWireError(() => frame(row).decode(), 'E_PG_PROTOCOL', /column 0 claims 100 bytes/);
    const short = Buffer.from([0x44, 0, 0, 0, 6, 0, 1]);
    expectWireError(() => frame(short).decode(), 'E_PG_PROTOCOL', /DataRow message: it ends too early/);
    const z = Buffer.from([0x5a, 0, 0, 0, 5, 0x51]);
    expectWireError(() => frame(z).decode(), 'E_PG_PROTOCOL', /unknown transaction status/);
    const auth = toClient.authenticationOk();
    auth.writeInt32BE(99, 5);
    expectWireError(() => frame(auth).decode(), 'E_PG_PROTOCOL', /unknown authentication request 99/);
    const md5 = Buffer.from([0x52, 0, 0, 0, 9, 0, 0, 0, 5, 1]);
    expectWireError(() => frame(md5).decode(), 'E_PG_PROTOCOL', /Authentication message: it ends too early/);
    const err = toClient.errorResponse({ severity: 'ERROR', code: 'XX000', message: 'm' });
    expectWireError(() => decodeNoticeFields(err.subarray(5, err.length - 1)), 'E_PG_PROTOCOL', /ErrorResponse message: it ends too early/);
    const key = Buffer.from([0x4b, 0, 0, 0, 10, 0, 0, 0, 1, 0, 0]);
    expectWireError(() => frame(key).decode(), 'E_PG_PROTOCOL', /cancel key of 2 bytes/);
  });
});
