/** The preload API, built from injected contextBridge/ipcRenderer so a unit test can check exactly what is exposed. */
import { IPC, type OpenedFile, type SaveRequest, type SaveResult, type VigilDesktopApi } from './api.ts';

export interface BridgeLike {
  exposeInMainWorld(key: string, api: unknown): void;
}

export interface IpcRendererLike {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>;
  send(channel: string, ...args: unknown[]): void;
  on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
  removeListener(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
}

function isOpenedFile(v: unknown): v is OpenedFile {
  const o = v as OpenedFile | null;
  return !!o && typeof o.name === 'string' && typeof o.url === 'string' && Number.isSafeInteger(o.size) && o.url.startsWith('app://viewer/opened/');
}

export function buildApi(ipc: IpcRendererLike): VigilDesktopApi {
  return Object.freeze({
    kind: 'electron' as const,
    async save(req: SaveRequest): Promise<SaveResult> {
      if (!req || typeof req.suggestedName !== 'string' || !(req.data instanceof Uint8Array)) throw new TypeError('save needs { suggestedName, data: Uint8Array }');
      const r = (await ipc.invoke(IPC.save, { suggestedName: req.suggestedName, data: req.data })) as SaveResult;
      return { saved: !!r?.saved, ...(typeof r?.path === 'string' ? { path: r.path } : {}) };
    },
    onOpenFile(cb: (f: OpenedFile) => void): () => void {
      // The renderer's callback never sees the IPC event object (it would expose ipcRenderer).
      const listener = (_event: unknown, f: unknown) => {
        if (isOpenedFile(f)) cb({ name: f.name, size: f.size, url: f.url });
      };
      ipc.on(IPC.opened, listener);
      ipc.send(IPC.ready);
      return () => void ipc.removeListener(IPC.opened, listener);
    },
  });
}

export function exposeApi(bridge: BridgeLike, ipc: IpcRendererLike): void {
  bridge.exposeInMainWorld('vigil', buildApi(ipc));
}
