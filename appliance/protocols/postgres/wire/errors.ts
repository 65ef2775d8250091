/**
 * Typed errors of the PostgreSQL wire codec. Each carries the SQLSTATE the gateway should put in the FATAL
 * ErrorResponse it sends before closing, so callers never map messages to codes by hand.
 */
import { VigilError } from '../../../../shared/errors.ts';

export const SQLSTATE = {
  protocolViolation: '08P01',
  featureNotSupported: '0A000',
  invalidAuthorizationSpecification: '28000',
  invalidPassword: '28P01',
  connectionFailure: '08006',
} as const;

/**
 * Bytes that break the protocol: a bad length, an unknown message type, a malformed body (E_PG_PROTOCOL,
 * 08P01), or a startup packet asking for a protocol major version other than 3 (E_PG_PROTOCOL_VERSION, 0A000).
 */
export class PgProtocolError extends VigilError {
  readonly sqlstate: string;

  constructor(message: string, options: { code?: 'E_PG_PROTOCOL' | 'E_PG_PROTOCOL_VERSION'; hint?: string } = {}) {
    const code = options.code ?? 'E_PG_PROTOCOL';
    super(code, message, options.hint === undefined ? {} : { hint: options.hint });
    this.name = 'PgProtocolError';
    this.sqlstate = code === 'E_PG_PROTOCOL_VERSION' ? SQLSTATE.featureNotSupported : SQLSTATE.protocolViolation;
  }
}

/** We refused to authenticate to an upstream server (method not allowed, server could not prove itself…). */
export class PgAuthError extends VigilError {
  readonly sqlstate: string = SQLSTATE.invalidAuthorizationSpecification;

  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super('E_PG_AUTH', message, options);
    this.name = 'PgAuthError';
  }
}

/** The upstream server answered with an ErrorResponse; `fields` is that response, to relay or log as is. */
export class PgServerError extends VigilError {
  readonly sqlstate: string;
  readonly severity: string;
  readonly fields: ReadonlyMap<string, string>;

  constructor(fields: ReadonlyMap<string, string>) {
    super('E_PG_SERVER', `server error ${fields.get('C') ?? '?????'}: ${fields.get('M') ?? '(no message)'}`);
    this.name = 'PgServerError';
    this.fields = fields;
    this.sqlstate = fields.get('C') ?? 'XX000';
    this.severity = fields.get('V') ?? fields.get('S') ?? 'ERROR';
  }
}

/** The upstream connection closed, failed or timed out before the exchange finished. */
export class PgConnectionError extends VigilError {
  readonly sqlstate: string = SQLSTATE.connectionFailure;

  constructor(message: string, options: { cause?: unknown } = {}) {
    super('E_PG_CONNECTION', message, options);
    this.name = 'PgConnectionError';
  }
}
