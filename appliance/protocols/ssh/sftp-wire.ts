/**
 * SFTP version 3 on the wire, as OpenSSH speaks it (draft-ietf-secsh-filexfer-02 plus OpenSSH's PROTOCOL
 * file): every packet is `uint32 length` then `byte type` then (except INIT/VERSION) `uint32 request-id`,
 * fields big-endian, strings `uint32 length` + bytes. This module only frames and encodes: a `PacketFramer`
 * cuts a channel's byte stream into packets (bounded, no copy when a packet lies in one chunk), `Fields`
 * reads one packet's fields and throws `SftpWireError` the moment a length points past the packet, and the
 * encoders build the few replies Vigil writes itself. What a request means is decided elsewhere.
 */
import type { Attributes, FileEntry, InputAttributes } from 'ssh2';

export const FXP = {
  INIT: 1, VERSION: 2, OPEN: 3, CLOSE: 4, READ: 5, WRITE: 6, LSTAT: 7, FSTAT: 8, SETSTAT: 9, FSETSTAT: 10, OPENDIR: 11,
  READDIR: 12, REMOVE: 13, MKDIR: 14, RMDIR: 15, REALPATH: 16, STAT: 17, RENAME: 18, READLINK: 19, SYMLINK: 20,
  STATUS: 101, HANDLE: 102, DATA: 103, NAME: 104, ATTRS: 105, EXTENDED: 200, EXTENDED_REPLY: 201,
} as const;

export const ATTR = { SIZE: 0x1, UIDGID: 0x2, PERMISSIONS: 0x4, ACMODTIME: 0x8, EXTENDED: 0x80000000 } as const;

/** OpenSSH's SFTP_MAX_MSG_LENGTH: the largest packet (its length field) either end sends or accepts. */
export const MAX_PACKET = 256 * 1024;
/** Bytes of a packet `pushParts` always gives in its first piece: the DATA header (13) and then some. */
export const HEAD = 64;
/** The largest handle a server may return (draft-02 §6.2). */
export const MAX_HANDLE = 256;

export type SftpWireErrorCode = 'sftp-malformed' | 'sftp-oversized' | 'sftp-protocol';

export class SftpWireError extends Error {
  constructor(
    readonly code: SftpWireErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SftpWireError';
  }
}

/**
 * Cuts a byte stream into SFTP packets (each returned whole: length field, type, body). A length above
 * `max` or below 1 throws before any of the packet's body is buffered, so a peer cannot make Vigil hold
 * more than one packet's worth of bytes. Returned buffers are views of the input where a packet lies in one
 * chunk (the caller owns them: channel chunks are not reused), else one copy.
 */
export class PacketFramer {
  private parts: Buffer[] = [];
  private held = 0;
  /** The length (with its 4-byte field) of the packet being gathered, once read; 0 before. */
  private want = 0;
  constructor(private readonly max: number = MAX_PACKET) {}

  /** Bytes received but not yet a whole packet. */
  get pending(): number {
    return this.held;
  }

  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    if (this.held === 0) {
      // The fast path: whole packets straight out of the chunk.
      let at = 0;
      while (chunk.length - at >= 4) {
        const len = this.checked(chunk.readUInt32BE(at), chunk, at);
        if (chunk.length - at < 4 + len) break;
        out.push(chunk.subarray(at, at + 4 + len));
        at += 4 + len;
      }
      if (at < chunk.length) this.keep(chunk.subarray(at));
      return out;
    }
    this.keep(chunk);
    // The packet's length is read once; until it is whole each chunk costs O(1) (a peer sending its bytes one
    // SSH packet at a time must not make Vigil re-scan what it holds).
    if (this.want === 0) {
      if (this.held < 4) return out;
      const h = Math.min(9, this.held);
      const head = this.parts[0]!.length >= h ? this.parts[0]! : Buffer.concat(this.parts.slice(0, h), h);
      this.want = 4 + this.checked(head.readUInt32BE(0), head, 0);
    }
    if (this.held < this.want) return out;
    const all = Buffer.concat(this.parts, this.held);
    const n = this.want;
    this.parts = [];
    this.held = 0;
    this.want = 0;
    out.push(all.subarray(0, n));
    // What follows the packet goes through the fast path (whole packets as views of the copy).
    if (all.length > n) out.push(...this.push(all.subarray(n)));
    return out;
  }

  /**
   * Like `push`, but each packet comes as the pieces it arrived in (views, no join): for DATA answers, whose
   * bytes the caller keeps anyway. The first piece holds at least the first HEAD bytes (or the whole packet).
   */
  pushParts(chunk: Buffer): Buffer[][] {
    this.keep(chunk);
    const out: Buffer[][] = [];
    while (this.held >= 4) {
      if (this.want === 0) {
        if (this.parts[0]!.length < Math.min(HEAD, this.held)) this.joinHead(Math.min(HEAD, this.held));
        this.want = 4 + this.checked(this.parts[0]!.readUInt32BE(0), this.parts[0]!, 0);
      }
      if (this.held < this.want) break;
      if (this.parts[0]!.length < Math.min(HEAD, this.want)) this.joinHead(Math.min(HEAD, this.want));
      out.push(this.take(this.want));
      this.want = 0;
    }
    return out;
  }

  /** Makes the first piece `need` bytes long by copying just those bytes from the pieces after it. */
  private joinHead(need: number): void {
    const head = Buffer.allocUnsafe(need);
    for (let got = 0; got < need; ) {
      const p = this.parts[0]!;
      const n = Math.min(p.length, need - got);
      p.copy(head, got, 0, n);
      got += n;
      if (n === p.length) this.parts.shift();
      else this.parts[0] = p.subarray(n);
    }
    this.parts.unshift(head);
  }

  private take(n: number): Buffer[] {
    let i = 0;
    let got = 0;
    while (i < this.parts.length && got + this.parts[i]!.length <= n) got += this.parts[i++]!.length;
    const out = this.parts.slice(0, i);
    const rest = this.parts.slice(i);
    if (got < n) {
      out.push(rest[0]!.subarray(0, n - got));
      rest[0] = rest[0]!.subarray(n - got);
    }
    this.parts = rest;
    this.held -= n;
    return out;
  }

  private keep(b: Buffer): void {
    if (b.length === 0) return;
    this.parts.push(b);
    this.held += b.length;
  }

  private checked(len: number, b: Buffer, at: number): number {
    if (len < 1) throw new SftpWireError('sftp-malformed', 'an SFTP packet of length 0');
    if (len > this.max) {
      const id = b.length - at >= 9 ? b.readUInt32BE(at + 5) : undefined;
      throw Object.assign(new SftpWireError('sftp-oversized', `an SFTP packet of ${len} bytes (more than ${this.max})`), { requestId: id });
    }
    return len;
  }
}

/** Reads the fields of one packet (`p` whole, from its length field); every read is bounds-checked. */
export class Fields {
  private at: number;
  readonly type: number;
  constructor(private readonly p: Buffer) {
    if (p.length < 5) throw new SftpWireError('sftp-malformed', 'an SFTP packet too short for its type');
    this.type = p[4]!;
    this.at = 5;
  }
  private need(n: number, what: string): void {
    if (this.p.length - this.at < n) throw new SftpWireError('sftp-malformed', `an SFTP packet too short for its ${what}`);
  }
  u32(what = 'field'): number {
    this.need(4, what);
    const v = this.p.readUInt32BE(this.at);
    this.at += 4;
    return v;
  }
  /** A uint64 that must fit in a JavaScript number exactly (offsets and sizes). */
  u64(what = 'field'): number {
    this.need(8, what);
    const hi = this.p.readUInt32BE(this.at);
    const lo = this.p.readUInt32BE(this.at + 4);
    this.at += 8;
    if (hi > 0x1fffff) throw new SftpWireError('sftp-malformed', `an SFTP ${what} beyond 2^53`);
    return hi * 0x100000000 + lo;
  }
  /** A string's bytes, as a view of the packet (no copy). */
  bytes(what = 'string', max = Infinity): Buffer {
    const n = this.u32(`${what} length`);
    if (n > max) throw new SftpWireError('sftp-malformed', `an SFTP ${what} of ${n} bytes (more than ${max})`);
    this.need(n, what);
    const b = this.p.subarray(this.at, this.at + n);
    this.at += n;
    return b;
  }
  /** A string as UTF-8 text (invalid bytes become U+FFFD, which sftp-paths.ts refuses to decide on). */
  text(what = 'string'): string {
    return this.bytes(what).toString('utf8');
  }
  attrs(): Attributes {
    const flags = this.u32('attribute flags');
    const a: Partial<Attributes> = {};
    if (flags & ATTR.SIZE) a.size = this.u64('size');
    if (flags & ATTR.UIDGID) {
      a.uid = this.u32('uid');
      a.gid = this.u32('gid');
    }
    if (flags & ATTR.PERMISSIONS) a.mode = this.u32('permissions');
    if (flags & ATTR.ACMODTIME) {
      a.atime = this.u32('atime');
      a.mtime = this.u32('mtime');
    }
    // Extended attributes are read past and dropped (OpenSSH sends none): what is forwarded is re-encoded.
    if (flags & ATTR.EXTENDED) for (let n = this.u32('extended count'); n > 0; n--) this.bytes('extended name'), this.bytes('extended data');
    return a as Attributes;
  }
  get remaining(): number {
    return this.p.length - this.at;
  }
  /** The packet must hold nothing after its last field (a length that lies shows up here or as an overrun). */
  end(): void {
    if (this.remaining !== 0) throw new SftpWireError('sftp-malformed', `${this.remaining} bytes after the last field of an SFTP packet`);
  }
}

/** Builds one packet: `size` is the body length after the type byte. */
export class Writer {
  readonly b: Buffer;
  private at = 5;
  constructor(type: number, size: number) {
    this.b = Buffer.allocUnsafe(5 + size);
    this.b.writeUInt32BE(1 + size, 0);
    this.b[4] = type;
  }
  u32(v: number): this {
    this.at = this.b.writeUInt32BE(v >>> 0, this.at);
    return this;
  }
  u64(v: number): this {
    this.at = this.b.writeUInt32BE(Math.floor(v / 0x100000000), this.at);
    this.at = this.b.writeUInt32BE(v % 0x100000000, this.at);
    return this;
  }
  bytes(s: Uint8Array): this {
    this.u32(s.length);
    this.b.set(s, this.at);
    this.at += s.length;
    return this;
  }
  attrs(a: InputAttributes | Attributes): this {
    return this.raw(encodeAttrs(a));
  }
  raw(e: Uint8Array): this {
    this.b.set(e, this.at);
    this.at += e.length;
    return this;
  }
  done(): Buffer {
    if (this.at !== this.b.length) throw new SftpWireError('sftp-protocol', `an SFTP packet built with ${this.b.length - this.at} bytes unwritten`);
    return this.b;
  }
}

export function encodeAttrs(a: InputAttributes | Attributes): Buffer {
  const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : v instanceof Date ? Math.floor(v.getTime() / 1000) : undefined);
  const size = num(a.size);
  const uid = num(a.uid);
  const gid = num(a.gid);
  const mode = num(a.mode);
  const atime = num(a.atime);
  const mtime = num(a.mtime);
  let flags = 0;
  let n = 4;
  if (size !== undefined) (flags |= ATTR.SIZE), (n += 8);
  if (uid !== undefined && gid !== undefined) (flags |= ATTR.UIDGID), (n += 8);
  if (mode !== undefined) (flags |= ATTR.PERMISSIONS), (n += 4);
  if (atime !== undefined && mtime !== undefined) (flags |= ATTR.ACMODTIME), (n += 8);
  const b = Buffer.allocUnsafe(n);
  let o = b.writeUInt32BE(flags >>> 0, 0);
  const u32 = (v: number) => (o = b.writeUInt32BE(v >>> 0, o));
  if (flags & ATTR.SIZE) u32(Math.floor(size! / 0x100000000)), u32(size! % 0x100000000);
  if (flags & ATTR.UIDGID) u32(uid!), u32(gid!);
  if (flags & ATTR.PERMISSIONS) u32(mode!);
  if (flags & ATTR.ACMODTIME) u32(atime!), u32(mtime!);
  return b;
}

const STATUS_TEXT = ['Success', 'End of file', 'No such file', 'Permission denied', 'Failure', 'Bad message', 'No connection', 'Connection lost', 'Operation unsupported'];

export function statusPacket(id: number, code: number, message?: string): Buffer {
  const msg = Buffer.from(message ?? STATUS_TEXT[code] ?? 'Failure', 'utf8');
  return new Writer(FXP.STATUS, 4 + 4 + 4 + msg.length + 4).u32(id).u32(code).bytes(msg).bytes(Buffer.alloc(0)).done();
}

export function handlePacket(id: number, h: Uint8Array): Buffer {
  return new Writer(FXP.HANDLE, 4 + 4 + h.length).u32(id).bytes(h).done();
}

/** A DATA answer: one copy of `data` into the packet (one channel write, not a 13-byte packet before it). */
export function dataPacket(id: number, data: Uint8Array): Buffer {
  return new Writer(FXP.DATA, 4 + 4 + data.length).u32(id).bytes(data).done();
}

/** The first 13 bytes of a DATA answer of `length` bytes (the data follows in further writes). */
export function dataHeader(id: number, length: number): Buffer {
  const b = Buffer.allocUnsafe(13);
  b.writeUInt32BE(9 + length, 0);
  b[4] = FXP.DATA;
  b.writeUInt32BE(id, 5);
  b.writeUInt32BE(length, 9);
  return b;
}

export function attrsPacket(id: number, a: Attributes): Buffer {
  return new Writer(FXP.ATTRS, 4 + encodeAttrs(a).length).u32(id).attrs(a).done();
}

export function namePacket(id: number, list: readonly FileEntry[]): Buffer {
  const enc = list.map((e) => ({ f: Buffer.from(e.filename, 'utf8'), l: Buffer.from(e.longname ?? '', 'utf8'), a: encodeAttrs(e.attrs ?? ({} as Attributes)) }));
  const w = new Writer(FXP.NAME, 8 + enc.reduce((n, e) => n + 8 + e.f.length + e.l.length + e.a.length, 0)).u32(id).u32(enc.length);
  for (const e of enc) w.bytes(e.f).bytes(e.l).raw(e.a);
  return w.done();
}

/** VERSION 3 with extensions (name, data) pairs. */
export function versionPacket(extensions: readonly [string, string][]): Buffer {
  const enc = extensions.map(([n, d]) => [Buffer.from(n), Buffer.from(d)] as const);
  const w = new Writer(FXP.VERSION, 4 + enc.reduce((s, [n, d]) => s + 8 + n.length + d.length, 0)).u32(3);
  for (const [n, d] of enc) w.bytes(n).bytes(d);
  return w.done();
}

export function initPacket(): Buffer {
  return new Writer(FXP.INIT, 4).u32(3).done();
}
