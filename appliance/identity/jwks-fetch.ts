/**
 * The HTTPS GET jose's remote JWKS uses (its `customFetch` option), built on node:https so that a private
 * CA can be trusted for this one endpoint. Node 20's global fetch is undici, whose per-request CA needs an
 * undici `Agent` (`dispatcher`) from the separate undici package; node:https needs nothing extra.
 * Also: the body is capped (a JWKS is a few KiB), redirects are not followed (jose asks for 'manual' and
 * rejects anything but 200), and the timeout is jose's AbortSignal.
 */
import { Agent, get } from 'node:https';
import type { FetchImplementation } from 'jose';

const MAX_BODY = 1024 * 1024;

export interface JwksFetchOptions {
  /** PEM CA certificate(s) to trust instead of Node's bundled roots. */
  ca?: string | Buffer;
  maxBytes?: number;
}

export function httpsJwksFetch(options: JwksFetchOptions = {}): FetchImplementation {
  const agent = new Agent({ ...(options.ca === undefined ? {} : { ca: options.ca }), keepAlive: false });
  const maxBytes = options.maxBytes ?? MAX_BODY;
  return (url, init) =>
    new Promise<Response>((resolve, reject) => {
      const { signal } = init;
      if (signal.aborted) return reject(signal.reason);
      const req = get(url, { agent, headers: Object.fromEntries(init.headers) }, (res) => {
        const status = res.statusCode ?? 0;
        if (status !== 200) {
          res.resume();
          // Response refuses 1xx and out-of-range codes; jose only cares that it is not 200.
          return settle(() => new Response(null, { status: status >= 200 && status <= 599 && status !== 200 ? status : 502 }));
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > maxBytes) req.destroy(new Error(`JWKS response is larger than ${maxBytes} bytes`));
          else chunks.push(c);
        });
        res.on('end', () => settle(() => new Response(Buffer.concat(chunks), { status: 200, headers: { 'content-type': res.headers['content-type'] ?? 'application/json' } })));
        res.on('error', fail);
      });
      req.on('error', fail);
      const onAbort = () => req.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      signal.addEventListener('abort', onAbort, { once: true });

      let done = false;
      function settle(make: () => Response): void {
        if (done) return;
        done = true;
        signal.removeEventListener('abort', onAbort);
        try {
          resolve(make());
        } catch (e) {
          reject(e);
        }
      }
      function fail(e: Error): void {
        if (done) return;
        done = true;
        signal.removeEventListener('abort', onAbort);
        // jose turns a TimeoutError into JWKSTimeout.
        reject(signal.aborted ? signal.reason : e);
      }
    });
}
