/**
 * Decoders for the messages a server sends, each taking the message body (after type and length). Byte
 * values are views into the body (nothing is copied): keep the frame alive while you use them.
 */
import { BodyReader } from './body-reader.ts';
import { AUTH, type BackendMessageType } from './constants.ts';
import { PgProtocolError } from './errors.ts';
import type { Format } from './frontend-messages.ts';

export type AuthenticationRequest =
  | { kind: 'ok' }
  | { kind: 'kerberos-v5' }
  | { kind: 'cleartext-password' }
  | { kind: 'md5-password'; salt: Buffer }
  | { kind: 'gss' }
  | { kind: 'gss-continue'; data: Buffer }
  | { kind: 'sspi' }
  | { kind: 'sasl'; mechanisms: string[] }
  | { kind: 'sasl-continue'; data: Buffer }
  | { kind: 'sasl-final'; data: Buffer };

export interface FieldDescription {
  name: string;
  /** OID of the table the column comes from, 0 when it is not a plain column. */
  tableOid: number;
  /** Attribute number of that column, 0 when not a plain column. */
  columnAttr: number;
  typeOid: number;
  /** pg_type.typlen: negative for variable-width types. */
  typeSize: number;
  typeModifier: number;
  format: Format;
}

export type TransactionStatus = 'I' | 'T' | 'E';

export type BackendMessage =
  | { type: 'R'; auth: AuthenticationRequest }
  | { type: 'K'; pid: number; secret: Buffer }
  | { type: 'S'; name: string; value: string }
  | { type: 'Z'; status: TransactionStatus }
  | { type: 'T'; fields: FieldDescription[] }
  | { type: 'D'; values: (Buffer | null)[] }
  | { type: 'C'; tag: string }
  | { type: 'E' | 'N'; fields: Map<string, string> }
  | { type: 'A'; pid: number; channel: string; payload: string }
  | { type: 'G' | 'H' | 'W'; format: Format; columnFormats: Format[] }
  | { type: 'd'; data: Buffer }
  | { type: 't'; paramTypes: number[] }
  | { type: 'V'; result: Buffer | null }
  | { type: 'v'; version: number; unrecognized: string[] }
  | { type: 'c' | 'n' | 'I' | 's' | '1' | '2' | '3' };

export function decodeBackendMessage(type: BackendMessageType, body: Buffer): BackendMessage {
  switch (type) {
    case 'R':
      return { type, auth: decodeAuthentication(body) };
    case 'K': {
      const r = new BodyReader(body, 'BackendKeyData');
      const pid = r.int32();
      const secret = r.rest();
      if (secret.length < 4 || secret.length > 256) throw r.error(`cancel key of ${secret.length} bytes`);
      return { type, pid, secret };
    }
    case 'S': {
      const r = new BodyReader(body, 'ParameterStatus');
      const name = r.cstring();
      const value = r.cstring();
      r.end();
      return { type, name, value };
    }
    case 'Z': {
      const r = new BodyReader(body, 'ReadyForQuery');
      const s = r.uint8();
      r.end();
      if (s !== 0x49 && s !== 0x54 && s !== 0x45) throw r.error(`unknown transaction status 0x${s.toString(16)}`);
      return { type, status: String.fromCharCode(s) as TransactionStatus };
    }
    case 'T':
      return { type, fields: decodeRowDescription(body) };
    case 'D':
      return { type, values: decodeDataRow(body) };
    case 'C': {
      const r = new BodyReader(body, 'CommandComplete');
      const tag = r.cstring();
      r.end();
      return { type, tag };
    }
    case 'E':
    case 'N':
      return { type, fields: decodeNoticeFields(body, type === 'E' ? 'ErrorResponse' : 'NoticeResponse') };
    case 'A': {
      const r = new BodyReader(body, 'NotificationResponse');
      const pid = r.int32();
      const channel = r.cstring();
      const payload = r.cstring();
      r.end();
      return { type, pid, channel, payload };
    }
    case 'G':
    case 'H':
    case 'W': {
      const r = new BodyReader(body, 'CopyResponse');
      const format = r.uint8();
      const n = r.uint16();
      const columnFormats = new Array<Format>(n);
      for (let i = 0; i < n; i++) columnFormats[i] = r.int16();
      r.end();
      return { type, format, columnFormats };
    }
    case 'd':
      return { type, data: body };
    case 't': {
      const r = new BodyReader(body, 'ParameterDescription');
      const n = r.uint16();
      const paramTypes = new Array<number>(n);
      for (let i = 0; i < n; i++) paramTypes[i] = r.uint32();
      r.end();
      return { type, paramTypes };
    }
    case 'V': {
      const r = new BodyReader(body, 'FunctionCallResponse');
      const result = r.nullableBytes();
      r.end();
      return { type, result };
    }
    case 'v': {
      const r = new BodyReader(body, 'NegotiateProtocolVersion');
      const version = r.uint32();
      const n = r.int32();
      if (n < 0) throw r.error(`negative option count ${n}`);
      const unrecognized: string[] = [];
      for (let i = 0; i < n; i++) unrecognized.push(r.cstring());
      r.end();
      return { type, version, unrecognized };
    }
    case 'c':
    case 'n':
    case 'I':
    case 's':
    case '1':
    case '2':
    case '3':
      if (body.length !== 0) throw new PgProtocolError(`invalid '${type}' message: ${body.length} unexpected trailing bytes`);
      return { type };
  }
}

export function decodeAuthentication(body: Buffer): AuthenticationRequest {
  const r = new BodyReader(body, 'Authentication');
  const code = r.int32();
  let out: AuthenticationRequest;
  switch (code) {
    case AUTH.ok:
      out = { kind: 'ok' };
      break;
    case AUTH.kerberosV5:
      out = { kind: 'kerberos-v5' };
      break;
    case AUTH.cleartextPassword:
      out = { kind: 'cleartext-password' };
      break;
    case AUTH.md5Password:
      out = { kind: 'md5-password', salt: r.bytes(4) };
      break;
    case AUTH.gss:
      out = { kind: 'gss' };
      break;
    case AUTH.gssContinue:
      return { kind: 'gss-continue', data: r.rest() };
    case AUTH.sspi:
      out = { kind: 'sspi' };
      break;
    case AUTH.sasl: {
      // Mechanism names, each NUL-terminated, then an empty name.
      const mechanisms: string[] = [];
      for (let m = r.cstring(); m !== ''; m = r.cstring()) mechanisms.push(m);
      out = { kind: 'sasl', mechanisms };
      break;
    }
    case AUTH.saslContinue:
      return { kind: 'sasl-continue', data: r.rest() };
    case AUTH.saslFinal:
      return { kind: 'sasl-final', data: r.rest() };
    default:
      throw r.error(`unknown authentication request ${code}`);
  }
  r.end();
  return out;
}

export function decodeRowDescription(body: Buffer): FieldDescription[] {
  const r = new BodyReader(body, 'RowDescription');
  const n = r.uint16();
  const fields = new Array<FieldDescription>(n);
  for (let i = 0; i < n; i++) {
    fields[i] = {
      name: r.cstring(),
      tableOid: r.uint32(),
      columnAttr: r.int16(),
      typeOid: r.uint32(),
      typeSize: r.int16(),
      typeModifier: r.int32(),
      format: r.int16(),
    };
  }
  r.end();
  return fields;
}

/** Column values of a DataRow as views into the body (no copy); null for SQL NULL. */
export function decodeDataRow(body: Buffer): (Buffer | null)[] {
  if (body.length < 2) throw new PgProtocolError('invalid DataRow message: it ends too early');
  const n = body.readUInt16BE(0);
  const values = new Array<Buffer | null>(n);
  let at = 2;
  const end = body.length;
  for (let i = 0; i < n; i++) {
    if (at + 4 > end) throw new PgProtocolError('invalid DataRow message: it ends too early');
    const len = body.readInt32BE(at);
    at += 4;
    if (len === -1) values[i] = null;
    else if (len < 0 || at + len > end) throw new PgProtocolError(`invalid DataRow message: column ${i} claims ${len} bytes`);
    else {
      values[i] = body.subarray(at, at + len);
      at += len;
    }
  }
  if (at !== end) throw new PgProtocolError(`invalid DataRow message: ${end - at} unexpected trailing bytes`);
  return values;
}

/**
 * Where each column of a DataRow lies, without creating a view per column (a Buffer view costs ~100 ns,
 * more than framing the whole row): for scanning or masking values in place at full speed. Reuse one
 * layout for every row; read() validates the row like decodeDataRow.
 *
 *   layout.read(frame.source, frame.start + 5, frame.end)  // the body, without making a view of it
 *   for (let i = 0; i < layout.count; i++) if (layout.lengths[i] >= 0) scan(frame.source, layout.starts[i], layout.lengths[i]);
 */
export class DataRowLayout {
  count = 0;
  /** Offset of column i's value in the buffer given to read(). */
  starts = new Int32Array(16);
  /** Length of column i's value, -1 for NULL. */
  lengths = new Int32Array(16);

  /** Reads the DataRow body at buf[start, end). */
  read(buf: Buffer, start = 0, end = buf.length): this {
    if (start < 0 || end > buf.length) throw new RangeError('DataRowLayout.read: range outside the buffer');
    if (end - start < 2) throw new PgProtocolError('invalid DataRow message: it ends too early');
    const n = (buf[start]! << 8) | buf[start + 1]!;
    if (n > this.starts.length) {
      this.starts = new Int32Array(n);
      this.lengths = new Int32Array(n);
    }
    const { starts, lengths } = this;
    let at = start + 2;
    for (let i = 0; i < n; i++) {
      if (at + 4 > end) throw new PgProtocolError('invalid DataRow message: it ends too early');
      const len = (buf[at]! << 24) | (buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!;
      at += 4;
      starts[i] = at;
      lengths[i] = len;
      if (len === -1) continue;
      if (len < 0 || at + len > end) throw new PgProtocolError(`invalid DataRow message: column ${i} claims ${len} bytes`);
      at += len;
    }
    if (at !== end) throw new PgProtocolError(`invalid DataRow message: ${end - at} unexpected trailing bytes`);
    this.count = n;
    return this;
  }
}

/** ErrorResponse / NoticeResponse fields by their one-letter code (S, V, C, M, D, H, P, …). */
export function decodeNoticeFields(body: Buffer, what = 'ErrorResponse'): Map<string, string> {
  const r = new BodyReader(body, what);
  const fields = new Map<string, string>();
  for (;;) {
    const code = r.uint8();
    if (code === 0) break;
    fields.set(String.fromCharCode(code), r.cstring());
  }
  r.end();
  return fields;
}
