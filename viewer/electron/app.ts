/**
 * The desktop viewer's main process, kept small: one locked-down window on the app:// protocol, every
 * other request refused, permissions denied, navigation and new windows denied, downloads cancelled,
 * and two IPC channels (save an export; hand over a bundle the OS opened). `startViewer` takes the
 * electron module as a parameter so unit tests can drive it with a test double.
 */
import { writeFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { IPC, type OpenedFile, type SaveResult } from './api.ts';
import { bundlesInArgv, handleAppRequest, isAllowedUrl, OpenedFiles, safeFileName, SCHEME, START_URL, webPreferences } from './lockdown.ts';

/** The part of the `electron` module the main process uses (the real module satisfies it; tests pass a double). */
export interface ElectronMain {
  app: {
    enableSandbox(): void;
    requestSingleInstanceLock(): boolean;
    quit(): void;
    whenReady(): Promise<unknown>;
    on(event: string, listener: (...args: never[]) => void): unknown;
    commandLine: { appendSwitch(s: string, v?: string): void };
  };
  protocol: {
    registerSchemesAsPrivileged(schemes: { scheme: string; privileges: Record<string, boolean> }[]): void;
    handle(scheme: string, handler: (req: Request) => Response | Promise<Response>): void;
  };
  session: {
    defaultSession: {
      webRequest: { onBeforeRequest(filter: { urls: string[] }, listener: (details: { url: string }, cb: (r: { cancel: boolean }) => void) => void): void };
      setPermissionRequestHandler(h: (wc: unknown, permission: string, cb: (granted: boolean) => void) => void): void;
      setPermissionCheckHandler(h: () => boolean): void;
      on(event: 'will-download', listener: (event: { preventDefault(): void }) => void): unknown;
    };
  };
  BrowserWindow: new (opts: {
    width: number;
    height: number;
    minWidth: number;
    minHeight: number;
    title: string;
    show: boolean;
    backgroundColor: string;
    webPreferences: ReturnType<typeof webPreferences>;
  }) => ViewerWindow;
  ipcMain: {
    handle(channel: string, listener: (event: IpcEvent, ...args: unknown[]) => unknown): void;
    on(channel: string, listener: (event: IpcEvent, ...args: unknown[]) => void): unknown;
  };
  dialog: {
    showSaveDialog(opts: { title: string; defaultPath: string; filters: { name: string; extensions: string[] }[] }): Promise<{ canceled: boolean; filePath?: string }>;
  };
  Menu: { setApplicationMenu(menu: null): void };
}

export interface ViewerWindow {
  webContents: WebContentsLike;
  loadURL(url: string): Promise<void>;
  once(event: 'ready-to-show', listener: () => void): unknown;
  on(event: 'closed', listener: () => void): unknown;
  show(): void;
  isMinimized(): boolean;
  restore(): void;
  focus(): void;
}

export interface WebContentsLike {
  id: number;
  send(channel: string, ...args: unknown[]): void;
  setWindowOpenHandler(h: (details: { url: string }) => { action: 'deny' }): void;
  on(event: string, listener: (event: { preventDefault(): void }, ...args: never[]) => void): unknown;
}

export interface IpcEvent {
  sender: { id: number };
  senderFrame?: { url: string } | null;
}

export interface ViewerOptions {
  /** viewer/dist/renderer (the built renderer) */
  rendererDir: string;
  preload: string;
  argv: readonly string[];
}

/** Must run before the app is ready (a privileged standard scheme: module workers, fetch, wasm). */
export function registerScheme(e: Pick<ElectronMain, 'protocol'>): void {
  e.protocol.registerSchemesAsPrivileged([{ scheme: SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, stream: true, codeCache: true } }]);
}

/** Denies everything a page could use to reach out: requests, permissions, windows, navigation, webviews, downloads. */
export function lockDownContents(contents: WebContentsLike): void {
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  // The renderer is a single page: it never navigates (the main process loads it with loadURL, which is not a navigation event).
  contents.on('will-navigate', (ev) => ev.preventDefault());
  contents.on('will-frame-navigate', (ev) => ev.preventDefault());
  contents.on('will-redirect', (ev) => ev.preventDefault());
  contents.on('will-attach-webview', (ev) => ev.preventDefault());
}

export class ViewerMain {
  readonly opened = new OpenedFiles();
  private win: ViewerWindow | undefined;
  private rendererReady = false;
  private queue: OpenedFile[] = [];

  constructor(
    private readonly e: ElectronMain,
    private readonly opts: ViewerOptions,
  ) {}

  /** Wires everything; resolves once the window is loading. */
  async start(): Promise<void> {
    const { app } = this.e;
    app.enableSandbox();
    for (const s of ['disable-background-networking', 'disable-component-update', 'disable-sync', 'no-pings']) app.commandLine.appendSwitch(s);
    registerScheme(this.e);
    if (!app.requestSingleInstanceLock()) {
      app.quit();
      return;
    }
    for (const f of bundlesInArgv(this.opts.argv)) this.openPath(f);
    app.on('second-instance', ((_ev: unknown, argv: string[]) => {
      for (const f of bundlesInArgv(argv)) this.openPath(f);
      if (this.win) {
        if (this.win.isMinimized()) this.win.restore();
        this.win.focus();
      }
    }) as never);
    app.on('open-file', ((ev: { preventDefault(): void }, path: string) => {
      ev.preventDefault();
      this.openPath(path);
    }) as never);
    app.on('web-contents-created', ((_ev: unknown, contents: WebContentsLike) => lockDownContents(contents)) as never);
    app.on('window-all-closed', (() => app.quit()) as never);
    await app.whenReady();
    this.lockSession();
    this.e.Menu.setApplicationMenu(null);
    this.e.protocol.handle(SCHEME, (req) => handleAppRequest(req, this.opts.rendererDir, this.opened));
    this.e.ipcMain.handle(IPC.save, (ev, req) => this.save(ev, req));
    this.e.ipcMain.on(IPC.ready, (ev) => {
      if (!this.fromOurWindow(ev)) return;
      this.rendererReady = true;
      this.flush();
    });
    this.createWindow();
    await this.win!.loadURL(START_URL);
  }

  private lockSession(): void {
    const s = this.e.session.defaultSession;
    s.webRequest.onBeforeRequest({ urls: ['<all_urls>'] }, (details, cb) => cb({ cancel: !isAllowedUrl(details.url) }));
    s.setPermissionRequestHandler((_wc, _permission, cb) => cb(false));
    s.setPermissionCheckHandler(() => false);
    s.on('will-download', (ev) => ev.preventDefault());
  }

  private createWindow(): void {
    const win = new this.e.BrowserWindow({
      width: 1360,
      height: 900,
      minWidth: 960,
      minHeight: 600,
      title: 'Vigil Evidence Viewer',
      show: false,
      backgroundColor: '#f4f6f8',
      webPreferences: webPreferences(this.opts.preload),
    });
    this.win = win;
    lockDownContents(win.webContents);
    win.once('ready-to-show', () => win.show());
    win.on('closed', () => {
      this.win = undefined;
      this.rendererReady = false;
    });
  }

  /** Only our window's top frame, on our origin, may call the main process. */
  fromOurWindow(ev: IpcEvent): boolean {
    return !!this.win && ev.sender.id === this.win.webContents.id && !!ev.senderFrame && isAllowedUrl(ev.senderFrame.url);
  }

  openPath(path: string): void {
    let f: OpenedFile;
    try {
      f = this.opened.register(path);
    } catch {
      return;
    }
    this.queue.push(f);
    this.flush();
  }

  private flush(): void {
    if (!this.win || !this.rendererReady) return;
    for (const f of this.queue.splice(0)) this.win.webContents.send(IPC.opened, f);
  }

  async save(ev: IpcEvent, req: unknown): Promise<SaveResult> {
    if (!this.fromOurWindow(ev) || !this.win) throw new Error('refused: not from the viewer window');
    const r = req as { suggestedName?: unknown; data?: unknown } | null;
    if (!r || !(r.data instanceof Uint8Array) || r.data.length > 1024 ** 3) throw new Error('refused: nothing to save');
    const name = safeFileName(r.suggestedName);
    const ext = extname(name).slice(1).toLowerCase();
    const kinds: Record<string, string> = { pdf: 'PDF report', html: 'HTML report', csv: 'CSV log', cast: 'Terminal replay (asciicast)' };
    const choice = await this.e.dialog.showSaveDialog({
      title: 'Save export',
      defaultPath: name,
      filters: [...(kinds[ext] ? [{ name: kinds[ext]!, extensions: [ext] }] : []), { name: 'All files', extensions: ['*'] }],
    });
    if (choice.canceled || !choice.filePath) return { saved: false };
    await writeFile(choice.filePath, r.data, { mode: 0o600 });
    return { saved: true, path: choice.filePath };
  }
}

export function defaultPaths(distDir: string): Pick<ViewerOptions, 'rendererDir' | 'preload'> {
  return { rendererDir: join(distDir, 'renderer'), preload: join(distDir, 'electron', 'preload.cjs') };
}
