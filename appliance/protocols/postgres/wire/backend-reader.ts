/**
 * Incremental framing of the bytes a server sends (type byte + int32 length). push() what the socket gives,
 * then call next() until it returns undefined. Framing reads five header bytes and builds no views: raw,
 * body and decode() cost only when asked for. After an error every call throws it again.
 */
import { ChunkQueue } from './chunk-queue.ts';
import {
  BACKEND_LONG_TYPES,
  BACKEND_MESSAGES,
  type BackendMessageType,
  CHAR,
  describeType,
  LIBPQ_SHORT_MESSAGE_LIMIT,
  PQ_LARGE_MESSAGE_LIMIT,
} from './constants.ts';
import { type BackendMessage, decodeBackendMessage } from './backend-messages.ts';
import { PgProtocolError } from './errors.ts';

/** The single byte answering SSLRequest ('S' or 'N') or GSSENCRequest ('G' or 'N'). */
export type EncryptionResponseType = 'encryption-response';
export type BackendFrameType = BackendMessageType | EncryptionResponseType;

export interface BackendReaderOptions {
  /** The most a DataRow, RowDescription, CopyData, ErrorResponse… may claim (length counting itself). */
  maxMessageLength?: number;
}

export class BackendFrame {
  constructor(
    readonly type: BackendFrameType,
    /** The buffer holding the message: a received chunk, or a copy when the message spanned chunks. */
    readonly source: Buffer,
    readonly start: number,
    readonly end: number,
  ) {}

  /** Exactly the bytes received, to relay unchanged. */
  get raw(): Buffer {
    return this.source.subarray(this.start, this.end);
  }

  /** The body after type and length (empty for an encryption response). */
  get body(): Buffer {
    return this.source.subarray(this.type === 'encryption-response' ? this.end : this.start + 5, this.end);
  }

  get length(): number {
    return this.end - this.start;
  }

  decode(): BackendMessage | { type: EncryptionResponseType; accepted: boolean; byte: 'S' | 'G' | 'N' } {
    if (this.type === 'encryption-response') {
      const byte = CHAR[this.source[this.start]!] as 'S' | 'G' | 'N';
      return { type: this.type, accepted: byte !== 'N', byte };
    }
    return decodeBackendMessage(this.type, this.body);
  }
}

export class BackendReader {
  private readonly queue = new ChunkQueue();
  /** Most bytes each type byte may claim; 0 for bytes that are no backend message type. */
  private readonly limits = new Uint32Array(256);
  private encryptionResponse = false;
  private failure: PgProtocolError | undefined;

  constructor(options: BackendReaderOptions = {}) {
    const max = options.maxMessageLength ?? PQ_LARGE_MESSAGE_LIMIT;
    if (!(max >= 4 && max <= PQ_LARGE_MESSAGE_LIMIT)) throw new RangeError(`maxMessageLength must be 4…${PQ_LARGE_MESSAGE_LIMIT}`);
    for (const type of Object.keys(BACKEND_MESSAGES)) {
      this.limits[type.charCodeAt(0)] = BACKEND_LONG_TYPES.has(type) ? max : Math.min(LIBPQ_SHORT_MESSAGE_LIMIT, max);
    }
  }

  /** Bytes received but not framed yet. */
  get buffered(): number {
    return this.queue.length;
  }

  /**
   * Call after sending SSLRequest or GSSENCRequest: the next frame is the server's one-byte answer. An 'E'
   * instead is framed as the ErrorResponse it starts.
   */
  expectEncryptionResponse(): void {
    this.encryptionResponse = true;
  }

  push(chunk: Uint8Array): void {
    if (this.failure) throw this.failure;
    this.queue.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  }

  /** Removes and returns the bytes not framed yet (for handing a connection on after authentication). */
  takeBuffered(): Buffer {
    return this.queue.takeAll();
  }

  /** The next complete message, or undefined until more bytes arrive. */
  next(): BackendFrame | undefined {
    if (this.failure) throw this.failure;
    const q = this.queue;
    if (this.encryptionResponse) {
      if (q.length === 0) return undefined;
      const byte = q.byteAt(0);
      if (byte !== 0x45) {
        this.encryptionResponse = false;
        if (byte !== 0x53 && byte !== 0x4e && byte !== 0x47) return this.fail(`invalid response to encryption request: ${describeType(byte, {})}`);
        const start = q.take(1);
        return new BackendFrame('encryption-response', q.taken, start, start + 1);
      }
      this.encryptionResponse = false;
    }
    if (q.length < 5) return undefined;
    const byte = q.byteAt(0);
    const limit = this.limits[byte]!;
    if (limit === 0) return this.fail(`invalid backend message type ${describeType(byte, BACKEND_MESSAGES)}`);
    const length = q.uint32At(1);
    if (length < 4 || length > limit) {
      return this.fail(`invalid message length ${length} for ${describeType(byte, BACKEND_MESSAGES)} (allowed 4…${limit})`);
    }
    if (q.length <= length) return undefined;
    const start = q.take(length + 1);
    return new BackendFrame(CHAR[byte] as BackendMessageType, q.taken, start, start + length + 1);
  }

  private fail(message: string): never {
    this.failure = new PgProtocolError(message);
    throw this.failure;
  }
}
