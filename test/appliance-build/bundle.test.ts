/**
 * The built appliance as an operator gets it: scripts/build.sh, the output copied out of the checkout, run
 * with plain `node` (no tsx, no TypeScript, no node_modules of the checkout) — --version, keys, init and a
 * short serve on 127.0.0.1 that answers HTTPS and stops cleanly on SIGTERM. ≈ 4 s.
 */
import { cpSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../appliance/demo/free-port.ts';
import { ROOT } from '../helpers/cli.ts';
import { tempDir } from '../helpers/evidence.ts';
import { buildBundle, headCommit, run, startServing } from '../helpers/built.ts';

let work: string;
let app: string;
const node = process.execPath;

beforeAll(() => {
  work = tempDir('vigil-bundle-');
  const printed = buildBundle(join(work, 'build'));
  expect(printed).toMatch(/^built .*: vigil \d+\.\d+\.\d+ \(commit [0-9a-f]{40}/);
  // Moved away from where it was built: nothing may point back into the build or the checkout.
  app = join(work, 'opt', 'vigil');
  cpSync(join(work, 'build'), app, { recursive: true });
  rmSync(join(work, 'build'), { recursive: true });
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the built appliance (dist/vigil)', () => {
  it('is plain JavaScript with the native addons beside it, and no source', () => {
    const files = readdirSync(app);
    for (const f of ['BUILD.json', 'node_modules', 'package.json', 'vigil.js']) expect(files).toContain(f);
    expect(files.filter((f) => /\.(ts|mts|tsx)$/.test(f))).toEqual([]);
    const js = readFileSync(join(app, 'vigil.js'), 'utf8');
    expect(js.startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(js).not.toContain(ROOT);
    expect(js).not.toMatch(/from ["']tsx/);
    expect(js).not.toMatch(/from ["'][^"']+\.ts["']/);
    for (const addon of ['better-sqlite3/build/Release/better_sqlite3.node', `sodium-native/prebuilds/${process.platform}-${process.arch}`, 'ssh2/lib/protocol/crypto/build/Release/sshcrypto.node']) {
      expect(existsSync(join(app, 'node_modules', addon)), addon).toBe(true);
    }
    expect(readdirSync(join(app, 'node_modules'))).not.toContain('tsx');
    expect(readdirSync(join(app, 'node_modules'))).not.toContain('typescript');
  });

  it('vigil --version names the version and the commit it was built from', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = run(node, [join(app, 'vigil.js'), '--version'], { cwd: work });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^vigil ${pkg.version.replace(/\./g, '\\.')} \\(commit ${headCommit()}(-dirty)?, built \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ\\)\\n$`));
    const build = JSON.parse(readFileSync(join(app, 'BUILD.json'), 'utf8')) as { commit: string };
    expect(r.stdout).toContain(build.commit);
  });

  it('prints hints for the installed command (vigil …, not npx vigil …)', () => {
    const r = run(node, [join(app, 'vigil.js'), 'demo-evidence', '--out', join(work, 'sample')], { cwd: work });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`verify it:\n  vigil verify ${join(work, 'sample')}`);
    expect(r.stdout).not.toContain('npx');
  });

  it('makes keys, inits an appliance and serves on 127.0.0.1 until SIGTERM', async () => {
    const vigil = (args: string[]) => run(node, [join(app, 'vigil.js'), ...args], { cwd: work });
    const keys = vigil(['keys', 'auditor', '--out', 'alice']);
    expect(keys.stderr).toBe('');
    expect(keys.code).toBe(0);
    const init = vigil(['init', '--dir', 'appliance', '--auditor', 'alice.pub']);
    expect(init.stderr).toBe('');
    expect(init.code).toBe(0);
    expect(init.stdout).toMatch(/^appliance [0-9a-f-]{36} initialised in /);
    const config = join(work, 'appliance', 'vigil.yaml');
    const ports = { pg: await freePort(0), ssh: await freePort(0), admin: await freePort(0) };
    writeFileSync(
      config,
      readFileSync(config, 'utf8')
        .replace('127.0.0.1:6432', `127.0.0.1:${ports.pg}`)
        .replace('127.0.0.1:2222', `127.0.0.1:${ports.ssh}`)
        .replace('127.0.0.1:8443', `127.0.0.1:${ports.admin}`),
    );
    const served = await startServing(node, [join(app, 'vigil.js'), 'serve', '--config', config], { cwd: work });
    try {
      expect(served.line).toContain(`PostgreSQL on 127.0.0.1:${ports.pg}, SSH on 127.0.0.1:${ports.ssh}, admin API on https://127.0.0.1:${ports.admin}`);
      const ca = readFileSync(join(work, 'appliance', 'tls', 'server.crt'));
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(`https://127.0.0.1:${ports.admin}/v1/approvals`, { ca, checkServerIdentity: () => undefined }, (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      });
      expect(answer.status).toBe(401);
      expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'E_UNAUTHENTICATED' } });
    } finally {
      const end = await served.stop('SIGTERM');
      expect(end.stderr).toContain('vigil gateway stopped');
      expect(end.code).toBe(0);
    }
  });
});
