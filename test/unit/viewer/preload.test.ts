/** The preload API: exactly what the renderer gets as `window.vigil`, and how it talks to the main process. */
import { describe, expect, it } from 'vitest';
import { IPC } from '../../../viewer/electron/api.ts';
import { exposeApi, type IpcRendererLike } from '../../../viewer/electron/preload-api.ts';

function fakeIpc(answer: unknown = { saved: true, path: '/home/a/r.pdf' }) {
  const calls: { kind: string; channel: string; args: unknown[] }[] = [];
  const listeners = new Map<string, ((e: unknown, ...a: unknown[]) => void)[]>();
  const ipc: IpcRendererLike = {
    invoke: async (channel, ...args) => (calls.push({ kind: 'invoke', channel, args }), answer),
    send: (channel, ...args) => void calls.push({ kind: 'send', channel, args }),
    on: (channel, l) => void listeners.set(channel, [...(listeners.get(channel) ?? []), l]),
    removeListener: (channel, l) => void listeners.set(channel, (listeners.get(channel) ?? []).filter((x) => x !== l)),
  };
  return { ipc, calls, emit: (channel: string, ...a: unknown[]) => (listeners.get(channel) ?? []).forEach((l) => l({ sender: 'ipcRenderer internals' }, ...a)), listeners };
}

function exposed(ipc: IpcRendererLike) {
  const worlds: Record<string, unknown> = {};
  exposeApi({ exposeInMainWorld: (k, api) => (worlds[k] = api) }, ipc);
  return worlds;
}

describe('preload API', () => {
  it('exposes one frozen object, window.vigil, with kind, save and onOpenFile only', () => {
    const w = exposed(fakeIpc().ipc);
    expect(Object.keys(w)).toEqual(['vigil']);
    const api = w.vigil as Record<string, unknown>;
    expect(Object.keys(api).sort()).toEqual(['kind', 'onOpenFile', 'save']);
    expect(api.kind).toBe('electron');
    expect(Object.isFrozen(api)).toBe(true);
  });

  it('save sends only the name and the bytes, and returns only saved/path', async () => {
    const f = fakeIpc({ saved: true, path: '/home/a/r.pdf', extra: 'dropped' });
    const api = exposed(f.ipc).vigil as { save: (r: unknown) => Promise<unknown> };
    const data = new Uint8Array([1, 2, 3]);
    expect(await api.save({ suggestedName: 'r.pdf', data, sneaky: 'x' })).toEqual({ saved: true, path: '/home/a/r.pdf' });
    expect(f.calls).toEqual([{ kind: 'invoke', channel: IPC.save, args: [{ suggestedName: 'r.pdf', data }] }]);
    await expect(api.save({ suggestedName: 'r.pdf', data: 'text' })).rejects.toThrow(TypeError);
  });

  it('onOpenFile announces readiness, passes well-formed files without the IPC event, and unsubscribes', () => {
    const f = fakeIpc();
    const api = exposed(f.ipc).vigil as { onOpenFile: (cb: (x: unknown) => void) => () => void };
    const got: unknown[] = [];
    const off = api.onOpenFile((x) => got.push(x));
    expect(f.calls).toEqual([{ kind: 'send', channel: IPC.ready, args: [] }]);
    f.emit(IPC.opened, { name: 'e.vigil', size: 10, url: 'app://viewer/opened/' + 'a'.repeat(32), extra: 1 });
    f.emit(IPC.opened, { name: 'x', size: 1, url: 'https://evil.example/' });
    f.emit(IPC.opened, 'garbage');
    expect(got).toEqual([{ name: 'e.vigil', size: 10, url: 'app://viewer/opened/' + 'a'.repeat(32) }]);
    off();
    expect(f.listeners.get(IPC.opened)).toEqual([]);
  });
});
