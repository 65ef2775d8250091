/**
 * PostgreSQL wire codec (protocol 3): framing and lazy decoding of both directions, message builders for
 * both directions, and upstream authentication (SCRAM-SHA-256, md5, cleartext, trust).
 *
 * Relaying, decoding only what is needed:
 *
 *   const fromClient = new FrontendReader();
 *   socket.on('data', (chunk) => {
 *     fromClient.push(chunk);
 *     for (let f = fromClient.next(); f; f = fromClient.next()) {
 *       if (f.type === 'Q') policy.check((f.decode() as QueryMessage).sql);
 *       upstream.write(f.raw);              // the client's exact bytes
 *     }
 *   });
 *
 * Errors are PgProtocolError (E_PG_PROTOCOL / E_PG_PROTOCOL_VERSION) with the SQLSTATE to send in the FATAL
 * ErrorResponse (toClient.errorResponse) before closing.
 */
export * from './constants.ts';
export * from './errors.ts';
export * from './startup.ts';
export * from './frontend-messages.ts';
export * from './frontend-reader.ts';
export * from './backend-messages.ts';
export * from './backend-reader.ts';
export * as toClient from './to-client.ts';
export * as toServer from './to-server.ts';
export { saslprep, scramPasswordBytes, type SaslprepResult } from './saslprep.ts';
export { SCRAM_SHA_256, ScramClient, type ScramClientOptions } from './scram.ts';
export { md5PasswordResponse } from './md5-password.ts';
export * from './upstream.ts';
