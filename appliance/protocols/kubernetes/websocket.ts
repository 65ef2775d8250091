/**
 * RFC 6455 WebSocket framing for the streaming subresources (exec, attach, port-forward), both roles: Vigil
 * is the server to kubectl and the client to the API server. Hand-written rather than a dependency because
 * Vigil must see every frame it relays (a message is handed up only when whole, with its opcode) and refuse
 * what the protocol forbids: an unmasked frame from a client, a masked one from a server, a control frame
 * that is fragmented or over 125 bytes, reserved bits, unknown opcodes, a message over `maxMessageBytes`.
 * Pings are answered here; nothing after a close frame is handed up.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export const OP_CONT = 0x0;
export const OP_TEXT = 0x1;
export const OP_BINARY = 0x2;
export const OP_CLOSE = 0x8;
export const OP_PING = 0x9;
export const OP_PONG = 0xa;

/** Sec-WebSocket-Accept for a client's Sec-WebSocket-Key. */
export function acceptKey(key: string): string {
  return createHash('sha1').update(key + GUID).digest('base64');
}

/** A valid Sec-WebSocket-Key: base64 of 16 bytes. */
export function validClientKey(key: string | undefined): key is string {
  return typeof key === 'string' && /^[A-Za-z0-9+/]{22}==$/.test(key);
}

export function newClientKey(): string {
  return randomBytes(16).toString('base64');
}

/** The subprotocols a Sec-WebSocket-Protocol header (possibly repeated) offers, in order. */
export function offeredProtocols(header: string | string[] | undefined): string[] {
  const all = Array.isArray(header) ? header.join(',') : (header ?? '');
  return all.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

export class WsProtocolError extends Error {
  constructor(
    readonly closeCode: number,
    message: string,
  ) {
    super(message);
  }
}

export interface WsHandlers {
  /** A whole data message (binary or text). */
  message(binary: boolean, data: Buffer): void;
  /** The peer's close frame (code 1005 when it gave none), or the end of the transport (1006). */
  close(code: number, reason: string): void;
  /** The peer broke the protocol: the connection is closed with `closeCode` after this. */
  error(e: WsProtocolError): void;
}

function unmask(payload: Buffer, key: Buffer): void {
  const n = payload.length;
  let i = 0;
  if (n >= 8) {
    const k = key.readUInt32LE(0);
    for (; i + 4 <= n; i += 4) payload.writeUInt32LE((payload.readUInt32LE(i) ^ k) >>> 0, i);
  }
  for (; i < n; i++) payload[i]! ^= key[i & 3]!;
}

/** One WebSocket connection over an upgraded socket. */
export class WsConnection {
  private buf: Buffer = Buffer.alloc(0);
  private fragments: Buffer[] = [];
  private fragmentsSize = 0;
  private fragmentOpcode = -1;
  private closeReceived = false;
  private closeSent = false;
  private ended = false;

  constructor(
    readonly socket: Duplex,
    private readonly role: 'server' | 'client',
    private readonly handlers: WsHandlers,
    private readonly maxMessageBytes: number,
    head?: Buffer,
  ) {
    socket.on('data', (c: Buffer) => this.onData(c));
    socket.on('close', () => this.finish(1006, 'connection lost'));
    socket.on('error', () => this.finish(1006, 'connection failed'));
    if (head && head.length > 0) queueMicrotask(() => this.onData(head));
  }

  get closing(): boolean {
    return this.closeSent || this.closeReceived || this.ended;
  }

  private finish(code: number, reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.handlers.close(code, reason);
  }

  private onData(chunk: Buffer): void {
    if (this.ended || this.closeReceived) return;
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    try {
      this.parse();
    } catch (e) {
      if (!(e instanceof WsProtocolError)) throw e;
      this.handlers.error(e);
      this.close(e.closeCode, e.message.slice(0, 120));
      this.finish(e.closeCode, e.message);
    }
  }

  private parse(): void {
    let o = 0;
    const b = this.buf;
    while (!this.closeReceived) {
      if (b.length - o < 2) break;
      const b0 = b[o]!;
      const b1 = b[o + 1]!;
      const fin = (b0 & 0x80) !== 0;
      if (b0 & 0x70) throw new WsProtocolError(1002, 'reserved bits set in a WebSocket frame');
      const opcode = b0 & 0x0f;
      const masked = (b1 & 0x80) !== 0;
      let len = b1 & 0x7f;
      let p = o + 2;
      if (len === 126) {
        if (b.length - p < 2) break;
        len = b.readUInt16BE(p);
        p += 2;
      } else if (len === 127) {
        if (b.length - p < 8) break;
        const hi = b.readUInt32BE(p);
        if (hi !== 0) throw new WsProtocolError(1009, 'a WebSocket frame is too large');
        len = b.readUInt32BE(p + 4);
        p += 8;
      }
      if (this.role === 'server' && !masked) throw new WsProtocolError(1002, 'a client frame is not masked');
      if (this.role === 'client' && masked) throw new WsProtocolError(1002, 'a server frame is masked');
      if (len > this.maxMessageBytes) throw new WsProtocolError(1009, `a WebSocket frame is larger than ${this.maxMessageBytes} bytes`);
      let key: Buffer | undefined;
      if (masked) {
        if (b.length - p < 4) break;
        key = b.subarray(p, p + 4);
        p += 4;
      }
      if (b.length - p < len) break;
      // A masked payload is copied (it is unmasked in place); an unmasked one is a view of this chunk.
      const payload = key ? Buffer.from(b.subarray(p, p + len)) : b.subarray(p, p + len);
      if (key) unmask(payload, key);
      o = p + len;
      this.frame(fin, opcode, payload);
    }
    this.buf = o >= b.length ? Buffer.alloc(0) : b.subarray(o);
  }

  private frame(fin: boolean, opcode: number, payload: Buffer): void {
    if (opcode >= 0x8) {
      if (!fin || payload.length > 125) throw new WsProtocolError(1002, 'a fragmented or oversized WebSocket control frame');
      if (opcode === OP_PING) this.write(OP_PONG, payload);
      else if (opcode === OP_CLOSE) {
        if (payload.length === 1) throw new WsProtocolError(1002, 'a one-byte close frame');
        this.closeReceived = true;
        const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        const reason = payload.length > 2 ? payload.subarray(2).toString('utf8') : '';
        // Echo the close (RFC 6455 §5.5.1), then the transport ends.
        if (this.closeSent) this.socket.end();
        else this.close(code === 1005 || code < 1000 || code >= 5000 ? 1000 : code, '');
        this.finish(code, reason);
      } else if (opcode !== OP_PONG) throw new WsProtocolError(1002, `unknown WebSocket control opcode ${opcode}`);
      return;
    }
    if (opcode === OP_CONT) {
      if (this.fragmentOpcode < 0) throw new WsProtocolError(1002, 'a continuation frame with no message to continue');
    } else if (opcode === OP_TEXT || opcode === OP_BINARY) {
      if (this.fragmentOpcode >= 0) throw new WsProtocolError(1002, 'a new message inside a fragmented one');
      if (fin) return this.handlers.message(opcode === OP_BINARY, payload);
      this.fragmentOpcode = opcode;
    } else throw new WsProtocolError(1002, `unknown WebSocket opcode ${opcode}`);
    this.fragmentsSize += payload.length;
    if (this.fragmentsSize > this.maxMessageBytes) throw new WsProtocolError(1009, `a WebSocket message is larger than ${this.maxMessageBytes} bytes`);
    this.fragments.push(payload);
    if (!fin) return;
    const whole = Buffer.concat(this.fragments);
    const binary = this.fragmentOpcode === OP_BINARY;
    this.fragments = [];
    this.fragmentsSize = 0;
    this.fragmentOpcode = -1;
    this.handlers.message(binary, whole);
  }

  private write(opcode: number, payload: Buffer | readonly Buffer[]): boolean {
    if (this.closeSent || this.socket.destroyed) return false;
    const parts = Buffer.isBuffer(payload) ? [payload] : payload;
    let len = 0;
    for (const x of parts) len += x.length;
    const maskBit = this.role === 'client' ? 0x80 : 0;
    const ext = len < 126 ? 0 : len < 0x10000 ? 2 : 8;
    const header = Buffer.allocUnsafe(2 + ext + (maskBit ? 4 : 0));
    header[0] = 0x80 | opcode;
    if (ext === 0) header[1] = maskBit | len;
    else if (ext === 2) {
      header[1] = maskBit | 126;
      header.writeUInt16BE(len, 2);
    } else {
      header[1] = maskBit | 127;
      header.writeUInt32BE(0, 2);
      header.writeUInt32BE(len, 6);
    }
    if (opcode === OP_CLOSE) this.closeSent = true;
    if (!maskBit) {
      // One writev for the header and the parts (a TLS record each otherwise).
      this.socket.cork();
      this.socket.write(header);
      let ok = true;
      for (const x of parts) ok = this.socket.write(x);
      process.nextTick(() => this.socket.uncork());
      return ok;
    }
    const key = randomBytes(4);
    key.copy(header, 2 + ext);
    const body = Buffer.concat(parts as Buffer[], len);
    unmask(body, key);
    return this.socket.write(Buffer.concat([header, body]));
  }

  /** Sends one binary message (the parts joined); false when the socket asks to wait for 'drain'. */
  send(parts: Buffer | readonly Buffer[]): boolean {
    return this.write(OP_BINARY, parts);
  }

  /** Sends a close frame (once) and ends the socket once the peer's close arrived or shortly after. */
  close(code = 1000, reason = ''): void {
    if (this.closeSent) return;
    const r = Buffer.from(reason, 'utf8').subarray(0, 123);
    const p = Buffer.allocUnsafe(2 + r.length);
    p.writeUInt16BE(code, 0);
    r.copy(p, 2);
    this.write(OP_CLOSE, p);
    if (this.closeReceived) this.socket.end();
    else setTimeout(() => this.socket.destroy(), 2_000).unref();
  }

  destroy(): void {
    this.socket.destroy();
  }
}
