/**
 * Kubernetes `Status` bodies (meta/v1): what the API server answers an error with, so kubectl prints
 * Vigil's refusals as it prints its own ("Error from server (Forbidden): …").
 */
import type { ServerResponse } from 'node:http';

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  413: 'RequestEntityTooLarge',
  429: 'TooManyRequests',
  500: 'InternalError',
  502: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

export function statusBody(code: number, message: string, details?: Record<string, unknown>): string {
  return JSON.stringify({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason: REASONS[code] ?? 'InternalError',
    ...(details ? { details } : {}),
    code,
  });
}

/** Answers with a Status (unless headers went out already: then the stream is cut, which the client sees as an error). */
export function sendStatus(res: ServerResponse, code: number, message: string, headers: Record<string, string | string[]> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = statusBody(code, message);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-cache, private', ...headers });
  res.end(body);
}

/** A Warning header value (RFC 7234 form, as the API server sends them; kubectl prints "Warning: <text>"). */
export function warning(text: string): string {
  return `299 - ${JSON.stringify(text.replace(/[\r\n]+/g, ' '))}`;
}
