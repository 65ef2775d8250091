/**
 * The preload script (sandboxed, context-isolated): exposes `window.vigil`, the whole of what the
 * renderer may ask of the main process — save an export, learn of bundles the OS opened with the app.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { exposeApi } from './preload-api.ts';

exposeApi(contextBridge, ipcRenderer);
