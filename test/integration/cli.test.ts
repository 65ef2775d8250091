/** The `vigil` command as a newcomer meets it: help, exit codes, key files, init, demo data, verify. */
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/evidence.ts';
import { vigil } from '../helpers/cli.ts';

describe('help and usage errors', () => {
  it('lists commands; no arguments is a usage error', () => {
    const help = vigil(['--help']);
    expect(help.code).toBe(0);
    for (const c of ['demo', 'demo-evidence', 'init', 'keys auditor', 'keys rotate', 'export', 'verify', 'trust', 'recover']) expect(help.stdout).toContain(`  ${c} `);
    expect(vigil([]).code).toBe(2);
  });

  it('every command has --help', () => {
    for (const c of [['demo'], ['demo-evidence'], ['init'], ['keys', 'auditor'], ['keys', 'rotate'], ['export'], ['verify'], ['trust'], ['recover']]) {
      const r = vigil([...c, '--help']);
      expect(r.code, c.join(' ')).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^Usage: vigil ${c.join(' ')}`));
    }
  });

  it('names the problem and the fix, with exit code 2', () => {
    const unknown = vigil(['frobnicate']);
    expect([unknown.code, unknown.stderr]).toEqual([2, expect.stringContaining("unknown command 'frobnicate'")]);
    const missing = vigil(['verify', 'x.vigil']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--trust is required\n {2}see: vigil verify --help/);
    const badOpt = vigil(['verify', 'x.vigil', '--trust', 't', '--colour']);
    expect(badOpt.code).toBe(2);
    expect(badOpt.stderr).toMatch(/Unknown option '--colour'/);
    expect(vigil(['keys']).stderr).toMatch(/'keys' needs a subcommand: auditor, rotate/);
    const badTime = vigil(['export', '--config', 'c', '--out', 'o', '--since', 'yesterday']);
    expect(badTime.stderr).toMatch(/--since 'yesterday' is not a time; use e\.g\. 2026-11-01/);
  });
});

describe('keys, init and a config error', () => {
  it('makes auditor keys (0600 secret), optionally passphrase-protected, never overwriting', () => {
    const d = tempDir();
    const r = vigil(['keys', 'auditor', '--out', join(d, 'alice')]);
    expect(r.code).toBe(0);
    expect(statSync(join(d, 'alice.key')).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(join(d, 'alice.key'), 'utf8')).secretKey).toBeDefined();
    writeFileSync(join(d, 'pw'), 'a long passphrase\n');
    expect(vigil(['keys', 'auditor', '--out', join(d, 'bob'), '--passphrase-file', join(d, 'pw')]).stdout).toMatch(/passphrase-protected/);
    const bob = JSON.parse(readFileSync(join(d, 'bob.key'), 'utf8'));
    expect(bob.secretKey).toBeUndefined();
    expect(bob.protected.kdf).toBe('argon2id13');
    const again = vigil(['keys', 'auditor', '--out', join(d, 'alice')]);
    expect([again.code, again.stderr]).toEqual([2, expect.stringMatching(/alice\.pub already exists/)]);
    const noTty = vigil(['keys', 'auditor', '--out', join(d, 'carol'), '--passphrase']);
    expect(noTty.stderr).toMatch(/no terminal to ask\n {2}give --passphrase-file FILE or set VIGIL_PASSPHRASE/);
  });

  it('init makes a working directory and refuses a loose signing key', () => {
    const d = tempDir();
    vigil(['keys', 'auditor', '--out', join(d, 'alice')]);
    const r = vigil(['init', '--dir', join(d, 'app'), '--auditor', join(d, 'alice.pub')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/signing key: {2}[0-9a-f]{16} {2}fingerprint ([0-9A-F]{4} ){15}[0-9A-F]{4}/);
    // The SSH listener's host key: made here, 0600, its fingerprint printed as ssh-keygen -l prints it.
    expect(r.stdout).toMatch(/ssh host key: keys\/ssh_host_ed25519_key {2}SHA256:[A-Za-z0-9+/]{43} /);
    expect(statSync(join(d, 'app', 'keys', 'ssh_host_ed25519_key')).mode & 0o777).toBe(0o600);
    const trust = JSON.parse(readFileSync(join(d, 'app', 'trust.json'), 'utf8'));
    expect(trust.keys[0].keyId).toMatch(/^[0-9a-f]{16}$/);
    const keyFile = join(d, 'app', 'keys', `appliance-${trust.keys[0].keyId}.key`);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(existsSync(join(d, 'app', 'data', 'vigil.db'))).toBe(true);
    // Everything that holds evidence, approvals or keys: owner only (the db holds approval command texts).
    expect(statSync(join(d, 'app', 'data', 'vigil.db')).mode & 0o777).toBe(0o600);
    for (const dir of ['data', 'data/archives', 'keys', 'secrets']) expect(statSync(join(d, 'app', dir)).mode & 0o777, dir).toBe(0o700);
    expect(vigil(['init', '--dir', join(d, 'app'), '--auditor', join(d, 'alice.pub')]).stderr).toMatch(/already holds an appliance/);

    chmodSync(keyFile, 0o644);
    const loose = vigil(['export', '--config', join(d, 'app', 'vigil.yaml'), '--out', join(d, 'x.vigil')]);
    expect(loose.code).toBe(1);
    expect(loose.stderr).toContain(`is accessible by others (mode 0644)\n  run: chmod 600 ${keyFile}`);
    chmodSync(keyFile, 0o600);

    const cfg = join(d, 'app', 'vigil.yaml');
    writeFileSync(cfg, readFileSync(cfg, 'utf8').replace('anchorIntervalSeconds: 5', 'anchorIntervalSeconds: soon'));
    const bad = vigil(['export', '--config', cfg, '--out', join(d, 'y.vigil')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(new RegExp(`${cfg.replace(/[.]/g, '\\.')}:\\d+: evidence\\.anchorIntervalSeconds: Invalid input: expected number, received string`));
  });
});

describe('demo evidence → verify', () => {
  let d: string;
  beforeAll(() => {
    d = join(tempDir(), 'demo');
    expect(vigil(['demo-evidence', '--out', d]).code).toBe(0);
  });

  it('verifies without and with the key, human and JSON', () => {
    const plain = vigil(['verify', join(d, 'evidence.vigil'), '--trust', join(d, 'trust.json')]);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/\[skip\] Decryption/);
    // Without the key the verdict is integrity only: never "complete" about content nobody decrypted.
    expect(plain.stdout).toMatch(/^Integrity verified — content not checked/m);
    expect(plain.stdout).toMatch(/INTEGRITY ONLY \(content not checked\): 5 sessions — 4 complete, 1 interrupted/);
    expect(plain.stdout).toMatch(/\[pass\] Digests .*\[5 of 5 archives\]/);
    const json = vigil(['verify', join(d, 'evidence.vigil'), '--trust', join(d, 'trust.json'), '--key', join(d, 'auditor.key'), '--json']);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report.ok).toBe(true);
    expect(report.checks.every((c: { status: string }) => c.status === 'pass')).toBe(true);
    expect(report.sessions.map((s: { protocol: string }) => s.protocol)).toEqual(['postgres', 'postgres', 'postgres', 'ssh', 'postgres']);
  });

  it('opens the protected key with the passphrase, refuses a wrong one', () => {
    const args = ['verify', join(d, 'evidence.vigil'), '--trust', join(d, 'trust.json'), '--key', join(d, 'auditor-protected.key')];
    expect(vigil(args, { env: { VIGIL_PASSPHRASE: 'correct horse battery staple' } }).code).toBe(0);
    const wrong = vigil(args, { env: { VIGIL_PASSPHRASE: 'wrong' } });
    expect([wrong.code, wrong.stderr]).toEqual([1, expect.stringContaining('wrong passphrase for this auditor key')]);
    expect(vigil(args).stderr).toMatch(/is passphrase-protected, and there is no terminal to ask/);
  });

  it('exits 1 with the reason on a tampered bundle', () => {
    const bytes = readFileSync(join(d, 'evidence.vigil'));
    const at = bytes.lastIndexOf(Buffer.from('archives/')) + 1200;
    bytes[at]! ^= 0x20;
    writeFileSync(join(d, 'tampered.vigil'), bytes);
    const r = vigil(['verify', join(d, 'tampered.vigil'), '--trust', join(d, 'trust.json')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/\[FAIL\]/);
    expect(r.stdout).toMatch(/FAILED/);
    expect(vigil(['verify', join(d, 'nope.vigil'), '--trust', join(d, 'trust.json')]).stderr).toMatch(/cannot open .*nope\.vigil: ENOENT/);
  });
});
