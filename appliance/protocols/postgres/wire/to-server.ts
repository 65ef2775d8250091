/**
 * Builders for the messages the gateway sends to a server (frontend messages). Each returns a fresh Buffer
 * holding one complete message.
 */
import { CANCEL_REQUEST_CODE, GSSENC_REQUEST_CODE, PROTOCOL_MAJOR, protocolVersion, SSL_REQUEST_CODE } from './constants.ts';
import type { Format } from './frontend-messages.ts';
import { emptyMessage, MessageWriter } from './message-writer.ts';

/**
 * StartupMessage: `params` must include `user`; names starting with `_pq_.` are protocol options. The
 * protocol is 3.`minor` (default 3.0, all PostgreSQL 15 speaks).
 */
export function startupMessage(params: Readonly<Record<string, string>> | ReadonlyMap<string, string>, minor = 0): Buffer {
  const w = new MessageWriter(256).uint32(protocolVersion(PROTOCOL_MAJOR, minor));
  const entries = params instanceof Map ? [...params] : Object.entries(params);
  for (const [name, value] of entries) {
    if (name === '') throw new RangeError('a startup parameter needs a name');
    w.cstring(name).cstring(value);
  }
  return w.uint8(0).untyped();
}

export const sslRequest = (): Buffer => new MessageWriter(4).uint32(SSL_REQUEST_CODE).untyped();
export const gssencRequest = (): Buffer => new MessageWriter(4).uint32(GSSENC_REQUEST_CODE).untyped();

/** A 4-byte secret as number, or the secret's bytes as BackendKeyData gave them. */
export function cancelRequest(pid: number, secret: number | Uint8Array): Buffer {
  const w = new MessageWriter(12).uint32(CANCEL_REQUEST_CODE).int32(pid);
  return (typeof secret === 'number' ? w.uint32(secret) : w.bytes(secret)).untyped();
}

/** Cleartext password, or the "md5…" response of md5PasswordResponse(). */
export const passwordMessage = (password: string): Buffer => new MessageWriter().cstring(password).typed('p');

export function saslInitialResponse(mechanism: string, data: Uint8Array | null): Buffer {
  return new MessageWriter(64 + (data?.length ?? 0)).cstring(mechanism).nullableBytes(data).typed('p');
}

export const saslResponse = (data: Uint8Array): Buffer => new MessageWriter(data.length).bytes(data).typed('p');

export const query = (sql: string): Buffer => new MessageWriter(Buffer.byteLength(sql) + 1).cstring(sql).typed('Q');

export function parse(name: string, sql: string, paramTypes: readonly number[] = []): Buffer {
  const w = new MessageWriter(Buffer.byteLength(sql) + name.length + 4 + paramTypes.length * 4).cstring(name).cstring(sql).uint16(paramTypes.length);
  for (const oid of paramTypes) w.uint32(oid);
  return w.typed('P');
}

export interface BindOptions {
  portal?: string;
  statement?: string;
  /** Parameter values: bytes, text (UTF-8) or null. */
  params?: readonly (Uint8Array | string | null)[];
  paramFormats?: readonly Format[];
  resultFormats?: readonly Format[];
}

export function bind(o: BindOptions = {}): Buffer {
  const params = (o.params ?? []).map((v) => (typeof v === 'string' ? Buffer.from(v, 'utf8') : v));
  let size = 16;
  for (const p of params) size += 4 + (p?.length ?? 0);
  const w = new MessageWriter(size).cstring(o.portal ?? '').cstring(o.statement ?? '');
  formats(w, o.paramFormats ?? []).uint16(params.length);
  for (const p of params) w.nullableBytes(p);
  return formats(w, o.resultFormats ?? []).typed('B');
}

export const execute = (portal = '', maxRows = 0): Buffer => new MessageWriter().cstring(portal).int32(maxRows).typed('E');
export const describe = (kind: 'S' | 'P', name = ''): Buffer => new MessageWriter().uint8(kind.charCodeAt(0)).cstring(name).typed('D');

/**
 * The gateway's own messages about a client's names: names are byte-exact keys (frontend-messages.ts), so
 * they go back out byte for byte.
 */
export const byName = {
  describePortal: (key: string): Buffer => new MessageWriter().uint8(0x50).cstring(key, 'latin1').typed('D'),
  parse: (key: string, sql: string): Buffer => new MessageWriter().cstring(key, 'latin1').cstring(sql).uint16(0).typed('P'),
};
export const close = (kind: 'S' | 'P', name = ''): Buffer => new MessageWriter().uint8(kind.charCodeAt(0)).cstring(name).typed('C');

export function functionCall(oid: number, args: readonly (Uint8Array | string | null)[], argFormats: readonly Format[] = [], resultFormat: Format = 0): Buffer {
  const w = formats(new MessageWriter().uint32(oid), argFormats).uint16(args.length);
  for (const a of args) w.nullableBytes(typeof a === 'string' ? Buffer.from(a, 'utf8') : a);
  return w.int16(resultFormat).typed('F');
}

export const copyData = (data: Uint8Array): Buffer => new MessageWriter(data.length).bytes(data).typed('d');
export const copyDone = (): Buffer => emptyMessage('c');
export const copyFail = (message: string): Buffer => new MessageWriter().cstring(message).typed('f');
export const sync = (): Buffer => emptyMessage('S');
export const flush = (): Buffer => emptyMessage('H');
export const terminate = (): Buffer => emptyMessage('X');

function formats(w: MessageWriter, list: readonly Format[]): MessageWriter {
  w.uint16(list.length);
  for (const f of list) w.int16(f);
  return w;
}
