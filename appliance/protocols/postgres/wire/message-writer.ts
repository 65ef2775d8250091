/**
 * Builds one message: the body is appended, then `typed()` or `untyped()` writes the header in front. The
 * header's room is reserved up front so finishing never copies.
 */
const HEADER = 5; // type byte + int32 length

export class MessageWriter {
  private buf: Buffer;
  private pos = HEADER;

  constructor(bodySize = 64) {
    this.buf = Buffer.allocUnsafe(HEADER + bodySize);
  }

  uint8(v: number): this {
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  int16(v: number): this {
    this.ensure(2);
    this.buf.writeInt16BE(v, this.pos);
    this.pos += 2;
    return this;
  }

  uint16(v: number): this {
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
    return this;
  }

  int32(v: number): this {
    this.ensure(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
    return this;
  }

  uint32(v: number): this {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
    return this;
  }

  /** A string then NUL. A string holding NUL cannot be sent: PostgreSQL would read it as two. */
  cstring(s: string, encoding: 'utf8' | 'latin1' = 'utf8'): this {
    if (s.includes('\0')) throw new RangeError('a protocol string cannot contain NUL');
    const n = Buffer.byteLength(s, encoding);
    this.ensure(n + 1);
    this.buf.write(s, this.pos, encoding);
    this.pos += n;
    this.buf[this.pos++] = 0;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  /** An int32 length then the bytes; null is length -1. */
  nullableBytes(b: Uint8Array | null): this {
    if (b === null) return this.int32(-1);
    return this.int32(b.length).bytes(b);
  }

  /** Type byte + int32 length (counting itself) + body. */
  typed(type: string): Buffer {
    this.buf[0] = type.charCodeAt(0);
    this.buf.writeUInt32BE(this.pos - 1, 1);
    return this.buf.subarray(0, this.pos);
  }

  /** int32 length (counting itself) + body: the startup-phase packets. */
  untyped(): Buffer {
    this.buf.writeUInt32BE(this.pos - 1, 1);
    return this.buf.subarray(1, this.pos);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
}

/** A message with an empty body (Sync, Flush, ParseComplete…). */
export function emptyMessage(type: string): Buffer {
  const b = Buffer.allocUnsafe(5);
  b[0] = type.charCodeAt(0);
  b.writeUInt32BE(4, 1);
  return b;
}
