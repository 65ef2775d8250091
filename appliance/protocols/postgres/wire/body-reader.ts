/**
 * Bounds-checked reads over one message body. Every overrun or leftover byte is a PgProtocolError naming the
 * message, as PostgreSQL's pq_getmsg* functions report "invalid message format".
 */
import { PgProtocolError } from './errors.ts';

export class BodyReader {
  private pos = 0;

  constructor(
    private readonly buf: Buffer,
    /** The message's name, for errors: "Bind", "RowDescription"… */
    private readonly what: string,
  ) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  uint8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  int16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  /** Counts (parameters, columns, formats) are unsigned 16-bit: PostgreSQL allows up to 65 535. */
  uint16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  int32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** OIDs are unsigned 32-bit. */
  uint32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /**
   * A NUL-terminated string, decoded as UTF-8 (the gateway requires client_encoding UTF8), or as latin1 for
   * a byte-exact key: two names that differ only in invalid UTF-8 bytes must never look the same.
   */
  cstring(encoding: 'utf8' | 'latin1' = 'utf8'): string {
    return this.cstringBytes().toString(encoding);
  }

  /** A NUL-terminated string's bytes, as a view (without the NUL). */
  cstringBytes(): Buffer {
    const end = this.buf.indexOf(0, this.pos);
    if (end < 0) throw this.error('a string is not NUL-terminated');
    const v = this.buf.subarray(this.pos, end);
    this.pos = end + 1;
    return v;
  }

  /** `n` bytes, as a view (no copy). */
  bytes(n: number): Buffer {
    if (n < 0) throw this.error(`negative length ${n}`);
    this.need(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** An int32 length then that many bytes; -1 is NULL. */
  nullableBytes(): Buffer | null {
    const n = this.int32();
    if (n === -1) return null;
    if (n < -1) throw this.error(`invalid value length ${n}`);
    return this.bytes(n);
  }

  /** Everything left, as a view. */
  rest(): Buffer {
    const v = this.buf.subarray(this.pos);
    this.pos = this.buf.length;
    return v;
  }

  /** The body must be fully consumed: trailing bytes mean a malformed message. */
  end(): void {
    if (this.pos !== this.buf.length) throw this.error(`${this.buf.length - this.pos} unexpected trailing bytes`);
  }

  error(detail: string): PgProtocolError {
    return new PgProtocolError(`invalid ${this.what} message: ${detail}`);
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw this.error('it ends too early');
  }
}
