/**
 * electron-builder.yml is validated by electron-builder itself (its configuration schema), and checked for
 * what issue 5 asks: AppImage + deb, dmg, nsis, a file association for .vigil, and an app directory that is
 * the built viewer with no dependencies to package or rebuild.
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { appPackageJson } from '../../../viewer/build.ts';

const require = createRequire(import.meta.url);
const root = join(import.meta.dirname, '../../..');

interface Cfg {
  [k: string]: unknown;
  directories: { app: string; output: string };
  files: string[];
  electronVersion: string;
  fileAssociations: { ext: string; mimeType: string; name: string }[];
  linux: { target: string[]; mimeTypes: string[] };
  mac: { target: string[] };
  win: { target: string[] };
}

describe('electron-builder.yml', () => {
  it('passes electron-builder\'s own validation, and an unknown key does not', async () => {
    const { getConfig, validateConfiguration } = require('app-builder-lib/out/util/config/config') as {
      getConfig(dir: string, path: string, extra: null): Promise<Record<string, unknown>>;
      validateConfiguration(c: Record<string, unknown>, logger: unknown): Promise<void>;
    };
    const { DebugLogger } = require('builder-util') as { DebugLogger: new (enabled: boolean) => unknown };
    const config = await getConfig(root, join(root, 'electron-builder.yml'), null);
    await expect(validateConfiguration(config, new DebugLogger(false))).resolves.toBeUndefined();
    await expect(validateConfiguration({ ...config, fileAssociation: [] }, new DebugLogger(false))).rejects.toThrow(/unknown property/);
  });

  it('builds every platform target with the .vigil file association', () => {
    const c = parse(readFileSync(join(root, 'electron-builder.yml'), 'utf8')) as Cfg;
    expect(c.linux.target).toEqual(['AppImage', 'deb']);
    expect(c.mac.target).toEqual(['dmg']);
    expect(c.win.target).toEqual(['nsis']);
    expect(c.fileAssociations).toEqual([expect.objectContaining({ ext: 'vigil', mimeType: 'application/x-vigil-bundle' })]);
    expect(c.linux.mimeTypes).toContain('application/x-vigil-bundle');
  });

  it('packages the built viewer only: its own package.json points at the bundled main process, with no dependencies', () => {
    const c = parse(readFileSync(join(root, 'electron-builder.yml'), 'utf8')) as Cfg;
    expect(c.directories.app).toBe('viewer/dist');
    expect(c.files).toEqual(['package.json', 'renderer/**', 'electron/**']);
    expect(c.npmRebuild).toBe(false);
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    expect(c.electronVersion).toBe(pkg.devDependencies.electron);
    // The build script writes viewer/dist/package.json; its shape is part of the contract with electron-builder.
    const app = appPackageJson('1.2.3');
    expect(app).toMatchObject({ main: 'electron/main.cjs', version: '1.2.3' });
    expect(Object.keys(app).filter((k) => /dependencies/i.test(k))).toEqual([]);
  });
});
