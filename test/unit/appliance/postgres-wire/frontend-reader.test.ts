import { describe, expect, test } from 'vitest';
import {
  decodeBind,
  decodePasswordMessage,
  decodeSASLInitialResponse,
  decodeSASLResponse,
  formatOf,
  FrontendReader,
  PgProtocolError,
  PQ_LARGE_MESSAGE_LIMIT,
  protocolNegotiation,
  toServer,
  type FrontendFrame,
  type StartupMessage,
} from '../../../../appliance/protocols/postgres/wire/index.ts';
import { byteByByte, drain, expectWireError, prng, randomChunks } from './wire-test-utils.ts';

/** What a client sends: SSL refused, startup, auth, then simple, extended and COPY traffic. */
function clientStream(): { stream: Buffer; types: string[] } {
  const parts: [string, Buffer][] = [
    ['ssl', toServer.sslRequest()],
    ['startup', toServer.startupMessage({ user: 'alice', database: 'shop', application_name: 'psql', '_pq_.compression': 'on' }, 2)],
    ['p', toServer.passwordMessage('s3cret')],
    ['Q', toServer.query("select 'héllo' as greeting")],
    ['P', toServer.parse('s1', 'select $1::int + $2', [23, 0])],
    ['B', toServer.bind({ portal: 'p1', statement: 's1', params: ['41', null], paramFormats: [0], resultFormats: [1] })],
    ['D', toServer.describe('P', 'p1')],
    ['E', toServer.execute('p1', 10)],
    ['H', toServer.flush()],
    ['S', toServer.sync()],
    ['C', toServer.close('S', 's1')],
    ['F', toServer.functionCall(1397, ['-5'], [0], 0)],
    ['Q', toServer.query('copy t from stdin')],
    ['d', toServer.copyData(Buffer.from('1\tone\n'))],
    ['c', toServer.copyDone()],
    ['f', toServer.copyFail('client gave up')],
    ['X', toServer.terminate()],
  ];
  return { stream: Buffer.concat(parts.map((p) => p[1])), types: parts.map((p) => p[0]) };
}

function checkDecoded(frames: FrontendFrame[]): void {
  const startup = frames[1]!.decode() as StartupMessage;
  expect(startup).toMatchObject({ type: 'startup', protocol: { major: 3, minor: 2 } });
  expect([...startup.params]).toEqual([
    ['user', 'alice'],
    ['database', 'shop'],
    ['application_name', 'psql'],
  ]);
  expect([...startup.protocolOptions]).toEqual([['_pq_.compression', 'on']]);
  expect(decodePasswordMessage(frames[2]!.body)).toEqual({ password: 's3cret' });
  expect(frames[3]!.decode()).toEqual({ type: 'Q', sql: "select 'héllo' as greeting", sqlBytes: Buffer.from("select 'héllo' as greeting") });
  expect(frames[4]!.decode()).toEqual({ type: 'P', name: 's1', sql: 'select $1::int + $2', sqlBytes: Buffer.from('select $1::int + $2'), paramTypes: [23, 0] });
  const bind = frames[5]!.decode();
  expect(bind).toMatchObject({ type: 'B', portal: 'p1', statement: 's1', paramFormats: [0], resultFormats: [1] });
  expect((bind as { params: unknown[] }).params).toEqual([Buffer.from('41'), null]);
  expect(frames[6]!.decode()).toEqual({ type: 'D', kind: 'P', name: 'p1' });
  expect(frames[7]!.decode()).toEqual({ type: 'E', portal: 'p1', maxRows: 10 });
  expect(frames[8]!.decode()).toEqual({ type: 'H' });
  expect(frames[9]!.decode()).toEqual({ type: 'S' });
  expect(frames[10]!.decode()).toEqual({ type: 'C', kind: 'S', name: 's1' });
  expect(frames[11]!.decode()).toEqual({ type: 'F', oid: 1397, argFormats: [0], args: [Buffer.from('-5')], resultFormat: 0 });
  expect(frames[13]!.decode()).toEqual({ type: 'd', data: Buffer.from('1\tone\n') });
  expect(frames[14]!.decode()).toEqual({ type: 'c' });
  expect(frames[15]!.decode()).toEqual({ type: 'f', message: 'client gave up' });
  expect(frames[16]!.decode()).toEqual({ type: 'X' });
}

describe('FrontendReader framing', () => {
  const { stream, types } = clientStream();

  test('frames a whole client stream and relays it byte for byte', () => {
    const frames = drain(new FrontendReader(), [stream]);
    expect(frames.map((f) => f.type)).toEqual(types);
    expect(Buffer.concat(frames.map((f) => f.raw))).toEqual(stream);
    // Within one chunk every frame is a view of it: nothing was copied.
    for (const f of frames) expect(f.source).toBe(stream);
    checkDecoded(frames);
  });

  test('gives the same frames for every single split point', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const frames = drain(new FrontendReader(), [stream.subarray(0, cut), stream.subarray(cut)]);
      expect(frames.map((f) => f.type)).toEqual(types);
      expect(Buffer.concat(frames.map((f) => f.raw))).toEqual(stream);
    }
  });

  test('gives the same frames byte by byte and in random chunks', () => {
    const frames = drain(new FrontendReader(), byteByByte(stream));
    expect(Buffer.concat(frames.map((f) => f.raw))).toEqual(stream);
    checkDecoded(frames);
    for (let seed = 1; seed <= 200; seed++) {
      const r = drain(new FrontendReader(), randomChunks(stream, prng(seed), 1 + (seed % 37)));
      expect(r.map((f) => f.type)).toEqual(types);
      expect(Buffer.concat(r.map((f) => f.raw))).toEqual(stream);
    }
  });

  test('waits for the rest of a truncated message without error', () => {
    const reader = new FrontendReader();
    const startup = toServer.startupMessage({ user: 'u' });
    reader.push(startup.subarray(0, startup.length - 1));
    expect(reader.next()).toBeUndefined();
    reader.push(startup.subarray(startup.length - 1));
    expect(reader.next()?.type).toBe('startup');
    const q = toServer.query('select 1');
    for (let i = 0; i < q.length - 1; i++) {
      reader.push(q.subarray(i, i + 1));
      expect(reader.next()).toBeUndefined();
    }
    expect(reader.buffered).toBe(q.length - 1);
    reader.push(q.subarray(q.length - 1));
    expect(reader.next()?.decode()).toEqual({ type: 'Q', sql: 'select 1', sqlBytes: Buffer.from('select 1') });
    expect(reader.buffered).toBe(0);
  });

  test('assembles a 100 MiB CopyData from 64 KiB reads with a single copy', () => {
    const payload = Buffer.alloc(100 * 1024 * 1024, 0x61);
    const msg = toServer.copyData(payload);
    const reader = new FrontendReader();
    drain(reader, [toServer.startupMessage({ user: 'u' })]);
    const frames = drain(reader, randomChunks(msg, prng(7), 64 * 1024).concat([toServer.copyDone()]));
    expect(frames.map((f) => f.type)).toEqual(['d', 'c']);
    const data = frames[0]!;
    // One buffer exactly the size of the message: the chunks were concatenated once.
    expect(data.source.length).toBe(msg.length);
    expect(data.length).toBe(msg.length);
    expect(data.body.equals(payload)).toBe(true);
  });

  test('keeps SSLRequest and GSSENCRequest in the startup phase and reports buffered plaintext', () => {
    const reader = new FrontendReader();
    reader.push(Buffer.concat([toServer.gssencRequest(), toServer.sslRequest(), toServer.query('x')]));
    expect(reader.next()?.type).toBe('gssenc');
    expect(reader.next()?.type).toBe('ssl');
    // Bytes that came with the SSLRequest must not be trusted once TLS starts (CVE-2021-23214).
    expect(reader.buffered).toBeGreaterThan(0);
    expect(reader.phase).toBe('startup');
  });

  test('decodes CancelRequest with 4-byte and 3.2-style long keys, and nothing may follow', () => {
    const short = drain(new FrontendReader(), [toServer.cancelRequest(4242, -2)])[0]!;
    expect(short.decode()).toEqual({ type: 'cancel', pid: 4242, secret: Buffer.from([0xff, 0xff, 0xff, 0xfe]) });
    const key = Buffer.alloc(32, 7);
    const reader = new FrontendReader();
    const long = drain(reader, [toServer.cancelRequest(7, key)])[0]!;
    expect(long.decode()).toEqual({ type: 'cancel', pid: 7, secret: key });
    expect(reader.phase).toBe('cancelled');
    reader.push(Buffer.from([0]));
    expectWireError(() => reader.next(), 'E_PG_PROTOCOL', /after a CancelRequest/);
  });

  test('exposes the requested protocol version and _pq_ options for NegotiateProtocolVersion', () => {
    const plain = drain(new FrontendReader(), [toServer.startupMessage({ user: 'u' })])[0]!.decode() as StartupMessage;
    expect(protocolNegotiation(plain)).toBeUndefined();
    const newer = drain(new FrontendReader(), [toServer.startupMessage({ user: 'u', '_pq_.x': '1', '_pq_.y': '2' }, 2)])[0]!.decode() as StartupMessage;
    expect(newer.protocol).toEqual({ major: 3, minor: 2 });
    expect(protocolNegotiation(newer)).toEqual({ version: 196608, unrecognized: ['_pq_.x', '_pq_.y'] });
    expect(protocolNegotiation(newer, 2)).toEqual({ version: 196610, unrecognized: ['_pq_.x', '_pq_.y'] });
  });

  test('keeps the last value of a repeated startup parameter, as PostgreSQL does', () => {
    const packet = toServer.startupMessage(new Map([['user', 'a']]));
    // Hand-build "user=a, database=d, user=b".
    const body = Buffer.from('user\0a\0database\0d\0user\0b\0\0');
    const raw = Buffer.concat([Buffer.alloc(4), packet.subarray(4, 8), body]);
    raw.writeUInt32BE(raw.length, 0);
    const m = drain(new FrontendReader(), [raw])[0]!.decode() as StartupMessage;
    expect([...m.params]).toEqual([
      ['database', 'd'],
      ['user', 'b'],
    ]);
  });
});

describe('FrontendReader limits and malformed input', () => {
  const afterStartup = (): FrontendReader => {
    const r = new FrontendReader();
    drain(r, [toServer.startupMessage({ user: 'u' })]);
    return r;
  };
  const header = (type: string, length: number): Buffer => {
    const b = Buffer.alloc(5);
    b[0] = type.charCodeAt(0);
    b.writeUInt32BE(length >>> 0, 1);
    return b;
  };

  test('refuses a 2 GiB length from its 5 header bytes alone', () => {
    for (const length of [0x8000_0000, 0xffff_ffff, PQ_LARGE_MESSAGE_LIMIT + 1]) {
      const r = afterStartup();
      r.push(header('Q', length));
      expectWireError(() => r.next(), 'E_PG_PROTOCOL', new RegExp(`invalid message length ${length} for 'Q' \\(Query\\)`));
    }
  });

  test('accepts the largest length PostgreSQL accepts (and waits for it)', () => {
    const r = afterStartup();
    r.push(header('Q', PQ_LARGE_MESSAGE_LIMIT));
    expect(r.next()).toBeUndefined();
  });

  test('refuses lengths below 4', () => {
    for (const length of [0, 1, 3]) {
      const r = afterStartup();
      r.push(header('S', length));
      expectWireError(() => r.next(), 'E_PG_PROTOCOL', /invalid message length/);
    }
  });

  test("applies PostgreSQL's per-type limits and the configured maximum", () => {
    const small = afterStartup();
    small.push(header('S', 10_001));
    expectWireError(() => small.next(), 'E_PG_PROTOCOL', /'S' \(Sync\) \(allowed 4…10000\)/);
    const auth = afterStartup();
    auth.push(header('p', 65_536));
    expectWireError(() => auth.next(), 'E_PG_PROTOCOL', /allowed 4…65535/);
    const limited = new FrontendReader({ maxMessageLength: 1024 });
    drain(limited, [toServer.startupMessage({ user: 'u' })]);
    limited.push(toServer.query('x'.repeat(1020)));
    expectWireError(() => limited.next(), 'E_PG_PROTOCOL', /allowed 4…1024/);
    expect(() => new FrontendReader({ maxMessageLength: 2 ** 31 })).toThrow(RangeError);
  });

  test('refuses unknown message types', () => {
    for (const type of ['Z', 'T', '\x00', '\xff', 'q']) {
      const r = afterStartup();
      r.push(header(type, 4));
      expectWireError(() => r.next(), 'E_PG_PROTOCOL', /invalid frontend message type/);
    }
  });

  test('refuses garbage before the startup packet, with a hint when it is recognisable', () => {
    const cases: [Buffer, RegExp | undefined][] = [
      [Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), /HTTP/],
      [Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]), /TLS ClientHello/],
      [toServer.query('select 1'), /skipped the startup packet/],
      [Buffer.from([0xde, 0xad, 0xbe, 0xef]), undefined],
    ];
    for (const [bytes, hint] of cases) {
      const r = new FrontendReader();
      r.push(bytes);
      let err: PgProtocolError | undefined;
      try {
        r.next();
      } catch (e) {
        err = e as PgProtocolError;
      }
      expect(err).toBeInstanceOf(PgProtocolError);
      expect(err!.message).toMatch(/invalid length of startup packet/);
      expect(err!.sqlstate).toBe('08P01');
      if (hint) expect(err!.hint).toMatch(hint);
    }
  });

  test('bounds the startup packet at 10 000 bytes after its length word, as PostgreSQL', () => {
    const build = (size: number): Buffer => {
      // user=u, then one parameter padded so the packet is `size` bytes in total.
      const fixed = 4 + 4 + 'user\0u\0'.length + 'pad\0'.length + 1 + 1;
      return toServer.startupMessage({ user: 'u', pad: 'x'.repeat(size - fixed) });
    };
    expect(build(10_004).length).toBe(10_004);
    expect(drain(new FrontendReader(), [build(10_004)])[0]!.type).toBe('startup');
    const r = new FrontendReader();
    r.push(build(10_005).subarray(0, 4)); // refused from the length word alone
    expectWireError(() => r.next(), 'E_PG_PROTOCOL', /invalid length of startup packet: 10005/);
    for (const length of [0, 4, 7]) {
      const tiny = new FrontendReader();
      const b = Buffer.alloc(4);
      b.writeUInt32BE(length);
      tiny.push(b);
      expectWireError(() => tiny.next(), 'E_PG_PROTOCOL', /invalid length of startup packet/);
    }
  });

  test('refuses protocol 2.0 and 4.0 with SQLSTATE 0A000', () => {
    for (const [major, minor] of [
      [2, 0],
      [4, 0],
      [0, 0],
    ] as const) {
      const b = Buffer.alloc(9);
      b.writeUInt32BE(9, 0);
      b.writeUInt32BE(((major << 16) | minor) >>> 0, 4);
      const r = new FrontendReader();
      r.push(b);
      let err: PgProtocolError | undefined;
      try {
        r.next();
      } catch (e) {
        err = e as PgProtocolError;
      }
      expect(err?.code).toBe('E_PG_PROTOCOL_VERSION');
      expect(err?.sqlstate).toBe('0A000');
      expect(err?.message).toBe(`unsupported frontend protocol ${major}.${minor}: server supports 3.0 to 3.0`);
    }
  });

  test('refuses a startup packet without its terminator, and a duplicate SSLRequest', () => {
    const good = toServer.startupMessage({ user: 'u' });
    const cut = Buffer.from(good.subarray(0, good.length - 1));
    cut.writeUInt32BE(cut.length, 0);
    const r = new FrontendReader();
    r.push(cut);
    expectWireError(() => r.next(), 'E_PG_PROTOCOL', /expected terminator as last byte/);
    const lastNotNul = Buffer.concat([good.subarray(0, 8), Buffer.from('x')]);
    lastNotNul.writeUInt32BE(lastNotNul.length, 0);
    const r2 = new FrontendReader();
    r2.push(lastNotNul);
    expectWireError(() => r2.next(), 'E_PG_PROTOCOL', /expected terminator/);
    const dup = new FrontendReader();
    dup.push(Buffer.concat([toServer.sslRequest(), toServer.sslRequest()]));
    expect(dup.next()?.type).toBe('ssl');
    expectWireError(() => dup.next(), 'E_PG_PROTOCOL', /duplicate SSLRequest/);
    const padded = Buffer.concat([toServer.sslRequest(), Buffer.alloc(4)]);
    padded.writeUInt32BE(12, 0);
    const r3 = new FrontendReader();
    r3.push(padded);
    expectWireError(() => r3.next(), 'E_PG_PROTOCOL', /invalid length of startup packet/);
  });

  test('stays failed after an error', () => {
    const r = afterStartup();
    r.push(header('Q', 2));
    expectWireError(() => r.next(), 'E_PG_PROTOCOL', /invalid message length/);
    expectWireError(() => r.next(), 'E_PG_PROTOCOL', /invalid message length/);
    expectWireError(() => r.push(toServer.sync()), 'E_PG_PROTOCOL', /invalid message length/);
  });

  test('decoders refuse truncated and inconsistent bodies', () => {
    const frame = (msg: Buffer): FrontendFrame => drain(afterStartup(), [msg])[0]!;
    const bind = toServer.bind({ params: ['1', '2'], paramFormats: [0, 1] });
    // Cut the body inside the second parameter, keeping the header consistent.
    const cut = Buffer.from(bind.subarray(0, bind.length - 5));
    cut.writeUInt32BE(cut.length - 1, 1);
    expectWireError(() => frame(cut).decode(), 'E_PG_PROTOCOL', /invalid Bind message: it ends too early/);
    expectWireError(() => decodeBind(toServer.bind({ params: ['1', '2', '3'], paramFormats: [0, 1] }).subarray(5)), 'E_PG_PROTOCOL', /2 parameter formats but 3 parameters/);
    expectWireError(() => decodeBind(toServer.bind({ params: ['1'], paramFormats: [2] }).subarray(5)), 'E_PG_PROTOCOL', /unsupported format code: 2/);
    const negative = toServer.bind({ params: ['1'] });
    negative.writeInt32BE(-2, 5 + 2 + 2 + 2); // the first value's length
    expectWireError(() => decodeBind(negative.subarray(5)), 'E_PG_PROTOCOL', /invalid value length -2/);
    const describe = toServer.describe('S', 'x');
    describe[5] = 0x58;
    expectWireError(() => frame(describe).decode(), 'E_PG_PROTOCOL', /subtype 88/);
    const sync = Buffer.from([0x53, 0, 0, 0, 5, 0]);
    expectWireError(() => frame(sync).decode(), 'E_PG_PROTOCOL', /trailing/);
    const query = Buffer.from([0x51, 0, 0, 0, 6, 0x61, 0x62]);
    expectWireError(() => frame(query).decode(), 'E_PG_PROTOCOL', /not NUL-terminated/);
    const exec = Buffer.concat([toServer.execute('', 1).subarray(0, 5), Buffer.from([0, 0, 0, 0, 1, 9])]);
    exec.writeUInt32BE(exec.length - 1, 1);
    expectWireError(() => frame(exec).decode(), 'E_PG_PROTOCOL', /Execute message: 1 unexpected trailing bytes/);
  });

  test("decodes each form of 'p' on request", () => {
    const initial = toServer.saslInitialResponse('SCRAM-SHA-256', Buffer.from('n,,n=,r=abc'));
    const reader = afterStartup();
    const frames = drain(reader, [initial, toServer.saslResponse(Buffer.from('c=biws,r=abc,p=xyz')), toServer.saslInitialResponse('X', null)]);
    expect(frames.map((f) => f.type)).toEqual(['p', 'p', 'p']);
    expect(decodeSASLInitialResponse(frames[0]!.body)).toEqual({ mechanism: 'SCRAM-SHA-256', data: Buffer.from('n,,n=,r=abc') });
    expect(decodeSASLResponse(frames[1]!.body)).toEqual({ data: Buffer.from('c=biws,r=abc,p=xyz') });
    expect(decodeSASLInitialResponse(frames[2]!.body)).toEqual({ mechanism: 'X', data: null });
    expectWireError(() => decodePasswordMessage(frames[0]!.body), 'E_PG_PROTOCOL', /PasswordMessage message: \d+ unexpected trailing bytes/);
  });

  test('formatOf follows the 0-1-or-n rule', () => {
    expect(formatOf([], 3)).toBe(0);
    expect(formatOf([1], 3)).toBe(1);
    expect(formatOf([0, 1], 1)).toBe(1);
  });
});
