/**
 * A bounds-checked reader for the SSH wire encoding (RFC 4251 §5): uint32, uint64, string, mpint. No length
 * is trusted: every read checks it against what is left, and the caller must call `end()` so trailing bytes
 * are refused. Failures go through `fail`, so each parser raises its own typed error.
 */
import { fromUtf8 } from '../../../shared/bytes.ts';

export type Fail = (reason: string, message: string) => never;

export class SshReader {
  private offset = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly fail: Fail,
  ) {}

  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  /** Where the next read starts (for "signed part = everything before the signature"). */
  get position(): number {
    return this.offset;
  }

  u32(what: string): number {
    if (this.remaining < 4) this.fail('truncated', `${what}: truncated (needs 4 bytes, ${this.remaining} left)`);
    const b = this.bytes;
    const o = this.offset;
    this.offset += 4;
    return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
  }

  u64(what: string): bigint {
    const hi = this.u32(what);
    const lo = this.u32(what);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  /** An SSH `string` as bytes (a view, not a copy). */
  string(what: string, max = Number.MAX_SAFE_INTEGER): Uint8Array {
    const n = this.u32(`${what} length`);
    if (n > this.remaining) this.fail('truncated', `${what}: length ${n} exceeds the ${this.remaining} bytes left`);
    if (n > max) this.fail('too-long', `${what}: length ${n} exceeds the limit of ${max}`);
    const out = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  /**
   * An SSH `string` read as text: strict UTF-8 and no NUL, as OpenSSH's sshbuf_get_cstring refuses an embedded
   * NUL (a name that means one thing to a C reader and another to us).
   */
  text(what: string, max = 4096): string {
    const raw = this.string(what, max);
    if (raw.includes(0)) this.fail('nul-in-string', `${what}: contains a NUL byte`);
    try {
      return fromUtf8(raw);
    } catch {
      return this.fail('not-utf8', `${what}: not valid UTF-8`);
    }
  }

  /**
   * A non-negative `mpint` as its big-endian magnitude without a sign byte. Canonical only (RFC 4251: no
   * needless leading zero), negative values refused, as OpenSSH's sshbuf_get_bignum2_bytes_direct does.
   */
  mpint(what: string, maxBytes: number): Uint8Array {
    const raw = this.string(what, maxBytes + 1);
    if (raw.length === 0) return raw;
    if ((raw[0]! & 0x80) !== 0) this.fail('negative-mpint', `${what}: negative`);
    if (raw[0] === 0) {
      if (raw.length === 1 || (raw[1]! & 0x80) === 0) this.fail('non-canonical-mpint', `${what}: needless leading zero`);
      return raw.subarray(1);
    }
    if (raw.length > maxBytes) this.fail('too-long', `${what}: ${raw.length} bytes exceeds the limit of ${maxBytes}`);
    return raw;
  }

  /** Refuses anything left over: a blob means exactly what it says, with nothing hidden after it. */
  end(what: string): void {
    if (this.remaining !== 0) this.fail('trailing-bytes', `${what}: ${this.remaining} trailing bytes`);
  }
}

/** Builds SSH wire encodings (for signed-data checks and tests). */
export function sshString(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + data.length);
  new DataView(out.buffer).setUint32(0, data.length);
  out.set(data, 4);
  return out;
}
