/**
 * The whole API the preload script exposes to the renderer as `window.vigil` (contextBridge): open files
 * the OS handed to the app (file association, `vigil-viewer FILE`), and save what the auditor exports.
 * Nothing else crosses from the renderer to the main process.
 */
export const IPC = {
  save: 'vigil:save',
  opened: 'vigil:opened',
  ready: 'vigil:ready',
} as const;

/** A file the main process opened for the renderer, readable by ranges at `url` (app:// protocol). */
export interface OpenedFile {
  name: string;
  size: number;
  url: string;
}

export interface SaveRequest {
  suggestedName: string;
  /** At most 1 GiB; the main process refuses anything larger. */
  data: Uint8Array;
}

export interface SaveResult {
  saved: boolean;
  path?: string;
}

export interface VigilDesktopApi {
  readonly kind: 'electron';
  save(req: SaveRequest): Promise<SaveResult>;
  /** Files the OS asked the app to open; returns an unsubscribe function. Calls `ready` implicitly. */
  onOpenFile(cb: (f: OpenedFile) => void): () => void;
}
