/** A listener's TLS server context from the certificate and key files vigil.yaml names. */
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContext, type TlsOptions } from 'node:tls';

export interface ServerTlsFiles {
  cert: string;
  key: string;
}

/** TLS 1.2 at least; `ca` (PEM) is the client-certificate CA when the listener accepts mTLS. */
export function serverSecureContext(files: ServerTlsFiles, resolvePath: (p: string) => string, ca?: TlsOptions['ca']): SecureContext {
  return createSecureContext({
    cert: readFileSync(resolvePath(files.cert)),
    key: readFileSync(resolvePath(files.key)),
    minVersion: 'TLSv1.2',
    ...(ca !== undefined ? { ca } : {}),
  });
}
