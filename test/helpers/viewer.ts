/**
 * End-to-end helpers for the evidence viewer: build the renderer once per test run (shared by every test
 * file through a lock and a source stamp), serve it on 127.0.0.1, and drive it with Playwright on Debian's
 * Chromium — as an auditor would: open files, read what the page shows, download exports.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { chromium, type Browser, type Download, type Page } from 'playwright-core';
import { expect } from 'vitest';

export const ROOT = join(import.meta.dirname, '../..');
export const ARTIFACTS = join(ROOT, 'test-artifacts', 'viewer');
const DIST = join(ROOT, 'viewer', 'dist', 'renderer');
const STAMP = join(ROOT, 'viewer', 'dist', '.e2e-stamp');
const LOCK = join(ROOT, 'viewer', 'dist', '.e2e-lock');

function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.name === 'node_modules' || d.name === 'dist' ? [] : d.isDirectory() ? files(join(dir, d.name)) : [join(dir, d.name)]));
}

function sourceStamp(): string {
  const h = createHash('sha256');
  for (const f of [...files(join(ROOT, 'viewer', 'src')), ...files(join(ROOT, 'shared')), join(ROOT, 'viewer', 'index.html'), join(ROOT, 'viewer', 'vite.config.ts'), join(ROOT, 'package-lock.json')].sort()) {
    h.update(relative(ROOT, f)).update('\0').update(readFileSync(f));
  }
  return h.digest('hex');
}

/** Builds viewer/dist/renderer unless a build of the same sources exists; safe across parallel test files. */
export async function ensureViewerBuilt(): Promise<void> {
  const want = sourceStamp();
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (existsSync(STAMP) && readFileSync(STAMP, 'utf8') === want && existsSync(join(DIST, 'index.html'))) return;
    try {
      mkdirSync(join(ROOT, 'viewer', 'dist'), { recursive: true });
      mkdirSync(LOCK);
    } catch {
      if (Date.now() > deadline) throw new Error('timed out waiting for another test file to build the viewer');
      if (existsSync(LOCK) && Date.now() - statSync(LOCK).mtimeMs > 120_000) rmSync(LOCK, { recursive: true, force: true }); // stale
      await new Promise((r) => setTimeout(r, 250));
      continue;
    }
    try {
      if (existsSync(STAMP) && readFileSync(STAMP, 'utf8') === want && existsSync(join(DIST, 'index.html'))) return;
      const { buildRenderer } = await import('../../viewer/build.ts');
      await buildRenderer();
      writeFileSync(STAMP, want);
      return;
    } finally {
      rmSync(LOCK, { recursive: true, force: true });
    }
  }
}

export interface ViewerSession {
  browser: Browser;
  url: string;
  /** A fresh page (its own context: nothing carries over between tests). */
  page(): Promise<Page>;
  close(): Promise<void>;
}

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

export async function startViewer(): Promise<ViewerSession> {
  await ensureViewerBuilt();
  const { serveViewer } = await import('../../viewer/serve.ts');
  const server = await serveViewer({ dir: DIST });
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
  const pages: Page[] = [];
  return {
    browser,
    url: server.url,
    async page() {
      const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 }, acceptDownloads: true });
      const p = await ctx.newPage();
      const problems: string[] = [];
      p.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      p.on('dialog', (d) => {
        problems.push(`dialog: ${d.message()}`);
        void d.dismiss();
      });
      p.on('console', (m) => {
        if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
      });
      (p as Page & { problems: string[] }).problems = problems;
      await p.goto(server.url);
      pages.push(p);
      return p;
    },
    async close() {
      await browser.close();
      await server.close();
    },
  };
}

/** Page errors, dialogs (alert/confirm) and console errors seen so far: a hostile bundle must cause none. */
export function problems(p: Page): string[] {
  return (p as Page & { problems?: string[] }).problems ?? [];
}

export interface EvidenceFiles {
  trust: string;
  bundle: string;
  key?: string;
  passphrase?: string;
}

/** Opens trust file, key and bundle through the page's file inputs, then waits for the verification banner. */
export async function openEvidence(p: Page, f: EvidenceFiles, opts: { keyFirst?: boolean } = {}): Promise<void> {
  await p.getByTestId('trust-input').setInputFiles(f.trust);
  await p.getByTestId('trust-loaded').waitFor();
  if (f.key && opts.keyFirst !== false) {
    await p.getByTestId('key-input').setInputFiles(f.key);
    await p.getByTestId('key-loaded').waitFor();
  }
  await p.getByTestId('bundle-input').setInputFiles(f.bundle);
  if (f.key && f.passphrase) {
    await p.getByLabel('Passphrase', { exact: true }).fill(f.passphrase);
    await p.getByRole('button', { name: 'Unlock' }).click();
  }
  const banner = p.locator(f.key ? '[data-testid=banner][data-with-key=yes]' : '[data-testid=banner]');
  await banner.waitFor({ timeout: 60_000 });
}

export async function checkStatus(p: Page, id: string): Promise<string | null> {
  return p.locator(`[data-check="${id}"]`).getAttribute('data-status');
}

export async function checkText(p: Page, id: string): Promise<string> {
  return p.locator(`[data-check="${id}"]`).innerText();
}

export async function nav(p: Page, section: 'Verification' | 'Sessions' | 'Approvals' | 'Event table' | 'Report & exports'): Promise<void> {
  await p.locator('nav.side button', { hasText: section }).click();
}

export async function openSession(p: Page, seq: number): Promise<void> {
  await nav(p, 'Sessions');
  await p.locator(`.vtable .row[data-seq="${seq}"]`).click();
  await p.getByTestId('session-detail').waitFor();
}

export async function screenshot(p: Page, name: string, opts: { fullPage?: boolean } = {}): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  // The page scrolls inside <main>, so "full page" means: a window tall enough for all of it (capped).
  const size = p.viewportSize();
  if (opts.fullPage && size) {
    const h = (await p.evaluate('Math.max(document.querySelector("main")?.scrollHeight ?? 0, document.body.scrollHeight)')) as number;
    await p.setViewportSize({ width: size.width, height: Math.min(Math.max(size.height, h + 60), 2400) });
  }
  await p.screenshot({ path });
  if (opts.fullPage && size) await p.setViewportSize(size);
  return path;
}

/** Clicks something that downloads a file; returns the file's bytes and suggested name. */
export async function download(p: Page, click: () => Promise<void>): Promise<{ name: string; bytes: Buffer }> {
  const [d] = (await Promise.all([p.waitForEvent('download'), click()])) as [Download, void];
  const path = await d.path();
  return { name: d.suggestedFilename(), bytes: readFileSync(path) };
}

/** The visible text of the replay terminal (xterm's DOM renderer rows). */
export async function terminalText(p: Page): Promise<string> {
  return p.locator('[data-testid=terminal] .xterm-rows').innerText();
}

export { expect };
