/**
 * A self-signed server certificate for a new appliance, so TLS is on from the first start. Operators
 * replace it with one from their CA (listeners.*.tls in vigil.yaml). Made with the system's openssl.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { VigilError } from '../../shared/errors.ts';

export interface CertificatePaths {
  cert: string;
  key: string;
}

export function makeSelfSignedCertificate(dir: string, opts: { commonName: string; hosts: string[]; days?: number }): CertificatePaths {
  const cert = join(dir, 'server.crt');
  const key = join(dir, 'server.key');
  if (existsSync(cert) || existsSync(key)) throw new VigilError('E_EXISTS', `${dir} already holds a certificate`);
  const san = opts.hosts.map((h) => (/^[\d.]+$|:/.test(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', String(opts.days ?? 825), '-subj', `/CN=${opts.commonName}`, '-addext', `subjectAltName=${san}`],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
  } catch (e) {
    throw new VigilError('E_TLS', `could not make a TLS certificate with openssl: ${(e as Error).message}`, {
      hint: 'install openssl, or set listeners.postgres.tls.cert and .key to your own certificate',
    });
  }
  chmodSync(key, 0o600);
  return { cert, key };
}
