/**
 * The untyped packets a client may send before its first typed message: SSLRequest, GSSENCRequest,
 * CancelRequest and StartupMessage. Checks follow ProcessStartupPacket() in PostgreSQL's backend_startup.c.
 */
import {
  CANCEL_REQUEST_CODE,
  GSSENC_REQUEST_CODE,
  MAX_CANCEL_KEY_LENGTH,
  MAX_STARTUP_PACKET_LENGTH,
  PROTOCOL_MAJOR,
  protocolVersion,
  SSL_REQUEST_CODE,
} from './constants.ts';
import { PgProtocolError } from './errors.ts';

export interface SslRequest {
  type: 'ssl';
}

export interface GssEncRequest {
  type: 'gssenc';
}

export interface CancelRequest {
  type: 'cancel';
  pid: number;
  /** 4 bytes before protocol 3.2, up to 256 from 3.2 on. */
  secret: Buffer;
}

export interface StartupMessage {
  type: 'startup';
  protocol: { major: number; minor: number };
  /** Every parameter but `_pq_.*`, in arrival order; a repeated name keeps its last value, as in PostgreSQL. */
  params: Map<string, string>;
  /** `_pq_.*` protocol options: PostgreSQL 15 knows none and names them back in NegotiateProtocolVersion. */
  protocolOptions: Map<string, string>;
}

export type StartupPacket = SslRequest | GssEncRequest | CancelRequest | StartupMessage;

/**
 * Checks the int32 length word that opens every startup-phase packet (it counts itself). Called as soon as
 * the 4 bytes are in, so a bogus length is refused before anything is buffered for it.
 */
export function checkStartupLength(length: number, firstBytes: readonly number[]): void {
  const body = length - 4;
  if (body >= 4 && body <= MAX_STARTUP_PACKET_LENGTH) return;
  throw new PgProtocolError(`invalid length of startup packet: ${length}`, { hint: garbageHint(firstBytes) });
}

/** Decodes a whole startup-phase packet (length word included), whose length was checked already. */
export function parseStartupPacket(packet: Buffer): StartupPacket {
  const code = packet.readUInt32BE(4);
  const body = packet.length - 8;
  switch (code) {
    case SSL_REQUEST_CODE:
    case GSSENC_REQUEST_CODE:
      // PostgreSQL ignores extra bytes here; no real client sends any, so they are refused as garbage.
      if (body !== 0) throw new PgProtocolError(`invalid length of startup packet: ${packet.length}`);
      return { type: code === SSL_REQUEST_CODE ? 'ssl' : 'gssenc' };
    case CANCEL_REQUEST_CODE: {
      const keyLength = body - 4;
      if (keyLength < 4 || keyLength > MAX_CANCEL_KEY_LENGTH) throw new PgProtocolError(`invalid length of startup packet: ${packet.length}`);
      return { type: 'cancel', pid: packet.readInt32BE(8), secret: packet.subarray(12) };
    }
  }
  const major = code >>> 16;
  const minor = code & 0xffff;
  if (major !== PROTOCOL_MAJOR) {
    throw new PgProtocolError(`unsupported frontend protocol ${major}.${minor}: server supports 3.0 to 3.0`, {
      code: 'E_PG_PROTOCOL_VERSION',
      hint: major < PROTOCOL_MAJOR ? 'protocol 2 was removed in PostgreSQL 14; use a current client library' : undefined,
    });
  }
  return parseParams(packet, major, minor);
}

/**
 * When the client asked for a newer minor version than we speak or sent `_pq_.*` options, the
 * NegotiateProtocolVersion the server must answer with before anything else (as PostgreSQL does).
 * `version` is the full protocol number to send (major << 16 | minor), as PostgreSQL sends it.
 */
export function protocolNegotiation(startup: StartupMessage, newestMinor = 0): { version: number; unrecognized: string[] } | undefined {
  const unrecognized = [...startup.protocolOptions.keys()];
  if (startup.protocol.minor <= newestMinor && unrecognized.length === 0) return undefined;
  return { version: protocolVersion(PROTOCOL_MAJOR, Math.min(startup.protocol.minor, newestMinor)), unrecognized };
}

function parseParams(packet: Buffer, major: number, minor: number): StartupMessage {
  const params = new Map<string, string>();
  const protocolOptions = new Map<string, string>();
  const end = packet.length;
  let at = 8;
  // name\0value\0 … \0: the terminator must be exactly the last byte.
  while (at < end && packet[at] !== 0) {
    const nameEnd = packet.indexOf(0, at);
    if (nameEnd < 0 || nameEnd + 1 >= end) break;
    const valueEnd = packet.indexOf(0, nameEnd + 1);
    if (valueEnd < 0) break;
    const name = packet.toString('utf8', at, nameEnd);
    const value = packet.toString('utf8', nameEnd + 1, valueEnd);
    if (name.startsWith('_pq_.')) protocolOptions.set(name, value);
    else {
      params.delete(name); // keep arrival order of the last occurrence
      params.set(name, value);
    }
    at = valueEnd + 1;
  }
  if (at !== end - 1 || packet[end - 1] !== 0) throw new PgProtocolError('invalid startup packet layout: expected terminator as last byte');
  return { type: 'startup', protocol: { major, minor }, params, protocolOptions };
}

/** A guess at what was sent instead of a startup packet, for the log. */
function garbageHint(b: readonly number[]): string | undefined {
  if (b[0] === 0x16 && b[1] === 0x03) return 'this looks like a TLS ClientHello: direct SSL negotiation (sslnegotiation=direct) is not supported';
  const text = String.fromCharCode(...b);
  if (/^(GET |POST|PUT |HEAD|OPTI|PRI )/.test(text)) return 'this looks like HTTP, not the PostgreSQL protocol';
  if (b[0] !== undefined && b[0] >= 0x41 && b[0] <= 0x7a && b[1] === 0) return 'this looks like a typed message: the client skipped the startup packet';
  return undefined;
}
