/**
 * Numbers of the PostgreSQL frontend/backend protocol (version 3) and the limits PostgreSQL itself applies.
 * Sources: the "Message Formats" chapter of the PostgreSQL docs, src/include/libpq/pqcomm.h and libpq.h,
 * SocketBackend() in postgres.c, and libpq's fe-protocol3.c.
 */

/** Request codes of the untyped startup-phase packets (int32 after the int32 length). */
export const SSL_REQUEST_CODE = 80877103; // 1234 << 16 | 5679
export const GSSENC_REQUEST_CODE = 80877104; // 1234 << 16 | 5680
export const CANCEL_REQUEST_CODE = 80877102; // 1234 << 16 | 5678

export const PROTOCOL_MAJOR = 3;
export const protocolVersion = (major: number, minor: number): number => ((major << 16) | minor) >>> 0;
/** 3.0, 196608 on the wire. */
export const PROTOCOL_3_0 = protocolVersion(3, 0);

/** MAX_STARTUP_PACKET_LENGTH: a startup packet's length, not counting its own length word, is 4…10 000. */
export const MAX_STARTUP_PACKET_LENGTH = 10_000;
/** PQ_SMALL_MESSAGE_LIMIT: the length (counting itself) of messages that are never long (Sync, Execute, …). */
export const PQ_SMALL_MESSAGE_LIMIT = 10_000;
/** PQ_LARGE_MESSAGE_LIMIT = MaxAllocSize - 1 = 1 GiB - 2: the most any message may claim. */
export const PQ_LARGE_MESSAGE_LIMIT = 0x3fff_fffe;
/** PG_MAX_AUTH_TOKEN_LENGTH: the limit PostgreSQL puts on 'p' messages during authentication. */
export const PG_MAX_AUTH_TOKEN_LENGTH = 65_535;
/**
 * libpq treats a backend message longer than this as lost sync unless its type may be long (see
 * BACKEND_LONG_TYPES); we do the same so a desynchronised upstream cannot make us buffer a gigabyte.
 */
export const LIBPQ_SHORT_MESSAGE_LIMIT = 30_000;
/** The cancel key is 4 bytes up to protocol 3.1 and 4…256 bytes from 3.2 (PostgreSQL 18). */
export const MAX_CANCEL_KEY_LENGTH = 256;

/** Messages a client sends after the startup packet, by type byte. */
export const FRONTEND_MESSAGES = {
  B: 'Bind',
  C: 'Close',
  c: 'CopyDone',
  D: 'Describe',
  d: 'CopyData',
  E: 'Execute',
  F: 'FunctionCall',
  f: 'CopyFail',
  H: 'Flush',
  P: 'Parse',
  p: 'PasswordMessage', // also GSSResponse, SASLInitialResponse, SASLResponse: which one depends on the exchange
  Q: 'Query',
  S: 'Sync',
  X: 'Terminate',
} as const;
export type FrontendMessageType = keyof typeof FRONTEND_MESSAGES;

/** Messages a server sends, by type byte. */
export const BACKEND_MESSAGES = {
  '1': 'ParseComplete',
  '2': 'BindComplete',
  '3': 'CloseComplete',
  A: 'NotificationResponse',
  C: 'CommandComplete',
  c: 'CopyDone',
  D: 'DataRow',
  d: 'CopyData',
  E: 'ErrorResponse',
  G: 'CopyInResponse',
  H: 'CopyOutResponse',
  I: 'EmptyQueryResponse',
  K: 'BackendKeyData',
  N: 'NoticeResponse',
  n: 'NoData',
  R: 'Authentication',
  S: 'ParameterStatus',
  s: 'PortalSuspended',
  T: 'RowDescription',
  t: 'ParameterDescription',
  V: 'FunctionCallResponse',
  v: 'NegotiateProtocolVersion',
  W: 'CopyBothResponse',
  Z: 'ReadyForQuery',
} as const;
export type BackendMessageType = keyof typeof BACKEND_MESSAGES;

/**
 * The most a frontend message of each type may claim, as SocketBackend() and CopyGetData() check it:
 * 'large' types get the reader's configured maximum, the others PostgreSQL's fixed limits.
 */
export const FRONTEND_LIMIT: Record<FrontendMessageType, 'small' | 'large' | 'auth'> = {
  B: 'large',
  C: 'small',
  c: 'small',
  D: 'small',
  d: 'large',
  E: 'small',
  F: 'large',
  f: 'small',
  H: 'small',
  P: 'large',
  p: 'auth',
  Q: 'large',
  S: 'small',
  X: 'small',
};

/** libpq's VALID_LONG_MESSAGE_TYPE, plus ParameterDescription (a statement may have 65 535 parameters). */
export const BACKEND_LONG_TYPES: ReadonlySet<string> = new Set(['T', 'D', 'd', 'V', 'E', 'N', 'A', 't']);

/** Authentication request codes ('R' messages). */
export const AUTH = {
  ok: 0,
  kerberosV5: 2,
  cleartextPassword: 3,
  md5Password: 5,
  gss: 7,
  gssContinue: 8,
  sspi: 9,
  sasl: 10,
  saslContinue: 11,
  saslFinal: 12,
} as const;

/** Field codes of ErrorResponse and NoticeResponse, in the order PostgreSQL sends them. */
export const NOTICE_FIELDS = {
  severity: 'S',
  severityNonLocalized: 'V',
  code: 'C',
  message: 'M',
  detail: 'D',
  hint: 'H',
  position: 'P',
  internalPosition: 'p',
  internalQuery: 'q',
  where: 'W',
  schema: 's',
  table: 't',
  column: 'c',
  dataType: 'd',
  constraint: 'n',
  file: 'F',
  line: 'L',
  routine: 'R',
} as const;
export type NoticeFieldName = keyof typeof NOTICE_FIELDS;

/** One-character strings for every byte value, so framing never builds strings. */
export const CHAR: readonly string[] = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i));

/** "'Q' (Query)" or "byte 0x07", for error messages. */
export function describeType(byte: number, names: Readonly<Record<string, string>>): string {
  const c = CHAR[byte]!;
  const name = names[c];
  if (name !== undefined) return `'${c}' (${name})`;
  return byte >= 0x21 && byte <= 0x7e ? `'${c}' (0x${hex(byte)})` : `byte 0x${hex(byte)}`;
}

const hex = (b: number): string => b.toString(16).padStart(2, '0');
