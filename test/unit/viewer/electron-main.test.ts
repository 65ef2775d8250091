/**
 * The desktop viewer's main process, driven through a double of the `electron` module: the window's
 * lockdown, the network and permission refusals, the app:// protocol, the save and open-file IPC.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { IPC } from '../../../viewer/electron/api.ts';
import { ViewerMain, lockDownContents } from '../../../viewer/electron/app.ts';
import { CSP } from '../../../viewer/electron/content-policy.ts';
import { START_URL, bundlesInArgv, isAllowedUrl, safeFileName } from '../../../viewer/electron/lockdown.ts';
import { tempDir } from '../../helpers/evidence.ts';
import { FakeWebContents, electronDouble } from './electron-double.ts';

let dir: string;
let renderer: string;

beforeEach(() => {
  dir = tempDir('vigil-electron-');
  renderer = join(dir, 'renderer');
  mkdirSync(join(renderer, 'assets'), { recursive: true });
  writeFileSync(join(renderer, 'index.html'), '<!doctype html><title>viewer</title>');
  writeFileSync(join(renderer, 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(join(dir, 'secret.txt'), 'outside the renderer');
});

async function started(argv: string[] = ['vigil-viewer']) {
  const d = electronDouble();
  const main = new ViewerMain(d.electron, { rendererDir: renderer, preload: join(dir, 'preload.cjs'), argv });
  await main.start();
  const win = d.windows()[0]!;
  const ours = { sender: { id: win.webContents.id }, senderFrame: { url: START_URL } };
  return { d, main, win, ours };
}

const get = (url: string, headers: Record<string, string> = {}) => new Request(url, { headers });

describe('the window', () => {
  it('is sandboxed, context-isolated, without Node, webviews or devtools, and loads only the app', async () => {
    const { d, win } = await started();
    expect(d.app.sandboxed).toBe(true);
    expect(d.windows()).toHaveLength(1);
    expect(win.options.webPreferences).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webviewTag: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      navigateOnDragDrop: false,
      devTools: false,
      preload: join(dir, 'preload.cjs'),
    });
    expect(win.loaded).toEqual([START_URL]);
    expect(d.menu()).toBeNull();
  });

  it('denies new windows, navigation, redirects and webviews', async () => {
    const { win } = await started();
    const wc = win.webContents;
    expect(wc.openHandler?.({ url: 'https://example.com/' })).toEqual({ action: 'deny' });
    expect(wc.openHandler?.({ url: START_URL })).toEqual({ action: 'deny' });
    expect(wc.fire('will-navigate', 'https://example.com/')).toBe(true);
    expect(wc.fire('will-navigate', 'file:///etc/passwd')).toBe(true);
    expect(wc.fire('will-redirect', 'https://example.com/')).toBe(true);
    expect(wc.fire('will-attach-webview', {}, {})).toBe(true);
    expect(wc.fire('will-frame-navigate', {})).toBe(true);
  });

  it('locks down every web contents the app creates, not only the main window', async () => {
    const { d } = await started();
    const other = new FakeWebContents();
    d.app.emit('web-contents-created', {}, other);
    expect(other.openHandler?.({ url: 'https://example.com' })).toEqual({ action: 'deny' });
    expect(other.fire('will-navigate', 'https://example.com')).toBe(true);
    const direct = new FakeWebContents();
    lockDownContents(direct);
    expect(direct.fire('will-attach-webview')).toBe(true);
  });
});

describe('the network', () => {
  it('refuses every request that is not the app itself', async () => {
    const { d } = await started();
    expect(d.session.filter).toEqual({ urls: ['<all_urls>'] });
    const decide = (url: string) => {
      let r: { cancel: boolean } | undefined;
      d.session.beforeRequest!({ url }, (x) => (r = x));
      return r!.cancel;
    };
    for (const url of ['https://example.com/', 'http://127.0.0.1:8080/', 'ws://127.0.0.1/', 'wss://evil.example/', 'file:///etc/passwd', 'ftp://x/', 'data:text/html,hi', 'app://other/index.html', 'app://user:pw@viewer/x', 'not a url']) {
      expect(decide(url), url).toBe(true);
    }
    expect(decide(START_URL)).toBe(false);
    expect(decide('app://viewer/assets/app.js')).toBe(false);
  });

  it('grants no permission and cancels downloads', async () => {
    const { d } = await started();
    for (const p of ['media', 'geolocation', 'notifications', 'clipboard-read', 'openExternal', 'fullscreen']) {
      let granted: boolean | undefined;
      d.session.permissionRequest!(null, p, (g) => (granted = g));
      expect(granted, p).toBe(false);
    }
    expect(d.session.permissionCheck!()).toBe(false);
    let prevented = false;
    d.session.emit('will-download', { preventDefault: () => (prevented = true) });
    expect(prevented).toBe(true);
  });

  it('asks for the built-in switches that stop background traffic', async () => {
    const { d } = await started();
    expect(d.app.switches).toEqual(expect.arrayContaining(['disable-background-networking', 'disable-component-update', 'disable-sync']));
  });
});

describe('the app:// protocol', () => {
  it('is registered as a privileged standard scheme (module workers, fetch, wasm)', async () => {
    const { d } = await started();
    expect(d.schemes).toEqual([{ scheme: 'app', privileges: expect.objectContaining({ standard: true, secure: true, supportFetchAPI: true }) }]);
  });

  it('serves the renderer with the strict CSP, and nothing outside it', async () => {
    const { d } = await started();
    const h = d.handlers.get('app')!;
    const index = await h(get('app://viewer/index.html'));
    expect(index.status).toBe(200);
    expect(index.headers.get('content-security-policy')).toBe(CSP);
    expect(CSP).toContain("default-src 'none'");
    expect(CSP).toContain("script-src 'self' 'wasm-unsafe-eval'");
    expect(CSP).not.toMatch(/'unsafe-eval'|script-src[^;]*'unsafe-inline'|\*/);
    expect(index.headers.get('content-type')).toMatch(/text\/html/);
    expect(await index.text()).toContain('<title>viewer</title>');
    expect((await h(get('app://viewer/assets/app.js'))).headers.get('content-type')).toMatch(/javascript/);
    for (const evil of ['app://viewer/../secret.txt', 'app://viewer/%2e%2e/secret.txt', 'app://viewer/assets/%2e%2e%2f%2e%2e%2fsecret.txt', 'app://viewer/nope.js']) {
      const r = await h(get(evil));
      expect(r.status, evil).toBe(404);
      expect(await r.text()).not.toContain('outside the renderer');
    }
    expect((await h(get('app://elsewhere/index.html'))).status).toBe(403);
  });

  it('serves a bundle the OS opened by byte ranges, and only by its unguessable token', async () => {
    const bundle = join(dir, 'evidence.vigil');
    const bytes = new Uint8Array(100_000).map((_, i) => i % 251);
    writeFileSync(bundle, bytes);
    const { d, main, win, ours } = await started(['vigil-viewer', bundle]);
    // Nothing is sent before the renderer says it is ready.
    expect(win.webContents.sent).toEqual([]);
    d.ipcListeners.get(IPC.ready)!(ours);
    expect(win.webContents.sent).toHaveLength(1);
    const f = win.webContents.sent[0]!.args[0] as { name: string; size: number; url: string };
    expect(win.webContents.sent[0]!.channel).toBe(IPC.opened);
    expect(f).toMatchObject({ name: 'evidence.vigil', size: 100_000 });
    expect(f.url).toMatch(/^app:\/\/viewer\/opened\/[0-9a-f]{32}$/);
    const h = d.handlers.get('app')!;
    const part = await h(get(f.url, { range: 'bytes=1000-1999' }));
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe('bytes 1000-1999/100000');
    expect(new Uint8Array(await part.arrayBuffer())).toEqual(bytes.subarray(1000, 2000));
    expect((await h(get(f.url, { range: 'bytes=99999-100000' }))).status).toBe(416);
    expect((await h(get(f.url, { range: 'bytes=-5' }))).status).toBe(416);
    expect((await h(get('app://viewer/opened/' + '0'.repeat(32), { range: 'bytes=0-9' }))).status).toBe(404);
    expect(main.opened.path(f.url.split('/').pop()!)).toBe(bundle);
  });

  it('opens bundles from a second launch and from macOS open-file, not other files', async () => {
    const a = join(dir, 'a.vigil');
    const b = join(dir, 'b.VIGIL');
    writeFileSync(a, 'x');
    writeFileSync(b, 'y');
    expect(bundlesInArgv(['app', '--flag', a, join(dir, 'secret.txt'), join(dir, 'missing.vigil'), b])).toEqual([a, b]);
    const { d, win, ours } = await started();
    d.ipcListeners.get(IPC.ready)!(ours);
    d.app.emit('second-instance', {}, ['vigil-viewer', a]);
    let prevented = false;
    d.app.emit('open-file', { preventDefault: () => (prevented = true) }, b);
    expect(prevented).toBe(true);
    expect(win.webContents.sent.map((s) => (s.args[0] as { name: string }).name)).toEqual(['a.vigil', 'b.VIGIL']);
  });

  it('quits when another instance already runs', async () => {
    const d = electronDouble();
    d.app.singleInstance = false;
    await new ViewerMain(d.electron, { rendererDir: renderer, preload: 'p', argv: [] }).start();
    expect(d.app.quitCalled).toBe(true);
    expect(d.windows()).toHaveLength(0);
  });
});

describe('saving an export', () => {
  it('writes the bytes where the auditor chose, with a sanitised proposed name', async () => {
    const { d, ours } = await started();
    const target = join(dir, 'chosen-report.pdf');
    d.answerDialog({ canceled: false, filePath: target });
    const save = d.ipcHandlers.get(IPC.save)!;
    const r = await save(ours, { suggestedName: '../../etc/evil\u0007name.pdf', data: new TextEncoder().encode('%PDF-1.7 test') });
    expect(r).toEqual({ saved: true, path: target });
    expect(readFileSync(target, 'utf8')).toBe('%PDF-1.7 test');
    expect(d.dialogCalls[0]).toMatchObject({ defaultPath: 'evil_name.pdf', filters: [{ name: 'PDF report', extensions: ['pdf'] }, { name: 'All files', extensions: ['*'] }] });
  });

  it('writes nothing when the dialog is cancelled', async () => {
    const { d, ours } = await started();
    d.answerDialog({ canceled: true });
    expect(await d.ipcHandlers.get(IPC.save)!(ours, { suggestedName: 'x.csv', data: new Uint8Array([1]) })).toEqual({ saved: false });
  });

  it('refuses calls from another frame or window, and malformed requests', async () => {
    const { d, ours } = await started();
    d.answerDialog({ canceled: false, filePath: join(dir, 'never') });
    const save = d.ipcHandlers.get(IPC.save)!;
    await expect(save({ sender: { id: 9999 }, senderFrame: { url: START_URL } }, { suggestedName: 'a', data: new Uint8Array(1) })).rejects.toThrow(/refused/);
    await expect(save({ sender: ours.sender, senderFrame: { url: 'https://evil.example/' } }, { suggestedName: 'a', data: new Uint8Array(1) })).rejects.toThrow(/refused/);
    await expect(save({ sender: ours.sender, senderFrame: null }, { suggestedName: 'a', data: new Uint8Array(1) })).rejects.toThrow(/refused/);
    await expect(save(ours, { suggestedName: 'a', data: 'not bytes' })).rejects.toThrow(/refused/);
    await expect(save(ours, null)).rejects.toThrow(/refused/);
    expect(d.dialogCalls).toEqual([]);
  });

  it('proposes only plain file names', () => {
    expect(safeFileName('report.pdf')).toBe('report.pdf');
    expect(safeFileName('/tmp/../x/y.csv')).toBe('y.csv');
    expect(safeFileName('..')).toBe('export');
    expect(safeFileName(42)).toBe('export');
    expect(safeFileName('a<b>c:d"e|f?g*h.html')).toBe('a_b_c_d_e_f_g_h.html');
  });
});

describe('isAllowedUrl', () => {
  it('accepts only the app origin', () => {
    expect(isAllowedUrl('app://viewer/')).toBe(true);
    expect(isAllowedUrl('APP://VIEWER/index.html')).toBe(true);
    expect(isAllowedUrl('app://viewer.evil/')).toBe(false);
    expect(isAllowedUrl('https://viewer/')).toBe(false);
  });
});
