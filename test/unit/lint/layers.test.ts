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

describe('protocol-neutral core', () => {
  it('reports a neutral folder importing a protocol adapter or the SQL code, type-only imports included', async () => {
    const root = tree({
      'appliance/sql/types.ts': 'export type Facts = { tables: string[] }; export const SQL = 1;',
      'appliance/protocols/postgres/config.ts': 'export const hostPort = 1; export type Target = { host: string };',
      'appliance/pipeline/session.ts': "import type { Facts } from '../sql/types.ts'; export const f = (x: Facts) => x;",
      'appliance/policy/engine.ts': "import { SQL } from '../sql/types.ts'; export const p = SQL;",
      'appliance/evidence/writer.ts': "import { type Target } from '../protocols/postgres/config.ts'; export const e = (t: Target) => t;",
      'appliance/identity/errors.ts': "export const i = await import('../protocols/postgres/config.ts');",
      'appliance/admin/config.ts': "import { hostPort } from '../protocols/postgres/config.ts'; export const a = hostPort;",
    });
    const found = (await checkLayers(root)).map((v) => `${v.file} -> ${v.imports}: ${v.rule}`).sort();
    expect(found).toEqual([
      'appliance/admin/config.ts -> ../protocols/postgres/config.ts: appliance/admin/ is protocol-neutral: it must not import appliance/protocols/',
      'appliance/evidence/writer.ts -> ../protocols/postgres/config.ts: appliance/evidence/ is protocol-neutral: it must not import appliance/protocols/',
      'appliance/identity/errors.ts -> ../protocols/postgres/config.ts: appliance/identity/ is protocol-neutral: it must not import appliance/protocols/',
      'appliance/pipeline/session.ts -> ../sql/types.ts: appliance/pipeline/ is protocol-neutral: it must not import appliance/sql/',
      'appliance/policy/engine.ts -> ../sql/types.ts: appliance/policy/ is protocol-neutral: it must not import appliance/sql/',
    ]);
  });

  it('lets protocols, the config assembly and the gateway import adapters, and adapters import the neutral core', async () => {
    const root = tree({
      'appliance/pipeline/session.ts': 'export const s = 1;',
      'appliance/sql/index.ts': 'export const q = 1;',
      'appliance/protocols/postgres/adapter.ts': "import { s } from '../../pipeline/session.ts'; import { q } from '../../sql/index.ts'; export const a = s + q;",
      'appliance/protocols/registry.ts': "import { a } from './postgres/adapter.ts'; export const P = [a];",
      'appliance/config/schema.ts': "import { P } from '../protocols/registry.ts'; export const c = P;",
      'appliance/gateway.ts': "import { P } from './protocols/registry.ts'; export const g = P;",
    });
    expect(await checkLayers(root)).toEqual([]);
  });

  it('holds for the real tree', async () => {
    const found = await checkLayers(join(import.meta.dirname, '../../..'));
    expect(found.map((v) => `${v.file} -> ${v.imports}`)).toEqual([]);
  });
});
