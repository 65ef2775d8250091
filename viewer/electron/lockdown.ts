/**
 * The offline lockdown of the desktop viewer, as plain functions the main process wires up (and the unit
 * tests call directly): which URLs may load (only the app's own files), the window's web preferences, and
 * the app:// protocol that serves the renderer and the bundle files the OS opened with the app.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { basename, extname, join, normalize, resolve, sep } from 'node:path';
import { contentType, PAGE_HEADERS } from './content-policy.ts';

export const SCHEME = 'app';
export const HOST = 'viewer';
export const ORIGIN = `${SCHEME}://${HOST}`;
export const START_URL = `${ORIGIN}/index.html`;

/** True only for the app's own origin: every other request (http, https, ws, file, ftp, data, …) is cancelled. */
export function isAllowedUrl(url: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  return u.protocol === `${SCHEME}:` && u.host.toLowerCase() === HOST && !u.username && !u.password;
}

/** Web preferences of the one window: isolated, sandboxed, no Node, no webviews, no navigation by drop. */
export function webPreferences(preload: string) {
  return {
    preload,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webviewTag: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    experimentalFeatures: false,
    navigateOnDragDrop: false,
    safeDialogs: true,
    spellcheck: false,
    devTools: false,
  } as const;
}

/** Bundle files the OS handed to the app, readable by the renderer at app://viewer/opened/<token>. */
export class OpenedFiles {
  private readonly files = new Map<string, string>();

  register(path: string): { name: string; size: number; url: string } {
    const abs = resolve(path);
    const size = statSync(abs).size;
    const token = randomBytes(16).toString('hex');
    this.files.set(token, abs);
    return { name: basename(abs), size, url: `${ORIGIN}/opened/${token}` };
  }

  path(token: string): string | undefined {
    return this.files.get(token);
  }
}

function respond(status: number, body: string | Uint8Array<ArrayBuffer> | null, headers: Record<string, string> = {}): Response {
  return new Response(body, { status, headers: { ...PAGE_HEADERS, ...headers } });
}

/**
 * The app:// handler: the renderer's files from `rendererDir` (nothing outside it), and opened bundles by
 * byte range (the verification worker reads a multi-gigabyte bundle a few MiB at a time).
 */
export function handleAppRequest(req: { url: string; method: string; headers: { get(name: string): string | null } }, rendererDir: string, opened: OpenedFiles): Response {
  if (!isAllowedUrl(req.url)) return respond(403, 'forbidden');
  if (req.method !== 'GET' && req.method !== 'HEAD') return respond(405, 'method not allowed');
  let path: string;
  try {
    path = decodeURIComponent(new URL(req.url).pathname);
  } catch {
    return respond(400, 'bad request');
  }
  const m = /^\/opened\/([0-9a-f]{32})$/.exec(path);
  if (m) {
    const file = opened.path(m[1]!);
    if (!file) return respond(404, 'not found');
    return serveRange(file, req.headers.get('range'));
  }
  const root = resolve(rendererDir);
  const file = normalize(join(root, path === '/' ? 'index.html' : path));
  if (!file.startsWith(root + sep) || !existsSync(file) || !statSync(file).isFile()) return respond(404, 'not found');
  return respond(200, new Uint8Array(readFileSync(file)), { 'Content-Type': contentType(extname(file)) });
}

const MAX_RANGE = 64 * 1024 * 1024;

export function serveRange(file: string, range: string | null): Response {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    if (!range) {
      // Whole-file reads are refused for large files: the renderer always asks for ranges.
      if (size > MAX_RANGE) return respond(416, 'ask for a range', { 'Content-Range': `bytes */${size}` });
      return respond(200, readRange(fd, 0, size), { 'Content-Type': 'application/octet-stream', 'Accept-Ranges': 'bytes' });
    }
    const m = /^bytes=(\d+)-(\d+)$/.exec(range.trim());
    if (!m) return respond(416, 'bad range', { 'Content-Range': `bytes */${size}` });
    const start = Number(m[1]);
    const end = Number(m[2]);
    if (!(start <= end && end < size && end - start + 1 <= MAX_RANGE)) return respond(416, 'range not satisfiable', { 'Content-Range': `bytes */${size}` });
    return respond(206, readRange(fd, start, end - start + 1), { 'Content-Type': 'application/octet-stream', 'Content-Range': `bytes ${start}-${end}/${size}`, 'Accept-Ranges': 'bytes' });
  } finally {
    closeSync(fd);
  }
}

function readRange(fd: number, offset: number, length: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, out, done, length - done, offset + done);
    if (n === 0) break;
    done += n;
  }
  return out.subarray(0, done);
}

/** Bundle paths in a command line (`vigil-viewer FILE.vigil`, or what the OS passes for a file association). */
export function bundlesInArgv(argv: readonly string[]): string[] {
  return argv.slice(1).filter((a) => !a.startsWith('-') && /\.vigil$/i.test(a) && existsSync(a) && statSync(a).isFile());
}

/** A file name the save dialog may propose: no directories, no control characters, bounded. */
export function safeFileName(name: unknown): string {
  const s = typeof name === 'string' ? basename(name) : '';
  const clean = s.replace(/[\x00-\x1f\x7f<>:"/\\|?*]/g, '_').slice(0, 120);
  return clean && clean !== '.' && clean !== '..' ? clean : 'export';
}
