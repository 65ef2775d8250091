/**
 * The WebSocket framing Vigil relays exec/attach/port-forward with (RFC 6455), both roles over a pair of
 * connected sockets: messages whole however the bytes arrive, fragmentation, pings answered, and the
 * protocol errors it must refuse (an unmasked client frame, a masked server frame, reserved bits, a
 * fragmented control frame, an oversized message), and nothing handed up after a close frame.
 */
import { randomBytes } from 'node:crypto';
import { PassThrough, Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { acceptKey, offeredProtocols, validClientKey, WsConnection, type WsProtocolError } from '../../../../../appliance/protocols/kubernetes/websocket.ts';

/** Two Duplex ends: what one writes, the other reads. */
function pair(): [Duplex, Duplex] {
  const ab = new PassThrough();
  const ba = new PassThrough();
  const mk = (r: PassThrough, w: PassThrough) => new Duplex({ read() {}, write(c, _e, cb) { w.write(c, cb); }, final(cb) { w.end(); cb(); } });
  const a = mk(ba, ab);
  const b = mk(ab, ba);
  ab.on('data', (c) => b.push(c));
  ba.on('data', (c) => a.push(c));
  return [a, b];
}

function collect(socket: Duplex, role: 'server' | 'client', max = 1024 * 1024) {
  const got: { binary: boolean; data: Buffer }[] = [];
  const errors: WsProtocolError[] = [];
  const closes: number[] = [];
  const ws = new WsConnection(socket, role, { message: (binary, data) => got.push({ binary, data }), close: (c) => closes.push(c), error: (e) => errors.push(e) }, max);
  return { ws, got, errors, closes };
}

function frame(opcode: number, payload: Buffer, o: { fin?: boolean; mask?: boolean; rsv?: number } = {}): Buffer {
  const b0 = ((o.fin ?? true) ? 0x80 : 0) | (o.rsv ?? 0) | opcode;
  const len = payload.length;
  const mask = o.mask ?? true;
  const head = len < 126 ? Buffer.from([b0, (mask ? 0x80 : 0) | len]) : Buffer.from([b0, (mask ? 0x80 : 0) | 126, len >> 8, len & 0xff]);
  if (!mask) return Buffer.concat([head, payload]);
  const key = randomBytes(4);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i]! ^= key[i & 3]!;
  return Buffer.concat([head, key, body]);
}

const tick = () => new Promise((r) => setTimeout(r, 10));

describe('WsConnection', () => {
  it('client → server and back, large and small, byte by byte', async () => {
    const [a, b] = pair();
    const client = collect(a, 'client');
    const server = collect(b, 'server');
    const big = randomBytes(100_000);
    client.ws.send([Buffer.of(0), big]);
    client.ws.send(Buffer.from('x'));
    server.ws.send(Buffer.from('back'));
    await tick();
    expect(server.got.map((g) => g.data.length)).toEqual([100_001, 1]);
    expect(server.got[0]!.data.subarray(1).equals(big)).toBe(true);
    expect(client.got.map((g) => g.data.toString())).toEqual(['back']);
    // Byte by byte: the same message, whole.
    const [c, d] = pair();
    const s2 = collect(d, 'server');
    for (const byte of frame(2, Buffer.from('slowly'))) c.write(Buffer.of(byte));
    await tick();
    expect(s2.got.map((g) => g.data.toString())).toEqual(['slowly']);
  });

  it('joins fragments, answers a ping between them', async () => {
    const [a, b] = pair();
    const server = collect(b, 'server');
    const pongs: Buffer[] = [];
    a.on('data', (c: Buffer) => pongs.push(c));
    a.write(Buffer.concat([frame(2, Buffer.from('ab'), { fin: false }), frame(9, Buffer.from('p')), frame(0, Buffer.from('cd'))]));
    await tick();
    expect(server.got.map((g) => g.data.toString())).toEqual(['abcd']);
    expect(Buffer.concat(pongs)[0]).toBe(0x8a);
  });

  it.each([
    ['an unmasked client frame', frame(2, Buffer.from('x'), { mask: false }), 1002],
    ['reserved bits', frame(2, Buffer.from('x'), { rsv: 0x40 }), 1002],
    ['a fragmented ping', frame(9, Buffer.from('x'), { fin: false }), 1002],
    ['a continuation with nothing to continue', frame(0, Buffer.from('x')), 1002],
    ['an unknown opcode', frame(3, Buffer.from('x')), 1002],
    ['a message over the limit', frame(2, Buffer.alloc(200)), 1009],
  ])('refuses %s', async (_n, bytes, code) => {
    const [a, b] = pair();
    const server = collect(b, 'server', 100);
    a.write(bytes);
    await tick();
    expect(server.got).toEqual([]);
    expect(server.errors[0]?.closeCode).toBe(code);
  });

  it('a client refuses a masked server frame', async () => {
    const [a, b] = pair();
    const client = collect(a, 'client');
    b.write(frame(2, Buffer.from('x'), { mask: true }));
    await tick();
    expect(client.got).toEqual([]);
    expect(client.errors[0]?.closeCode).toBe(1002);
  });

  it('nothing after a close frame is handed up', async () => {
    const [a, b] = pair();
    const server = collect(b, 'server');
    const close = Buffer.alloc(2);
    close.writeUInt16BE(1000, 0);
    a.write(Buffer.concat([frame(2, Buffer.from('before')), frame(8, close), frame(2, Buffer.from('after'))]));
    await tick();
    expect(server.got.map((g) => g.data.toString())).toEqual(['before']);
    expect(server.closes).toEqual([1000]);
  });

  it('handshake helpers (RFC 6455 §1.3 example)', () => {
    expect(acceptKey('dGhlIHNhbXBsZSBub25jZQ==')).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    expect(validClientKey('dGhlIHNhbXBsZSBub25jZQ==')).toBe(true);
    expect(validClientKey('short')).toBe(false);
    expect(offeredProtocols(['v5.channel.k8s.io, v4.channel.k8s.io', 'x'])).toEqual(['v5.channel.k8s.io', 'v4.channel.k8s.io', 'x']);
  });
});
