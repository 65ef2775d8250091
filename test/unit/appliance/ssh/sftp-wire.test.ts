import { describe, expect, it } from 'vitest';
import { dataHeader, encodeAttrs, Fields, FXP, MAX_PACKET, namePacket, PacketFramer, SftpWireError, statusPacket, Writer } from '../../../../appliance/protocols/ssh/sftp-wire.ts';

/** Packets of assorted sizes, back to back. */
function stream(): { bytes: Buffer; packets: Buffer[] } {
  const packets: Buffer[] = [];
  for (let i = 0; i < 40; i++) {
    const body = Buffer.alloc((i * 7919) % 3000, i);
    packets.push(new Writer(FXP.DATA, 4 + 4 + body.length).u32(i).bytes(body).done());
  }
  return { bytes: Buffer.concat(packets), packets };
}

describe('PacketFramer', () => {
  it('gives the same packets however the stream is cut (push and pushParts)', () => {
    const { bytes, packets } = stream();
    for (const step of [1, 3, 4, 5, 13, 64, 1000, 4096, bytes.length]) {
      const a = new PacketFramer();
      const b = new PacketFramer();
      const gotA: Buffer[] = [];
      const gotB: Buffer[] = [];
      for (let at = 0; at < bytes.length; at += step) {
        const chunk = Buffer.from(bytes.subarray(at, at + step));
        gotA.push(...a.push(chunk));
        for (const parts of b.pushParts(Buffer.from(chunk))) {
          // The first piece holds the header whenever the packet has one.
          expect(parts[0]!.length).toBeGreaterThanOrEqual(Math.min(13, parts.reduce((n, p) => n + p.length, 0)));
          gotB.push(Buffer.concat(parts));
        }
      }
      expect(gotA.map((p) => p.toString('hex'))).toEqual(packets.map((p) => p.toString('hex')));
      expect(gotB.map((p) => p.toString('hex'))).toEqual(packets.map((p) => p.toString('hex')));
      expect(a.pending).toBe(0);
    }
  });

  it('a packet sent one byte at a time costs each byte O(1): 256 KiB in single bytes is framed quickly', () => {
    const body = Buffer.alloc(MAX_PACKET - 9, 7);
    const p = new Writer(FXP.WRITE, 4 + 4 + body.length).u32(5).bytes(body).done();
    for (const parts of [false, true]) {
      const f = new PacketFramer();
      const t0 = Date.now();
      let got: Buffer | undefined;
      for (let i = 0; i < p.length; i++) {
        const b = p.subarray(i, i + 1);
        const out = parts ? f.pushParts(b).map((x) => Buffer.concat(x)) : f.push(b);
        if (out.length) got = out[0];
      }
      expect(got?.equals(p)).toBe(true);
      expect(Date.now() - t0).toBeLessThan(5_000);
    }
  });

  it('refuses a length above the limit from its first 4 bytes, before buffering the body, with the request id when known', () => {
    const f = new PacketFramer();
    const head = Buffer.alloc(9);
    head.writeUInt32BE(MAX_PACKET + 1);
    head[4] = FXP.WRITE;
    head.writeUInt32BE(77, 5);
    let err: unknown;
    try {
      f.push(head);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SftpWireError);
    expect(err).toMatchObject({ code: 'sftp-oversized', requestId: 77 });
    expect(() => new PacketFramer().push(Buffer.from([0, 0, 0, 0, 1]))).toThrow(/length 0/);
    // Exactly the limit is accepted (and held until whole).
    const ok = new PacketFramer();
    const at = Buffer.alloc(4);
    at.writeUInt32BE(MAX_PACKET);
    expect(ok.push(at)).toEqual([]);
    expect(ok.pending).toBe(4);
  });
});

describe('Fields', () => {
  it('throws on a string that runs past the packet, on trailing bytes, and on offsets beyond 2^53', () => {
    const p = new Writer(FXP.OPEN, 4 + 4 + 3).u32(1).bytes(Buffer.from('abc')).done();
    p.writeUInt32BE(1000, 9); // the path's length now lies
    const f = new Fields(p);
    f.u32();
    expect(() => f.text('path')).toThrow(/too short for its path/);
    const t = new Fields(Buffer.concat([new Writer(FXP.STAT, 4).u32(1).done(), Buffer.alloc(0)]));
    t.u32();
    t.end();
    const extra = new Writer(FXP.STAT, 8).u32(1).u32(0).done();
    const e = new Fields(extra);
    e.u32();
    expect(() => e.end()).toThrow(/4 bytes after the last field/);
    const big = new Writer(FXP.READ, 8).u64(2 ** 53).done();
    big.writeUInt32BE(0x200000, 5);
    expect(() => new Fields(big).u64('offset')).toThrow(/beyond 2\^53/);
    expect(() => new Fields(Buffer.from([0, 0, 0, 1]))).toThrow(SftpWireError);
  });

  it('attributes round-trip (dates as seconds), extended pairs are read past', () => {
    const a = { size: 2 ** 40 + 5, uid: 1000, gid: 100, mode: 0o100644, atime: 1_700_000_000, mtime: 1_700_000_001 };
    const enc = encodeAttrs(a);
    const p = new Writer(FXP.ATTRS, enc.length).raw(enc).done();
    expect(new Fields(p).attrs()).toEqual(a);
    const withExt = Buffer.concat([Buffer.from([0x80, 0, 0, 0, 0, 0, 0, 1]), Buffer.from([0, 0, 0, 1, 0x61, 0, 0, 0, 1, 0x62])]);
    const q = new Writer(FXP.ATTRS, withExt.length).raw(withExt).done();
    const fq = new Fields(q);
    expect(fq.attrs()).toEqual({});
    fq.end();
    expect(new Fields(new Writer(FXP.ATTRS, 12).raw(encodeAttrs({ atime: new Date(5000) as never, mtime: new Date(9000) as never })).done()).attrs()).toEqual({ atime: 5, mtime: 9 });
  });
});

describe('encoders', () => {
  it('status, name and a DATA header parse back', () => {
    const s = new Fields(statusPacket(9, 3, 'no'));
    expect([s.type, s.u32(), s.u32(), s.text(), s.text()]).toEqual([FXP.STATUS, 9, 3, 'no', '']);
    s.end();
    const n = new Fields(namePacket(4, [{ filename: 'é.txt', longname: '-rw é.txt', attrs: { size: 3 } as never }]));
    expect([n.type, n.u32(), n.u32(), n.text(), n.text(), n.attrs()]).toEqual([FXP.NAME, 4, 1, 'é.txt', '-rw é.txt', { size: 3 }]);
    n.end();
    const d = new Fields(Buffer.concat([dataHeader(6, 3), Buffer.from('xyz')]));
    expect([d.type, d.u32(), d.bytes().toString()]).toEqual([FXP.DATA, 6, 'xyz']);
    d.end();
  });
});
