/**
 * The CLI's client of the admin HTTPS API (vigil approvals, vigil ssh-cert): where it is (--url, or from
 * --config), which CA to trust, and the caller's own identity token (VIGIL_TOKEN or --token-file).
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { VigilError } from '../../shared/errors.ts';
import { loadConfig } from '../config/load-config.ts';
import { UsageError } from './command.ts';

export const common = {
  url: { type: 'string', value: 'URL', description: 'admin API (default: from --config, else https://127.0.0.1:8443)' },
  config: { type: 'string', value: 'FILE', description: 'vigil.yaml: takes the admin address and TLS certificate from it' },
  ca: { type: 'string', value: 'FILE', description: 'CA certificate to trust for the admin API (default with --config: its TLS certificate)' },
  'token-file': { type: 'string', value: 'FILE', description: 'your identity token (default: the VIGIL_TOKEN environment variable)' },
  json: { type: 'boolean', description: 'print JSON' },
} as const;

export interface Conn {
  url: string;
  ca: Buffer | undefined;
  token: string;
}

export function connection(v: { url?: string | undefined; config?: string | undefined; ca?: string | undefined; 'token-file'?: string | undefined }, command: string): Conn {
  let url = v.url;
  let ca = v.ca;
  if (v.config) {
    const loaded = loadConfig(v.config);
    const admin = loaded.config.listeners.admin;
    if (!admin) throw new VigilError('E_CONFIG', `${loaded.path} has no listeners.admin`, { hint: 'add listeners.admin (docs/approvals.md)' });
    url ??= `https://${admin.address}`;
    ca ??= loaded.resolvePath(admin.tls.cert);
  }
  url ??= 'https://127.0.0.1:8443';
  let token = process.env['VIGIL_TOKEN'] ?? '';
  if (v['token-file']) {
    try {
      token = readFileSync(v['token-file'], 'utf8').trim();
    } catch {
      throw new UsageError(`cannot read the token file ${v['token-file']}`, command);
    }
  }
  if (!token) throw new UsageError('no identity token: set VIGIL_TOKEN or give --token-file FILE', command);
  return { url: url.replace(/\/$/, ''), ca: ca ? readFileSync(ca) : undefined, token };
}

export function call(c: Conn, method: 'GET' | 'POST', path: string, body?: object): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const payload = body ? JSON.stringify(body) : undefined;
    const req = request(
      `${c.url}${path}`,
      {
        method,
        headers: { authorization: `Bearer ${c.token}`, ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}) },
        ...(c.ca ? { ca: c.ca } : {}),
        timeout: 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          let json: Record<string, unknown>;
          try {
            json = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
          } catch {
            return reject(new VigilError('E_ADMIN_API', `the admin API at ${c.url} answered HTTP ${res.statusCode} without JSON`));
          }
          const err = json['error'] as { code: string; message: string } | undefined;
          if (err) reject(new VigilError(err.code, err.message));
          else resolve(json);
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer within 30 s')));
    req.on('error', (e) => reject(new VigilError('E_ADMIN_API', `cannot reach the admin API at ${c.url}: ${e.message}`, { hint: 'check --url/--config; a self-signed certificate needs --ca (or --config)' })));
    req.end(payload);
  });
}

