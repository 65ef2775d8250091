import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkLayers } from '../../../scripts/lint/layers.ts';

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'vigil-lint-'));
  for (const [p, src] of Object.entries(files)) {
    mkdirSync(join(root, p, '..'), { recursive: true });
    writeFileSync(join(root, p), src);
  }
  return root;
}

describe('layering lint', () => {
  it('accepts appliance → shared ← viewer', async () => {
    const root = tree({
      'shared/a.ts': "export const a = 1;\nimport 'libsodium-wrappers-sumo';",
      'appliance/b.ts': "import { a } from '../shared/a.ts'; import 'node:fs'; export const b = a;",
      'viewer/src/c.ts': "import { a } from '../../shared/a.ts'; export const c = a;",
    });
    expect(await checkLayers(root)).toEqual([]);
  });

  it('reports each kind of violation with the file and the import', async () => {
    const root = tree({
      'shared/fs.ts': "import { readFileSync } from 'node:fs'; export const r = readFileSync;",
      'shared/bare.ts': "import 'path';",
      'shared/up.ts': "import '../appliance/x.ts';",
      'shared/pkg.ts': "import 'better-sqlite3';",
      'appliance/x.ts': "export const x = await import('../viewer/src/y.ts');",
      'viewer/src/y.ts': "import '../../appliance/x.ts'; import 'node:os';",
    });
    const found = (await checkLayers(root)).map((v) => `${v.file} -> ${v.imports}`).sort();
    expect(found).toEqual([
      'appliance/x.ts -> ../viewer/src/y.ts',
      'shared/bare.ts -> path',
      'shared/fs.ts -> node:fs',
      'shared/pkg.ts -> better-sqlite3',
      'shared/up.ts -> ../appliance/x.ts',
      'viewer/src/y.ts -> ../../appliance/x.ts',
      'viewer/src/y.ts -> node:os',
    ]);
  });
});
