/** A test double of the parts of the `electron` module the viewer's main process uses: records every call. */
import type { ElectronMain, IpcEvent, ViewerWindow, WebContentsLike } from '../../../viewer/electron/app.ts';

type Listener = (...args: never[]) => unknown;

class Emitter {
  readonly listeners = new Map<string, Listener[]>();
  on(event: string, l: Listener): this {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), l]);
    return this;
  }
  once(event: string, l: Listener): this {
    return this.on(event, l);
  }
  emit(event: string, ...args: unknown[]): unknown[] {
    return (this.listeners.get(event) ?? []).map((l) => (l as (...a: unknown[]) => unknown)(...args));
  }
}

export class FakeWebContents extends Emitter implements WebContentsLike {
  static next = 1;
  readonly id = FakeWebContents.next++;
  readonly sent: { channel: string; args: unknown[] }[] = [];
  openHandler: ((d: { url: string }) => { action: 'deny' }) | undefined;
  send(channel: string, ...args: unknown[]): void {
    this.sent.push({ channel, args });
  }
  setWindowOpenHandler(h: (d: { url: string }) => { action: 'deny' }): void {
    this.openHandler = h;
  }
  /** Emits a cancellable event; returns whether a listener prevented it. */
  fire(event: string, ...args: unknown[]): boolean {
    let prevented = false;
    this.emit(event, { preventDefault: () => (prevented = true) }, ...args);
    return prevented;
  }
}

export class FakeWindow extends Emitter implements ViewerWindow {
  static created: FakeWindow[] = [];
  readonly webContents = new FakeWebContents();
  loaded: string[] = [];
  shown = false;
  constructor(readonly options: ConstructorParameters<ElectronMain['BrowserWindow']>[0]) {
    super();
    FakeWindow.created.push(this);
  }
  async loadURL(url: string): Promise<void> {
    this.loaded.push(url);
  }
  show(): void {
    this.shown = true;
  }
  isMinimized(): boolean {
    return false;
  }
  restore(): void {}
  focus(): void {}
}

export function electronDouble() {
  FakeWindow.created = [];
  const app = new (class extends Emitter {
    sandboxed = false;
    quitCalled = false;
    singleInstance = true;
    switches: string[] = [];
    commandLine = { appendSwitch: (s: string) => void this.switches.push(s) };
    enableSandbox() {
      this.sandboxed = true;
    }
    requestSingleInstanceLock() {
      return this.singleInstance;
    }
    quit() {
      this.quitCalled = true;
    }
    whenReady() {
      return Promise.resolve();
    }
  })();
  const schemes: { scheme: string; privileges: Record<string, boolean> }[] = [];
  const handlers = new Map<string, (req: Request) => Response | Promise<Response>>();
  const session = new (class extends Emitter {
    beforeRequest: ((d: { url: string }, cb: (r: { cancel: boolean }) => void) => void) | undefined;
    filter: { urls: string[] } | undefined;
    permissionRequest: ((wc: unknown, p: string, cb: (g: boolean) => void) => void) | undefined;
    permissionCheck: (() => boolean) | undefined;
    webRequest = {
      onBeforeRequest: (filter: { urls: string[] }, l: (d: { url: string }, cb: (r: { cancel: boolean }) => void) => void) => {
        this.filter = filter;
        this.beforeRequest = l;
      },
    };
    setPermissionRequestHandler(h: (wc: unknown, p: string, cb: (g: boolean) => void) => void) {
      this.permissionRequest = h;
    }
    setPermissionCheckHandler(h: () => boolean) {
      this.permissionCheck = h;
    }
  })();
  const ipcHandlers = new Map<string, (ev: IpcEvent, ...args: unknown[]) => unknown>();
  const ipcListeners = new Map<string, (ev: IpcEvent, ...args: unknown[]) => void>();
  const dialogCalls: unknown[] = [];
  let dialogAnswer: { canceled: boolean; filePath?: string } = { canceled: true };
  let menu: unknown = 'default';
  const electron = {
    app,
    protocol: {
      registerSchemesAsPrivileged: (s: typeof schemes) => void schemes.push(...s),
      handle: (scheme: string, h: (req: Request) => Response | Promise<Response>) => void handlers.set(scheme, h),
    },
    session: { defaultSession: session },
    BrowserWindow: FakeWindow,
    ipcMain: {
      handle: (c: string, l: (ev: IpcEvent, ...args: unknown[]) => unknown) => void ipcHandlers.set(c, l),
      on: (c: string, l: (ev: IpcEvent, ...args: unknown[]) => void) => void ipcListeners.set(c, l),
    },
    dialog: {
      showSaveDialog: async (opts: unknown) => {
        dialogCalls.push(opts);
        return dialogAnswer;
      },
    },
    Menu: { setApplicationMenu: (m: null) => void (menu = m) },
  } satisfies ElectronMain;
  return {
    electron,
    app,
    session,
    schemes,
    handlers,
    ipcHandlers,
    ipcListeners,
    dialogCalls,
    answerDialog: (a: typeof dialogAnswer) => void (dialogAnswer = a),
    menu: () => menu,
    windows: () => FakeWindow.created,
  };
}
