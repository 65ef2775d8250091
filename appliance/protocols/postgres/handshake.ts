/**
 * The client's startup phase: SSLRequest (TLS when configured, 'N' otherwise), GSSENCRequest (always
 * refused: the client then falls back), CancelRequest, and the StartupMessage with protocol negotiation.
 * An SSLRequest with a Terminate right behind it in the same packet is answered and closed quietly.
 */
import type { Socket } from 'node:net';
import { TLSSocket, type PeerCertificate, type SecureContext } from 'node:tls';
import { readFrame } from './frame-io.ts';
import { FrontendReader, PgProtocolError, toClient, type CancelRequest, type FrontendFrame, type StartupMessage } from './wire/index.ts';

export interface ClientTls {
  protocol: string;
  cipher: string;
  peerCertificate: PeerCertificate | undefined;
  authorized: boolean;
  authorizationError: Error | null;
}

export type HandshakeOutcome =
  | { kind: 'startup'; socket: Socket; reader: FrontendReader; startup: StartupMessage; tls: ClientTls | undefined }
  | { kind: 'cancel'; request: CancelRequest }
  | { kind: 'gone' };

export interface HandshakeOptions {
  secureContext: SecureContext | undefined;
  requestCert: boolean;
}

export async function clientHandshake(raw: Socket, opts: HandshakeOptions): Promise<HandshakeOutcome> {
  let socket: Socket = raw;
  let tls: ClientTls | undefined;
  const reader = new FrontendReader();
  for (;;) {
    const frame = await readFrame(socket, reader);
    if (!frame) return { kind: 'gone' };
    const packet = frame.decode();
    switch (packet.type) {
      case 'ssl':
        if (onlyTerminateFollows(frame, reader)) {
          // SSLRequest and Terminate in one packet: the client is leaving. PostgreSQL answers the request
          // and sees the client close; answer it the same way and close, with no FATAL in plaintext.
          socket.write(opts.secureContext && !tls ? toClient.SSL_ACCEPTED : toClient.SSL_REFUSED);
          socket.destroySoon();
          return { kind: 'gone' };
        }
        if (!opts.secureContext || tls) {
          socket.write(toClient.SSL_REFUSED);
          continue;
        }
        // Bytes sent before the TLS handshake would be trusted as if encrypted (CVE-2021-23214): refuse.
        if (reader.buffered > 0) throw new PgProtocolError('unencrypted data after an SSLRequest');
        socket.write(toClient.SSL_ACCEPTED);
        ({ socket, tls } = await upgrade(socket, opts));
        continue;
      case 'gssenc':
        socket.write(toClient.GSSENC_REFUSED);
        continue;
      case 'cancel':
        return { kind: 'cancel', request: packet };
      case 'startup':
        return { kind: 'startup', socket, reader, startup: packet, tls };
      default:
        throw new PgProtocolError(`unexpected ${String(frame.type)} message before the startup packet`);
    }
  }
}

const TERMINATE = Buffer.from([0x58, 0, 0, 0, 4]);

/**
 * Whether the bytes received after this SSLRequest are exactly one Terminate message ('X', length 4).
 * They can only be the rest of the chunk the request arrived in (frame-io stops reading at a complete
 * frame), which the frame is a view of; if the request itself spanned chunks the frame is a copy and
 * this says no, and the bytes are refused as any others would be.
 */
function onlyTerminateFollows(frame: FrontendFrame, reader: FrontendReader): boolean {
  if (reader.buffered !== TERMINATE.length) return false;
  const rest = frame.source.subarray(frame.end);
  return rest.length === TERMINATE.length && rest.equals(TERMINATE);
}

function upgrade(socket: Socket, opts: HandshakeOptions): Promise<{ socket: Socket; tls: ClientTls }> {
  return new Promise((resolve, reject) => {
    const t = new TLSSocket(socket, { isServer: true, secureContext: opts.secureContext!, requestCert: opts.requestCert, rejectUnauthorized: false });
    t.once('secure', () => {
      const cipher = t.getCipher();
      const peer = opts.requestCert ? t.getPeerCertificate(true) : undefined;
      const verifyError = opts.requestCert ? chainVerifyError(t) : null;
      resolve({
        socket: t,
        tls: {
          protocol: t.getProtocol() ?? 'TLS',
          cipher: cipher.standardName ?? cipher.name,
          peerCertificate: peer && Object.keys(peer).length > 0 ? peer : undefined,
          authorized: opts.requestCert && verifyError === null,
          authorizationError: verifyError,
        },
      });
    });
    t.once('error', (e) => reject(new PgProtocolError(`TLS handshake failed: ${e.message}`)));
    t.once('close', () => reject(new PgProtocolError('client closed during the TLS handshake')));
  });
}

/**
 * Whether the client's certificate chain verified against the context's CAs. A TLSSocket built around an
 * existing socket (as after SSLRequest) never sets `authorized` — only tls.Server does, by asking the
 * handle exactly this — so ask it the same way. Anything unexpected counts as not verified (fail closed).
 */
function chainVerifyError(t: TLSSocket): Error | null {
  const handle = (t as unknown as { _handle?: { verifyError?: () => Error | null } })._handle;
  if (typeof handle?.verifyError !== 'function') return new Error('cannot check the client certificate chain');
  return handle.verifyError() ?? null;
}
