/**
 * Opening a session on the upstream PostgreSQL server over a socket the caller connected (and, if wanted,
 * wrapped in TLS after requestUpstreamTls()): startup packet, authentication (trust, cleartext, md5,
 * SCRAM-SHA-256 with the server's signature checked), then the parameters and cancel key up to the first
 * ReadyForQuery. On success the socket is left paused with no listener of ours; bytes that came after
 * ReadyForQuery are returned as `leftover`. On failure the socket is destroyed.
 */
import type { Duplex } from 'node:stream';
import { BackendReader, type BackendFrame } from './backend-reader.ts';
import { decodeAuthentication, decodeBackendMessage, decodeNoticeFields, type TransactionStatus } from './backend-messages.ts';
import { PgAuthError, PgConnectionError, PgProtocolError, PgServerError } from './errors.ts';
import { md5PasswordResponse } from './md5-password.ts';
import { SCRAM_SHA_256, ScramClient } from './scram.ts';
import * as toServer from './to-server.ts';

export type UpstreamAuthMethod = 'trust' | 'cleartext' | 'md5' | 'scram-sha-256';

export interface UpstreamAuthOptions {
  user: string;
  /** Defaults to the user name, as on the server. */
  database?: string;
  password?: string;
  /** More startup parameters: application_name, client_encoding, options… */
  params?: Readonly<Record<string, string>>;
  /** Methods we agree to (like libpq's require_auth); a server asking for another is refused. Default: all. */
  allow?: readonly UpstreamAuthMethod[];
  /** Whole exchange, default 30 s. */
  timeoutMs?: number;
}

export interface UpstreamSession {
  method: UpstreamAuthMethod;
  /** ParameterStatus values: server_version, client_encoding, DateStyle, … */
  parameters: Map<string, string>;
  /** For CancelRequest; the secret is 4 bytes up to protocol 3.1. */
  backendKey: { pid: number; secret: Buffer };
  transactionStatus: TransactionStatus;
  /** NoticeResponses received during startup. */
  notices: Map<string, string>[];
  /** The server's NegotiateProtocolVersion, if it sent one. */
  negotiated: { version: number; unrecognized: string[] } | undefined;
  /** Bytes received after ReadyForQuery: process them before anything read later from the socket. */
  leftover: Buffer;
}

const ALL_METHODS: readonly UpstreamAuthMethod[] = ['trust', 'cleartext', 'md5', 'scram-sha-256'];

export function authenticateUpstream(socket: Duplex, options: UpstreamAuthOptions): Promise<UpstreamSession> {
  const allow = new Set(options.allow ?? ALL_METHODS);
  const reader = new BackendReader();
  const parameters = new Map<string, string>();
  const notices: Map<string, string>[] = [];
  let negotiated: UpstreamSession['negotiated'];
  let backendKey: UpstreamSession['backendKey'] | undefined;
  let method: UpstreamAuthMethod = 'trust';
  let scram: ScramClient | undefined;
  let authenticated = false;
  /** Set once the promise settled: a SCRAM step finishing later must not write any more. */
  let settled = false;

  const requireMethod = (m: UpstreamAuthMethod): string => {
    if (!allow.has(m)) throw new PgAuthError(`the server asks for ${m} authentication, which is not allowed for this upstream`);
    if (m !== 'trust' && options.password === undefined) throw new PgAuthError(`the server asks for ${m} authentication and no password is configured`);
    method = m;
    return options.password ?? '';
  };

  /** Handles one message; true once ReadyForQuery ends the startup. */
  const handle = async (frame: BackendFrame): Promise<boolean> => {
    switch (frame.type) {
      case 'R': {
        if (authenticated) throw new PgProtocolError('authentication request after AuthenticationOk');
        const auth = decodeAuthentication(frame.body);
        switch (auth.kind) {
          case 'ok':
            if (scram && !scram.verified) throw new PgAuthError('the server sent AuthenticationOk before proving it knows the password (SCRAM exchange not completed)');
            if (method === 'trust') requireMethod('trust');
            authenticated = true;
            return false;
          case 'cleartext-password':
            socket.write(toServer.passwordMessage(requireMethod('cleartext')));
            return false;
          case 'md5-password':
            socket.write(toServer.passwordMessage(md5PasswordResponse(options.user, requireMethod('md5'), auth.salt)));
            return false;
          case 'sasl': {
            if (scram) throw new PgProtocolError('second SASL authentication request');
            const password = requireMethod('scram-sha-256');
            if (!auth.mechanisms.includes(SCRAM_SHA_256)) throw new PgAuthError(`none of the server's SASL mechanisms is supported: ${auth.mechanisms.join(', ')}`);
            scram = new ScramClient(password);
            socket.write(toServer.saslInitialResponse(SCRAM_SHA_256, scram.clientFirstMessage()));
            return false;
          }
          case 'sasl-continue': {
            if (!scram) throw new PgProtocolError('SASLContinue without a SASL exchange');
            const clientFinal = await scram.clientFinalMessage(auth.data); // PBKDF2 runs off the event loop
            if (!settled) socket.write(toServer.saslResponse(clientFinal));
            return false;
          }
          case 'sasl-final':
            if (!scram) throw new PgProtocolError('SASLFinal without a SASL exchange');
            scram.verifyServerFinal(auth.data);
            return false;
          default:
            throw new PgAuthError(`the server asks for ${auth.kind} authentication, which the gateway does not support`);
        }
      }
      case 'E':
        throw new PgServerError(decodeNoticeFields(frame.body));
      case 'N':
        notices.push(decodeNoticeFields(frame.body, 'NoticeResponse'));
        return false;
      case 'v': {
        const m = decodeBackendMessage('v', frame.body) as { version: number; unrecognized: string[] };
        negotiated = { version: m.version, unrecognized: m.unrecognized };
        return false;
      }
      case 'S': {
        const m = decodeBackendMessage('S', frame.body) as { name: string; value: string };
        parameters.set(m.name, m.value);
        return false;
      }
      case 'K': {
        const { pid, secret } = decodeBackendMessage('K', frame.body) as { pid: number; secret: Buffer };
        backendKey = { pid, secret };
        return false;
      }
      case 'Z':
        if (!authenticated) throw new PgProtocolError('ReadyForQuery before authentication completed');
        return true;
      default:
        throw new PgProtocolError(`unexpected ${frame.type} message during connection startup`);
    }
  };

  return new Promise<UpstreamSession>((resolve, reject) => {
    let pumping = false;
    const timer = setTimeout(() => fail(new PgConnectionError('upstream authentication timed out')), options.timeoutMs ?? 30_000);

    const cleanup = (): void => {
      settled = true;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
    };
    const fail = (e: unknown): void => {
      if (settled) return;
      cleanup();
      socket.destroy();
      reject(e);
    };
    const pump = async (): Promise<void> => {
      if (pumping) return;
      pumping = true;
      try {
        for (let frame = reader.next(); frame && !settled; frame = reader.next()) {
          if (!(await handle(frame))) continue;
          if (!backendKey) throw new PgProtocolError('ReadyForQuery without BackendKeyData');
          const status = (decodeBackendMessage('Z', frame.body) as { status: TransactionStatus }).status;
          socket.pause();
          cleanup();
          resolve({ method, parameters, backendKey, transactionStatus: status, notices, negotiated, leftover: reader.takeBuffered() });
          return;
        }
      } catch (e) {
        fail(e);
      } finally {
        pumping = false;
      }
    };
    function onData(chunk: Buffer): void {
      try {
        reader.push(chunk);
      } catch (e) {
        fail(e);
        return;
      }
      void pump();
    }
    function onError(e: Error): void {
      fail(new PgConnectionError(`upstream connection failed: ${e.message}`, { cause: e }));
    }
    function onClose(): void {
      fail(new PgConnectionError('the upstream server closed the connection during startup'));
    }

    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.resume();
    const params: Record<string, string> = { user: options.user, database: options.database ?? options.user, ...options.params };
    socket.write(toServer.startupMessage(params));
  });
}

/**
 * Sends SSLRequest and reads the one-byte answer: true for 'S' (now start TLS on this socket), false for
 * 'N'. Any byte after the answer was not encrypted and may be injected (CVE-2021-23222): refused. The socket
 * is left paused with no listener of ours.
 */
export function requestUpstreamTls(socket: Duplex, timeoutMs = 30_000): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new PgConnectionError('no answer to SSLRequest')), timeoutMs);
    const done = (e: Error | undefined, accepted = false): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
      socket.pause();
      if (e) {
        socket.destroy();
        reject(e);
      } else resolve(accepted);
    };
    function onData(chunk: Buffer): void {
      const byte = chunk[0];
      if (byte !== 0x53 && byte !== 0x4e) {
        const hint = byte === 0x45 ? 'the server answered with an error' : undefined;
        done(new PgProtocolError(`invalid response to SSLRequest: 0x${byte?.toString(16)}`, { hint }));
      } else if (chunk.length > 1) done(new PgProtocolError('received unencrypted data after the SSL response'));
      else done(undefined, byte === 0x53);
    }
    function onError(e: Error): void {
      done(new PgConnectionError(`upstream connection failed: ${e.message}`, { cause: e }));
    }
    function onClose(): void {
      done(new PgConnectionError('the upstream server closed the connection after SSLRequest'));
    }
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.resume();
    socket.write(toServer.sslRequest());
  });
}
