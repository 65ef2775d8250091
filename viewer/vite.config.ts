/**
 * Builds the renderer (viewer/src) into viewer/dist/renderer: static files with relative URLs, served by
 * the Electron shell's app:// protocol or by `npm run viewer` on 127.0.0.1. No CDN, no remote fonts.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: here,
  base: './',
  publicDir: false,
  logLevel: 'warn',
  resolve: {
    alias: {
      // @xterm/headless's "module" field names a file the package does not ship: use its CommonJS build.
      '@xterm/headless': fileURLToPath(new URL('../node_modules/@xterm/headless/lib-headless/xterm-headless.js', import.meta.url)),
    },
  },
  // Always React's production build and JSX transform, whatever NODE_ENV the caller runs with (vitest sets
  // "test", which would otherwise give a development bundle: slower, and noisier in the console).
  oxc: { jsx: { runtime: 'automatic', development: false } },
  define: { 'process.env.NODE_ENV': JSON.stringify('production') },
  build: {
    outDir: fileURLToPath(new URL('./dist/renderer', import.meta.url)),
    emptyOutDir: true,
    target: 'chrome120',
    sourcemap: false,
    chunkSizeWarningLimit: 2048,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
  worker: { format: 'es' },
});
