/**
 * Incremental framing of the bytes a client sends: first untyped startup-phase packets, then typed
 * messages. push() what the socket gives, then call next() until it returns undefined. Lengths are checked as
 * soon as the header is in, so a bogus length is refused without buffering what it claims; after an error
 * every call throws it again (the connection is unusable).
 */
import { ChunkQueue } from './chunk-queue.ts';
import {
  CHAR,
  describeType,
  FRONTEND_LIMIT,
  FRONTEND_MESSAGES,
  type FrontendMessageType,
  PG_MAX_AUTH_TOKEN_LENGTH,
  PQ_LARGE_MESSAGE_LIMIT,
  PQ_SMALL_MESSAGE_LIMIT,
} from './constants.ts';
import { PgProtocolError } from './errors.ts';
import { decodeFrontendMessage, type FrontendMessage } from './frontend-messages.ts';
import { checkStartupLength, parseStartupPacket, type StartupPacket } from './startup.ts';

export type FrontendFrameType = FrontendMessageType | StartupPacket['type'];

export interface FrontendReaderOptions {
  /** The most a Query, Parse, Bind, CopyData or FunctionCall may claim (length counting itself). */
  maxMessageLength?: number;
}

/** One message as received. `raw` is exactly the bytes to relay; decode() parses the body on demand. */
export class FrontendFrame {
  private startup: StartupPacket | undefined;

  constructor(
    readonly type: FrontendFrameType,
    /** The buffer holding the message: a received chunk, or a copy when the message spanned chunks. */
    readonly source: Buffer,
    readonly start: number,
    readonly end: number,
    startup?: StartupPacket,
  ) {
    this.startup = startup;
  }

  /** Type byte (if any), length and body: what to forward unchanged. */
  get raw(): Buffer {
    return this.source.subarray(this.start, this.end);
  }

  /** The body after the header (type + length, or length + request code for startup-phase packets). */
  get body(): Buffer {
    return this.source.subarray(this.start + (this.startup ? 8 : 5), this.end);
  }

  get length(): number {
    return this.end - this.start;
  }

  decode(): FrontendMessage | StartupPacket {
    return this.startup ?? decodeFrontendMessage(this.type as FrontendMessageType, this.body);
  }
}

type Phase = 'startup' | 'messages' | 'cancelled';

export class FrontendReader {
  private readonly queue = new ChunkQueue();
  /** Most bytes each type byte may claim; 0 for bytes that are no frontend message type. */
  private readonly limits = new Uint32Array(256);
  private phaseNow: Phase = 'startup';
  private sslSeen = false;
  private gssSeen = false;
  private failure: PgProtocolError | undefined;

  constructor(options: FrontendReaderOptions = {}) {
    const max = options.maxMessageLength ?? PQ_LARGE_MESSAGE_LIMIT;
    if (!(max >= 4 && max <= PQ_LARGE_MESSAGE_LIMIT)) throw new RangeError(`maxMessageLength must be 4…${PQ_LARGE_MESSAGE_LIMIT}`);
    const byKind = { large: max, small: PQ_SMALL_MESSAGE_LIMIT, auth: PG_MAX_AUTH_TOKEN_LENGTH };
    for (const [type, kind] of Object.entries(FRONTEND_LIMIT)) this.limits[type.charCodeAt(0)] = byKind[kind];
  }

  /** 'startup' until the StartupMessage, then 'messages'; 'cancelled' after a CancelRequest. */
  get phase(): Phase {
    return this.phaseNow;
  }

  /**
   * Bytes received but not framed yet. After answering 'S' to an SSLRequest (or 'G' to a GSSENCRequest) this
   * must be 0: bytes sent before the handshake were not encrypted and may have been injected (CVE-2021-23214).
   */
  get buffered(): number {
    return this.queue.length;
  }

  push(chunk: Uint8Array): void {
    if (this.failure) throw this.failure;
    this.queue.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  }

  /** The next complete message, or undefined until more bytes arrive. */
  next(): FrontendFrame | undefined {
    if (this.failure) throw this.failure;
    try {
      return this.phaseNow === 'messages' ? this.nextTyped() : this.nextStartup();
    } catch (e) {
      if (e instanceof PgProtocolError) this.failure = e;
      throw e;
    }
  }

  private nextStartup(): FrontendFrame | undefined {
    const q = this.queue;
    if (this.phaseNow === 'cancelled') {
      if (q.length > 0) throw new PgProtocolError('unexpected data after a CancelRequest');
      return undefined;
    }
    if (q.length < 4) return undefined;
    const length = q.uint32At(0);
    checkStartupLength(length, [q.byteAt(0), q.byteAt(1), q.byteAt(2), q.byteAt(3)]);
    if (q.length < length) return undefined;
    const start = q.take(length);
    const source = q.taken;
    const packet = parseStartupPacket(source.subarray(start, start + length));
    if (packet.type === 'ssl') {
      if (this.sslSeen) throw new PgProtocolError('duplicate SSLRequest');
      this.sslSeen = true;
    } else if (packet.type === 'gssenc') {
      if (this.gssSeen) throw new PgProtocolError('duplicate GSSENCRequest');
      this.gssSeen = true;
    } else if (packet.type === 'cancel') this.phaseNow = 'cancelled';
    else this.phaseNow = 'messages';
    return new FrontendFrame(packet.type, source, start, start + length, packet);
  }

  private nextTyped(): FrontendFrame | undefined {
    const q = this.queue;
    if (q.length < 5) return undefined;
    const byte = q.byteAt(0);
    const limit = this.limits[byte]!;
    if (limit === 0) throw new PgProtocolError(`invalid frontend message type ${describeType(byte, FRONTEND_MESSAGES)}`);
    const length = q.uint32At(1);
    if (length < 4 || length > limit) {
      throw new PgProtocolError(`invalid message length ${length} for ${describeType(byte, FRONTEND_MESSAGES)} (allowed 4…${limit})`);
    }
    if (q.length < length + 1) return undefined;
    const start = q.take(length + 1);
    return new FrontendFrame(CHAR[byte] as FrontendMessageType, q.taken, start, start + length + 1);
  }
}
