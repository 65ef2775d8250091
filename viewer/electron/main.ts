/**
 * Electron entry point (bundled to viewer/dist/electron/main.cjs). Everything it does lives in app.ts,
 * where it is unit-tested with a double of the `electron` module.
 */
import { join } from 'node:path';
import * as electron from 'electron';
import { ViewerMain, defaultPaths } from './app.ts';

const main = new ViewerMain(electron, { ...defaultPaths(join(__dirname, '..')), argv: process.argv });
main.start().catch((e: unknown) => {
  console.error('Vigil Evidence Viewer could not start:', e);
  electron.app.quit();
});
