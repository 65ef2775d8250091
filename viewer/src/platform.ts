/**
 * What differs between the Electron shell and a plain browser: saving a file (a native dialog through the
 * preload API, or a download) and files the OS opened with the app. Everything else is the same renderer.
 */
import type { OpenedFile, VigilDesktopApi } from '../electron/api.ts';

declare global {
  interface Window {
    vigil?: VigilDesktopApi;
  }
}

export function desktop(): VigilDesktopApi | undefined {
  return typeof window !== 'undefined' && window.vigil?.kind === 'electron' ? window.vigil : undefined;
}

export async function saveFile(name: string, mime: string, data: Uint8Array | string): Promise<string> {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  const d = desktop();
  if (d) {
    const r = await d.save({ suggestedName: name, data: bytes });
    return r.saved ? `Saved to ${r.path ?? name}` : 'Not saved';
  }
  const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type: mime }));
  try {
    const a = document.createElement('a');
    a.href = url;
    a.download = name;
    a.rel = 'noopener';
    document.body.appendChild(a);
    a.click();
    a.remove();
  } finally {
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }
  return `Downloaded ${name}`;
}

export function onOpenFile(cb: (f: OpenedFile) => void): () => void {
  return desktop()?.onOpenFile(cb) ?? (() => undefined);
}

export type { OpenedFile };
