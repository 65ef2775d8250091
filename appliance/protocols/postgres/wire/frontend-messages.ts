/**
 * Decoders for the typed messages a client sends, each taking the message body (after type and length).
 * Values are views into the body: nothing is copied, so keep the frame alive while you use them.
 */
import { BodyReader } from './body-reader.ts';
import type { FrontendMessageType } from './constants.ts';
import { PgProtocolError } from './errors.ts';

export type Format = number; // 0 text, 1 binary

export interface QueryMessage {
  type: 'Q';
  sql: string;
  /** The text exactly as sent (a view): what is validated as UTF-8 and what an approval binds. */
  sqlBytes: Buffer;
}

/**
 * Statement and portal names are byte-exact keys (decoded as latin1): the server tells names apart by
 * their bytes, so the gateway must too. `displayName` renders one for humans.
 */
export interface ParseMessage {
  type: 'P';
  /** Prepared statement name; '' is the unnamed statement. */
  name: string;
  sql: string;
  sqlBytes: Buffer;
  /** Parameter type OIDs the client specified; 0 leaves the type to the server. */
  paramTypes: number[];
}

export interface BindMessage {
  type: 'B';
  portal: string;
  statement: string;
  /** 0 entries: all text; 1: that format for all; else one per parameter (see formatOf). */
  paramFormats: Format[];
  params: (Buffer | null)[];
  resultFormats: Format[];
}

export interface ExecuteMessage {
  type: 'E';
  portal: string;
  /** 0 means no limit. */
  maxRows: number;
}

export interface DescribeMessage {
  type: 'D';
  kind: 'S' | 'P';
  name: string;
}

export interface CloseMessage {
  type: 'C';
  kind: 'S' | 'P';
  name: string;
}

export interface CopyDataMessage {
  type: 'd';
  data: Buffer;
}

export interface CopyFailMessage {
  type: 'f';
  message: string;
}

export interface FunctionCallMessage {
  type: 'F';
  oid: number;
  argFormats: Format[];
  args: (Buffer | null)[];
  resultFormat: Format;
}

/** 'p': what it holds depends on the authentication exchange; decode `data` with decodePasswordMessage & co. */
export interface AuthResponseMessage {
  type: 'p';
  data: Buffer;
}

export interface EmptyFrontendMessage {
  type: 'S' | 'H' | 'X' | 'c';
}

export type FrontendMessage =
  | QueryMessage
  | ParseMessage
  | BindMessage
  | ExecuteMessage
  | DescribeMessage
  | CloseMessage
  | CopyDataMessage
  | CopyFailMessage
  | FunctionCallMessage
  | AuthResponseMessage
  | EmptyFrontendMessage;

export function decodeFrontendMessage(type: FrontendMessageType, body: Buffer): FrontendMessage {
  switch (type) {
    case 'Q':
      return decodeQuery(body);
    case 'P':
      return decodeParse(body);
    case 'B':
      return decodeBind(body);
    case 'E':
      return decodeExecute(body);
    case 'D':
    case 'C':
      return decodeTarget(type, body);
    case 'd':
      return { type: 'd', data: body };
    case 'f': {
      const r = new BodyReader(body, 'CopyFail');
      const message = r.cstring();
      r.end();
      return { type: 'f', message };
    }
    case 'F':
      return decodeFunctionCall(body);
    case 'p':
      return { type: 'p', data: body };
    case 'S':
    case 'H':
    case 'X':
    case 'c':
      if (body.length !== 0) throw new PgProtocolError(`invalid ${type} message: ${body.length} unexpected trailing bytes`);
      return { type };
  }
}

export function decodeQuery(body: Buffer): QueryMessage {
  const r = new BodyReader(body, 'Query');
  const sqlBytes = r.cstringBytes();
  r.end();
  return { type: 'Q', sql: sqlBytes.toString('utf8'), sqlBytes };
}

/** A byte-exact name key as humans read it. */
export function displayName(key: string): string {
  return Buffer.from(key, 'latin1').toString('utf8');
}

export function decodeParse(body: Buffer): ParseMessage {
  const r = new BodyReader(body, 'Parse');
  const name = r.cstring('latin1');
  const sqlBytes = r.cstringBytes();
  const n = r.uint16();
  const paramTypes = new Array<number>(n);
  for (let i = 0; i < n; i++) paramTypes[i] = r.uint32();
  r.end();
  return { type: 'P', name, sql: sqlBytes.toString('utf8'), sqlBytes, paramTypes };
}

export function decodeBind(body: Buffer): BindMessage {
  const r = new BodyReader(body, 'Bind');
  const portal = r.cstring('latin1');
  const statement = r.cstring('latin1');
  const paramFormats = formats(r);
  const n = r.uint16();
  if (paramFormats.length > 1 && paramFormats.length !== n) {
    throw new PgProtocolError(`bind message has ${paramFormats.length} parameter formats but ${n} parameters`);
  }
  const params = new Array<Buffer | null>(n);
  for (let i = 0; i < n; i++) params[i] = r.nullableBytes();
  const resultFormats = formats(r);
  r.end();
  return { type: 'B', portal, statement, paramFormats, params, resultFormats };
}

export function decodeExecute(body: Buffer): ExecuteMessage {
  const r = new BodyReader(body, 'Execute');
  const portal = r.cstring('latin1');
  const maxRows = r.int32();
  r.end();
  return { type: 'E', portal, maxRows };
}

export function decodeFunctionCall(body: Buffer): FunctionCallMessage {
  const r = new BodyReader(body, 'FunctionCall');
  const oid = r.uint32();
  const argFormats = formats(r);
  const n = r.uint16();
  const args = new Array<Buffer | null>(n);
  for (let i = 0; i < n; i++) args[i] = r.nullableBytes();
  const resultFormat = r.int16();
  r.end();
  return { type: 'F', oid, argFormats, args, resultFormat };
}

/** PasswordMessage: the password (cleartext, or "md5…"), NUL-terminated and nothing after. */
export function decodePasswordMessage(data: Buffer): { password: string } {
  const r = new BodyReader(data, 'PasswordMessage');
  const password = r.cstring();
  r.end();
  return { password };
}

/** SASLInitialResponse: the chosen mechanism and the client-first message (null when absent). */
export function decodeSASLInitialResponse(data: Buffer): { mechanism: string; data: Buffer | null } {
  const r = new BodyReader(data, 'SASLInitialResponse');
  const mechanism = r.cstring();
  const initial = r.nullableBytes();
  r.end();
  return { mechanism, data: initial };
}

/** SASLResponse and GSSResponse: the body is the mechanism's data as is. */
export function decodeSASLResponse(data: Buffer): { data: Buffer } {
  return { data };
}

/** The format of parameter or column `i` under the 0-1-or-n convention of Bind and FunctionCall. */
export function formatOf(formats: readonly Format[], i: number): Format {
  if (formats.length === 0) return 0;
  return formats.length === 1 ? formats[0]! : (formats[i] ?? 0);
}

function decodeTarget(type: 'D' | 'C', body: Buffer): DescribeMessage | CloseMessage {
  const r = new BodyReader(body, type === 'D' ? 'Describe' : 'Close');
  const kind = r.uint8();
  if (kind !== 0x53 && kind !== 0x50) throw r.error(`invalid ${type === 'D' ? 'DESCRIBE' : 'CLOSE'} message subtype ${kind}`);
  const name = r.cstring('latin1');
  r.end();
  return { type, kind: kind === 0x53 ? 'S' : 'P', name };
}

function formats(r: BodyReader): Format[] {
  const n = r.uint16();
  const out = new Array<Format>(n);
  for (let i = 0; i < n; i++) {
    const f = r.int16();
    if (f !== 0 && f !== 1) throw r.error(`unsupported format code: ${f}`);
    out[i] = f;
  }
  return out;
}
