/**
 * SPDY/3.1 framing, as far as Vigil needs it to govern a port-forward (kubectl 1.31+ tunnels SPDY frames in
 * WebSocket binary messages; the SPDY session runs between kubectl and the kubelet): frames cut out of a byte
 * stream however it was split, and the name/value header block of a SYN_STREAM read (zlib with the SPDY/3
 * dictionary, one compression context per direction for the whole session) and written again.
 */
import { constants, createDeflate, createInflate, type Deflate, type Inflate } from 'node:zlib';

/** The SPDY/3 header compression dictionary (draft-mbelshe-httpbis-spdy-00 §2.6.10.1; moby/spdystream). */
export const SPDY_DICTIONARY = Buffer.from([
  'AAAAB29wdGlvbnMAAAAEaGVhZAAAAARwb3N0AAAAA3B1dAAAAAZkZWxldGUAAAAFdHJhY2UAAAAGYWNjZXB0AAAADmFjY2VwdC1j',
  'aGFyc2V0AAAAD2FjY2VwdC1lbmNvZGluZwAAAA9hY2NlcHQtbGFuZ3VhZ2UAAAANYWNjZXB0LXJhbmdlcwAAAANhZ2UAAAAFYWxs',
  'b3cAAAANYXV0aG9yaXphdGlvbgAAAA1jYWNoZS1jb250cm9sAAAACmNvbm5lY3Rpb24AAAAMY29udGVudC1iYXNlAAAAEGNvbnRl',
  'bnQtZW5jb2RpbmcAAAAQY29udGVudC1sYW5ndWFnZQAAAA5jb250ZW50LWxlbmd0aAAAABBjb250ZW50LWxvY2F0aW9uAAAAC2Nv',
  'bnRlbnQtbWQ1AAAADWNvbnRlbnQtcmFuZ2UAAAAMY29udGVudC10eXBlAAAABGRhdGUAAAAEZXRhZwAAAAZleHBlY3QAAAAHZXhw',
  'aXJlcwAAAARmcm9tAAAABGhvc3QAAAAIaWYtbWF0Y2gAAAARaWYtbW9kaWZpZWQtc2luY2UAAAANaWYtbm9uZS1tYXRjaAAAAAhp',
  'Zi1yYW5nZQAAABNpZi11bm1vZGlmaWVkLXNpbmNlAAAADWxhc3QtbW9kaWZpZWQAAAAIbG9jYXRpb24AAAAMbWF4LWZvcndhcmRz',
  'AAAABnByYWdtYQAAABJwcm94eS1hdXRoZW50aWNhdGUAAAATcHJveHktYXV0aG9yaXphdGlvbgAAAAVyYW5nZQAAAAdyZWZlcmVy',
  'AAAAC3JldHJ5LWFmdGVyAAAABnNlcnZlcgAAAAJ0ZQAAAAd0cmFpbGVyAAAAEXRyYW5zZmVyLWVuY29kaW5nAAAAB3VwZ3JhZGUA',
  'AAAKdXNlci1hZ2VudAAAAAR2YXJ5AAAAA3ZpYQAAAAd3YXJuaW5nAAAAEHd3dy1hdXRoZW50aWNhdGUAAAAGbWV0aG9kAAAAA2dl',
  'dAAAAAZzdGF0dXMAAAAGMjAwIE9LAAAAB3ZlcnNpb24AAAAISFRUUC8xLjEAAAADdXJsAAAABnB1YmxpYwAAAApzZXQtY29va2ll',
  'AAAACmtlZXAtYWxpdmUAAAAGb3JpZ2luMTAwMTAxMjAxMjAyMjA1MjA2MzAwMzAyMzAzMzA0MzA1MzA2MzA3NDAyNDA1NDA2NDA3',
  'NDA4NDA5NDEwNDExNDEyNDEzNDE0NDE1NDE2NDE3NTAyNTA0NTA1MjAzIE5vbi1BdXRob3JpdGF0aXZlIEluZm9ybWF0aW9uMjA0',
  'IE5vIENvbnRlbnQzMDEgTW92ZWQgUGVybWFuZW50bHk0MDAgQmFkIFJlcXVlc3Q0MDEgVW5hdXRob3JpemVkNDAzIEZvcmJpZGRl',
  'bjQwNCBOb3QgRm91bmQ1MDAgSW50ZXJuYWwgU2VydmVyIEVycm9yNTAxIE5vdCBJbXBsZW1lbnRlZDUwMyBTZXJ2aWNlIFVuYXZh',
  'aWxhYmxlSmFuIEZlYiBNYXIgQXByIE1heSBKdW4gSnVsIEF1ZyBTZXB0IE9jdCBOb3YgRGVjIDAwOjAwOjAwIE1vbiwgVHVlLCBX',
  'ZWQsIFRodSwgRnJpLCBTYXQsIFN1biwgR01UY2h1bmtlZCx0ZXh0L2h0bWwsaW1hZ2UvcG5nLGltYWdlL2pwZyxpbWFnZS9naWYs',
  'YXBwbGljYXRpb24veG1sLGFwcGxpY2F0aW9uL3hodG1sK3htbCx0ZXh0L3BsYWluLHRleHQvamF2YXNjcmlwdCxwdWJsaWNwcml2',
  'YXRlbWF4LWFnZT1nemlwLGRlZmxhdGUsc2RjaGNoYXJzZXQ9dXRmLThjaGFyc2V0PWlzby04ODU5LTEsdXRmLSwqLGVucT0wLg==',
].join(''), 'base64');

export const TYPE_SYN_STREAM = 1;
export const TYPE_SYN_REPLY = 2;
export const TYPE_RST_STREAM = 3;
export const TYPE_SETTINGS = 4;
export const TYPE_PING = 6;
export const TYPE_GOAWAY = 7;
export const TYPE_HEADERS = 8;
export const TYPE_WINDOW_UPDATE = 9;
export const FLAG_FIN = 0x01;
/** RST_STREAM status codes. */
export const RST_REFUSED_STREAM = 3;
export const RST_CANCEL = 5;

/** Frames are at most 2^24-1 bytes; Vigil refuses more than this (kubectl writes 32 KiB data frames). */
export const MAX_FRAME_BYTES = 1024 * 1024;

export class SpdyError extends Error {}

export type SpdyFrame =
  | { control: true; type: number; flags: number; payload: Buffer; raw: Buffer }
  | { control: false; streamId: number; flags: number; payload: Buffer; raw: Buffer };

/** Cuts whole frames out of a byte stream. */
export class SpdyFramer {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): SpdyFrame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: SpdyFrame[] = [];
    let o = 0;
    const b = this.buf;
    while (b.length - o >= 8) {
      const len = b.readUIntBE(o + 5, 3);
      if (len > MAX_FRAME_BYTES) throw new SpdyError(`a SPDY frame of ${len} bytes`);
      if (b.length - o < 8 + len) break;
      const raw = b.subarray(o, o + 8 + len);
      const flags = b[o + 4]!;
      const payload = raw.subarray(8);
      if (b[o]! & 0x80) {
        const version = b.readUInt16BE(o) & 0x7fff;
        if (version !== 3) throw new SpdyError(`SPDY version ${version}`);
        out.push({ control: true, type: b.readUInt16BE(o + 2), flags, payload, raw });
      } else out.push({ control: false, streamId: b.readUInt32BE(o) & 0x7fffffff, flags, payload, raw });
      o += 8 + len;
    }
    this.buf = o >= b.length ? Buffer.alloc(0) : Buffer.from(b.subarray(o));
    return out;
  }

  get partial(): boolean {
    return this.buf.length > 0;
  }
}

export function controlFrame(type: number, flags: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(0x8003, 0);
  h.writeUInt16BE(type, 2);
  h[4] = flags;
  h.writeUIntBE(payload.length, 5, 3);
  return Buffer.concat([h, payload]);
}

export function rstStream(streamId: number, status: number): Buffer {
  const p = Buffer.alloc(8);
  p.writeUInt32BE(streamId & 0x7fffffff, 0);
  p.writeUInt32BE(status, 4);
  return controlFrame(TYPE_RST_STREAM, 0, p);
}

/** Header names and their values (NUL-separated values split), names lower-case as SPDY/3 requires. */
export type SpdyHeaders = Map<string, string[]>;

export function decodeHeaderBlock(b: Buffer): SpdyHeaders {
  const h: SpdyHeaders = new Map();
  if (b.length < 4) throw new SpdyError('a truncated SPDY header block');
  const n = b.readUInt32BE(0);
  let o = 4;
  const str = (): string => {
    if (b.length - o < 4) throw new SpdyError('a truncated SPDY header block');
    const l = b.readUInt32BE(o);
    o += 4;
    if (b.length - o < l) throw new SpdyError('a truncated SPDY header block');
    const s = b.subarray(o, o + l).toString('latin1');
    o += l;
    return s;
  };
  if (n > 1024) throw new SpdyError('too many SPDY headers');
  for (let i = 0; i < n; i++) {
    const name = str();
    if (name === '' || name !== name.toLowerCase()) throw new SpdyError('a SPDY header name that is empty or not lower-case');
    const values = str().split('\0');
    h.set(name, [...(h.get(name) ?? []), ...values]);
  }
  if (o !== b.length) throw new SpdyError('bytes after a SPDY header block');
  return h;
}

export function encodeHeaderBlock(h: ReadonlyArray<readonly [string, string]>): Buffer {
  const parts: Buffer[] = [];
  const u32 = (n: number) => {
    const x = Buffer.alloc(4);
    x.writeUInt32BE(n, 0);
    return x;
  };
  parts.push(u32(h.length));
  for (const [k, v] of h) {
    const kb = Buffer.from(k, 'latin1');
    const vb = Buffer.from(v, 'latin1');
    parts.push(u32(kb.length), kb, u32(vb.length), vb);
  }
  return Buffer.concat(parts);
}

/** One direction's zlib context: each call runs after the previous one (the context is shared). */
abstract class ZContext<T extends Inflate | Deflate> {
  private chain: Promise<unknown> = Promise.resolve();
  private out: Buffer[] = [];
  private size = 0;
  protected constructor(protected readonly z: T, private readonly max: number) {
    z.on('data', (c: Buffer) => {
      this.size += c.length;
      if (this.size <= this.max) this.out.push(c);
    });
    z.on('error', () => undefined);
  }

  run(input: Buffer): Promise<Buffer> {
    const p = this.chain.then(
      () =>
        new Promise<Buffer>((resolve, reject) => {
          this.out = [];
          this.size = 0;
          const fail = (e: Error) => reject(new SpdyError(`SPDY header compression: ${e.message}`));
          this.z.once('error', fail);
          this.z.write(input);
          this.z.flush(constants.Z_SYNC_FLUSH, () => {
            this.z.off('error', fail);
            if (this.size > this.max) return reject(new SpdyError('a SPDY header block inflates past the limit'));
            resolve(Buffer.concat(this.out));
          });
        }),
    );
    this.chain = p.catch(() => undefined);
    return p;
  }

  close(): void {
    this.z.destroy();
  }
}

export class HeaderInflater extends ZContext<Inflate> {
  constructor(max = 64 * 1024) {
    super(createInflate({ dictionary: SPDY_DICTIONARY }), max);
  }
}

export class HeaderDeflater extends ZContext<Deflate> {
  constructor() {
    super(createDeflate({ dictionary: SPDY_DICTIONARY }), 1024 * 1024);
  }
}
