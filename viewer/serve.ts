/**
 * `npm run viewer`: serves the built renderer (viewer/dist/renderer) on 127.0.0.1 and prints its URL —
 * the viewer for machines without Electron. Any browser opens it; bundles, keys and trust files are read
 * by the page from your disk and never sent anywhere (the page's Content-Security-Policy allows no
 * connection but to this server, which only serves the viewer's own files).
 *
 * Usage: node bin/run-ts.mjs viewer/serve.ts [--port N] [--dir viewer/dist/renderer]
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { contentType, PAGE_HEADERS } from './electron/content-policy.ts';

export const DEFAULT_DIR = fileURLToPath(new URL('./dist/renderer', import.meta.url));

export const SECURITY_HEADERS: Record<string, string> = {
  ...PAGE_HEADERS,
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), usb=(), serial=(), hid=(), clipboard-read=(), clipboard-write=(self)',
};

export interface ViewerServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

export function serveViewer(opts: { dir?: string; port?: number; host?: string } = {}): Promise<ViewerServer> {
  const dir = resolve(opts.dir ?? DEFAULT_DIR);
  if (!existsSync(join(dir, 'index.html'))) {
    throw new Error(`${dir}/index.html not found: build the viewer first (npm run build:viewer)`);
  }
  const server = createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      res.writeHead(400).end();
      return;
    }
    const file = normalize(join(dir, path === '/' ? 'index.html' : path));
    if (!file.startsWith(dir + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'Content-Type': 'text/plain', ...SECURITY_HEADERS }).end('not found');
      return;
    }
    res.writeHead(200, { 'Content-Type': contentType(extname(file)), 'Content-Length': statSync(file).size, ...SECURITY_HEADERS });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
  return new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      const a = server.address() as AddressInfo;
      resolvePromise({
        url: `http://${a.address}:${a.port}/`,
        server,
        close: () => new Promise<void>((r) => server.close(() => r())),
      });
    });
  });
}

const isMain = process.argv[1] && resolve(process.argv[1]) === resolve(fileURLToPath(import.meta.url));
if (isMain) {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '5174' }, dir: { type: 'string' } } });
  const s = await serveViewer({ port: Number(values.port), ...(values.dir ? { dir: values.dir } : {}) });
  console.log(`Vigil Evidence Viewer: open ${s.url} in your browser (Chromium, Chrome, Edge or Firefox). Ctrl-C stops it.`);
  console.log('Everything runs in the page, offline: files you open are read from your disk and never uploaded.');
}
