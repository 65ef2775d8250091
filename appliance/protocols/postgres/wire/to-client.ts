/**
 * Builders for the messages the gateway sends to a client (backend messages). Each returns a fresh Buffer
 * holding one complete message.
 */
import { AUTH, NOTICE_FIELDS, type NoticeFieldName } from './constants.ts';
import type { FieldDescription, TransactionStatus } from './backend-messages.ts';
import { emptyMessage, MessageWriter } from './message-writer.ts';

/** The one-byte answers to SSLRequest / GSSENCRequest. */
export const SSL_ACCEPTED: Buffer = Buffer.from('S');
export const SSL_REFUSED: Buffer = Buffer.from('N');
export const GSSENC_REFUSED: Buffer = Buffer.from('N');

export const authenticationOk = (): Buffer => auth(AUTH.ok).typed('R');
export const authenticationCleartextPassword = (): Buffer => auth(AUTH.cleartextPassword).typed('R');
export const authenticationMD5Password = (salt: Uint8Array): Buffer => {
  if (salt.length !== 4) throw new RangeError('the MD5 salt is 4 bytes');
  return auth(AUTH.md5Password).bytes(salt).typed('R');
};
export function authenticationSASL(mechanisms: readonly string[]): Buffer {
  const w = auth(AUTH.sasl);
  for (const m of mechanisms) w.cstring(m);
  return w.uint8(0).typed('R');
}
export const authenticationSASLContinue = (data: Uint8Array): Buffer => auth(AUTH.saslContinue).bytes(data).typed('R');
export const authenticationSASLFinal = (data: Uint8Array): Buffer => auth(AUTH.saslFinal).bytes(data).typed('R');

export const parameterStatus = (name: string, value: string): Buffer => new MessageWriter().cstring(name).cstring(value).typed('S');

/** A 4-byte secret as number (protocol ≤ 3.1) or the secret's bytes (4…256, protocol 3.2). */
export function backendKeyData(pid: number, secret: number | Uint8Array): Buffer {
  const w = new MessageWriter(8).int32(pid);
  if (typeof secret === 'number') return w.uint32(secret).typed('K'); // -1 and 0xffffffff are the same key
  if (secret.length < 4 || secret.length > 256) throw new RangeError('a cancel key is 4…256 bytes');
  return w.bytes(secret).typed('K');
}

export const readyForQuery = (status: TransactionStatus = 'I'): Buffer => new MessageWriter(1).uint8(status.charCodeAt(0)).typed('Z');

export type NoticeFields = { severity: string; code: string; message: string } & Partial<Record<Exclude<NoticeFieldName, 'severity' | 'code' | 'message'>, string>>;

/**
 * ErrorResponse. From named fields, `severity` goes in both S (localized) and V (never localized, since
 * 9.6) unless `severityNonLocalized` is given, and fields go out in PostgreSQL's order. From a Map of
 * one-letter codes (a decoded response, say with a masked detail), entries go out as they are.
 */
export const errorResponse = (fields: NoticeFields | ReadonlyMap<string, string>): Buffer => notice('E', fields);
export const noticeResponse = (fields: NoticeFields | ReadonlyMap<string, string>): Buffer => notice('N', fields);

/** `version` is the full protocol number (3 << 16 | newest minor), as PostgreSQL sends it. */
export function negotiateProtocolVersion(version: number, unrecognizedOptions: readonly string[]): Buffer {
  const w = new MessageWriter().uint32(version).int32(unrecognizedOptions.length);
  for (const o of unrecognizedOptions) w.cstring(o);
  return w.typed('v');
}

/** Values as bytes, text (UTF-8) or null; one allocation for the whole row. */
export function dataRow(values: readonly (Uint8Array | string | null)[]): Buffer {
  let size = 2;
  const bytes = values.map((v) => (typeof v === 'string' ? Buffer.from(v, 'utf8') : v));
  for (const b of bytes) size += 4 + (b === null ? 0 : b.length);
  const w = new MessageWriter(size).uint16(values.length);
  for (const b of bytes) w.nullableBytes(b);
  return w.typed('D');
}

export const commandComplete = (tag: string): Buffer => new MessageWriter().cstring(tag).typed('C');

export function rowDescription(fields: readonly (Pick<FieldDescription, 'name'> & Partial<FieldDescription>)[]): Buffer {
  const w = new MessageWriter(fields.length * 24).uint16(fields.length);
  for (const f of fields) {
    w.cstring(f.name)
      .uint32(f.tableOid ?? 0)
      .int16(f.columnAttr ?? 0)
      .uint32(f.typeOid ?? 25) // text
      .int16(f.typeSize ?? -1)
      .int32(f.typeModifier ?? -1)
      .int16(f.format ?? 0);
  }
  return w.typed('T');
}

export function parameterDescription(typeOids: readonly number[]): Buffer {
  const w = new MessageWriter(2 + typeOids.length * 4).uint16(typeOids.length);
  for (const oid of typeOids) w.uint32(oid);
  return w.typed('t');
}

export const notificationResponse = (pid: number, channel: string, payload: string): Buffer =>
  new MessageWriter().int32(pid).cstring(channel).cstring(payload).typed('A');

export function copyResponse(type: 'G' | 'H' | 'W', format: 0 | 1, columnFormats: readonly number[]): Buffer {
  const w = new MessageWriter(3 + columnFormats.length * 2).uint8(format).uint16(columnFormats.length);
  for (const f of columnFormats) w.int16(f);
  return w.typed(type);
}

export const copyData = (data: Uint8Array): Buffer => new MessageWriter(data.length).bytes(data).typed('d');
export const copyDone = (): Buffer => emptyMessage('c');
export const emptyQueryResponse = (): Buffer => emptyMessage('I');
export const parseComplete = (): Buffer => emptyMessage('1');
export const bindComplete = (): Buffer => emptyMessage('2');
export const closeComplete = (): Buffer => emptyMessage('3');
export const noData = (): Buffer => emptyMessage('n');
export const portalSuspended = (): Buffer => emptyMessage('s');

function auth(code: number): MessageWriter {
  return new MessageWriter(8).int32(code);
}

function notice(type: 'E' | 'N', fields: NoticeFields | ReadonlyMap<string, string>): Buffer {
  const w = new MessageWriter(128);
  if (fields instanceof Map) {
    for (const [code, v] of fields) {
      if (code.length !== 1 || code === '\0' || code.charCodeAt(0) > 0x7e) throw new RangeError(`invalid notice field code ${JSON.stringify(code)}`);
      w.uint8(code.charCodeAt(0)).cstring(v);
    }
    return w.uint8(0).typed(type);
  }
  const named = fields as NoticeFields;
  const values: Partial<Record<NoticeFieldName, string>> = { severityNonLocalized: named.severity, ...named };
  for (const [name, code] of Object.entries(NOTICE_FIELDS) as [NoticeFieldName, string][]) {
    const v = values[name];
    if (v !== undefined) w.uint8(code.charCodeAt(0)).cstring(v);
  }
  return w.uint8(0).typed(type);
}
